//! Plugin packages end to end: the real `wasync` binary builds, publishes, installs and runs
//! packages made of real first-party components, against a real OCI registry
//! (`docker-registry`) on 127.0.0.1 started by the test itself.

#[path = "support/registry.rs"]
mod registry;
#[path = "support/service.rs"]
mod service;

use registry::Registry;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use wasync::package::{Manifest, Package, manifest::Capabilities};

/// Runs `wasync ARGS` in `dir` with the tests' compile cache.
fn wasync(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_wasync"))
        .args(args)
        .current_dir(dir)
        .env(
            "WASYNC_CACHE_DIR",
            PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("package-components"),
        )
        .env_remove("WASYNC_REGISTRY")
        .output()
        .expect("wasync runs")
}

fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// Runs `wasync ARGS` and expects success; returns what it printed.
fn ok(dir: &Path, args: &[&str]) -> String {
    let out = wasync(dir, args);
    assert!(
        out.status.success(),
        "wasync {args:?} failed:\n{}",
        text(&out)
    );
    text(&out)
}

/// Runs `wasync ARGS` and expects failure; returns what it printed.
fn fails(dir: &Path, args: &[&str]) -> String {
    let out = wasync(dir, args);
    assert!(
        !out.status.success(),
        "wasync {args:?} succeeded:\n{}",
        text(&out)
    );
    text(&out)
}

fn builtin(name: &str) -> &'static [u8] {
    wasync::plugin::builtin::find(name).expect("a first-party plugin")
}

/// A package folder: `extract-domain` as `acme:domain@VERSION`, with `extra` manifest lines.
fn domain_folder(dir: &Path, version: &str, extra: &str) -> PathBuf {
    let folder = dir.join(format!("domain-{version}"));
    std::fs::create_dir_all(&folder).expect("mkdir");
    std::fs::write(
        folder.join("extract_domain.wasm"),
        builtin("extract-domain"),
    )
    .expect("write");
    std::fs::write(
        folder.join("wasync-package.toml"),
        format!(
            "name = \"acme:domain\"\nversion = \"{version}\"\nkind = \"field-transform\"\nworld = \"wasync:plugin/field-transform@0.1.0\"\ndescription = \"Registrable domain of a URL, host or e-mail\"\ncomponent = \"extract_domain.wasm\"\n{extra}"
        ),
    )
    .expect("write the manifest");
    folder
}

/// A pipeline file in `dir/app` reading people from `in/` into `out/`, their domain through
/// plugin `transform`; `in/people.jsonl` holds two people.
fn people_pipeline(dir: &Path, transform: &str) -> PathBuf {
    let app = dir.join("app");
    std::fs::create_dir_all(app.join("in")).expect("mkdir");
    std::fs::create_dir_all(app.join("out")).expect("mkdir");
    std::fs::write(
        app.join("in/people.jsonl"),
        "{\"id\": \"1\", \"at\": \"2024-01-01T00:00:00Z\", \"email\": \"jane@Mail.Example.co.uk\"}\n{\"id\": \"2\", \"at\": \"2024-01-02T00:00:00Z\", \"email\": \"https://www.wasync.dev/x\"}\n",
    )
    .expect("write input");
    let config = app.join("wasync.toml");
    std::fs::write(
        &config,
        format!(
            r#"
[connectors.in]
plugin = "jsonl"
dirs = [{{ host = "in", guest = "/data" }}]
settings.entities.Person = {{ file = "people.jsonl", id_field = "id", watermark_field = "at" }}

[connectors.out]
plugin = "jsonl"
dirs = [{{ host = "out", guest = "/data" }}]
settings.entities.Person = {{ file = "people.jsonl", id_field = "id", watermark_field = "at", upsert_key = "wasync_id" }}

[[pipeline]]
name = "people"
entity = "Person"

[[pipeline.source]]
connector = "in"
entity = "Person"
fields = {{ email = "email", domain = {{ from = "email", transforms = [{transform}] }} }}

[[pipeline.destination]]
connector = "out"
entity = "Person"
external_id_field = "wasync_id"
fields = {{ email = "email", domain = "domain" }}
"#
        ),
    )
    .expect("write the pipeline file");
    config
}

/// The `domain` of every line of `app/out/people.jsonl`, sorted.
fn domains(dir: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(dir.join("app/out/people.jsonl")).unwrap_or_default();
    let mut found: Vec<String> = text
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).expect("a JSON line");
            v["domain"].as_str().unwrap_or("(none)").to_owned()
        })
        .collect();
    found.sort();
    found
}

fn lock(dir: &Path) -> String {
    std::fs::read_to_string(dir.join("app/wasync.lock")).unwrap_or_default()
}

/// The digest `build` printed: `built NAME@VERSION (KIND) sha256:…`.
fn built_digest(printed: &str) -> String {
    printed
        .split_whitespace()
        .find(|w| w.starts_with("sha256:"))
        .expect("build prints the digest")
        .to_owned()
}

#[test]
fn a_package_built_published_and_installed_by_name_runs_in_a_pipeline() {
    let registry = Registry::start();
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    let folder = domain_folder(d, "1.0.0", "config = {}\n");
    let built = ok(
        d,
        &[
            "package",
            "build",
            folder.to_str().expect("utf-8"),
            "--out",
            "domain.wasync",
        ],
    );
    let digest = built_digest(&built);

    let published = ok(
        d,
        &[
            "package",
            "publish",
            "domain.wasync",
            "--registry",
            &registry.host,
        ],
    );
    assert!(
        published.contains(&format!("{}/acme/domain:1.0.0", registry.host)),
        "{published}"
    );
    let inspected = ok(
        d,
        &[
            "package",
            "inspect",
            "acme:domain@1.0.0",
            "--registry",
            &registry.host,
        ],
    );
    assert!(inspected.contains(&digest), "{inspected}");

    // Before install the name means nothing, and the error says how to install it.
    let config = people_pipeline(d, r#"{ plugin = "acme:domain" }"#);
    let config = config.to_str().expect("utf-8");
    let refused = fails(d, &["sync", "--config", config, "--once"]);
    assert!(
        refused.contains("package `acme:domain` is not installed"),
        "{refused}"
    );

    // By name alone: the registry's latest version.
    let installed = ok(
        d,
        &[
            "package",
            "install",
            "acme:domain",
            "--registry",
            &registry.host,
            "--config",
            config,
        ],
    );
    assert!(
        installed.contains("installed acme:domain@1.0.0 (field-transform)"),
        "{installed}"
    );
    assert!(
        installed.contains(&format!("oci://{}/acme/domain:1.0.0", registry.host)),
        "{installed}"
    );
    assert!(
        lock(d).contains(&format!("digest = \"{digest}\"")),
        "{}",
        lock(d)
    );
    let listed = ok(d, &["package", "list", "--config", config]);
    assert!(
        listed.contains("acme:domain") && listed.contains(&digest),
        "{listed}"
    );

    let ran = ok(d, &["sync", "--config", config, "--once"]);
    assert!(ran.contains("written 2"), "{ran}");
    assert_eq!(domains(d), ["example.co.uk", "wasync.dev"]);

    // The manifest declares no configuration keys: a use that sets one is refused by name.
    people_pipeline(
        d,
        r#"{ plugin = "acme:domain@1.0.0", config = { lowercase = true } }"#,
    );
    let refused = fails(d, &["sync", "--config", config, "--once"]);
    assert!(
        refused.contains("package acme:domain@1.0.0: unknown key `lowercase`"),
        "{refused}"
    );
}

#[test]
fn tampered_package_files_and_tampered_installed_components_are_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    let folder = domain_folder(d, "1.0.0", "");
    ok(
        d,
        &[
            "package",
            "build",
            folder.to_str().expect("utf-8"),
            "--out",
            "domain.wasync",
        ],
    );
    let config = people_pipeline(d, r#"{ plugin = "acme:domain" }"#);
    let config = config.to_str().expect("utf-8");

    // One byte of the component changed in the package file.
    let good = std::fs::read(d.join("domain.wasync")).expect("read");
    let mut bad = good.clone();
    let last = bad.len() - 100;
    bad[last] ^= 0x55;
    std::fs::write(d.join("bad.wasync"), &bad).expect("write");
    let refused = fails(d, &["package", "install", "bad.wasync", "--config", config]);
    assert!(
        refused.contains("has been tampered with or corrupted"),
        "{refused}"
    );
    assert!(!d.join("app/wasync.lock").exists(), "nothing is installed");

    // The manifest changed (and the header too, so the file agrees with itself): only a
    // pinned digest can tell, and it does.
    let built = Package::read_file(&d.join("domain.wasync")).expect("reads");
    let mut manifest = built.manifest.clone();
    manifest.description = "now with telemetry".into();
    let other = Package::new(manifest, built.component.clone());
    std::fs::write(d.join("other.wasync"), other.to_file_bytes()).expect("write");
    let refused = fails(
        d,
        &[
            "package",
            "install",
            "other.wasync",
            "--digest",
            &built.digest,
            "--config",
            config,
        ],
    );
    assert!(
        refused.contains(&format!("but {} was expected", built.digest)),
        "{refused}"
    );

    // Installed, then the component on disk is changed: the next load refuses it.
    ok(
        d,
        &[
            "package",
            "install",
            "domain.wasync",
            "--digest",
            &built.digest,
            "--config",
            config,
        ],
    );
    let component = std::fs::read_dir(d.join("app/.wasync/packages"))
        .expect("installed")
        .next()
        .expect("one package")
        .expect("entry")
        .path()
        .join("component.wasm");
    let mut bytes = std::fs::read(&component).expect("read");
    let at = bytes.len() - 100;
    bytes[at] ^= 0x55;
    std::fs::write(&component, bytes).expect("write");
    let refused = fails(d, &["sync", "--config", config, "--once"]);
    assert!(
        refused.contains("the component of acme:domain@1.0.0") && refused.contains("tampered"),
        "{refused}"
    );
    assert_eq!(domains(d), Vec::<String>::new(), "nothing ran");
}

#[test]
fn a_registry_serving_other_bytes_than_its_digests_is_refused() {
    let registry = Registry::start();
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    let folder = domain_folder(d, "1.0.0", "");
    ok(
        d,
        &[
            "package",
            "build",
            folder.to_str().expect("utf-8"),
            "--out",
            "domain.wasync",
        ],
    );
    ok(
        d,
        &[
            "package",
            "publish",
            "domain.wasync",
            "--registry",
            &registry.host,
        ],
    );
    let config = people_pipeline(d, r#"{ plugin = "acme:domain" }"#);
    let config = config.to_str().expect("utf-8");

    // The component blob is changed in the registry's storage, same size.
    let package = Package::read_file(&d.join("domain.wasync")).expect("reads");
    let blob = registry.blob_file(&wasync::package::archive::sha256(&package.component));
    let mut bytes = std::fs::read(&blob).expect("the registry stores the blob");
    let at = bytes.len() / 2;
    bytes[at] ^= 0x55;
    std::fs::write(&blob, bytes).expect("write");

    let refused = fails(
        d,
        &[
            "package",
            "install",
            "acme:domain@1.0.0",
            "--registry",
            &registry.host,
            "--config",
            config,
        ],
    );
    assert!(
        refused.contains("tampered or corrupted, refused"),
        "{refused}"
    );
    assert!(!d.join("app/wasync.lock").exists(), "nothing is installed");
}

/// A package folder: the `jsonl` connector as `acme:files`, asking for `/data` and `host`.
fn files_folder(dir: &Path, host: &str) -> PathBuf {
    let folder = dir.join("files");
    std::fs::create_dir_all(&folder).expect("mkdir");
    std::fs::write(folder.join("jsonl.wasm"), builtin("jsonl")).expect("write");
    std::fs::write(
        folder.join("wasync-package.toml"),
        format!(
            r#"name = "acme:files"
version = "0.3.0"
kind = "connector"
world = "wasync:plugin/connector@0.1.0"
component = "jsonl.wasm"
capabilities = {{ hosts = ["{host}"], dirs = ["/data"], memory_mib = 64 }}
config.entities = {{ type = "object", required = true, description = "per entity: file, id_field, watermark_field" }}
config.dir = {{ type = "string" }}
"#
        ),
    )
    .expect("write the manifest");
    folder
}

#[test]
fn a_connector_package_runs_only_where_its_host_and_directory_are_granted() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    let folder = files_folder(d, "api.example.com");
    let config = people_pipeline(d, r#"{ plugin = "extract-domain" }"#);
    let config_text = std::fs::read_to_string(&config).expect("read");
    let config = config.to_str().expect("utf-8");

    // Install from the folder: it says what it asks for and the lines that grant it.
    let installed = ok(
        d,
        &[
            "package",
            "install",
            folder.to_str().expect("utf-8"),
            "--config",
            config,
        ],
    );
    assert!(installed.contains("hosts:  api.example.com"), "{installed}");
    assert!(
        installed.contains("[connectors.NAME.http]")
            && installed.contains("hosts = [\"api.example.com\"]"),
        "{installed}"
    );
    assert!(installed.contains("guest = \"/data\""), "{installed}");

    // The `in` connector becomes the package: directory granted, network not.
    let with_package = config_text.replacen(
        "[connectors.in]\nplugin = \"jsonl\"",
        "[connectors.in]\nplugin = \"acme:files\"",
        1,
    );
    std::fs::write(config, &with_package).expect("write");
    let refused = fails(d, &["sync", "--config", config, "--once"]);
    assert!(
        refused.contains(
            "package acme:files@0.3.0 asks for host `api.example.com`, which is not granted"
        ),
        "{refused}"
    );
    assert!(refused.contains("connector `in`"), "{refused}");

    // Granting another host is not granting this one.
    let other_host = with_package.replacen(
        "[connectors.out]",
        "[connectors.in.http]\nhosts = [\"api.example.org\"]\n\n[connectors.out]",
        1,
    );
    std::fs::write(config, &other_host).expect("write");
    let refused = fails(d, &["sync", "--config", config, "--once"]);
    assert!(
        refused.contains("add it to `hosts` in [connectors.in.http]"),
        "{refused}"
    );

    // Memory: asking for more than the plugins' limit is refused, naming the flag.
    std::fs::write(
        config,
        other_host.replace("api.example.org", "api.example.com"),
    )
    .expect("write");
    let refused = fails(
        d,
        &["sync", "--config", config, "--once", "--memory-mib", "32"],
    );
    assert!(
        refused.contains("asks for 64 MiB of memory") && refused.contains("--memory-mib 64"),
        "{refused}"
    );

    // Everything granted: it runs as the connector.
    let ran = ok(d, &["sync", "--config", config, "--once"]);
    assert!(ran.contains("written 2"), "{ran}");
    assert_eq!(domains(d), ["example.co.uk", "wasync.dev"]);

    // Its directory must be granted too.
    std::fs::write(
        config,
        other_host
            .replace("api.example.org", "api.example.com")
            .replacen("guest = \"/data\" }]\nsettings.entities.Person = { file = \"people.jsonl\", id_field = \"id\", watermark_field = \"at\" }", "guest = \"/in\" }]\nsettings.entities.Person = { file = \"people.jsonl\", id_field = \"id\", watermark_field = \"at\" }", 1),
    )
    .expect("write");
    let refused = fails(d, &["sync", "--config", config, "--once"]);
    assert!(
        refused.contains("asks for directory `/data`, which is not granted"),
        "{refused}"
    );
}

#[test]
fn a_package_for_an_incompatible_wit_version_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    let config = people_pipeline(d, r#"{ plugin = "acme:domain" }"#);
    let config = config.to_str().expect("utf-8");
    // What a future wasync would build against wasync:plugin@0.2.0.
    let manifest = Manifest {
        name: "acme:domain".into(),
        version: "2.0.0".into(),
        kind: "field-transform".into(),
        world: "wasync:plugin/field-transform@0.2.0".into(),
        description: String::new(),
        capabilities: Capabilities::default(),
        config: None,
    };
    let package = Package::new(manifest, builtin("extract-domain").to_vec());
    std::fs::write(d.join("future.wasync"), package.to_file_bytes()).expect("write");
    let refused = fails(
        d,
        &["package", "install", "future.wasync", "--config", config],
    );
    assert!(
        refused.contains("built for wasync:plugin/field-transform@0.2.0")
            && refused.contains("it speaks wasync:plugin@0.1.0"),
        "{refused}"
    );
    assert!(!d.join("app/wasync.lock").exists(), "nothing is installed");

    // Building one is refused the same way.
    let folder = domain_folder(d, "2.0.0", "");
    let manifest = folder.join("wasync-package.toml");
    let text = std::fs::read_to_string(&manifest).expect("read");
    std::fs::write(&manifest, text.replace("@0.1.0", "@0.2.0")).expect("write");
    let refused = fails(d, &["package", "build", folder.to_str().expect("utf-8")]);
    assert!(
        refused.contains("it speaks wasync:plugin@0.1.0"),
        "{refused}"
    );

    // And a manifest that lies about its kind.
    std::fs::write(
        &manifest,
        text.replace("field-transform", "entity-function"),
    )
    .expect("write");
    let refused = fails(d, &["package", "build", folder.to_str().expect("utf-8")]);
    assert!(
        refused.contains(
            "says it is a entity-function, but its component implements the field-transform world"
        ),
        "{refused}"
    );
}

#[test]
fn a_version_republished_with_other_contents_is_refused_unless_asked_for() {
    let registry = Registry::start();
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    let config = people_pipeline(d, r#"{ plugin = "acme:domain" }"#);
    let config = config.to_str().expect("utf-8");
    let first = domain_folder(d, "1.0.0", "");
    let first_digest = built_digest(&ok(
        d,
        &[
            "package",
            "build",
            first.to_str().expect("utf-8"),
            "--out",
            "a.wasync",
        ],
    ));
    ok(
        d,
        &[
            "package",
            "publish",
            "a.wasync",
            "--registry",
            &registry.host,
        ],
    );
    ok(
        d,
        &[
            "package",
            "install",
            "acme:domain@1.0.0",
            "--registry",
            &registry.host,
            "--config",
            config,
        ],
    );

    // Same name and version, other contents (the description changed).
    let second = d.join("second");
    std::fs::create_dir_all(&second).expect("mkdir");
    std::fs::copy(
        first.join("extract_domain.wasm"),
        second.join("extract_domain.wasm"),
    )
    .expect("copy");
    let manifest = std::fs::read_to_string(first.join("wasync-package.toml")).expect("read");
    std::fs::write(
        second.join("wasync-package.toml"),
        manifest.replace("Registrable", "The registrable"),
    )
    .expect("write");
    let second_digest = built_digest(&ok(
        d,
        &[
            "package",
            "build",
            second.to_str().expect("utf-8"),
            "--out",
            "b.wasync",
        ],
    ));
    assert_ne!(first_digest, second_digest);

    let refused = fails(
        d,
        &[
            "package",
            "publish",
            "b.wasync",
            "--registry",
            &registry.host,
        ],
    );
    assert!(
        refused.contains("acme:domain@1.0.0 is already published")
            && refused.contains("bump `version`"),
        "{refused}"
    );
    let refused = fails(d, &["package", "install", "b.wasync", "--config", config]);
    assert!(
        refused.contains(&format!("already installed with digest {first_digest}"))
            && refused.contains(&second_digest),
        "{refused}"
    );
    assert!(
        lock(d).contains(&first_digest),
        "the lock still pins the first: {}",
        lock(d)
    );

    // Forced on the registry, then installed by name: still refused against the lock.
    ok(
        d,
        &[
            "package",
            "publish",
            "b.wasync",
            "--registry",
            &registry.host,
            "--force",
        ],
    );
    let refused = fails(
        d,
        &[
            "package",
            "install",
            "acme:domain@1.0.0",
            "--registry",
            &registry.host,
            "--config",
            config,
        ],
    );
    assert!(
        refused.contains("the same version with other contents is refused"),
        "{refused}"
    );
    ok(
        d,
        &[
            "package",
            "install",
            "acme:domain@1.0.0",
            "--registry",
            &registry.host,
            "--config",
            config,
            "--replace",
        ],
    );
    assert!(lock(d).contains(&second_digest), "{}", lock(d));
    assert!(!lock(d).contains(&first_digest), "{}", lock(d));
    let installed = |digest: &str| {
        d.join("app/.wasync/packages")
            .join(digest.trim_start_matches("sha256:"))
            .is_dir()
    };
    assert!(
        installed(&second_digest) && !installed(&first_digest),
        "the replaced files are gone"
    );
    let ran = ok(d, &["sync", "--config", config, "--once"]);
    assert!(ran.contains("written 2"), "{ran}");
}

#[test]
fn wasync_serve_runs_webhook_events_through_a_package_installed_by_name() {
    let registry = Registry::start();
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    let folder = domain_folder(d, "1.2.0", "");
    ok(
        d,
        &[
            "package",
            "build",
            folder.to_str().expect("utf-8"),
            "--out",
            "domain.wasync",
        ],
    );
    ok(
        d,
        &[
            "package",
            "publish",
            "domain.wasync",
            "--registry",
            &registry.host,
        ],
    );

    std::fs::create_dir_all(d.join("app/out")).expect("mkdir");
    let config = d.join("app/wasync.toml");
    std::fs::write(
        &config,
        r#"
[connectors.events]
plugin = "webhook"
settings.entities.PageView = { kind = "event" }
webhook = { secret_env = "WASYNC_TEST_SECRET" }

[connectors.out]
plugin = "jsonl"
dirs = [{ host = "out", guest = "/data" }]
settings.entities.PageView = { file = "pageviews.jsonl", id_field = "id", watermark_field = "at", kind = "event", upsert_key = "wasync_id" }

[[pipeline]]
name = "pageviews"
entity = "PageView"
schedule = "1h"

[[pipeline.source]]
connector = "events"
entity = "PageView"
fields = { url = "url", site = { from = "url", transforms = [{ plugin = "acme:domain" }] } }

[[pipeline.destination]]
connector = "out"
entity = "PageView"
external_id_field = "wasync_id"
fields = { url = "url", site = "site" }
"#,
    )
    .expect("write the pipeline file");
    let config_arg = config.to_str().expect("utf-8");
    ok(
        d,
        &[
            "package",
            "install",
            "acme:domain",
            "--registry",
            &registry.host,
            "--config",
            config_arg,
        ],
    );

    let service = service::Service::start(&config, &[]);
    let (status, answer) = service.page_view("msg_1", "https://shop.Example.co.uk/pricing");
    assert_eq!(status, 200, "{answer}");
    let out = d.join("app/out/pageviews.jsonl");
    assert!(
        service::eventually(std::time::Duration::from_secs(30), || {
            service::lines(&out)
                .first()
                .is_some_and(|r| r["site"] == "example.co.uk")
        }),
        "the event never arrived through acme:domain: {:?}",
        service::lines(&out)
    );
    assert_eq!(service.terminate().code(), Some(0));
}
