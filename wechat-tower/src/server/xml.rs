//! `XmlLayer`: from HTTP to messages and back.
//!
//! The body becomes a [`Message`] (XML, or JSON for Mini Program message push), the inner
//! `Service<Message, Response = Reply>` (usually the [`Router`](crate::router::Router)) answers, and the
//! [`Reply`] is written as XML (JSON for a JSON request), addressed back to the sender. A reply of
//! [`Reply::Success`] is the literal body `success`. A malformed body is 400, never a panic; a
//! failing inner service is 500 (so WeChat retries).
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
use http::{HeaderValue, Request, Response, StatusCode, header};
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

    pub(crate) fn clock_arc(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
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
        // This service's error is `Infallible`: an inner service that cannot become ready makes
        // the next call a 500 (so WeChat retries), and that call must not reach it.
        match self.inner.poll_ready(cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Ok(())) => {
                self.inner_failed = false;
                Poll::Ready(Ok(()))
            }
            Poll::Ready(Err(err)) => {
                let err: BoxError = err.into();
                tracing::error!(%err, "message handler service is not ready");
                self.inner_failed = true;
                Poll::Ready(Ok(()))
            }
        }
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
            let json = is_json(&bytes);
            let parsed = if json {
                message_from_json(&bytes)
            } else {
                Message::from_bytes(&bytes).map_err(|err| {
                    tracing::debug!(%err, "malformed message");
                    Rejection::BadMessage
                })
            };
            let message = match parsed {
                Ok(message) => message,
                Err(rejection) => return Ok(rejection.into_response()),
            };
            let to_user = message.header().from_user_name.clone();
            let from_user = message.header().to_user_name.clone();
            let reply = match inner.call(message).await {
                Ok(reply) => reply,
                Err(err) => {
                    let err: BoxError = err.into();
                    tracing::error!(%err, "message handler service failed");
                    return Ok(Rejection::HandlerFailed.into_response());
                }
            };
            Ok(write_reply(
                &reply,
                &to_user,
                &from_user,
                clock.now_secs(),
                json,
            ))
        })
    }
}

fn write_reply(
    reply: &Reply,
    to_user: &str,
    from_user: &str,
    now: u64,
    json: bool,
) -> Response<Full<Bytes>> {
    let (body, content_type) = if matches!(reply, Reply::Success) {
        (Some("success".to_owned()), "text/plain; charset=utf-8")
    } else if json {
        (
            reply_to_json(reply, to_user, from_user, now),
            "application/json",
        )
    } else {
        (
            reply.to_xml(to_user, from_user, now).ok(),
            "application/xml; charset=utf-8",
        )
    };
    let Some(body) = body else {
        tracing::error!(
            ?reply,
            "reply cannot be written (a news reply needs 1 to 8 articles)"
        );
        return Rejection::HandlerFailed.into_response();
    };
    let mut res = Response::new(Full::new(Bytes::from(body)));
    *res.status_mut() = StatusCode::OK;
    res.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    res
}
