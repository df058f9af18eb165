//! The one error type of `wechat-core`.
//!
//! Every failure is an [`Error`] whose [`ErrorKind`] says what went wrong. Crypto failures carry no
//! detail (which byte of a padding was wrong is nothing an attacker should learn); XML failures
//! carry the byte offset so that a developer can find the problem in a captured body.

use std::fmt;

/// A specialised `Result` whose error is [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// An error of the WeChat protocol layer. Cheap to move: the kind lives behind one `Box`.
///
/// Inspect it with [`Error::kind`]:
///
/// ```
/// use wechat_core::{ErrorKind, MsgCrypt};
///
/// let err = MsgCrypt::new("token", "too-short", "wx123").unwrap_err();
/// assert!(matches!(err.kind(), ErrorKind::InvalidAesKey));
/// ```
pub struct Error(Box<ErrorKind>);

/// What went wrong. New kinds may be added in minor releases.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The EncodingAESKey is not 43 characters of base64 decoding to 32 bytes.
    InvalidAesKey,
    /// `signature` or `msg_signature` does not match.
    InvalidSignature,
    /// An encrypted payload (`Encrypt`, Mini Program `encryptedData`) is not valid base64.
    InvalidBase64,
    /// The ciphertext is empty or not a whole number of AES blocks.
    InvalidCiphertext,
    /// The PKCS#7 padding of a decrypted payload is wrong.
    InvalidPadding,
    /// The length prefix of a decrypted payload does not fit the payload.
    InvalidLength,
    /// The decrypted payload belongs to another app id (the receive id of safe mode, the
    /// `watermark.appid` of Mini Program data).
    AppIdMismatch,
    /// Text that must be UTF-8 is not.
    InvalidUtf8,
    /// A timestamp is not a decimal number of seconds.
    InvalidTimestamp,
    /// A timestamp lies outside the accepted window around `now` (a replay or a wrong clock).
    StaleTimestamp,
    /// The XML is not well formed.
    Xml {
        /// Byte offset in the input where the problem was found.
        offset: usize,
        /// What was expected or found there.
        reason: &'static str,
    },
    /// The XML carries a DOCTYPE or an entity declaration, which WeChat never sends and which
    /// enables entity-expansion attacks.
    XmlDoctype,
    /// The XML nests deeper than [`crate::xml::MAX_DEPTH`] elements.
    XmlTooDeep,
    /// The XML is larger than [`crate::xml::MAX_INPUT_BYTES`] or has more than
    /// [`crate::xml::MAX_ELEMENTS`] elements.
    XmlTooLarge,
    /// A field WeChat always sends is missing.
    MissingField(&'static str),
    /// A field has a value of the wrong shape (e.g. a non-numeric `CreateTime`).
    InvalidField(&'static str),
    /// A news reply must carry 1 to 8 articles.
    ArticleCount(usize),
    /// A Mini Program `session_key` is not base64 of 16 bytes.
    InvalidSessionKey,
    /// The `iv` of Mini Program `encryptedData` is not base64 of 16 bytes.
    InvalidIv,
    /// Decrypted Mini Program data is not a JSON object (or repeats an `openId`, `unionId` or
    /// `watermark` key).
    InvalidJson,
    /// Decrypted Mini Program data names a user (`openId`, `unionId`) other than the session's:
    /// the data is forged (it has no integrity of its own; see
    /// [`miniprogram`](crate::miniprogram#security)).
    IdentityMismatch,
}

impl Error {
    /// What went wrong.
    #[must_use]
    pub fn kind(&self) -> &ErrorKind {
        &self.0
    }

    /// Consumes the error and returns its kind.
    #[must_use]
    pub fn into_kind(self) -> ErrorKind {
        *self.0
    }

    pub(crate) fn xml(offset: usize, reason: &'static str) -> Self {
        ErrorKind::Xml { offset, reason }.into()
    }
}

impl From<ErrorKind> for Error {
    fn from(kind: ErrorKind) -> Self {
        Self(Box::new(kind))
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &*self.0 {
            ErrorKind::InvalidAesKey => {
                f.write_str("invalid EncodingAESKey: expected 43 base64 characters")
            }
            ErrorKind::InvalidSignature => f.write_str("signature mismatch"),
            ErrorKind::InvalidBase64 => f.write_str("encrypted payload is not valid base64"),
            ErrorKind::InvalidCiphertext => {
                f.write_str("encrypted payload is not a whole number of AES blocks")
            }
            ErrorKind::InvalidPadding => f.write_str("decryption failed: bad padding"),
            ErrorKind::InvalidLength => f.write_str("decryption failed: bad length prefix"),
            ErrorKind::AppIdMismatch => f.write_str("decrypted payload belongs to another app id"),
            ErrorKind::InvalidUtf8 => f.write_str("text is not valid UTF-8"),
            ErrorKind::InvalidTimestamp => f.write_str("timestamp is not a number of seconds"),
            ErrorKind::StaleTimestamp => f.write_str("timestamp outside the accepted window"),
            ErrorKind::Xml { offset, reason } => {
                write!(f, "malformed XML at byte {offset}: {reason}")
            }
            ErrorKind::XmlDoctype => {
                f.write_str("XML with DOCTYPE or entity declarations is refused")
            }
            ErrorKind::XmlTooDeep => f.write_str("XML nests too deeply"),
            ErrorKind::XmlTooLarge => f.write_str("XML document too large"),
            ErrorKind::MissingField(name) => write!(f, "missing field `{name}`"),
            ErrorKind::InvalidField(name) => write!(f, "invalid value for field `{name}`"),
            ErrorKind::ArticleCount(n) => {
                write!(f, "a news reply carries 1 to 8 articles, not {n}")
            }
            ErrorKind::InvalidSessionKey => {
                f.write_str("invalid session_key: expected base64 of 16 bytes")
            }
            ErrorKind::InvalidIv => f.write_str("invalid iv: expected base64 of 16 bytes"),
            ErrorKind::InvalidJson => f.write_str("decrypted data is not a JSON object"),
            ErrorKind::IdentityMismatch => {
                f.write_str("decrypted data names another user than the session's")
            }
        }
    }
}

impl std::error::Error for Error {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_is_one_pointer_wide() {
        assert_eq!(std::mem::size_of::<Error>(), std::mem::size_of::<usize>());
    }

    #[test]
    fn display_names_the_field() {
        let err = Error::from(ErrorKind::MissingField("CreateTime"));
        assert_eq!(err.to_string(), "missing field `CreateTime`");
    }

    #[test]
    fn identity_mismatch_names_no_id() {
        let err = Error::from(ErrorKind::IdentityMismatch);
        assert_eq!(
            err.to_string(),
            "decrypted data names another user than the session's"
        );
    }
}
