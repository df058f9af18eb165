//! `WechatLayer`: the three inbound layers stacked for the common case.

use std::convert::Infallible;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::{Request, Response};
use http_body::Body;
use http_body_util::Full;
use tower_layer::Layer;
use tower_service::Service;
use wechat_core::{Message, Reply};

use super::crypto::{self, Opened};
use super::signature::{self, Admission};
use super::xml::{self, ReplyAddress};
use crate::body::{BoxError, read_limited};
use crate::config::WechatConfig;
use crate::rejection::Rejection;

/// [`SignatureLayer`](super::SignatureLayer), [`CryptoLayer`](super::CryptoLayer) and
/// [`XmlLayer`](super::XmlLayer) in that order, around a `Service<Message, Response = Reply>`.
/// The result is a `Service<http::Request<B>>` for any body type, with `Error = Infallible`, that
/// mounts with axum's `route_service` and with hyper-util's `TowerToHyperService`.
///
/// It answers every request exactly as the three layers stacked by hand do (a test holds them to
/// it), but runs their steps in one service: the body is read once, no request or response is
/// rebuilt between the steps, and a request costs one boxed future instead of three.
///
/// ```
/// use tower::{Layer, service_fn};
/// use wechat_tower::{Message, Reply, WechatConfig, WechatLayer};
///
/// let handler = service_fn(|_msg: Message| async { Ok::<_, std::convert::Infallible>(Reply::text("hi")) });
/// let service = WechatLayer::new(WechatConfig::plaintext("token")).layer(handler);
/// # fn mountable<S: tower::Service<http::Request<http_body_util::Full<bytes::Bytes>>, Error = std::convert::Infallible> + Clone + Send + Sync + 'static>(_: S) {}
/// # mountable(service);
/// ```
#[derive(Debug, Clone)]
pub struct WechatLayer {
    config: Arc<WechatConfig>,
}

impl WechatLayer {
    /// The stack for one account's configuration.
    #[must_use]
    pub fn new(config: impl Into<Arc<WechatConfig>>) -> Self {
        Self {
            config: config.into(),
        }
    }

    /// Wraps `inner` (usually the built [`Router`](crate::router::Router)): the same as
    /// [`Layer::layer`], without bringing `tower::Layer` into scope.
    #[must_use]
    pub fn service<S>(&self, inner: S) -> Wechat<S> {
        self.layer(inner)
    }
}

impl<S> Layer<S> for WechatLayer {
    type Service = Wechat<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Wechat {
            inner,
            config: Arc::clone(&self.config),
            inner_failed: false,
        }
    }
}

/// The service of [`WechatLayer`].
#[derive(Debug, Clone)]
pub struct Wechat<S> {
    inner: S,
    config: Arc<WechatConfig>,
    /// The inner service failed `poll_ready`: the next call answers 500 without calling it.
    inner_failed: bool,
}

impl<S, ReqBody> Service<Request<ReqBody>> for Wechat<S>
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
    type Future = xml::ResponseFuture;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        xml::poll_handler_ready(&mut self.inner, cx, &mut self.inner_failed)
    }

    fn call(&mut self, req: Request<ReqBody>) -> Self::Future {
        let query = match signature::admit(&self.config, req.method(), req.uri().query()) {
            Ok(Admission::Push(query)) => query,
            Ok(Admission::Handshake(echostr)) => {
                let res = signature::handshake_response(echostr);
                return Box::pin(async move { Ok(res) });
            }
            Err(rejection) => return Box::pin(async move { Ok(rejection.into_response()) }),
        };
        let inner_failed = std::mem::take(&mut self.inner_failed);
        // Call the service that poll_ready made ready; leave a fresh clone in its place.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let config = Arc::clone(&self.config);
        Box::pin(async move {
            let (parts, body) = req.into_parts();
            let result = async {
                let bytes = read_limited(&parts.headers, body, config.body_limit).await?;
                let opened = crypto::open(&config, &query, bytes)?;
                if inner_failed {
                    return Err(Rejection::HandlerFailed.into());
                }
                let (message, format) = xml::parse(opened.message())?;
                let address = ReplyAddress::of(&message);
                let reply = xml::call_handler(&mut inner, message).await?;
                let (body, content_type) =
                    xml::write_reply(&reply, &address, config.now(), format)?;
                match opened {
                    Opened::Decrypted {
                        envelope, crypt, ..
                    } if !crypto::passes_unsealed(&body) => {
                        Ok(crypto::seal(crypt, &config, envelope, &body)?)
                    }
                    _ => Ok((body, content_type)),
                }
            };
            Ok(match result.await {
                Ok((body, content_type)) => xml::reply_response(body, content_type),
                Err::<_, xml::Failure>(failure) => failure.into_response(),
            })
        })
    }
}
