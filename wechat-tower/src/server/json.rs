//! Mini Program message push in JSON (消息推送, 数据格式 JSON): messages in, replies out.
//!
//! A JSON message is the same document as its XML form with objects for elements, arrays for
//! repeated elements and numbers where XML has digits, so it is read by writing it as that XML and
//! parsing it with [`Message::from_xml`]; every message type is then typed exactly as in XML.

use std::fmt::Write as _;

use serde_json::{Map, Value};
use wechat_core::xml::{Document, Element, push_cdata};
use wechat_core::{Message, Reply};

use crate::rejection::Rejection;

/// Reads a JSON message.
pub(crate) fn message_from_json(body: &[u8]) -> Result<Message, Rejection> {
    let value: Value = serde_json::from_slice(body).map_err(|_| Rejection::BadMessage)?;
    let object = value.as_object().ok_or(Rejection::BadMessage)?;
    let mut xml = String::with_capacity(body.len() + 64);
    xml.push_str("<xml>");
    for (name, value) in object {
        write_element(&mut xml, name, value)?;
    }
    xml.push_str("</xml>");
    Message::from_xml(&xml).map_err(|_| Rejection::BadMessage)
}

fn write_element(out: &mut String, name: &str, value: &Value) -> Result<(), Rejection> {
    // Each array item repeats the element's name, so a small body can ask for a huge document
    // (62 KB of JSON asked for 960 MB of XML): stop at the XML reader's own input limit, which
    // would refuse the document anyway, before writing past it.
    if out.len() > wechat_core::xml::MAX_INPUT_BYTES {
        return Err(Rejection::BadMessage);
    }
    let valid = !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-' || b == b'.');
    if !valid {
        return Err(Rejection::BadMessage);
    }
    if let Value::Array(items) = value {
        return items
            .iter()
            .try_for_each(|item| write_element(out, name, item));
    }
    let _ = write!(out, "<{name}>");
    match value {
        Value::Null => {}
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => {
            let _ = write!(out, "{n}");
        }
        Value::String(s) => push_cdata(out, s),
        Value::Object(children) => {
            for (child, v) in children {
                write_element(out, child, v)?;
            }
        }
        // Expanded into repeated elements above.
        Value::Array(_) => {}
    }
    let _ = write!(out, "</{name}>");
    Ok(())
}

/// Writes a reply as JSON, mirroring its XML form.
pub(crate) fn reply_to_json(
    reply: &Reply,
    to_user: &str,
    from_user: &str,
    create_time: u64,
) -> Option<String> {
    let xml = reply.to_xml(to_user, from_user, create_time).ok()?;
    let doc = Document::parse(&xml).ok()?;
    Some(element_to_json(doc.root()).to_string())
}

fn element_to_json(el: Element<'_, '_>) -> Value {
    if !el.has_children() {
        let text = el.text();
        return match el.name() {
            "CreateTime" | "ArticleCount" => text
                .parse::<u64>()
                .map_or_else(|_| Value::String(text.to_owned()), Value::from),
            _ => Value::String(text.to_owned()),
        };
    }
    let mut map = Map::new();
    for child in el.children() {
        let value = element_to_json(child);
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
    // News articles are a list even when there is one.
    if let Some(item @ Value::Object(_)) = map.get_mut("item") {
        let single = item.take();
        *item = Value::Array(vec![single]);
    }
    Value::Object(map)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_customer_service_text() {
        let body = br#"{"ToUserName":"gh_1","FromUserName":"oUser","CreateTime":1482048670,"MsgType":"text","Content":"a]]>b","MsgId":1234567890123456}"#;
        let Message::Text(text) = message_from_json(body).unwrap() else {
            panic!("not text");
        };
        assert_eq!(text.content, "a]]>b");
        assert_eq!(text.header.create_time, 1_482_048_670);
        assert_eq!(text.header.msg_id, Some(1_234_567_890_123_456));
    }

    #[test]
    fn reads_user_enter_tempsession_and_miniprogrampage() {
        let ev = br#"{"ToUserName":"gh","FromUserName":"o","CreateTime":1,"MsgType":"event","Event":"user_enter_tempsession","SessionFrom":"sf"}"#;
        assert!(matches!(
            message_from_json(ev).unwrap(),
            Message::Event(wechat_core::Event::UserEnterTempsession(e)) if e.session_from == "sf"
        ));
        let page = br#"{"ToUserName":"gh","FromUserName":"o","CreateTime":1,"MsgType":"miniprogrampage","MsgId":2,"Title":"t","AppId":"wx","PagePath":"pages/a","ThumbUrl":"u","ThumbMediaId":"m"}"#;
        assert!(
            matches!(message_from_json(page).unwrap(), Message::MiniProgramPage(p) if p.page_path == "pages/a")
        );
    }

    /// The media check result arrives as a JSON push on a Mini Program whose push format is
    /// JSON (WeChat's own sample is JSON): `detail` is an array of objects, `result` an object.
    #[test]
    fn reads_a_media_check_push_with_its_detail_array() {
        let body = br#"{"ToUserName":"gh_38cc49f9733b","FromUserName":"oH1fu0FdHqpToe2T6gBj0WyB8iS1","CreateTime":1626959646,"MsgType":"event","Event":"wxa_media_check","appid":"wx8f16a5e4f3f6b4a5","trace_id":"60f96f1d-3845297a-1976a3ae","version":2,"detail":[{"strategy":"content_model","errcode":0,"suggest":"risky","label":20002,"prob":90},{"strategy":"keyword","errcode":0,"suggest":"pass","label":100}],"errcode":0,"errmsg":"ok","result":{"suggest":"risky","label":20002}}"#;
        let Message::Event(wechat_core::Event::WxaMediaCheck(check)) =
            message_from_json(body).unwrap()
        else {
            panic!("not wxa_media_check");
        };
        assert_eq!(check.trace_id, "60f96f1d-3845297a-1976a3ae");
        assert_eq!(check.version, 2);
        assert!(!check.passed());
        let result = check.result.as_ref().unwrap();
        assert_eq!((result.suggest.as_str(), result.label), ("risky", 20002));
        assert_eq!(check.detail.len(), 2);
        assert_eq!(check.detail[0].strategy, "content_model");
        assert_eq!(check.detail[0].prob, Some(90));
        assert_eq!(check.detail[1].suggest, "pass");
        assert_eq!(check.detail[1].prob, None);
    }

    #[test]
    fn refuses_bad_json_and_names() {
        assert_eq!(
            message_from_json(b"[1]").unwrap_err(),
            Rejection::BadMessage
        );
        assert_eq!(message_from_json(b"{").unwrap_err(), Rejection::BadMessage);
        assert_eq!(
            message_from_json(br#"{"a><b":"x"}"#).unwrap_err(),
            Rejection::BadMessage
        );
    }

    #[test]
    fn issue16_a_small_body_cannot_ask_for_a_huge_document() {
        // A 30 000-character name repeated for 16 000 array items: 62 KB of JSON that asked for
        // about 960 MB of XML before the writer stopped at the reader's 1 MiB input limit.
        let name = "A".repeat(30_000);
        let items = vec!["0"; 16_000].join(",");
        let body = format!(r#"{{"{name}":[{items}]}}"#);
        assert!(body.len() < 64 * 1024);
        let mut xml = String::new();
        let value: Value = serde_json::from_str(&body).unwrap();
        let (name, value) = value.as_object().unwrap().iter().next().unwrap();
        assert_eq!(
            write_element(&mut xml, name, value).unwrap_err(),
            Rejection::BadMessage
        );
        // It stopped within one element of the limit, not after writing the whole document.
        assert!(xml.len() <= wechat_core::xml::MAX_INPUT_BYTES + 2 * 30_000 + 16);
        assert_eq!(
            message_from_json(body.as_bytes()).unwrap_err(),
            Rejection::BadMessage
        );
    }

    #[test]
    fn writes_replies_as_json() {
        let json = reply_to_json(&Reply::text("hi"), "oUser", "gh", 7).unwrap();
        let value: Value = serde_json::from_str(&json).unwrap();
        assert_eq!(value["MsgType"], "text");
        assert_eq!(value["Content"], "hi");
        assert_eq!(value["CreateTime"], 7);
        let transfer = Reply::TransferCustomerService { kf_account: None };
        let value: Value =
            serde_json::from_str(&reply_to_json(&transfer, "o", "gh", 1).unwrap()).unwrap();
        assert_eq!(value["MsgType"], "transfer_customer_service");
    }
}
