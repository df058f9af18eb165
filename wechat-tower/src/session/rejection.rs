//! Why `SessionLayer` refused a request, and the JSON error body shared by the session
//! responses.

use bytes::Bytes;
use http::{HeaderValue, Response, StatusCode, header};

use super::store::SessionError;

/// A request refused by [`SessionLayer`](super::SessionLayer): answered with
/// [`status`](Self::status) and the JSON body `{"errcode": …, "errmsg": …}` (see the
/// [table of codes](super#error-codes)); the value itself is left in the response extensions
/// for logging and tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SessionRejection {
    /// No token: no `Authorization: Bearer …` (or configured) header. 401, errcode 10001.
    MissingToken,
    /// A token that is malformed, was never issued, or was revoked. 401, errcode 10002.
    InvalidToken,
    /// The session expired: log in again. 401, errcode 10003.
    Expired,
    /// The session store failed or is busy. 503, errcode 10004.
    StoreUnavailable,
}

impl SessionRejection {
    /// The HTTP status: 401, or 503 when the store failed.
    #[must_use]
    pub fn status(self) -> StatusCode {
        match self {
            Self::MissingToken | Self::InvalidToken | Self::Expired => StatusCode::UNAUTHORIZED,
            Self::StoreUnavailable => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    /// The `errcode` of the body.
    #[must_use]
    pub fn errcode(self) -> i64 {
        match self {
            Self::MissingToken => 10001,
            Self::InvalidToken => 10002,
            Self::Expired => 10003,
            Self::StoreUnavailable => 10004,
        }
    }

    /// The `errmsg` of the body.
    #[must_use]
    pub fn errmsg(self) -> &'static str {
        match self {
            Self::MissingToken => "session token missing",
            Self::InvalidToken => "session token invalid",
            Self::Expired => "session expired",
            Self::StoreUnavailable => "session store unavailable",
        }
    }

    /// The rejection as a response with any body type that can be made from bytes.
    #[must_use]
    pub fn into_response<B: From<Bytes>>(self) -> Response<B> {
        let mut res = json_error(self.status(), self.errcode(), self.errmsg());
        // RFC 6750: say which scheme is expected, and why a token was refused.
        let challenge = match self {
            Self::MissingToken => Some("Bearer"),
            Self::InvalidToken | Self::Expired => Some("Bearer error=\"invalid_token\""),
            Self::StoreUnavailable => None,
        };
        if let Some(challenge) = challenge {
            res.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static(challenge),
            );
        }
        res.extensions_mut().insert(self);
        res
    }
}

impl From<&SessionError> for SessionRejection {
    fn from(err: &SessionError) -> Self {
        match err {
            SessionError::Unknown => Self::InvalidToken,
            SessionError::Expired => Self::Expired,
            SessionError::Store(_) | SessionError::Busy | SessionError::Random => {
                Self::StoreUnavailable
            }
        }
    }
}

impl std::fmt::Display for SessionRejection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} (errcode {}, {})",
            self.errmsg(),
            self.errcode(),
            self.status().as_u16()
        )
    }
}

impl std::error::Error for SessionRejection {}

/// `{"errcode": errcode, "errmsg": errmsg}` with `status`, as `application/json`.
pub(crate) fn json_error<B: From<Bytes>>(
    status: StatusCode,
    errcode: i64,
    errmsg: &str,
) -> Response<B> {
    let body = serde_json::json!({ "errcode": errcode, "errmsg": errmsg }).to_string();
    let mut res = Response::new(B::from(Bytes::from(body)));
    *res.status_mut() = status;
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    res
}

#[cfg(feature = "axum")]
impl axum::response::IntoResponse for SessionRejection {
    fn into_response(self) -> axum::response::Response {
        Self::into_response(self)
    }
}

#[cfg(test)]
mod tests {
    use http_body_util::{BodyExt, Full};

    use super::*;

    #[tokio::test]
    async fn answers_json_with_a_bearer_challenge() {
        let res: Response<Full<Bytes>> = SessionRejection::Expired.into_response();
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(
            res.headers()[header::WWW_AUTHENTICATE],
            "Bearer error=\"invalid_token\""
        );
        assert_eq!(res.headers()[header::CONTENT_TYPE], "application/json");
        assert_eq!(
            res.extensions().get::<SessionRejection>(),
            Some(&SessionRejection::Expired)
        );
        let body = res.into_body().collect().await.unwrap().to_bytes();
        assert_eq!(
            &body[..],
            br#"{"errcode":10003,"errmsg":"session expired"}"#
        );
    }

    #[test]
    fn every_rejection_has_its_own_code() {
        let all = [
            SessionRejection::MissingToken,
            SessionRejection::InvalidToken,
            SessionRejection::Expired,
            SessionRejection::StoreUnavailable,
        ];
        let mut codes: Vec<_> = all.iter().map(|r| r.errcode()).collect();
        codes.dedup();
        assert_eq!(codes.len(), all.len());
        assert_eq!(
            SessionRejection::StoreUnavailable.to_string(),
            "session store unavailable (errcode 10004, 503)"
        );
    }
}
