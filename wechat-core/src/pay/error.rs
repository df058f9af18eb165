//! The errors of WeChat Pay: WeChat's own answers (`return_code`, `result_code` + `err_code`),
//! typed, and the failures of signing, verifying, decrypting and validating.
//!
//! ```
//! use wechat_core::pay::{ErrCode, PayErrorKind, PayMap, SignType};
//! use wechat_core::secret::PayKey;
//!
//! let key = PayKey::new("192006250b4c09247ec02edce69f6a2d");
//! let mut answer = PayMap::new();
//! answer.insert("return_code", "SUCCESS");
//! answer.insert("result_code", "FAIL");
//! answer.insert("err_code", "ORDERPAID");
//! answer.insert("err_code_des", "该订单已支付");
//! answer.sign(&key, SignType::Md5);
//!
//! let err = PayMap::from_response(&answer.to_xml()?, &key, SignType::Md5).unwrap_err();
//! let PayErrorKind::Business(business) = err.kind() else { unreachable!() };
//! assert_eq!(business.code, ErrCode::OrderPaid);
//! assert_eq!(err.to_string(), "WeChat Pay error ORDERPAID (the order is already paid): 该订单已支付");
//! # Ok::<(), wechat_core::pay::PayError>(())
//! ```

use std::fmt;

/// An error of WeChat Pay. Cheap to move: the kind lives behind one `Box`. Inspect it with
/// [`PayError::kind`].
pub struct PayError(Box<PayErrorKind>);

/// What went wrong. New kinds may be added in minor releases.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum PayErrorKind {
    /// The body is not a well-formed flat `<xml>` map (or not UTF-8, or carries a DOCTYPE).
    Xml(crate::ErrorKind),
    /// The JSON of a v3 notification or resource is not what WeChat sends.
    Json(String),
    /// A field WeChat always sends is missing (or empty).
    MissingField(&'static str),
    /// A field has a value of the wrong shape (a non-numeric `total_fee`, ...).
    InvalidField(&'static str),
    /// The same element appears twice in a flat map: WeChat never sends that, and a signed map
    /// must mean one thing.
    DuplicateField(String),
    /// The v2 `sign` is missing.
    MissingSign,
    /// The v2 `sign` does not match (wrong key, wrong sign type, or a forged or altered message).
    InvalidSign,
    /// A sign type other than `MD5` and `HMAC-SHA256`.
    UnsupportedSignType(String),
    /// `return_code` is not `SUCCESS`: the call itself failed (bad parameters, bad sign, ...).
    Return {
        /// `return_msg`, as WeChat wrote it.
        message: String,
    },
    /// `result_code` is `FAIL`: the business failed, with WeChat's `err_code`.
    Business(BusinessError),
    /// A request that WeChat would refuse, refused before sending: what is wrong with it.
    InvalidRequest(&'static str),
    /// `appid` of a notification is not the configured one.
    AppIdMismatch,
    /// `mch_id` (商户号) of a notification is not the configured one.
    MchIdMismatch,
    /// A key of the wrong shape: which one and why.
    InvalidKey(&'static str),
    /// Decryption failed (`req_info` or a v3 `resource`): wrong key, altered ciphertext, bad
    /// padding. No detail, on purpose.
    Decrypt,
    /// A v3 header (`Wechatpay-Timestamp`, `-Nonce`, `-Signature`, `-Serial`) is missing or
    /// malformed.
    InvalidHeader(&'static str),
    /// `Wechatpay-Serial` names no certificate or public key the verifier knows.
    UnknownSerial(String),
    /// `Wechatpay-Signature` does not verify.
    InvalidSignature,
    /// `Wechatpay-Timestamp` lies outside the accepted window.
    StaleTimestamp,
    /// A time inside a notification (a v2 refund's `success_time`) lies outside the accepted
    /// window: older than a replay could be recognised, or in the future. Names the field.
    StaleField(&'static str),
    /// An APIv3 error answer (HTTP 4xx/5xx with `{"code", "message", "detail"}`), typed.
    Api(super::v3::ApiError),
    /// Signing failed: the OS random number generator (blinding) is unavailable.
    Sign,
    /// RSA-OAEP encryption failed: a plaintext too long for the key, or no random bytes.
    Encrypt,
    /// A platform certificate (平台证书) has expired (`notAfter` passed): what it signs is not
    /// trusted. Names its serial.
    ExpiredCertificate(String),
    /// A platform certificate (平台证书) is not valid yet (`notBefore` is ahead of now by more
    /// than the timestamp window): WeChat Pay signs with a certificate only once it is in
    /// force, so what it signs is not trusted. Names its serial.
    CertificateNotYetValid(String),
    /// A downloaded platform certificate's serial differs from the `serial_no` it was listed
    /// under. Names the listed serial.
    CertificateMismatch(String),
    /// A downloaded file's hash (a bill's SHA-1 `hash_value`) does not match its bytes.
    HashMismatch,
}

impl PayError {
    /// What went wrong.
    #[must_use]
    pub fn kind(&self) -> &PayErrorKind {
        &self.0
    }

    /// Consumes the error and returns its kind.
    #[must_use]
    pub fn into_kind(self) -> PayErrorKind {
        *self.0
    }

    /// WeChat's business error, when WeChat answered `result_code` = `FAIL`.
    #[must_use]
    pub fn business(&self) -> Option<&BusinessError> {
        match &*self.0 {
            PayErrorKind::Business(err) => Some(err),
            _ => None,
        }
    }
}

impl From<PayErrorKind> for PayError {
    fn from(kind: PayErrorKind) -> Self {
        Self(Box::new(kind))
    }
}

impl From<crate::Error> for PayError {
    fn from(err: crate::Error) -> Self {
        PayErrorKind::Xml(err.into_kind()).into()
    }
}

impl fmt::Debug for PayError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

impl fmt::Display for PayError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &*self.0 {
            PayErrorKind::Xml(kind) => {
                write!(f, "WeChat Pay XML: {}", crate::Error::from(kind.clone()))
            }
            PayErrorKind::Json(reason) => write!(f, "WeChat Pay JSON: {reason}"),
            PayErrorKind::MissingField(name) => write!(f, "missing field `{name}`"),
            PayErrorKind::InvalidField(name) => write!(f, "invalid value for field `{name}`"),
            PayErrorKind::DuplicateField(name) => write!(f, "field `{name}` appears twice"),
            PayErrorKind::MissingSign => f.write_str("the message carries no `sign`"),
            PayErrorKind::InvalidSign => f.write_str("`sign` does not match"),
            PayErrorKind::UnsupportedSignType(t) => {
                write!(
                    f,
                    "unsupported sign type `{t}`: expected MD5 or HMAC-SHA256"
                )
            }
            PayErrorKind::Return { message } => {
                write!(
                    f,
                    "WeChat Pay refused the call (return_code FAIL): {message}"
                )
            }
            PayErrorKind::Business(err) => err.fmt(f),
            PayErrorKind::InvalidRequest(why) => write!(f, "invalid WeChat Pay request: {why}"),
            PayErrorKind::AppIdMismatch => f.write_str("the notification is for another appid"),
            PayErrorKind::MchIdMismatch => {
                f.write_str("the notification is for another merchant (mch_id, 商户号)")
            }
            PayErrorKind::InvalidKey(why) => write!(f, "invalid key: {why}"),
            PayErrorKind::Decrypt => f.write_str("decryption failed"),
            PayErrorKind::InvalidHeader(name) => write!(f, "missing or malformed header {name}"),
            PayErrorKind::UnknownSerial(serial) => write!(
                f,
                "Wechatpay-Serial `{serial}` names no known platform certificate or public key"
            ),
            PayErrorKind::InvalidSignature => f.write_str("Wechatpay-Signature does not verify"),
            PayErrorKind::StaleTimestamp => {
                f.write_str("Wechatpay-Timestamp outside the accepted window")
            }
            PayErrorKind::StaleField(name) => write!(
                f,
                "`{name}` outside the accepted window (too old to tell from a replay, or in the future)"
            ),
            PayErrorKind::Api(err) => err.fmt(f),
            PayErrorKind::Sign => {
                f.write_str("signing failed: the OS random number generator is unavailable")
            }
            PayErrorKind::Encrypt => f.write_str(
                "RSA-OAEP encryption failed (plaintext too long for the key, or no random bytes)",
            ),
            PayErrorKind::ExpiredCertificate(serial) => {
                write!(f, "platform certificate `{serial}` has expired")
            }
            PayErrorKind::CertificateNotYetValid(serial) => {
                write!(f, "platform certificate `{serial}` is not valid yet")
            }
            PayErrorKind::CertificateMismatch(serial) => write!(
                f,
                "the certificate listed as `{serial}` carries another serial number"
            ),
            PayErrorKind::HashMismatch => {
                f.write_str("the downloaded file does not match its hash_value")
            }
        }
    }
}

impl std::error::Error for PayError {}

/// A business failure (`result_code` = `FAIL`): WeChat's `err_code` and `err_code_des`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BusinessError {
    /// `err_code`, typed.
    pub code: ErrCode,
    /// `err_code_des`, as WeChat wrote it (usually Chinese).
    pub description: String,
}

impl fmt::Display for BusinessError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "WeChat Pay error {}", self.code.as_str())?;
        if let Some(meaning) = self.code.meaning() {
            write!(f, " ({meaning})")?;
        }
        if !self.description.is_empty() {
            write!(f, ": {}", self.description)?;
        }
        Ok(())
    }
}

impl std::error::Error for BusinessError {}

macro_rules! err_codes {
    ($($(#[$doc:meta])* $variant:ident = $code:literal, $meaning:literal, $retry:literal;)*) => {
        /// WeChat Pay's `err_code`, for the codes of unified order (统一下单), order query and
        /// close order; any other code is kept as [`ErrCode::Other`].
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum ErrCode {
            $($(#[$doc])* $variant,)*
            /// A code this crate does not know, as WeChat wrote it.
            Other(String),
        }

        impl ErrCode {
            /// The code as WeChat writes it.
            #[must_use]
            pub fn parse(code: &str) -> Self {
                match code {
                    $($code => Self::$variant,)*
                    other => Self::Other(other.to_owned()),
                }
            }

            /// The code as WeChat writes it (`ORDERPAID`, ...).
            #[must_use]
            pub fn as_str(&self) -> &str {
                match self {
                    $(Self::$variant => $code,)*
                    Self::Other(code) => code,
                }
            }

            /// A short meaning of the code, in English.
            #[must_use]
            pub fn meaning(&self) -> Option<&'static str> {
                match self {
                    $(Self::$variant => Some($meaning),)*
                    Self::Other(_) => None,
                }
            }

            /// Whether WeChat's docs say to retry the same call later (with the same
            /// `out_trade_no`): a system or bank error, not a mistake in the request.
            #[must_use]
            pub fn is_retryable(&self) -> bool {
                match self {
                    $(Self::$variant => $retry,)*
                    Self::Other(_) => false,
                }
            }
        }
    };
}

err_codes! {
    /// `ORDERPAID`.
    OrderPaid = "ORDERPAID", "the order is already paid", false;
    /// `SYSTEMERROR`.
    SystemError = "SYSTEMERROR", "WeChat Pay system error: retry the same call", true;
    /// `NOTENOUGH`.
    NotEnough = "NOTENOUGH", "the user's balance is not enough", false;
    /// `ORDERCLOSED`.
    OrderClosed = "ORDERCLOSED", "the order is closed", false;
    /// `SIGNERROR`.
    SignError = "SIGNERROR", "sign mismatch: check the API key and the sign type", false;
    /// `OUT_TRADE_NO_USED`.
    OutTradeNoUsed = "OUT_TRADE_NO_USED", "out_trade_no already used for another order", false;
    /// `ORDERNOTEXIST`.
    OrderNotExist = "ORDERNOTEXIST", "no such order", false;
    /// `NOAUTH`.
    NoAuth = "NOAUTH", "the merchant has no permission for this API", false;
    /// `APPID_NOT_EXIST`.
    AppIdNotExist = "APPID_NOT_EXIST", "appid does not exist", false;
    /// `MCHID_NOT_EXIST`.
    MchIdNotExist = "MCHID_NOT_EXIST", "mch_id does not exist", false;
    /// `APPID_MCHID_NOT_MATCH`.
    AppIdMchIdNotMatch = "APPID_MCHID_NOT_MATCH", "appid and mch_id are not bound to each other", false;
    /// `LACK_PARAMS`.
    LackParams = "LACK_PARAMS", "a required parameter is missing", false;
    /// `PARAM_ERROR`.
    ParamError = "PARAM_ERROR", "a parameter is invalid", false;
    /// `INVALID_REQUEST`.
    InvalidRequest = "INVALID_REQUEST", "the request is invalid (e.g. the same out_trade_no with other parameters)", false;
    /// `XML_FORMAT_ERROR`.
    XmlFormatError = "XML_FORMAT_ERROR", "malformed XML", false;
    /// `REQUIRE_POST_METHOD`.
    RequirePostMethod = "REQUIRE_POST_METHOD", "the call must be a POST", false;
    /// `POST_DATA_EMPTY`.
    PostDataEmpty = "POST_DATA_EMPTY", "empty request body", false;
    /// `NOT_UTF8`.
    NotUtf8 = "NOT_UTF8", "the request is not UTF-8", false;
    /// `FREQUENCY_LIMITED`.
    FrequencyLimited = "FREQUENCY_LIMITED", "called too often: slow down", true;
    /// `BANKERROR`.
    BankError = "BANKERROR", "bank system error: retry later", true;
    /// `TRADE_ERROR`.
    TradeError = "TRADE_ERROR", "the trade was refused by risk control or the user's account state", false;
    /// `USERPAYING`.
    UserPaying = "USERPAYING", "the user is still paying (entering the password)", true;
    /// `INVALID_TRANSACTIONID`.
    InvalidTransactionId = "INVALID_TRANSACTIONID", "invalid transaction_id", false;
    /// `USER_ACCOUNT_ABNORMAL` (refund): the payer's account is closed or frozen.
    UserAccountAbnormal = "USER_ACCOUNT_ABNORMAL", "the payer's account is abnormal (closed or frozen): refund another way", false;
    /// `INVALID_REQ_TOO_MUCH` (refund): too many refunds of the order.
    InvalidReqTooMuch = "INVALID_REQ_TOO_MUCH", "too many refunds of this order", false;
    /// `BIZERR_NEED_RETRY` (refund): concurrent refunds of one order.
    BizerrNeedRetry = "BIZERR_NEED_RETRY", "concurrent refund: retry the same out_refund_no", true;
    /// `TRADE_OVERDUE` (refund): the order is too old to refund (over a year).
    TradeOverdue = "TRADE_OVERDUE", "the order is too old to refund", false;
    /// `ERROR` (refund): refused for a reason in `err_code_des` (order not paid, fully refunded…).
    Error = "ERROR", "refund refused (see err_code_des)", false;
    /// `CERT_ERROR` (refund): the client certificate (商户API证书) is missing or wrong.
    CertError = "CERT_ERROR", "the merchant's client certificate is missing or wrong", false;
    /// `REFUNDNOTEXIST` (refund query).
    RefundNotExist = "REFUNDNOTEXIST", "no such refund", false;
    /// `REFUND_FEE_MISMATCH` (refund): the same `out_refund_no` with other amounts.
    RefundFeeMismatch = "REFUND_FEE_MISMATCH", "out_refund_no already used with other amounts", false;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_is_one_pointer_wide() {
        assert_eq!(
            std::mem::size_of::<PayError>(),
            std::mem::size_of::<usize>()
        );
    }

    #[test]
    fn codes_round_trip_and_explain_themselves() {
        for code in [
            "ORDERPAID",
            "SYSTEMERROR",
            "NOTENOUGH",
            "ORDERCLOSED",
            "SIGNERROR",
            "OUT_TRADE_NO_USED",
            "ORDERNOTEXIST",
            "USER_ACCOUNT_ABNORMAL",
            "INVALID_REQ_TOO_MUCH",
            "BIZERR_NEED_RETRY",
            "TRADE_OVERDUE",
            "ERROR",
            "CERT_ERROR",
            "REFUNDNOTEXIST",
            "REFUND_FEE_MISMATCH",
        ] {
            let parsed = ErrCode::parse(code);
            assert!(!matches!(parsed, ErrCode::Other(_)), "{code}");
            assert_eq!(parsed.as_str(), code);
            assert!(parsed.meaning().is_some(), "{code}");
        }
        assert!(ErrCode::SystemError.is_retryable());
        assert!(!ErrCode::OrderPaid.is_retryable());
        let other = ErrCode::parse("NEW_CODE");
        assert_eq!(other, ErrCode::Other("NEW_CODE".into()));
        assert_eq!(other.meaning(), None);
        assert_eq!(
            BusinessError {
                code: other,
                description: String::new()
            }
            .to_string(),
            "WeChat Pay error NEW_CODE"
        );
    }

    #[test]
    fn display_of_business_errors_names_the_code() {
        let err = PayError::from(PayErrorKind::Business(BusinessError {
            code: ErrCode::NotEnough,
            description: "余额不足".into(),
        }));
        assert_eq!(
            err.to_string(),
            "WeChat Pay error NOTENOUGH (the user's balance is not enough): 余额不足"
        );
        assert_eq!(err.business().map(|b| &b.code), Some(&ErrCode::NotEnough));
    }

    #[test]
    fn a_stale_field_is_named() {
        let err = PayError::from(PayErrorKind::StaleField("success_time"));
        assert!(
            err.to_string().starts_with("`success_time` outside"),
            "{err}"
        );
    }
}
