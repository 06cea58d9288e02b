//! `wasync:plugin/http`: outgoing HTTP through the host.
//!
//! No host is on any plugin's allow-list yet, so every request is denied before a socket
//! opens, which is exactly what an ungranted connector gets.

use crate::plugin::HostState;
use crate::plugin::bindings::Error;
use crate::plugin::bindings::http::{Host, Request, Response};

impl Host for HostState {
    fn send(&mut self, request: Request) -> Result<Response, Error> {
        let host = request
            .url
            .split_once("://")
            .map_or(request.url.as_str(), |(_, rest)| rest)
            .split(['/', '?', '#'])
            .next()
            .unwrap_or_default()
            .to_owned();
        Err(Error::AccessDenied(format!(
            "plugin `{}` may not reach `{host}`: it is not on the plugin's allowed hosts",
            self.plugin
        )))
    }
}
