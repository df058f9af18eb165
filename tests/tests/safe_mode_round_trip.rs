//! A whole safe-mode conversation through the `wechat-tower` facade: WeChat pushes an encrypted
//! text, the server verifies, decrypts, parses and answers encrypted, and WeChat reads the answer.

use wechat_tower::core::xml::Document;
use wechat_tower::{Message, MsgCrypt, Reply, signature};

const TOKEN: &str = "test_token";
const AES_KEY: &str = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG";
const APPID: &str = "wx0123456789abcdef";

/// What WeChat sends in safe mode: `msg_signature` and the `<xml><ToUserName/><Encrypt/></xml>`
/// body (the query `signature` is the layers' business, tested in `inbound.rs`).
fn push(wechat: &MsgCrypt, inner: &str, timestamp: &str, nonce: &str) -> (String, String) {
    let encrypt = wechat.encrypt(inner);
    let body = format!(
        "<xml><ToUserName><![CDATA[gh]]></ToUserName><Encrypt><![CDATA[{encrypt}]]></Encrypt></xml>"
    );
    (wechat.signature(timestamp, nonce, &encrypt), body)
}

#[test]
fn safe_mode_text_is_answered_with_an_encrypted_echo() {
    let wechat = MsgCrypt::new(TOKEN, AES_KEY, APPID).unwrap();
    let server = MsgCrypt::new(TOKEN, AES_KEY, APPID).unwrap();
    let inner = "<xml><ToUserName><![CDATA[gh_0123456789ab]]></ToUserName>\
        <FromUserName><![CDATA[oUser]]></FromUserName><CreateTime>1700000000</CreateTime>\
        <MsgType><![CDATA[text]]></MsgType><Content><![CDATA[你好 ]]]]><![CDATA[>]]></Content>\
        <MsgId>23456789012345678</MsgId></xml>";
    let (msg_signature, body) = push(&wechat, inner, "1700000000", "77");

    // Server side.
    let xml = server
        .decrypt_message(&msg_signature, "1700000000", "77", body.as_bytes())
        .unwrap();
    let Message::Text(text) = Message::from_xml(&xml).unwrap() else {
        panic!("not a text message: {xml}");
    };
    assert_eq!(text.content, "你好 ]]>");
    let reply = Reply::text(text.content.clone())
        .to_xml(
            &text.header.from_user_name,
            &text.header.to_user_name,
            1700000001,
        )
        .unwrap();
    let answer = server.encrypt_message(&reply, "1700000001", "88").unwrap();

    // WeChat side: check the answer's signature, decrypt, read the reply.
    let doc = Document::parse(&answer).unwrap();
    let root = doc.root();
    assert_eq!(root.child_text("TimeStamp"), Some("1700000001"));
    let sig = root.child_text("MsgSignature").unwrap();
    let encrypt = root.child_text("Encrypt").unwrap();
    assert!(signature::verify(
        sig,
        &[TOKEN, "1700000001", "88", encrypt]
    ));
    let reply_xml = wechat.decrypt(encrypt).unwrap();
    let reply_doc = Document::parse(&reply_xml).unwrap();
    assert_eq!(reply_doc.root().child_text("Content"), Some("你好 ]]>"));
    assert_eq!(reply_doc.root().child_text("ToUserName"), Some("oUser"));
}

#[test]
fn a_push_for_another_account_is_refused() {
    let wechat = MsgCrypt::new(TOKEN, AES_KEY, "wxsomeoneelse").unwrap();
    let server = MsgCrypt::new(TOKEN, AES_KEY, APPID).unwrap();
    let (msg_signature, body) = push(&wechat, "<xml/>", "1700000000", "1");
    let err = server
        .decrypt_message(&msg_signature, "1700000000", "1", body.as_bytes())
        .unwrap_err();
    assert_eq!(err.kind(), &wechat_tower::core::ErrorKind::AppIdMismatch);
}
