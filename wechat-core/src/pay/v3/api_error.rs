//! The error answer of APIv3: HTTP 4xx/5xx with a JSON body `{"code", "message", "detail"}`,
//! typed: [`ApiError`] with its [`ApiErrorCode`].

use std::fmt;

use serde::Deserialize;

macro_rules! api_error_codes {
    ($($(#[$doc:meta])* $variant:ident = $code:literal, $en:literal, $zh:literal, $retry:literal;)*) => {
        /// The `code` of an APIv3 error answer, for the codes WeChat Pay documents for orders,
        /// refunds, bills and transfers; any other code is kept as [`ApiErrorCode::Other`].
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum ApiErrorCode {
            $($(#[$doc])* $variant,)*
            /// A code this crate does not know, as WeChat wrote it.
            Other(String),
        }

        impl ApiErrorCode {
            /// Reads a code as WeChat writes it.
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

            /// What the code means, in English.
            #[must_use]
            pub fn meaning(&self) -> Option<&'static str> {
                match self {
                    $(Self::$variant => Some($en),)*
                    Self::Other(_) => None,
                }
            }

            /// What the code means, in Chinese (WeChat's own wording, abridged).
            #[must_use]
            pub fn meaning_zh(&self) -> Option<&'static str> {
                match self {
                    $(Self::$variant => Some($zh),)*
                    Self::Other(_) => None,
                }
            }

            /// Whether the same call may succeed if repeated later, unchanged (same
            /// `out_trade_no`, `out_refund_no`, `out_bill_no`): a system, bank or rate-limit
            /// condition, not a mistake in the request. Unknown codes: `false` (see
            /// [`ApiError::is_retryable`], which also looks at the status).
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

api_error_codes! {
    /// `PARAM_ERROR` (400).
    ParamError = "PARAM_ERROR", "a parameter is missing or invalid", "参数错误", false;
    /// `INVALID_REQUEST` (400).
    InvalidRequest = "INVALID_REQUEST", "the request breaks the API's rules (e.g. the same out_trade_no with other parameters)", "无效请求", false;
    /// `SIGN_ERROR` (401).
    SignError = "SIGN_ERROR", "the request's signature does not verify: check the merchant key and certificate serial", "签名错误", false;
    /// `NO_AUTH` (403).
    NoAuth = "NO_AUTH", "the merchant has no permission for this API or product", "商户无权限", false;
    /// `RESOURCE_NOT_EXISTS` (404).
    ResourceNotExists = "RESOURCE_NOT_EXISTS", "no such resource (order, refund, bill)", "查询的资源不存在", false;
    /// `ORDERNOTEXIST` (404).
    OrderNotExist = "ORDERNOTEXIST", "no such order", "订单不存在", false;
    /// `ORDER_NOT_EXIST` (404).
    OrderNotExistUnderscore = "ORDER_NOT_EXIST", "no such order", "订单不存在", false;
    /// `NOT_FOUND` (404).
    NotFound = "NOT_FOUND", "no such record", "记录不存在", false;
    /// `ORDERPAID` (400/403).
    OrderPaid = "ORDERPAID", "the order is already paid", "订单已支付", false;
    /// `ORDER_CLOSED` (400).
    OrderClosed = "ORDER_CLOSED", "the order is closed", "订单已关闭", false;
    /// `NOT_ENOUGH` (403).
    NotEnough = "NOT_ENOUGH", "the balance is not enough (the user's, or the merchant's for refunds and transfers)", "余额不足", false;
    /// `FREQUENCY_LIMITED` (429).
    FrequencyLimited = "FREQUENCY_LIMITED", "called too often: slow down and retry later", "频率超限", true;
    /// `FREQUENCY_LIMIT_EXCEED` (403).
    FrequencyLimitExceed = "FREQUENCY_LIMIT_EXCEED", "over the frequency limit: retry later", "超过频率限制", true;
    /// `SYSTEM_ERROR` (500).
    SystemError = "SYSTEM_ERROR", "WeChat Pay system error: retry the same call", "系统错误", true;
    /// `SYSTEMERROR` (500).
    SystemErrorNoUnderscore = "SYSTEMERROR", "WeChat Pay system error: retry the same call", "系统错误", true;
    /// `BANK_ERROR` (500).
    BankError = "BANK_ERROR", "bank system error: retry later", "银行系统异常", true;
    /// `APPID_MCHID_NOT_MATCH` (400).
    AppIdMchIdNotMatch = "APPID_MCHID_NOT_MATCH", "appid and mchid are not bound to each other", "AppID和mch_id不匹配", false;
    /// `MCH_NOT_EXISTS` (400).
    MchNotExists = "MCH_NOT_EXISTS", "no such merchant (mchid)", "商户号不存在", false;
    /// `OPENID_MISMATCH` (400).
    OpenIdMismatch = "OPENID_MISMATCH", "the openid does not belong to the appid", "OpenID和AppID不匹配", false;
    /// `RULE_LIMIT` (403).
    RuleLimit = "RULE_LIMIT", "refused by a business rule (limits, risk control)", "业务规则限制", false;
    /// `OUT_TRADE_NO_USED` (403).
    OutTradeNoUsed = "OUT_TRADE_NO_USED", "out_trade_no already used for another order", "商户订单号重复", false;
    /// `USER_ACCOUNT_ABNORMAL` (403).
    UserAccountAbnormal = "USER_ACCOUNT_ABNORMAL", "the user's account is abnormal (refund to balance impossible)", "用户账户异常", false;
    /// `ACCOUNT_ERROR` (403).
    AccountError = "ACCOUNT_ERROR", "the account is abnormal or frozen", "账号异常", false;
    /// `TRADE_ERROR` (403).
    TradeError = "TRADE_ERROR", "the trade was refused (risk control or account state)", "交易错误", false;
    /// `ALREADY_EXISTS` (400).
    AlreadyExists = "ALREADY_EXISTS", "the record already exists (same out_bill_no / out_refund_no)", "数据已存在", false;
    /// `INVALID_TRANSACTIONID` (400).
    InvalidTransactionId = "INVALID_TRANSACTIONID", "invalid transaction_id", "订单号非法", false;
    /// `REQUEST_BLOCKED` (403).
    RequestBlocked = "REQUEST_BLOCKED", "the request is blocked (product not enabled, or risk control)", "请求受阻", false;
    /// `NO_STATEMENT_EXIST` (400).
    NoStatementExist = "NO_STATEMENT_EXIST", "no bill for that date (none yet, or no trade that day)", "账单文件不存在", false;
    /// `STATEMENT_CREATING` (400).
    StatementCreating = "STATEMENT_CREATING", "the bill is being generated: retry later", "账单生成中", true;
    /// `SERVICE_UNAVAILABLE` (503).
    ServiceUnavailable = "SERVICE_UNAVAILABLE", "the service is unavailable: retry later", "服务不可用", true;
}

/// An APIv3 error answer (`{"code", "message", "detail"}` with a 4xx/5xx status), typed.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ApiError {
    /// The HTTP status.
    pub status: u16,
    /// `code`, typed.
    pub code: ApiErrorCode,
    /// `message`, as WeChat wrote it (usually Chinese).
    pub message: String,
    /// `detail` (the field, value, issue and location of a `PARAM_ERROR`), when present.
    pub detail: Option<serde_json::Value>,
    /// Whether the answer carried a `Wechatpay-Signature` that verified. An unsigned error
    /// answer may come from a proxy or gateway in between: do not act on it as if WeChat Pay
    /// said so (e.g. do not mark an order paid on an unsigned `ORDERPAID`).
    pub verified: bool,
}

#[derive(Deserialize)]
struct Body {
    code: String,
    #[serde(default)]
    message: String,
    #[serde(default)]
    detail: Option<serde_json::Value>,
}

impl ApiError {
    /// Reads an error answer: `None` when `body` is not a JSON object with a string `code`.
    /// `verified` starts `false`; the client sets it once the signature checked.
    #[must_use]
    pub fn from_body(status: u16, body: &[u8]) -> Option<Self> {
        let body: Body = serde_json::from_slice(body).ok()?;
        Some(Self {
            status,
            code: ApiErrorCode::parse(&body.code),
            message: body.message,
            detail: body.detail,
            verified: false,
        })
    }

    /// An error of code `code` (WeChat's side: mock servers and tests).
    #[must_use]
    pub fn new(status: u16, code: &str, message: impl Into<String>) -> Self {
        Self {
            status,
            code: ApiErrorCode::parse(code),
            message: message.into(),
            detail: None,
            verified: false,
        }
    }

    /// The JSON body WeChat sends for this error.
    #[must_use]
    pub fn to_json(&self) -> String {
        let mut body = serde_json::Map::new();
        body.insert("code".into(), self.code.as_str().into());
        body.insert("message".into(), self.message.clone().into());
        if let Some(detail) = &self.detail {
            body.insert("detail".into(), detail.clone());
        }
        serde_json::Value::Object(body).to_string()
    }

    /// Whether repeating the same call later may succeed: a retryable code, or an unknown code
    /// with a 5xx status or 429.
    #[must_use]
    pub fn is_retryable(&self) -> bool {
        match self.code {
            ApiErrorCode::Other(_) => self.status >= 500 || self.status == 429,
            ref code => code.is_retryable(),
        }
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "WeChat Pay APIv3 error {} (HTTP {}",
            self.code.as_str(),
            self.status
        )?;
        if let (Some(en), Some(zh)) = (self.code.meaning(), self.code.meaning_zh()) {
            write!(f, "; {en}, {zh}")?;
        }
        f.write_str(")")?;
        if !self.message.is_empty() {
            write!(f, ": {}", self.message)?;
        }
        if !self.verified {
            f.write_str(" [unsigned answer]")?;
        }
        Ok(())
    }
}

impl std::error::Error for ApiError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documented_codes_round_trip_with_both_meanings() {
        for code in [
            "ORDERPAID",
            "ORDER_CLOSED",
            "ORDERNOTEXIST",
            "RESOURCE_NOT_EXISTS",
            "NOT_ENOUGH",
            "SIGN_ERROR",
            "PARAM_ERROR",
            "INVALID_REQUEST",
            "FREQUENCY_LIMITED",
            "SYSTEM_ERROR",
            "APPID_MCHID_NOT_MATCH",
            "MCH_NOT_EXISTS",
            "NO_AUTH",
            "RULE_LIMIT",
            "OUT_TRADE_NO_USED",
            "USER_ACCOUNT_ABNORMAL",
            "BANK_ERROR",
            "ACCOUNT_ERROR",
        ] {
            let parsed = ApiErrorCode::parse(code);
            assert!(!matches!(parsed, ApiErrorCode::Other(_)), "{code}");
            assert_eq!(parsed.as_str(), code);
            assert!(parsed.meaning().is_some(), "{code}");
            assert!(parsed.meaning_zh().is_some(), "{code}");
        }
    }

    #[test]
    fn bodies_map_to_typed_errors() {
        let body = r#"{"code":"PARAM_ERROR","message":"参数错误","detail":{"field":"/amount/total","value":0,"issue":"must be > 0","location":"body"}}"#.as_bytes();
        let err = ApiError::from_body(400, body).unwrap();
        assert_eq!(err.code, ApiErrorCode::ParamError);
        assert_eq!(err.detail.as_ref().unwrap()["field"], "/amount/total");
        assert!(!err.is_retryable());
        assert_eq!(
            err.to_string(),
            "WeChat Pay APIv3 error PARAM_ERROR (HTTP 400; a parameter is missing or invalid, 参数错误): 参数错误 [unsigned answer]"
        );
        let back = ApiError::from_body(400, err.to_json().as_bytes()).unwrap();
        assert_eq!(back, err);

        let err = ApiError::from_body(500, br#"{"code":"SYSTEM_ERROR","message":"x"}"#).unwrap();
        assert!(err.is_retryable());
        let err = ApiError::from_body(503, br#"{"code":"NEW_THING"}"#).unwrap();
        assert_eq!(err.code, ApiErrorCode::Other("NEW_THING".into()));
        assert!(err.is_retryable());
        let err = ApiError::from_body(400, br#"{"code":"NEW_THING"}"#).unwrap();
        assert!(!err.is_retryable());
        assert!(ApiError::from_body(500, b"<html>bad gateway</html>").is_none());
        assert!(ApiError::from_body(500, br#"{"code":42}"#).is_none());
        assert!(ApiError::from_body(500, b"").is_none());
    }
}
