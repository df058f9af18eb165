//! The hardened XML reader alone: `xml::Document::parse_bytes` on arbitrary bytes, then a walk of
//! the whole tree (termination, depth and element bounds, `child()`/`child_text()` consistency)
//! and a serialize/re-parse round trip that must give the same tree.

#![no_main]

use libfuzzer_sys::fuzz_target;
use wechat_core::xml::Document;
use wechat_fuzz::{check_document, check_round_trip};

fuzz_target!(|data: &[u8]| {
    let Ok(doc) = Document::parse_bytes(data) else {
        return;
    };
    let text = std::str::from_utf8(data).expect("parse_bytes accepted invalid UTF-8");
    // Parsing is deterministic and parse/parse_bytes agree.
    let again = Document::parse(text).expect("parse refuses what parse_bytes accepted");
    wechat_fuzz::assert_same_tree(doc.root(), again.root());
    check_document(&doc);
    check_round_trip(&doc);
});
