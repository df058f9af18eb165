//! RSA-OAEP (SHA-1, MGF1 with SHA-1): how APIv3 encrypts sensitive fields (敏感信息加密), such as
//! the user's name of a transfer (商家转账 `user_name`). The merchant encrypts with the public key
//! of a platform certificate or the WeChat Pay public key ([`Verifier::encrypt`]); WeChat Pay
//! decrypts with its private key ([`DecryptingKey`], for mock servers and tests).
//!
//! [`Verifier::encrypt`]: super::Verifier::encrypt

use std::fmt;

use ::rsa::pkcs8::DecodePrivateKey;
use ::rsa::rand_core::{CryptoRng, Error as RandError, RngCore};
use ::rsa::{Oaep, RsaPrivateKey};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use crate::pay::error::{PayError, PayErrorKind};

/// The OAEP padding of APIv3: SHA-1 for the label hash and for MGF1, empty label.
pub(crate) fn oaep_sha1() -> Oaep {
    Oaep::new::<sha1::Sha1>()
}

/// Random bytes from the OS CSPRNG (`getrandom`) for the `rsa` crate. `RngCore::fill_bytes`
/// cannot fail, so a failure of the OS generator is recorded instead and reported by
/// [`OsRandom::check`] after use (never panics, never hands out predictable bytes silently).
pub(crate) struct OsRandom {
    failed: bool,
}

impl OsRandom {
    /// A generator; fails at once when the OS has no generator.
    pub(crate) fn new() -> Result<Self, PayError> {
        let mut probe = [0u8; 1];
        getrandom::fill(&mut probe).map_err(|_| PayError::from(PayErrorKind::Encrypt))?;
        Ok(Self { failed: false })
    }

    /// An error when any request for random bytes failed.
    pub(crate) fn check(&self) -> Result<(), PayError> {
        if self.failed {
            Err(PayErrorKind::Encrypt.into())
        } else {
            Ok(())
        }
    }
}

impl RngCore for OsRandom {
    fn next_u32(&mut self) -> u32 {
        let mut bytes = [0u8; 4];
        self.fill_bytes(&mut bytes);
        u32::from_le_bytes(bytes)
    }

    fn next_u64(&mut self) -> u64 {
        let mut bytes = [0u8; 8];
        self.fill_bytes(&mut bytes);
        u64::from_le_bytes(bytes)
    }

    fn fill_bytes(&mut self, dest: &mut [u8]) {
        if getrandom::fill(dest).is_err() {
            self.failed = true;
        }
    }

    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), RandError> {
        self.fill_bytes(dest);
        if self.failed {
            Err(RandError::new("the OS random number generator failed"))
        } else {
            Ok(())
        }
    }
}

impl CryptoRng for OsRandom {}

/// An RSA private key that decrypts RSA-OAEP (SHA-1) fields: WeChat Pay's side of
/// [`Verifier::encrypt`](super::Verifier::encrypt), for mock servers and tests (the mock checks
/// that a transfer's `user_name` decrypts), and for the rare fields WeChat encrypts under the
/// merchant's key. Uses the `rsa` crate with blinding; its arithmetic is not constant time
/// (RUSTSEC-2023-0071), so do not expose it as a decryption oracle to the network. Its `Debug`
/// is redacted.
#[derive(Clone)]
pub struct DecryptingKey {
    key: RsaPrivateKey,
}

impl fmt::Debug for DecryptingKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("DecryptingKey([redacted])")
    }
}

impl DecryptingKey {
    /// Reads a PKCS#8 PEM private key (`BEGIN PRIVATE KEY`).
    ///
    /// # Errors
    ///
    /// [`PayErrorKind::InvalidKey`].
    pub fn from_pkcs8_pem(pem: &str) -> Result<Self, PayError> {
        let key = RsaPrivateKey::from_pkcs8_pem(pem.trim())
            .map_err(|_| PayErrorKind::InvalidKey("not a PEM PKCS#8 RSA private key"))?;
        Ok(Self { key })
    }

    /// Decrypts a base64 RSA-OAEP (SHA-1) ciphertext.
    ///
    /// # Errors
    ///
    /// [`PayErrorKind::Decrypt`] for bad base64, a ciphertext for another key or an altered one.
    pub fn decrypt(&self, ciphertext: &str) -> Result<Vec<u8>, PayError> {
        let bytes = STANDARD
            .decode(ciphertext.trim())
            .map_err(|_| PayError::from(PayErrorKind::Decrypt))?;
        let mut rng = OsRandom::new().map_err(|_| PayError::from(PayErrorKind::Decrypt))?;
        let plaintext = self
            .key
            .decrypt_blinded(&mut rng, oaep_sha1(), &bytes)
            .map_err(|_| PayError::from(PayErrorKind::Decrypt))?;
        rng.check()
            .map_err(|_| PayError::from(PayErrorKind::Decrypt))?;
        Ok(plaintext)
    }

    /// Decrypts a base64 RSA-OAEP ciphertext of UTF-8 text (a name).
    ///
    /// # Errors
    ///
    /// As [`DecryptingKey::decrypt`], and [`PayErrorKind::Decrypt`] for a plaintext that is not
    /// UTF-8.
    pub fn decrypt_str(&self, ciphertext: &str) -> Result<String, PayError> {
        String::from_utf8(self.decrypt(ciphertext)?).map_err(|_| PayErrorKind::Decrypt.into())
    }
}
