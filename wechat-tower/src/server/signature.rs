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

use std::borrow::Cow;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::{Method, Request, Response, header};
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
///
/// The values live in one buffer (one allocation per request, whatever the query holds).
#[derive(Clone, Default, PartialEq, Eq)]
pub struct VerifiedQuery {
    /// The decoded values, one after another; the spans below index into it.
    values: String,
    timestamp: Span,
    nonce: Span,
    openid: Option<Span>,
    encrypt_type: Option<Span>,
    msg_signature: Option<Span>,
}

/// Where one value lies in [`VerifiedQuery::values`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Span {
    start: usize,
    end: usize,
}

impl VerifiedQuery {
    fn get(&self, span: Span) -> &str {
        self.values.get(span.start..span.end).unwrap_or_default()
    }

    /// Appends a value to the buffer and returns where it lies.
    fn push(&mut self, value: &str) -> Span {
        let start = self.values.len();
        self.values.push_str(value);
        Span {
            start,
            end: self.values.len(),
        }
    }

    /// `timestamp`, seconds.
    #[must_use]
    pub fn timestamp(&self) -> &str {
        self.get(self.timestamp)
    }

    /// `nonce`.
    #[must_use]
    pub fn nonce(&self) -> &str {
        self.get(self.nonce)
    }

    /// `openid` of the sender, when WeChat sends it.
    #[must_use]
    pub fn openid(&self) -> Option<&str> {
        self.openid.map(|span| self.get(span))
    }

    /// `encrypt_type`: `aes` in safe (and encrypted compatible) mode.
    #[must_use]
    pub fn encrypt_type(&self) -> Option<&str> {
        self.encrypt_type.map(|span| self.get(span))
    }

    /// `msg_signature`, in safe and compatible mode.
    #[must_use]
    pub fn msg_signature(&self) -> Option<&str> {
        self.msg_signature.map(|span| self.get(span))
    }

    /// Whether the body is encrypted (`encrypt_type=aes`).
    #[must_use]
    pub fn is_encrypted(&self) -> bool {
        self.encrypt_type() == Some("aes")
    }
}

impl std::fmt::Debug for VerifiedQuery {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VerifiedQuery")
            .field("timestamp", &self.timestamp())
            .field("nonce", &self.nonce())
            .field("openid", &self.openid())
            .field("encrypt_type", &self.encrypt_type())
            .field("msg_signature", &self.msg_signature())
            .finish()
    }
}

/// The raw query of a callback, before verification. Values borrow from the query unless they
/// were percent-encoded.
#[derive(Debug, Default)]
pub(crate) struct CallbackQuery<'q> {
    signature: Option<Cow<'q, str>>,
    echostr: Option<Cow<'q, str>>,
    pub(crate) fields: VerifiedQuery,
    has_timestamp: bool,
    has_nonce: bool,
}

impl<'q> CallbackQuery<'q> {
    pub(crate) fn parse(query: Option<&'q str>) -> Self {
        let query = query.unwrap_or_default();
        let mut out = Self::default();
        // The values are a part of the query, so its length bounds the buffer.
        out.fields.values.reserve(query.len());
        for (key, value) in pairs(query) {
            let fields = &mut out.fields;
            match &*key {
                "signature" => out.signature = Some(value),
                "echostr" => out.echostr = Some(value),
                "timestamp" => {
                    fields.timestamp = fields.push(&value);
                    out.has_timestamp = true;
                }
                "nonce" => {
                    fields.nonce = fields.push(&value);
                    out.has_nonce = true;
                }
                "openid" => fields.openid = Some(fields.push(&value)),
                "encrypt_type" => fields.encrypt_type = Some(fields.push(&value)),
                "msg_signature" => fields.msg_signature = Some(fields.push(&value)),
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
        if !signature::verify(sig, &[config.token.expose(), q.timestamp(), q.nonce()]) {
            return Err(Rejection::InvalidSignature);
        }
        replay::check_timestamp(q.timestamp(), config.now(), config.window_secs)
            .map_err(|_| Rejection::StaleTimestamp)
    }
}

/// The `key=value` pairs of a query. A pair without `%` or `+` (all of WeChat's: hex signatures,
/// digits, open ids) is borrowed as it is; only the others go through `form_urlencoded`'s
/// decoding, which costs more than the rest of the signature check.
fn pairs(query: &str) -> impl Iterator<Item = (Cow<'_, str>, Cow<'_, str>)> {
    let mut rest = query;
    std::iter::from_fn(move || {
        loop {
            if rest.is_empty() {
                return None;
            }
            let end = memchr::memchr(b'&', rest.as_bytes()).unwrap_or(rest.len());
            let pair = &rest[..end];
            rest = rest.get(end + 1..).unwrap_or_default();
            if pair.is_empty() {
                continue;
            }
            if memchr::memchr2(b'%', b'+', pair.as_bytes()).is_some() {
                return form_urlencoded::parse(pair.as_bytes()).next();
            }
            return Some(match memchr::memchr(b'=', pair.as_bytes()) {
                Some(eq) => (Cow::Borrowed(&pair[..eq]), Cow::Borrowed(&pair[eq + 1..])),
                None => (Cow::Borrowed(pair), Cow::Borrowed("")),
            });
        }
    })
}

/// What a verified callback asks for.
pub(crate) enum Admission {
    /// The GET handshake: answer `echostr`.
    Handshake(Bytes),
    /// A POST push, to be read and handled.
    Push(VerifiedQuery),
}

/// The checks of [`SignatureLayer`] on a request's method and query, before its body is read.
pub(crate) fn admit(
    config: &WechatConfig,
    method: &Method,
    query: Option<&str>,
) -> Result<Admission, Rejection> {
    let query = CallbackQuery::parse(query);
    query.verify(config)?;
    match *method {
        Method::GET => match query.echostr {
            Some(echostr) => Ok(Admission::Handshake(Bytes::from(echostr.into_owned()))),
            None => Err(Rejection::MissingEchostr),
        },
        Method::POST => Ok(Admission::Push(query.fields)),
        _ => Err(Rejection::MethodNotAllowed),
    }
}

/// The answer to the handshake: `echostr`, as plain text.
pub(crate) fn handshake_response<B: From<Bytes>>(echostr: Bytes) -> Response<B> {
    let mut res = Response::new(B::from(echostr));
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        http::HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    res
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
        let query = match admit(&self.config, req.method(), req.uri().query()) {
            Ok(Admission::Push(query)) => query,
            Ok(Admission::Handshake(echostr)) => {
                let res = handshake_response(echostr);
                return Box::pin(async move { Ok(res) });
            }
            Err(rejection) => return Box::pin(async move { Ok(rejection.into_response()) }),
        };
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
            parts.extensions.insert(query);
            inner
                .call(Request::from_parts(parts, Full::new(bytes)))
                .await
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]

    use super::*;

    /// `pairs` agrees with `form_urlencoded::parse` on plain, encoded and odd queries.
    #[test]
    fn pairs_decode_as_form_urlencoded_does() {
        let queries = [
            "",
            "a=1&b=2",
            "signature=abc&timestamp=1700000000&nonce=42&openid=oUpF8uMuAJO_M2pxb1Q9zNjWeS6o",
            "echostr=a%2Bb%3D%3D&x=y+z",
            "&&a&=b&c=&d==e&",
            "k%20ey=v%C3%A9&bad=%ZZ&utf=%FF",
            "+=+&%=%",
        ];
        for query in queries {
            let ours: Vec<_> = pairs(query).collect();
            let theirs: Vec<_> = form_urlencoded::parse(query.as_bytes()).collect();
            assert_eq!(ours, theirs, "{query}");
        }
        // And on every query of up to 5 bytes over the bytes that matter.
        let alphabet = b"a=&%+2F";
        let mut query = Vec::new();
        for len in 0..=5u32 {
            for mut n in 0..alphabet.len().pow(len) {
                query.clear();
                for _ in 0..len {
                    query.push(alphabet[n % alphabet.len()]);
                    n /= alphabet.len();
                }
                let query = std::str::from_utf8(&query).unwrap_or_default();
                let ours: Vec<_> = pairs(query).collect();
                let theirs: Vec<_> = form_urlencoded::parse(query.as_bytes()).collect();
                assert_eq!(ours, theirs, "{query}");
            }
        }
    }
}
