//! What a package may not do, end to end with the real `wasync` binary and a real OCI
//! registry on 127.0.0.1: tampered files, a registry serving other bytes, capabilities not
//! granted, an incompatible WIT version.

#[path = "support/cli.rs"]
mod cli;
#[path = "support/packages.rs"]
mod kit;
#[path = "support/registry.rs"]
mod registry;

use kit::*;
use registry::Registry;
use wasync::package::{Manifest, Package, manifest::Capabilities};

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
        refused.contains(&format!(
            "the digest asked for does not match: --digest {}, but acme:domain@1.0.0 from file:",
            built.digest
        )) && refused.contains(&format!(
            "has digest {}; nothing is installed",
            other.digest
        )),
        "{refused}"
    );
    assert!(!refused.contains("tampered"), "{refused}");

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
    // `package list` checks the digests as a load does, and says which package fails.
    let listed = fails(d, &["package", "list", "--config", config]);
    assert!(
        listed.contains("acme:domain") && listed.contains("  tampered\n"),
        "{listed}"
    );
    assert!(
        listed.contains("1 installed package(s) fail their digest check and would be refused at load: acme:domain@1.0.0 (tampered)"),
        "{listed}"
    );
}

#[test]
fn a_registry_serving_other_bytes_than_its_digests_is_refused() {
    let registry = Registry::start();
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    let folder = domain_folder(d, "1.0.0", "");
    build_and_publish(d, &folder, "domain.wasync", &registry.host);
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
        world: "wasync:plugin/field-transform@0.3.0".into(),
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
        refused.contains("built for wasync:plugin/field-transform@0.3.0")
            && refused.contains("it serves wasync:plugin@0.2.0 and @0.1.0"),
        "{refused}"
    );
    assert!(!d.join("app/wasync.lock").exists(), "nothing is installed");

    // Building one is refused the same way.
    let folder = domain_folder(d, "2.0.0", "");
    let manifest = folder.join("wasync-package.toml");
    let text = std::fs::read_to_string(&manifest).expect("read");
    std::fs::write(&manifest, text.replace("@0.2.0", "@0.3.0")).expect("write");
    let refused = fails(d, &["package", "build", folder.to_str().expect("utf-8")]);
    assert!(
        refused.contains("it serves wasync:plugin@0.2.0 and @0.1.0"),
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
            "says it is an entity-function, but its component implements the field-transform world"
        ),
        "{refused}"
    );
}
