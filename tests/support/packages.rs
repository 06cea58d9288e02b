//! Helpers for the package tests: the `wasync` binary in a folder, package folders made of
//! first-party components, and a pipeline of people whose domain a transform computes.
//! Runs the binary through `support/cli.rs`, which the test crate includes as `mod cli`.

#![allow(dead_code)] // each test file uses its own part of it

use std::path::{Path, PathBuf};
use std::process::Output;

/// Runs `wasync ARGS` in `dir`.
pub fn wasync(dir: &Path, args: &[&str]) -> Output {
    crate::cli::wasync()
        .args(args)
        .current_dir(dir)
        .output()
        .expect("wasync runs")
}

/// Runs `wasync ARGS` in `dir` with `input` on stdin; expects success, returns stdout.
pub fn ok_with_input(dir: &Path, args: &[&str], input: &str) -> String {
    use std::io::Write;
    use std::process::Stdio;
    let mut child = crate::cli::wasync()
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("wasync runs");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(input.as_bytes())
        .expect("write stdin");
    let out = child.wait_with_output().expect("wasync finishes");
    assert!(
        out.status.success(),
        "wasync {args:?} failed:\n{}",
        text(&out)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

pub fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// Runs `wasync ARGS` and expects success; returns what it printed.
pub fn ok(dir: &Path, args: &[&str]) -> String {
    let out = wasync(dir, args);
    assert!(
        out.status.success(),
        "wasync {args:?} failed:\n{}",
        text(&out)
    );
    text(&out)
}

/// Runs `wasync ARGS` and expects failure; returns what it printed.
pub fn fails(dir: &Path, args: &[&str]) -> String {
    let out = wasync(dir, args);
    assert!(
        !out.status.success(),
        "wasync {args:?} succeeded:\n{}",
        text(&out)
    );
    text(&out)
}

pub fn builtin(name: &str) -> &'static [u8] {
    wasync::plugin::builtin::find(name).expect("a first-party plugin")
}

/// Builds the package in `folder` into `out` (in `dir`) and publishes it to `registry`;
/// returns what `build` printed.
pub fn build_and_publish(dir: &Path, folder: &Path, out: &str, registry: &str) -> String {
    let folder = folder.to_str().expect("utf-8");
    let built = ok(dir, &["package", "build", folder, "--out", out]);
    ok(dir, &["package", "publish", out, "--registry", registry]);
    built
}

/// A package folder: `extract-domain` as `acme:domain@VERSION`, with `extra` manifest lines.
pub fn domain_folder(dir: &Path, version: &str, extra: &str) -> PathBuf {
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
            "name = \"acme:domain\"\nversion = \"{version}\"\nkind = \"field-transform\"\nworld = \"wasync:plugin/field-transform@0.2.0\"\ndescription = \"Registrable domain of a URL, host or e-mail\"\ncomponent = \"extract_domain.wasm\"\n{extra}"
        ),
    )
    .expect("write the manifest");
    folder
}

/// A pipeline file in `dir/app` reading people from `in/` into `out/`, their domain through
/// plugin `transform`; `in/people.jsonl` holds two people.
pub fn people_pipeline(dir: &Path, transform: &str) -> PathBuf {
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
pub fn domains(dir: &Path) -> Vec<String> {
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

pub fn lock(dir: &Path) -> String {
    std::fs::read_to_string(dir.join("app/wasync.lock")).unwrap_or_default()
}

/// The digest `build` printed: `built NAME@VERSION (KIND) sha256:…`.
pub fn built_digest(printed: &str) -> String {
    printed
        .split_whitespace()
        .find(|w| w.starts_with("sha256:"))
        .expect("build prints the digest")
        .to_owned()
}

/// A package folder: the `jsonl` connector as `acme:files`, asking for `/data` and `host`.
pub fn files_folder(dir: &Path, host: &str) -> PathBuf {
    let folder = dir.join("files");
    std::fs::create_dir_all(&folder).expect("mkdir");
    std::fs::write(folder.join("jsonl.wasm"), builtin("jsonl")).expect("write");
    std::fs::write(
        folder.join("wasync-package.toml"),
        format!(
            r#"name = "acme:files"
version = "0.3.0"
kind = "connector"
world = "wasync:plugin/connector@0.2.0"
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
