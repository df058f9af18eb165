//! The session token (自定义登录态) handed to the Mini Program: 32 bytes from the OS CSPRNG,
//! base64url without padding.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

/// Random bytes in a token: 256 bits.
pub const TOKEN_BYTES: usize = 32;

/// Characters of a token: 32 bytes in base64url without padding.
pub const TOKEN_LEN: usize = 43;

/// A session token: what the Mini Program stores (`wx.setStorageSync`) and sends back in
/// `Authorization: Bearer <token>`. It stands for a session in a
/// [`SessionStore`](super::SessionStore); the `session_key` never leaves the server.
///
/// 32 bytes from the operating system's CSPRNG (`getrandom`), written as 43 characters of
/// base64url without padding. Its `Debug` is `SessionToken([redacted])`, it has no `Display`,
/// and its memory is zeroed on drop. The store never sees it either: sessions are filed under
/// the SHA-256 of the token, so a dump of the store yields no usable token; and a token is
/// never compared with anything, only looked up by that digest, so the timing of the lookup
/// tells nothing about the token.
#[derive(Clone)]
pub struct SessionToken(Zeroizing<String>);

impl SessionToken {
    /// A fresh token from the OS CSPRNG.
    ///
    /// # Errors
    ///
    /// When the operating system cannot provide random bytes.
    pub fn generate() -> Result<Self, getrandom::Error> {
        let mut bytes = Zeroizing::new([0u8; TOKEN_BYTES]);
        getrandom::fill(&mut bytes[..])?;
        let mut text = Zeroizing::new(String::with_capacity(TOKEN_LEN));
        URL_SAFE_NO_PAD.encode_string(&bytes[..], &mut text);
        Ok(Self(text))
    }

    /// Reads a token sent by a client: `None` unless it has the shape of a token (43 base64url
    /// characters decoding to 32 bytes), so garbage never reaches the store.
    #[must_use]
    pub fn parse(text: &str) -> Option<Self> {
        if text.len() != TOKEN_LEN {
            return None;
        }
        let mut bytes = Zeroizing::new([0u8; TOKEN_BYTES]);
        match URL_SAFE_NO_PAD.decode_slice(text, &mut bytes[..]) {
            Ok(TOKEN_BYTES) => Some(Self(Zeroizing::new(text.to_owned()))),
            _ => None,
        }
    }

    /// The token text, to send to the Mini Program.
    ///
    /// # Security Warning
    ///
    /// It authenticates the user: send it only to them, never log it.
    #[must_use]
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The key the session is filed under: lowercase hex SHA-256 of the token text.
    pub(crate) fn digest(&self) -> String {
        let digest = Sha256::digest(self.0.as_bytes());
        let mut hex = String::with_capacity(64);
        for byte in digest {
            const DIGITS: &[u8; 16] = b"0123456789abcdef";
            hex.push(char::from(DIGITS[usize::from(byte >> 4)]));
            hex.push(char::from(DIGITS[usize::from(byte & 0x0f)]));
        }
        hex
    }
}

impl std::fmt::Debug for SessionToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SessionToken([redacted])")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_43_base64url_characters_and_distinct() {
        let a = SessionToken::generate().unwrap();
        let b = SessionToken::generate().unwrap();
        assert_eq!(a.expose().len(), TOKEN_LEN);
        assert!(
            a.expose()
                .bytes()
                .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_'),
            "{}",
            a.expose()
        );
        assert_ne!(a.expose(), b.expose());
        assert_eq!(
            SessionToken::parse(a.expose()).unwrap().expose(),
            a.expose()
        );
    }

    #[test]
    fn parse_refuses_what_is_not_a_token() {
        let good = SessionToken::generate().unwrap();
        for bad in [
            String::new(),
            "short".to_owned(),
            format!("{}=", good.expose()),
            format!("{}A", good.expose()),
            good.expose()[..42].to_owned(),
            // Standard base64 characters are not base64url.
            format!("+{}", &good.expose()[1..]),
            "!".repeat(TOKEN_LEN),
        ] {
            assert!(SessionToken::parse(&bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn debug_is_redacted() {
        let token = SessionToken::generate().unwrap();
        let debug = format!("{token:?} {:?}", Some(&token));
        assert_eq!(
            debug,
            "SessionToken([redacted]) Some(SessionToken([redacted]))"
        );
        assert!(!debug.contains(token.expose()));
    }

    #[test]
    fn digest_is_sha256_hex_of_the_text() {
        let token = SessionToken(Zeroizing::new("abc".to_owned()));
        assert_eq!(
            token.digest(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
