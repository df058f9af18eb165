//! [`PayV3Error`]: a v3 call that failed.

use wechat_core::pay::PayError;
use wechat_core::pay::v3::{ApiError, ApiErrorCode};

use crate::body::BoxError;
use crate::store::StoreError;

/// A v3 call that failed.
#[derive(Debug)]
#[non_exhaustive]
pub enum PayV3Error {
    /// WeChat Pay answered HTTP 4xx/5xx with its JSON error (`ORDERPAID`, `NOT_ENOUGH`,
    /// `SIGN_ERROR`, ...), typed. See [`ApiError::verified`] before acting on it.
    Api(ApiError),
    /// A protocol failure: the answer's signature does not verify or is missing (a 2xx that
    /// does not verify is this, never data), an unknown or expired certificate, a request
    /// refused before sending (validation), a key that does not parse, a bill whose hash does
    /// not match.
    Pay(PayError),
    /// WeChat Pay answered with a status and a body that is not its JSON error (a proxy's HTML
    /// page, an empty 502).
    Status(u16),
    /// The answer verified but is not the JSON this call expects.
    Decode(String),
    /// The answer is larger than the client accepts.
    TooLarge,
    /// The request did not get an answer: connection, TLS or protocol failure.
    Transport(BoxError),
    /// The request did not get an answer in time.
    Timeout,
    /// The store that shares the platform certificates failed.
    Store(StoreError),
    /// The request cannot be sent: what is wrong (a bill URL on another host, no key to
    /// encrypt a sensitive field with, ...).
    Request(String),
}

impl PayV3Error {
    /// WeChat Pay's error answer, when it is one.
    #[must_use]
    pub fn api(&self) -> Option<&ApiError> {
        match self {
            Self::Api(err) => Some(err),
            _ => None,
        }
    }

    /// The code of WeChat Pay's error answer, when it is one.
    #[must_use]
    pub fn code(&self) -> Option<&ApiErrorCode> {
        self.api().map(|e| &e.code)
    }

    /// The protocol failure, when it is one.
    #[must_use]
    pub fn pay(&self) -> Option<&PayError> {
        match self {
            Self::Pay(err) => Some(err),
            _ => None,
        }
    }

    /// Whether repeating the same call (same `out_trade_no` / `out_refund_no` / `out_bill_no`)
    /// later may succeed: a retryable API code, a 5xx without a body, a timeout or a transport
    /// failure.
    #[must_use]
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::Api(err) => err.is_retryable(),
            Self::Status(status) => *status >= 500 || *status == 429,
            Self::Timeout | Self::Transport(_) | Self::Store(_) => true,
            _ => false,
        }
    }
}

impl std::fmt::Display for PayV3Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Api(err) => err.fmt(f),
            Self::Pay(err) => err.fmt(f),
            Self::Status(status) => write!(
                f,
                "WeChat Pay answered HTTP {status} without an APIv3 error body"
            ),
            Self::Decode(reason) => write!(f, "unreadable answer from WeChat Pay: {reason}"),
            Self::TooLarge => {
                f.write_str("the answer of WeChat Pay is larger than the client accepts")
            }
            Self::Transport(err) => write!(f, "request to WeChat Pay failed: {err}"),
            Self::Timeout => f.write_str("request to WeChat Pay timed out"),
            Self::Store(err) => write!(f, "certificate store: {err}"),
            Self::Request(reason) => write!(f, "cannot send the request to WeChat Pay: {reason}"),
        }
    }
}

impl std::error::Error for PayV3Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Api(err) => Some(err),
            Self::Pay(err) => Some(err),
            Self::Transport(err) => Some(err.as_ref()),
            Self::Store(err) => Some(err),
            _ => None,
        }
    }
}

impl From<PayError> for PayV3Error {
    fn from(err: PayError) -> Self {
        Self::Pay(err)
    }
}

impl From<StoreError> for PayV3Error {
    fn from(err: StoreError) -> Self {
        Self::Store(err)
    }
}
