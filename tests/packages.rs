//! Plugin packages end to end: the real `wasync` binary builds, publishes, installs and runs
//! packages made of real first-party components, against a real OCI registry
//! (`docker-registry`) on 127.0.0.1 started by the test itself. What is refused is in
//! `package_refusals.rs`.

#[path = "support/cli.rs"]
mod cli;
#[path = "support/packages.rs"]
mod kit;
#[path = "support/registry.rs"]
mod registry;
#[path = "support/service.rs"]
mod service;

use kit::*;
use registry::Registry;

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
    assert!(
        listed.contains("verified"),
        "the digest is checked: {listed}"
    );

    // The installed package runs by name in `plugin call` and shows in `plugin inspect`:
    // through the lock file beside the pipeline file named, or in the current folder.
    let input = "\"jane@Mail.Example.co.uk\"\n";
    let called = ok_with_input(
        d,
        &["plugin", "call", "acme:domain", "--pipeline-file", config],
        input,
    );
    assert_eq!(called, "{\"ok\":\"example.co.uk\"}\n");
    let called = ok_with_input(&d.join("app"), &["plugin", "call", "acme:domain"], input);
    assert_eq!(called, "{\"ok\":\"example.co.uk\"}\n");
    let inspected = ok(
        d,
        &[
            "plugin",
            "inspect",
            "acme:domain",
            "--pipeline-file",
            config,
        ],
    );
    assert!(
        inspected.contains("world:    wasync:plugin/field-transform")
            && inspected.contains("version:  1.0.0"),
        "{inspected}"
    );
    let refused = fails(d, &["plugin", "call", "acme:domain"]);
    assert!(
        refused.contains("package `acme:domain` is not installed")
            && refused.contains("--pipeline-file"),
        "{refused}"
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
    build_and_publish(d, &folder, "domain.wasync", &registry.host);

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
