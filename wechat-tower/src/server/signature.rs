//! `SignatureLayer`: authenticates WeChat's callbacks before anything else happens.
//!
//! Every callback carries `signature`, `timestamp` and `nonce` in its query, the signature being
//! SHA-1 of the sorted token, timestamp and nonce. This layer checks it (in constant time) and the
//! timestamp's freshness before reading a byte of the body (401 with a short reason otherwise),
//! answers the GET handshake of the console's server configuration (服务器配置) by echoing
//! `echostr`, caps the body (413, `Content-Length` first), and hands the inner service the
//! buffered body with the [`VerifiedQuery`] in the request extensions.
//!
//! ```
//! use bytes::Bytes;
//! use http::{Request, Response, StatusCode};
//! use http_body_util::Full;
//! use tower::{ServiceBuilder, ServiceExt, service_fn};
//! use wechat_tower::{WechatConfig, server::SignatureLayer, core::signature};
//!
//! # #[tokio::main(flavor = "current_thread")] async fn main() {
//! let config = WechatConfig::plaintext("token").clock(|| 1_700_000_000);
//! let svc = ServiceBuilder::new()
//!     .layer(SignatureLayer::new(config))
//!     .service(service_fn(|_req: Request<Full<Bytes>>| async {
//!         Ok::<_, std::convert::Infallible>(Response::new(Full::new(Bytes::from("ok"))))
//!     }));
//!
//! let sig = signature::sign(&["token", "1700000000", "42"]);
//! let uri = format!("/wechat?signature={sig}&timestamp=1700000000&nonce=42&echostr=hello");
//! let res = svc.clone().oneshot(Request::get(uri).body(Full::new(Bytes::new())).unwrap()).await.unwrap();
//! assert_eq!(res.status(), StatusCode::OK); // the handshake echoes `hello`
//!
//! let forged = "/wechat?signature=0000&timestamp=1700000000&nonce=42&echostr=hello";
//! let res = svc.oneshot(Request::get(forged).body(Full::new(Bytes::new())).unwrap()).await.unwrap();
//! assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
//! # }
//! ```

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::{Method, Request, Response, StatusCode, header};
use http_body::Body;
use http_body_util::Full;
use tower_layer::Layer;
use tower_service::Service;
use wechat_core::{replay, signature};

use crate::body::{BoxError, read_limited};
use crate::config::WechatConfig;
use crate::rejection::Rejection;

/// The query parameters of a callback whose `signature` and `timestamp` were verified, left in
/// the request extensions by [`SignatureLayer`] for the layers and handlers inside it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct VerifiedQuery {
    /// `timestamp`, seconds.
    pub timestamp: String,
    /// `nonce`.
    pub nonce: String,
    /// `openid` of the sender, when WeChat sends it.
    pub openid: Option<String>,
    /// `encrypt_type`: `aes` in safe (and encrypted compatible) mode.
    pub encrypt_type: Option<String>,
    /// `msg_signature`, in safe and compatible mode.
    pub msg_signature: Option<String>,
}

impl VerifiedQuery {
    /// Whether the body is encrypted (`encrypt_type=aes`).
    #[must_use]
    pub fn is_encrypted(&self) -> bool {
        self.encrypt_type.as_deref() == Some("aes")
    }
}

/// The raw query of a callback, before verification.
#[derive(Debug, Default)]
pub(crate) struct CallbackQuery {
    pub(crate) signature: Option<String>,
    pub(crate) echostr: Option<String>,
    pub(crate) fields: VerifiedQuery,
    has_timestamp: bool,
    has_nonce: bool,
}

impl CallbackQuery {
    pub(crate) fn parse(query: Option<&str>) -> Self {
        let mut out = Self::default();
        for (key, value) in form_urlencoded::parse(query.unwrap_or_default().as_bytes()) {
            match &*key {
                "signature" => out.signature = Some(value.into_owned()),
                "timestamp" => {
                    out.fields.timestamp = value.into_owned();
                    out.has_timestamp = true;
                }
                "nonce" => {
                    out.fields.nonce = value.into_owned();
                    out.has_nonce = true;
                }
                "echostr" => out.echostr = Some(value.into_owned()),
                "openid" => out.fields.openid = Some(value.into_owned()),
                "encrypt_type" => out.fields.encrypt_type = Some(value.into_owned()),
                "msg_signature" => out.fields.msg_signature = Some(value.into_owned()),
                _ => {}
            }
        }
        out
    }

    /// Checks the signature and the timestamp window.
    fn verify(&self, config: &WechatConfig) -> Result<(), Rejection> {
        let (Some(sig), true, true) = (&self.signature, self.has_timestamp, self.has_nonce) else {
            return Err(Rejection::MissingSignature);
        };
        let q = &self.fields;
        if !signature::verify(sig, &[config.token.expose(), &q.timestamp, &q.nonce]) {
            return Err(Rejection::InvalidSignature);
        }
        replay::check_timestamp(&q.timestamp, config.now(), config.window_secs)
            .map_err(|_| Rejection::StaleTimestamp)
    }
}

/// Verifies callback signatures; see the [module docs](self).
#[derive(Debug, Clone)]
pub struct SignatureLayer {
    config: Arc<WechatConfig>,
}

impl SignatureLayer {
    /// A layer checking signatures with this configuration's token, window and body limit.
    #[must_use]
    pub fn new(config: impl Into<Arc<WechatConfig>>) -> Self {
        Self {
            config: config.into(),
        }
    }
}

impl<S> Layer<S> for SignatureLayer {
    type Service = Signature<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Signature {
            inner,
            config: Arc::clone(&self.config),
        }
    }
}

/// The service of [`SignatureLayer`].
#[derive(Debug, Clone)]
pub struct Signature<S> {
    inner: S,
    config: Arc<WechatConfig>,
}

/// The response future of [`Signature`].
pub type ResponseFuture<R, E> = Pin<Box<dyn Future<Output = Result<R, E>> + Send>>;

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for Signature<S>
where
    S: Service<Request<Full<Bytes>>, Response = Response<ResBody>> + Clone + Send + 'static,
    S::Future: Send,
    S::Error: Send,
    ReqBody: Body + Send + 'static,
    ReqBody::Data: Send,
    ReqBody::Error: Into<BoxError>,
    ResBody: From<Bytes> + Send + 'static,
{
    type Response = Response<ResBody>;
    type Error = S::Error;
    type Future = ResponseFuture<Self::Response, Self::Error>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<ReqBody>) -> Self::Future {
        let reject =
            |r: Rejection| -> Self::Future { Box::pin(async move { Ok(r.into_response()) }) };
        let query = CallbackQuery::parse(req.uri().query());
        if let Err(rejection) = query.verify(&self.config) {
            return reject(rejection);
        }
        match *req.method() {
            Method::GET => match query.echostr {
                Some(echostr) => {
                    let mut res = Response::new(ResBody::from(Bytes::from(echostr)));
                    res.headers_mut().insert(
                        header::CONTENT_TYPE,
                        http::HeaderValue::from_static("text/plain; charset=utf-8"),
                    );
                    *res.status_mut() = StatusCode::OK;
                    Box::pin(async move { Ok(res) })
                }
                None => reject(Rejection::MissingEchostr),
            },
            Method::POST => {
                // Call the service that poll_ready made ready; leave a fresh clone in its place.
                let clone = self.inner.clone();
                let mut inner = std::mem::replace(&mut self.inner, clone);
                let limit = self.config.body_limit;
                Box::pin(async move {
                    let (mut parts, body) = req.into_parts();
                    let bytes = match read_limited(&parts.headers, body, limit).await {
                        Ok(bytes) => bytes,
                        Err(rejection) => return Ok(rejection.into_response()),
                    };
                    parts.extensions.insert(query.fields);
                    inner
                        .call(Request::from_parts(parts, Full::new(bytes)))
                        .await
                })
            }
            _ => reject(Rejection::MethodNotAllowed),
        }
    }
}
