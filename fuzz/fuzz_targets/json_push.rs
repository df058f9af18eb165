//! Mini Program message push in JSON (消息推送, 数据格式 JSON) through wechat-tower's public
//! layers: its reader is crate-private and documented as "the same document as its XML form with
//! objects for elements, arrays for repeated elements and numbers where XML has digits", and its
//! replies as "mirroring [the] XML form". The target holds it to both, on three paths per input:
//!
//! - **A** the bytes are a JSON push (when the first non-blank byte is `{`), posted to an
//!   `XmlLayer`. The target writes the XML form of the same JSON itself (entities instead of
//!   CDATA) and posts that too: both must be refused, or both reach the handler with the same
//!   message and get the same reply, the JSON one the mirror of the XML one. A JSON push the
//!   reference refuses (not an object, a name outside `[A-Za-z0-9_.-]`, no message in its XML form)
//!   must be answered 400.
//! - **B** the bytes are an XML push: when they parse, their JSON form (elements as keys, repeated
//!   elements as arrays, digit strings as numbers) must give the same message and the mirrored
//!   reply.
//! - **C** the bytes (lossy UTF-8) are the plaintext of a safe-mode push in a JSON envelope
//!   (`{"ToUserName", "Encrypt"}`, signed), posted to the full `WechatLayer`: it must answer as
//!   the `XmlLayer` answers the plaintext, with the reply sealed in a JSON envelope whose
//!   `MsgSignature` verifies and whose `Encrypt` decrypts to the plaintext layer's reply.
//!
//! The handler records the message and answers with a reply built from its fields (text echoed,
//! media ids, a news article per event, ...), so attacker-chosen strings reach the reply writers.

#![no_main]

use std::convert::Infallible;
use std::fmt::Write as _;
use std::future::{Future, Ready, ready};
use std::pin::pin;
use std::sync::{Arc, LazyLock, Mutex, PoisonError};
use std::task::{Context, Poll, Waker};

use bytes::Bytes;
use http::{Request, StatusCode, header};
use http_body_util::{BodyExt, Full};
use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use tower_layer::Layer;
use tower_service::Service;
use wechat_core::crypt::RANDOM_LEN;
use wechat_core::message::Event;
use wechat_core::reply::{Article, Music};
use wechat_core::xml::{Document, Element, MAX_INPUT_BYTES, push_cdata};
use wechat_core::{Message, MsgCrypt, Reply, signature};
use wechat_fuzz::assert_same_tree;
use wechat_tower::server::{Wechat, WechatLayer, Xml, XmlLayer};
use wechat_tower::{DEFAULT_BODY_LIMIT, WechatConfig};

/// The clock of both layers, so replies carry the same `CreateTime`.
const NOW: u64 = 1_700_000_000;
/// The benchmark fixture's account (as `decrypt_message`).
const TOKEN: &str = "test_token";
const KEY: &str = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG";
const APPID: &str = "wx0123456789abcdef";
const TIMESTAMP: &str = "1700000000";
const NONCE: &str = "1234567890";

static CRYPT: LazyLock<MsgCrypt> =
    LazyLock::new(|| MsgCrypt::new(TOKEN, KEY, APPID).expect("fixture key is valid"));
/// The plaintext layer and (a handle on) its handler.
static PLAIN: LazyLock<(Xml<Capture>, Capture)> = LazyLock::new(|| {
    let capture = Capture::default();
    let service = XmlLayer::new().clock(|| NOW).layer(capture.clone());
    (service, capture)
});
/// The full stack in safe mode, and its handler.
static SAFE: LazyLock<(Wechat<Capture>, Capture)> = LazyLock::new(|| {
    let config = WechatConfig::safe(TOKEN, KEY, APPID)
        .expect("fixture key is valid")
        .clock(|| NOW);
    let capture = Capture::default();
    (WechatLayer::new(config).layer(capture.clone()), capture)
});

fuzz_target!(|data: &[u8]| {
    if is_json(data) {
        path_a_json(data);
    } else {
        path_b_xml(data);
    }
    path_c_safe_mode(data);
});

fn is_json(body: &[u8]) -> bool {
    body.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{')
}

// ---------------------------------------------------------------------------------------------
// The handler and the driver.

/// Records the last message and answers with a reply made of its fields.
#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Option<Message>>>);

impl Capture {
    fn take(&self) -> Option<Message> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).take()
    }
}

impl Service<Message> for Capture {
    type Response = Reply;
    type Error = Infallible;
    type Future = Ready<Result<Reply, Infallible>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, msg: Message) -> Self::Future {
        let reply = reply_for(&msg);
        *self.0.lock().unwrap_or_else(PoisonError::into_inner) = Some(msg);
        ready(Ok(reply))
    }
}

fn reply_for(msg: &Message) -> Reply {
    let article = |title: &str, description: &str, url: &str| Article {
        title: title.to_owned(),
        description: description.to_owned(),
        pic_url: msg.header().from_user_name.clone(),
        url: url.to_owned(),
    };
    match msg {
        Message::Text(t) => Reply::text(&*t.content),
        Message::Image(i) => Reply::image(&*i.media_id),
        Message::Voice(v) => Reply::voice(&*v.media_id),
        Message::Video(v) => Reply::Video {
            media_id: v.media_id.clone(),
            title: Some(v.thumb_media_id.clone()),
            description: None,
        },
        Message::Location(l) => Reply::text(format!("{} {} {}", l.latitude, l.longitude, l.label)),
        Message::Link(l) => Reply::Music(Music {
            title: Some(l.title.clone()),
            description: Some(l.description.clone()),
            music_url: Some(l.url.clone()),
            hq_music_url: None,
            thumb_media_id: msg.header().to_user_name.clone(),
        }),
        Message::MiniProgramPage(p) => {
            Reply::News(vec![article(&p.title, &p.app_id, &p.page_path)])
        }
        Message::Event(e) => {
            let key = e.event_key().unwrap_or_default();
            Reply::News(vec![article(e.event(), key, key), article(key, "", "")])
        }
        Message::Unknown(u) => Reply::TransferCustomerService {
            kf_account: Some(u.msg_type.clone()),
        },
        _ => Reply::Success,
    }
}

/// An answer: status, content type, body, and the message the handler saw.
struct Answer {
    status: StatusCode,
    content_type: Option<String>,
    body: Bytes,
    message: Option<Message>,
}

fn post<S>((service, captured): &(S, Capture), uri: &str, body: Vec<u8>) -> Answer
where
    S: Service<Request<Full<Bytes>>, Response = http::Response<Full<Bytes>>, Error = Infallible>
        + Clone,
{
    let mut service = service.clone();
    let _ = captured.take();
    let request = Request::post(uri)
        .body(Full::new(Bytes::from(body)))
        .expect("request");
    let Ok(()) = block_on(std::future::poll_fn(|cx| service.poll_ready(cx)));
    let Ok(response) = block_on(service.call(request));
    let status = response.status();
    let content_type = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let Ok(body) = block_on(response.into_body().collect());
    Answer {
        status,
        content_type,
        body: body.to_bytes(),
        message: captured.take(),
    }
}

fn post_plain(body: Vec<u8>) -> Answer {
    post(&PLAIN, "/", body)
}

/// Nothing in these layers waits on I/O: every future is ready at once (or after a few polls).
fn block_on<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    let mut cx = Context::from_waker(Waker::noop());
    for _ in 0..64 {
        if let Poll::Ready(out) = future.as_mut().poll(&mut cx) {
            return out;
        }
    }
    panic!("a layer's future stays pending without I/O");
}

// ---------------------------------------------------------------------------------------------
// A: JSON in.

/// JSON names the reader takes (it writes them as element names).
fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-' || b == b'.')
}

/// The XML form of a JSON push, written independently of the reader: text escaped with
/// entities, not CDATA.
enum XmlForm {
    /// The escaped form.
    Xml(String),
    /// The CDATA form passes the 1 MiB limit of the XML reader: refused, whatever the rest.
    TooLarge,
    /// A name the reader must refuse.
    BadName,
}

fn xml_form(object: &serde_json::Map<String, Value>) -> XmlForm {
    let (mut escaped, mut cdata) = (String::from("<xml>"), String::from("<xml>"));
    for (name, value) in object {
        if let Err(form) = element(&mut escaped, &mut cdata, name, value) {
            return form;
        }
    }
    escaped.push_str("</xml>");
    cdata.push_str("</xml>");
    if cdata.len() > MAX_INPUT_BYTES {
        return XmlForm::TooLarge;
    }
    XmlForm::Xml(escaped)
}

fn element(
    escaped: &mut String,
    cdata: &mut String,
    name: &str,
    value: &Value,
) -> Result<(), XmlForm> {
    if !valid_name(name) {
        return Err(XmlForm::BadName);
    }
    // Stop early: repeating a long name over a long array multiplies the input's size. (A name
    // refused later in the document would then not be seen, but both mean 400.)
    if cdata.len() > MAX_INPUT_BYTES {
        return Err(XmlForm::TooLarge);
    }
    if let Value::Array(items) = value {
        for item in items {
            element(escaped, cdata, name, item)?;
        }
        return Ok(());
    }
    for out in [&mut *escaped, &mut *cdata] {
        let _ = write!(out, "<{name}>");
    }
    match value {
        Value::Null | Value::Array(_) => {}
        Value::Bool(b) => {
            escaped.push_str(&b.to_string());
            cdata.push_str(&b.to_string());
        }
        Value::Number(n) => {
            escaped.push_str(&n.to_string());
            cdata.push_str(&n.to_string());
        }
        Value::String(s) => {
            for c in s.chars() {
                match c {
                    '&' => escaped.push_str("&amp;"),
                    '<' => escaped.push_str("&lt;"),
                    '>' => escaped.push_str("&gt;"),
                    c => escaped.push(c),
                }
            }
            push_cdata(cdata, s);
        }
        Value::Object(children) => {
            for (child, v) in children {
                element(escaped, cdata, child, v)?;
            }
        }
    }
    for out in [&mut *escaped, &mut *cdata] {
        let _ = write!(out, "</{name}>");
    }
    Ok(())
}

fn path_a_json(data: &[u8]) {
    let json = post_plain(data.to_vec());
    let form = match serde_json::from_slice::<Value>(data) {
        Ok(Value::Object(object)) => xml_form(&object),
        _ => XmlForm::BadName,
    };
    let XmlForm::Xml(xml) = form else {
        assert_eq!(
            json.status,
            StatusCode::BAD_REQUEST,
            "refused JSON answered"
        );
        assert!(json.message.is_none());
        return;
    };
    if xml.len() > MAX_INPUT_BYTES {
        return;
    }
    let expected = Message::from_xml(&xml);
    match (&json.message, &expected) {
        (Some(got), Ok(expected)) => assert_same_message(got, expected, true),
        (None, Err(_)) => assert_eq!(json.status, StatusCode::BAD_REQUEST),
        _ => panic!(
            "JSON push: handler saw {:?}, its XML form reads {expected:?}\n{xml}",
            json.message
        ),
    }
    let as_xml = post_plain(xml.into_bytes());
    compare_answers(&json, &as_xml, true);
}

// ---------------------------------------------------------------------------------------------
// B: XML in.

fn path_b_xml(data: &[u8]) {
    let Ok(doc) = Document::parse_bytes(data) else {
        return;
    };
    let root = doc.root();
    if root.name() != "xml" {
        return;
    }
    let Some(json) = json_form(root) else { return };
    let json = json.to_string().into_bytes();
    let from_xml = post_plain(data.to_vec());
    let from_json = post_plain(json);
    // The JSON form groups repeated elements, so an `Unknown`'s raw XML is reordered.
    compare_answers(&from_json, &from_xml, false);
}

/// The JSON form of an element's children; `None` when a name has no JSON spelling the reader
/// takes.
fn json_form(el: Element<'_, '_>) -> Option<Value> {
    let mut map = serde_json::Map::new();
    for child in el.children() {
        if !valid_name(child.name()) {
            return None;
        }
        let value = if child.has_children() {
            json_form(child)?
        } else {
            leaf(child.text())
        };
        match map.get_mut(child.name()) {
            None => {
                map.insert(child.name().to_owned(), value);
            }
            Some(Value::Array(items)) => items.push(value),
            Some(existing) => {
                let first = existing.take();
                *existing = Value::Array(vec![first, value]);
            }
        }
    }
    Some(Value::Object(map))
}

/// Digits as a JSON number when the number prints back as the same digits, else a string.
fn leaf(text: &str) -> Value {
    let digits = !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit());
    match text.parse::<u64>() {
        Ok(n) if digits && n.to_string() == text => Value::from(n),
        _ => Value::String(text.to_owned()),
    }
}

// ---------------------------------------------------------------------------------------------
// C: safe mode, JSON envelope.

fn path_c_safe_mode(data: &[u8]) {
    let plaintext = String::from_utf8_lossy(data);
    let random: [u8; RANDOM_LEN] = *b"0123456789abcdef";
    let encrypt = CRYPT.encrypt_with_random(&plaintext, &random);
    let envelope = serde_json::json!({ "ToUserName": "gh_fuzz", "Encrypt": encrypt }).to_string();
    if envelope.len() > DEFAULT_BODY_LIMIT {
        // 413 for the envelope, whatever the plaintext.
        return;
    }
    let uri = format!(
        "/?signature={}&timestamp={TIMESTAMP}&nonce={NONCE}&encrypt_type=aes&msg_signature={}",
        signature::sign(&[TOKEN, TIMESTAMP, NONCE]),
        CRYPT.signature(TIMESTAMP, NONCE, &encrypt),
    );
    let sealed = post(&SAFE, &uri, envelope.into_bytes());
    let plain = post_plain(plaintext.as_bytes().to_vec());
    assert_eq!(sealed.status, plain.status, "safe mode answers differently");
    match (&sealed.message, &plain.message) {
        (Some(a), Some(b)) => assert_same_message(a, b, true),
        (None, None) => {}
        _ => panic!("one layer reached the handler, the other did not"),
    }
    if sealed.status != StatusCode::OK || &plain.body[..] == b"success" {
        assert_eq!(sealed.body, plain.body);
        return;
    }
    assert_eq!(sealed.content_type.as_deref(), Some("application/json"));
    let reply: Value = serde_json::from_slice(&sealed.body).expect("sealed reply is JSON");
    let encrypt = reply["Encrypt"].as_str().expect("Encrypt");
    let nonce = reply["Nonce"].as_str().expect("Nonce");
    let timestamp = reply["TimeStamp"].as_u64().expect("TimeStamp").to_string();
    assert_eq!(
        reply["MsgSignature"].as_str(),
        Some(CRYPT.signature(&timestamp, nonce, encrypt).as_str()),
        "sealed reply's MsgSignature"
    );
    let opened = CRYPT.decrypt(encrypt).expect("sealed reply decrypts");
    assert_eq!(opened.as_bytes(), &plain.body[..], "sealed reply differs");
}

// ---------------------------------------------------------------------------------------------
// Comparisons.

/// Two answers to the same message in its JSON form (`json`) and its XML form (`xml`).
fn compare_answers(json: &Answer, xml: &Answer, strict_raw: bool) {
    match (&json.message, &xml.message) {
        (Some(a), Some(b)) => assert_same_message(a, b, strict_raw),
        (None, None) => {}
        (a, b) => panic!("JSON form reached the handler with {a:?}, XML form with {b:?}"),
    }
    assert_eq!(
        json.status, xml.status,
        "JSON and XML forms answered differently"
    );
    if json.status != StatusCode::OK || &xml.body[..] == b"success" {
        assert_eq!(json.body, xml.body);
        return;
    }
    assert_eq!(json.content_type.as_deref(), Some("application/json"));
    let value: Value = serde_json::from_slice(&json.body).expect("JSON reply is JSON");
    let text = std::str::from_utf8(&xml.body).expect("XML reply is UTF-8");
    let doc = Document::parse(text).expect("XML reply re-reads");
    assert_mirror(doc.root(), &value);
}

/// The JSON reply mirrors the XML reply: every element a key, repeated ones (and `item`) an
/// array, leaf text a string, `CreateTime` and `ArticleCount` numbers.
fn assert_mirror(el: Element<'_, '_>, value: &Value) {
    if !el.has_children() {
        let text = el.text();
        match value {
            Value::String(s) => {
                assert_eq!(s, text, "<{}>", el.name());
                assert!(
                    !(matches!(el.name(), "CreateTime" | "ArticleCount")
                        && text.parse::<u64>().is_ok()),
                    "<{}> is a number in JSON",
                    el.name()
                );
            }
            Value::Number(n) => {
                assert!(matches!(el.name(), "CreateTime" | "ArticleCount"));
                assert_eq!(n.to_string(), text);
            }
            _ => panic!("<{}> is {value} in JSON", el.name()),
        }
        return;
    }
    let Value::Object(map) = value else {
        panic!("<{}> is {value} in JSON", el.name());
    };
    let mut names: Vec<&str> = Vec::new();
    for child in el.children() {
        if !names.contains(&child.name()) {
            names.push(child.name());
        }
    }
    assert_eq!(map.len(), names.len(), "keys of <{}>", el.name());
    for name in names {
        let same: Vec<_> = el.children().filter(|c| c.name() == name).collect();
        let v = map.get(name).expect("element missing from the JSON");
        if same.len() == 1 && !(name == "item" && same[0].has_children()) {
            assert_mirror(same[0], v);
        } else {
            let Value::Array(items) = v else {
                panic!("repeated <{name}> is not an array");
            };
            assert_eq!(items.len(), same.len());
            for (c, v) in same.into_iter().zip(items) {
                assert_mirror(c, v);
            }
        }
    }
}

/// The same message; `Unknown` kinds compare their raw XML as trees (`strict_raw`) or not at all.
fn assert_same_message(a: &Message, b: &Message, strict_raw: bool) {
    match (a, b) {
        (Message::Unknown(x), Message::Unknown(y)) => {
            assert_eq!(x.header, y.header);
            assert_eq!(x.msg_type, y.msg_type);
            if strict_raw {
                same_raw(&x.raw, &y.raw);
            }
        }
        (Message::Event(Event::Unknown(x)), Message::Event(Event::Unknown(y))) => {
            assert_eq!(x.header, y.header);
            assert_eq!(x.event, y.event);
            assert_eq!(x.event_key, y.event_key);
            if strict_raw {
                same_raw(&x.raw, &y.raw);
            }
        }
        // Debug, not ==: a coordinate may be NaN (where the parser still takes one).
        _ => assert_eq!(format!("{a:?}"), format!("{b:?}"), "different messages"),
    }
}

fn same_raw(a: &str, b: &str) {
    let (a, b) = (
        Document::parse(a).expect("raw re-reads"),
        Document::parse(b).expect("raw re-reads"),
    );
    assert_same_tree(a.root(), b.root());
}
