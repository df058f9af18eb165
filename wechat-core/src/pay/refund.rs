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
    /// `PROCESSING`: asked, not finished yet (refund query only; notifications come at the end).
    Processing,
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
            "PROCESSING" => Self::Processing,
            other => Self::Other(other.to_owned()),
        }
    }

    /// WeChat's name.
    #[must_use]
    pub fn as_str(&self) -> &str {
        match self {
            Self::Success => "SUCCESS",
            Self::Change => "CHANGE",
            Self::RefundClose => "REFUNDCLOSE",
            Self::Processing => "PROCESSING",
            Self::Other(name) => name,
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

// ---------------------------------------------------------------------------------------------
// 申请退款 (`secapi/pay/refund`) and 查询退款 (`pay/refundquery`): requests and answers.
// ---------------------------------------------------------------------------------------------

/// Longest `out_refund_no` WeChat accepts.
pub const MAX_OUT_REFUND_NO_LEN: usize = 64;

/// Most refunds one answer of refund query may list (WeChat allows 50 refunds per order); a
/// larger `refund_count` is refused rather than read field by field.
pub const MAX_REFUND_COUNT: usize = 50;

/// Which account a refund is paid from (`refund_account`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RefundAccount {
    /// `REFUND_SOURCE_UNSETTLED_FUNDS`: unsettled funds (未结算资金, the default).
    UnsettledFunds,
    /// `REFUND_SOURCE_RECHARGE_FUNDS`: the balance of the merchant's fund account (可用余额).
    RechargeFunds,
}

impl RefundAccount {
    /// WeChat's name.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::UnsettledFunds => "REFUND_SOURCE_UNSETTLED_FUNDS",
            Self::RechargeFunds => "REFUND_SOURCE_RECHARGE_FUNDS",
        }
    }
}

/// A refund request (申请退款, `POST /secapi/pay/refund`): part or all of a paid order back to
/// its payer. The call needs the merchant's client certificate (商户API证书, mutual TLS):
/// `wechat-tower`'s `PayClient::refund` says how to give it.
///
/// Validated before it is signed ([`Refund::validate`]). Asking again with the same
/// `out_refund_no` and amounts is safe: WeChat answers with the same refund, so retry a refund
/// whose answer was lost with the **same** `out_refund_no`.
///
/// ```
/// use wechat_core::pay::{Merchant, OrderId, SignType};
/// use wechat_core::pay::refund::Refund;
///
/// let merchant = Merchant::new("wxd930ea5d5a258f4f", "10000100", "192006250b4c09247ec02edce69f6a2d");
/// let refund = Refund::new(OrderId::OutTradeNo("no-1".into()), "refund-1", 1200, 200)
///     .refund_desc("one noodle short");
/// let request = refund.to_request(&merchant, "5K8264ILTKCH16CQ2502SI8ZNMTM67VS")?;
/// assert_eq!(request.get("refund_fee"), Some("200"));
/// request.verify_sign(merchant.key(), SignType::Md5)?;
///
/// // More back than was paid: refused before anything is sent.
/// assert!(Refund::new(OrderId::OutTradeNo("no-1".into()), "refund-2", 1200, 1201).validate().is_err());
/// # Ok::<(), wechat_core::pay::PayError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use]
pub struct Refund {
    /// The order refunded: `transaction_id` (preferred) or `out_trade_no`.
    pub order: super::OrderId,
    /// `out_refund_no` (商户退款单号): the merchant's number of this refund, unique per
    /// merchant, 1 to 64 of `0-9a-zA-Z_-|*@`. Several refunds of one order each have their own.
    pub out_refund_no: String,
    /// `total_fee`: what the order was paid, in fen; must be the order's.
    pub total_fee: u64,
    /// `refund_fee`: what this refund gives back, in fen, 1 to `total_fee`.
    pub refund_fee: u64,
    /// `refund_fee_type` (default `CNY`).
    pub refund_fee_type: Option<String>,
    /// `refund_desc`: the reason, shown to the payer (at most 80 characters).
    pub refund_desc: Option<String>,
    /// `refund_account`: which funds pay the refund.
    pub refund_account: Option<RefundAccount>,
    /// `notify_url` of the refund notification (退款结果通知); absolute `http(s)://`, no query.
    /// Without it, the one configured in the merchant platform.
    pub notify_url: Option<String>,
}

impl Refund {
    /// A refund of `refund_fee` fen of the order `order`, paid `total_fee` fen, numbered
    /// `out_refund_no` by the merchant.
    pub fn new(
        order: super::OrderId,
        out_refund_no: impl Into<String>,
        total_fee: u64,
        refund_fee: u64,
    ) -> Self {
        Self {
            order,
            out_refund_no: out_refund_no.into(),
            total_fee,
            refund_fee,
            refund_fee_type: None,
            refund_desc: None,
            refund_account: None,
            notify_url: None,
        }
    }

    /// Sets `refund_desc`.
    pub fn refund_desc(mut self, reason: impl Into<String>) -> Self {
        self.refund_desc = Some(reason.into());
        self
    }

    /// Sets `notify_url`.
    pub fn notify_url(mut self, url: impl Into<String>) -> Self {
        self.notify_url = Some(url.into());
        self
    }

    /// Sets `refund_account`.
    pub fn refund_account(mut self, account: RefundAccount) -> Self {
        self.refund_account = Some(account);
        self
    }

    /// Sets `refund_fee_type`.
    pub fn refund_fee_type(mut self, currency: impl Into<String>) -> Self {
        self.refund_fee_type = Some(currency.into());
        self
    }

    /// Checks what WeChat would refuse.
    ///
    /// # Errors
    ///
    /// [`PayErrorKind::InvalidRequest`] naming the field and the rule.
    pub fn validate(&self) -> Result<(), PayError> {
        let invalid = |why: &'static str| Err(PayErrorKind::InvalidRequest(why).into());
        validate_order_id(&self.order)?;
        validate_out_refund_no(&self.out_refund_no)?;
        if self.total_fee == 0 {
            return invalid("total_fee is in fen (分) and must be more than 0");
        }
        if self.refund_fee == 0 {
            return invalid("refund_fee is in fen (分) and must be more than 0");
        }
        if self.refund_fee > self.total_fee {
            return invalid("refund_fee is at most total_fee");
        }
        if self
            .refund_desc
            .as_ref()
            .is_some_and(|d| d.chars().count() > 80)
        {
            return invalid("refund_desc is at most 80 characters");
        }
        if self
            .notify_url
            .as_ref()
            .is_some_and(|url| !super::order::is_absolute_url(url))
        {
            return invalid("notify_url must be an absolute http(s) URL without a query");
        }
        Ok(())
    }

    /// The signed request map of `secapi/pay/refund`, after [`Refund::validate`]. `nonce_str`
    /// should come from [`nonce_str`](super::nonce_str).
    ///
    /// # Errors
    ///
    /// As [`Refund::validate`].
    pub fn to_request(
        &self,
        merchant: &super::Merchant,
        nonce_str: &str,
    ) -> Result<PayMap, PayError> {
        self.validate()?;
        let mut map = merchant.base_map(nonce_str);
        insert_order_id(&mut map, &self.order);
        map.insert("out_refund_no", self.out_refund_no.clone());
        map.insert("total_fee", self.total_fee.to_string());
        map.insert("refund_fee", self.refund_fee.to_string());
        for (key, value) in [
            ("refund_fee_type", &self.refund_fee_type),
            ("refund_desc", &self.refund_desc),
            ("notify_url", &self.notify_url),
        ] {
            if let Some(value) = value {
                map.insert(key, value.clone());
            }
        }
        if let Some(account) = self.refund_account {
            map.insert("refund_account", account.as_str());
        }
        map.sign(merchant.key(), merchant.sign_type());
        Ok(map)
    }
}

fn insert_order_id(map: &mut PayMap, id: &super::OrderId) {
    match id {
        super::OrderId::TransactionId(v) => map.insert("transaction_id", v.clone()),
        super::OrderId::OutTradeNo(v) => map.insert("out_trade_no", v.clone()),
    };
}

fn validate_order_id(id: &super::OrderId) -> Result<(), PayError> {
    match id {
        super::OrderId::OutTradeNo(no) => super::order::validate_out_trade_no(no),
        super::OrderId::TransactionId(id) => {
            if id.is_empty() || id.len() > 32 || !id.bytes().all(|b| b.is_ascii_alphanumeric()) {
                Err(
                    PayErrorKind::InvalidRequest("transaction_id is 1 to 32 letters and digits")
                        .into(),
                )
            } else {
                Ok(())
            }
        }
    }
}

/// Checks an `out_refund_no`: 1 to 64 of `0-9a-zA-Z_-|*@`.
///
/// # Errors
///
/// [`PayErrorKind::InvalidRequest`].
pub fn validate_out_refund_no(out_refund_no: &str) -> Result<(), PayError> {
    if out_refund_no.is_empty() || out_refund_no.len() > MAX_OUT_REFUND_NO_LEN {
        return Err(PayErrorKind::InvalidRequest("out_refund_no is 1 to 64 characters").into());
    }
    if !out_refund_no
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'|' | b'*' | b'@'))
    {
        return Err(PayErrorKind::InvalidRequest(
            "out_refund_no is made of 0-9, a-z, A-Z and _ - | * @",
        )
        .into());
    }
    Ok(())
}

/// The answer of a refund request: WeChat accepted the refund (it completes later: query it,
/// or wait for the refund notification). Read from an answer already checked by
/// [`PayMap::from_response`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RefundResponse {
    /// `transaction_id` of the order.
    pub transaction_id: String,
    /// `out_trade_no` of the order.
    pub out_trade_no: String,
    /// `out_refund_no`, as asked.
    pub out_refund_no: String,
    /// `refund_id` (微信退款单号).
    pub refund_id: String,
    /// `refund_fee`, in fen.
    pub refund_fee: u64,
    /// `total_fee` of the order, in fen.
    pub total_fee: u64,
    /// `cash_fee` of the order, in fen.
    pub cash_fee: Option<u64>,
    /// `settlement_refund_fee`, in fen (after coupons).
    pub settlement_refund_fee: Option<u64>,
    /// `cash_refund_fee`, in fen.
    pub cash_refund_fee: Option<u64>,
    /// The whole answer.
    pub raw: PayMap,
}

impl RefundResponse {
    /// Reads the answer (already checked by [`PayMap::from_response`]).
    ///
    /// # Errors
    ///
    /// [`PayErrorKind::MissingField`] / [`PayErrorKind::InvalidField`]; `refund_fee` above
    /// `total_fee` is [`PayErrorKind::InvalidField`].
    pub fn from_map(map: PayMap) -> Result<Self, PayError> {
        let refund_fee = map.require_u64("refund_fee")?;
        let total_fee = map.require_u64("total_fee")?;
        if refund_fee > total_fee {
            return Err(PayErrorKind::InvalidField("refund_fee").into());
        }
        Ok(Self {
            transaction_id: identifier(&map, "transaction_id")?,
            out_trade_no: identifier(&map, "out_trade_no")?,
            out_refund_no: identifier(&map, "out_refund_no")?,
            refund_id: identifier(&map, "refund_id")?,
            refund_fee,
            total_fee,
            cash_fee: map.get_u64("cash_fee")?,
            settlement_refund_fee: map.get_u64("settlement_refund_fee")?,
            cash_refund_fee: map.get_u64("cash_refund_fee")?,
            raw: map,
        })
    }

    /// Checks that the answer is about `request`: the same `out_refund_no`, order and amounts.
    /// WeChat signs what it answers, so a mismatch means a confused proxy or mock, never a
    /// refund to believe.
    ///
    /// # Errors
    ///
    /// [`PayErrorKind::InvalidField`] naming the first field that differs.
    pub fn check_matches(&self, request: &Refund) -> Result<(), PayError> {
        let mismatch = |field: &'static str| Err(PayErrorKind::InvalidField(field).into());
        if self.out_refund_no != request.out_refund_no {
            return mismatch("out_refund_no");
        }
        match &request.order {
            super::OrderId::TransactionId(id) if *id != self.transaction_id => {
                return mismatch("transaction_id");
            }
            super::OrderId::OutTradeNo(no) if *no != self.out_trade_no => {
                return mismatch("out_trade_no");
            }
            _ => {}
        }
        if self.refund_fee != request.refund_fee {
            return mismatch("refund_fee");
        }
        if self.total_fee != request.total_fee {
            return mismatch("total_fee");
        }
        Ok(())
    }
}

/// What a refund query (查询退款, `POST /pay/refundquery`) looks up: one refund by its ids, or
/// every refund of an order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RefundQueryId {
    /// `refund_id` (微信退款单号): that refund.
    RefundId(String),
    /// `out_refund_no` (商户退款单号): that refund.
    OutRefundNo(String),
    /// The refunds of the order with this `transaction_id` (up to 10 per answer).
    TransactionId(String),
    /// The refunds of the order with this `out_trade_no` (up to 10 per answer).
    OutTradeNo(String),
}

/// The signed request map of refund query (`pay/refundquery`). Needs no client certificate.
///
/// # Errors
///
/// [`PayErrorKind::InvalidRequest`] for an empty or malformed id.
pub fn refund_query_request(
    merchant: &super::Merchant,
    id: &RefundQueryId,
    nonce_str: &str,
) -> Result<PayMap, PayError> {
    let mut map = merchant.base_map(nonce_str);
    match id {
        RefundQueryId::RefundId(v) => {
            if v.is_empty() || v.len() > 32 || !v.bytes().all(|b| b.is_ascii_alphanumeric()) {
                return Err(PayErrorKind::InvalidRequest(
                    "refund_id is 1 to 32 letters and digits",
                )
                .into());
            }
            map.insert("refund_id", v.clone());
        }
        RefundQueryId::OutRefundNo(v) => {
            validate_out_refund_no(v)?;
            map.insert("out_refund_no", v.clone());
        }
        RefundQueryId::TransactionId(v) => {
            let id = super::OrderId::TransactionId(v.clone());
            validate_order_id(&id)?;
            insert_order_id(&mut map, &id);
        }
        RefundQueryId::OutTradeNo(v) => {
            let id = super::OrderId::OutTradeNo(v.clone());
            validate_order_id(&id)?;
            insert_order_id(&mut map, &id);
        }
    }
    map.sign(merchant.key(), merchant.sign_type());
    Ok(map)
}

/// One refund in a [`RefundQueryResponse`]: the fields WeChat numbers `_$n`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RefundRecord {
    /// `out_refund_no_$n`.
    pub out_refund_no: String,
    /// `refund_id_$n`.
    pub refund_id: String,
    /// `refund_fee_$n`, in fen.
    pub refund_fee: u64,
    /// `settlement_refund_fee_$n`, in fen.
    pub settlement_refund_fee: Option<u64>,
    /// `refund_status_$n`.
    pub refund_status: RefundStatus,
    /// `refund_channel_$n` (`ORIGINAL`, `BALANCE`, …).
    pub refund_channel: Option<String>,
    /// `refund_account_$n`.
    pub refund_account: Option<String>,
    /// `refund_recv_accout_$n` (WeChat's spelling): where the money went.
    pub refund_recv_accout: Option<String>,
    /// `refund_success_time_$n` (`yyyy-MM-dd HH:mm:ss`, Beijing time), once refunded.
    pub refund_success_time: Option<String>,
}

/// The answer of a refund query: the order and its refunds, read from the numbered fields
/// (`out_refund_no_0`, `refund_fee_0`, …, up to `refund_count`).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RefundQueryResponse {
    /// `transaction_id` of the order.
    pub transaction_id: String,
    /// `out_trade_no` of the order.
    pub out_trade_no: String,
    /// `total_fee` of the order, in fen.
    pub total_fee: u64,
    /// `cash_fee` of the order, in fen.
    pub cash_fee: Option<u64>,
    /// `total_refund_count`: every refund of the order (when more than one answer holds).
    pub total_refund_count: Option<u64>,
    /// The refunds listed, in WeChat's order (`_0`, `_1`, …).
    pub refunds: Vec<RefundRecord>,
    /// The whole answer.
    pub raw: PayMap,
}

impl RefundQueryResponse {
    /// Reads the answer (already checked by [`PayMap::from_response`]).
    ///
    /// # Errors
    ///
    /// [`PayErrorKind::MissingField`] / [`PayErrorKind::InvalidField`]: `refund_count` above
    /// [`MAX_REFUND_COUNT`], a numbered field missing (named `…_$n`), a refund above
    /// `total_fee`, or refunds that add up to more than `total_fee`.
    pub fn from_map(map: PayMap) -> Result<Self, PayError> {
        let total_fee = map.require_u64("total_fee")?;
        let count = usize::try_from(map.require_u64("refund_count")?)
            .ok()
            .filter(|&n| n <= MAX_REFUND_COUNT)
            .ok_or(PayErrorKind::InvalidField("refund_count"))?;
        let mut refunds = Vec::with_capacity(count);
        let mut sum = 0u64;
        for n in 0..count {
            let key = |name: &str| format!("{name}_{n}");
            let required = |name: &'static str, pattern: &'static str| {
                map.get_nonempty(&key(name))
                    .ok_or_else(|| PayError::from(PayErrorKind::MissingField(pattern)))
            };
            let out_refund_no = required("out_refund_no", "out_refund_no_$n")?;
            let refund_id = required("refund_id", "refund_id_$n")?;
            for (id, name) in [
                (out_refund_no, "out_refund_no_$n"),
                (refund_id, "refund_id_$n"),
            ] {
                if id.len() > MAX_ID_LEN || !id.bytes().all(|b| b.is_ascii_graphic()) {
                    return Err(PayErrorKind::InvalidField(name).into());
                }
            }
            let number = |name: &str, pattern: &'static str| -> Result<Option<u64>, PayError> {
                match map.get(&key(name)) {
                    None => Ok(None),
                    Some(v)
                        if !v.is_empty()
                            && v.len() <= 19
                            && v.bytes().all(|b| b.is_ascii_digit()) =>
                    {
                        v.parse()
                            .map(Some)
                            .map_err(|_| PayErrorKind::InvalidField(pattern).into())
                    }
                    Some(_) => Err(PayErrorKind::InvalidField(pattern).into()),
                }
            };
            let refund_fee = number("refund_fee", "refund_fee_$n")?
                .ok_or(PayErrorKind::MissingField("refund_fee_$n"))?;
            sum = sum
                .checked_add(refund_fee)
                .filter(|&s| s <= total_fee)
                .ok_or(PayErrorKind::InvalidField("refund_fee_$n"))?;
            let optional = |name: &str| map.get_nonempty(&key(name)).map(str::to_owned);
            refunds.push(RefundRecord {
                out_refund_no: out_refund_no.to_owned(),
                refund_id: refund_id.to_owned(),
                refund_fee,
                settlement_refund_fee: number("settlement_refund_fee", "settlement_refund_fee_$n")?,
                refund_status: RefundStatus::parse(required("refund_status", "refund_status_$n")?),
                refund_channel: optional("refund_channel"),
                refund_account: optional("refund_account"),
                refund_recv_accout: optional("refund_recv_accout"),
                refund_success_time: optional("refund_success_time"),
            });
        }
        Ok(Self {
            transaction_id: identifier(&map, "transaction_id")?,
            out_trade_no: identifier(&map, "out_trade_no")?,
            total_fee,
            cash_fee: map.get_u64("cash_fee")?,
            total_refund_count: map.get_u64("total_refund_count")?,
            refunds,
            raw: map,
        })
    }

    /// The refund numbered `out_refund_no` by the merchant, if listed.
    #[must_use]
    pub fn refund(&self, out_refund_no: &str) -> Option<&RefundRecord> {
        self.refunds
            .iter()
            .find(|r| r.out_refund_no == out_refund_no)
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

    mod requests {
        use super::super::super::{Merchant, OrderId, SignType};
        use super::*;

        fn merchant() -> Merchant {
            Merchant::new("wx1", "1000", "192006250b4c09247ec02edce69f6a2d")
                .with_sign_type(SignType::HmacSha256)
        }

        fn refund() -> Refund {
            Refund::new(OrderId::OutTradeNo("no-1".into()), "r-1", 1200, 200)
        }

        fn reason(refund: &Refund) -> &'static str {
            match refund.validate().unwrap_err().into_kind() {
                PayErrorKind::InvalidRequest(why) => why,
                other => panic!("{other:?}"),
            }
        }

        #[test]
        fn a_refund_request_is_signed_with_the_merchant_sign_type() {
            let map = refund()
                .refund_desc("short")
                .notify_url("https://example.com/refund")
                .refund_account(RefundAccount::RechargeFunds)
                .to_request(&merchant(), "n0nce")
                .unwrap();
            map.verify_sign(merchant().key(), SignType::HmacSha256)
                .unwrap();
            for (k, v) in [
                ("sign_type", "HMAC-SHA256"),
                ("out_trade_no", "no-1"),
                ("out_refund_no", "r-1"),
                ("total_fee", "1200"),
                ("refund_fee", "200"),
                ("refund_desc", "short"),
                ("notify_url", "https://example.com/refund"),
                ("refund_account", "REFUND_SOURCE_RECHARGE_FUNDS"),
            ] {
                assert_eq!(map.get(k), Some(v), "{k}");
            }
            assert_eq!(map.get("transaction_id"), None);
        }

        #[test]
        fn every_rule_names_its_field() {
            let cases = [
                (
                    Refund::new(OrderId::OutTradeNo("no-1".into()), "r-1", 1200, 1201),
                    "refund_fee is at most total_fee",
                ),
                (
                    Refund::new(OrderId::OutTradeNo("no-1".into()), "r-1", 1200, 0),
                    "refund_fee is in fen (分) and must be more than 0",
                ),
                (
                    Refund::new(OrderId::OutTradeNo("no-1".into()), "r-1", 0, 0),
                    "total_fee is in fen (分) and must be more than 0",
                ),
                (
                    Refund::new(OrderId::OutTradeNo("no-1".into()), "", 1200, 1),
                    "out_refund_no is 1 to 64 characters",
                ),
                (
                    Refund::new(OrderId::OutTradeNo("no-1".into()), "r 1", 1200, 1),
                    "out_refund_no is made of 0-9, a-z, A-Z and _ - | * @",
                ),
                (
                    Refund::new(OrderId::TransactionId("42<x>".into()), "r-1", 1200, 1),
                    "transaction_id is 1 to 32 letters and digits",
                ),
                (
                    refund().refund_desc("退".repeat(81)),
                    "refund_desc is at most 80 characters",
                ),
                (
                    refund().notify_url("https://example.com/r?x=1"),
                    "notify_url must be an absolute http(s) URL without a query",
                ),
            ];
            for (refund, why) in cases {
                assert_eq!(reason(&refund), why);
            }
            refund().refund_desc("退".repeat(80)).validate().unwrap();
            Refund::new(OrderId::OutTradeNo("no-1".into()), "r".repeat(64), 1, 1)
                .validate()
                .unwrap();
        }

        fn answer(fields: &[(&str, &str)]) -> PayMap {
            fields.iter().copied().collect()
        }

        fn refund_answer() -> PayMap {
            answer(&[
                ("transaction_id", "4200"),
                ("out_trade_no", "no-1"),
                ("out_refund_no", "r-1"),
                ("refund_id", "5000"),
                ("refund_fee", "200"),
                ("total_fee", "1200"),
                ("cash_fee", "1200"),
            ])
        }

        #[test]
        fn a_refund_answer_is_read_and_matched() {
            let res = RefundResponse::from_map(refund_answer()).unwrap();
            assert_eq!(
                (res.refund_fee, res.total_fee, res.cash_fee),
                (200, 1200, Some(1200))
            );
            res.check_matches(&refund()).unwrap();
            for (other, field) in [
                (
                    Refund::new(OrderId::OutTradeNo("no-1".into()), "r-2", 1200, 200),
                    "out_refund_no",
                ),
                (
                    Refund::new(OrderId::OutTradeNo("no-2".into()), "r-1", 1200, 200),
                    "out_trade_no",
                ),
                (
                    Refund::new(OrderId::TransactionId("4201".into()), "r-1", 1200, 200),
                    "transaction_id",
                ),
                (
                    Refund::new(OrderId::OutTradeNo("no-1".into()), "r-1", 1200, 201),
                    "refund_fee",
                ),
                (
                    Refund::new(OrderId::OutTradeNo("no-1".into()), "r-1", 1201, 200),
                    "total_fee",
                ),
            ] {
                assert_eq!(
                    res.check_matches(&other).unwrap_err().into_kind(),
                    PayErrorKind::InvalidField(field)
                );
            }
        }

        #[test]
        fn a_refund_answer_above_the_order_is_refused() {
            let mut map = refund_answer();
            map.insert("refund_fee", "1201");
            assert_eq!(
                RefundResponse::from_map(map).unwrap_err().into_kind(),
                PayErrorKind::InvalidField("refund_fee")
            );
            let mut map = refund_answer();
            map.remove("refund_id");
            assert_eq!(
                RefundResponse::from_map(map).unwrap_err().into_kind(),
                PayErrorKind::MissingField("refund_id")
            );
        }

        fn query_answer(count: usize) -> PayMap {
            let mut map = answer(&[
                ("transaction_id", "4200"),
                ("out_trade_no", "no-1"),
                ("total_fee", "1200"),
                ("cash_fee", "1200"),
            ]);
            map.insert("refund_count", count.to_string());
            for n in 0..count {
                map.insert(format!("out_refund_no_{n}"), format!("r-{n}"));
                map.insert(format!("refund_id_{n}"), format!("500{n}"));
                map.insert(format!("refund_fee_{n}"), "100");
                map.insert(format!("refund_status_{n}"), "PROCESSING");
            }
            map
        }

        #[test]
        fn refund_query_reads_every_numbered_refund() {
            let mut map = query_answer(3);
            map.insert("refund_status_1", "SUCCESS");
            map.insert("refund_success_time_1", "2023-11-14 10:00:00");
            let res = RefundQueryResponse::from_map(map).unwrap();
            assert_eq!(res.refunds.len(), 3);
            assert_eq!(res.refunds[2].out_refund_no, "r-2");
            assert_eq!(res.refunds[0].refund_status, RefundStatus::Processing);
            let second = res.refund("r-1").unwrap();
            assert_eq!(second.refund_status, RefundStatus::Success);
            assert_eq!(
                second.refund_success_time.as_deref(),
                Some("2023-11-14 10:00:00")
            );
            assert!(res.refund("r-3").is_none());
        }

        #[test]
        fn refund_query_refuses_what_wechat_never_sends() {
            let err = |map: PayMap| RefundQueryResponse::from_map(map).unwrap_err().into_kind();
            // A huge refund_count is refused, not looped over.
            let mut map = query_answer(1);
            map.insert("refund_count", "18446744073709551615");
            assert_eq!(err(map), PayErrorKind::InvalidField("refund_count"));
            let mut map = query_answer(1);
            map.insert("refund_count", "51");
            assert_eq!(err(map), PayErrorKind::InvalidField("refund_count"));
            // A count above the fields present.
            let mut map = query_answer(2);
            map.insert("refund_count", "3");
            assert_eq!(err(map), PayErrorKind::MissingField("out_refund_no_$n"));
            let mut map = query_answer(2);
            map.remove("refund_status_1");
            assert_eq!(err(map), PayErrorKind::MissingField("refund_status_$n"));
            // Refunds that add up to more than the order.
            let mut map = query_answer(2);
            map.insert("refund_fee_1", "1101");
            assert_eq!(err(map), PayErrorKind::InvalidField("refund_fee_$n"));
            let mut map = query_answer(1);
            map.insert("refund_fee_0", "-1");
            assert_eq!(err(map), PayErrorKind::InvalidField("refund_fee_$n"));
            let mut map = query_answer(1);
            map.insert("out_refund_no_0", "r 0");
            assert_eq!(err(map), PayErrorKind::InvalidField("out_refund_no_$n"));
            // Fields past refund_count are not read.
            let mut map = query_answer(1);
            map.insert("out_refund_no_1", "r-extra");
            assert_eq!(RefundQueryResponse::from_map(map).unwrap().refunds.len(), 1);
        }

        #[test]
        fn refund_query_requests_name_one_id() {
            let m = merchant();
            for (id, key) in [
                (RefundQueryId::RefundId("5000".into()), "refund_id"),
                (RefundQueryId::OutRefundNo("r-1".into()), "out_refund_no"),
                (
                    RefundQueryId::TransactionId("4200".into()),
                    "transaction_id",
                ),
                (RefundQueryId::OutTradeNo("no-1".into()), "out_trade_no"),
            ] {
                let map = refund_query_request(&m, &id, "n").unwrap();
                map.verify_sign(m.key(), SignType::HmacSha256).unwrap();
                assert!(map.get_nonempty(key).is_some(), "{key}");
            }
            for bad in [
                RefundQueryId::RefundId(String::new()),
                RefundQueryId::OutRefundNo("r\u{0}".into()),
                RefundQueryId::TransactionId("x".repeat(33)),
                RefundQueryId::OutTradeNo(String::new()),
            ] {
                assert!(refund_query_request(&m, &bad, "n").is_err(), "{bad:?}");
            }
        }

        #[test]
        fn refund_statuses_round_trip() {
            for name in ["SUCCESS", "CHANGE", "REFUNDCLOSE", "PROCESSING", "NEW"] {
                assert_eq!(RefundStatus::parse(name).as_str(), name);
            }
        }
    }
}
