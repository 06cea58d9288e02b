//! Walking a paged list: the request for each page, the records in each answer, and where
//! the next page is. Each paging style says in its own way when the list ends; what looks
//! wrong (a token seen before, a page short of its size before the last) is reported to
//! the read, which decides whether it can stop safely.

use crate::api::{Answer, Api};
use crate::settings::{EntitySettings, ListMethod, Paging};
use crate::values::{at, set_at, short};
use serde_json::{Map, Value as Json};
use std::collections::HashSet;
use wasync_sdk::Error;

/// At most this many pages in one read: a list that never ends is an error, not a hang.
pub const MAX_PAGES: u32 = 100_000;

/// Where the walk is.
#[derive(Debug, Clone)]
enum Position {
    First,
    Token(String),
    Url(String),
    Offset(u64),
    Page(u64),
}

/// What the page just read says about the next.
#[derive(Debug, PartialEq)]
pub enum Step {
    /// There is another page.
    Next,
    /// The list ended.
    End,
    /// The API answered something that cannot be right; reading on could lose records or
    /// loop.
    Wrong(String),
}

/// Where a walk through a list is, to go on with it later.
#[derive(Debug, Clone)]
pub struct Place {
    since: Option<String>,
    position: Position,
    tokens: HashSet<String>,
    pages: u32,
}

impl Place {
    /// The first page of the list of changes since `since` (a watermark as the API takes
    /// it), or of the whole list.
    pub fn start(since: Option<String>) -> Place {
        Place {
            since,
            position: Position::First,
            tokens: HashSet::new(),
            pages: 0,
        }
    }
}

/// One walk through a list.
pub struct Walk<'a> {
    api: &'a Api,
    e: &'a EntitySettings,
    place: Place,
}

impl<'a> Walk<'a> {
    pub fn new(api: &'a Api, e: &'a EntitySettings, place: Place) -> Walk<'a> {
        Walk { api, e, place }
    }

    /// Where the walk is now.
    pub fn place(self) -> Place {
        self.place
    }

    /// Reads the next page: its records, and what it says about the page after it.
    pub fn next(&mut self) -> Result<(Vec<Json>, Step), Error> {
        if self.place.pages >= MAX_PAGES {
            return Err(Error::Other(format!(
                "listing {} went on past {MAX_PAGES} pages; the paging settings may not match \
                 the API",
                self.e.path
            )));
        }
        self.place.pages += 1;
        let answer = self.fetch()?;
        let records = self.records(&answer)?;
        let step = self.step(&answer, records.len())?;
        Ok((records, step))
    }

    fn fetch(&self) -> Result<Answer, Error> {
        let method = match self.e.method {
            ListMethod::Get => "GET",
            ListMethod::Post => "POST",
        };
        let url = match &self.place.position {
            Position::Url(url) => url.clone(),
            _ => self.list_url(),
        };
        let body = (self.e.method == ListMethod::Post).then(|| self.body());
        self.api.call(method, url, body.as_ref())
    }

    /// The parameters of this page: fixed ones, since, size, and the paging position.
    fn params(&self) -> Vec<(String, Json)> {
        let mut params: Vec<(String, Json)> = Vec::new();
        if let (Some(since), Some(s)) = (&self.place.since, &self.e.since) {
            params.push((s.param.clone(), Json::String(since.clone())));
        }
        if let Some((param, size)) = self.e.paging.size() {
            params.push((param.to_owned(), Json::from(size)));
        }
        match (&self.e.paging, &self.place.position) {
            (Paging::Cursor { param, .. }, Position::Token(token)) => {
                params.push((param.clone(), Json::String(token.clone())));
            }
            (Paging::Offset { param, .. }, position) => {
                let offset = match position {
                    Position::Offset(o) => *o,
                    _ => 0,
                };
                params.push((param.clone(), Json::from(offset)));
            }
            (Paging::Page { param, start, .. }, position) => {
                let page = match position {
                    Position::Page(p) => *p,
                    _ => *start,
                };
                params.push((param.clone(), Json::from(page)));
            }
            _ => {}
        }
        params
    }

    /// The list URL with the fixed query and, for `GET`, this page's parameters.
    fn list_url(&self) -> String {
        let mut query = form_urlencoded::Serializer::new(String::new());
        for (key, value) in &self.e.query {
            query.append_pair(key, value);
        }
        if self.e.method == ListMethod::Get {
            for (key, value) in self.params() {
                match value {
                    Json::String(text) => query.append_pair(&key, &text),
                    other => query.append_pair(&key, &other.to_string()),
                };
            }
        }
        let query = query.finish();
        let url = self.api.url(&self.e.path);
        match (query.is_empty(), url.contains('?')) {
            (true, _) => url,
            (false, true) => format!("{url}&{query}"),
            (false, false) => format!("{url}?{query}"),
        }
    }

    /// A `POST` list's body: the configured one with this page's parameters set in it.
    fn body(&self) -> Json {
        let mut body = match &self.e.body {
            Some(Json::Object(object)) => object.clone(),
            _ => Map::new(),
        };
        for (path, value) in self.params() {
            set_at(&mut body, &path, value);
        }
        Json::Object(body)
    }

    fn records(&self, answer: &Answer) -> Result<Vec<Json>, Error> {
        let body = answer.body.as_ref().unwrap_or(&Json::Null);
        match at(body, &self.e.records) {
            Some(Json::Array(records)) => Ok(records.clone()),
            Some(Json::Null) => Ok(Vec::new()),
            found => Err(Error::Other(format!(
                "the answer to {} has no list of records at `{}` (`records`): {}",
                answer.what,
                self.e.records,
                found.map_or_else(|| format!("the answer is {}", short(body)), short)
            ))),
        }
    }

    /// Where the next page is, from the page just read (`got` records).
    fn step(&mut self, answer: &Answer, got: usize) -> Result<Step, Error> {
        let body = answer.body.as_ref().unwrap_or(&Json::Null);
        let size = self.e.paging.size().map(|(_, size)| size as usize);
        let short_page = size.is_some_and(|size| got < size);
        let step = match &self.e.paging {
            Paging::None => Step::End,
            Paging::Cursor { path, .. } => match token(body, path) {
                None => Step::End,
                Some(token) => self.follow(Position::Token(token)),
            },
            Paging::NextUrl { path, .. } => match token(body, path) {
                None => Step::End,
                Some(next) => {
                    let url = self.resolve(&next, &answer.what)?;
                    self.follow(Position::Url(url))
                }
            },
            Paging::Link { .. } => match answer.link_next.as_deref() {
                None => Step::End,
                Some(next) => {
                    let url = self.resolve(next, &answer.what)?;
                    self.follow(Position::Url(url))
                }
            },
            Paging::Offset { total, .. } => {
                let offset = match self.place.position {
                    Position::Offset(o) => o,
                    _ => 0,
                } + got as u64;
                let total = total.as_ref().and_then(|t| count(body, t));
                self.place.position = Position::Offset(offset);
                match total {
                    _ if got == 0 => Step::End,
                    Some(total) if offset >= total => Step::End,
                    Some(_) => Step::Next,
                    None if short_page => Step::End,
                    None => Step::Next,
                }
            }
            Paging::Page {
                start, total_pages, ..
            } => {
                let page = match self.place.position {
                    Position::Page(p) => p,
                    _ => *start,
                };
                let pages = total_pages.as_ref().and_then(|t| count(body, t));
                let last = pages.map(|n| (start + n).saturating_sub(1));
                self.place.position = Position::Page(page + 1);
                match last {
                    _ if got == 0 => Step::End,
                    Some(last) if page >= last => Step::End,
                    Some(last) if short_page => Step::Wrong(format!(
                        "page {page} of {last} brought {got} records, fewer than its size: \
                         records may be missing"
                    )),
                    Some(_) => Step::Next,
                    None if short_page => Step::End,
                    None => Step::Next,
                }
            }
        };
        Ok(step)
    }

    /// Moves to a page named by a token or URL, unless it was named before: a loop.
    fn follow(&mut self, position: Position) -> Step {
        let (Position::Token(key) | Position::Url(key)) = &position else {
            unreachable!("only tokens and URLs are followed")
        };
        if !self.place.tokens.insert(key.clone()) {
            return Step::Wrong(format!(
                "the API named the same next page twice (`{key}`): reading on would loop"
            ));
        }
        self.place.position = position;
        Step::Next
    }

    /// A next-page URL as an absolute URL: as it is, or on the API's origin.
    fn resolve(&self, next: &str, what: &str) -> Result<String, Error> {
        if crate::settings::is_http_url(next) {
            return Ok(next.to_owned());
        }
        if next.starts_with('/') {
            return Ok(format!("{}{next}", self.api.origin()));
        }
        if next.starts_with('?') {
            let list = self.api.url(&self.e.path);
            let list = list.split('?').next().unwrap_or(&list);
            return Ok(format!("{list}{next}"));
        }
        Err(Error::Other(format!(
            "the answer to {what} named a next page `{next}` that is not a URL"
        )))
    }
}

/// A next-page token or URL at `path`: text or a number; null, empty or missing ends the
/// list.
fn token(body: &Json, path: &str) -> Option<String> {
    match at(body, path)? {
        Json::String(s) if !s.is_empty() => Some(s.clone()),
        Json::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// A count at `path`, a number or a numeric string.
fn count(body: &Json, path: &str) -> Option<u64> {
    match at(body, path)? {
        Json::Number(n) => n.as_u64(),
        Json::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// The `rel="next"` target of a `Link` header (RFC 8288).
pub fn link_next(header: &str) -> Option<String> {
    let mut rest = header;
    while let Some(open) = rest.find('<') {
        let after = &rest[open + 1..];
        let close = after.find('>')?;
        let target = &after[..close];
        let params = &after[close + 1..];
        let params = &params[..params.find('<').unwrap_or(params.len())];
        let is_next = params.split(';').any(|param| {
            let Some((name, value)) = param.split_once('=') else {
                return false;
            };
            name.trim().eq_ignore_ascii_case("rel")
                && value
                    .trim()
                    .trim_end_matches(',')
                    .trim()
                    .trim_matches('"')
                    .split_ascii_whitespace()
                    .any(|rel| rel.eq_ignore_ascii_case("next"))
        });
        if is_next {
            return Some(target.to_owned());
        }
        rest = &after[close + 1..];
    }
    None
}
