//! The host's modules form layers whose imports point one way, down: `host/src/lib.rs`
//! declares its top-level modules in groups, bottom layer first, and no module may name one
//! in its own group or a later one (`crate::engine` from `store`, say). Read from the source,
//! so an upward `use` fails here with the file and the path that crossed.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

const SRC: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/src");

#[test]
fn imports_point_down_the_layers() {
    let lib = read(&Path::new(SRC).join("lib.rs"));
    let layers = layers(&lib);
    assert!(
        layers.len() >= 5 && layers.contains_key("wit") && layers.contains_key("cli"),
        "lib.rs should declare its modules in layer groups: {layers:?}"
    );
    let mut crossings = Vec::new();
    for file in rust_files(Path::new(SRC)) {
        let relative = file.strip_prefix(SRC).expect("under src");
        let module = module_path(relative);
        let Some(top) = module.first() else {
            continue; // lib.rs and main.rs sit above every layer.
        };
        let Some(&own) = layers.get(top.as_str()) else {
            panic!(
                "{} is in no layer: declare `{top}` in lib.rs",
                relative.display()
            );
        };
        for named in named_modules(&code_only(&read(&file)), &module) {
            let Some(&layer) = layers.get(named.as_str()) else {
                crossings.push(format!(
                    "{}: `crate::{named}` is not a layer's module (name the module that defines it)",
                    relative.display()
                ));
                continue;
            };
            if named != *top && layer >= own {
                crossings.push(format!(
                    "{}: `{top}` (layer {own}) uses `crate::{named}` (layer {layer})",
                    relative.display()
                ));
            }
        }
    }
    crossings.sort();
    crossings.dedup();
    assert!(
        crossings.is_empty(),
        "upward imports:\n{}",
        crossings.join("\n")
    );
}

/// The checker itself: what it must catch and what it must let through.
#[test]
fn the_checker_reads_paths_groups_and_super() {
    let code = code_only(
        r##"
        use crate::store::{Store, Tx};
        use crate::{engine::Report, plugin::{Runtime, Grants}};
        // use crate::commented;
        /* crate::blocked */
        let s = "crate::quoted // not a comment";
        let t = r#"crate::raw"#;
        fn f<'a>(x: &'a str) -> char { 'c' }
        let v = crate::value::to_json(x);
        use super::super::config::Config;
        "##,
    );
    let named = named_modules(&code, &["serve".into(), "routes".into()]);
    assert_eq!(named, ["store", "engine", "plugin", "value", "config"]);
    let layers = layers("pub mod a;\npub mod b;\n\n#[cfg(x)]\npub mod c;\n");
    assert_eq!(layers, BTreeMap::from([("a", 0), ("b", 0), ("c", 1)]));
}

/// Top-level module → layer, from lib.rs: a blank line ends a layer's group.
fn layers(lib: &str) -> BTreeMap<&str, usize> {
    let mut layers = BTreeMap::new();
    let mut layer = 0;
    let mut in_group = false;
    for line in lib.lines().map(str::trim) {
        if line.is_empty() {
            layer += usize::from(in_group);
            in_group = false;
        } else if let Some(name) = line
            .strip_prefix("pub mod ")
            .or_else(|| line.strip_prefix("mod "))
            .and_then(|rest| rest.strip_suffix(';'))
        {
            layers.insert(name, layer);
            in_group = true;
        }
    }
    layers
}

/// The module path of a file under src: `engine/write.rs` → [engine, write].
fn module_path(relative: &Path) -> Vec<String> {
    let mut parts: Vec<String> = relative
        .iter()
        .map(|p| p.to_string_lossy().trim_end_matches(".rs").to_owned())
        .collect();
    if parts.last().is_some_and(|p| p == "mod") {
        parts.pop();
    }
    if parts == ["lib"] || parts == ["main"] {
        parts.clear();
    }
    parts
}

/// The top-level modules a file's code names, through `crate::` (groups included) or
/// through enough `super::`s to reach the crate root, in order of appearance.
fn named_modules(code: &str, module: &[String]) -> Vec<String> {
    let mut named = Vec::new();
    let bytes = code.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let at_word = i == 0 || !is_ident(bytes[i - 1]);
        if at_word && code[i..].starts_with("crate::") {
            i += "crate::".len();
            named.extend(items(code, &mut i));
            continue;
        }
        if at_word && code[i..].starts_with("super::") {
            let mut ups = 0;
            while code[i..].starts_with("super::") {
                ups += 1;
                i += "super::".len();
            }
            if ups >= module.len() {
                named.extend(items(code, &mut i));
            }
            continue;
        }
        i += 1;
    }
    named
}

/// The first segment of the path at `i` (`store` of `store::Tx`), or of each item of a
/// `{...}` group; moves `i` past what it read.
fn items(code: &str, i: &mut usize) -> Vec<String> {
    let bytes = code.as_bytes();
    if bytes.get(*i) != Some(&b'{') {
        return ident(code, i).into_iter().collect();
    }
    let (start, mut depth) = (*i + 1, 0);
    let mut end = start;
    for (offset, &b) in bytes[*i..].iter().enumerate() {
        match b {
            b'{' => depth += 1,
            b'}' => depth -= 1,
            _ => {}
        }
        if depth == 0 {
            end = *i + offset;
            break;
        }
    }
    *i = end + 1;
    let group = &code[start..end];
    let (mut found, mut depth, mut item_start) = (Vec::new(), 0, true);
    let gb = group.as_bytes();
    let mut j = 0;
    while j < gb.len() {
        match gb[j] {
            b'{' => depth += 1,
            b'}' => depth -= 1,
            b',' if depth == 0 => item_start = true,
            b if item_start && is_ident(b) => {
                found.extend(ident(group, &mut j));
                item_start = false;
                continue;
            }
            _ => {}
        }
        j += 1;
    }
    found.retain(|name| name != "self");
    found
}

fn ident(code: &str, i: &mut usize) -> Option<String> {
    let start = *i;
    while code.as_bytes().get(*i).copied().is_some_and(is_ident) {
        *i += 1;
    }
    (*i > start).then(|| code[start..*i].to_owned())
}

fn is_ident(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// The source with comments, string literals and character literals blanked out, so
/// `"crate::x"` in a message or `// crate::x` in a doc comment names nothing.
fn code_only(source: &str) -> String {
    let b = source.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let rest = &b[i..];
        let skip = if rest.starts_with(b"//") {
            rest.iter().position(|&c| c == b'\n').unwrap_or(rest.len())
        } else if rest.starts_with(b"/*") {
            block_comment(rest)
        } else if rest[0] == b'r' && (i == 0 || !is_ident(b[i - 1])) && raw_string(rest) > 0 {
            raw_string(rest)
        } else if rest[0] == b'"' {
            quoted(rest, b'"')
        } else if rest[0] == b'\'' && char_literal(rest) {
            quoted(rest, b'\'')
        } else {
            out.push(rest[0]);
            i += 1;
            continue;
        };
        out.push(b' ');
        i += skip.max(1);
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn block_comment(rest: &[u8]) -> usize {
    let (mut depth, mut j) = (0, 0);
    while j < rest.len() {
        if rest[j..].starts_with(b"/*") {
            depth += 1;
            j += 2;
        } else if rest[j..].starts_with(b"*/") {
            depth -= 1;
            j += 2;
            if depth == 0 {
                return j;
            }
        } else {
            j += 1;
        }
    }
    rest.len()
}

/// The length of a raw string literal at the start of `rest` (`r"…"`, `r#"…"#`), or 0.
fn raw_string(rest: &[u8]) -> usize {
    let hashes = rest[1..].iter().take_while(|&&c| c == b'#').count();
    if rest.get(1 + hashes) != Some(&b'"') {
        return 0;
    }
    let close: Vec<u8> = std::iter::once(b'"')
        .chain(std::iter::repeat_n(b'#', hashes))
        .collect();
    let body = 2 + hashes;
    rest[body..]
        .windows(close.len())
        .position(|w| w == close.as_slice())
        .map_or(rest.len(), |p| body + p + close.len())
}

/// The length of a quoted literal at the start of `rest`, escapes included.
fn quoted(rest: &[u8], quote: u8) -> usize {
    let mut j = 1;
    while j < rest.len() {
        match rest[j] {
            b'\\' => j += 2,
            c if c == quote => return j + 1,
            _ => j += 1,
        }
    }
    rest.len()
}

/// Whether the `'` at the start of `rest` opens a character literal, not a lifetime.
fn char_literal(rest: &[u8]) -> bool {
    let len = match rest.get(1) {
        None => return false,
        Some(b'\\') => return true,
        Some(0..=0x7f) => 1,
        Some(0xc0..=0xdf) => 2,
        Some(0xe0..=0xef) => 3,
        Some(_) => 4,
    };
    rest.get(1 + len) == Some(&b'\'')
}

fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let entries = std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    for entry in entries {
        let path = entry.expect("a directory entry").path();
        if path.is_dir() {
            files.extend(rust_files(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            files.push(path);
        }
    }
    files.sort();
    files
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}
