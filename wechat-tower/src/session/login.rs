//! The login exchange: `code` → `jscode2session` → a session → a token.

use bytes::Bytes;
use http::{Response, StatusCode};

use super::rejection::json_error;
use super::store::{SessionError, SessionStore};
use super::token::SessionToken;
use crate::client::{ClientError, WechatClient, WechatError};

/// Longest `code` passed on to WeChat (`wx.login()` codes are 32 characters); anything longer
/// is refused as invalid without a call.
pub const MAX_CODE_LEN: usize = 256;

/// A successful login: the token for the Mini Program, and who logged in. Its `Debug` redacts
/// the token.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct LoggedIn {
    /// The session token to send to the Mini Program.
    pub token: SessionToken,
    /// The user's openid.
    pub openid: String,
    /// The user's unionid, when the Mini Program is bound to an Open Platform account.
    pub unionid: Option<String>,
}

/// Why a login failed, with the response it deserves: [`status`](Self::status) and the JSON
/// body `{"errcode": …, "errmsg": …}` (see the [table of codes](super#error-codes)).
#[derive(Debug)]
#[non_exhaustive]
pub enum LoginError {
    /// No `code`. 400, errcode 10101.
    MissingCode,
    /// WeChat refused the code (40029: expired, forged, or for another app). 400, errcode 10102.
    InvalidCode,
    /// The code was already exchanged (40163). 400, errcode 10103.
    CodeUsed,
    /// Too many logins of this user (45011: about 100 a minute). 429, errcode 10104.
    RateLimited,
    /// WeChat's security checks refused this user (40226, 高风险用户). 403, errcode 10105.
    RiskyUser,
    /// Another WeChat error (a wrong AppSecret, `-1` busy, …). 502, errcode 10106.
    Wechat(WechatError),
    /// WeChat could not be reached, or answered something unreadable. 502, errcode 10106.
    Upstream(ClientError),
    /// WeChat did not answer in time. 504, errcode 10107.
    Timeout,
    /// The session could not be stored. 503, errcode 10004.
    Session(SessionError),
}

impl LoginError {
    fn from_client(err: ClientError) -> Self {
        match err {
            ClientError::Wechat(err) => match err.errcode {
                40029 => Self::InvalidCode,
                40163 => Self::CodeUsed,
                45011 => Self::RateLimited,
                40226 => Self::RiskyUser,
                _ => Self::Wechat(err),
            },
            ClientError::Timeout => Self::Timeout,
            other => Self::Upstream(other),
        }
    }

    /// The HTTP status.
    #[must_use]
    pub fn status(&self) -> StatusCode {
        match self {
            Self::MissingCode | Self::InvalidCode | Self::CodeUsed => StatusCode::BAD_REQUEST,
            Self::RateLimited => StatusCode::TOO_MANY_REQUESTS,
            Self::RiskyUser => StatusCode::FORBIDDEN,
            Self::Wechat(_) | Self::Upstream(_) => StatusCode::BAD_GATEWAY,
            Self::Timeout => StatusCode::GATEWAY_TIMEOUT,
            Self::Session(_) => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    /// The `errcode` of the body.
    #[must_use]
    pub fn errcode(&self) -> i64 {
        match self {
            Self::MissingCode => 10101,
            Self::InvalidCode => 10102,
            Self::CodeUsed => 10103,
            Self::RateLimited => 10104,
            Self::RiskyUser => 10105,
            Self::Wechat(_) | Self::Upstream(_) => 10106,
            Self::Timeout => 10107,
            Self::Session(_) => 10004,
        }
    }

    /// The `errmsg` of the body: short, and without WeChat's details (which are logged).
    #[must_use]
    pub fn errmsg(&self) -> &'static str {
        match self {
            Self::MissingCode => "code missing",
            Self::InvalidCode => "invalid code",
            Self::CodeUsed => "code already used",
            Self::RateLimited => "too many login attempts",
            Self::RiskyUser => "login refused: risky user",
            Self::Wechat(_) | Self::Upstream(_) => "WeChat login failed",
            Self::Timeout => "WeChat did not answer in time",
            Self::Session(_) => "session store unavailable",
        }
    }

    /// The error as a response with any body type that can be made from bytes.
    #[must_use]
    pub fn into_response<B: From<Bytes>>(&self) -> Response<B> {
        json_error(self.status(), self.errcode(), self.errmsg())
    }
}

impl std::fmt::Display for LoginError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Wechat(err) => write!(f, "login failed: {err}"),
            Self::Upstream(err) => write!(f, "login failed: {err}"),
            Self::Session(err) => write!(f, "login failed: {err}"),
            other => write!(f, "login failed: {}", other.errmsg()),
        }
    }
}

impl std::error::Error for LoginError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Wechat(err) => Some(err),
            Self::Upstream(err) => Some(err),
            Self::Session(err) => Some(err),
            _ => None,
        }
    }
}

#[cfg(feature = "axum")]
impl axum::response::IntoResponse for LoginError {
    fn into_response(self) -> axum::response::Response {
        Self::into_response(&self)
    }
}

impl SessionStore {
    /// Logs a user in with the `code` of `wx.login()`: exchanges it at WeChat
    /// (`jscode2session`), opens a session ([`SessionStore::create`]) and returns its token.
    /// The `session_key` stays on the server.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use wechat_tower::client::WechatClient;
    /// use wechat_tower::session::{LoginError, SessionStore};
    /// use wechat_tower::store::MemoryStore;
    /// use wechat_tower::test_util::mock::MockWechat;
    ///
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let wechat = MockWechat::start().await?; // plays WeChat on loopback
    /// let client = WechatClient::builder(wechat.app_id(), wechat.app_secret())
    ///     .api_base(wechat.base_url())
    ///     .build()?;
    /// let sessions = SessionStore::new(Arc::new(MemoryStore::new()));
    ///
    /// let code = wechat.issue_js_code("oUser"); // what wx.login() gives the Mini Program
    /// let login = sessions.login(&client, &code).await?;
    /// assert_eq!(login.openid, "oUser");
    /// assert_eq!(sessions.load(&login.token).await?.openid(), "oUser");
    ///
    /// // A code works once; WeChat's refusal becomes a clear answer for the client.
    /// let err = sessions.login(&client, &code).await.unwrap_err();
    /// assert!(matches!(err, LoginError::CodeUsed));
    /// assert_eq!(err.status(), 400);
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// See [`LoginError`]: WeChat's 40029, 40163, 45011 and 40226 become
    /// [`InvalidCode`](LoginError::InvalidCode), [`CodeUsed`](LoginError::CodeUsed),
    /// [`RateLimited`](LoginError::RateLimited) and [`RiskyUser`](LoginError::RiskyUser).
    pub async fn login(&self, client: &WechatClient, code: &str) -> Result<LoggedIn, LoginError> {
        let code = code.trim();
        if code.is_empty() {
            return Err(LoginError::MissingCode);
        }
        if code.len() > MAX_CODE_LEN {
            return Err(LoginError::InvalidCode);
        }
        let session = client
            .miniprogram()
            .code_to_session(code)
            .await
            .map_err(|err| {
                let err = LoginError::from_client(err);
                match &err {
                    LoginError::Wechat(_) | LoginError::Upstream(_) | LoginError::Timeout => {
                        tracing::warn!(%err, "jscode2session failed");
                    }
                    _ => tracing::debug!(%err, "login refused"),
                }
                err
            })?;
        let token = self
            .create(
                &session.openid,
                session.unionid.as_deref(),
                &session.session_key,
            )
            .await
            .map_err(|err| {
                tracing::warn!(%err, "session not created");
                LoginError::Session(err)
            })?;
        Ok(LoggedIn {
            token,
            openid: session.openid,
            unionid: session.unionid,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wechat(errcode: i64) -> LoginError {
        LoginError::from_client(ClientError::Wechat(WechatError {
            errcode,
            errmsg: "x".into(),
        }))
    }

    #[test]
    fn wechat_errors_map_to_clear_answers() {
        let cases = [
            (40029, 400, 10102, "invalid code"),
            (40163, 400, 10103, "code already used"),
            (45011, 429, 10104, "too many login attempts"),
            (40226, 403, 10105, "login refused: risky user"),
            (40125, 502, 10106, "WeChat login failed"),
            (-1, 502, 10106, "WeChat login failed"),
        ];
        for (code, status, errcode, errmsg) in cases {
            let err = wechat(code);
            assert_eq!(err.status(), status, "{code}");
            assert_eq!(err.errcode(), errcode, "{code}");
            assert_eq!(err.errmsg(), errmsg, "{code}");
        }
        let timeout = LoginError::from_client(ClientError::Timeout);
        assert_eq!(timeout.status(), StatusCode::GATEWAY_TIMEOUT);
        let unreadable = LoginError::from_client(ClientError::Decode("?".into()));
        assert_eq!(unreadable.status(), StatusCode::BAD_GATEWAY);
    }

    #[test]
    fn display_keeps_wechat_details_for_the_logs() {
        assert_eq!(
            wechat(40125).to_string(),
            "login failed: WeChat error 40125 (invalid appsecret): x"
        );
        assert_eq!(wechat(40029).to_string(), "login failed: invalid code");
    }
}
