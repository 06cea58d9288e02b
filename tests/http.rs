//! The host's `http` capability end to end: a real connector component (`http-probe`)
//! sends through the host to a scripted HTTP server on 127.0.0.1, which records what reached
//! it. Allowed hosts, injected credentials, retries honouring `Retry-After`, timeouts,
//! budgets, OAuth refresh, and the deadline that does not count time spent waiting.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use wasync::config::{AuthConfig, HttpConfig};
use wasync::http::Client;
use wasync::plugin::bindings::connector::exports::wasync::plugin::external::ReadRequest;
use wasync::plugin::{Cache, Grants, Limits, Runtime, RuntimeOptions, System};
use wasync::{PluginErrorValue, Value};
use wasync_test_guests::HTTP_PROBE;

/// One scripted answer.
#[derive(Clone)]
struct Answer {
    status: u16,
    headers: Vec<(&'static str, String)>,
    body: String,
    delay: Duration,
}

fn answer(status: u16) -> Answer {
    Answer {
        status,
        headers: Vec::new(),
        body: String::new(),
        delay: Duration::ZERO,
    }
}

/// A request as the server saw it.
#[derive(Debug, Clone)]
struct Seen {
    line: String,
    headers: Vec<(String, String)>,
    body: String,
}

impl Seen {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// An HTTP/1.1 server that answers each connection with the next scripted answer (the last
/// one repeats) and keeps what it was sent.
struct Scripted {
    addr: std::net::SocketAddr,
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl Scripted {
    fn start(script: Vec<Answer>) -> Scripted {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = listener.local_addr().expect("addr");
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = seen.clone();
        std::thread::spawn(move || {
            for (next, stream) in listener.incoming().enumerate() {
                let Ok(stream) = stream else { return };
                let answer = script[next.min(script.len() - 1)].clone();
                let log = log.clone();
                std::thread::spawn(move || serve(stream, answer, &log));
            }
        });
        Scripted { addr, seen }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    fn seen(&self) -> Vec<Seen> {
        self.seen.lock().expect("log").clone()
    }
}

fn serve(stream: TcpStream, answer: Answer, log: &Mutex<Vec<Seen>>) {
    let mut reader = BufReader::new(stream.try_clone().expect("clone"));
    let mut line = String::new();
    if reader.read_line(&mut line).is_err() {
        return;
    }
    let mut headers = Vec::new();
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h).is_err() || h.trim().is_empty() {
            break;
        }
        if let Some((n, v)) = h.trim().split_once(':') {
            headers.push((n.trim().to_owned(), v.trim().to_owned()));
        }
    }
    let length = headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0; length];
    let _ = reader.read_exact(&mut body);
    log.lock().expect("log").push(Seen {
        line: line.trim().to_owned(),
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
    });
    std::thread::sleep(answer.delay);
    let mut out = format!(
        "HTTP/1.1 {} X\r\nContent-Length: {}\r\nConnection: close\r\n",
        answer.status,
        answer.body.len()
    );
    for (n, v) in &answer.headers {
        out.push_str(&format!("{n}: {v}\r\n"));
    }
    out.push_str("\r\n");
    out.push_str(&answer.body);
    let mut stream = stream;
    let _ = stream.write_all(out.as_bytes());
}

fn http_config(hosts: &[String]) -> HttpConfig {
    HttpConfig {
        hosts: hosts.to_vec(),
        timeout_seconds: 5.0,
        retries: 2,
        backoff_ms: 10,
        rate: None,
        daily_budget: None,
        auth: None,
        token_file: None,
    }
}

fn runtime(deadline: Duration) -> Runtime {
    Runtime::new(RuntimeOptions {
        limits: Limits {
            memory: 64 << 20,
            deadline,
            ..Limits::default()
        },
        cache: Cache::off(),
    })
    .expect("runtime")
}

/// The probe connector, sending to `url` through `client`.
fn probe(runtime: &Runtime, url: &str, client: Client) -> System {
    let plugin = runtime.load(HTTP_PROBE).expect("loads");
    let config = serde_json::json!({ "url": url }).to_string();
    let grants = Grants {
        http: Some(Arc::new(client)),
        ..Grants::default()
    };
    runtime
        .instance(&plugin, &config, grants)
        .expect("configures")
}

/// One probe read: the status the probe got, or the host's error.
fn read(system: &mut System) -> Result<i64, PluginErrorValue> {
    let request = ReadRequest {
        entity: "x".into(),
        after: None,
        until: None,
        limit: 1,
    };
    let page = system.read(&request).expect("the call itself succeeds")?;
    match &page.records[0].fields[0].value {
        Value::Integer(status) => Ok(*status),
        other => panic!("unexpected {other:?}"),
    }
}

fn client(config: &HttpConfig) -> Client {
    Client::new("probe", config, 0, |_| None).expect("client")
}

#[test]
fn credentials_are_added_by_the_host_and_only_allowed_hosts_are_reached() {
    let server = Scripted::start(vec![answer(200)]);
    let mut config = http_config(&[server.addr.to_string()]);
    config.auth = Some(AuthConfig::Bearer {
        token: None,
        token_env: Some("PROBE_TOKEN".into()),
    });
    let client = Client::new("probe", &config, 0, |var| {
        (var == "PROBE_TOKEN").then(|| "tok-123".to_owned())
    })
    .expect("client");
    let runtime = runtime(Duration::from_secs(5));
    let mut system = probe(&runtime, &server.url("/v1/x?y=1"), client);
    assert_eq!(read(&mut system), Ok(200));
    let seen = server.seen();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].line, "GET /v1/x?y=1 HTTP/1.1");
    assert_eq!(seen[0].header("authorization"), Some("Bearer tok-123"));

    // The same server on a port the list does not name: refused, nothing sent.
    let other = Scripted::start(vec![answer(200)]);
    let client = client_for(&server);
    let mut system = probe(&runtime, &other.url("/"), client);
    match read(&mut system) {
        Err(PluginErrorValue::AccessDenied(m)) => {
            assert!(m.contains("may not reach `127.0.0.1`"), "{m}");
            assert!(m.contains("[connectors.probe.http]"), "{m}");
        }
        other => panic!("expected a denial, got {other:?}"),
    }
    assert!(other.seen().is_empty());
}

fn client_for(server: &Scripted) -> Client {
    client(&http_config(&[server.addr.to_string()]))
}

#[test]
fn rate_limited_answers_are_retried_after_the_servers_retry_after() {
    let mut limited = answer(429);
    limited.headers.push(("Retry-After", "1".into()));
    limited.body = r#"{"message":"slow down"}"#.into();
    waits_at_least_a_second(limited);
}

/// RFC 9110's other form: the time to come back at. The retry may not come before the
/// second the date names (the date has whole seconds). Measured against the date itself, not
/// from when the read began: loading the probe (a cold compile) happens in between.
#[test]
fn a_retry_after_given_as_an_http_date_is_honoured() {
    let mut unavailable = answer(503);
    let date = httpdate::fmt_http_date(std::time::SystemTime::now() + Duration::from_secs(2));
    unavailable.headers.push(("Retry-After", date.clone()));
    read_twice(unavailable);
    let named = httpdate::parse_http_date(&date).expect("a date this test wrote");
    assert!(
        std::time::SystemTime::now() >= named,
        "Retry-After {date} was not honoured"
    );
}

/// Answers `first`, then 200: the read succeeds on its second try, a second or more later.
fn waits_at_least_a_second(first: Answer) {
    let header = first.headers.clone();
    let started = read_twice(first);
    assert!(
        started.elapsed() >= Duration::from_millis(950),
        "{header:?} was not honoured ({:?})",
        started.elapsed()
    );
}

/// Answers `first`, then 200, and reads through both; returns when the read began.
fn read_twice(first: Answer) -> Instant {
    let server = Scripted::start(vec![first, answer(200)]);
    let runtime = runtime(Duration::from_secs(5));
    let mut system = probe(&runtime, &server.url("/"), client_for(&server));
    let started = Instant::now();
    assert_eq!(read(&mut system), Ok(200));
    assert_eq!(server.seen().len(), 2);
    started
}

#[test]
fn server_errors_are_retried_then_reported_with_the_servers_words() {
    let mut failing = answer(503);
    failing.body = "maintenance until noon".into();
    let server = Scripted::start(vec![failing]);
    let runtime = runtime(Duration::from_secs(5));
    let mut system = probe(&runtime, &server.url("/x"), client_for(&server));
    match read(&mut system) {
        Err(PluginErrorValue::Unavailable(m)) => {
            assert!(m.contains("answered 503 3 time(s)"), "{m}");
            assert!(m.contains("maintenance until noon"), "{m}");
        }
        other => panic!("expected unavailable, got {other:?}"),
    }
    assert_eq!(server.seen().len(), 3, "one try and two retries");
}

#[test]
fn a_slow_answer_times_out_and_the_retry_gets_through() {
    let mut slow = answer(200);
    slow.delay = Duration::from_secs(3);
    let server = Scripted::start(vec![slow, answer(200)]);
    let mut config = http_config(&[server.addr.to_string()]);
    config.timeout_seconds = 0.5;
    let runtime = runtime(Duration::from_secs(5));
    let mut system = probe(&runtime, &server.url("/"), client(&config));
    assert_eq!(read(&mut system), Ok(200));
    assert_eq!(server.seen().len(), 2);
}

#[test]
fn time_spent_waiting_on_the_network_does_not_count_against_the_deadline() {
    let mut slow = answer(200);
    slow.delay = Duration::from_millis(1200);
    let server = Scripted::start(vec![slow]);
    // The plugin may run 300 ms; the server takes 1.2 s to answer.
    let runtime = runtime(Duration::from_millis(300));
    let mut system = probe(&runtime, &server.url("/"), client_for(&server));
    assert_eq!(read(&mut system), Ok(200));
}

#[test]
fn a_spent_budget_refuses_before_sending_and_is_kept_per_day() {
    let server = Scripted::start(vec![answer(200)]);
    let mut config = http_config(&[server.addr.to_string()]);
    config.daily_budget = Some(3);
    // One call was already made today (from the store).
    let client = Client::new("probe", &config, 1, |_| None).expect("client");
    let runtime = runtime(Duration::from_secs(5));
    let mut system = probe(&runtime, &server.url("/"), client);
    assert_eq!(read(&mut system), Ok(200));
    assert_eq!(read(&mut system), Ok(200));
    match read(&mut system) {
        Err(PluginErrorValue::RateLimited(m)) => {
            assert!(
                m.contains("has spent its daily budget of 3 API calls"),
                "{m}"
            )
        }
        other => panic!("expected the budget refusal, got {other:?}"),
    }
    assert_eq!(server.seen().len(), 2);
}

#[test]
fn an_expired_oauth_token_is_refreshed_once_and_secrets_stay_out_of_errors() {
    // The API refuses the first token, the token endpoint hands out a new one, the API
    // takes it.
    let mut refused = answer(401);
    refused.body = r#"{"message":"expired"}"#.into();
    let mut token = answer(200);
    token.body = r#"{"access_token":"second-token","expires_in":3600}"#.into();
    let mut first = answer(200);
    first.body = r#"{"access_token":"first-token","expires_in":3600}"#.into();
    let server = Scripted::start(vec![first, refused, token, answer(200)]);
    let mut config = http_config(&[server.addr.to_string()]);
    config.auth = Some(AuthConfig::Oauth2 {
        token_url: server.url("/oauth/token"),
        client_id: "client-1".into(),
        client_secret: Some("client-secret-xyz".into()),
        client_secret_env: None,
        refresh_token: Some("refresh-xyz".into()),
        refresh_token_env: None,
    });
    let runtime = runtime(Duration::from_secs(5));
    let mut system = probe(&runtime, &server.url("/api"), client(&config));
    assert_eq!(read(&mut system), Ok(200));
    let seen = server.seen();
    let lines: Vec<&str> = seen.iter().map(|s| s.line.as_str()).collect();
    assert_eq!(
        lines,
        [
            "POST /oauth/token HTTP/1.1",
            "GET /api HTTP/1.1",
            "POST /oauth/token HTTP/1.1",
            "GET /api HTTP/1.1"
        ]
    );
    assert!(seen[0].body.contains("grant_type=refresh_token"));
    assert!(seen[0].body.contains("refresh_token=refresh-xyz"));
    assert_eq!(seen[1].header("authorization"), Some("Bearer first-token"));
    assert_eq!(seen[3].header("authorization"), Some("Bearer second-token"));

    // A refresh token the provider refuses: an `unauthorized` error that names the
    // endpoint and the provider's reason, and no secret.
    let mut bad = answer(400);
    bad.body =
        r#"{"error":"invalid_grant","error_description":"expired access/refresh token"}"#.into();
    let server = Scripted::start(vec![bad]);
    let mut config = http_config(&[server.addr.to_string()]);
    config.auth = Some(AuthConfig::Oauth2 {
        token_url: server.url("/oauth/token"),
        client_id: "client-1".into(),
        client_secret: Some("client-secret-xyz".into()),
        client_secret_env: None,
        refresh_token: Some("refresh-xyz".into()),
        refresh_token_env: None,
    });
    let mut system = probe(&runtime, &server.url("/api"), client(&config));
    match read(&mut system) {
        Err(PluginErrorValue::Unauthorized(m)) => {
            assert!(m.contains("invalid_grant"), "{m}");
            assert!(!m.contains("xyz"), "a secret leaked: {m}");
        }
        other => panic!("expected unauthorized, got {other:?}"),
    }
}

#[test]
fn a_request_by_path_goes_to_the_instance_the_token_response_names() {
    // The token endpoint on one server names the other as the instance (Salesforce's
    // `instance_url`); a path goes there, and the instance must still be an allowed host.
    let instance = Scripted::start(vec![answer(200)]);
    let mut token = answer(200);
    token.body = format!(
        r#"{{"access_token":"tok","expires_in":3600,"instance_url":"{}"}}"#,
        instance.url("")
    );
    let login = Scripted::start(vec![token]);
    let oauth = |hosts: &[String]| {
        let mut config = http_config(hosts);
        config.auth = Some(AuthConfig::Oauth2 {
            token_url: login.url("/oauth/token"),
            client_id: "client-1".into(),
            client_secret: Some("secret".into()),
            client_secret_env: None,
            refresh_token: Some("refresh".into()),
            refresh_token_env: None,
        });
        config
    };
    let hosts = [login.addr.to_string(), instance.addr.to_string()];
    let runtime = runtime(Duration::from_secs(5));
    let mut system = probe(
        &runtime,
        "/services/data/v62.0/limits",
        client(&oauth(&hosts)),
    );
    assert_eq!(read(&mut system), Ok(200));
    let seen = instance.seen();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].line, "GET /services/data/v62.0/limits HTTP/1.1");
    assert_eq!(seen[0].header("authorization"), Some("Bearer tok"));

    // An instance off the allowed hosts is refused like any other host.
    let mut token = answer(200);
    token.body = format!(
        r#"{{"access_token":"tok","instance_url":"{}"}}"#,
        instance.url("")
    );
    let login = Scripted::start(vec![token]);
    let mut config = oauth(&[login.addr.to_string()]);
    if let Some(AuthConfig::Oauth2 { token_url, .. }) = &mut config.auth {
        *token_url = login.url("/oauth/token");
    }
    let mut system = probe(&runtime, "/services/data/v62.0/limits", client(&config));
    assert!(
        matches!(read(&mut system), Err(PluginErrorValue::AccessDenied(_))),
        "an instance not on the list"
    );

    // Without OAuth there is no instance: the path is refused, saying why.
    let mut system = probe(&runtime, "/services/data", client(&http_config(&hosts)));
    match read(&mut system) {
        Err(PluginErrorValue::InvalidInput(m)) => assert!(m.contains("instance_url"), "{m}"),
        other => panic!("expected invalid input, got {other:?}"),
    }
}
