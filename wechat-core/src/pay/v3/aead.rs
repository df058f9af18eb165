//! AEAD_AES_256_GCM: the encryption of a notification's `resource` with the APIv3 key.

use aes_gcm::aead::{Aead, Payload};
use aes_gcm::{Aes256Gcm, KeyInit, Nonce};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use crate::pay::error::{PayError, PayErrorKind};
use crate::secret::ApiV3Key;

/// The length of an APIv3 key and of an AES-256 key.
pub const API_V3_KEY_LEN: usize = 32;

/// The length of a resource's `nonce`.
pub const NONCE_LEN: usize = 12;

/// The `algorithm` of every encrypted resource.
pub const AEAD_AES_256_GCM: &str = "AEAD_AES_256_GCM";

fn gcm(key: &ApiV3Key) -> Result<Aes256Gcm, PayError> {
    let bytes = key.expose().as_bytes();
    if bytes.len() != API_V3_KEY_LEN {
        return Err(PayErrorKind::InvalidKey(
            "the APIv3 key is 32 bytes (AEAD_AES_256_GCM); 16-byte keys (AES-128) are not APIv3 keys",
        )
        .into());
    }
    Aes256Gcm::new_from_slice(bytes)
        .map_err(|_| PayErrorKind::InvalidKey("the APIv3 key is 32 bytes").into())
}

/// Decrypts a resource: AEAD_AES_256_GCM with the APIv3 key, `nonce` (12 ASCII bytes) and
/// `associated_data` (may be empty) of base64 `ciphertext` (ciphertext ‖ 16-byte tag).
///
/// # Errors
///
/// [`PayErrorKind::InvalidKey`] for a key that is not 32 bytes, [`PayErrorKind::Decrypt`] for
/// a wrong nonce length, bad base64, a tag mismatch (wrong key, wrong `associated_data`, altered
/// ciphertext) or a plaintext that is not UTF-8.
pub fn decrypt_resource(
    key: &ApiV3Key,
    nonce: &str,
    associated_data: &str,
    ciphertext: &str,
) -> Result<String, PayError> {
    let cipher = gcm(key)?;
    if nonce.len() != NONCE_LEN {
        return Err(PayErrorKind::Decrypt.into());
    }
    let ciphertext = STANDARD
        .decode(ciphertext)
        .map_err(|_| PayError::from(PayErrorKind::Decrypt))?;
    let plaintext = cipher
        .decrypt(
            Nonce::from_slice(nonce.as_bytes()),
            Payload {
                msg: &ciphertext,
                aad: associated_data.as_bytes(),
            },
        )
        .map_err(|_| PayError::from(PayErrorKind::Decrypt))?;
    String::from_utf8(plaintext).map_err(|_| PayErrorKind::Decrypt.into())
}

/// Encrypts a resource as WeChat Pay does (for tests and mock servers); the output is base64.
///
/// # Errors
///
/// [`PayErrorKind::InvalidKey`], or [`PayErrorKind::Decrypt`] for a nonce that is not 12 bytes.
pub fn encrypt_resource(
    key: &ApiV3Key,
    nonce: &str,
    associated_data: &str,
    plaintext: &str,
) -> Result<String, PayError> {
    let cipher = gcm(key)?;
    if nonce.len() != NONCE_LEN {
        return Err(PayErrorKind::Decrypt.into());
    }
    let ciphertext = cipher
        .encrypt(
            Nonce::from_slice(nonce.as_bytes()),
            Payload {
                msg: plaintext.as_bytes(),
                aad: associated_data.as_bytes(),
            },
        )
        .map_err(|_| PayError::from(PayErrorKind::Decrypt))?;
    Ok(STANDARD.encode(ciphertext))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_must_be_32_bytes() {
        let short = ApiV3Key::new("testAPIv3Key0000");
        let err = decrypt_resource(&short, "wCq51qZv4Yfg", "", "AAAA").unwrap_err();
        assert!(matches!(err.kind(), PayErrorKind::InvalidKey(_)));
        let key = ApiV3Key::new("0123456789abcdefghijABCDEFGHIJ01");
        let ct = encrypt_resource(&key, "0123456789ab", "aad", "hello").unwrap();
        assert_eq!(
            decrypt_resource(&key, "0123456789ab", "aad", &ct).unwrap(),
            "hello"
        );
        assert_eq!(
            decrypt_resource(&key, "0123456789ab", "aae", &ct)
                .unwrap_err()
                .kind(),
            &PayErrorKind::Decrypt
        );
        assert_eq!(
            decrypt_resource(&key, "short", "aad", &ct)
                .unwrap_err()
                .kind(),
            &PayErrorKind::Decrypt
        );
    }
}
