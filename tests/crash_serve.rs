//! `wasync serve` killed with SIGKILL at random moments while signed webhooks arrive, then
//! restarted: what it acknowledged (answered 2xx) ends in the JSON Lines files exactly once.
//!
//! The events example (page views as events, orders as objects, both into `out/`) runs as
//! a real process; a sender thread posts page views and order changes one after another and
//! posts again, with the same message id, whatever got no 2xx, as a real sender does. The
//! test kills the service a few acknowledgements and up to 4 ms after a restart (the window
//! where a micro-batch has appended a line but not yet recorded it), or while it catches up
//! at start, and starts it again. At the end every acknowledged page view is one line of its
//! own, every order's one live record holds its last acknowledged version, and no write was
//! applied twice.
//!
//! The kill plan and the messages come from a seed, printed on failure:
//! `WASYNC_CRASH_SEED=<n>` replays it, `WASYNC_CRASH_KILLS=<n>` sets the number of kills
//! (40 by default).

#[path = "support/service.rs"]
mod service;

use serde_json::{Value as Json, json};
use service::{SECRET, Service, eventually};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use wasync_standins::webhooks::standard_headers;

/// Orders the sender changes, each many times.
const ORDERS: u64 = 5;
/// How long anything may take to happen before the test gives up on it.
const WAIT: Duration = Duration::from_secs(60);

/// splitmix64: small, seeded, the same on every machine.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn env_number(name: &str) -> Option<u64> {
    std::env::var(name).ok()?.parse().ok()
}

/// One webhook message; the sender posts it until it is answered 2xx.
#[derive(Debug, Clone)]
enum Message {
    PageView { n: u64 },
    Order { order: u64, version: u64, n: u64 },
}

impl Message {
    fn webhook_id(&self) -> String {
        match self {
            Message::PageView { n } | Message::Order { n, .. } => format!("msg-{n}"),
        }
    }

    fn body(&self) -> Vec<u8> {
        let doc = match self {
            Message::PageView { n } => {
                json!({"entity": "PageView", "data": {"url": format!("/p/{n}"), "user": "u-17"}})
            }
            // Each change later than the one before, so the last one posted is the one to win.
            Message::Order { order, version, n } => json!({"entity": "Order", "data": {
                "order_id": format!("o-{order}"),
                "status": format!("o-{order}/v{version}"),
                "total": version,
                "updated_at": format!(
                    "2026-01-{:02}T{:02}:{:02}:{:02}Z",
                    1 + n / 86_400,
                    n / 3600 % 24,
                    n / 60 % 60,
                    n % 60
                ),
            }}),
        };
        doc.to_string().into_bytes()
    }
}

/// What the sender got answered 2xx.
#[derive(Default)]
struct Acknowledged {
    page_views: BTreeSet<String>,
    /// The last acknowledged status of each order.
    orders: BTreeMap<String, String>,
    count: u64,
}

/// Where the sender posts: the address of the service running now.
type Target = Arc<Mutex<String>>;

/// Posts messages one after another to whatever service runs now, each until it is answered
/// 2xx, and tells `acks` of each. Stops after the message in flight once `stop` is set.
fn sender(
    seed: u64,
    target: Target,
    stop: Arc<AtomicBool>,
    acks: mpsc::Sender<()>,
) -> std::thread::JoinHandle<Result<Acknowledged, String>> {
    std::thread::spawn(move || {
        let http = reqwest::blocking::Client::builder()
            .timeout(Duration::from_secs(20))
            .build()
            .map_err(|e| e.to_string())?;
        let mut rng = Rng(seed ^ 0x5e4d_e75e);
        let mut versions = [0u64; ORDERS as usize];
        let mut acknowledged = Acknowledged::default();
        for n in 0.. {
            if stop.load(Ordering::SeqCst) {
                return Ok(acknowledged);
            }
            let message = match rng.below(10) {
                0..7 => Message::PageView { n },
                _ => {
                    let order = rng.below(ORDERS);
                    versions[order as usize] += 1;
                    let version = versions[order as usize];
                    Message::Order { order, version, n }
                }
            };
            let body = message.body();
            let since_ack = Instant::now();
            loop {
                let url = format!("{}/webhooks/sender", target.lock().expect("target"));
                let headers = standard_headers(SECRET, &message.webhook_id(), &body);
                let mut request = http
                    .post(url)
                    .header("content-type", "application/json")
                    .body(body.clone());
                for (k, v) in &headers {
                    request = request.header(k, v);
                }
                match request.send().map(|r| r.status()) {
                    Ok(status) if status.is_success() => break,
                    Ok(status) if status.is_client_error() => {
                        return Err(format!("{message:?} was refused with {status}"));
                    }
                    // Cut off by the kill, refused while down, or 5xx: send it again.
                    _ => std::thread::sleep(Duration::from_millis(2)),
                }
                if since_ack.elapsed() > WAIT {
                    return Err(format!("{message:?} was not acknowledged in {WAIT:?}"));
                }
            }
            acknowledged.count += 1;
            match message {
                Message::PageView { n } => {
                    acknowledged.page_views.insert(format!("/p/{n}"));
                }
                Message::Order { order, version, .. } => {
                    acknowledged
                        .orders
                        .insert(format!("o-{order}"), format!("o-{order}/v{version}"));
                }
            }
            let _ = acks.send(());
        }
        Ok(acknowledged)
    })
}

/// The events example in `dir`, as a user would copy it.
fn example(dir: &Path) -> std::path::PathBuf {
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/events/wasync.toml");
    let config = dir.join("wasync.toml");
    std::fs::copy(&example, &config).expect("copy the example");
    std::fs::create_dir_all(dir.join("out")).expect("out");
    config
}

fn start(config: &Path, target: &Target) -> Service {
    let service = Service::start_with(
        config,
        "127.0.0.1:0",
        &[],
        &[("WASYNC_WEBHOOK_SECRET", SECRET)],
    );
    *target.lock().expect("target") = service.url.clone();
    service
}

/// Forgets acknowledgements from before a restart, so a kill counts only fresh ones.
fn drain(acks: &Receiver<()>) {
    while acks.try_recv().is_ok() {}
}

/// Waits for `n` acknowledgements; false if none came for [`WAIT`].
fn await_acks(acks: &Receiver<()>, n: u64) -> bool {
    (0..n).all(|_| acks.recv_timeout(WAIT).is_ok())
}

/// What the files hold, and what in them is wrong against what was acknowledged.
struct Outcome {
    page_view_lines: usize,
    /// Lines that are not a JSON object.
    torn: usize,
    /// Page views (by url) written more than once, with how many times.
    repeated: BTreeMap<String, usize>,
    /// Acknowledged page views not in the file.
    missing: Vec<String>,
    /// Orders whose live record is not one record holding the last acknowledged version.
    wrong_orders: Vec<String>,
    /// Order versions written twice to the same record.
    replayed_orders: usize,
}

impl Outcome {
    fn of(dir: &Path, acked: &Acknowledged) -> Outcome {
        let mut urls: BTreeMap<String, usize> = BTreeMap::new();
        let (page_views, torn_views) = lines(&dir.join("out/pageviews.jsonl"));
        for line in &page_views {
            *urls.entry(text(&line["url"])).or_default() += 1;
        }
        let missing = acked
            .page_views
            .iter()
            .filter(|url| !urls.contains_key(*url))
            .cloned()
            .collect();
        let (orders, torn_orders) = lines(&dir.join("out/orders.jsonl"));
        let mut live: BTreeMap<String, &Json> = BTreeMap::new();
        let mut versions: BTreeMap<(String, String), usize> = BTreeMap::new();
        for line in &orders {
            live.insert(text(&line["id"]), line);
            *versions
                .entry((text(&line["id"]), text(&line["status"])))
                .or_default() += 1;
        }
        let mut records_per_order: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for line in live.values().filter(|l| l["_deleted"] != true) {
            let status = text(&line["status"]);
            let order = status.split('/').next().unwrap_or_default().to_owned();
            records_per_order.entry(order).or_default().push(status);
        }
        let wrong_orders = acked
            .orders
            .iter()
            .filter(|(order, last)| records_per_order.get(*order) != Some(&vec![(*last).clone()]))
            .map(|(order, last)| {
                format!(
                    "{order}: want {last}, have {:?}",
                    records_per_order.get(order)
                )
            })
            .chain(
                records_per_order
                    .keys()
                    .filter(|order| !acked.orders.contains_key(*order))
                    .map(|order| format!("{order}: never acknowledged")),
            )
            .collect();
        Outcome {
            page_view_lines: page_views.len(),
            torn: torn_views + torn_orders,
            repeated: urls.into_iter().filter(|(_, n)| *n > 1).collect(),
            missing,
            wrong_orders,
            replayed_orders: versions.values().filter(|n| **n > 1).count(),
        }
    }

    fn settled(&self) -> bool {
        self.missing.is_empty() && self.wrong_orders.is_empty()
    }
}

/// The JSON objects of a JSON Lines file, and how many lines are not one: a line an append
/// cut off mid-way, which the connector ends and sets aside (it is written again whole).
fn lines(path: &Path) -> (Vec<Json>, usize) {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let mut torn = 0;
    let objects = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .filter_map(|l| {
            let parsed = serde_json::from_str::<Json>(l).ok().filter(Json::is_object);
            torn += usize::from(parsed.is_none());
            parsed
        })
        .collect();
    (objects, torn)
}

fn text(json: &Json) -> String {
    json.as_str()
        .map_or_else(|| json.to_string(), str::to_owned)
}

#[test]
fn killed_at_random_moments_while_webhooks_arrive_every_acknowledged_change_lands_once() {
    let seed = env_number("WASYNC_CRASH_SEED").unwrap_or_else(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(1, |d| d.as_nanos() as u64)
    });
    let kills = env_number("WASYNC_CRASH_KILLS").unwrap_or(40);
    let replay = format!("seed {seed}: replay with WASYNC_CRASH_SEED={seed}");
    eprintln!("crash_serve: {replay}, {kills} kills");
    let started = Instant::now();
    let dir = tempfile::tempdir().expect("tempdir");
    let config = example(dir.path());
    let target: Target = Arc::default();
    let stop = Arc::new(AtomicBool::new(false));
    let (acks_tx, acks) = mpsc::channel();
    let mut rng = Rng(seed);

    let mut service = start(&config, &target);
    let sending = sender(seed, Arc::clone(&target), Arc::clone(&stop), acks_tx);
    for kill in 0..kills {
        // Three kills in four come just after an answer, where a micro-batch is writing;
        // the others while the restarted service catches up with what the last one left.
        if rng.below(4) < 3 {
            let after = 1 + rng.below(6);
            assert!(
                await_acks(&acks, after),
                "no answers before kill {kill}; {replay}"
            );
            std::thread::sleep(Duration::from_micros(rng.below(4_000)));
        } else {
            std::thread::sleep(Duration::from_micros(rng.below(300_000)));
        }
        service.kill();
        service = start(&config, &target);
        drain(&acks);
    }
    stop.store(true, Ordering::SeqCst);
    let acked = sending
        .join()
        .expect("the sender")
        .unwrap_or_else(|e| panic!("{e}; {replay}"));

    let mut outcome = Outcome::of(dir.path(), &acked);
    let settled = eventually(WAIT, || {
        outcome = Outcome::of(dir.path(), &acked);
        outcome.settled()
    });
    assert_eq!(service.terminate().code(), Some(0), "{replay}");
    let outcome = match settled {
        true => Outcome::of(dir.path(), &acked),
        false => outcome,
    };
    eprintln!(
        "crash_serve: {kills} kills, {} messages acknowledged ({} page views, {} orders), \
         {} page view lines, {} written twice, {} order versions written twice, {} torn lines, \
         in {:?}",
        acked.count,
        acked.page_views.len(),
        acked.orders.len(),
        outcome.page_view_lines,
        outcome.repeated.len(),
        outcome.replayed_orders,
        outcome.torn,
        started.elapsed()
    );
    assert!(
        outcome.missing.is_empty(),
        "acknowledged page views missing: {:?}; {replay}",
        outcome.missing
    );
    assert!(
        outcome.repeated.is_empty(),
        "page views written more than once: {:?}; {replay}",
        outcome.repeated
    );
    assert!(
        outcome.wrong_orders.is_empty(),
        "orders not at their last acknowledged version: {:?}; {replay}",
        outcome.wrong_orders
    );
    assert_eq!(
        outcome.replayed_orders, 0,
        "order versions written twice; {replay}"
    );
    assert_eq!(
        outcome.page_view_lines,
        acked.page_views.len(),
        "page view lines that were never acknowledged; {replay}"
    );
}
