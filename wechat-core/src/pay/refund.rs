//! The refund notification (退款结果通知) of v2: an unsigned `<xml>` whose `req_info` carries
//! the refund, encrypted with AES-256-ECB under the lower-case hex MD5 of the API key (32 ASCII
//! bytes), PKCS#7-padded to 16 bytes, base64-encoded.
//!
//! The outer XML carries no `sign`: only the key authenticates it, and ECB is not an
//! authenticated mode, so [`RefundNotification::parse`] checks everything it can after
//! decryption (padding, UTF-8, well-formed XML, the fields WeChat always sends, `appid` and
//! `mch_id` against the outer ones). For decisions that move money, confirm with the refund
//! query API.
//!
//! ```
//! use wechat_core::pay::refund;
//! use wechat_core::secret::PayKey;
//!
//! let key = PayKey::new("192006250b4c09247ec02edce69f6a2d");
//! let req_info = refund::encrypt_req_info("<root><refund_status>SUCCESS</refund_status></root>", &key);
//! assert_eq!(
//!     refund::decrypt_req_info(&req_info, &key)?,
//!     "<root><refund_status>SUCCESS</refund_status></root>"
//! );
//! # Ok::<(), wechat_core::pay::PayError>(())
//! ```

use aes::Aes256;
use aes::cipher::{BlockDecrypt, BlockEncrypt, KeyInit};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use md5::{Digest, Md5};
use zeroize::Zeroizing;

use super::error::{PayError, PayErrorKind};
use super::map::PayMap;
use super::sign::lower_hex;
use crate::secret::PayKey;

const BLOCK: usize = 16;

/// Largest `req_info` accepted (base64 characters); WeChat's are about 1 KiB.
pub const MAX_REQ_INFO_LEN: usize = 64 * 1024;

fn cipher(key: &PayKey) -> Aes256 {
    let hex = Zeroizing::new(lower_hex(&Md5::digest(key.expose().as_bytes())));
    // 16 digest bytes are 32 hex characters: exactly an AES-256 key.
    Aes256::new(hex.as_bytes().into())
}

/// Decrypts `req_info`: base64, AES-256-ECB with the key derived from `key`, PKCS#7 (16).
///
/// # Errors
///
/// [`PayErrorKind::Decrypt`] for anything wrong (base64, length, padding, UTF-8): no detail.
pub fn decrypt_req_info(req_info: &str, key: &PayKey) -> Result<String, PayError> {
    if req_info.len() > MAX_REQ_INFO_LEN {
        return Err(PayErrorKind::Decrypt.into());
    }
    let mut buf = STANDARD
        .decode(req_info.trim())
        .map_err(|_| PayError::from(PayErrorKind::Decrypt))?;
    if buf.is_empty() || buf.len() % BLOCK != 0 {
        return Err(PayErrorKind::Decrypt.into());
    }
    let cipher = cipher(key);
    for block in buf.chunks_exact_mut(BLOCK) {
        cipher.decrypt_block(block.into());
    }
    let n = usize::from(buf[buf.len() - 1]);
    if n == 0 || n > BLOCK || buf[buf.len() - n..].iter().any(|&b| usize::from(b) != n) {
        return Err(PayErrorKind::Decrypt.into());
    }
    buf.truncate(buf.len() - n);
    String::from_utf8(buf).map_err(|_| PayErrorKind::Decrypt.into())
}

/// Encrypts `plaintext` as `req_info` (WeChat's side; for tests and mock servers). ECB is
/// deterministic, so the same input gives the same output.
#[must_use]
pub fn encrypt_req_info(plaintext: &str, key: &PayKey) -> String {
    let mut buf = plaintext.as_bytes().to_vec();
    let n = BLOCK - buf.len() % BLOCK;
    // n is in 1..=16.
    buf.resize(buf.len() + n, u8::try_from(n).unwrap_or(16));
    let cipher = cipher(key);
    for block in buf.chunks_exact_mut(BLOCK) {
        cipher.encrypt_block(block.into());
    }
    STANDARD.encode(buf)
}

/// The state of a refund (退款状态).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RefundStatus {
    /// `SUCCESS`: refunded.
    Success,
    /// `CHANGE`: the refund failed and needs handling in the merchant platform.
    Change,
    /// `REFUNDCLOSE`: closed.
    RefundClose,
    /// A status this crate does not know.
    Other(String),
}

impl RefundStatus {
    /// Parses WeChat's name.
    #[must_use]
    pub fn parse(name: &str) -> Self {
        match name {
            "SUCCESS" => Self::Success,
            "CHANGE" => Self::Change,
            "REFUNDCLOSE" => Self::RefundClose,
            other => Self::Other(other.to_owned()),
        }
    }
}

/// A decrypted refund notification (退款结果通知). The common fields of `req_info` are typed;
/// everything else is in [`RefundNotification::info`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RefundNotification {
    /// `appid` (outer XML).
    pub appid: String,
    /// `mch_id` (outer XML).
    pub mch_id: String,
    /// `transaction_id` of the refunded payment.
    pub transaction_id: String,
    /// `out_trade_no` of the refunded order.
    pub out_trade_no: String,
    /// `refund_id` (微信退款单号).
    pub refund_id: String,
    /// `out_refund_no` (商户退款单号).
    pub out_refund_no: String,
    /// `total_fee` of the order, in fen.
    pub total_fee: u64,
    /// `refund_fee`, in fen.
    pub refund_fee: u64,
    /// `settlement_refund_fee`, in fen.
    pub settlement_refund_fee: Option<u64>,
    /// `refund_status`.
    pub refund_status: RefundStatus,
    /// `success_time` (`yyyy-MM-dd HH:mm:ss`), when refunded.
    pub success_time: Option<String>,
    /// `refund_recv_accout` (WeChat's spelling): where the money went.
    pub refund_recv_accout: Option<String>,
    /// The decrypted `req_info` fields.
    pub info: PayMap,
    /// The outer fields.
    pub raw: PayMap,
}

impl RefundNotification {
    /// Parses a refund notification and decrypts its `req_info` with `key`.
    ///
    /// # Errors
    ///
    /// [`PayErrorKind::Xml`], [`PayErrorKind::Return`], [`PayErrorKind::MissingField`],
    /// [`PayErrorKind::Decrypt`], [`PayErrorKind::InvalidField`].
    pub fn parse(body: &[u8], key: &PayKey) -> Result<Self, PayError> {
        let raw = PayMap::from_xml_bytes(body)?;
        raw.check_return_code()?;
        let plaintext = decrypt_req_info(raw.require("req_info")?, key)?;
        let info = PayMap::from_xml(&plaintext)?;
        let text = |key: &'static str| info.require(key).map(str::to_owned);
        let optional = |key: &str| info.get_nonempty(key).map(str::to_owned);
        Ok(Self {
            appid: raw.require("appid")?.to_owned(),
            mch_id: raw.require("mch_id")?.to_owned(),
            transaction_id: text("transaction_id")?,
            out_trade_no: text("out_trade_no")?,
            refund_id: text("refund_id")?,
            out_refund_no: text("out_refund_no")?,
            total_fee: info.require_u64("total_fee")?,
            refund_fee: info.require_u64("refund_fee")?,
            settlement_refund_fee: info.get_u64("settlement_refund_fee")?,
            refund_status: RefundStatus::parse(info.require("refund_status")?),
            success_time: optional("success_time"),
            refund_recv_accout: optional("refund_recv_accout"),
            info,
            raw,
        })
    }

    /// Checks that the notification is for this `appid` and `mch_id` (商户号).
    ///
    /// # Errors
    ///
    /// [`PayErrorKind::AppIdMismatch`] or [`PayErrorKind::MchIdMismatch`].
    pub fn check_merchant(&self, appid: &str, mch_id: &str) -> Result<(), PayError> {
        if self.appid != appid {
            return Err(PayErrorKind::AppIdMismatch.into());
        }
        if self.mch_id != mch_id {
            return Err(PayErrorKind::MchIdMismatch.into());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_every_length() {
        let key = PayKey::new("k");
        for len in 0..40 {
            let text = "x".repeat(len);
            assert_eq!(
                decrypt_req_info(&encrypt_req_info(&text, &key), &key).unwrap(),
                text
            );
        }
    }

    #[test]
    fn garbage_is_a_decrypt_error() {
        let key = PayKey::new("k");
        for input in ["", "!!!", "AAAA", &"A".repeat(MAX_REQ_INFO_LEN + 4)] {
            assert_eq!(
                decrypt_req_info(input, &key).unwrap_err().kind(),
                &PayErrorKind::Decrypt,
                "{input:.10}"
            );
        }
        let other = PayKey::new("other");
        let ct = encrypt_req_info("<root/>", &key);
        assert!(decrypt_req_info(&ct, &other).is_err());
    }
}
