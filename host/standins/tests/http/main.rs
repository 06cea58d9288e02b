//! The stand-ins over real HTTP, as the host and the connectors use them.

mod hubspot;
mod hubspot_webhooks;
mod salesforce;
mod salesforce_bulk;

use reqwest::Method;
use reqwest::blocking::Client;
use reqwest::header::HeaderMap;
use serde_json::Value;

/// A client for one stand-in, with a bearer token.
pub struct Api {
    base: String,
    pub token: String,
    client: Client,
}

/// An answer, read whole.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub headers: HeaderMap,
    pub text: String,
}

impl Answer {
    /// The body as JSON (panics with the body when it is not).
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.text)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {:?}", self.text))
    }

    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    }
}

impl Api {
    pub fn new(base: String, token: &str) -> Api {
        Api {
            base,
            token: token.to_owned(),
            client: Client::new(),
        }
    }

    pub fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
        headers: &[(&str, &str)],
    ) -> Answer {
        let mut request = self
            .client
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.token);
        if let Some(body) = body {
            request = request.json(body);
        }
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let response = request.send().expect("the stand-in answers");
        Answer {
            status: response.status().as_u16(),
            headers: response.headers().clone(),
            text: response.text().expect("a readable body"),
        }
    }

    pub fn get(&self, path: &str) -> Answer {
        self.send(Method::GET, path, None, &[])
    }

    pub fn post(&self, path: &str, body: &Value) -> Answer {
        self.send(Method::POST, path, Some(body), &[])
    }

    pub fn patch(&self, path: &str, body: &Value) -> Answer {
        self.send(Method::PATCH, path, Some(body), &[])
    }

    /// Sends raw bytes as a JSON body (for malformed JSON).
    pub fn raw(&self, method: Method, path: &str, body: &'static str) -> Answer {
        let response = self
            .client
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .expect("the stand-in answers");
        Answer {
            status: response.status().as_u16(),
            headers: response.headers().clone(),
            text: response.text().expect("a readable body"),
        }
    }

    /// Posts a form (for OAuth token endpoints), without a bearer token.
    pub fn form(&self, path: &str, form: &[(&str, &str)]) -> Answer {
        let response = self
            .client
            .post(format!("{}{path}", self.base))
            .form(form)
            .send()
            .expect("the stand-in answers");
        Answer {
            status: response.status().as_u16(),
            headers: response.headers().clone(),
            text: response.text().expect("a readable body"),
        }
    }
}

/// Percent-encodes a query parameter value.
pub fn encode(value: &str) -> String {
    let mut out = String::new();
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Requests no client should send: each gets an error status with a JSON body, and the
/// servers keep answering.
#[test]
fn garbage_never_breaks_a_server() {
    use wasync_standins::{hubspot, salesforce};

    let org = salesforce::start(salesforce::Options::default()).expect("start");
    let portal = hubspot::start(hubspot::Options {
        search_per_second: 1000,
        ten_secondly_limit: 1000,
        ..hubspot::Options::default()
    })
    .expect("start");
    let sf = Api::new(org.url(), salesforce::DEFAULT_TOKEN);
    let hs = Api::new(portal.url(), hubspot::DEFAULT_TOKEN);
    let data = "/services/data/v62.0";
    let bodies: &[&'static str] = &[
        "",
        "null",
        "[]",
        "{}",
        "{\"records\": {}}",
        "{\"records\": [1, \"a\", null]}",
        "{\"records\": [{\"attributes\": 5}]}",
        "{\"records\": [{\"attributes\": {\"type\": \"Account\"}, \"Name\": {\"a\": 1}}]}",
        "{\"records\": [{\"attributes\": {\"type\": \"Account\"}, \"Id\": 5, \"Name\": \"x\"}]}",
        "{\"records\": [{\"attributes\": {\"type\": \"Account\"}, \"Name\": \"x\", \"AnnualRevenue\": 1e308, \"NumberOfEmployees\": 1e300}]}",
        "{\"inputs\": 5}",
        "{\"inputs\": [null, 5, \"x\"]}",
        "{\"inputs\": [{\"id\": {}, \"properties\": []}]}",
        "{\"inputs\": [{\"idProperty\": 5, \"id\": \"x\"}]}",
        "{\"inputs\": [{\"properties\": {\"numberofemployees\": \"NaN\", \"createdate\": \"-9223372036854775808\"}}]}",
        "{\"filterGroups\": [{\"filters\": [{\"propertyName\": \"createdate\", \"operator\": \"BETWEEN\", \"value\": \"x\"}]}]}",
        "{\"filterGroups\": 5, \"sorts\": [5], \"limit\": -1, \"after\": \"abc\"}",
        "{\"sorts\": [{\"propertyName\": \"name\", \"direction\": \"SIDEWAYS\"}], \"after\": 18446744073709551615}",
        "\u{0}\u{1}garbage",
    ];
    let sf_paths = [
        format!("{data}/composite/sobjects"),
        format!("{data}/composite/sobjects/Account/Wasync_Id__c"),
        format!("{data}/composite/sobjects/Nope/Nope"),
        format!("{data}/sobjects/Account/%ZZ%00"),
    ];
    let hs_paths = [
        "/crm/v3/objects/companies",
        "/crm/v3/objects/companies/search",
        "/crm/v3/objects/companies/batch/create",
        "/crm/v3/objects/companies/batch/update",
        "/crm/v3/objects/companies/batch/upsert",
        "/crm/v3/objects/companies/batch/archive",
        "/crm/v3/objects/companies/batch/read",
        "/crm/v3/objects/companies/1",
        "/crm/v3/objects/%FF/1",
    ];
    for body in bodies {
        for path in &sf_paths {
            for method in [
                reqwest::Method::POST,
                reqwest::Method::PATCH,
                reqwest::Method::DELETE,
            ] {
                let answer = sf.raw(method, path, body);
                assert!(answer.status < 500, "{path} {body}: {}", answer.text);
                let _ = answer.json();
            }
        }
        for path in hs_paths {
            for method in [reqwest::Method::POST, reqwest::Method::PATCH] {
                let answer = hs.raw(method, path, body);
                assert!(answer.status < 500, "{path} {body}: {}", answer.text);
                if answer.status != 204 && answer.status >= 300 {
                    let _ = answer.json();
                }
            }
        }
    }
    for query in [
        "q=",
        "q=%FF%FE",
        "q=SELECT",
        "q=SELECT+Id+FROM+Account+LIMIT+99999999999999999999",
        "q=SELECT+Id+FROM+Account+WHERE+Name+IN+()",
        "q=SELECT+Id+FROM+Account+WHERE+((((((Name+=+'a'",
        "q=SELECT+COUNT(+FROM+Account",
        "q=SELECT+Id+FROM+Account+WHERE+SystemModstamp+>+9999-99-99T99:99:99Z",
        "q=SELECT+Id+FROM+Account+WHERE+Name+=+'%C3%A9'+AND+%C3%A9",
    ] {
        let answer = sf.get(&format!("{data}/query?{query}"));
        assert_eq!(answer.status, 400, "{query}: {}", answer.text);
        let _ = answer.json();
    }
    for path in [
        "/crm/v3/objects/companies?limit=abc",
        "/crm/v3/objects/companies?limit=100000",
        "/crm/v3/objects/companies?after=-1",
        "/crm/v3/objects/companies/x?idProperty=name",
        "/crm/v3/properties/companies/nope",
    ] {
        let answer = hs.get(path);
        assert!(
            (400..500).contains(&answer.status),
            "{path}: {}",
            answer.text
        );
        let _ = answer.json();
    }
    // Both still serve.
    assert_eq!(sf.get(&format!("{data}/sobjects")).status, 200);
    assert_eq!(hs.get("/crm/v3/objects/companies").status, 200);
}
