//! UI tests of `#[wechat_handler]`, with trybuild: `ui/pass/*.rs` compile and run (every kind,
//! extractor and return type, and the shape of the expansion); each `ui/fail/*.rs` fails with
//! exactly the diagnostic in its `.stderr`.
//!
//! The `.stderr` files are pinned to the workspace's toolchain (rustc 1.95). After a deliberate
//! change to a diagnostic, bless them with `TRYBUILD=overwrite cargo test -p wechat-macros
//! --test ui` and review the diff like code.

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.pass("tests/ui/pass/*.rs");
    t.compile_fail("tests/ui/fail/*.rs");
}
