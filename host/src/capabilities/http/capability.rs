//! `wasync:plugin/http`: outgoing HTTP through the host.
//!
//! A connector granted `[connectors.NAME.http]` sends through its [`Client`] (allowed hosts,
//! credentials, rate limit, budget, retries); any other plugin is denied before a socket
//! opens. Time spent waiting on the network does not count against the plugin's deadline.

use super::Client;
use crate::wit::Error;
use crate::wit::http::{self, Host, Request, Response};
use std::sync::Arc;
use std::time::{Duration, Instant};
use wasmtime::component::{HasData, Linker};

/// The http import's state in one plugin instance.
#[derive(Default)]
pub struct HttpState {
    /// The connector's client, when the use was granted network.
    client: Option<Arc<Client>>,
    /// Time spent waiting on the network since the deadline last looked: the deadline is
    /// for the plugin's own running time, so it is extended by this much.
    waited: Duration,
}

impl HttpState {
    /// The state of a use granted `client` (or no network).
    pub fn new(client: Option<Arc<Client>>) -> Self {
        HttpState {
            client,
            waited: Duration::ZERO,
        }
    }

    /// The time spent waiting on the network since the last call; resets it.
    pub fn take_waited(&mut self) -> Duration {
        std::mem::take(&mut self.waited)
    }
}

/// The http import of one plugin instance.
pub struct Http<'a> {
    /// The plugin's name, for the refusal.
    pub plugin: &'a str,
    /// Its state.
    pub state: &'a mut HttpState,
}

impl Host for Http<'_> {
    fn send(&mut self, request: Request) -> Result<Response, Error> {
        let Some(client) = self.state.client.clone() else {
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
        self.state.waited += started.elapsed();
        result
    }
}

/// 0.2.0's http is 0.1.0's under a new name.
impl crate::wit::v0_2::http::Host for Http<'_> {
    fn send(
        &mut self,
        request: crate::wit::v0_2::http::Request,
    ) -> Result<crate::wit::v0_2::http::Response, Error> {
        Host::send(self, request.into()).map(Into::into)
    }
}

struct HasHttp;

impl HasData for HasHttp {
    type Data<'a> = Http<'a>;
}

/// Links the http import of every version served, each call answered by the [`Http`] `get` gives.
pub fn add_to_linker<T: 'static>(
    linker: &mut Linker<T>,
    get: fn(&mut T) -> Http<'_>,
) -> wasmtime::Result<()> {
    http::add_to_linker::<T, HasHttp>(linker, get)?;
    crate::wit::v0_2::http::add_to_linker::<T, HasHttp>(linker, get)
}
