//! The refund notification (退款结果通知) of v2: an unsigned `<xml>` whose `req_info` carries
//! the refund, encrypted with AES-256-ECB under the lower-case hex MD5 of the API key (32 ASCII
//! bytes), PKCS#7-padded to 16 bytes, base64-encoded.
//!
//! # What authenticates it, and what does not
//!
//! - **The outer XML is anyone's to write**: it has no `sign`. Its `appid` and `mch_id` are kept
//!   in [`RefundNotification::appid`] / [`RefundNotification::mch_id`] for routing and logs, and
//!   [`RefundNotification::check_merchant`] compares them, which catches a misrouted
//!   notification but proves nothing.
//! - **`req_info` names no merchant**: WeChat puts no `appid` or `mch_id` inside it (its fields:
//!   `transaction_id`, `out_trade_no`, `refund_id`, `out_refund_no`, `total_fee`,
//!   `settlement_total_fee`, `refund_fee`, `settlement_refund_fee`, `refund_status`,
//!   `success_time`, `refund_recv_accout`, `refund_account`, `refund_request_source`). What binds
//!   it to the merchant is the key alone: only text encrypted under MD5 of the API key decrypts
//!   with valid padding to the well-formed, complete refund that [`RefundNotification::parse`]
//!   demands. A `req_info` of another merchant (another key) is refused as
//!   [`PayErrorKind::Decrypt`] or as malformed.
//! - **ECB has no integrity**: each 16-byte block is encrypted alone, so blocks cut from several
//!   genuine `req_info`s of this merchant can be spliced into a new one. Every block is then
//!   genuine plaintext and the result must pass every check here, but where block boundaries
//!   allow, a splice can pair one refund's identifiers with another's amounts or status. So a
//!   refund handler must look the refund up **in its own records** by `out_refund_no` (or
//!   `refund_id`), check that `out_trade_no` and `refund_fee` are what it asked for, and, for
//!   anything that moves money, confirm with the refund query API (查询退款).
//! - **`req_info` has no timestamp or nonce**: a captured one can be sent again at any time. Its
//!   one time, `success_time`, bounds that: [`RefundNotification::check_fresh`] refuses a
//!   notification whose `success_time` is older than the record of handled notifications lives,
//!   so a replay is either answered from that record or refused (`wechat-tower`'s `PayNotify`
//!   does both). `CHANGE` and `REFUNDCLOSE` notifications carry no `success_time`, so nothing
//!   bounds their replay: treat them as a prompt to query the refund, never as a reason to undo
//!   one that succeeded.
//!
//! [`RefundNotification::parse`] checks everything it can after decryption: padding, UTF-8,
//! well-formed XML; the four identifiers present, ASCII without spaces, at most 64 bytes; the
//! amounts decimal integers with `refund_fee` ≤ `total_fee`, `settlement_refund_fee` ≤
//! `refund_fee` and `settlement_total_fee` ≤ `total_fee`; `refund_status` present;
//! `success_time` a Beijing time (`yyyy-MM-dd HH:mm:ss`, UTC+8) when present, and present when
//! the status is `SUCCESS`.
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
//! assert_eq!(refund::parse_beijing_time("2023-11-14 10:00:00"), Some(1_699_927_200));
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

/// Longest identifier accepted (`out_refund_no` is at most 64 characters; the others 32).
const MAX_ID_LEN: usize = 64;

/// Beijing time (UTC+8), in which WeChat Pay writes its times, ahead of UTC.
const BEIJING_OFFSET_SECS: i64 = 8 * 3600;

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
/// everything else is in [`RefundNotification::info`]. What it proves and what the handler must
/// still check: see the [module docs](self).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RefundNotification {
    /// `appid` of the outer XML: **unauthenticated** (anyone can write it), for routing and
    /// logs only; `req_info` carries none.
    pub appid: String,
    /// `mch_id` (商户号) of the outer XML: **unauthenticated**, as `appid`.
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
    /// `success_time` (`yyyy-MM-dd HH:mm:ss`, Beijing time), when refunded.
    pub success_time: Option<String>,
    /// `success_time` as seconds since the Unix epoch.
    pub success_at: Option<u64>,
    /// `refund_recv_accout` (WeChat's spelling): where the money went.
    pub refund_recv_accout: Option<String>,
    /// The decrypted `req_info` fields.
    pub info: PayMap,
    /// The outer fields.
    pub raw: PayMap,
}

impl RefundNotification {
    /// Parses a refund notification and decrypts its `req_info` with `key`, checking what the
    /// [module docs](self) list.
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
        let optional = |key: &str| info.get_nonempty(key).map(str::to_owned);
        let total_fee = info.require_u64("total_fee")?;
        let refund_fee = info.require_u64("refund_fee")?;
        let settlement_refund_fee = info.get_u64("settlement_refund_fee")?;
        let settlement_total_fee = info.get_u64("settlement_total_fee")?;
        if refund_fee > total_fee {
            return Err(PayErrorKind::InvalidField("refund_fee").into());
        }
        if settlement_refund_fee.is_some_and(|fee| fee > refund_fee) {
            return Err(PayErrorKind::InvalidField("settlement_refund_fee").into());
        }
        if settlement_total_fee.is_some_and(|fee| fee > total_fee) {
            return Err(PayErrorKind::InvalidField("settlement_total_fee").into());
        }
        let refund_status = RefundStatus::parse(info.require("refund_status")?);
        let success_time = optional("success_time");
        let success_at = match &success_time {
            Some(text) => {
                Some(parse_beijing_time(text).ok_or(PayErrorKind::InvalidField("success_time"))?)
            }
            // A refund that succeeded says when: without it, nothing bounds a replay.
            None if refund_status == RefundStatus::Success => {
                return Err(PayErrorKind::MissingField("success_time").into());
            }
            None => None,
        };
        Ok(Self {
            appid: raw.require("appid")?.to_owned(),
            mch_id: raw.require("mch_id")?.to_owned(),
            transaction_id: identifier(&info, "transaction_id")?,
            out_trade_no: identifier(&info, "out_trade_no")?,
            refund_id: identifier(&info, "refund_id")?,
            out_refund_no: identifier(&info, "out_refund_no")?,
            total_fee,
            refund_fee,
            settlement_refund_fee,
            refund_status,
            success_time,
            success_at,
            refund_recv_accout: optional("refund_recv_accout"),
            info,
            raw,
        })
    }

    /// Checks the **outer**, unauthenticated `appid` and `mch_id` (商户号): a consistency check
    /// that catches a misrouted notification, not a proof of origin (see the
    /// [module docs](self)).
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

    /// Refuses a replay that the record of handled notifications may no longer recognise:
    /// `success_time` older than `max_age_secs` before `now` (seconds since the Unix epoch), or
    /// more than `max_ahead_secs` after it (clock skew). Give `max_age_secs` shorter than that
    /// record lives, and longer than WeChat retries (24 h 4 min after the first attempt).
    /// Notifications without `success_time` (`CHANGE`, `REFUNDCLOSE`) pass: see the
    /// [module docs](self).
    ///
    /// ```
    /// # use wechat_core::pay::{RefundNotification, refund};
    /// # use wechat_core::secret::PayKey;
    /// # let key = PayKey::new("k");
    /// # let info = "<root><transaction_id>4200</transaction_id><out_trade_no>no-1</out_trade_no>\
    /// #     <refund_id>5030</refund_id><out_refund_no>r-1</out_refund_no><total_fee>100</total_fee>\
    /// #     <refund_fee>100</refund_fee><refund_status>SUCCESS</refund_status>\
    /// #     <success_time>2023-11-14 10:00:00</success_time></root>";
    /// # let body = format!("<xml><return_code>SUCCESS</return_code><appid>wx1</appid><mch_id>1</mch_id>\
    /// #     <req_info>{}</req_info></xml>", refund::encrypt_req_info(info, &key));
    /// let refund = RefundNotification::parse(body.as_bytes(), &key)?;
    /// let refunded_at = 1_699_927_200; // 2023-11-14 10:00:00 UTC+8
    /// let week = 7 * 24 * 3600;
    /// assert_eq!(refund.success_at, Some(refunded_at));
    /// refund.check_fresh(refunded_at + 3600, week, 300)?;
    /// assert!(refund.check_fresh(refunded_at + week + 1, week, 300).is_err());
    /// assert!(refund.check_fresh(refunded_at - 301, week, 300).is_err());
    /// # Ok::<(), wechat_core::pay::PayError>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`PayErrorKind::StaleField`]`("success_time")`.
    pub fn check_fresh(
        &self,
        now: u64,
        max_age_secs: u64,
        max_ahead_secs: u64,
    ) -> Result<(), PayError> {
        let Some(at) = self.success_at else {
            return Ok(());
        };
        if now > at.saturating_add(max_age_secs) || at > now.saturating_add(max_ahead_secs) {
            return Err(PayErrorKind::StaleField("success_time").into());
        }
        Ok(())
    }
}

/// An identifier of `req_info`: present, ASCII without spaces or controls, at most
/// [`MAX_ID_LEN`] bytes (WeChat's are digits, letters and `_-|*@`).
fn identifier(info: &PayMap, key: &'static str) -> Result<String, PayError> {
    let value = info.require(key)?;
    if value.len() > MAX_ID_LEN || !value.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(PayErrorKind::InvalidField(key).into());
    }
    Ok(value.to_owned())
}

/// Reads a WeChat Pay time, `yyyy-MM-dd HH:mm:ss` in Beijing time (UTC+8), as seconds since
/// the Unix epoch; `None` unless it is exactly that shape and a real time after the epoch.
#[must_use]
pub fn parse_beijing_time(text: &str) -> Option<u64> {
    let b = text.as_bytes();
    if b.len() != 19
        || b[4] != b'-'
        || b[7] != b'-'
        || b[10] != b' '
        || b[13] != b':'
        || b[16] != b':'
    {
        return None;
    }
    let num = |range: std::ops::Range<usize>| -> Option<i64> {
        b[range].iter().try_fold(0i64, |acc, &d| {
            d.is_ascii_digit().then(|| acc * 10 + i64::from(d - b'0'))
        })
    };
    let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (hour, minute, second) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&month)
        || day < 1
        || day > days_in_month(year, month)
        || hour > 23
        || minute > 59
        || second > 59
    {
        return None;
    }
    let secs = days_from_civil(year, month, day) * 86_400 + hour * 3600 + minute * 60 + second
        - BEIJING_OFFSET_SECS;
    u64::try_from(secs).ok()
}

/// Writes seconds since the Unix epoch as WeChat Pay does: `yyyy-MM-dd HH:mm:ss`, Beijing time
/// (UTC+8). The inverse of [`parse_beijing_time`] (for mock servers and tests).
#[must_use]
pub fn format_beijing_time(secs: u64) -> String {
    let local = i64::try_from(secs)
        .unwrap_or(i64::MAX)
        .saturating_add(BEIJING_OFFSET_SECS);
    let (days, rest) = (local.div_euclid(86_400), local.rem_euclid(86_400));
    let (year, month, day) = civil_from_days(days);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02}",
        rest / 3600,
        rest % 3600 / 60,
        rest % 60
    )
}

fn is_leap(year: i64) -> bool {
    year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days from 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's `days_from_civil`).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let day_of_year = (153 * ((month + 9) % 12) + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// The date `days` after 1970-01-01 (Howard Hinnant's `civil_from_days`).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let days = days + 719_468;
    let era = days.div_euclid(146_097);
    let day_of_era = days - era * 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let mp = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
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

    const KEY: &str = "192006250b4c09247ec02edce69f6a2d";

    /// The fields of a genuine `SUCCESS` refund's `req_info`.
    fn fields() -> Vec<(&'static str, String)> {
        [
            ("transaction_id", "4200001234202311141234567890"),
            ("out_trade_no", "20231114093000000001"),
            ("refund_id", "50300000000000000000000000000"),
            ("out_refund_no", "R20231114000001"),
            ("total_fee", "100"),
            ("settlement_total_fee", "100"),
            ("refund_fee", "60"),
            ("settlement_refund_fee", "60"),
            ("refund_status", "SUCCESS"),
            ("success_time", "2023-11-14 10:00:00"),
            ("refund_recv_accout", "支付用户的零钱"),
        ]
        .into_iter()
        .map(|(k, v)| (k, v.to_owned()))
        .collect()
    }

    fn body_with(fields: &[(&str, String)], key: &PayKey) -> String {
        let mut info = String::from("<root>");
        for (k, v) in fields {
            info.push_str(&format!("<{k}><![CDATA[{v}]]></{k}>"));
        }
        info.push_str("</root>");
        format!(
            "<xml><return_code>SUCCESS</return_code><appid>wxd930ea5d5a258f4f</appid>\
             <mch_id>10000100</mch_id><req_info>{}</req_info></xml>",
            encrypt_req_info(&info, key)
        )
    }

    fn parse_with(fields: &[(&str, String)]) -> Result<RefundNotification, PayError> {
        let key = PayKey::new(KEY);
        RefundNotification::parse(body_with(fields, &key).as_bytes(), &key)
    }

    fn with(name: &'static str, value: &str) -> Vec<(&'static str, String)> {
        let mut f = fields();
        for field in &mut f {
            if field.0 == name {
                field.1 = value.to_owned();
            }
        }
        f
    }

    fn without(name: &str) -> Vec<(&'static str, String)> {
        fields().into_iter().filter(|(k, _)| *k != name).collect()
    }

    #[test]
    fn a_genuine_refund_parses() {
        let n = parse_with(&fields()).unwrap();
        assert_eq!(n.refund_fee, 60);
        assert_eq!(n.success_at, Some(1_699_927_200));
        assert_eq!(n.refund_status, RefundStatus::Success);
    }

    #[test]
    fn issue16_a_req_info_of_another_merchant_is_refused() {
        // The outer appid and mch_id are this merchant's; req_info is another's (its own key).
        let ours = PayKey::new(KEY);
        let theirs = PayKey::new("0123456789abcdef0123456789abcdef");
        let body = body_with(&fields(), &theirs);
        let err = RefundNotification::parse(body.as_bytes(), &ours).unwrap_err();
        assert_eq!(err.kind(), &PayErrorKind::Decrypt);
    }

    #[test]
    fn issue16_amounts_must_be_consistent() {
        for (name, value, field) in [
            ("refund_fee", "101", "refund_fee"),
            ("settlement_refund_fee", "61", "settlement_refund_fee"),
            ("settlement_total_fee", "101", "settlement_total_fee"),
            ("total_fee", "-1", "total_fee"),
            ("refund_fee", "1.5", "refund_fee"),
            ("refund_fee", " 60", "refund_fee"),
        ] {
            let err = parse_with(&with(name, value)).unwrap_err();
            assert_eq!(
                err.kind(),
                &PayErrorKind::InvalidField(field),
                "{name}={value}"
            );
        }
        // Equal is fine: a full refund.
        assert!(parse_with(&with("refund_fee", "100")).is_ok());
    }

    #[test]
    fn issue16_identifiers_must_be_present_and_plain() {
        for name in [
            "transaction_id",
            "out_trade_no",
            "refund_id",
            "out_refund_no",
        ] {
            assert_eq!(
                parse_with(&without(name)).unwrap_err().kind(),
                &PayErrorKind::MissingField(name)
            );
            assert_eq!(
                parse_with(&with(name, "")).unwrap_err().kind(),
                &PayErrorKind::MissingField(name)
            );
            for bad in ["a b", "a\u{0}", "退款", &"1".repeat(65)] {
                assert_eq!(
                    parse_with(&with(name, bad)).unwrap_err().kind(),
                    &PayErrorKind::InvalidField(name),
                    "{name}={bad:?}"
                );
            }
        }
        assert!(parse_with(&with("out_refund_no", &"R".repeat(64))).is_ok());
        assert!(parse_with(&with("out_refund_no", "a_b-c|d*e@f")).is_ok());
    }

    #[test]
    fn issue16_success_time_must_be_a_time_and_is_required_on_success() {
        for bad in [
            "2023-11-14T10:00:00",
            "2023-11-14 10:00",
            "2023-02-29 10:00:00",
            "2023-13-01 00:00:00",
            "2023-11-14 24:00:00",
            "1970-01-01 07:59:59",
            "２０23-11-14 10:00:00",
        ] {
            assert_eq!(
                parse_with(&with("success_time", bad)).unwrap_err().kind(),
                &PayErrorKind::InvalidField("success_time"),
                "{bad}"
            );
        }
        assert_eq!(
            parse_with(&without("success_time")).unwrap_err().kind(),
            &PayErrorKind::MissingField("success_time")
        );
        // CHANGE and REFUNDCLOSE carry none: accepted, and not bounded by check_fresh.
        for status in ["REFUNDCLOSE", "CHANGE"] {
            let mut f = without("success_time");
            for field in &mut f {
                if field.0 == "refund_status" {
                    field.1 = status.to_owned();
                }
            }
            let n = parse_with(&f).unwrap();
            assert_eq!(n.success_at, None);
            assert!(n.check_fresh(u64::MAX, 0, 0).is_ok());
        }
    }

    #[test]
    fn issue16_check_fresh_bounds_success_time_both_ways() {
        let n = parse_with(&fields()).unwrap();
        let at = 1_699_927_200;
        let week = 7 * 24 * 3600;
        assert!(n.check_fresh(at, week, 300).is_ok());
        assert!(n.check_fresh(at + week, week, 300).is_ok());
        assert!(n.check_fresh(at - 300, week, 300).is_ok());
        for now in [at + week + 1, at - 301, 0, u64::MAX] {
            assert_eq!(
                n.check_fresh(now, week, 300).unwrap_err().kind(),
                &PayErrorKind::StaleField("success_time"),
                "{now}"
            );
        }
    }

    #[test]
    fn beijing_times_parse_and_format() {
        for (text, secs) in [
            ("1970-01-01 08:00:00", 0),
            ("2017-11-25 15:36:17", 1_511_595_377),
            ("2020-01-04 18:34:24", 1_578_134_064),
            ("2024-02-29 23:59:59", 1_709_222_399),
            ("2100-03-01 00:00:00", 4_107_513_600),
        ] {
            assert_eq!(parse_beijing_time(text), Some(secs), "{text}");
            assert_eq!(format_beijing_time(secs), text);
        }
        for secs in (0..4_000_000_000u64).step_by(86_399 * 97) {
            assert_eq!(parse_beijing_time(&format_beijing_time(secs)), Some(secs));
        }
        let _ = format_beijing_time(u64::MAX);
        assert_eq!(parse_beijing_time(""), None);
        assert_eq!(parse_beijing_time("2100-02-29 00:00:00"), None);
    }
}
