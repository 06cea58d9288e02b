//! The allow-list of hosts a connector may reach, checked before any socket opens.

use reqwest::Url;

/// One allowed host pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Pattern {
    /// The host, lower case; for `*.example.com` the suffix `.example.com`.
    host: String,
    /// Any subdomain of `host` (not `host` itself).
    subdomains: bool,
    /// The port; `None` is the scheme's default port.
    port: Option<u16>,
}

/// Hosts from `[connectors.NAME.http] hosts`.
#[derive(Debug, Clone)]
pub struct AllowList(Vec<Pattern>);

impl AllowList {
    /// Parses the configured entries (already checked to be host-shaped).
    pub fn new(entries: &[String]) -> Result<AllowList, String> {
        entries
            .iter()
            .map(|entry| {
                // `[::1]:8080` keeps its brackets, as URLs show an IPv6 host.
                let split = match entry.strip_prefix('[') {
                    Some(_) => entry
                        .split_once("]:")
                        .map(|(h, p)| (&entry[..h.len() + 1], p)),
                    None => entry.rsplit_once(':'),
                };
                let (host, port) = match split {
                    Some((host, port)) => {
                        let port = port
                            .parse()
                            .map_err(|_| format!("`{entry}`: `{port}` is not a port"))?;
                        (host, Some(port))
                    }
                    None => (entry.as_str(), None),
                };
                let host = host.to_ascii_lowercase();
                Ok(match host.strip_prefix('*') {
                    Some(suffix) if suffix.starts_with('.') => Pattern {
                        host: suffix.to_owned(),
                        subdomains: true,
                        port,
                    },
                    _ => Pattern {
                        host,
                        subdomains: false,
                        port,
                    },
                })
            })
            .collect::<Result<_, String>>()
            .map(AllowList)
    }

    /// Whether `url` may be requested: http(s), and its host and port on the list.
    pub fn allows(&self, url: &Url) -> bool {
        if !matches!(url.scheme(), "http" | "https") {
            return false;
        }
        let (Some(host), Some(port)) = (url.host_str(), url.port_or_known_default()) else {
            return false;
        };
        let host = host.to_ascii_lowercase();
        let default = url.port().is_none();
        self.0.iter().any(|p| {
            let host_ok = if p.subdomains {
                host.ends_with(&p.host) && host.len() > p.host.len()
            } else {
                host == p.host
            };
            let port_ok = match p.port {
                Some(allowed) => allowed == port,
                None => default,
            };
            host_ok && port_ok
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn allows(entries: &[&str], url: &str) -> bool {
        let list = AllowList::new(&entries.iter().map(|s| s.to_string()).collect::<Vec<_>>())
            .expect("valid list");
        list.allows(&Url::parse(url).expect("valid url"))
    }

    #[test]
    fn hosts_match_exactly_with_their_default_port() {
        assert!(allows(&["api.hubapi.com"], "https://api.hubapi.com/crm/v3"));
        assert!(allows(&["API.HubAPI.com"], "https://api.hubapi.com/"));
        assert!(!allows(&["api.hubapi.com"], "https://api.hubapi.com:8443/"));
        assert!(!allows(&["api.hubapi.com"], "https://evil.api.hubapi.com/"));
        assert!(!allows(
            &["api.hubapi.com"],
            "https://api.hubapi.com.evil.io/"
        ));
        assert!(!allows(&["api.hubapi.com"], "ftp://api.hubapi.com/"));
    }

    #[test]
    fn ports_and_wildcards() {
        assert!(allows(&["127.0.0.1:8080"], "http://127.0.0.1:8080/x"));
        assert!(!allows(&["127.0.0.1:8080"], "http://127.0.0.1:8081/x"));
        assert!(!allows(&["127.0.0.1:8080"], "http://127.0.0.1/x"));
        assert!(allows(
            &["*.my.salesforce.com"],
            "https://acme.my.salesforce.com/"
        ));
        assert!(!allows(
            &["*.my.salesforce.com"],
            "https://my.salesforce.com/"
        ));
        assert!(!allows(
            &["*.my.salesforce.com"],
            "https://acme.my.salesforce.com.io/"
        ));
        assert!(allows(&["[::1]:8080"], "http://[::1]:8080/"));
    }

    #[test]
    fn a_bad_port_is_refused() {
        assert!(AllowList::new(&["example.com:http".into()]).is_err());
    }
}
