//! A package as bytes: its *document* (canonical JSON of the manifest and the component's
//! SHA-256) and its component. The package's identity is the SHA-256 of the document, so a
//! changed manifest changes the identity and a changed component no longer matches the
//! document: either is caught wherever the identity is known (the file's header, the lock
//! file, a registry's layer digest, `--digest`).
//!
//! A `.wasync` file is the header line `wasync-package/1 sha256:<hex>`, the document on one
//! line, then the component's bytes.

use super::PackageError;
use super::manifest::Manifest;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::path::Path;

/// The format tag in the document and the file header.
pub const FORMAT: &str = "wasync-package/1";

/// `sha256:<hex>` of `bytes`.
pub fn sha256(bytes: &[u8]) -> String {
    format!("sha256:{:x}", Sha256::digest(bytes))
}

/// What the package digest is computed over.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Document {
    format: String,
    manifest: Manifest,
    component: ComponentRef,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct ComponentRef {
    digest: String,
    size: u64,
}

/// A package whose parts agree with each other.
#[derive(Debug, Clone)]
pub struct Package {
    /// The manifest.
    pub manifest: Manifest,
    /// The canonical document (what `digest` is the hash of).
    pub document: Vec<u8>,
    /// The component's bytes.
    pub component: Vec<u8>,
    /// `sha256:<hex>` of `document`: the package's identity.
    pub digest: String,
}

impl Package {
    /// Packs a checked manifest with a component.
    pub fn new(manifest: Manifest, component: Vec<u8>) -> Package {
        let document = Document {
            format: FORMAT.into(),
            manifest,
            component: ComponentRef {
                digest: sha256(&component),
                size: component.len() as u64,
            },
        };
        // A struct of strings, numbers and maps always serialises.
        let bytes = serde_json::to_vec(&document).unwrap_or_default();
        Package {
            digest: sha256(&bytes),
            manifest: document.manifest,
            document: bytes,
            component,
        }
    }

    /// Reassembles a package from its document and component, refusing a component that is
    /// not the one the document names. `from` says where they came from, for errors.
    pub fn from_parts(
        document: Vec<u8>,
        component: Vec<u8>,
        from: &str,
    ) -> Result<Package, PackageError> {
        let invalid = |message: String| PackageError::Manifest {
            at: from.to_owned(),
            message,
        };
        let parsed: Document = serde_json::from_slice(&document)
            .map_err(|e| invalid(format!("the package document is not valid: {e}")))?;
        if parsed.format != FORMAT {
            return Err(invalid(format!(
                "format {:?} is not {FORMAT}: made by a newer wasync?",
                parsed.format
            )));
        }
        parsed.manifest.check().map_err(invalid)?;
        let found = sha256(&component);
        if found != parsed.component.digest {
            return Err(PackageError::Tampered {
                what: format!("the component of {}", parsed.manifest.reference()),
                at: from.to_owned(),
                expected: parsed.component.digest,
                found,
            });
        }
        Ok(Package {
            digest: sha256(&document),
            manifest: parsed.manifest,
            document,
            component,
        })
    }

    /// Refuses the package unless its identity is `expected` (`sha256:<hex>`).
    pub fn expect_digest(&self, expected: &str, from: &str) -> Result<(), PackageError> {
        if self.digest == expected {
            return Ok(());
        }
        Err(PackageError::Tampered {
            what: format!("package {}", self.manifest.reference()),
            at: from.to_owned(),
            expected: expected.to_owned(),
            found: self.digest.clone(),
        })
    }

    /// The `.wasync` file's bytes.
    pub fn to_file_bytes(&self) -> Vec<u8> {
        let mut out = format!("{FORMAT} {}\n", self.digest).into_bytes();
        out.extend_from_slice(&self.document);
        out.push(b'\n');
        out.extend_from_slice(&self.component);
        out
    }

    /// Reads a `.wasync` file, refusing one whose parts do not match its header.
    pub fn read_file(path: &Path) -> Result<Package, PackageError> {
        let at = path.display().to_string();
        let bytes = std::fs::read(path).map_err(|e| PackageError::Io {
            what: format!("cannot read {at}"),
            error: e,
        })?;
        let not_package = || PackageError::Manifest {
            at: at.clone(),
            message: format!("not a wasync package file (it does not start with `{FORMAT} `)"),
        };
        let (header, rest) = split_line(&bytes).ok_or_else(not_package)?;
        let header = std::str::from_utf8(header).map_err(|_| not_package())?;
        let expected = header
            .strip_prefix(FORMAT)
            .and_then(|h| h.strip_prefix(' '))
            .ok_or_else(not_package)?;
        let (document, component) = split_line(rest).ok_or_else(not_package)?;
        let package = Package::from_parts(document.to_vec(), component.to_vec(), &at)?;
        package.expect_digest(expected, &at)?;
        Ok(package)
    }
}

fn split_line(bytes: &[u8]) -> Option<(&[u8], &[u8])> {
    let end = bytes.iter().position(|b| *b == b'\n')?;
    Some((&bytes[..end], &bytes[end + 1..]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::package::manifest::Capabilities;

    fn package() -> Package {
        let manifest = Manifest {
            name: "acme:x".into(),
            version: "0.1.0".into(),
            kind: "connector".into(),
            world: "wasync:plugin/connector@0.1.0".into(),
            description: "x".into(),
            capabilities: Capabilities::default(),
            config: None,
        };
        Package::new(manifest, b"\0asm component".to_vec())
    }

    #[test]
    fn a_file_reads_back_and_any_changed_byte_is_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("x.wasync");
        let p = package();
        std::fs::write(&path, p.to_file_bytes()).expect("write");
        let back = Package::read_file(&path).expect("reads back");
        assert_eq!(
            (back.digest, back.manifest),
            (p.digest.clone(), p.manifest.clone())
        );

        let bytes = p.to_file_bytes();
        let document_at = bytes.iter().position(|b| *b == b'\n').expect("header") + 20;
        for at in [document_at, bytes.len() - 1] {
            let mut changed = bytes.clone();
            changed[at] ^= 1;
            std::fs::write(&path, &changed).expect("write");
            assert!(Package::read_file(&path).is_err(), "byte {at} changed");
        }
    }
}
