//! The XML reader's defences, tested through every public entry point that reads XML:
//! `xml::Document::{parse, parse_bytes}`, `Message::{from_xml, from_bytes}` and
//! `MsgCrypt::decrypt_message` (which parses the envelope before checking anything else).
//!
//! - DOCTYPE and entity declarations (billion laughs, XXE) are refused with `XmlDoctype`;
//! - nesting bombs are refused with `XmlTooDeep`, oversized input with `XmlTooLarge`;
//! - invalid UTF-8 is refused with `InvalidUtf8`;
//! - raw control characters `\x00`–`\x1F` in text are kept, byte for byte;
//! - the writer of replies, on the other hand, strips what XML 1.0 forbids, so an echoed NUL
//!   never makes a reply WeChat cannot parse (issue 16);
//! - coordinates are finite and on the globe (issue 16).

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use wechat_core::xml::{Document, MAX_DEPTH, MAX_ELEMENTS, MAX_INPUT_BYTES};
use wechat_core::{ErrorKind, Message, MsgCrypt};

const KEY: &str = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG";
const HEADER: &str = "<ToUserName><![CDATA[gh_account]]></ToUserName>\
    <FromUserName><![CDATA[oUser]]></FromUserName><CreateTime>1700000000</CreateTime>\
    <MsgType><![CDATA[text]]></MsgType>";

fn crypt() -> MsgCrypt {
    MsgCrypt::new("token", KEY, "wx0123456789abcdef").expect("valid key")
}

/// The error kind of every XML entry point for `input`; they must all agree.
fn kind_everywhere(input: &[u8]) -> ErrorKind {
    let from_bytes = Message::from_bytes(input)
        .expect_err("Message::from_bytes accepted it")
        .into_kind();
    let parse_bytes = Document::parse_bytes(input)
        .expect_err("Document::parse_bytes accepted it")
        .into_kind();
    assert_eq!(
        from_bytes, parse_bytes,
        "from_bytes vs parse_bytes on {input:?}"
    );
    if let Ok(text) = std::str::from_utf8(input) {
        assert_eq!(
            Message::from_xml(text)
                .expect_err("Message::from_xml accepted it")
                .into_kind(),
            from_bytes,
            "from_xml on {text:?}"
        );
        assert_eq!(
            Document::parse(text)
                .expect_err("Document::parse accepted it")
                .into_kind(),
            from_bytes,
            "Document::parse on {text:?}"
        );
    }
    // The envelope is parsed before the signature is checked, so a bad signature does not
    // mask the XML error.
    let envelope = crypt()
        .decrypt_message("bad-signature", "1700000000", "nonce", input)
        .expect_err("decrypt_message accepted it")
        .into_kind();
    assert_eq!(envelope, from_bytes, "decrypt_message on {input:?}");
    from_bytes
}

fn text_message(content_xml: &str) -> String {
    format!("<xml>{HEADER}<Content>{content_xml}</Content><MsgId>1</MsgId></xml>")
}

fn content_of(xml: &str) -> String {
    match Message::from_xml(xml).expect("a valid message") {
        Message::Text(text) => text.content,
        other => panic!("not a text message: {other:?}"),
    }
}

// ---------------------------------------------------------------------------------------------
// DOCTYPE / ENTITY
// ---------------------------------------------------------------------------------------------

#[test]
fn doctype_and_entity_declarations_are_refused() {
    let cases = [
        "<!DOCTYPE xml><xml/>".to_owned(),
        "<!doctype xml><xml/>".to_owned(),
        "<!DocType xml><xml/>".to_owned(),
        "<?xml version=\"1.0\"?>\n<!DOCTYPE xml [<!ENTITY a \"b\">]>\n<xml>&a;</xml>".to_owned(),
        // XXE: an external entity that a resolving parser would read from disk or network.
        format!(
            "<!DOCTYPE foo [<!ENTITY xxe SYSTEM \"file:///etc/passwd\">]><xml>{HEADER}<Content>&xxe;</Content></xml>"
        ),
        "<!DOCTYPE foo SYSTEM \"http://example.com/evil.dtd\"><xml/>".to_owned(),
        "<!DOCTYPE foo [<!ENTITY % p SYSTEM \"http://example.com/p\"> %p;]><xml/>".to_owned(),
        // Declarations inside the root, and after it.
        "<xml><!ENTITY a \"b\"></xml>".to_owned(),
        "<xml><!ELEMENT xml ANY></xml>".to_owned(),
        "<xml><!ATTLIST xml a CDATA #IMPLIED></xml>".to_owned(),
        "<xml/><!DOCTYPE xml>".to_owned(),
        // In the middle of a real message.
        format!("<xml>{HEADER}<!DOCTYPE x><Content>hi</Content></xml>"),
    ];
    for input in &cases {
        assert_eq!(
            kind_everywhere(input.as_bytes()),
            ErrorKind::XmlDoctype,
            "{input}"
        );
    }
}

#[test]
fn billion_laughs_is_refused_before_any_expansion() {
    let mut dtd = String::from("<!DOCTYPE lolz [\n<!ENTITY lol \"lol\">\n");
    for level in 1..=9 {
        let previous = if level == 1 {
            "lol".to_owned()
        } else {
            format!("lol{}", level - 1)
        };
        dtd.push_str(&format!(
            "<!ENTITY lol{level} \"{}\">\n",
            format!("&{previous};").repeat(10)
        ));
    }
    dtd.push_str("]>\n");
    let bomb =
        format!("<?xml version=\"1.0\"?>\n{dtd}<xml>{HEADER}<Content>&lol9;</Content></xml>");
    assert_eq!(kind_everywhere(bomb.as_bytes()), ErrorKind::XmlDoctype);

    // Without its declaration, the reference is an unknown entity, refused where it stands.
    let reference = text_message("&lol9;");
    let offset = reference.find("&lol9;").unwrap();
    match Document::parse(&reference).unwrap_err().into_kind() {
        ErrorKind::Xml { offset: at, .. } => assert_eq!(at, offset),
        other => panic!("expected an XML error, got {other:?}"),
    }
    assert!(matches!(
        Message::from_xml(&reference).unwrap_err().kind(),
        ErrorKind::Xml { .. }
    ));
}

#[test]
fn a_doctype_inside_an_encrypted_payload_is_refused_after_decryption() {
    let crypt = crypt();
    let inner =
        format!("<!DOCTYPE x [<!ENTITY a \"b\">]><xml>{HEADER}<Content>&a;</Content></xml>");
    let envelope = crypt
        .encrypt_message(&inner, "1700000000", "nonce")
        .unwrap();
    let signature = Document::parse(&envelope)
        .unwrap()
        .root()
        .child_text("MsgSignature")
        .unwrap()
        .to_owned();
    // Decryption is not parsing: the plaintext comes back as it was...
    let plaintext = crypt
        .decrypt_message(&signature, "1700000000", "nonce", envelope.as_bytes())
        .unwrap();
    assert_eq!(plaintext, inner);
    // ...and the message reader refuses it.
    assert_eq!(
        Message::from_xml(&plaintext).unwrap_err().into_kind(),
        ErrorKind::XmlDoctype
    );
}

#[test]
fn declarations_inside_comments_and_cdata_are_just_text() {
    let in_comment =
        format!("<xml><!-- <!DOCTYPE x> <!ENTITY a \"b\"> -->{HEADER}<Content>ok</Content></xml>");
    assert_eq!(content_of(&in_comment), "ok");
    let in_cdata = text_message("<![CDATA[<!DOCTYPE x [<!ENTITY a \"b\">]>&a;]]>");
    assert_eq!(content_of(&in_cdata), "<!DOCTYPE x [<!ENTITY a \"b\">]>&a;");
    let escaped = text_message("&lt;!DOCTYPE x&gt;");
    assert_eq!(content_of(&escaped), "<!DOCTYPE x>");
}

// ---------------------------------------------------------------------------------------------
// Depth and size
// ---------------------------------------------------------------------------------------------

fn nested(depth: usize) -> String {
    format!("{}{}", "<a>".repeat(depth), "</a>".repeat(depth))
}

#[test]
fn nesting_up_to_max_depth_is_accepted_and_one_more_is_refused() {
    assert!(Document::parse(&nested(MAX_DEPTH)).is_ok());
    assert_eq!(
        kind_everywhere(nested(MAX_DEPTH + 1).as_bytes()),
        ErrorKind::XmlTooDeep
    );
}

/// `MAX_DEPTH` is the deepest nesting accepted, self-closing elements included (regression: an
/// empty element used to be accepted one level below it, so a walk of the document met depth
/// `MAX_DEPTH + 1`).
#[test]
fn a_self_closing_element_below_max_depth_is_refused() {
    let input = format!(
        "{}<b/>{}",
        "<a>".repeat(MAX_DEPTH),
        "</a>".repeat(MAX_DEPTH)
    );
    assert_eq!(kind_everywhere(input.as_bytes()), ErrorKind::XmlTooDeep);
}

#[test]
fn depth_bombs_are_refused() {
    // Closed, unclosed, and inside a real message, each far deeper than the limit but below
    // the size limit, so depth is what stops them (and no recursion can overflow the stack).
    let closed = nested(100_000);
    let unclosed = "<a>".repeat(300_000);
    let in_message = format!("<xml>{HEADER}<Content>x</Content>{}</xml>", nested(50_000));
    for bomb in [&closed, &unclosed, &in_message] {
        assert!(bomb.len() < MAX_INPUT_BYTES);
        assert_eq!(kind_everywhere(bomb.as_bytes()), ErrorKind::XmlTooDeep);
    }
}

#[test]
fn oversized_documents_are_refused() {
    let too_long = text_message(&"x".repeat(MAX_INPUT_BYTES));
    assert_eq!(kind_everywhere(too_long.as_bytes()), ErrorKind::XmlTooLarge);
    let too_many = format!(
        "<xml>{HEADER}<Content>x</Content>{}</xml>",
        "<e/>".repeat(MAX_ELEMENTS)
    );
    assert!(too_many.len() < MAX_INPUT_BYTES);
    assert_eq!(kind_everywhere(too_many.as_bytes()), ErrorKind::XmlTooLarge);
}

// ---------------------------------------------------------------------------------------------
// Invalid UTF-8
// ---------------------------------------------------------------------------------------------

#[test]
fn invalid_utf8_is_refused() {
    let sequences: [&[u8]; 7] = [
        b"\xff",             // never valid
        b"\x80",             // lone continuation byte
        b"\xc0\xaf",         // overlong '/'
        b"\xed\xa0\x80",     // UTF-16 surrogate
        b"\xf0\x9f\x98",     // truncated 4-byte sequence
        b"\xf4\x90\x80\x80", // above U+10FFFF
        b"a\xe4\xbd",        // truncated Chinese character
    ];
    for bad in sequences {
        let places = [
            [
                b"<xml>".as_slice(),
                HEADER.as_bytes(),
                b"<Content><![CDATA[",
                bad,
                b"]]></Content></xml>",
            ]
            .concat(),
            [
                b"<xml>".as_slice(),
                HEADER.as_bytes(),
                b"<Content>",
                bad,
                b"</Content></xml>",
            ]
            .concat(),
            [b"<xml><Na".as_slice(), bad, b"me>x</Na", bad, b"me></xml>"].concat(),
            [b"<xml></xml>".as_slice(), bad].concat(),
        ];
        for input in &places {
            assert_eq!(kind_everywhere(input), ErrorKind::InvalidUtf8, "{input:?}");
        }
    }
}

#[test]
fn an_encrypted_payload_that_is_not_utf8_is_refused() {
    // CBC malleability: flipping byte 4 of the first ciphertext block garbles the random prefix
    // (ignored) and flips the same bit of plaintext byte 16 + 4, the first message byte.
    let crypt = crypt();
    let encrypt = crypt.encrypt_with_random("abc", &[7; 16]);
    let mut bytes = STANDARD.decode(&encrypt).unwrap();
    bytes[4] ^= b'a' ^ 0xff;
    let tampered = STANDARD.encode(&bytes);
    assert_eq!(
        crypt.decrypt(&tampered).unwrap_err().into_kind(),
        ErrorKind::InvalidUtf8
    );
    let signature = crypt.signature("1700000000", "nonce", &tampered);
    assert_eq!(
        crypt
            .verify_and_decrypt(&signature, "1700000000", "nonce", &tampered)
            .unwrap_err()
            .into_kind(),
        ErrorKind::InvalidUtf8
    );
    // The same flip to a valid byte decrypts, proving the flip lands on the message.
    let mut bytes = STANDARD.decode(&encrypt).unwrap();
    bytes[4] ^= b'a' ^ b'z';
    assert_eq!(crypt.decrypt(&STANDARD.encode(&bytes)).unwrap(), "zbc");
}

// ---------------------------------------------------------------------------------------------
// Control characters
// ---------------------------------------------------------------------------------------------

#[test]
fn every_control_character_is_kept_in_cdata_and_plain_text() {
    for byte in 0u8..0x20 {
        let c = char::from(byte);
        let text = format!("x{c}y{c}");
        let cdata = text_message(&format!("<![CDATA[{text}]]>"));
        assert_eq!(content_of(&cdata), text, "CDATA with {byte:#04x}");
        let plain = text_message(&text);
        assert_eq!(content_of(&plain), text, "plain text with {byte:#04x}");
        // from_bytes agrees.
        let Message::Text(msg) = Message::from_bytes(plain.as_bytes()).unwrap() else {
            panic!("not a text message");
        };
        assert_eq!(msg.content, text);
    }
}

#[test]
fn all_control_characters_at_once_survive_every_path() {
    let all: String = (0u8..0x20).map(char::from).collect();
    let text = format!("{all}中😀{all}]]>{all}");
    // Written as CDATA with `]]>` split, as WeChat would send it. (Not with `Reply`, which
    // strips what XML 1.0 forbids: see `replies_strip_what_xml_1_0_forbids` below.)
    let mut content = String::new();
    wechat_core::xml::push_cdata(&mut content, &text);
    let xml = text_message(&content);
    assert_eq!(content_of(&xml), text);
    // And through safe mode.
    let crypt = crypt();
    let envelope = crypt.encrypt_message(&xml, "1700000000", "nonce").unwrap();
    let signature = Document::parse(&envelope)
        .unwrap()
        .root()
        .child_text("MsgSignature")
        .unwrap()
        .to_owned();
    let plaintext = crypt
        .decrypt_message(&signature, "1700000000", "nonce", envelope.as_bytes())
        .unwrap();
    assert_eq!(plaintext, xml);
    assert_eq!(content_of(&plaintext), text);
}

#[test]
fn control_characters_in_header_fields_are_kept() {
    let xml = "<xml><ToUserName>gh\u{0}\u{1}</ToUserName><FromUserName><![CDATA[o\r\n\t]]></FromUserName>\
               <CreateTime>1</CreateTime><MsgType>text</MsgType><Content>\u{1f}</Content></xml>";
    let msg = Message::from_xml(xml).unwrap();
    assert_eq!(msg.header().to_user_name, "gh\u{0}\u{1}");
    assert_eq!(msg.header().from_user_name, "o\r\n\t");
}

// ---- coordinates (issue 16) -------------------------------------------------------------

/// Each float field of a message, in a message where it can be replaced: (field, XML with a
/// `{}` where the field's value goes).
fn coordinate_messages() -> Vec<(&'static str, String)> {
    let head = |msg_type: &str| {
        format!(
            "<xml><ToUserName><![CDATA[gh_account]]></ToUserName>\
             <FromUserName><![CDATA[oUser]]></FromUserName><CreateTime>1700000000</CreateTime>\
             <MsgType><![CDATA[{msg_type}]]></MsgType>"
        )
    };
    let location = |x: &str, y: &str| {
        format!(
            "{}<Location_X>{x}</Location_X><Location_Y>{y}</Location_Y><Scale>20</Scale>\
             <Label><![CDATA[here]]></Label><MsgId>1</MsgId></xml>",
            head("location")
        )
    };
    let event = |lat: &str, lon: &str, precision: &str| {
        format!(
            "{}<Event><![CDATA[LOCATION]]></Event><Latitude>{lat}</Latitude>\
             <Longitude>{lon}</Longitude><Precision>{precision}</Precision></xml>",
            head("event")
        )
    };
    let select = |x: &str, y: &str| {
        format!(
            "{}<Event><![CDATA[location_select]]></Event><EventKey><![CDATA[k]]></EventKey>\
             <SendLocationInfo><Location_X><![CDATA[{x}]]></Location_X>\
             <Location_Y><![CDATA[{y}]]></Location_Y><Scale><![CDATA[15]]></Scale>\
             <Label><![CDATA[here]]></Label><Poiname><![CDATA[]]></Poiname></SendLocationInfo></xml>",
            head("event")
        )
    };
    vec![
        ("Location_X", location("{}", "113.358803")),
        ("Location_Y", location("23.134521", "{}")),
        ("Latitude", event("{}", "113.352425", "119.385040")),
        ("Longitude", event("23.137466", "{}", "119.385040")),
        ("Precision", event("23.137466", "113.352425", "{}")),
        ("Location_X", select("{}", "113")),
        ("Location_Y", select("23", "{}")),
    ]
}

#[test]
fn issue16_non_finite_coordinates_are_refused_with_the_field_named() {
    for (field, template) in coordinate_messages() {
        for bad in [
            "NaN",
            "nan",
            "-NaN",
            "inf",
            "-inf",
            "+inf",
            "Infinity",
            "-Infinity",
            "infinity",
            "1e309",
            "-1e309",
            " NaN ",
        ] {
            let xml = template.replace("{}", bad);
            let err = Message::from_xml(&xml).expect_err(&format!("{field}={bad:?} accepted"));
            assert_eq!(
                err.kind(),
                &ErrorKind::InvalidField(field),
                "{field}={bad:?}"
            );
            assert!(err.to_string().contains(field), "{err}");
        }
    }
}

#[test]
fn issue16_coordinates_off_the_globe_are_refused() {
    for (field, template) in coordinate_messages() {
        let bad: &[&str] = match field {
            "Location_X" | "Latitude" => &["90.000001", "-90.5", "1e300", "180"],
            "Location_Y" | "Longitude" => &["180.000001", "-181", "1e300"],
            // Precision: no documented bound, only finiteness.
            _ => &[],
        };
        for bad in bad {
            let xml = template.replace("{}", bad);
            let err = Message::from_xml(&xml).expect_err(&format!("{field}={bad:?} accepted"));
            assert_eq!(
                err.kind(),
                &ErrorKind::InvalidField(field),
                "{field}={bad:?}"
            );
        }
    }
}

#[test]
fn issue16_ordinary_coordinates_still_parse() {
    use wechat_core::message::Event;
    for (field, template) in coordinate_messages() {
        for good in [
            "0",
            "-0",
            "23.134521",
            " 23.5 ",
            "90",
            "-90",
            "1e1",
            "-45.25",
        ] {
            let xml = template.replace("{}", good);
            let msg =
                Message::from_xml(&xml).unwrap_or_else(|e| panic!("{field}={good:?} refused: {e}"));
            let expected: f64 = good.trim().parse().unwrap();
            let got = match &msg {
                Message::Location(m) if field == "Location_X" => m.latitude,
                Message::Location(m) => m.longitude,
                Message::Event(Event::Location(e)) => match field {
                    "Latitude" => e.latitude,
                    "Longitude" => e.longitude,
                    _ => e.precision,
                },
                Message::Event(Event::LocationSelect(e)) if field == "Location_X" => {
                    e.send_location_info.latitude
                }
                Message::Event(Event::LocationSelect(e)) => e.send_location_info.longitude,
                other => panic!("{other:?}"),
            };
            assert_eq!(got.to_bits(), expected.to_bits(), "{field}={good:?}");
        }
    }
    // Longitudes reach ±180.
    let (_, template) = &coordinate_messages()[1];
    assert!(Message::from_xml(&template.replace("{}", "-180")).is_ok());
    assert!(Message::from_xml(&template.replace("{}", "180")).is_ok());
    // An absent Precision still reads as 0.
    let xml = coordinate_messages()[4]
        .1
        .replace("<Precision>{}</Precision>", "");
    let Message::Event(Event::Location(e)) = Message::from_xml(&xml).unwrap() else {
        panic!()
    };
    assert_eq!(e.precision.to_bits(), 0f64.to_bits());
}

// ---- replies (issue 16) -------------------------------------------------------------------

#[test]
fn issue16_replies_strip_what_xml_1_0_forbids() {
    let all: String = (0u8..0x20).map(char::from).collect();
    let text = format!("{all}中😀\u{fffe}{all}]]>\u{ffff}{all}");
    // The message keeps them all (the reader's promise) ...
    let mut content = String::new();
    wechat_core::xml::push_cdata(&mut content, &text);
    let echoed = content_of(&text_message(&content));
    assert_eq!(echoed, text);
    // ... and an echo of it is valid XML 1.0: only tab, LF and CR remain of the controls.
    let reply = wechat_core::Reply::text(echoed)
        .to_xml("o\0User", "gh_account", 1)
        .unwrap();
    let doc = Document::parse(&reply).unwrap();
    assert_eq!(
        doc.root().child_text("Content"),
        Some("\t\n\r中😀\t\n\r]]>\t\n\r")
    );
    assert_eq!(doc.root().child_text("ToUserName"), Some("oUser"));
    assert!(
        !reply
            .bytes()
            .any(|b| b < 0x20 && !matches!(b, b'\t' | b'\n' | b'\r')),
        "{reply:?}"
    );
    assert!(!reply.contains(['\u{fffe}', '\u{ffff}']), "{reply:?}");
}
