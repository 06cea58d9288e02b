//! A rotated OAuth refresh token, kept across restarts. A provider that rotates refresh
//! tokens (Salesforce's "refresh token rotation") invalidates the one in the pipeline file
//! at the first refresh: without the new one, the next process could not sign in again.
//!
//! The token goes to a file of its own next to the store (`wasync.db.tokens/NAME.json`),
//! never to the store or a log: the folder is readable by its owner only (0700), the file
//! too (0600), and it is written whole (a temporary file renamed over it). It records which
//! configured token it descends from (a SHA-256, not the token), so that a new token put in
//! the pipeline file (a new authorization) wins over an older rotation.

use sha2::{Digest, Sha256};
use std::io::Write;
use std::path::{Path, PathBuf};

/// Where one connector's rotated refresh token is kept, and what it descends from.
#[derive(Debug, Clone)]
pub struct Kept {
    path: PathBuf,
    /// SHA-256 (hex) of the refresh token the pipeline file holds.
    from: String,
}

#[derive(serde::Serialize, serde::Deserialize)]
struct File {
    from: String,
    refresh_token: String,
}

impl Kept {
    /// The keeper of `path` for a pipeline file whose refresh token is `configured`.
    pub fn new(path: PathBuf, configured: &str) -> Kept {
        Kept {
            path,
            from: hex(&Sha256::digest(configured.as_bytes())),
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
        Ok((file.from == self.from).then_some(file.refresh_token))
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
        let text = serde_json::to_string(&File {
            from: self.from.clone(),
            refresh_token: token.to_owned(),
        })
        .map_err(|e| fail(std::io::Error::other(e)))?;
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
        let kept = Kept::new(path.clone(), "configured");
        assert_eq!(kept.load(), Ok(None));
        kept.save("rotated-1").expect("saves");
        kept.save("rotated-2").expect("saves again");
        assert_eq!(kept.load(), Ok(Some("rotated-2".into())));
        let text = std::fs::read_to_string(&path).expect("read");
        assert!(!text.contains("configured"), "{text}");
        // Another token in the pipeline file: a new authorization wins.
        assert_eq!(Kept::new(path.clone(), "re-authorized").load(), Ok(None));
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
}
