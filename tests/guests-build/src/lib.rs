//! Paths to the guest components the end-to-end tests load, built once per test build by
//! this crate's build script. Each guest has a test that uses it.

include!(concat!(env!("OUT_DIR"), "/guests.rs"));
