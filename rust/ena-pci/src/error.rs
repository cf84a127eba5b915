//! One error type for the backend: what was being done, to which file or
//! value, and the system's reason.

use std::fmt;
use std::io;
use std::path::Path;

/// A failure, said in full (the driver prints it as it is).
#[derive(Debug)]
pub struct Error(String);

impl Error {
    pub fn new(msg: impl Into<String>) -> Self {
        Self(msg.into())
    }
    /// `what` failed on `path`: the system's reason appended.
    pub fn io(what: &str, path: &Path, e: io::Error) -> Self {
        Self(format!("{what} {}: {e}", path.display()))
    }
    pub fn message(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Error {}
