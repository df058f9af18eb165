//! Invariant checks shared by the fuzz targets in `fuzz_targets/`.
//!
//! Every check panics (so libFuzzer reports a crash) when `wechat-core` breaks a property that
//! must hold for any input; none of them panics on an input that is merely invalid.

use wechat_core::message::Event;
use wechat_core::xml::{Document, Element, MAX_DEPTH, MAX_ELEMENTS, MAX_INPUT_BYTES, push_cdata};
use wechat_core::{Message, Result};

/// Children compared against `child()` / `child_text()` per element (keeps the check linear).
const CHILD_LOOKUPS: usize = 16;

/// Walks every element of `doc` and checks the tree invariants; returns how many elements it saw.
///
/// The walk itself is the termination check: every step of `Children` must move forward, so a
/// broken `end` index would show as a count above [`MAX_ELEMENTS`] (or a hang/timeout).
pub fn check_document(doc: &Document<'_>) -> usize {
    let mut count = 0;
    walk(doc.root(), 1, &mut count);
    count
}

fn walk(el: Element<'_, '_>, level: usize, count: &mut usize) {
    *count += 1;
    assert!(
        *count <= MAX_ELEMENTS,
        "walk visited more than MAX_ELEMENTS elements"
    );
    // MAX_DEPTH bounds every element, self-closing ones included.
    assert!(level <= MAX_DEPTH, "element nested {level} levels deep");

    let name = el.name();
    assert!(!name.is_empty(), "empty element name");
    assert!(
        !name
            .bytes()
            .any(|b| b.is_ascii_whitespace() || b == b'/' || b == b'>'),
        "element name {name:?} contains a delimiter"
    );

    let children: Vec<_> = el.children().collect();
    assert_eq!(
        el.has_children(),
        !children.is_empty(),
        "has_children() disagrees with children() for <{name}>"
    );
    if el.has_children() {
        assert_eq!(el.text(), "", "<{name}> has children and text");
    }
    for (i, child) in children.iter().take(CHILD_LOOKUPS).enumerate() {
        let first = children
            .iter()
            .position(|c| c.name() == child.name())
            .expect("a child is among the children");
        if first == i {
            let found = el.child(child.name()).expect("child() misses a child");
            assert_eq!(found.name(), child.name());
            assert_eq!(
                found.text(),
                child.text(),
                "child() is not the first <{}>",
                child.name()
            );
            assert_eq!(el.child_text(child.name()), Some(child.text()));
        }
    }
    for child in children {
        walk(child, level + 1, count);
    }
}

/// How [`serialize`] writes leaf text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextStyle {
    /// `&`, `<` and `>` as entities.
    Escaped,
    /// As CDATA via `wechat_core::xml::push_cdata` (which splits a `]]>` across sections).
    Cdata,
}

/// Writes `doc` back as XML: elements only, leaf text escaped or in CDATA, everything the reader
/// drops (attributes, comments, mixed-content text) left out. Re-reading it must give the same
/// tree.
#[must_use]
pub fn serialize(doc: &Document<'_>, style: TextStyle) -> String {
    let mut out = String::new();
    write_element(doc.root(), style, &mut out);
    out
}

fn write_element(el: Element<'_, '_>, style: TextStyle, out: &mut String) {
    out.push('<');
    out.push_str(el.name());
    out.push('>');
    if el.has_children() {
        for child in el.children() {
            write_element(child, style, out);
        }
    } else if style == TextStyle::Cdata {
        if !el.text().is_empty() {
            push_cdata(out, el.text());
        }
    } else {
        for c in el.text().chars() {
            match c {
                '&' => out.push_str("&amp;"),
                '<' => out.push_str("&lt;"),
                '>' => out.push_str("&gt;"),
                c => out.push(c),
            }
        }
    }
    out.push_str("</");
    out.push_str(el.name());
    out.push('>');
}

/// Asserts that two trees have the same names, texts and shape.
pub fn assert_same_tree(a: Element<'_, '_>, b: Element<'_, '_>) {
    assert_eq!(a.name(), b.name());
    assert_eq!(a.text(), b.text(), "text of <{}> changed", a.name());
    assert_eq!(
        a.has_children(),
        b.has_children(),
        "shape of <{}> changed",
        a.name()
    );
    let (mut ca, mut cb) = (a.children(), b.children());
    loop {
        match (ca.next(), cb.next()) {
            (Some(x), Some(y)) => assert_same_tree(x, y),
            (None, None) => break,
            _ => panic!("<{}> lost or gained a child", a.name()),
        }
    }
}

/// The serialize/re-parse round trip of a parsed document, in both text styles (skipped when
/// escaping would push the output past the reader's size limit).
pub fn check_round_trip(doc: &Document<'_>) {
    for style in [TextStyle::Escaped, TextStyle::Cdata] {
        let written = serialize(doc, style);
        if written.len() > MAX_INPUT_BYTES {
            continue;
        }
        let again = match Document::parse(&written) {
            Ok(again) => again,
            Err(e) => panic!("re-reading the {style:?} document failed: {e:?}\n{written:?}"),
        };
        assert_same_tree(doc.root(), again.root());
    }
}

/// Calls every accessor of `msg` and checks it against the document it came from.
pub fn check_message(msg: &Message, root: Element<'_, '_>) {
    let header = msg.header();
    assert_eq!(
        Some(header.to_user_name.as_str()),
        root.child_text("ToUserName")
    );
    assert_eq!(
        Some(header.from_user_name.as_str()),
        root.child_text("FromUserName")
    );
    let create_time = root
        .child_text("CreateTime")
        .expect("parsed without CreateTime");
    assert_eq!(
        create_time.trim().parse::<u64>().ok(),
        Some(header.create_time)
    );

    let msg_type = msg.msg_type();
    let raw_type = root.child_text("MsgType").expect("parsed without MsgType");
    if matches!(msg, Message::Unknown(_)) {
        assert_eq!(msg_type, raw_type);
    } else {
        assert!(
            msg_type.eq_ignore_ascii_case(raw_type),
            "msg_type() {msg_type:?} for MsgType {raw_type:?}"
        );
    }

    let key = msg.event_key();
    match msg.as_event() {
        Some(event) => {
            assert!(matches!(msg, Message::Event(_)));
            assert!(msg_type.eq_ignore_ascii_case("event"));
            assert!(std::ptr::eq(event.header(), header), "two headers");
            assert_eq!(key, event.event_key());
            let name = event.event();
            let raw_event = root.child_text("Event").unwrap_or_default();
            if matches!(event, Event::Unknown(_)) {
                assert_eq!(name, raw_event);
            } else {
                assert!(
                    name.eq_ignore_ascii_case(raw_event),
                    "event() {name:?} for {raw_event:?}"
                );
            }
            if let Event::Subscribe(sub) = event {
                let scene = sub.scene();
                let expected = sub
                    .event_key
                    .as_deref()
                    .and_then(|k| k.strip_prefix("qrscene_"));
                assert_eq!(scene, expected);
            }
        }
        None => assert_eq!(key, None, "event_key() without an event"),
    }

    // Debug and Clone must not panic and must agree (Debug, not ==: a float field may be NaN).
    let debug = format!("{msg:?}");
    assert_eq!(debug, format!("{:?}", msg.clone()));
}

/// `Debug` of a parse result, to compare results that may hold NaN floats.
#[must_use]
pub fn debug(result: &Result<Message>) -> String {
    format!("{result:?}")
}

/// Parses `xml` as a message and, when it parses, checks it against its own document.
pub fn parse_and_check_message(xml: &str) {
    let parsed = Message::from_xml(xml);
    match Document::parse(xml) {
        Err(doc_err) => {
            let err = parsed.expect_err("Message parsed from a document the reader refuses");
            assert_eq!(
                err.kind(),
                doc_err.kind(),
                "from_xml and Document::parse disagree"
            );
        }
        Ok(doc) => {
            check_document(&doc);
            assert_eq!(
                debug(&parsed),
                debug(&Message::from_element(doc.root(), xml)),
                "from_xml and from_element disagree"
            );
            if let Ok(msg) = &parsed {
                check_message(msg, doc.root());
            }
        }
    }
}
