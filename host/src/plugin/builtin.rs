//! The first-party plugins, built by `build.rs` from `plugins/` and embedded in the binary,
//! so `wasync plugin call extract-domain` works without any file at hand.

include!(concat!(env!("OUT_DIR"), "/builtin.rs"));

/// The component bytes of first-party plugin `name`.
pub fn find(name: &str) -> Option<&'static [u8]> {
    BUILTINS
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, bytes)| *bytes)
}

/// The names of the first-party plugins.
pub fn names() -> impl Iterator<Item = &'static str> {
    BUILTINS.iter().map(|(name, _)| *name)
}
