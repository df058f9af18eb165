//! Support for the end-to-end tests: playing the WeChat side of a conversation.
//!
//! WeChat signs every push with the account's token, and in safe mode encrypts the body; these
//! helpers do exactly that, so the tests drive the server the way WeChat does.

use wechat_tower::{MsgCrypt, signature};

/// A push as WeChat sends it in safe mode: the query parameters and the body.
#[derive(Debug, Clone)]
pub struct SafeModePush {
    /// `signature` of the URL query: over token, timestamp and nonce.
    pub signature: String,
    /// `msg_signature` of the URL query: over token, timestamp, nonce and `Encrypt`.
    pub msg_signature: String,
    /// `timestamp` of the URL query.
    pub timestamp: String,
    /// `nonce` of the URL query.
    pub nonce: String,
    /// The POST body: `<xml><ToUserName/><Encrypt/></xml>`.
    pub body: String,
}

/// Encrypts and signs `inner_xml` the way WeChat does for an account with this codec and token.
#[must_use]
pub fn safe_mode_push(
    crypt: &MsgCrypt,
    token: &str,
    to_user: &str,
    inner_xml: &str,
    timestamp: &str,
    nonce: &str,
) -> SafeModePush {
    let encrypt = crypt.encrypt(inner_xml);
    let mut body = String::from("<xml><ToUserName><![CDATA[");
    body.push_str(to_user);
    body.push_str("]]></ToUserName><Encrypt><![CDATA[");
    body.push_str(&encrypt);
    body.push_str("]]></Encrypt></xml>");
    SafeModePush {
        signature: signature::sign(&[token, timestamp, nonce]),
        msg_signature: crypt.signature(timestamp, nonce, &encrypt),
        timestamp: timestamp.to_owned(),
        nonce: nonce.to_owned(),
        body,
    }
}
