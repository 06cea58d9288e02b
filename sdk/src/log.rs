//! Messages to the host's log, tagged with the plugin's name by the host.
//!
//! Every wasync world imports `wasync:plugin/log`, so these work in any plugin. The import is
//! declared here by its canonical ABI (`log: func(level: level, message: string)` lowers to
//! `(i32, ptr, len)`), which lets the SDK offer logging without the plugin's bindings.

/// How important a message is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
#[allow(missing_docs)]
pub enum Level {
    Trace = 0,
    Debug = 1,
    Info = 2,
    Warn = 3,
    Error = 4,
}

/// Writes `message` to the host's log at `level`.
pub fn log(level: Level, message: &str) {
    #[cfg(target_arch = "wasm32")]
    {
        #[link(wasm_import_module = "wasync:plugin/log@0.2.0")]
        unsafe extern "C" {
            #[link_name = "log"]
            fn host_log(level: i32, ptr: *const u8, len: usize);
        }
        // SAFETY: the pointer and length describe `message`, alive for the call.
        unsafe { host_log(level as i32, message.as_ptr(), message.len()) }
    }
    #[cfg(not(target_arch = "wasm32"))]
    eprintln!("[{level:?}] {message}");
}

/// Logs at `Debug`.
pub fn debug(message: &str) {
    log(Level::Debug, message)
}

/// Logs at `Info`.
pub fn info(message: &str) {
    log(Level::Info, message)
}

/// Logs at `Warn`.
pub fn warn(message: &str) {
    log(Level::Warn, message)
}

/// Logs at `Error`.
pub fn error(message: &str) {
    log(Level::Error, message)
}
