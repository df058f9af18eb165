//! The flat `<xml>` maps of v2: every request, response and notification is one `<xml>` element
//! whose children are `<name>value</name>` pairs.
//!
//! [`PayMap`] reads them with the crate's hardened XML reader (no DOCTYPE, no entity expansion,
//! bounded size) and writes them with every value in CDATA. [`PayMap::from_response`] reads an
//! answer of WeChat Pay the only safe way: `return_code`, then the `sign`, then `result_code`.
//!
//! ```
//! use wechat_core::pay::{PayMap, SignType};
//! use wechat_core::secret::PayKey;
//!
//! let key = PayKey::new("192006250b4c09247ec02edce69f6a2d");
//! let mut map = PayMap::new();
//! map.insert("appid", "wxd930ea5d5a258f4f");
//! map.insert("body", "测试 & <ok>");
//! map.sign(&key, SignType::HmacSha256);
//!
//! let xml = map.to_xml()?;
//! let back = PayMap::from_xml(&xml)?;
//! assert_eq!(back.get("body"), Some("测试 & <ok>"));
//! back.verify_sign(&key, SignType::HmacSha256)?;
//! # Ok::<(), wechat_core::pay::PayError>(())
//! ```

use std::collections::BTreeMap;
use std::collections::btree_map::Entry;

use super::error::{BusinessError, ErrCode, PayError, PayErrorKind};
use super::sign::{self, SignType};
use crate::secret::PayKey;
use crate::xml::{Document, push_cdata};

/// A flat map of v2 parameters, sorted by key. See the [module docs](self).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PayMap {
    fields: BTreeMap<String, String>,
}

impl PayMap {
    /// An empty map.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Reads a flat XML map: the root's child elements as `name → text` (text untrimmed, CDATA
    /// unwrapped, entities decoded). Elements nested deeper are ignored; the root's name is not
    /// checked (`<xml>` for messages, `<root>` inside a refund's `req_info`).
    ///
    /// # Errors
    ///
    /// [`PayErrorKind::Xml`] for malformed XML (including a DOCTYPE), and
    /// [`PayErrorKind::DuplicateField`] when an element appears twice.
    pub fn from_xml(xml: &str) -> Result<Self, PayError> {
        let doc = Document::parse(xml)?;
        let mut fields = BTreeMap::new();
        for child in doc.root().children() {
            match fields.entry(child.name().to_owned()) {
                Entry::Vacant(slot) => {
                    slot.insert(child.text().to_owned());
                }
                Entry::Occupied(slot) => {
                    return Err(PayErrorKind::DuplicateField(slot.key().clone()).into());
                }
            }
        }
        Ok(Self { fields })
    }

    /// [`PayMap::from_xml`] on bytes that must be UTF-8.
    ///
    /// # Errors
    ///
    /// As [`PayMap::from_xml`]; [`PayErrorKind::Xml`] with [`crate::ErrorKind::InvalidUtf8`].
    pub fn from_xml_bytes(xml: &[u8]) -> Result<Self, PayError> {
        let text = std::str::from_utf8(xml)
            .map_err(|_| PayError::from(PayErrorKind::Xml(crate::ErrorKind::InvalidUtf8)))?;
        Self::from_xml(text)
    }

    /// Writes `<xml><k><![CDATA[v]]></k>…</xml>`, keys in ASCII order.
    ///
    /// # Errors
    ///
    /// [`PayErrorKind::InvalidField`] when a key is not a plain XML name (ASCII letters, digits
    /// and `_`, `-`, `.`, not starting with a digit, `-` or `.`): such a key cannot be written.
    pub fn to_xml(&self) -> Result<String, PayError> {
        let mut out = String::with_capacity(64 + self.fields.len() * 48);
        out.push_str("<xml>");
        for (k, v) in &self.fields {
            if !is_name(k) {
                return Err(PayErrorKind::InvalidField("key of a pay map").into());
            }
            out.push('<');
            out.push_str(k);
            out.push('>');
            push_cdata(&mut out, v);
            out.push_str("</");
            out.push_str(k);
            out.push('>');
        }
        out.push_str("</xml>");
        Ok(out)
    }

    /// The value of `key`.
    #[must_use]
    pub fn get(&self, key: &str) -> Option<&str> {
        self.fields.get(key).map(String::as_str)
    }

    /// The value of `key`, required to be present and non-empty.
    ///
    /// # Errors
    ///
    /// [`PayErrorKind::MissingField`].
    pub fn require(&self, key: &'static str) -> Result<&str, PayError> {
        match self.get(key) {
            Some(v) if !v.is_empty() => Ok(v),
            _ => Err(PayErrorKind::MissingField(key).into()),
        }
    }

    /// The value of `key`, if present and non-empty.
    #[must_use]
    pub fn get_nonempty(&self, key: &str) -> Option<&str> {
        self.get(key).filter(|v| !v.is_empty())
    }

    /// The value of `key` as an amount or count: decimal digits only.
    ///
    /// # Errors
    ///
    /// [`PayErrorKind::MissingField`] when absent, [`PayErrorKind::InvalidField`] when not a
    /// non-negative decimal number.
    pub fn require_u64(&self, key: &'static str) -> Result<u64, PayError> {
        parse_u64(self.require(key)?, key)
    }

    /// The value of `key` as a number, if present and non-empty.
    ///
    /// # Errors
    ///
    /// [`PayErrorKind::InvalidField`] when present but not a non-negative decimal number.
    pub fn get_u64(&self, key: &'static str) -> Result<Option<u64>, PayError> {
        self.get_nonempty(key)
            .map(|v| parse_u64(v, key))
            .transpose()
    }

    /// Sets `key` to `value`, returning the previous value.
    pub fn insert(&mut self, key: impl Into<String>, value: impl Into<String>) -> Option<String> {
        self.fields.insert(key.into(), value.into())
    }

    /// Removes `key`, returning its value.
    pub fn remove(&mut self, key: &str) -> Option<String> {
        self.fields.remove(key)
    }

    /// Whether the map has no fields.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.fields.is_empty()
    }

    /// The number of fields.
    #[must_use]
    pub fn len(&self) -> usize {
        self.fields.len()
    }

    /// The fields in ASCII order of their keys.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.fields.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// The sign of the map's fields (without `sign` itself).
    #[must_use]
    pub fn compute_sign(&self, key: &PayKey, sign_type: SignType) -> String {
        sign::sign(self.iter(), key, sign_type)
    }

    /// Sets `sign` to the sign of the other fields.
    pub fn sign(&mut self, key: &PayKey, sign_type: SignType) {
        let sign = self.compute_sign(key, sign_type);
        self.fields.insert("sign".to_owned(), sign);
    }

    /// Checks `sign` against the other fields, in constant time.
    ///
    /// # Errors
    ///
    /// [`PayErrorKind::MissingSign`] or [`PayErrorKind::InvalidSign`].
    pub fn verify_sign(&self, key: &PayKey, sign_type: SignType) -> Result<(), PayError> {
        let expected = self.get_nonempty("sign").ok_or(PayErrorKind::MissingSign)?;
        if sign::verify(self.iter(), key, sign_type, expected) {
            Ok(())
        } else {
            Err(PayErrorKind::InvalidSign.into())
        }
    }

    /// Reads an answer of the v2 API the only safe way:
    ///
    /// 1. `return_code` must be `SUCCESS`, else [`PayErrorKind::Return`] with `return_msg`
    ///    (those answers are not signed);
    /// 2. `sign` must verify with `key` and `sign_type` (the type of the request);
    /// 3. `result_code`, when present, must be `SUCCESS`, else [`PayErrorKind::Business`] with
    ///    the typed `err_code`.
    ///
    /// # Errors
    ///
    /// As listed, and the errors of [`PayMap::from_xml`].
    pub fn from_response(xml: &str, key: &PayKey, sign_type: SignType) -> Result<Self, PayError> {
        let map = Self::from_xml(xml)?;
        map.check_return_code()?;
        map.verify_sign(key, sign_type)?;
        map.check_result_code()?;
        Ok(map)
    }

    /// [`PayMap::from_response`] on bytes that must be UTF-8.
    ///
    /// # Errors
    ///
    /// As [`PayMap::from_response`].
    pub fn from_response_bytes(
        xml: &[u8],
        key: &PayKey,
        sign_type: SignType,
    ) -> Result<Self, PayError> {
        let text = std::str::from_utf8(xml)
            .map_err(|_| PayError::from(PayErrorKind::Xml(crate::ErrorKind::InvalidUtf8)))?;
        Self::from_response(text, key, sign_type)
    }

    /// `return_code` must be `SUCCESS`.
    ///
    /// # Errors
    ///
    /// [`PayErrorKind::Return`] with `return_msg`.
    pub fn check_return_code(&self) -> Result<(), PayError> {
        if self.get("return_code") == Some("SUCCESS") {
            Ok(())
        } else {
            Err(PayErrorKind::Return {
                message: self
                    .get("return_msg")
                    .unwrap_or("no return_code")
                    .to_owned(),
            }
            .into())
        }
    }

    /// `result_code`, when present, must be `SUCCESS`.
    ///
    /// # Errors
    ///
    /// [`PayErrorKind::Business`] with the typed `err_code` and `err_code_des`.
    pub fn check_result_code(&self) -> Result<(), PayError> {
        match self.get("result_code") {
            None | Some("SUCCESS") => Ok(()),
            Some(_) => Err(PayErrorKind::Business(BusinessError {
                code: ErrCode::parse(self.get("err_code").unwrap_or("")),
                description: self.get("err_code_des").unwrap_or("").to_owned(),
            })
            .into()),
        }
    }
}

impl<K: Into<String>, V: Into<String>> FromIterator<(K, V)> for PayMap {
    fn from_iter<T: IntoIterator<Item = (K, V)>>(iter: T) -> Self {
        Self {
            fields: iter
                .into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        }
    }
}

fn parse_u64(value: &str, key: &'static str) -> Result<u64, PayError> {
    if value.is_empty() || value.len() > 19 || !value.bytes().all(|b| b.is_ascii_digit()) {
        return Err(PayErrorKind::InvalidField(key).into());
    }
    value
        .parse()
        .map_err(|_| PayErrorKind::InvalidField(key).into())
}

/// A plain XML element name: what WeChat's keys look like.
fn is_name(key: &str) -> bool {
    let mut bytes = key.bytes();
    bytes
        .next()
        .is_some_and(|b| b.is_ascii_alphabetic() || b == b'_')
        && bytes.all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
}

/// The answer a notify URL gives WeChat Pay (v2): `SUCCESS` stops the retries, `FAIL` asks for
/// them.
///
/// ```
/// assert_eq!(
///     wechat_core::pay::notify_answer(true, "OK"),
///     "<xml><return_code><![CDATA[SUCCESS]]></return_code><return_msg><![CDATA[OK]]></return_msg></xml>"
/// );
/// ```
#[must_use]
pub fn notify_answer(success: bool, message: &str) -> String {
    let mut out = String::with_capacity(96 + message.len());
    out.push_str("<xml><return_code>");
    push_cdata(&mut out, if success { "SUCCESS" } else { "FAIL" });
    out.push_str("</return_code><return_msg>");
    push_cdata(&mut out, message);
    out.push_str("</return_msg></xml>");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> PayKey {
        PayKey::new("192006250b4c09247ec02edce69f6a2d")
    }

    #[test]
    fn reads_cdata_numbers_and_untrimmed_text() {
        let map = PayMap::from_xml(
            "<xml>\n<a><![CDATA[ x ]]></a>\n<n>12</n><e></e><deep><x>1</x></deep></xml>",
        )
        .unwrap();
        assert_eq!(map.get("a"), Some(" x "));
        assert_eq!(map.require_u64("n").unwrap(), 12);
        assert_eq!(map.get("e"), Some(""));
        assert!(map.require("e").is_err());
        assert_eq!(map.get("deep"), Some(""));
        assert_eq!(map.len(), 4);
    }

    #[test]
    fn refuses_duplicates_and_doctype() {
        let err = PayMap::from_xml("<xml><a>1</a><a>2</a></xml>").unwrap_err();
        assert_eq!(err.kind(), &PayErrorKind::DuplicateField("a".into()));
        let err = PayMap::from_xml("<!DOCTYPE x [<!ENTITY e \"boom\">]><xml><a>&e;</a></xml>")
            .unwrap_err();
        assert_eq!(err.kind(), &PayErrorKind::Xml(crate::ErrorKind::XmlDoctype));
    }

    #[test]
    fn numbers_must_be_digits() {
        let map: PayMap = [("a", "-1"), ("b", "1e3"), ("c", "99999999999999999999")]
            .into_iter()
            .collect();
        for k in ["a", "b", "c"] {
            assert!(map.get_u64(k).is_err(), "{k}");
        }
        assert_eq!(map.get_u64("zz").unwrap(), None);
    }

    #[test]
    fn bad_keys_are_not_written() {
        let mut map = PayMap::new();
        map.insert("a b", "1");
        assert!(map.to_xml().is_err());
    }

    #[test]
    fn responses_are_read_in_order() {
        // return_code FAIL: not signed, return_msg is the error.
        let err = PayMap::from_response(
            "<xml><return_code>FAIL</return_code><return_msg>签名错误</return_msg></xml>",
            &key(),
            SignType::Md5,
        )
        .unwrap_err();
        assert_eq!(
            err.kind(),
            &PayErrorKind::Return {
                message: "签名错误".into()
            }
        );
        // SUCCESS but unsigned: refused before result_code is believed.
        let err = PayMap::from_response(
            "<xml><return_code>SUCCESS</return_code><result_code>SUCCESS</result_code></xml>",
            &key(),
            SignType::Md5,
        )
        .unwrap_err();
        assert_eq!(err.kind(), &PayErrorKind::MissingSign);
        // Signed with the other type.
        let mut map: PayMap = [("return_code", "SUCCESS"), ("result_code", "SUCCESS")]
            .into_iter()
            .collect();
        map.sign(&key(), SignType::HmacSha256);
        let xml = map.to_xml().unwrap();
        assert_eq!(
            PayMap::from_response(&xml, &key(), SignType::Md5)
                .unwrap_err()
                .kind(),
            &PayErrorKind::InvalidSign
        );
        assert!(PayMap::from_response(&xml, &key(), SignType::HmacSha256).is_ok());
    }
}
