//! `XmlLayer`: from HTTP to messages and back.
//!
//! The body becomes a [`Message`] (XML, or JSON for Mini Program message push), the inner
//! `Service<Message, Response = Reply>` (usually the [`Router`](crate::router::Router)) answers, and the
//! [`Reply`] is written as XML (JSON for a JSON request), addressed back to the sender. A reply of
//! [`Reply::Success`] is the literal body `success`. A malformed body is 400, never a panic; a
//! failing inner service is 500 (so WeChat retries), and a router that refuses the delivery
//! ([`Refused`](crate::router::Refused): its shared retry record is down and set to fail closed)
//! is 503 with the body `retry record unavailable` (WeChat retries as well).
//!
//! ```
//! use bytes::Bytes;
//! use http::Request;
//! use http_body_util::{BodyExt, Full};
//! use tower::{ServiceBuilder, ServiceExt, service_fn};
//! use wechat_tower::{Message, Reply, server::XmlLayer};
//!
//! # #[tokio::main(flavor = "current_thread")] async fn main() {
//! let echo = service_fn(|msg: Message| async move {
//!     Ok::<_, std::convert::Infallible>(match msg {
//!         Message::Text(text) => Reply::text(text.content),
//!         _ => Reply::Success,
//!     })
//! });
//! let svc = ServiceBuilder::new().layer(XmlLayer::new().clock(|| 1_700_000_000)).service(echo);
//! let body = "<xml><ToUserName>gh</ToUserName><FromUserName>oUser</FromUserName>\
//!             <CreateTime>1</CreateTime><MsgType>text</MsgType><Content>hi</Content><MsgId>1</MsgId></xml>";
//! let res = svc.oneshot(Request::post("/").body(Full::new(Bytes::from(body))).unwrap()).await.unwrap();
//! let xml = res.into_body().collect().await.unwrap().to_bytes();
//! assert!(std::str::from_utf8(&xml).unwrap().contains("<Content><![CDATA[hi]]></Content>"));
//! # }
//! ```

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::{HeaderValue, Request, Response, header};
use http_body::Body;
use http_body_util::Full;
use tower_layer::Layer;
use tower_service::Service;
use wechat_core::{Message, Reply};

use super::crypto::is_json;
use super::json::{message_from_json, reply_to_json};
use crate::body::{BoxError, read_limited};
use crate::config::{Clock, DEFAULT_BODY_LIMIT, SystemClock};
use crate::rejection::Rejection;

/// Parses messages and writes replies; see the [module docs](self).
#[derive(Clone)]
#[must_use]
pub struct XmlLayer {
    body_limit: usize,
    clock: Arc<dyn Clock>,
}

impl XmlLayer {
    /// A layer with the default body limit (64 KiB) and the system clock.
    pub fn new() -> Self {
        Self {
            body_limit: DEFAULT_BODY_LIMIT,
            clock: Arc::new(SystemClock),
        }
    }

    /// Cap bodies at this many bytes.
    pub fn body_limit(mut self, bytes: usize) -> Self {
        self.body_limit = bytes;
        self
    }

    /// The clock for the replies' `CreateTime`.
    pub fn clock(mut self, clock: impl Clock) -> Self {
        self.clock = Arc::new(clock);
        self
    }
}

impl Default for XmlLayer {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for XmlLayer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("XmlLayer")
            .field("body_limit", &self.body_limit)
            .finish_non_exhaustive()
    }
}

impl<S> Layer<S> for XmlLayer {
    type Service = Xml<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Xml {
            inner,
            body_limit: self.body_limit,
            clock: Arc::clone(&self.clock),
            inner_failed: false,
        }
    }
}

/// The service of [`XmlLayer`].
#[derive(Clone)]
pub struct Xml<S> {
    inner: S,
    body_limit: usize,
    clock: Arc<dyn Clock>,
    /// The inner service failed `poll_ready`: the next call answers 500 without calling it.
    inner_failed: bool,
}

impl<S: std::fmt::Debug> std::fmt::Debug for Xml<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Xml")
            .field("inner", &self.inner)
            .field("body_limit", &self.body_limit)
            .finish_non_exhaustive()
    }
}

/// The response future of [`Xml`].
pub type ResponseFuture =
    Pin<Box<dyn Future<Output = Result<Response<Full<Bytes>>, Infallible>> + Send>>;

impl<S, ReqBody> Service<Request<ReqBody>> for Xml<S>
where
    S: Service<Message, Response = Reply> + Clone + Send + 'static,
    S::Future: Send,
    S::Error: Into<BoxError>,
    ReqBody: Body + Send + 'static,
    ReqBody::Data: Send,
    ReqBody::Error: Into<BoxError>,
{
    type Response = Response<Full<Bytes>>;
    type Error = Infallible;
    type Future = ResponseFuture;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        poll_handler_ready(&mut self.inner, cx, &mut self.inner_failed)
    }

    fn call(&mut self, req: Request<ReqBody>) -> Self::Future {
        if std::mem::take(&mut self.inner_failed) {
            return Box::pin(async { Ok(Rejection::HandlerFailed.into_response()) });
        }
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let limit = self.body_limit;
        let clock = Arc::clone(&self.clock);
        Box::pin(async move {
            let (parts, body) = req.into_parts();
            let bytes = match read_limited(&parts.headers, body, limit).await {
                Ok(bytes) => bytes,
                Err(rejection) => return Ok(rejection.into_response()),
            };
            let (message, format) = match parse(&bytes) {
                Ok(parsed) => parsed,
                Err(rejection) => return Ok(rejection.into_response()),
            };
            let address = ReplyAddress::of(&message);
            let reply = match call_handler(&mut inner, message).await {
                Ok(reply) => reply,
                Err(failure) => return Ok(failure.into_response()),
            };
            Ok(
                match write_reply(&reply, &address, clock.now_secs(), format) {
                    Ok((body, content_type)) => reply_response(body, content_type),
                    Err(rejection) => rejection.into_response(),
                },
            )
        })
    }
}

/// The format of a push, which its reply keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Format {
    /// XML, as Official Accounts and most Mini Programs push.
    Xml,
    /// JSON, for Mini Program message push configured so (数据格式 JSON).
    Json,
}

/// The request side of [`XmlLayer`]: a message from its XML or JSON bytes (400 when malformed).
pub(crate) fn parse(bytes: &[u8]) -> Result<(Message, Format), Rejection> {
    if is_json(bytes) {
        Ok((message_from_json(bytes)?, Format::Json))
    } else {
        let message = Message::from_bytes(bytes).map_err(|err| {
            tracing::debug!(%err, "malformed message");
            Rejection::BadMessage
        })?;
        Ok((message, Format::Xml))
    }
}

/// Whom a reply goes to and from: the sender and the account of the message, swapped. Kept in
/// one buffer, since the message itself goes to the handler.
pub(crate) struct ReplyAddress {
    /// The sender's open id, then the account's id.
    names: String,
    split: usize,
}

impl ReplyAddress {
    pub(crate) fn of(message: &Message) -> Self {
        let header = message.header();
        let mut names =
            String::with_capacity(header.from_user_name.len() + header.to_user_name.len());
        names.push_str(&header.from_user_name);
        names.push_str(&header.to_user_name);
        Self {
            names,
            split: header.from_user_name.len(),
        }
    }

    /// The sender, whom the reply goes to.
    fn recipient(&self) -> &str {
        self.names.get(..self.split).unwrap_or_default()
    }

    /// The account, which the reply comes from.
    fn sender(&self) -> &str {
        self.names.get(self.split..).unwrap_or_default()
    }
}

/// `poll_ready` of a service with `Error = Infallible` around a message service: an inner service
/// that cannot become ready sets `failed`, which makes the next call a 500 (so WeChat retries)
/// that must not reach it.
pub(crate) fn poll_handler_ready<S>(
    inner: &mut S,
    cx: &mut Context<'_>,
    failed: &mut bool,
) -> Poll<Result<(), Infallible>>
where
    S: Service<Message>,
    S::Error: Into<BoxError>,
{
    match inner.poll_ready(cx) {
        Poll::Pending => Poll::Pending,
        Poll::Ready(result) => {
            *failed = result
                .map_err(|err| {
                    let err: BoxError = err.into();
                    tracing::error!(%err, "message handler service is not ready");
                })
                .is_err();
            Poll::Ready(Ok(()))
        }
    }
}

/// Why a request got no reply: a [`Rejection`], or the router's refusal to answer now.
#[derive(Debug)]
pub(crate) enum Failure {
    Rejected(Rejection),
    /// The router refused the delivery ([`Refused`](crate::router::Refused)): 503.
    Unavailable,
}

impl From<Rejection> for Failure {
    fn from(rejection: Rejection) -> Self {
        Self::Rejected(rejection)
    }
}

impl Failure {
    /// The body of the 503.
    pub(crate) const UNAVAILABLE: &'static str = "retry record unavailable";

    pub(crate) fn into_response(self) -> Response<Full<Bytes>> {
        match self {
            Self::Rejected(rejection) => rejection.into_response(),
            Self::Unavailable => {
                let mut res =
                    Response::new(Full::new(Bytes::from_static(Self::UNAVAILABLE.as_bytes())));
                *res.status_mut() = http::StatusCode::SERVICE_UNAVAILABLE;
                res.headers_mut()
                    .insert(header::CONTENT_TYPE, HeaderValue::from_static(TEXT));
                res
            }
        }
    }
}

/// Calls the message service; its failure is logged and becomes a 500 (so WeChat retries), or
/// a 503 when the router refused the delivery.
pub(crate) async fn call_handler<S>(inner: &mut S, message: Message) -> Result<Reply, Failure>
where
    S: Service<Message, Response = Reply>,
    S::Error: Into<BoxError>,
{
    inner.call(message).await.map_err(|err| {
        let err: BoxError = err.into();
        if err.is::<crate::router::Refused>() {
            tracing::debug!(%err, "delivery refused; answering 503 so WeChat retries");
            return Failure::Unavailable;
        }
        tracing::error!(%err, "message handler service failed");
        Failure::Rejected(Rejection::HandlerFailed)
    })
}

/// The response side of [`XmlLayer`]: a reply as its body and content type; [`Reply::Success`]
/// is the literal `success`.
pub(crate) fn write_reply(
    reply: &Reply,
    address: &ReplyAddress,
    now: u64,
    format: Format,
) -> Result<(Bytes, &'static str), Rejection> {
    let (to_user, from_user) = (address.recipient(), address.sender());
    let (body, content_type) = match (reply, format) {
        (Reply::Success, _) => return Ok((Bytes::from_static(b"success"), TEXT)),
        (_, Format::Json) => (
            reply_to_json(reply, to_user, from_user, now),
            "application/json",
        ),
        (_, Format::Xml) => (
            reply.to_xml(to_user, from_user, now).ok(),
            "application/xml; charset=utf-8",
        ),
    };
    match body {
        Some(body) => Ok((Bytes::from(body), content_type)),
        None => {
            tracing::error!(
                ?reply,
                "reply cannot be written (a news reply needs 1 to 8 articles)"
            );
            Err(Rejection::HandlerFailed)
        }
    }
}

const TEXT: &str = "text/plain; charset=utf-8";

/// A 200 response with this body and content type.
pub(crate) fn reply_response(body: Bytes, content_type: &'static str) -> Response<Full<Bytes>> {
    let mut res = Response::new(Full::new(body));
    res.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    res
}
