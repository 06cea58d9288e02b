//! The HubSpot stand-in's webhooks, received by a small axum server on 127.0.0.1 that checks
//! each request's v3 signature with its own HMAC (RFC 2104 over SHA-256), not the
//! stand-in's.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use wasync_standins::hubspot::{
    self, DEFAULT_TOKEN, Delivery, HubSpot, MAX_ATTEMPTS, Options, WebhookTarget,
};

use crate::Api;

const SECRET: &str = "3c1c6a3e-6f7b-4a59-9d38-standin-secret";
const WAIT: Duration = Duration::from_secs(10);

/// One request the receiver got.
#[derive(Debug, Clone)]
struct Received {
    events: Vec<Value>,
    /// Whether its signature and timestamp checked out.
    valid: bool,
}

#[derive(Default)]
struct Shared {
    /// Statuses to answer, in order; 204 once they run out.
    answers: Mutex<VecDeque<u16>>,
    received: Mutex<Vec<Received>>,
}

/// A webhook receiver on its own thread and runtime.
struct Receiver {
    addr: SocketAddr,
    shared: Arc<Shared>,
    _runtime: tokio::runtime::Runtime,
}

impl Receiver {
    fn start(answers: &[u16]) -> Receiver {
        let shared = Arc::new(Shared::default());
        shared
            .answers
            .lock()
            .expect("answers")
            .extend(answers.iter().copied());
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("a runtime");
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .expect("bind");
        let addr = listener.local_addr().expect("an address");
        let app = Router::new()
            .fallback(receive)
            .with_state(Arc::clone(&shared));
        runtime.spawn(async move { axum::serve(listener, app).await });
        Receiver {
            addr,
            shared,
            _runtime: runtime,
        }
    }

    fn url(&self) -> String {
        format!("http://{}/hooks/hubspot", self.addr)
    }

    fn received(&self) -> Vec<Received> {
        self.shared.received.lock().expect("received").clone()
    }
}

async fn receive(
    State(shared): State<Arc<Shared>>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    let timestamp = header("x-hubspot-request-timestamp");
    let path = uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
    let signed = format!("https://{}{path}", header("host"));
    let mut source = b"POST".to_vec();
    source.extend_from_slice(signed.as_bytes());
    source.extend_from_slice(&body);
    source.extend_from_slice(timestamp.as_bytes());
    let expected = BASE64.encode(hmac_sha256(SECRET.as_bytes(), &source));
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0);
    let fresh = timestamp
        .parse::<i64>()
        .is_ok_and(|ts| (now - ts).abs() <= 300_000);
    let valid = fresh && header("x-hubspot-signature-v3") == expected;
    let events = serde_json::from_slice(&body).unwrap_or_default();
    shared
        .received
        .lock()
        .expect("received")
        .push(Received { events, valid });
    let status = shared.answers.lock().expect("answers").pop_front();
    StatusCode::from_u16(status.unwrap_or(204)).unwrap_or(StatusCode::OK)
}

/// HMAC-SHA256 as RFC 2104 defines it, written out so the check does not share code with
/// the stand-in's signer.
fn hmac_sha256(key: &[u8], message: &[u8]) -> Vec<u8> {
    const BLOCK: usize = 64;
    let mut block = [0u8; BLOCK];
    if key.len() > BLOCK {
        block[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        block[..key.len()].copy_from_slice(key);
    }
    let pad = |byte: u8| block.iter().map(|b| b ^ byte).collect::<Vec<u8>>();
    let inner = Sha256::new()
        .chain_update(pad(0x36))
        .chain_update(message)
        .finalize();
    Sha256::new()
        .chain_update(pad(0x5c))
        .chain_update(inner)
        .finalize()
        .to_vec()
}

#[test]
fn hmac_matches_rfc_4231_test_case_2() {
    let mac = hmac_sha256(b"Jefe", b"what do ya want for nothing?");
    let hex: String = mac.iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(
        hex,
        "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
    );
}

fn portal_for(target: String) -> (HubSpot, Api) {
    let portal = hubspot::start(Options {
        ten_secondly_limit: 100_000,
        webhooks: Some(WebhookTarget {
            url: target,
            client_secret: SECRET.into(),
        }),
        ..Options::default()
    })
    .expect("start the stand-in");
    let api = Api::new(portal.url(), DEFAULT_TOKEN);
    (portal, api)
}

fn events_of(deliveries: &[Delivery]) -> Vec<Value> {
    deliveries
        .iter()
        .filter(|d| d.succeeded())
        .flat_map(|d| d.events.clone())
        .collect()
}

fn delivered(portal: &HubSpot, count: usize) -> Vec<Delivery> {
    portal.wait_for_deliveries(WAIT, |d| events_of(d).len() >= count)
}

#[test]
fn delivers_signed_events_for_api_and_helper_changes() {
    let receiver = Receiver::start(&[]);
    let (portal, api) = portal_for(receiver.url());
    let id = portal.create("companies", &[("name", "Acme"), ("domain", "acme.com")]);
    let patched = api.patch(
        &format!("/crm/v3/objects/companies/{id}"),
        &json!({"properties": {"name": "Acme Inc", "domain": "acme.com", "city": "Boston"}}),
    );
    assert_eq!(patched.status, 200, "{}", patched.text);
    let contact = portal.create("contacts", &[("email", "ada@acme.com")]);
    let archived = api.post(
        "/crm/v3/objects/companies/batch/archive",
        &json!({"inputs": [{"id": id}]}),
    );
    assert_eq!(archived.status, 204, "{}", archived.text);

    let events = events_of(&delivered(&portal, 5));
    let summary: Vec<(String, String, Value)> = events
        .iter()
        .map(|e| {
            (
                e["subscriptionType"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
                e["objectId"].to_string(),
                e.get("propertyName").cloned().unwrap_or(Value::Null),
            )
        })
        .collect();
    let company = |kind: &str, property: Value| (format!("company.{kind}"), id.clone(), property);
    assert_eq!(
        summary,
        vec![
            company("creation", Value::Null),
            // Unchanged `domain` and the computed `hs_lastmodifieddate` send nothing.
            company("propertyChange", json!("city")),
            company("propertyChange", json!("name")),
            ("contact.creation".into(), contact.clone(), Value::Null),
            company("deletion", Value::Null),
        ]
    );
    let ids: Vec<u64> = events
        .iter()
        .filter_map(|e| e["eventId"].as_u64())
        .collect();
    assert_eq!(ids, [1, 2, 3, 4, 5]);
    assert!(events.iter().all(|e| e["attemptNumber"] == 0
        && e["portalId"].is_u64()
        && e["appId"].is_u64()
        && e["occurredAt"].is_i64()));
    assert_eq!(events[0]["changeSource"], "CRM_UI");
    assert_eq!(events[0]["changeFlag"], "NEW");
    assert_eq!(events[2]["changeSource"], "API");
    assert_eq!(events[2]["propertyValue"], "Acme Inc");
    assert_eq!(events[4]["changeFlag"], "DELETED");
    let received = receiver.received();
    assert_eq!(
        received.iter().map(|r| r.events.len()).sum::<usize>(),
        5,
        "{received:?}"
    );
    assert!(received.iter().all(|r| r.valid), "{received:?}");
}

#[test]
fn sends_at_most_100_events_a_request() {
    let receiver = Receiver::start(&[]);
    let (portal, api) = portal_for(receiver.url());
    for count in [100, 50] {
        let inputs: Vec<Value> = (0..count)
            .map(|i| json!({"properties": {"name": format!("Company {i}")}}))
            .collect();
        let created = api.post(
            "/crm/v3/objects/companies/batch/create",
            &json!({ "inputs": inputs }),
        );
        assert_eq!(created.status, 201, "{}", created.text);
    }
    let deliveries = delivered(&portal, 150);
    // One API call's 100 events are queued at once: they fill the first request.
    assert_eq!(deliveries[0].events.len(), 100);
    assert!(deliveries.iter().all(|d| d.events.len() <= 100));
    let ids: Vec<u64> = events_of(&deliveries)
        .iter()
        .filter_map(|e| e["eventId"].as_u64())
        .collect();
    assert_eq!(ids, (1..=150).collect::<Vec<u64>>());
    assert!(receiver.received().iter().all(|r| r.valid));
}

#[test]
fn retries_failures_with_backoff_and_counts_attempts() {
    let receiver = Receiver::start(&[500, 503]);
    let (portal, _api) = portal_for(receiver.url());
    let id = portal.create("companies", &[("name", "Acme")]);
    // While the first batch waits for its retry, a later change queues behind it.
    portal.wait_for_deliveries(WAIT, |d| !d.is_empty());
    portal.update("companies", &id, &[("name", "Acme Inc")]);

    let deliveries = delivered(&portal, 2);
    let attempts: Vec<(Option<u16>, u32)> =
        deliveries.iter().map(|d| (d.status, d.attempt)).collect();
    assert_eq!(
        attempts[..3],
        [(Some(500), 0), (Some(503), 1), (Some(204), 2)]
    );
    for delivery in &deliveries[..3] {
        assert_eq!(delivery.events.len(), 1);
        assert_eq!(delivery.events[0]["attemptNumber"], delivery.attempt);
        assert_eq!(delivery.events[0]["eventId"], 1);
    }
    let waited = |a: &Delivery, b: &Delivery| b.at.duration_since(a.at).unwrap_or_default();
    assert!(waited(&deliveries[0], &deliveries[1]) >= Duration::from_millis(50));
    assert!(waited(&deliveries[1], &deliveries[2]) >= Duration::from_millis(100));
    let later = &deliveries[3];
    assert_eq!(later.events[0]["eventId"], 2);
    assert_eq!(
        later.events[0]["subscriptionType"],
        "company.propertyChange"
    );
    assert_eq!(later.events[0]["attemptNumber"], 0);
    assert!(receiver.received().iter().all(|r| r.valid));
}

#[test]
fn gives_up_on_an_unreachable_target_after_the_last_attempt() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}/hooks", closed.local_addr().expect("an address"));
    drop(closed);
    let (portal, _api) = portal_for(url);
    portal.create("companies", &[("name", "Acme")]);
    let deliveries = portal.wait_for_deliveries(Duration::from_secs(20), |d| {
        d.len() >= MAX_ATTEMPTS as usize
    });
    assert_eq!(deliveries.len(), MAX_ATTEMPTS as usize);
    assert!(deliveries.iter().all(|d| d.status.is_none()));
    let attempts: Vec<u32> = deliveries.iter().map(|d| d.attempt).collect();
    assert_eq!(attempts, (0..MAX_ATTEMPTS).collect::<Vec<u32>>());
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(portal.deliveries().len(), MAX_ATTEMPTS as usize);
}

#[test]
fn without_a_target_nothing_is_delivered() {
    let portal = hubspot::start(Options::default()).expect("start the stand-in");
    portal.create("companies", &[("name", "Acme")]);
    assert!(portal.deliveries().is_empty());
}

#[test]
fn batch_reads_count_against_the_ten_secondly_limit() {
    let portal = hubspot::start(Options {
        ten_secondly_limit: 2,
        ..Options::default()
    })
    .expect("start the stand-in");
    let api = Api::new(portal.url(), DEFAULT_TOKEN);
    let id = portal.create("companies", &[("name", "Acme")]);
    let body = json!({"properties": ["name"], "inputs": [{"id": id}, {"id": "999999"}]});
    let first = api.post("/crm/v3/objects/companies/batch/read", &body);
    assert_eq!(first.status, 207, "{}", first.text);
    let answer = first.json();
    assert_eq!(answer["results"][0]["properties"]["name"], "Acme");
    assert_eq!(answer["errors"][0]["category"], "OBJECT_NOT_FOUND");
    assert_eq!(answer["errors"][0]["context"]["ids"], json!(["999999"]));
    assert_eq!(
        api.post("/crm/v3/objects/companies/batch/read", &body)
            .status,
        207
    );
    let limited = api.post("/crm/v3/objects/companies/batch/read", &body);
    assert_eq!(limited.status, 429, "{}", limited.text);
    assert_eq!(limited.json()["policyName"], "TEN_SECONDLY_ROLLING");
}
