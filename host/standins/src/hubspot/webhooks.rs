//! Webhook delivery as HubSpot's Webhooks API does it: changes to objects become events
//! (`company.creation`, `contact.propertyChange`, `company.deletion`, ...), POSTed in
//! batches of at most 100 to the app's target URL, signed with the v3 signature, and
//! retried with backoff when the target fails.
//!
//! One delivery thread sends the batches one after another, so the events of an object
//! arrive in the order they happened (a batch being retried holds back those behind it).
//! HubSpot retries up to 10 times over a day; the stand-in makes the same attempts within
//! seconds so that tests can watch them.

use std::collections::VecDeque;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;

use super::schema::OBJECT_TYPES;
use super::store::{Changed, Kind};
use crate::server::lock;

/// Where a portal delivers its webhooks, and the app secret it signs them with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookTarget {
    /// The target URL (`http://127.0.0.1:PORT/hooks/hubspot`).
    pub url: String,
    /// The app's client secret, which keys the v3 signature.
    pub client_secret: String,
}

/// One attempt to deliver a batch of events, for tests to inspect.
#[derive(Debug, Clone, PartialEq)]
pub struct Delivery {
    /// The target's HTTP status; `None` when it could not be reached.
    pub status: Option<u16>,
    /// The events sent, as sent (`attemptNumber` included).
    pub events: Vec<Value>,
    /// 0 for the first attempt, then 1, 2, ... (each event's `attemptNumber`).
    pub attempt: u32,
    /// When the attempt was made.
    pub at: SystemTime,
}

impl Delivery {
    /// Whether the target accepted the batch (a 2xx).
    pub fn succeeded(&self) -> bool {
        self.status.is_some_and(|s| (200..300).contains(&s))
    }
}

/// The most events HubSpot puts in one request.
pub const MAX_EVENTS: usize = 100;
/// The most attempts at one batch: the first and HubSpot's ten retries.
pub const MAX_ATTEMPTS: u32 = 11;
/// The wait before the first retry; it doubles each time, up to [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_millis(50);
const MAX_BACKOFF: Duration = Duration::from_millis(800);
/// How long HubSpot waits for the target's answer.
const TIMEOUT: Duration = Duration::from_secs(5);

/// The portal and app the stand-in's events come from.
const PORTAL_ID: u64 = 62_515;
const APP_ID: u64 = 1_160_452;

enum Message {
    Events(Vec<Value>),
    Stop,
}

/// A running delivery thread.
#[derive(Debug)]
pub(crate) struct Webhooks {
    sender: Mutex<Sender<Message>>,
    deliveries: Arc<Mutex<Vec<Delivery>>>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl Webhooks {
    /// Starts delivering to `target`.
    pub(crate) fn start(target: WebhookTarget) -> std::io::Result<Webhooks> {
        let (sender, receiver) = mpsc::channel();
        let deliveries = Arc::new(Mutex::new(Vec::new()));
        let client = reqwest::blocking::Client::builder()
            .timeout(TIMEOUT)
            .build()
            .map_err(std::io::Error::other)?;
        let worker = Worker {
            signed_uri: signed_uri(&target.url),
            target,
            client,
            receiver,
            queue: VecDeque::new(),
            deliveries: Arc::clone(&deliveries),
        };
        let thread = std::thread::Builder::new()
            .name("standin-hubspot-webhooks".into())
            .spawn(move || worker.run())?;
        Ok(Webhooks {
            sender: Mutex::new(sender),
            deliveries,
            thread: Mutex::new(Some(thread)),
        })
    }

    /// Queues events (already numbered) for delivery.
    pub(crate) fn send(&self, events: Vec<Value>) {
        if !events.is_empty() {
            // The thread only stops when told to, so the send cannot fail before that.
            let _ = lock(&self.sender).send(Message::Events(events));
        }
    }

    /// Every attempt so far, in order.
    pub(crate) fn deliveries(&self) -> Vec<Delivery> {
        lock(&self.deliveries).clone()
    }

    /// Stops the thread (events not yet delivered are dropped) and waits for it.
    pub(crate) fn stop(&self) {
        let _ = lock(&self.sender).send(Message::Stop);
        if let Some(thread) = lock(&self.thread).take() {
            let _ = thread.join();
        }
    }
}

/// The URI HubSpot signs for `url`: `https://` + its authority + its path, whatever the
/// scheme it is reached by, as a receiver behind TLS termination rebuilds it.
fn signed_uri(url: &str) -> String {
    let rest = url
        .strip_prefix("http://")
        .or_else(|| url.strip_prefix("https://"))
        .unwrap_or(url);
    if rest.contains('/') {
        format!("https://{rest}")
    } else {
        // A URL without a path is requested as `/`.
        format!("https://{rest}/")
    }
}

/// `base64(HMAC-SHA256(secret, method + uri + body + timestamp))`.
pub(crate) fn sign(secret: &str, method: &str, uri: &str, body: &[u8], timestamp: &str) -> String {
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret.as_bytes()) else {
        unreachable!("HMAC takes keys of any length");
    };
    mac.update(method.as_bytes());
    mac.update(uri.as_bytes());
    mac.update(body);
    mac.update(timestamp.as_bytes());
    BASE64.encode(mac.finalize().into_bytes())
}

/// The events of `changes`, numbered from `last_event_id` on (which is advanced).
pub(crate) fn events(
    changes: Vec<(usize, Changed)>,
    source: &str,
    last_event_id: &mut u64,
) -> Vec<Value> {
    changes
        .into_iter()
        .map(|(ty, changed)| {
            *last_event_id += 1;
            let object = OBJECT_TYPES[ty].upper.to_ascii_lowercase();
            let (kind, index) = match &changed.kind {
                Kind::Creation => ("creation", 0),
                Kind::PropertyChange { .. } => ("propertyChange", 1),
                Kind::Deletion => ("deletion", 2),
            };
            let mut event = json!({
                "eventId": *last_event_id,
                "subscriptionId": 1000 + ty as u64 * 10 + index,
                "portalId": PORTAL_ID,
                "appId": APP_ID,
                "occurredAt": changed.at,
                "subscriptionType": format!("{object}.{kind}"),
                "attemptNumber": 0,
                "objectId": changed.id,
                "changeSource": source,
            });
            match changed.kind {
                Kind::Creation => event["changeFlag"] = json!("NEW"),
                Kind::Deletion => event["changeFlag"] = json!("DELETED"),
                Kind::PropertyChange { name, value } => {
                    event["propertyName"] = json!(name);
                    event["propertyValue"] = json!(value);
                }
            }
            event
        })
        .collect()
}

/// The delivery thread's state.
struct Worker {
    target: WebhookTarget,
    signed_uri: String,
    client: reqwest::blocking::Client,
    receiver: Receiver<Message>,
    /// Events received, not yet in a batch.
    queue: VecDeque<Value>,
    deliveries: Arc<Mutex<Vec<Delivery>>>,
}

impl Worker {
    fn run(mut self) {
        loop {
            if self.queue.is_empty() {
                match self.receiver.recv() {
                    Ok(Message::Events(events)) => self.queue.extend(events),
                    Ok(Message::Stop) | Err(_) => return,
                }
            }
            if !self.take_waiting() {
                return;
            }
            let take = self.queue.len().min(MAX_EVENTS);
            let batch: Vec<Value> = self.queue.drain(..take).collect();
            if !self.deliver(batch) {
                return;
            }
        }
    }

    /// Moves events already sent to the queue; `false` when told to stop.
    fn take_waiting(&mut self) -> bool {
        loop {
            match self.receiver.try_recv() {
                Ok(Message::Events(events)) => self.queue.extend(events),
                Ok(Message::Stop) => return false,
                Err(mpsc::TryRecvError::Empty) => return true,
                Err(mpsc::TryRecvError::Disconnected) => return false,
            }
        }
    }

    /// Delivers one batch, retrying; `false` when told to stop meanwhile.
    fn deliver(&mut self, mut batch: Vec<Value>) -> bool {
        let mut backoff = FIRST_BACKOFF;
        for attempt in 0..MAX_ATTEMPTS {
            for event in &mut batch {
                event["attemptNumber"] = json!(attempt);
            }
            let status = self.post(&batch);
            let delivery = Delivery {
                status,
                events: batch.clone(),
                attempt,
                at: SystemTime::now(),
            };
            let done = delivery.succeeded();
            lock(&self.deliveries).push(delivery);
            if done || attempt + 1 == MAX_ATTEMPTS {
                return true;
            }
            if !self.wait(backoff) {
                return false;
            }
            backoff = (backoff * 2).min(MAX_BACKOFF);
        }
        true
    }

    /// One signed POST; the status, or `None` when the target could not be reached.
    fn post(&self, batch: &[Value]) -> Option<u16> {
        let body = serde_json::to_vec(batch).unwrap_or_default();
        let timestamp = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis())
            .unwrap_or(0)
            .to_string();
        let signature = sign(
            &self.target.client_secret,
            "POST",
            &self.signed_uri,
            &body,
            &timestamp,
        );
        self.client
            .post(&self.target.url)
            .header("content-type", "application/json")
            .header("x-hubspot-signature-v3", signature)
            .header("x-hubspot-request-timestamp", timestamp)
            .body(body)
            .send()
            .ok()
            .map(|response| response.status().as_u16())
    }

    /// Waits `span` while still taking in new events; `false` when told to stop.
    fn wait(&mut self, span: Duration) -> bool {
        let until = Instant::now() + span;
        loop {
            let left = until.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return true;
            }
            match self.receiver.recv_timeout(left) {
                Ok(Message::Events(events)) => self.queue.extend(events),
                Ok(Message::Stop) | Err(RecvTimeoutError::Disconnected) => return false,
                Err(RecvTimeoutError::Timeout) => return true,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signs_with_https_and_the_targets_authority() {
        assert_eq!(
            signed_uri("http://127.0.0.1:5000/hooks/hubspot?x=1"),
            "https://127.0.0.1:5000/hooks/hubspot?x=1"
        );
        assert_eq!(
            signed_uri("http://127.0.0.1:5000"),
            "https://127.0.0.1:5000/"
        );
        assert_eq!(signed_uri("https://a.example/h"), "https://a.example/h");
    }
}
