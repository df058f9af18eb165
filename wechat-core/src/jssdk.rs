//! The JS-SDK signature (`wx.config`): the lowercase hex SHA-1 of
//! `jsapi_ticket=…&noncestr=…&timestamp=…&url=…`, keys in this (ASCII) order, raw values, and the
//! page URL without its `#fragment`.
//!
//! ```
//! use wechat_core::jssdk::{self, JsSdkConfig};
//!
//! // The example of WeChat's JS-SDK documentation (附录1).
//! let ticket = "sM4AOVdWfPE4DxkXGEs8VMCPGGVi4C3VM0P37wVUCFvkVAy_90u5h9nbSlYy3-Sl-HhTdfl2fzFy1AOcHKP7qg";
//! let signature = jssdk::sign(ticket, "Wm3WZYTPz0wzccnW", 1414587457, "http://mp.weixin.qq.com?params=value");
//! assert_eq!(signature, "0f9de62fce790f9a083d5c99e95740ceb90c27ed");
//!
//! // What the page passes to `wx.config` (plus `debug` and `jsApiList`).
//! let config = JsSdkConfig::new("wx0123456789abcdef", ticket, "http://mp.weixin.qq.com?params=value#top", 1414587457, "Wm3WZYTPz0wzccnW");
//! assert_eq!(config.signature, signature); // the fragment does not count
//! assert_eq!(
//!     config.to_json(),
//!     r#"{"appId":"wx0123456789abcdef","timestamp":1414587457,"nonceStr":"Wm3WZYTPz0wzccnW","signature":"0f9de62fce790f9a083d5c99e95740ceb90c27ed"}"#
//! );
//! ```

use std::fmt::Write as _;

use sha1::{Digest, Sha1};

/// The page URL as signed: everything before the first `#`.
#[must_use]
pub fn strip_fragment(url: &str) -> &str {
    url.split_once('#').map_or(url, |(before, _)| before)
}

/// The string WeChat hashes (`string1` in its docs), for `url` without its fragment.
#[must_use]
pub fn string_to_sign(jsapi_ticket: &str, nonce_str: &str, timestamp: u64, url: &str) -> String {
    format!(
        "jsapi_ticket={jsapi_ticket}&noncestr={nonce_str}&timestamp={timestamp}&url={}",
        strip_fragment(url)
    )
}

/// The JS-SDK signature: lowercase hex SHA-1 of [`string_to_sign`].
#[must_use]
pub fn sign(jsapi_ticket: &str, nonce_str: &str, timestamp: u64, url: &str) -> String {
    let digest = Sha1::digest(string_to_sign(jsapi_ticket, nonce_str, timestamp, url).as_bytes());
    let mut hex = String::with_capacity(40);
    for byte in digest {
        // Writing to a String cannot fail.
        let _ = write!(hex, "{byte:02x}");
    }
    hex
}

/// The parameters of `wx.config` that the server computes: app id, timestamp, nonce and
/// signature. The page adds `debug` and `jsApiList` itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsSdkConfig {
    /// `appId`.
    pub app_id: String,
    /// `timestamp`, seconds since the Unix epoch.
    pub timestamp: u64,
    /// `nonceStr`.
    pub nonce_str: String,
    /// `signature`.
    pub signature: String,
}

impl JsSdkConfig {
    /// Signs `url` (the page's full URL; a `#fragment` is dropped) with the ticket, at
    /// `timestamp`, with `nonce_str` (random; letters and digits).
    #[must_use]
    pub fn new(
        app_id: impl Into<String>,
        jsapi_ticket: &str,
        url: &str,
        timestamp: u64,
        nonce_str: impl Into<String>,
    ) -> Self {
        let nonce_str = nonce_str.into();
        Self {
            signature: sign(jsapi_ticket, &nonce_str, timestamp, url),
            app_id: app_id.into(),
            timestamp,
            nonce_str,
        }
    }

    /// The JSON object `{"appId", "timestamp", "nonceStr", "signature"}` for the page.
    #[must_use]
    pub fn to_json(&self) -> String {
        let mut out = String::with_capacity(160);
        out.push_str("{\"appId\":");
        push_json_string(&mut out, &self.app_id);
        let _ = write!(out, ",\"timestamp\":{},\"nonceStr\":", self.timestamp);
        push_json_string(&mut out, &self.nonce_str);
        out.push_str(",\"signature\":");
        push_json_string(&mut out, &self.signature);
        out.push('}');
        out
    }
}

/// Appends `s` as a JSON string literal.
fn push_json_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if u32::from(c) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            // `<` is escaped so the JSON can be inlined in a <script> element.
            '<' => out.push_str("\\u003c"),
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fragment_is_not_signed() {
        assert_eq!(
            strip_fragment("https://a.example/p?x=1#/route?y=2"),
            "https://a.example/p?x=1"
        );
        assert_eq!(strip_fragment("https://a.example/p"), "https://a.example/p");
        assert_eq!(
            sign("t", "n", 1, "https://a/#x"),
            sign("t", "n", 1, "https://a/")
        );
    }

    #[test]
    fn json_escapes_strings() {
        let config = JsSdkConfig {
            app_id: "a\"b\\</script>\u{1}".into(),
            timestamp: 7,
            nonce_str: "n".into(),
            signature: "s".into(),
        };
        assert_eq!(
            config.to_json(),
            r#"{"appId":"a\"b\\\u003c/script>\u0001","timestamp":7,"nonceStr":"n","signature":"s"}"#
        );
    }
}
