//! Packages in an OCI registry, the way Wasm tooling (wasm-pkg-tools) shares components:
//! `namespace:name@version` is repository `namespace/name`, tag `version`; the image
//! manifest's config is `application/vnd.wasm.config.v0+json`, its first layer the component
//! (`application/wasm`), its second wasync's package document
//! (`application/vnd.wasync.package.v1+json`), whose blob digest is the package digest.
//!
//! A small client of the distribution spec: monolithic blob uploads (POST then PUT
//! `?digest=`), manifests by tag or digest, tag lists. Every pulled byte is checked against
//! its digest. Plain HTTP is used only for a loopback registry.

use super::archive::{Package, sha256};
use super::manifest::check_name;
use anyhow::{Context, anyhow, bail};
use reqwest::blocking::{Client, Response};
use reqwest::{StatusCode, Url, header};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::time::Duration;

/// The OCI image manifest's media type.
pub const MANIFEST_TYPE: &str = "application/vnd.oci.image.manifest.v1+json";
/// The config's media type in wasm-pkg-tools' convention.
pub const CONFIG_TYPE: &str = "application/vnd.wasm.config.v0+json";
/// The component layer's media type.
pub const WASM_TYPE: &str = "application/wasm";
/// The package document layer's media type.
pub const DOCUMENT_TYPE: &str = "application/vnd.wasync.package.v1+json";
/// The annotation that carries the package digest.
pub const DIGEST_ANNOTATION: &str = "dev.wasync.package.digest";

/// The environment variable naming the default registry.
pub const REGISTRY_ENV: &str = "WASYNC_REGISTRY";

/// How long one request may take: a component is a few MiB at most.
const TIMEOUT: Duration = Duration::from_secs(120);

/// A blob or config reference in a manifest.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Descriptor {
    /// Its media type.
    pub media_type: String,
    /// `sha256:<hex>`.
    pub digest: String,
    /// Bytes.
    pub size: u64,
}

/// An OCI image manifest, as much of it as packages use.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImageManifest {
    /// Always 2.
    pub schema_version: u32,
    /// [`MANIFEST_TYPE`].
    #[serde(default)]
    pub media_type: Option<String>,
    /// The config blob.
    pub config: Descriptor,
    /// The layers.
    pub layers: Vec<Descriptor>,
    /// Annotations.
    #[serde(default)]
    pub annotations: BTreeMap<String, String>,
}

/// A registry at `host[:port]`.
pub struct Registry {
    base: Url,
    client: Client,
}

impl Registry {
    /// `host[:port]` (or an `http://`/`https://` URL). HTTPS unless the host is loopback.
    pub fn new(host: &str) -> anyhow::Result<Registry> {
        let text = if host.contains("://") {
            host.to_owned()
        } else {
            let hostname = host.rsplit_once(':').map_or(host, |(h, _)| h);
            let scheme = if is_loopback(hostname) {
                "http"
            } else {
                "https"
            };
            format!("{scheme}://{host}")
        };
        let base = Url::parse(&text).with_context(|| format!("registry `{host}` is not a host"))?;
        let loopback = base.host_str().is_some_and(is_loopback);
        if base.scheme() == "http" && !loopback {
            bail!("registry `{host}`: plain HTTP is used only for a registry on this machine");
        }
        if !matches!(base.scheme(), "http" | "https") {
            bail!("registry `{host}`: only http and https");
        }
        let client = Client::builder()
            .timeout(TIMEOUT)
            .build()
            .context("cannot make an HTTP client")?;
        Ok(Registry { base, client })
    }

    /// `host:port` as people write it.
    pub fn host(&self) -> String {
        let host = self.base.host_str().unwrap_or_default();
        match self.base.port() {
            Some(port) => format!("{host}:{port}"),
            None => host.to_owned(),
        }
    }

    fn url(&self, path: &str) -> anyhow::Result<Url> {
        self.base
            .join(path)
            .with_context(|| format!("bad registry path {path}"))
    }

    /// Uploads `bytes` unless the registry has them; returns their digest.
    pub fn push_blob(&self, repo: &str, bytes: &[u8]) -> anyhow::Result<String> {
        let digest = sha256(bytes);
        let head = self
            .client
            .head(self.url(&format!("/v2/{repo}/blobs/{digest}"))?)
            .send()
            .with_context(|| self.unreachable())?;
        if head.status().is_success() {
            return Ok(digest);
        }
        let started = self
            .client
            .post(self.url(&format!("/v2/{repo}/blobs/uploads/"))?)
            .send()
            .with_context(|| self.unreachable())?;
        let started = expect(started, StatusCode::ACCEPTED, "starting a blob upload")?;
        let location = started
            .headers()
            .get(header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| anyhow!("registry {}: upload has no Location", self.host()))?;
        let mut url = self.url(location)?;
        url.query_pairs_mut().append_pair("digest", &digest);
        let put = self
            .client
            .put(url)
            .header(header::CONTENT_TYPE, "application/octet-stream")
            .body(bytes.to_vec())
            .send()
            .with_context(|| self.unreachable())?;
        expect(put, StatusCode::CREATED, "uploading a blob")?;
        Ok(digest)
    }

    /// Puts `manifest` at `repo:tag`; returns the manifest's digest.
    pub fn put_manifest(&self, repo: &str, tag: &str, manifest: &[u8]) -> anyhow::Result<String> {
        let put = self
            .client
            .put(self.url(&format!("/v2/{repo}/manifests/{tag}"))?)
            .header(header::CONTENT_TYPE, MANIFEST_TYPE)
            .body(manifest.to_vec())
            .send()
            .with_context(|| self.unreachable())?;
        expect(put, StatusCode::CREATED, "putting the manifest")?;
        Ok(sha256(manifest))
    }

    /// The manifest at `repo:reference` (a tag or a digest) and its digest; `None` if there
    /// is none. A digest reference is checked against the bytes.
    pub fn manifest(
        &self,
        repo: &str,
        reference: &str,
    ) -> anyhow::Result<Option<(ImageManifest, String)>> {
        let response = self
            .client
            .get(self.url(&format!("/v2/{repo}/manifests/{reference}"))?)
            .header(header::ACCEPT, MANIFEST_TYPE)
            .send()
            .with_context(|| self.unreachable())?;
        if response.status() == StatusCode::NOT_FOUND {
            return Ok(None);
        }
        let response = expect(response, StatusCode::OK, "getting the manifest")?;
        let claimed = response
            .headers()
            .get("docker-content-digest")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let bytes = response.bytes().context("reading the manifest")?;
        let digest = sha256(&bytes);
        let expected = if reference.starts_with("sha256:") {
            Some(reference.to_owned())
        } else {
            claimed
        };
        if let Some(expected) = expected
            && expected != digest
        {
            bail!(
                "registry {}: the manifest of {repo}:{reference} has digest {digest}, not {expected}: refused",
                self.host()
            );
        }
        let manifest = serde_json::from_slice(&bytes).with_context(|| {
            format!(
                "registry {}: {repo}:{reference} is not an OCI image manifest",
                self.host()
            )
        })?;
        Ok(Some((manifest, digest)))
    }

    /// The blob `digest` of `repo`, refused unless its bytes have that digest and size.
    pub fn blob(&self, repo: &str, descriptor: &Descriptor) -> anyhow::Result<Vec<u8>> {
        let response = self
            .client
            .get(self.url(&format!("/v2/{repo}/blobs/{}", descriptor.digest))?)
            .send()
            .with_context(|| self.unreachable())?;
        let response = expect(response, StatusCode::OK, "getting a blob")?;
        let bytes = response.bytes().context("reading a blob")?.to_vec();
        let found = sha256(&bytes);
        if found != descriptor.digest || bytes.len() as u64 != descriptor.size {
            bail!(
                "registry {}: blob {} of {repo} ({}) came back with digest {found} and {} bytes: tampered or corrupted, refused",
                self.host(),
                descriptor.digest,
                descriptor.media_type,
                bytes.len()
            );
        }
        Ok(bytes)
    }

    /// The tags of `repo` (none if it does not exist).
    pub fn tags(&self, repo: &str) -> anyhow::Result<Vec<String>> {
        #[derive(Deserialize)]
        struct Tags {
            tags: Option<Vec<String>>,
        }
        let response = self
            .client
            .get(self.url(&format!("/v2/{repo}/tags/list"))?)
            .send()
            .with_context(|| self.unreachable())?;
        if response.status() == StatusCode::NOT_FOUND {
            return Ok(Vec::new());
        }
        let tags: Tags = expect(response, StatusCode::OK, "listing tags")?
            .json()
            .context("reading the tag list")?;
        Ok(tags.tags.unwrap_or_default())
    }

    fn unreachable(&self) -> String {
        format!("cannot reach registry {}", self.base)
    }
}

fn is_loopback(host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host == "localhost"
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

fn expect(response: Response, status: StatusCode, doing: &str) -> anyhow::Result<Response> {
    if response.status() == status || (status.is_success() && response.status().is_success()) {
        return Ok(response);
    }
    let got = response.status();
    let url = response.url().clone();
    let body = response.text().unwrap_or_default();
    bail!(
        "registry refused {doing} ({got} from {}): {}",
        url.path(),
        body.trim()
    )
}

/// `namespace:name` → repository `namespace/name`.
pub fn repository(name: &str) -> anyhow::Result<String> {
    check_name(name).map_err(|e| anyhow!("`{name}`: {e}"))?;
    Ok(name.replacen(':', "/", 1))
}

/// Pushes `package` as `name:version`; returns the OCI manifest's digest. Refuses to move
/// a tag that already holds a different package unless `force`.
pub fn publish(registry: &Registry, package: &Package, force: bool) -> anyhow::Result<String> {
    let m = &package.manifest;
    let repo = repository(&m.name)?;
    if let Some((existing, _)) = registry.manifest(&repo, &m.version)? {
        let digest = existing.annotations.get(DIGEST_ANNOTATION);
        if digest == Some(&package.digest) {
            // Same package: pushing again is harmless, and makes sure every blob is there.
        } else if !force {
            bail!(
                "{} is already published on {} with a different package ({}); a published version must not change: bump `version` (or pass --force)",
                m.reference(),
                registry.host(),
                digest.map_or("no wasync digest", String::as_str)
            );
        }
    }
    let component = registry.push_blob(&repo, &package.component)?;
    let document = registry.push_blob(&repo, &package.document)?;
    let config = serde_json::to_vec(&serde_json::json!({
        "architecture": "wasm",
        "os": "wasip2",
        "layerDigests": [component],
    }))?;
    let config_digest = registry.push_blob(&repo, &config)?;
    let manifest = ImageManifest {
        schema_version: 2,
        media_type: Some(MANIFEST_TYPE.into()),
        config: descriptor(CONFIG_TYPE, config_digest, config.len()),
        layers: vec![
            descriptor(WASM_TYPE, component, package.component.len()),
            descriptor(DOCUMENT_TYPE, document, package.document.len()),
        ],
        annotations: BTreeMap::from([
            ("org.opencontainers.image.title".into(), m.name.clone()),
            ("org.opencontainers.image.version".into(), m.version.clone()),
            (
                "org.opencontainers.image.description".into(),
                m.description.clone(),
            ),
            (DIGEST_ANNOTATION.into(), package.digest.clone()),
        ]),
    };
    registry.put_manifest(&repo, &m.version, &serde_json::to_vec(&manifest)?)
}

fn descriptor(media_type: &str, digest: String, size: usize) -> Descriptor {
    Descriptor {
        media_type: media_type.into(),
        digest,
        size: size as u64,
    }
}

/// Pulls `name` at `version` (the highest semantic-version tag when `None`); returns the
/// package, every blob checked, and the source to record (`oci://HOST/REPO:TAG`).
pub fn pull(
    registry: &Registry,
    name: &str,
    version: Option<&str>,
) -> anyhow::Result<(Package, String)> {
    let repo = repository(name)?;
    let tag = match version {
        Some(v) => v.to_owned(),
        None => latest(&registry.tags(&repo)?).ok_or_else(|| {
            anyhow!(
                "registry {} has no version of {name} (repository {repo})",
                registry.host()
            )
        })?,
    };
    let source = format!("oci://{}/{repo}:{tag}", registry.host());
    let (manifest, _) = registry
        .manifest(&repo, &tag)?
        .ok_or_else(|| anyhow!("registry {} has no {name}@{tag}", registry.host()))?;
    let layer = |media_type: &str| {
        manifest
            .layers
            .iter()
            .find(|l| l.media_type == media_type)
            .ok_or_else(|| anyhow!("{source} has no {media_type} layer: not a wasync package"))
    };
    let component = registry.blob(&repo, layer(WASM_TYPE)?)?;
    let document = registry.blob(&repo, layer(DOCUMENT_TYPE)?)?;
    let package = Package::from_parts(document, component, &source)?;
    if let Some(annotated) = manifest.annotations.get(DIGEST_ANNOTATION) {
        package.expect_digest(annotated, &source)?;
    }
    if package.manifest.name != name || package.manifest.version != tag {
        bail!(
            "{source} holds {}, not {name}@{tag}: refused",
            package.manifest.reference()
        );
    }
    Ok((package, source))
}

/// The highest tag that is a semantic version (pre-releases only if nothing else).
fn latest(tags: &[String]) -> Option<String> {
    let mut versions: Vec<semver::Version> = tags
        .iter()
        .filter_map(|t| semver::Version::parse(t).ok())
        .collect();
    versions.sort_by_key(|v| (v.pre.is_empty(), v.clone()));
    versions.last().map(ToString::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_http_only_on_loopback() {
        assert_eq!(
            Registry::new("127.0.0.1:5000").expect("ok").base.scheme(),
            "http"
        );
        assert_eq!(Registry::new("ghcr.io").expect("ok").base.scheme(), "https");
        assert!(Registry::new("http://ghcr.io").is_err());
    }

    #[test]
    fn the_latest_tag_is_the_highest_release() {
        let tags = ["1.2.0", "1.10.0", "latest", "2.0.0-rc.1"].map(String::from);
        assert_eq!(latest(&tags).as_deref(), Some("1.10.0"));
        assert_eq!(latest(&[]), None);
    }
}
