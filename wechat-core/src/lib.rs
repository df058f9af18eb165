//! # wechat-core
//!
//! The WeChat (微信) server protocol, pure and synchronous: no I/O, no async runtime, no clock.
//! Everything here is deterministic and tested against WeChat's official samples.
//!
//! | module | what it does |
//! |---|---|
//! | [`signature`] | the SHA-1 callback signature (`signature`, `msg_signature`, JS-SDK), verified in constant time |
//! | [`crypt`] | safe mode (安全模式): [`MsgCrypt`], byte-compatible with WeChat's WXBizMsgCrypt |
//! | [`message`] | every pushed message and event, typed: [`Message`] |
//! | [`reply`] | passive replies with the exact XML WeChat accepts: [`Reply`] |
//! | [`xml`] | the small, hardened XML reader behind both (no DOCTYPE, bounded depth and size) |
//! | [`jssdk`] | the JS-SDK signature for `wx.config`: [`jssdk::JsSdkConfig`] |
//! | [`miniprogram`] | Mini Program open data (开放数据): `encryptedData` decryption with the watermark checked, `rawData` signatures |
//! | `pay` | (feature `pay`) WeChat Pay (微信支付): v2 sign, orders, pay parameters, pay and refund notifications; v3 notifications |
//! | [`replay`] | the timestamp window against replayed requests |
//! | [`secret`] | secrets whose `Debug` is redacted |
//!
//! | feature | default | what it adds |
//! |---|---|---|
//! | `pay` | no | the `pay` module, and with it MD5, HMAC-SHA256, AES-256-GCM, RSA and X.509 |
//!
//! The package is published as `wechat-tower-core` (`wechat-core` on crates.io is another
//! project); the library keeps the name `wechat_core`: with `wechat-tower-core = "0.1"` in
//! `[dependencies]`, code names it `wechat_core::…`.
//!
//! Most users depend on `wechat-tower`, which wires these into tower layers and re-exports this
//! crate. Used directly, one safe-mode round trip looks like this:
//!
//! ```
//! use wechat_core::{Message, MsgCrypt, Reply, signature};
//!
//! // 1. WeChat signs its request with your token (URL query `signature`).
//! let (token, timestamp, nonce) = ("test_token", "1700000000", "1234567890");
//! let query_signature = signature::sign(&[token, timestamp, nonce]);
//! assert!(signature::verify(&query_signature, &[token, timestamp, nonce]));
//!
//! // 2. In safe mode the body is encrypted. Here we play WeChat and build one.
//! let crypt = MsgCrypt::new(token, "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG", "wx0123456789abcdef")?;
//! let inner = "<xml><ToUserName><![CDATA[gh_0123456789ab]]></ToUserName>\
//!     <FromUserName><![CDATA[oUser]]></FromUserName><CreateTime>1700000000</CreateTime>\
//!     <MsgType><![CDATA[text]]></MsgType><Content><![CDATA[hello]]></Content><MsgId>1</MsgId></xml>";
//! let envelope = crypt.encrypt_message(inner, timestamp, nonce)?;
//! let msg_signature = crypt.signature(timestamp, nonce, &crypt_value(&envelope));
//!
//! // 3. The server checks msg_signature, decrypts, parses, and answers encrypted.
//! let xml = crypt.decrypt_message(&msg_signature, timestamp, nonce, envelope.as_bytes())?;
//! let Message::Text(text) = Message::from_xml(&xml)? else { unreachable!() };
//! let reply = Reply::text(format!("echo: {}", text.content))
//!     .to_xml(&text.header.from_user_name, &text.header.to_user_name, 1700000001)?;
//! let answer = crypt.encrypt_message(&reply, "1700000001", "42")?;
//! assert!(answer.contains("<MsgSignature>"));
//!
//! # fn crypt_value(envelope: &str) -> String {
//! #     wechat_core::xml::Document::parse(envelope).unwrap().root().child_text("Encrypt").unwrap().to_owned()
//! # }
//! # Ok::<(), wechat_core::Error>(())
//! ```

#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod crypt;
mod error;
pub mod jssdk;
pub mod message;
pub mod miniprogram;
#[cfg(feature = "pay")]
#[cfg_attr(docsrs, doc(cfg(feature = "pay")))]
pub mod pay;
pub mod replay;
pub mod reply;
pub mod secret;
pub mod signature;
pub mod xml;

pub use crypt::{AesKey, MsgCrypt};
pub use error::{Error, ErrorKind, Result};
pub use message::{Event, Header, Message};
pub use reply::Reply;
