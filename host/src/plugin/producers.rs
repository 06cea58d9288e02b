//! Which toolchain built a component, from its `producers` custom sections.
//!
//! Toolchains record themselves there (the tool-conventions "producers section"): `language`
//! (`Rust`, `Python`, `JavaScript`), `processed-by` (`rustc`, `componentize-py`,
//! `wit-component`, ...) and `sdk`. A component carries one section of its own and one per
//! core module inside it; this reads them all. Where a component says nothing, nothing is
//! reported: the host never guesses.

use serde::Serialize;
use wasmparser::{KnownCustom, Parser, Payload};

/// A tool and its version, as a producers section names it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Tool {
    /// The tool (`componentize-py`).
    pub name: String,
    /// Its version, as the tool wrote it.
    pub version: String,
}

/// What a component's producers sections say, each entry once, in the order first seen.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Producers {
    /// Source languages (`language`).
    pub language: Vec<Tool>,
    /// Tools that made or changed the binary (`processed-by`).
    pub processed_by: Vec<Tool>,
    /// SDKs (`sdk`).
    pub sdk: Vec<Tool>,
}

impl Producers {
    /// Whether the component said nothing.
    pub fn is_empty(&self) -> bool {
        self.language.is_empty() && self.processed_by.is_empty() && self.sdk.is_empty()
    }
}

/// Reads every producers section of a component (or core module), the outermost first: it
/// speaks for the whole component, while nested modules speak for the runtime they carry (a
/// Python component's interpreter is built with Rust and C). A malformed section is skipped
/// rather than refused: it is information for people, not part of the contract.
pub fn read(bytes: &[u8]) -> Producers {
    let mut outer = Vec::new();
    let mut nested = Vec::new();
    let mut depth = 0usize;
    for payload in Parser::new(0).parse_all(bytes) {
        match payload {
            Ok(Payload::Version { .. }) => depth += 1,
            Ok(Payload::End(_)) => depth = depth.saturating_sub(1),
            Ok(Payload::CustomSection(section)) => {
                if let KnownCustom::Producers(reader) = section.as_known() {
                    if depth <= 1 {
                        outer.push(reader);
                    } else {
                        nested.push(reader);
                    }
                }
            }
            Ok(_) => {}
            // Stop at the first parse error: what was read so far stands.
            Err(_) => break,
        }
    }
    let mut producers = Producers::default();
    for reader in outer.into_iter().chain(nested) {
        for field in reader.into_iter().flatten() {
            let list = match field.name {
                "language" => &mut producers.language,
                "processed-by" => &mut producers.processed_by,
                "sdk" => &mut producers.sdk,
                _ => continue,
            };
            for value in field.values.into_iter().flatten() {
                let tool = Tool {
                    name: value.name.to_owned(),
                    version: value.version.to_owned(),
                };
                if !list.contains(&tool) {
                    list.push(tool);
                }
            }
        }
    }
    producers
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_module_without_a_producers_section_says_nothing() {
        let module = wat::parse_str("(module)").expect("wat");
        assert!(read(&module).is_empty());
        assert!(read(b"not wasm").is_empty());
    }

    #[test]
    fn reads_language_and_processed_by() {
        // A custom section "producers" with two fields, hand-encoded as the convention
        // specifies: count, then (name, count, (value name, version)*) per field.
        let mut body = vec![2u8];
        for (field, name, version) in [
            ("language", "Python", "3.12"),
            ("processed-by", "componentize-py", "0.25.1"),
        ] {
            body.push(field.len() as u8);
            body.extend(field.as_bytes());
            body.push(1);
            for s in [name, version] {
                body.push(s.len() as u8);
                body.extend(s.as_bytes());
            }
        }
        let mut section = vec![b"producers".len() as u8];
        section.extend(b"producers");
        section.extend(&body);
        let mut module = b"\0asm\x01\0\0\0".to_vec();
        module.push(0);
        module.push(section.len() as u8);
        module.extend(section);
        let producers = read(&module);
        assert_eq!(
            producers.language,
            [Tool {
                name: "Python".into(),
                version: "3.12".into()
            }]
        );
        assert_eq!(producers.processed_by[0].name, "componentize-py");
        assert!(producers.sdk.is_empty());
    }
}
