//! A rotated OAuth refresh token, kept across restarts. A provider that rotates refresh
//! tokens (Salesforce's "refresh token rotation") invalidates the one in the pipeline file
//! at the first refresh: without the new one, the next process could not sign in again.
//!
//! The token goes to a file of its own next to the store (`wasync.db.tokens/NAME.json`),
//! never to the store or a log: the folder is readable by its owner only (0700), the file
//! too (0600), and it is written whole (a temporary file renamed over it). With a key in
//! `WASYNC_SECRET_KEY` (32 bytes as 64 hexadecimal digits) the token is sealed with
//! XChaCha20-Poly1305 (RustCrypto's `chacha20poly1305`), bound to the file's record of which
//! configured token it descends from (a SHA-256, not the token), so that a new token put in
//! the pipeline file (a new authorization) wins over an older rotation.

use chacha20poly1305::aead::{Aead, AeadCore, KeyInit, OsRng, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use sha2::{Digest, Sha256};
use std::io::Write;
use std::path::{Path, PathBuf};

/// The environment variable holding the key that seals kept tokens.
pub const KEY_VARIABLE: &str = "WASYNC_SECRET_KEY";

/// Where one connector's rotated refresh token is kept, and what it descends from.
#[derive(Clone)]
pub struct Kept {
    path: PathBuf,
    /// SHA-256 (hex) of the refresh token the pipeline file holds.
    from: String,
    /// The key that seals the token, when one is given.
    key: Option<[u8; 32]>,
}

impl std::fmt::Debug for Kept {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Kept")
            .field("path", &self.path)
            .field("sealed", &self.key.is_some())
            .finish()
    }
}

#[derive(serde::Serialize, serde::Deserialize)]
struct File {
    from: String,
    /// The token in clear (no key given).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    refresh_token: Option<String>,
    /// The token sealed: nonce and ciphertext, hex.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    sealed: Option<String>,
}

/// The sealing key from the text of [`KEY_VARIABLE`].
pub fn key_from(text: &str) -> Result<[u8; 32], String> {
    let text = text.trim();
    let bytes: Option<Vec<u8>> = (text.len() == 64)
        .then(|| {
            (0..32)
                .map(|i| u8::from_str_radix(text.get(2 * i..2 * i + 2)?, 16).ok())
                .collect()
        })
        .flatten();
    bytes
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| format!("{KEY_VARIABLE} must be 64 hexadecimal digits (32 bytes; `openssl rand -hex 32` makes one)"))
}

impl Kept {
    /// The keeper of `path` for a pipeline file whose refresh token is `configured`,
    /// sealing with `key` when given.
    pub fn new(path: PathBuf, configured: &str, key: Option<[u8; 32]>) -> Kept {
        Kept {
            path,
            from: hex(&Sha256::digest(configured.as_bytes())),
            key,
        }
    }

    /// The token kept from an earlier rotation of the configured one, if any. A file that
    /// cannot be read, or descends from another token, is not used; one that is not the
    /// owner's alone is refused, as `ssh` refuses a key others can read.
    pub fn load(&self) -> Result<Option<String>, String> {
        let text = match std::fs::read_to_string(&self.path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(format!("cannot read {}: {e}", self.path.display())),
        };
        check_private(&self.path)?;
        let file: File = serde_json::from_str(&text).map_err(|_| {
            format!(
                "{} is not a kept refresh token: remove it to start from the pipeline file's",
                self.path.display()
            )
        })?;
        if file.from != self.from {
            return Ok(None);
        }
        match (file.sealed, file.refresh_token, &self.key) {
            (Some(sealed), _, Some(key)) => self.open(&sealed, key).map(Some),
            (Some(_), _, None) => Err(format!(
                "{} is sealed: set {KEY_VARIABLE} to the key it was sealed with",
                self.path.display()
            )),
            (None, token, _) => Ok(token),
        }
    }

    fn cipher(key: &[u8; 32]) -> XChaCha20Poly1305 {
        XChaCha20Poly1305::new(key.into())
    }

    fn open(&self, sealed: &str, key: &[u8; 32]) -> Result<String, String> {
        let refused = || {
            format!(
                "cannot open {}: {KEY_VARIABLE} is not the key it was sealed with, or the file was changed",
                self.path.display()
            )
        };
        let bytes = unhex(sealed).ok_or_else(refused)?;
        if bytes.len() < 24 {
            return Err(refused());
        }
        let (nonce, text) = bytes.split_at(24);
        let payload = Payload {
            msg: text,
            aad: self.from.as_bytes(),
        };
        let plain = Self::cipher(key)
            .decrypt(XNonce::from_slice(nonce), payload)
            .map_err(|_| refused())?;
        String::from_utf8(plain).map_err(|_| refused())
    }

    /// Keeps `token`, the provider's rotation of the configured one.
    pub fn save(&self, token: &str) -> Result<(), String> {
        let fail = |e: std::io::Error| {
            format!(
                "cannot keep the rotated refresh token in {}: {e}",
                self.path.display()
            )
        };
        let dir = self.path.parent().unwrap_or(Path::new("."));
        private_dir(dir).map_err(fail)?;
        let file = match &self.key {
            None => File {
                from: self.from.clone(),
                refresh_token: Some(token.to_owned()),
                sealed: None,
            },
            Some(key) => {
                let nonce = XChaCha20Poly1305::generate_nonce(&mut OsRng);
                let payload = Payload {
                    msg: token.as_bytes(),
                    aad: self.from.as_bytes(),
                };
                let sealed = Self::cipher(key)
                    .encrypt(&nonce, payload)
                    .map_err(|_| fail(std::io::Error::other("sealing failed")))?;
                File {
                    from: self.from.clone(),
                    refresh_token: None,
                    sealed: Some(hex(&[nonce.as_slice(), &sealed].concat())),
                }
            }
        };
        let text = serde_json::to_string(&file).map_err(|e| fail(std::io::Error::other(e)))?;
        let draft = self.path.with_extension("json.new");
        let mut file = private_file(&draft).map_err(fail)?;
        file.write_all(text.as_bytes())
            .and_then(|()| file.sync_all())
            .map_err(fail)?;
        std::fs::rename(&draft, &self.path).map_err(fail)
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len() / 2)
        .map(|i| u8::from_str_radix(text.get(2 * i..2 * i + 2)?, 16).ok())
        .collect()
}

#[cfg(unix)]
fn private_dir(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)?;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
}

#[cfg(not(unix))]
fn private_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)
}

#[cfg(unix)]
fn private_file(path: &Path) -> std::io::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
}

#[cfg(not(unix))]
fn private_file(path: &Path) -> std::io::Result<std::fs::File> {
    std::fs::File::create(path)
}

#[cfg(unix)]
fn check_private(path: &Path) -> Result<(), String> {
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?
        .permissions()
        .mode();
    match mode & 0o077 {
        0 => Ok(()),
        _ => Err(format!(
            "{} can be read by others (mode {:o}): a refresh token must be its owner's alone (chmod 600)",
            path.display(),
            mode & 0o777
        )),
    }
}

#[cfg(not(unix))]
fn check_private(_: &Path) -> Result<(), String> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_kept_token_is_private_and_yields_to_a_new_configured_one() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("wasync.db.tokens/sf.json");
        let kept = Kept::new(path.clone(), "configured", None);
        assert_eq!(kept.load(), Ok(None));
        kept.save("rotated-1").expect("saves");
        kept.save("rotated-2").expect("saves again");
        assert_eq!(kept.load(), Ok(Some("rotated-2".into())));
        let text = std::fs::read_to_string(&path).expect("read");
        assert!(!text.contains("configured"), "{text}");
        // Another token in the pipeline file: a new authorization wins.
        assert_eq!(
            Kept::new(path.clone(), "re-authorized", None).load(),
            Ok(None)
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = |p: &Path| std::fs::metadata(p).expect("meta").permissions().mode() & 0o777;
            assert_eq!(mode(&path), 0o600);
            assert_eq!(mode(path.parent().expect("dir")), 0o700);
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).expect("chmod");
            let refused = kept.load().expect_err("refused");
            assert!(refused.contains("can be read by others"), "{refused}");
        }
    }

    #[test]
    fn a_sealed_token_opens_only_with_its_key() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("t/sf.json");
        let key = key_from(&"ab".repeat(32)).expect("a key");
        let sealed = Kept::new(path.clone(), "configured", Some(key));
        sealed.save("rotated-secret").expect("saves");
        let text = std::fs::read_to_string(&path).expect("read");
        assert!(!text.contains("rotated-secret"), "{text}");
        assert_eq!(sealed.load(), Ok(Some("rotated-secret".into())));
        let other = key_from(&"cd".repeat(32)).expect("a key");
        let wrong = Kept::new(path.clone(), "configured", Some(other)).load();
        assert!(wrong.is_err_and(|e| e.contains("is not the key it was sealed with")));
        let none = Kept::new(path.clone(), "configured", None).load();
        assert!(none.is_err_and(|e| e.contains("is sealed: set WASYNC_SECRET_KEY")));
        assert!(key_from("short").is_err());
        assert!(key_from(&"zz".repeat(32)).is_err());
    }
}
