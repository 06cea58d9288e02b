//! The thin layer that touches the file system: bring an index up to date with its file,
//! append a batch of lines.

use crate::index::{Index, Seen};
use crate::settings::EntitySettings;
use std::fs::{File, OpenOptions};
use std::io::{ErrorKind, Read, Seek, SeekFrom, Write};
use std::path::Path;
use std::time::SystemTime;
use wasync_sdk::Error;

/// Takes in what was appended to the file since `index` last looked. A missing file is an
/// entity with no records. A file changed other than by appending (shorter than what was
/// taken in, different just before where the index stopped, or modified without growing:
/// truncated, rewritten or edited by hand) is taken in again from the start, so the index
/// never reads on from an offset that no longer starts a line.
///
/// Returns the file as it was checked, for the index's lines to be read back from (none
/// when it is missing).
pub fn refresh(
    index: &mut Index,
    path: &Path,
    entity: &EntitySettings,
) -> Result<Option<File>, Error> {
    let mut file = match File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == ErrorKind::NotFound => {
            if let Some(error) = missing_dir(path) {
                return Err(error);
            }
            if index.offset() > 0 {
                *index = Index::default();
            }
            return Ok(None);
        }
        Err(e) => return Err(io_error("cannot open", path, e)),
    };
    let metadata = file
        .metadata()
        .map_err(|e| io_error("cannot stat", path, e))?;
    let (len, modified) = (metadata.len(), metadata.modified().ok());
    let read_error = |e| io_error("cannot read", path, e);
    if index.offset() > 0 && !appended_only(&mut file, index, len, modified).map_err(read_error)? {
        wasync_sdk::log::warn(&format!(
            "{} changed other than by appending lines: read again from the start",
            path.display()
        ));
        *index = Index::default();
    }
    if len > index.offset() {
        let before = index.offset();
        file.seek(SeekFrom::Start(before))
            .map_err(|e| io_error("cannot seek in", path, e))?;
        ingest_from(&mut file, index, entity).map_err(read_error)?;
        if index.offset() != before {
            let tail = tail_before(&mut file, index.offset()).map_err(read_error)?;
            index.set_seen(Seen { tail, modified });
        }
    }
    index.set_modified(modified);
    Ok(Some(file))
}

/// Whether the file, now `len` bytes modified at `modified`, is the one `index` took in
/// with at most lines appended: no shorter, the same bytes just before where the index
/// stopped, and not modified unless it grew. (An edit in the middle of a file that grew
/// since the last look is taken for an append: only a read of the whole file could tell.)
fn appended_only(
    file: &mut File,
    index: &Index,
    len: u64,
    modified: Option<SystemTime>,
) -> std::io::Result<bool> {
    let seen = index.seen();
    if len < index.offset()
        || (len == index.offset() && modified.is_some() && modified != seen.modified)
    {
        return Ok(false);
    }
    Ok(tail_before(file, index.offset())? == seen.tail)
}

/// How many bytes before where the index stopped are kept to recognise the file: enough
/// that a file rewritten or edited there differs in them, a read of a few dozen bytes.
const TAIL: u64 = 64;

/// The (up to [`TAIL`]) bytes just before `offset`.
fn tail_before(file: &mut File, offset: u64) -> std::io::Result<Vec<u8>> {
    let start = offset.saturating_sub(TAIL);
    file.seek(SeekFrom::Start(start))?;
    let mut tail = Vec::with_capacity((offset - start) as usize);
    Read::by_ref(file)
        .take(offset - start)
        .read_to_end(&mut tail)?;
    Ok(tail)
}

/// Bytes read per call: enough to make reads cheap, small next to a plugin's memory.
const CHUNK: usize = 1 << 20;

/// Feeds the index the complete lines of `reader`, a chunk at a time, so a large file is
/// never in memory whole. A trailing partial line is left unread.
fn ingest_from(
    reader: &mut impl Read,
    index: &mut Index,
    entity: &EntitySettings,
) -> std::io::Result<()> {
    let mut chunk = vec![0; CHUNK];
    // The start of a line whose end is not read yet.
    let mut carry: Vec<u8> = Vec::new();
    loop {
        let read = match reader.read(&mut chunk) {
            Ok(0) => return Ok(()),
            Ok(read) => read,
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        let new = &chunk[..read];
        match new.iter().rposition(|&b| b == b'\n') {
            None => carry.extend_from_slice(new),
            Some(last) if carry.is_empty() => {
                index.ingest(&new[..=last], entity);
                carry.extend_from_slice(&new[last + 1..]);
            }
            Some(last) => {
                carry.extend_from_slice(&new[..=last]);
                index.ingest(&carry, entity);
                carry.clear();
                carry.extend_from_slice(&new[last + 1..]);
            }
        }
    }
}

/// Appends `bytes` with a single write, creating the file if it is missing. A file that
/// ends inside a line (an append cut off by a crash, or a line typed without its newline)
/// gets that line ended first, so the new lines stand on their own: the torn line is then
/// read as a bad line, set aside where a user sees it, and glues nothing to what follows.
///
/// A write that fails part-way (the disk full, the file at its size limit) is taken back:
/// the file is cut to its length before it, so no half line is left and none of the batch
/// is in the file, as its error says.
pub fn append(path: &Path, bytes: &[u8]) -> Result<(), Error> {
    let torn = ends_inside_a_line(path).map_err(|e| io_error("cannot read", path, e))?;
    let mut file = OpenOptions::new()
        .append(true)
        .create(true)
        .open(path)
        .map_err(|e| missing_dir(path).unwrap_or_else(|| io_error("cannot open", path, e)))?;
    let before = file
        .metadata()
        .map_err(|e| io_error("cannot stat", path, e))?
        .len();
    let result = match torn {
        true => {
            let mut ended = Vec::with_capacity(bytes.len() + 1);
            ended.push(b'\n');
            ended.extend_from_slice(bytes);
            file.write_all(&ended)
        }
        false => file.write_all(bytes),
    };
    let Err(e) = result else {
        return Ok(());
    };
    let kept = match file.set_len(before) {
        Ok(()) => "; none of the batch was kept".to_owned(),
        Err(cut) => {
            format!(
                "; the part written could not be taken back ({cut}): a half line may end the file"
            )
        }
    };
    Err(io_error_then("cannot append to", path, e, &kept))
}

/// Whether the file's last byte is something other than a newline (a missing or empty
/// file ends no line). Read through a handle of its own: under WASI, a handle opened to
/// append does not read where it seeks.
fn ends_inside_a_line(path: &Path) -> std::io::Result<bool> {
    let mut file = match File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(e),
    };
    if file.metadata()?.len() == 0 {
        return Ok(false);
    }
    file.seek(SeekFrom::End(-1))?;
    let mut last = [0u8; 1];
    file.read_exact(&mut last)?;
    Ok(last[0] != b'\n')
}

/// An error when the file's directory does not exist: the file is not merely missing, the
/// directory was most likely not granted to the connector (or `dir` is wrong).
fn missing_dir(path: &Path) -> Option<Error> {
    let dir = path.parent()?;
    std::fs::metadata(dir).is_err().then(|| {
        Error::NotFound(format!(
            "the directory {} does not exist: is it granted to this connector, and is `dir` right?",
            dir.display()
        ))
    })
}

pub fn io_error(what: &str, path: &Path, e: std::io::Error) -> Error {
    io_error_then(what, path, e, "")
}

/// An error for `e` met doing `what` to `path`, with `then` (what became of it) after it.
fn io_error_then(what: &str, path: &Path, e: std::io::Error, then: &str) -> Error {
    let message = format!("{what} {}: {e}{then}", path.display());
    match e.kind() {
        ErrorKind::NotFound => Error::NotFound(message),
        ErrorKind::PermissionDenied | ErrorKind::ReadOnlyFilesystem => Error::AccessDenied(message),
        _ => Error::Other(message),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::account;

    /// A reader that hands out a few bytes per call, as a slow file might.
    struct Trickle<'a>(&'a [u8], usize);

    impl Read for Trickle<'_> {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            let n = self.1.min(self.0.len()).min(buf.len());
            buf[..n].copy_from_slice(&self.0[..n]);
            self.0 = &self.0[n..];
            Ok(n)
        }
    }

    #[test]
    fn lines_split_across_reads_are_joined() -> std::io::Result<()> {
        let text = b"{\"Id\": \"a\"}\n{\"Id\": \"b\"}\n{\"Id\": \"c\"";
        for step in [1, 3, 7, 100] {
            let mut index = Index::default();
            ingest_from(&mut Trickle(text, step), &mut index, &account())?;
            assert!(index.contains("a") && index.contains("b"), "step {step}");
            assert!(!index.contains("c"));
            assert_eq!(index.offset(), 24);
        }
        Ok(())
    }
}
