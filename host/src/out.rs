//! Writing to stdout without `println!`, which panics when the reader has gone away
//! (`wasync log | head`): a closed pipe becomes [`Closed`], which ends the command quietly
//! and successfully, as it would end `cat` or `git log`.

use std::fmt;
use std::io::{self, Write};

/// Whoever read stdout has closed it: the command stops, and says nothing about it.
#[derive(Debug, thiserror::Error)]
#[error("stdout was closed by its reader")]
pub struct Closed;

/// Whether `error` is, or was caused by, a closed stdout.
pub fn is_closed(error: &anyhow::Error) -> bool {
    error.chain().any(|e| e.is::<Closed>())
}

/// Writes one line to stdout.
pub fn line(args: fmt::Arguments<'_>) -> anyhow::Result<()> {
    let mut out = io::stdout().lock();
    checked(writeln!(out, "{args}"))
}

/// What a write to stdout came to: a closed pipe is [`Closed`], another failure an error
/// that says it was stdout.
pub fn checked<T>(result: io::Result<T>) -> anyhow::Result<T> {
    result.map_err(|e| match e.kind() {
        io::ErrorKind::BrokenPipe => anyhow::Error::new(Closed),
        _ => anyhow::Error::new(e).context("cannot write to stdout"),
    })
}

/// `println!` that returns an error instead of panicking: `outln!("{x}")?`.
macro_rules! outln {
    () => {
        $crate::out::line(format_args!(""))
    };
    ($($arg:tt)*) => {
        $crate::out::line(format_args!($($arg)*))
    };
}
pub(crate) use outln;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_closed_pipe_is_quiet_and_other_failures_are_errors() {
        let closed = checked::<()>(Err(io::ErrorKind::BrokenPipe.into()))
            .expect_err("an error")
            .context("printing the log");
        assert!(is_closed(&closed));
        let full = checked::<()>(Err(io::Error::other("disk full"))).expect_err("an error");
        assert!(!is_closed(&full));
        assert_eq!(format!("{full:#}"), "cannot write to stdout: disk full");
    }
}
