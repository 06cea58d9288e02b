//! Stand-in servers for Salesforce's REST API and HubSpot's CRM v3 API: real HTTP servers
//! on 127.0.0.1, stateful, faithful to the documented APIs (endpoints, paging, limits,
//! error bodies, OAuth refresh), with faults to inject. End-to-end tests, benchmarks and
//! `wasync demo` run the connectors against them.
//!
//! - [`salesforce::start`]: an org with `Account` and `Contact` under
//!   `/services/data/v62.0` (SOQL `query`/`queryAll` with `nextRecordsUrl` cursors, describe,
//!   sObject Collections), `POST /services/oauth2/token`, `Sforce-Limit-Info`, the daily
//!   request limit.
//! - [`hubspot::start`]: a portal with `companies` and `contacts` under `/crm/v3` (search,
//!   batch create/update/upsert/archive/read, list, single objects, properties),
//!   `POST /oauth/v1/token`, the ten-secondly, search and daily limits, and webhook
//!   delivery (v3-signed event batches, retried with backoff) to a
//!   [`hubspot::WebhookTarget`].
//! - [`rest::start`]: a generic paged JSON API (any entity) with six paging styles (cursor
//!   field, next-page URL, `Link` header, offset, page number, filter body), soft deletes,
//!   and faults of its own (pages that end early, cursors that repeat).
//! - [`seed::companies`]: deterministic, realistic companies to fill them with.
//! - [`collector::Collector`]: an HTTP collector that keeps what it is sent.
//! - [`webhooks`]: request signatures as webhook senders make them.
//!
//! Each server runs a small runtime on a thread of its own, answers as soon as `start`
//! returns, and stops when dropped. The API is synchronous. Every request is logged
//! ([`Server::requests`]); [`Server::inject`] queues [`Fault`]s. The data helpers
//! (`insert`, `create`, `update`, ...) go through the same checks as the HTTP API but
//! neither count against limits nor appear in the log.
//!
//! ```no_run
//! use wasync_standins::{Fault, salesforce};
//!
//! let org = salesforce::start(salesforce::Options::default()).expect("bind a port");
//! org.insert("Account", &[("Name", "Acme".into())]);
//! org.inject(Fault::ServerError { times: 1 });
//! // GET {org.url()}/services/data/v62.0/query?q=SELECT+Id+FROM+Account with
//! // `Authorization: Bearer {salesforce::DEFAULT_TOKEN}` now answers 500 once, then the
//! // record.
//! assert!(org.requests().is_empty());
//! ```
#![deny(missing_docs)]

pub mod collector;
pub mod hubspot;
pub mod rest;
pub mod salesforce;
pub mod seed;
mod server;
mod time;
pub mod webhooks;

pub use server::{Fault, Logged, OAuthClient, Server};
