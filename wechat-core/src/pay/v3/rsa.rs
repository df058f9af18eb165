//! RSA-SHA256 (PKCS#1 v1.5): the keys that verify WeChat Pay's signatures (platform
//! certificates, the WeChat Pay public key) and the merchant's key that signs.

use std::collections::HashMap;
use std::fmt;

use ::rsa::pkcs1::DecodeRsaPublicKey;
use ::rsa::pkcs1v15;
use ::rsa::pkcs8::{DecodePrivateKey, DecodePublicKey};
use ::rsa::sha2::Sha256;
use ::rsa::signature::{SignatureEncoding, Signer, Verifier as _};
use ::rsa::{RsaPrivateKey, RsaPublicKey};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use x509_cert::Certificate;
use x509_cert::der::{DecodePem, Encode};

use super::messages::{NotifyHeaders, notify_message};
use crate::pay::error::{PayError, PayErrorKind};
use crate::pay::sign::upper_hex;
use crate::replay;

/// The prefix of the id of a WeChat Pay public key (微信支付公钥) in `Wechatpay-Serial`.
pub const PUBLIC_KEY_ID_PREFIX: &str = "PUB_KEY_ID_";

/// The RSA public keys that may sign notifications, by `Wechatpay-Serial`: platform certificates
/// (平台证书) by their serial number, and the WeChat Pay public key (微信支付公钥) by its
/// `PUB_KEY_ID_…`. Serials compare without regard to ASCII case.
#[derive(Clone, Default)]
pub struct Verifier {
    keys: HashMap<String, pkcs1v15::VerifyingKey<Sha256>>,
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

impl Verifier {
    /// A verifier that knows no key yet.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a platform certificate (PEM `CERTIFICATE`); returns its serial number in upper-case
    /// hex, as `Wechatpay-Serial` names it.
    ///
    /// # Errors
    ///
    /// [`PayErrorKind::InvalidKey`] when the PEM is not an X.509 certificate with an RSA key.
    pub fn add_certificate_pem(&mut self, pem: &str) -> Result<String, PayError> {
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
        self.insert(&serial, key);
        Ok(serial)
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
        self.insert(serial, key);
        Ok(())
    }

    fn insert(&mut self, serial: &str, key: RsaPublicKey) {
        self.keys.insert(
            serial.to_ascii_uppercase(),
            pkcs1v15::VerifyingKey::<Sha256>::new(key),
        );
    }

    /// The serials known, upper-case, sorted.
    #[must_use]
    pub fn serials(&self) -> Vec<String> {
        let mut serials: Vec<String> = self.keys.keys().cloned().collect();
        serials.sort();
        serials
    }

    /// Whether no key is known.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// Verifies the RSA-SHA256 signature `signature` (base64) of `message` by the key of
    /// `serial`.
    ///
    /// # Errors
    ///
    /// [`PayErrorKind::UnknownSerial`], [`PayErrorKind::InvalidHeader`] for a signature that is
    /// not base64, [`PayErrorKind::InvalidSignature`].
    pub fn verify(&self, serial: &str, message: &[u8], signature: &str) -> Result<(), PayError> {
        let key = self
            .keys
            .get(&serial.to_ascii_uppercase())
            .ok_or_else(|| PayErrorKind::UnknownSerial(truncate(serial, 64)))?;
        let bytes = STANDARD
            .decode(signature)
            .map_err(|_| PayErrorKind::InvalidHeader("Wechatpay-Signature"))?;
        let signature = pkcs1v15::Signature::try_from(bytes.as_slice())
            .map_err(|_| PayErrorKind::InvalidSignature)?;
        key.verify(message, &signature)
            .map_err(|_| PayErrorKind::InvalidSignature.into())
    }

    /// Verifies the headers of a notification (or of a v3 answer) for `body`: the timestamp
    /// within `window_secs` of `now` (0 turns that check off), then the signature.
    ///
    /// # Errors
    ///
    /// [`PayErrorKind::InvalidHeader`], [`PayErrorKind::StaleTimestamp`], and the errors of
    /// [`Verifier::verify`].
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
        let message = notify_message(headers.timestamp, headers.nonce, body);
        self.verify(headers.serial, &message, headers.signature)
    }
}

/// A certificate's serial number as WeChat writes it: upper-case hex without the leading zero
/// byte DER adds to keep the number positive.
fn certificate_serial(bytes: &[u8]) -> String {
    let start = bytes.iter().position(|&b| b != 0).unwrap_or(bytes.len());
    upper_hex(&bytes[start..])
}

fn truncate(s: &str, max: usize) -> String {
    s.chars().take(max).collect()
}

/// An RSA private key that signs (SHA256withRSA, PKCS#1 v1.5): the merchant's API certificate
/// key (商户API证书私钥) for v3 requests and `paySign`, or, in tests and mock servers, WeChat Pay's
/// key for notifications. Its `Debug` is redacted; the key is zeroed on drop (by `rsa`).
#[derive(Clone)]
pub struct SigningKey {
    key: pkcs1v15::SigningKey<Sha256>,
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SigningKey([redacted])")
    }
}

impl SigningKey {
    /// Reads a PKCS#8 PEM private key (`BEGIN PRIVATE KEY`, as `apiclient_key.pem`).
    ///
    /// # Errors
    ///
    /// [`PayErrorKind::InvalidKey`].
    pub fn from_pkcs8_pem(pem: &str) -> Result<Self, PayError> {
        let key = RsaPrivateKey::from_pkcs8_pem(pem.trim())
            .map_err(|_| PayErrorKind::InvalidKey("not a PEM PKCS#8 RSA private key"))?;
        Ok(Self {
            key: pkcs1v15::SigningKey::new(key),
        })
    }

    /// The base64 RSA-SHA256 signature of `message` (deterministic).
    #[must_use]
    pub fn sign(&self, message: &[u8]) -> String {
        let signature: pkcs1v15::Signature = self.key.sign(message);
        STANDARD.encode(signature.to_bytes())
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
