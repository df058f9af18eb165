//! Arbitrary bytes as a pushed message: `Message::from_bytes`, and for UTF-8 input also the
//! reader (`xml::Document::parse`) with its tree walk, `Message::from_element`, and every
//! accessor of the parsed message (`header()`, `msg_type()`, `as_event()`, `event_key()`, ...).

#![no_main]

use libfuzzer_sys::fuzz_target;
use wechat_core::xml::Document;
use wechat_core::{ErrorKind, Message};
use wechat_fuzz::{debug, parse_and_check_message};

fuzz_target!(|data: &[u8]| {
    let from_bytes = Message::from_bytes(data);
    match std::str::from_utf8(data) {
        Err(_) => {
            let err = from_bytes.expect_err("Message parsed from invalid UTF-8");
            assert_eq!(err.kind(), &ErrorKind::InvalidUtf8);
            let err = Document::parse_bytes(data).expect_err("Document parsed from invalid UTF-8");
            assert_eq!(err.kind(), &ErrorKind::InvalidUtf8);
        }
        Ok(xml) => {
            assert_eq!(
                debug(&from_bytes),
                debug(&Message::from_xml(xml)),
                "from_bytes and from_xml disagree"
            );
            parse_and_check_message(xml);
        }
    }
});
