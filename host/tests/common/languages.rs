//! The languages an example is built in, so one test can run against every build of it.

use std::fmt;
use std::path::PathBuf;

use super::example_path;

/// A language with an SDK, whose builds of `hello`, `fleet-health` and `misbehave` behave alike.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Language {
    Rust,
    Go,
    Python,
    JavaScript,
}

pub use Language::{Go, JavaScript, Python, Rust};

impl Language {
    pub const ALL: [Self; 4] = [Rust, Go, Python, JavaScript];

    /// The suffix of its example directories and plugin names (`hello-go`); none for Rust.
    pub fn suffix(self) -> &'static str {
        match self {
            Rust => "",
            Go => "-go",
            Python => "-python",
            JavaScript => "-js",
        }
    }

    /// The plugin name its build of `example` declares: `hello`, `hello-go`, ...
    pub fn plugin(self, example: &str) -> String {
        format!("{example}{}", self.suffix())
    }

    /// Its build of `example`: from `scripts/build-examples` for Rust (wasm32-wasip2), from
    /// `scripts/build-polyglot-examples` (examples/dist/) for the others.
    pub fn module_path(self, example: &str) -> PathBuf {
        if self == Rust {
            return example_path(example, "wasm32-wasip2");
        }
        let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../examples/dist")
            .join(format!("{}.wasm", self.plugin(example)));
        assert!(path.exists(), "{} is missing: run scripts/build-polyglot-examples first", path.display());
        path
    }

    pub fn module_bytes(self, example: &str) -> Vec<u8> {
        std::fs::read(self.module_path(example)).expect("read example")
    }
}

impl fmt::Display for Language {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}
