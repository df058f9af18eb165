//! Why the inbound layers refused a request: the HTTP status and a short reason.

use bytes::Bytes;
use http::{HeaderValue, Response, StatusCode, header};

/// A refused request. The layers answer it as a response (never as a service error), with
/// [`Rejection::status`] and [`Rejection::body_text`] as a `text/plain` body, and the value itself in
/// the response's extensions for logging and tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Rejection {
    /// `signature`, `timestamp` or `nonce` is missing from the query.
    MissingSignature,
    /// The query `signature` does not match the token.
    InvalidSignature,
    /// `timestamp` is not a number or lies outside the accepted window.
    StaleTimestamp,
    /// A GET without `echostr` (only the handshake uses GET).
    MissingEchostr,
    /// A method other than GET (handshake) and POST (push).
    MethodNotAllowed,
    /// The body is larger than the configured limit.
    BodyTooLarge,
    /// The body could not be read.
    BodyUnreadable,
    /// Safe mode, but no `msg_signature` in the query or no `Encrypt` in the body.
    MissingMsgSignature,
    /// `msg_signature` does not match.
    InvalidMsgSignature,
    /// The payload does not decrypt, or belongs to another app id.
    DecryptFailed,
    /// The body is not a well-formed message (malformed XML/JSON, DOCTYPE, missing fields).
    BadMessage,
    /// The handler service failed.
    HandlerFailed,
}

impl Rejection {
    /// The HTTP status: 401 for authentication, 400 for bad input, 405, 413, 500.
    #[must_use]
    pub fn status(self) -> StatusCode {
        match self {
            Self::MissingSignature
            | Self::InvalidSignature
            | Self::StaleTimestamp
            | Self::MissingMsgSignature
            | Self::InvalidMsgSignature => StatusCode::UNAUTHORIZED,
            Self::MissingEchostr
            | Self::BodyUnreadable
            | Self::DecryptFailed
            | Self::BadMessage => StatusCode::BAD_REQUEST,
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Self::BodyTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::HandlerFailed => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The short reason sent as the body.
    #[must_use]
    pub fn body_text(self) -> &'static str {
        match self {
            Self::MissingSignature => "missing signature, timestamp or nonce",
            Self::InvalidSignature => "invalid signature",
            Self::StaleTimestamp => "timestamp outside the accepted window",
            Self::MissingEchostr => "GET without echostr",
            Self::MethodNotAllowed => "method not allowed",
            Self::BodyTooLarge => "body too large",
            Self::BodyUnreadable => "body could not be read",
            Self::MissingMsgSignature => "missing msg_signature or Encrypt",
            Self::InvalidMsgSignature => "invalid msg_signature",
            Self::DecryptFailed => "payload does not decrypt for this app",
            Self::BadMessage => "malformed message",
            Self::HandlerFailed => "handler failed",
        }
    }

    /// The rejection as a response with any body type that can be made from bytes.
    #[must_use]
    pub fn into_response<B: From<Bytes>>(self) -> Response<B> {
        let mut res = Response::new(B::from(Bytes::from_static(self.body_text().as_bytes())));
        *res.status_mut() = self.status();
        res.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; charset=utf-8"),
        );
        if self == Self::MethodNotAllowed {
            res.headers_mut()
                .insert(header::ALLOW, HeaderValue::from_static("GET, POST"));
        }
        res.extensions_mut().insert(self);
        res
    }
}

impl std::fmt::Display for Rejection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({})", self.body_text(), self.status().as_u16())
    }
}

impl std::error::Error for Rejection {}
