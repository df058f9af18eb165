//! WeChat Pay APIv3 notifications (JSON, AES-256-GCM, RSA-SHA256), which new merchants get.
//!
//! A v3 notification is a JSON body with four headers. Reading one takes three checks, in this
//! order ([`parse_notification`] does all three):
//!
//! 1. `Wechatpay-Timestamp` within a window around `now` (5 minutes), so that a captured
//!    notification cannot be replayed later;
//! 2. `Wechatpay-Signature`: RSASSA-PKCS1-v1_5 with SHA-256 over
//!    `timestamp\nnonce\nbody\n`, by the key `Wechatpay-Serial` names: a platform certificate
//!    (平台证书, serial in hex) or the WeChat Pay public key (微信支付公钥, id `PUB_KEY_ID_…`,
//!    which merchants registered since 2024 get instead of platform certificates). A
//!    [`Verifier`] holds both kinds;
//! 3. the `resource`: AEAD_AES_256_GCM with the APIv3 key (32 bytes), its `nonce` and
//!    `associated_data`.
//!
//! WeChat's own public AEAD samples (wechatpay-go's tests) use 16-byte keys, i.e. AES-128-GCM,
//! which APIv3 never uses: such keys are refused with [`PayErrorKind::InvalidKey`] rather than
//! silently switching to AES-128.
//!
//! ```
//! use wechat_core::pay::v3::{self, NotifyHeaders, SigningKey, Verifier};
//! use wechat_core::secret::ApiV3Key;
//!
//! # let private_pem = include_str!("../../tests/vectors/pay_v3_test_key.pem");
//! # let public_pem = include_str!("../../tests/vectors/pay_v3_test_pub.pem");
//! let api_v3_key = ApiV3Key::new("0123456789abcdefghijABCDEFGHIJ01");
//! let mut verifier = Verifier::new();
//! verifier.add_public_key_pem("PUB_KEY_ID_0114232134912410000000000000", public_pem)?;
//!
//! // WeChat Pay's side (what the mock pay server of wechat-tower does): encrypt, sign, send.
//! let wechat = SigningKey::from_pkcs8_pem(private_pem)?;
//! let resource = r#"{"mchid":"1230000109","appid":"wx1","out_trade_no":"no-1","transaction_id":"4200001","trade_type":"JSAPI","trade_state":"SUCCESS","amount":{"total":100}}"#;
//! let body = v3::notification_body(&api_v3_key, "EV-1", "TRANSACTION.SUCCESS", "transaction", "fdasflkja484", resource)?;
//! let signature = wechat.sign(&v3::notify_message("1700000000", "n0nce", body.as_bytes()));
//! let headers = NotifyHeaders {
//!     timestamp: "1700000000",
//!     nonce: "n0nce",
//!     signature: &signature,
//!     serial: "PUB_KEY_ID_0114232134912410000000000000",
//! };
//!
//! // Our side.
//! let verified = v3::parse_notification(&headers, body.as_bytes(), &verifier, &api_v3_key, 1700000030, 300)?;
//! assert_eq!(verified.notification.event_type, "TRANSACTION.SUCCESS");
//! let transaction = verified.transaction()?;
//! assert_eq!(transaction.amount.total, 100);
//!
//! // Five minutes later it is a replay.
//! assert!(v3::parse_notification(&headers, body.as_bytes(), &verifier, &api_v3_key, 1700000301, 300).is_err());
//! # Ok::<(), wechat_core::pay::PayError>(())
//! ```

use std::collections::HashMap;
use std::fmt;

use aes_gcm::aead::{Aead, Payload};
use aes_gcm::{Aes256Gcm, KeyInit, Nonce};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use rsa::pkcs1::DecodeRsaPublicKey;
use rsa::pkcs1v15;
use rsa::pkcs8::{DecodePrivateKey, DecodePublicKey};
use rsa::sha2::Sha256;
use rsa::signature::{SignatureEncoding, Signer, Verifier as _};
use rsa::{RsaPrivateKey, RsaPublicKey};
use serde::{Deserialize, Serialize};
use x509_cert::Certificate;
use x509_cert::der::{DecodePem, Encode};

use super::error::{PayError, PayErrorKind};
use super::sign::upper_hex;
use crate::replay;
use crate::secret::ApiV3Key;

/// The length of an APIv3 key and of an AES-256 key.
pub const API_V3_KEY_LEN: usize = 32;

/// The length of a resource's `nonce`.
pub const NONCE_LEN: usize = 12;

/// The prefix of the id of a WeChat Pay public key (微信支付公钥) in `Wechatpay-Serial`.
pub const PUBLIC_KEY_ID_PREFIX: &str = "PUB_KEY_ID_";

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

/// The four headers of a notification (or of an answer of the v3 API), borrowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NotifyHeaders<'a> {
    /// `Wechatpay-Timestamp`: seconds since the Unix epoch.
    pub timestamp: &'a str,
    /// `Wechatpay-Nonce`.
    pub nonce: &'a str,
    /// `Wechatpay-Signature`: base64.
    pub signature: &'a str,
    /// `Wechatpay-Serial`: the platform certificate's serial, or `PUB_KEY_ID_…`.
    pub serial: &'a str,
}

/// The message a notification's signature covers: `timestamp\nnonce\nbody\n`.
#[must_use]
pub fn notify_message(timestamp: &str, nonce: &str, body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(timestamp.len() + nonce.len() + body.len() + 3);
    out.extend_from_slice(timestamp.as_bytes());
    out.push(b'\n');
    out.extend_from_slice(nonce.as_bytes());
    out.push(b'\n');
    out.extend_from_slice(body);
    out.push(b'\n');
    out
}

/// The message a v3 request's signature covers: `METHOD\nURL\ntimestamp\nnonce\nbody\n`, with
/// the URL's path and query (no scheme or host) and an empty body for GET.
#[must_use]
pub fn request_message(
    method: &str,
    url: &str,
    timestamp: &str,
    nonce: &str,
    body: &str,
) -> String {
    format!("{method}\n{url}\n{timestamp}\n{nonce}\n{body}\n")
}

/// The `Authorization` header of a v3 request (`WECHATPAY2-SHA256-RSA2048 …`).
#[must_use]
pub fn authorization(
    mchid: &str,
    serial_no: &str,
    timestamp: &str,
    nonce: &str,
    signature: &str,
) -> String {
    format!(
        "WECHATPAY2-SHA256-RSA2048 mchid=\"{mchid}\",nonce_str=\"{nonce}\",signature=\"{signature}\",timestamp=\"{timestamp}\",serial_no=\"{serial_no}\""
    )
}

/// The message `paySign` covers for a v3 JSAPI / Mini Program payment:
/// `appId\ntimeStamp\nnonceStr\npackage\n` (then signed with the merchant's private key,
/// `signType` = `RSA`).
#[must_use]
pub fn pay_sign_message(app_id: &str, timestamp: &str, nonce: &str, package: &str) -> String {
    format!("{app_id}\n{timestamp}\n{nonce}\n{package}\n")
}

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

/// The encrypted `resource` of a notification.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[non_exhaustive]
pub struct Resource {
    /// `algorithm`: `AEAD_AES_256_GCM`.
    pub algorithm: String,
    /// `ciphertext`: base64.
    pub ciphertext: String,
    /// `associated_data` (may be absent or empty).
    #[serde(default)]
    pub associated_data: String,
    /// `nonce`: 12 characters.
    pub nonce: String,
    /// `original_type`: `transaction`, `refund`, ...
    #[serde(default)]
    pub original_type: String,
}

impl Resource {
    /// Decrypts the resource with the APIv3 key.
    ///
    /// # Errors
    ///
    /// [`PayErrorKind::InvalidField`] for another `algorithm`, and the errors of
    /// [`decrypt_resource`].
    pub fn decrypt(&self, key: &ApiV3Key) -> Result<String, PayError> {
        if self.algorithm != AEAD_AES_256_GCM {
            return Err(PayErrorKind::InvalidField("resource.algorithm").into());
        }
        decrypt_resource(key, &self.nonce, &self.associated_data, &self.ciphertext)
    }
}

/// A notification's JSON body (通知报文).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[non_exhaustive]
pub struct Notification {
    /// `id`: the notification's id.
    pub id: String,
    /// `create_time` (RFC 3339).
    #[serde(default)]
    pub create_time: String,
    /// `event_type`: `TRANSACTION.SUCCESS`, `REFUND.SUCCESS`, `REFUND.ABNORMAL`,
    /// `REFUND.CLOSED`, ...
    pub event_type: String,
    /// `resource_type`: `encrypt-resource`.
    #[serde(default)]
    pub resource_type: String,
    /// `summary`: a human summary (回调摘要).
    #[serde(default)]
    pub summary: String,
    /// `resource`.
    pub resource: Resource,
}

impl Notification {
    /// Parses the body (not verified: see [`parse_notification`]).
    ///
    /// # Errors
    ///
    /// [`PayErrorKind::Json`].
    pub fn from_json(body: &[u8]) -> Result<Self, PayError> {
        serde_json::from_slice(body).map_err(|e| PayErrorKind::Json(e.to_string()).into())
    }
}

/// A notification whose signature verified and whose resource decrypted.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct VerifiedNotification {
    /// The JSON body.
    pub notification: Notification,
    /// The decrypted resource (JSON).
    pub plaintext: String,
}

impl VerifiedNotification {
    /// The resource as a payment (`TRANSACTION.*`).
    ///
    /// # Errors
    ///
    /// [`PayErrorKind::Json`].
    pub fn transaction(&self) -> Result<Transaction, PayError> {
        serde_json::from_str(&self.plaintext).map_err(|e| PayErrorKind::Json(e.to_string()).into())
    }

    /// The resource as a refund (`REFUND.*`).
    ///
    /// # Errors
    ///
    /// [`PayErrorKind::Json`].
    pub fn refund(&self) -> Result<Refund, PayError> {
        serde_json::from_str(&self.plaintext).map_err(|e| PayErrorKind::Json(e.to_string()).into())
    }

    /// Whether the notification is about a payment (`TRANSACTION.*`).
    #[must_use]
    pub fn is_transaction(&self) -> bool {
        self.notification.event_type.starts_with("TRANSACTION.")
    }

    /// Whether the notification is about a refund (`REFUND.*`).
    #[must_use]
    pub fn is_refund(&self) -> bool {
        self.notification.event_type.starts_with("REFUND.")
    }
}

/// Verifies and decrypts a notification: timestamp window, signature, then resource (see the
/// [module docs](self)).
///
/// # Errors
///
/// The errors of [`Verifier::verify_notify`], [`Notification::from_json`] and
/// [`Resource::decrypt`].
pub fn parse_notification(
    headers: &NotifyHeaders<'_>,
    body: &[u8],
    verifier: &Verifier,
    key: &ApiV3Key,
    now: u64,
    window_secs: u64,
) -> Result<VerifiedNotification, PayError> {
    verifier.verify_notify(headers, body, now, window_secs)?;
    let notification = Notification::from_json(body)?;
    let plaintext = notification.resource.decrypt(key)?;
    Ok(VerifiedNotification {
        notification,
        plaintext,
    })
}

/// Builds a notification body with `resource` encrypted (WeChat's side; for tests and mock
/// servers).
///
/// # Errors
///
/// The errors of [`encrypt_resource`].
pub fn notification_body(
    key: &ApiV3Key,
    id: &str,
    event_type: &str,
    original_type: &str,
    nonce: &str,
    resource: &str,
) -> Result<String, PayError> {
    let ciphertext = encrypt_resource(key, nonce, original_type, resource)?;
    let notification = Notification {
        id: id.to_owned(),
        create_time: String::new(),
        event_type: event_type.to_owned(),
        resource_type: "encrypt-resource".to_owned(),
        summary: String::new(),
        resource: Resource {
            algorithm: AEAD_AES_256_GCM.to_owned(),
            ciphertext,
            associated_data: original_type.to_owned(),
            nonce: nonce.to_owned(),
            original_type: original_type.to_owned(),
        },
    };
    serde_json::to_string(&notification).map_err(|e| PayErrorKind::Json(e.to_string()).into())
}

/// The amount of a payment.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[non_exhaustive]
pub struct Amount {
    /// `total`: the order's amount in fen (分).
    pub total: u64,
    /// `payer_total`: what the user paid, in fen.
    #[serde(default)]
    pub payer_total: Option<u64>,
    /// `currency` (`CNY`).
    #[serde(default)]
    pub currency: Option<String>,
    /// `payer_currency`.
    #[serde(default)]
    pub payer_currency: Option<String>,
}

/// The payer of a payment.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[non_exhaustive]
pub struct Payer {
    /// `openid` under the order's `appid`.
    #[serde(default)]
    pub openid: String,
}

/// A payment (the resource of `TRANSACTION.SUCCESS`), as the 支付通知 docs name its fields.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[non_exhaustive]
pub struct Transaction {
    /// `mchid` (商户号).
    pub mchid: String,
    /// `appid`.
    pub appid: String,
    /// `out_trade_no` (商户订单号).
    pub out_trade_no: String,
    /// `transaction_id` (微信支付订单号).
    pub transaction_id: String,
    /// `trade_type`.
    #[serde(default)]
    pub trade_type: String,
    /// `trade_state`: `SUCCESS` when paid.
    pub trade_state: String,
    /// `trade_state_desc`.
    #[serde(default)]
    pub trade_state_desc: String,
    /// `bank_type`.
    #[serde(default)]
    pub bank_type: String,
    /// `attach`.
    #[serde(default)]
    pub attach: String,
    /// `success_time` (RFC 3339).
    #[serde(default)]
    pub success_time: String,
    /// `payer`.
    #[serde(default)]
    pub payer: Option<Payer>,
    /// `amount`.
    pub amount: Amount,
}

impl Transaction {
    /// Whether the payment succeeded (`trade_state` = `SUCCESS`).
    #[must_use]
    pub fn is_success(&self) -> bool {
        self.trade_state == "SUCCESS"
    }
}

/// The amount of a refund.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[non_exhaustive]
pub struct RefundAmount {
    /// `total`: the order's amount in fen.
    pub total: u64,
    /// `refund`: the refunded amount in fen.
    pub refund: u64,
    /// `payer_total`.
    #[serde(default)]
    pub payer_total: Option<u64>,
    /// `payer_refund`.
    #[serde(default)]
    pub payer_refund: Option<u64>,
}

/// A refund (the resource of `REFUND.SUCCESS`, `REFUND.ABNORMAL`, `REFUND.CLOSED`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[non_exhaustive]
pub struct Refund {
    /// `mchid` (商户号).
    pub mchid: String,
    /// `out_trade_no`.
    pub out_trade_no: String,
    /// `transaction_id`.
    pub transaction_id: String,
    /// `out_refund_no` (商户退款单号).
    pub out_refund_no: String,
    /// `refund_id` (微信退款单号).
    pub refund_id: String,
    /// `refund_status`: `SUCCESS`, `CLOSED`, `ABNORMAL`.
    pub refund_status: String,
    /// `success_time`.
    #[serde(default)]
    pub success_time: String,
    /// `user_received_account`.
    #[serde(default)]
    pub user_received_account: String,
    /// `amount`.
    pub amount: RefundAmount,
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
        let pem = include_str!("../../tests/vectors/pay_v3_test_key.pem");
        let key = SigningKey::from_pkcs8_pem(pem).unwrap();
        assert_eq!(format!("{key:?}"), "SigningKey([redacted])");
        let mut verifier = Verifier::new();
        verifier
            .add_public_key_pem(
                "PUB_KEY_ID_1",
                include_str!("../../tests/vectors/pay_v3_test_pub.pem"),
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
