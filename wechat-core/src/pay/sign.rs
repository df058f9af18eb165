//! The v2 sign (签名算法) of WeChat Pay: every non-empty parameter except `sign`, sorted by key
//! in ASCII order, joined as `k=v` with `&` (raw values, no URL encoding), then `&key=` and the
//! API key; MD5 or HMAC-SHA256 (keyed with the API key) of that, in upper-case hex.
//!
//! ```
//! use wechat_core::pay::{SignType, sign};
//! use wechat_core::secret::PayKey;
//!
//! // The example of WeChat Pay's sign documentation.
//! let key = PayKey::new("192006250b4c09247ec02edce69f6a2d");
//! let params = [
//!     ("appid", "wxd930ea5d5a258f4f"),
//!     ("mch_id", "10000100"),
//!     ("device_info", "1000"),
//!     ("body", "test"),
//!     ("nonce_str", "ibuaiVcKdpRxkhJA"),
//! ];
//! assert_eq!(sign::sign(params, &key, SignType::Md5), "9A0A8659F005D6984697E2CA0A9CF3B7");
//! assert!(sign::verify(params, &key, SignType::Md5, "9A0A8659F005D6984697E2CA0A9CF3B7"));
//! ```

use std::fmt;
use std::str::FromStr;

use hmac::{Hmac, Mac};
use md5::{Digest, Md5};
use sha2::Sha256;

use super::error::{PayError, PayErrorKind};
use super::map::PayMap;
use crate::secret::PayKey;
use crate::signature::constant_time_eq;

/// The sign type (签名类型) of v2: `MD5` (the default) or `HMAC-SHA256`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum SignType {
    /// `MD5`: upper-case hex MD5 of the string to sign with `&key=…`.
    #[default]
    Md5,
    /// `HMAC-SHA256`: upper-case hex HMAC-SHA256 keyed with the API key, of the same string.
    HmacSha256,
}

impl SignType {
    /// The name as WeChat writes it in `sign_type` / `signType`.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Md5 => "MD5",
            Self::HmacSha256 => "HMAC-SHA256",
        }
    }
}

impl SignType {
    /// The sign type a request map declares in `sign_type` (MD5 when absent).
    ///
    /// # Errors
    ///
    /// [`PayErrorKind::UnsupportedSignType`].
    pub fn of(map: &PayMap) -> Result<Self, PayError> {
        map.get_nonempty("sign_type")
            .map_or(Ok(Self::Md5), str::parse)
    }
}

impl fmt::Display for SignType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for SignType {
    type Err = PayError;

    /// `MD5` or `HMAC-SHA256` (as WeChat writes them; ASCII case ignored).
    fn from_str(s: &str) -> Result<Self, PayError> {
        if s.eq_ignore_ascii_case("MD5") {
            Ok(Self::Md5)
        } else if s.eq_ignore_ascii_case("HMAC-SHA256") {
            Ok(Self::HmacSha256)
        } else {
            Err(PayErrorKind::UnsupportedSignType(s.to_owned()).into())
        }
    }
}

/// The string that is signed: non-empty parameters except `sign`, sorted by key (byte order),
/// `k=v` joined with `&`, then `&key=<API key>` (`stringSignTemp` in WeChat's docs).
///
/// # Security Warning
///
/// The result contains the API key. Never log it.
#[must_use]
pub fn string_to_sign<I, K, V>(params: I, key: &PayKey) -> String
where
    I: IntoIterator<Item = (K, V)>,
    K: AsRef<str>,
    V: AsRef<str>,
{
    let mut pairs: Vec<(K, V)> = params
        .into_iter()
        .filter(|(k, v)| !v.as_ref().is_empty() && k.as_ref() != "sign")
        .collect();
    pairs.sort_by(|a, b| a.0.as_ref().cmp(b.0.as_ref()));
    let mut out = String::with_capacity(256);
    for (k, v) in &pairs {
        out.push_str(k.as_ref());
        out.push('=');
        out.push_str(v.as_ref());
        out.push('&');
    }
    out.push_str("key=");
    out.push_str(key.expose());
    out
}

/// The sign of `params` with `key`, upper-case hex.
#[must_use]
pub fn sign<I, K, V>(params: I, key: &PayKey, sign_type: SignType) -> String
where
    I: IntoIterator<Item = (K, V)>,
    K: AsRef<str>,
    V: AsRef<str>,
{
    let mut temp = string_to_sign(params, key);
    let hex = digest_hex(temp.as_bytes(), key, sign_type);
    zeroize::Zeroize::zeroize(&mut temp);
    hex
}

/// Whether `expected` (the `sign` received; hex digits in either case) is the sign of `params`,
/// compared in constant time.
#[must_use]
pub fn verify<I, K, V>(params: I, key: &PayKey, sign_type: SignType, expected: &str) -> bool
where
    I: IntoIterator<Item = (K, V)>,
    K: AsRef<str>,
    V: AsRef<str>,
{
    let actual = sign(params, key, sign_type);
    let expected = expected.to_ascii_uppercase();
    constant_time_eq(expected.as_bytes(), actual.as_bytes())
}

fn digest_hex(message: &[u8], key: &PayKey, sign_type: SignType) -> String {
    match sign_type {
        SignType::Md5 => upper_hex(&Md5::digest(message)),
        SignType::HmacSha256 => {
            // HMAC takes keys of any length, so this cannot fail.
            let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key.expose().as_bytes())
                .unwrap_or_else(|_| unreachable!("HMAC accepts keys of any length"));
            mac.update(message);
            upper_hex(&mac.finalize().into_bytes())
        }
    }
}

pub(crate) fn upper_hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789ABCDEF";
    let mut out = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        out.push(char::from(DIGITS[usize::from(byte >> 4)]));
        out.push(char::from(DIGITS[usize::from(byte & 0x0f)]));
    }
    out
}

pub(crate) fn lower_hex(bytes: &[u8]) -> String {
    upper_hex(bytes).to_ascii_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> PayKey {
        PayKey::new("192006250b4c09247ec02edce69f6a2d")
    }

    #[test]
    fn empty_values_and_sign_are_skipped() {
        let with = [("b", "2"), ("a", "1"), ("c", ""), ("sign", "XYZ")];
        let without = [("a", "1"), ("b", "2")];
        assert_eq!(
            string_to_sign(with, &key()),
            "a=1&b=2&key=192006250b4c09247ec02edce69f6a2d"
        );
        assert_eq!(
            sign(with, &key(), SignType::Md5),
            sign(without, &key(), SignType::Md5)
        );
    }

    #[test]
    fn keys_sort_by_bytes_so_upper_case_comes_first() {
        let s = string_to_sign([("nonceStr", "n"), ("appId", "a"), ("Z", "z")], &key());
        assert!(s.starts_with("Z=z&appId=a&nonceStr=n&"), "{s}");
    }

    #[test]
    fn verify_accepts_lower_case_hex_and_rejects_changes() {
        let params = [("test1", "test1"), ("test2", "test2")];
        let good = "1E3A8D73B5A4AEE787C0F68B5DAB8520";
        assert!(verify(params, &key(), SignType::Md5, good));
        assert!(verify(
            params,
            &key(),
            SignType::Md5,
            &good.to_ascii_lowercase()
        ));
        assert!(!verify(params, &key(), SignType::HmacSha256, good));
        assert!(!verify(params, &key(), SignType::Md5, &good[..31]));
        assert!(!verify(params, &key(), SignType::Md5, ""));
        assert!(!verify(
            [("test1", "test1"), ("test2", "test3")],
            &key(),
            SignType::Md5,
            good
        ));
    }

    #[test]
    fn sign_types_parse() {
        assert_eq!("MD5".parse::<SignType>().unwrap(), SignType::Md5);
        assert_eq!(
            "HMAC-SHA256".parse::<SignType>().unwrap(),
            SignType::HmacSha256
        );
        assert!("SHA1".parse::<SignType>().is_err());
        assert_eq!(SignType::HmacSha256.to_string(), "HMAC-SHA256");
    }
}
