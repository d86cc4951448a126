//! Structured logging through the host, which tags each line with the plugin's name.
//!
//! `println!` and `eprintln!` also reach the host's log, as unstructured lines.

use crate::bindings::weft::plugin::logging;

pub use logging::Level;

/// Logs `message` with key/value fields.
pub fn log(level: Level, message: &str, fields: &[(&str, &str)]) {
    let fields: Vec<(String, String)> = fields.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
    logging::log(level, message, &fields);
}

/// `info!("mirrored {} copies", n)`; likewise `debug!`, `warn!` and `error!`.
#[macro_export]
macro_rules! info {
    ($($arg:tt)+) => { $crate::log::log($crate::log::Level::Info, &format!($($arg)+), &[]) };
}

#[macro_export]
macro_rules! debug {
    ($($arg:tt)+) => { $crate::log::log($crate::log::Level::Debug, &format!($($arg)+), &[]) };
}

#[macro_export]
macro_rules! warn {
    ($($arg:tt)+) => { $crate::log::log($crate::log::Level::Warn, &format!($($arg)+), &[]) };
}

#[macro_export]
macro_rules! error {
    ($($arg:tt)+) => { $crate::log::log($crate::log::Level::Error, &format!($($arg)+), &[]) };
}
