//! Errors of calls to WeChat: WeChat's own `errcode`s, typed, and failures on the way there.

use crate::body::BoxError;
use crate::store::StoreError;

/// An answer of WeChat with `errcode` != 0: the code, WeChat's message, and a short meaning for
/// the common codes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WechatError {
    /// `errcode`.
    pub errcode: i64,
    /// `errmsg`, as WeChat wrote it (it often carries a request id, `rid: …`).
    pub errmsg: String,
}

impl WechatError {
    /// A short meaning of the code: the codes every call can answer, then the codes each API
    /// family's documentation lists for its calls.
    #[must_use]
    pub fn meaning(&self) -> Option<&'static str> {
        let code = self.errcode;
        common_meaning(code)
            .or_else(|| super::api::user::meaning(code))
            .or_else(|| super::api::tag::meaning(code))
            .or_else(|| super::api::mass::meaning(code))
            .or_else(|| super::api::kf::meaning(code))
            .or_else(|| super::api::ops::meaning(code))
            .or_else(|| super::api::menu::meaning(code))
            .or_else(|| super::api::material::meaning(code))
            .or_else(|| super::api::draft::meaning(code))
            .or_else(|| super::api::publish::meaning(code))
            .or_else(|| super::api::links::meaning(code))
            .or_else(|| super::api::security::meaning(code))
            .or_else(|| super::api::subscribe::meaning(code))
            .or_else(|| super::api::wxacode::meaning(code))
        // Each API family adds its own codes here, one line per family.
    }

    /// Whether the code says the access token used is no longer valid (40001, 40014, 42001):
    /// the call is worth one retry with a fresh token.
    #[must_use]
    pub fn is_token_invalid(&self) -> bool {
        matches!(self.errcode, 40001 | 40014 | 42001)
    }
}

/// The codes any call can answer.
fn common_meaning(code: i64) -> Option<&'static str> {
    Some(match code {
        -1 => "system busy, retry later",
        40001 => "invalid credential: the access_token is wrong or no longer the latest",
        40002 => "invalid grant_type",
        40003 => "invalid openid",
        40013 => "invalid appid",
        40014 => "invalid access_token",
        40029 => "invalid code (expired, or for another app)",
        40125 => "invalid appsecret",
        40163 => "code already used",
        40164 => "caller IP not in the API IP whitelist (IP白名单)",
        40226 => "risky user: login refused by WeChat's security checks",
        41001 => "access_token missing",
        42001 => "access_token expired",
        42002 => "refresh_token expired",
        43004 => "the user has not followed the account",
        45009 => "daily API quota reached",
        45011 => "API called too often, slow down",
        47001 => "malformed request data",
        48001 => "API not authorised for this account",
        _ => return None,
    })
}

impl std::fmt::Display for WechatError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "WeChat error {}", self.errcode)?;
        if let Some(meaning) = self.meaning() {
            write!(f, " ({meaning})")?;
        }
        write!(f, ": {}", self.errmsg)
    }
}

impl std::error::Error for WechatError {}

/// A call to WeChat that failed.
#[derive(Debug)]
#[non_exhaustive]
pub enum ClientError {
    /// WeChat answered with an error code.
    Wechat(WechatError),
    /// The request did not get an answer: connection, TLS or protocol failure.
    Transport(BoxError),
    /// The request did not get an answer in time.
    Timeout,
    /// WeChat answered with a status or body this client cannot read.
    Decode(String),
    /// The request could not be built, so nothing was sent: a URL that does not parse, a body
    /// that does not encode, menu JSON that is not JSON.
    Request(String),
    /// The token store failed.
    Store(StoreError),
    /// Another process holds the token refresh lock and no token appeared in time.
    TokenUnavailable,
}

impl ClientError {
    /// WeChat's error, when WeChat answered with one.
    #[must_use]
    pub fn wechat(&self) -> Option<&WechatError> {
        match self {
            Self::Wechat(err) => Some(err),
            _ => None,
        }
    }

    /// WeChat's `errcode`, when WeChat answered with one.
    #[must_use]
    pub fn errcode(&self) -> Option<i64> {
        self.wechat().map(|e| e.errcode)
    }
}

impl std::fmt::Display for ClientError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Wechat(err) => err.fmt(f),
            Self::Transport(err) => write!(f, "request to WeChat failed: {err}"),
            Self::Timeout => f.write_str("request to WeChat timed out"),
            Self::Decode(reason) => write!(f, "unreadable answer from WeChat: {reason}"),
            Self::Request(reason) => write!(f, "cannot build the request to WeChat: {reason}"),
            Self::Store(err) => write!(f, "token store: {err}"),
            Self::TokenUnavailable => f.write_str(
                "no access token: another process holds the refresh lock and none appeared in time",
            ),
        }
    }
}

impl std::error::Error for ClientError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Wechat(err) => Some(err),
            Self::Transport(err) => Some(err.as_ref()),
            Self::Store(err) => Some(err),
            _ => None,
        }
    }
}

impl From<WechatError> for ClientError {
    fn from(err: WechatError) -> Self {
        Self::Wechat(err)
    }
}

impl From<StoreError> for ClientError {
    fn from(err: StoreError) -> Self {
        Self::Store(err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_carries_code_meaning_and_message() {
        let err = WechatError {
            errcode: 40164,
            errmsg: "invalid ip 1.2.3.4 rid: x".into(),
        };
        assert_eq!(
            err.to_string(),
            "WeChat error 40164 (caller IP not in the API IP whitelist (IP白名单)): invalid ip 1.2.3.4 rid: x"
        );
        assert!(!err.is_token_invalid());
        for code in [40001, 40014, 42001] {
            assert!(
                WechatError {
                    errcode: code,
                    errmsg: String::new()
                }
                .is_token_invalid()
            );
        }
        let unknown = WechatError {
            errcode: 99999,
            errmsg: "new".into(),
        };
        assert_eq!(unknown.to_string(), "WeChat error 99999: new");
    }
}
