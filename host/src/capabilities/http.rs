//! `wasync:plugin/http`: outgoing HTTP through the host.
//!
//! A connector granted `[connectors.NAME.http]` sends through its [`Client`](crate::http::Client)
//! (allowed hosts, credentials, rate limit, budget, retries); any other plugin is denied
//! before a socket opens. Time spent waiting on the network does not count against the
//! plugin's deadline.

use crate::plugin::HostState;
use crate::plugin::bindings::Error;
use crate::plugin::bindings::http::{Host, Request, Response};
use std::time::Instant;

impl Host for HostState {
    fn send(&mut self, request: Request) -> Result<Response, Error> {
        let Some(client) = self.http.clone() else {
            let host = request
                .url
                .split_once("://")
                .map_or(request.url.as_str(), |(_, rest)| rest)
                .split(['/', '?', '#'])
                .next()
                .unwrap_or_default()
                .to_owned();
            return Err(Error::AccessDenied(format!(
                "plugin `{}` may not reach `{host}`: it has no network (no [connectors.NAME.http] grant)",
                self.plugin
            )));
        };
        let started = Instant::now();
        let result = client.send(request);
        self.waited += started.elapsed();
        result
    }
}
