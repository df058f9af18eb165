//! RSA-SHA256 (PKCS#1 v1.5): the keys that verify WeChat Pay's signatures (platform
//! certificates, the WeChat Pay public key) and the merchant's key that signs.
//!
//! Signing is the one private-key operation a merchant runs on every request, so it uses
//! *ring*'s `RsaKeyPair` (constant time, blinded) rather than the `rsa` crate, whose private-key
//! arithmetic is not constant time (RUSTSEC-2023-0071, the Marvin attack). Verification runs on
//! *ring* too (it is several times faster than the `rsa` crate's, and runs for every answer and
//! notification); OAEP encryption uses the `rsa` crate's public-key operation, which has no
//! secret to leak.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use ::rsa::RsaPublicKey;
use ::rsa::pkcs1::DecodeRsaPublicKey;
use ::rsa::pkcs8::DecodePublicKey;
use ::rsa::traits::PublicKeyParts;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use ring::rand::SystemRandom;
use ring::signature::{
    RSA_PKCS1_2048_8192_SHA256, RSA_PKCS1_SHA256, RsaKeyPair, RsaPublicKeyComponents,
};
use x509_cert::Certificate;
use x509_cert::der::{DecodePem, Encode};

use super::messages::{NotifyHeaders, notify_message};
use super::oaep::{OsRandom, oaep_sha1};
use crate::pay::error::{PayError, PayErrorKind};
use crate::pay::sign::upper_hex;
use crate::replay;

/// The prefix of the id of a WeChat Pay public key (微信支付公钥) in `Wechatpay-Serial`.
pub const PUBLIC_KEY_ID_PREFIX: &str = "PUB_KEY_ID_";

/// One verifying key and, for a platform certificate, its validity.
#[derive(Clone)]
struct Entry {
    /// For OAEP encryption.
    key: RsaPublicKey,
    /// For verification (*ring*): modulus and exponent, big-endian.
    components: Arc<RsaPublicKeyComponents<Vec<u8>>>,
    /// `notAfter` of the certificate, seconds since the epoch; `None` for a bare public key.
    not_after: Option<u64>,
    /// `notBefore` of the certificate.
    not_before: Option<u64>,
}

/// The RSA public keys that may sign notifications and answers, by `Wechatpay-Serial`: platform
/// certificates (平台证书) by their serial number, and the WeChat Pay public key (微信支付公钥) by
/// its `PUB_KEY_ID_…`. Serials compare without regard to ASCII case.
///
/// The same keys encrypt sensitive fields (RSA-OAEP, [`Verifier::encrypt`]): WeChat decrypts
/// them with the private key of the serial sent in the request's `Wechatpay-Serial`.
#[derive(Clone, Default)]
pub struct Verifier {
    keys: HashMap<String, Entry>,
}

impl fmt::Debug for Verifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut serials: Vec<&String> = self.keys.keys().collect();
        serials.sort();
        f.debug_struct("Verifier")
            .field("serials", &serials)
            .finish()
    }
}

/// A platform certificate (平台证书) read from PEM: its serial (upper-case hex, as
/// `Wechatpay-Serial` names it), its validity and its RSA public key.
#[derive(Clone)]
pub(crate) struct ParsedCertificate {
    pub(crate) serial: String,
    pub(crate) not_before: u64,
    pub(crate) not_after: u64,
    pub(crate) key: RsaPublicKey,
}

/// Reads a PEM X.509 certificate with an RSA key.
pub(crate) fn parse_certificate_pem(pem: &str) -> Result<ParsedCertificate, PayError> {
    let cert = Certificate::from_pem(pem.trim().as_bytes())
        .map_err(|_| PayErrorKind::InvalidKey("not a PEM X.509 certificate"))?;
    let tbs = &cert.tbs_certificate;
    let serial = certificate_serial(tbs.serial_number.as_bytes());
    let spki = tbs
        .subject_public_key_info
        .to_der()
        .map_err(|_| PayErrorKind::InvalidKey("certificate without a public key"))?;
    let key = RsaPublicKey::from_public_key_der(&spki)
        .map_err(|_| PayErrorKind::InvalidKey("the certificate's key is not RSA"))?;
    check_size(&key)?;
    Ok(ParsedCertificate {
        serial,
        not_before: tbs.validity.not_before.to_unix_duration().as_secs(),
        not_after: tbs.validity.not_after.to_unix_duration().as_secs(),
        key,
    })
}

impl Verifier {
    /// A verifier that knows no key yet.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a platform certificate (PEM `CERTIFICATE`); returns its serial number in upper-case
    /// hex, as `Wechatpay-Serial` names it. Its `notAfter` is kept: from then on
    /// [`Verifier::verify_notify`] refuses what it signs ([`PayErrorKind::ExpiredCertificate`]).
    ///
    /// # Errors
    ///
    /// [`PayErrorKind::InvalidKey`] when the PEM is not an X.509 certificate with an RSA key.
    pub fn add_certificate_pem(&mut self, pem: &str) -> Result<String, PayError> {
        let cert = parse_certificate_pem(pem)?;
        self.insert_certificate(cert.clone());
        Ok(cert.serial)
    }

    pub(crate) fn insert_certificate(&mut self, cert: ParsedCertificate) {
        self.keys.insert(
            cert.serial.to_ascii_uppercase(),
            Entry {
                components: components(&cert.key),
                key: cert.key,
                not_after: Some(cert.not_after),
                not_before: Some(cert.not_before),
            },
        );
    }

    /// Adds the WeChat Pay public key (微信支付公钥) or any RSA public key (PEM `PUBLIC KEY` or
    /// `RSA PUBLIC KEY`) under `serial` (`PUB_KEY_ID_…` for the WeChat Pay public key).
    ///
    /// # Errors
    ///
    /// [`PayErrorKind::InvalidKey`] when the PEM is not an RSA public key.
    pub fn add_public_key_pem(&mut self, serial: &str, pem: &str) -> Result<(), PayError> {
        let pem = pem.trim();
        let key = RsaPublicKey::from_public_key_pem(pem)
            .or_else(|_| RsaPublicKey::from_pkcs1_pem(pem))
            .map_err(|_| PayErrorKind::InvalidKey("not a PEM RSA public key"))?;
        check_size(&key)?;
        self.keys.insert(
            serial.to_ascii_uppercase(),
            Entry {
                components: components(&key),
                key,
                not_after: None,
                not_before: None,
            },
        );
        Ok(())
    }

    /// Adds every key of `other` (a freshly downloaded set of certificates, say) to this one.
    pub fn extend(&mut self, other: &Self) {
        for (serial, entry) in &other.keys {
            self.keys.insert(serial.clone(), entry.clone());
        }
    }

    /// Forgets the certificates that expired by `now` (seconds since the epoch); public keys
    /// stay. Returns how many were dropped.
    pub fn remove_expired(&mut self, now: u64) -> usize {
        let before = self.keys.len();
        self.keys
            .retain(|_, entry| entry.not_after.is_none_or(|not_after| not_after > now));
        before - self.keys.len()
    }

    /// The serials known, upper-case, sorted.
    #[must_use]
    pub fn serials(&self) -> Vec<String> {
        let mut serials: Vec<String> = self.keys.keys().cloned().collect();
        serials.sort();
        serials
    }

    /// Whether `serial` names a key this verifier knows.
    #[must_use]
    pub fn contains(&self, serial: &str) -> bool {
        self.keys.contains_key(&serial.to_ascii_uppercase())
    }

    /// Whether no key is known.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// `notAfter` (seconds since the epoch) of the certificate `serial`; `None` for a public key
    /// or an unknown serial.
    #[must_use]
    pub fn not_after(&self, serial: &str) -> Option<u64> {
        self.keys
            .get(&serial.to_ascii_uppercase())
            .and_then(|e| e.not_after)
    }

    /// The latest `notAfter` of the certificates known (`None` without certificates).
    #[must_use]
    pub fn newest_not_after(&self) -> Option<u64> {
        self.keys.values().filter_map(|e| e.not_after).max()
    }

    /// The serial to encrypt sensitive fields under (and to send as `Wechatpay-Serial`): the
    /// WeChat Pay public key when one is known (what WeChat uses when the merchant has one),
    /// else the platform certificate that expires last (WeChat's advice during a rotation: the
    /// newest). Ties go to the greatest serial, so that every process picks the same one.
    #[must_use]
    pub fn encryption_serial(&self) -> Option<String> {
        let public_key = self
            .keys
            .iter()
            .filter(|(serial, e)| e.not_after.is_none() && serial.starts_with(PUBLIC_KEY_ID_PREFIX))
            .map(|(serial, _)| serial)
            .max();
        if let Some(serial) = public_key {
            return Some(serial.clone());
        }
        self.keys
            .iter()
            .max_by(|(sa, a), (sb, b)| {
                (a.not_after.unwrap_or(u64::MAX), a.not_before, sa).cmp(&(
                    b.not_after.unwrap_or(u64::MAX),
                    b.not_before,
                    sb,
                ))
            })
            .map(|(serial, _)| serial.clone())
    }

    /// Encrypts a sensitive field (敏感信息加密: a user's name, ...) with RSA-OAEP (SHA-1,
    /// MGF1-SHA-1, as APIv3 requires) under the key of `serial`; the output is base64. Send
    /// `serial` as the request's `Wechatpay-Serial`. Each call gives another ciphertext (random
    /// seed from the OS CSPRNG).
    ///
    /// # Errors
    ///
    /// [`PayErrorKind::UnknownSerial`]; [`PayErrorKind::Encrypt`] when the plaintext is too long
    /// for the key (more than 214 bytes for RSA 2048) or the OS gave no random bytes.
    pub fn encrypt(&self, serial: &str, plaintext: &[u8]) -> Result<String, PayError> {
        let entry = self
            .keys
            .get(&serial.to_ascii_uppercase())
            .ok_or_else(|| PayErrorKind::UnknownSerial(truncate(serial, 64)))?;
        let public = &entry.key;
        let mut rng = OsRandom::new()?;
        let ciphertext = public
            .encrypt(&mut rng, oaep_sha1(), plaintext)
            .map_err(|_| PayError::from(PayErrorKind::Encrypt))?;
        rng.check()?;
        Ok(STANDARD.encode(ciphertext))
    }

    /// Verifies the RSA-SHA256 signature `signature` (base64) of `message` by the key of
    /// `serial`.
    ///
    /// # Errors
    ///
    /// [`PayErrorKind::UnknownSerial`], [`PayErrorKind::InvalidHeader`] for a signature that is
    /// not base64, [`PayErrorKind::InvalidSignature`].
    pub fn verify(&self, serial: &str, message: &[u8], signature: &str) -> Result<(), PayError> {
        let entry = self
            .keys
            .get(&serial.to_ascii_uppercase())
            .ok_or_else(|| PayErrorKind::UnknownSerial(truncate(serial, 64)))?;
        let bytes = STANDARD
            .decode(signature)
            .map_err(|_| PayErrorKind::InvalidHeader("Wechatpay-Signature"))?;
        // RSA 2048 to 8192 bits, PKCS#1 v1.5, SHA-256; a signature of the wrong length fails.
        entry
            .components
            .verify(&RSA_PKCS1_2048_8192_SHA256, message, &bytes)
            .map_err(|_| PayErrorKind::InvalidSignature.into())
    }

    /// Verifies the headers of a notification (or of a v3 answer) for `body`: the timestamp
    /// within `window_secs` of `now` (0 turns that check off), a certificate in force (not
    /// expired by `now`, and valid from no later than `now` plus the window, the clock skew the
    /// timestamp check allows too), then the signature.
    ///
    /// # Errors
    ///
    /// [`PayErrorKind::InvalidHeader`], [`PayErrorKind::StaleTimestamp`],
    /// [`PayErrorKind::ExpiredCertificate`], [`PayErrorKind::CertificateNotYetValid`], and the
    /// errors of [`Verifier::verify`].
    pub fn verify_notify(
        &self,
        headers: &NotifyHeaders<'_>,
        body: &[u8],
        now: u64,
        window_secs: u64,
    ) -> Result<(), PayError> {
        for (value, name) in [
            (headers.timestamp, "Wechatpay-Timestamp"),
            (headers.nonce, "Wechatpay-Nonce"),
            (headers.signature, "Wechatpay-Signature"),
            (headers.serial, "Wechatpay-Serial"),
        ] {
            if value.is_empty() {
                return Err(PayErrorKind::InvalidHeader(name).into());
            }
        }
        replay::check_timestamp(headers.timestamp, now, window_secs).map_err(|err| {
            if err.kind() == &crate::ErrorKind::StaleTimestamp {
                PayError::from(PayErrorKind::StaleTimestamp)
            } else {
                PayErrorKind::InvalidHeader("Wechatpay-Timestamp").into()
            }
        })?;
        if self
            .not_after(headers.serial)
            .is_some_and(|not_after| not_after <= now)
        {
            return Err(PayErrorKind::ExpiredCertificate(truncate(headers.serial, 64)).into());
        }
        if self
            .keys
            .get(&headers.serial.to_ascii_uppercase())
            .and_then(|e| e.not_before)
            .is_some_and(|not_before| not_before > now.saturating_add(window_secs))
        {
            return Err(PayErrorKind::CertificateNotYetValid(truncate(headers.serial, 64)).into());
        }
        let message = notify_message(headers.timestamp, headers.nonce, body);
        self.verify(headers.serial, &message, headers.signature)
    }
}

/// The smallest modulus accepted, in bits: what *ring* verifies, and what WeChat Pay uses.
const MIN_BITS: usize = 2048;

fn check_size(key: &RsaPublicKey) -> Result<(), PayError> {
    if key.n().bits() < MIN_BITS {
        return Err(PayErrorKind::InvalidKey("RSA keys under 2048 bits are refused").into());
    }
    Ok(())
}

fn components(key: &RsaPublicKey) -> Arc<RsaPublicKeyComponents<Vec<u8>>> {
    Arc::new(RsaPublicKeyComponents {
        n: key.n().to_bytes_be(),
        e: key.e().to_bytes_be(),
    })
}

/// A certificate's serial number as WeChat writes it: upper-case hex without the leading zero
/// byte DER adds to keep the number positive.
fn certificate_serial(bytes: &[u8]) -> String {
    let start = bytes.iter().position(|&b| b != 0).unwrap_or(bytes.len());
    upper_hex(&bytes[start..])
}

pub(crate) fn truncate(s: &str, max: usize) -> String {
    s.chars().take(max).collect()
}

/// Decodes a PEM block: its label and DER body.
pub(crate) fn pem_to_der(pem: &str) -> Result<(String, Vec<u8>), PayError> {
    let (label, der) = x509_cert::der::pem::decode_vec(pem.trim().as_bytes())
        .map_err(|_| PayErrorKind::InvalidKey("not a PEM block"))?;
    Ok((label.to_owned(), der))
}

/// An RSA private key that signs (SHA256withRSA, PKCS#1 v1.5): the merchant's API certificate
/// key (商户API证书私钥) for v3 requests and `paySign`, or, in tests and mock servers, WeChat Pay's
/// key for notifications and answers. On *ring*: constant time and blinded, unlike the `rsa`
/// crate's private-key operations (RUSTSEC-2023-0071). Its `Debug` is redacted. Cheap to clone
/// (the key is shared).
#[derive(Clone)]
pub struct SigningKey {
    key: Arc<RsaKeyPair>,
    /// The source of the blinding factors, one per key.
    rng: SystemRandom,
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SigningKey([redacted])")
    }
}

impl SigningKey {
    /// Reads a PEM private key: PKCS#8 (`BEGIN PRIVATE KEY`, as `apiclient_key.pem`) or PKCS#1
    /// (`BEGIN RSA PRIVATE KEY`). RSA 2048 to 8192 bits.
    ///
    /// # Errors
    ///
    /// [`PayErrorKind::InvalidKey`].
    pub fn from_pkcs8_pem(pem: &str) -> Result<Self, PayError> {
        let invalid = || PayErrorKind::InvalidKey("not a PEM PKCS#8 RSA private key");
        let (label, der) = pem_to_der(pem).map_err(|_| invalid())?;
        let der = zeroize::Zeroizing::new(der);
        let key = match label.as_str() {
            "PRIVATE KEY" => RsaKeyPair::from_pkcs8(&der),
            "RSA PRIVATE KEY" => RsaKeyPair::from_der(&der),
            _ => return Err(invalid().into()),
        }
        .map_err(|_| invalid())?;
        Ok(Self {
            key: Arc::new(key),
            rng: SystemRandom::new(),
        })
    }

    /// The base64 RSA-SHA256 signature of `message` (deterministic: PKCS#1 v1.5 has no
    /// randomness; the random numbers only blind the computation).
    ///
    /// # Errors
    ///
    /// [`PayErrorKind::Sign`] when the OS gives no random bytes for the blinding.
    pub fn try_sign(&self, message: &[u8]) -> Result<String, PayError> {
        let mut signature = vec![0u8; self.key.public().modulus_len()];
        self.key
            .sign(&RSA_PKCS1_SHA256, &self.rng, message, &mut signature)
            .map_err(|_| PayError::from(PayErrorKind::Sign))?;
        Ok(STANDARD.encode(signature))
    }

    /// The base64 RSA-SHA256 signature of `message` (deterministic), as [`SigningKey::try_sign`];
    /// in the one case that fails (the OS random number generator is unavailable) the result
    /// is empty, which no verifier accepts. Prefer `try_sign` where an error can be reported.
    #[must_use]
    pub fn sign(&self, message: &[u8]) -> String {
        self.try_sign(message).unwrap_or_default()
    }

    /// The size of the key's modulus in bits.
    #[must_use]
    pub fn bits(&self) -> usize {
        self.key.public().modulus_len() * 8
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serials_drop_the_sign_byte() {
        assert_eq!(
            certificate_serial(&[0x00, 0xD7, 0xCE, 0x01]),
            "D7CE01".to_owned()
        );
        assert_eq!(certificate_serial(&[]), String::new());
    }

    #[test]
    fn debug_hides_keys() {
        let pem = include_str!("../../../tests/vectors/pay_v3_test_key.pem");
        let key = SigningKey::from_pkcs8_pem(pem).unwrap();
        assert_eq!(format!("{key:?}"), "SigningKey([redacted])");
        let mut verifier = Verifier::new();
        verifier
            .add_public_key_pem(
                "PUB_KEY_ID_1",
                include_str!("../../../tests/vectors/pay_v3_test_pub.pem"),
            )
            .unwrap();
        assert_eq!(
            format!("{verifier:?}"),
            "Verifier { serials: [\"PUB_KEY_ID_1\"] }"
        );
    }

    #[test]
    fn missing_headers_are_named() {
        let verifier = Verifier::new();
        let headers = NotifyHeaders {
            timestamp: "1",
            nonce: "",
            signature: "x",
            serial: "y",
        };
        assert_eq!(
            verifier
                .verify_notify(&headers, b"{}", 1, 300)
                .unwrap_err()
                .kind(),
            &PayErrorKind::InvalidHeader("Wechatpay-Nonce")
        );
        let headers = NotifyHeaders {
            nonce: "n",
            timestamp: "abc",
            ..headers
        };
        assert_eq!(
            verifier
                .verify_notify(&headers, b"{}", 1, 300)
                .unwrap_err()
                .kind(),
            &PayErrorKind::InvalidHeader("Wechatpay-Timestamp")
        );
        let headers = NotifyHeaders {
            timestamp: "1000",
            ..headers
        };
        assert_eq!(
            verifier
                .verify_notify(&headers, b"{}", 2000, 300)
                .unwrap_err()
                .kind(),
            &PayErrorKind::StaleTimestamp
        );
        assert!(matches!(
            verifier
                .verify_notify(&headers, b"{}", 1000, 300)
                .unwrap_err()
                .kind(),
            PayErrorKind::UnknownSerial(_)
        ));
    }
}
