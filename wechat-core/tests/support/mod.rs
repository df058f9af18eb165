//! The harness of the vector tests: reading the in-repo copies of the shared suite, and running
//! every vector of a group before reporting all failures at once, as
//! `Failed vector #i <id> (<source>): <detail>` (the way RustCrypto's `new_test!` reports
//! `Failed test #i`). Each test file uses part of it.

#![allow(
    dead_code,
    unused_macros,
    reason = "each test crate uses a part of the harness"
)]

use std::fmt::Debug;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};

use serde::Deserialize;

/// `tests/vectors/<rel>` of this crate; never `../shared`.
pub(crate) fn vector_path(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/vectors")
        .join(rel)
}

/// The text of a vector file.
pub(crate) fn read_vector(rel: &str) -> String {
    let path = vector_path(rel);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

/// A vector file parsed from JSON.
pub(crate) fn load_json<T: for<'de> Deserialize<'de>>(rel: &str) -> T {
    serde_json::from_str(&read_vector(rel)).unwrap_or_else(|e| panic!("cannot parse {rel}: {e}"))
}

/// `Err` naming `what` for an unexpected error.
pub(crate) fn ok_or_err<T, E: Debug>(what: &str, r: Result<T, E>) -> Result<T, String> {
    r.map_err(|e| format!("{what}: unexpected error {e:?}"))
}

/// "status: provenance", or the status alone.
pub(crate) fn source(status: &str, provenance: Option<&str>) -> String {
    match provenance {
        Some(p) => format!("{status}: {p}"),
        None => status.to_owned(),
    }
}

/// Runs vectors, collects failures (including panics inside a check) and reports them all.
pub(crate) struct Report {
    group: &'static str,
    checked: usize,
    failures: Vec<String>,
}

impl Report {
    pub(crate) fn new(group: &'static str) -> Self {
        Self {
            group,
            checked: 0,
            failures: Vec::new(),
        }
    }

    pub(crate) fn run(
        &mut self,
        i: usize,
        id: &str,
        source: &str,
        check: impl FnOnce() -> Result<(), String>,
    ) {
        self.checked += 1;
        let outcome = catch_unwind(AssertUnwindSafe(check)).unwrap_or_else(|panic| {
            let msg = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                .unwrap_or_default();
            Err(format!("panicked: {msg}"))
        });
        if let Err(detail) = outcome {
            self.failures
                .push(format!("Failed vector #{i} {id} ({source}): {detail}"));
        }
    }

    /// Panics with every failure; also pins how many vectors ran so that an emptied or
    /// truncated vector file cannot pass silently.
    pub(crate) fn finish(self, expected_count: usize) {
        eprintln!("{}: {} vectors checked", self.group, self.checked);
        assert!(
            self.failures.is_empty(),
            "{}: {} of {} vectors failed:\n{}",
            self.group,
            self.failures.len(),
            self.checked,
            self.failures.join("\n")
        );
        assert_eq!(
            self.checked, expected_count,
            "{}: vector count changed; update the expected count after reviewing the new vectors",
            self.group
        );
    }
}

/// `return Err(..)` unless `actual == expected`, naming the field.
macro_rules! ensure_eq {
    ($what:expr, $actual:expr, $expected:expr $(,)?) => {
        match (&$actual, &$expected) {
            (actual, expected) => {
                if *actual != *expected {
                    return Err(format!(
                        "{}: expected {:?}, got {:?}",
                        $what, expected, actual
                    ));
                }
            }
        }
    };
}

/// `return Err(..)` unless the condition holds.
macro_rules! ensure {
    ($cond:expr, $($fmt:tt)+) => {
        if !$cond {
            return Err(format!($($fmt)+));
        }
    };
}
