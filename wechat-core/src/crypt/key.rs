//! The AES key of safe mode, parsed once from the 43-character EncodingAESKey.

use base64::Engine;
use base64::alphabet;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use zeroize::Zeroizing;

use crate::error::{ErrorKind, Result};

/// Length of an EncodingAESKey in characters.
pub const ENCODING_AES_KEY_LEN: usize = 43;

/// WeChat generates keys whose last character carries non-zero trailing bits, which strict base64
/// rejects (WxJava#1379); accept them, and accept the key with or without its `=`.
const LENIENT: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new()
        .with_decode_allow_trailing_bits(true)
        .with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// The 32-byte AES-256 key decoded from an EncodingAESKey; the IV is its first 16 bytes.
///
/// Its `Debug` output is redacted and its bytes are zeroed on drop.
#[derive(Clone)]
pub struct AesKey(Zeroizing<[u8; 32]>);

impl AesKey {
    /// Decodes an EncodingAESKey (消息加解密密钥): exactly 43 base64 characters.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidAesKey`] when the key has another length or is not base64.
    pub fn parse(encoding_aes_key: &str) -> Result<Self> {
        if encoding_aes_key.len() != ENCODING_AES_KEY_LEN {
            return Err(ErrorKind::InvalidAesKey.into());
        }
        let mut key = Zeroizing::new([0u8; 32]);
        match LENIENT.decode_slice(encoding_aes_key, &mut key[..]) {
            Ok(32) => Ok(Self(key)),
            _ => Err(ErrorKind::InvalidAesKey.into()),
        }
    }

    /// The key bytes.
    ///
    /// # Security Warning
    ///
    /// Never log or send these bytes.
    #[must_use]
    pub fn expose(&self) -> &[u8; 32] {
        &self.0
    }

    /// The CBC initialisation vector: the first 16 key bytes.
    pub(crate) fn iv(&self) -> [u8; 16] {
        let mut iv = [0u8; 16];
        iv.copy_from_slice(&self.0[..16]);
        iv
    }
}

impl std::fmt::Debug for AesKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AesKey([redacted])")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_non_canonical_trailing_bits() {
        let key = AesKey::parse("abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG").unwrap();
        assert_eq!(key.expose()[..4], [0x69, 0xb7, 0x1d, 0x79]);
        assert_eq!(key.iv()[..], key.expose()[..16]);
    }

    #[test]
    fn rejects_wrong_length_and_alphabet() {
        for bad in [
            "",
            "abc",
            "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG=",
            "abcdefghijklmnopqrstuvwxyz0123456789ABCDEF!",
        ] {
            assert_eq!(
                AesKey::parse(bad).unwrap_err().kind(),
                &ErrorKind::InvalidAesKey,
                "{bad}"
            );
        }
    }

    #[test]
    fn debug_is_redacted() {
        let key = AesKey::parse("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA").unwrap();
        assert_eq!(format!("{key:?}"), "AesKey([redacted])");
    }
}
