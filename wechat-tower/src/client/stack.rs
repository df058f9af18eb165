//! The client's tower stack, bottom to top:
//!
//! ```text
//! AddAccessToken ──▶ RetryOnExpired ──▶ Plain ──▶ Timeout ──▶ Transport
//!  token from the     40001/40014/42001:   failures    per request
//!  TokenManager       replace the token,   typed as
//!  into the query     retry once           ClientError
//! ```
//!
//! Calls that do not take the app's `access_token` (fetching it, `jscode2session`, web
//! authorization) start at `Plain`.
//!
//! Uploads, whose request body is a stream, go beside the stack: [`Plain::send_streaming`]
//! (same timeout, same typed errors) under the retry of
//! [`WechatClient::send_upload`](super::WechatClient), which rebuilds the body for its one
//! retry when the source can be read again.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http::{Request, Response, Uri};
use tower::ServiceExt as _;
use tower::timeout::Timeout;
use tower_service::Service;
use wechat_core::secret::AccessToken;

use super::error::{ClientError, WechatError};
use super::token::TokenManager;
use super::transport::{Transport, TransportBody, is_timeout};
use crate::body::BoxError;

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

/// The transport with a per-request timeout and typed errors.
#[derive(Clone)]
pub(crate) struct Plain {
    inner: Timeout<Transport>,
    /// The same transport and time limit, for streamed request bodies.
    transport: Transport,
    timeout: Duration,
}

impl Plain {
    /// Sends `req` with its body streamed ([`Transport::send_streaming`]), within the same
    /// time limit as every call (it bounds the whole upload) and with the same typed errors.
    pub(crate) async fn send_streaming(
        &self,
        req: Request<TransportBody>,
    ) -> Result<Response<Bytes>, ClientError> {
        match tokio::time::timeout(self.timeout, self.transport.send_streaming(req)).await {
            Ok(answer) => answer.map_err(transport_error),
            Err(_elapsed) => Err(ClientError::Timeout),
        }
    }

    /// The transport itself, for calls whose answer is streamed (`streamed.rs`).
    pub(crate) fn transport(&self) -> &Transport {
        &self.transport
    }

    /// The time limit of one call.
    pub(crate) fn timeout(&self) -> Duration {
        self.timeout
    }
}

impl Service<Request<Bytes>> for Plain {
    type Response = Response<Bytes>;
    type Error = ClientError;
    type Future = PlainFuture<<Timeout<Transport> as Service<Request<Bytes>>>::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), ClientError>> {
        self.inner.poll_ready(cx).map_err(transport_error)
    }

    fn call(&mut self, req: Request<Bytes>) -> Self::Future {
        PlainFuture {
            inner: self.inner.call(req),
        }
    }
}

pin_project_lite::pin_project! {
    /// The future of [`Plain`]: the transport's, with its error typed.
    pub(crate) struct PlainFuture<F> {
        #[pin]
        inner: F,
    }
}

impl<F, T> Future for PlainFuture<F>
where
    F: Future<Output = Result<T, BoxError>>,
{
    type Output = Result<T, ClientError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.project().inner.poll(cx).map_err(transport_error)
    }
}

/// The stack of calls that take the app's `access_token`.
pub(crate) type Authed = AddAccessToken<RetryOnExpired<Plain>>;

pub(crate) fn plain(transport: Transport, timeout: Duration) -> Plain {
    Plain {
        inner: Timeout::new(transport.clone(), timeout),
        transport,
        timeout,
    }
}

pub(crate) fn authed(plain: Plain, tokens: TokenManager) -> Authed {
    AddAccessToken {
        inner: RetryOnExpired {
            inner: plain,
            tokens: tokens.clone(),
        },
        tokens,
    }
}

/// A transport failure, typed: a timeout is [`ClientError::Timeout`].
pub(crate) fn transport_error(err: BoxError) -> ClientError {
    if is_timeout(err.as_ref()) {
        ClientError::Timeout
    } else {
        ClientError::Transport(err)
    }
}

/// The token a request was sent with (request extension), so a refusal replaces that one.
#[derive(Clone)]
struct UsedToken(AccessToken);

/// Puts the current `access_token` into the query of every request.
#[derive(Clone)]
pub(crate) struct AddAccessToken<S> {
    inner: S,
    tokens: TokenManager,
}

impl<S> Service<Request<Bytes>> for AddAccessToken<S>
where
    S: Service<Request<Bytes>, Response = Response<Bytes>, Error = ClientError>
        + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
{
    type Response = Response<Bytes>;
    type Error = ClientError;
    type Future = BoxFuture<Result<Response<Bytes>, ClientError>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), ClientError>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request<Bytes>) -> Self::Future {
        // Clone-and-swap: the service that `poll_ready` made ready goes into the future.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let tokens = self.tokens.clone();
        Box::pin(async move {
            let token = tokens.get().await?;
            set_access_token(&mut req, &token)?;
            req.extensions_mut().insert(UsedToken(token));
            inner.call(req).await
        })
    }
}

/// Retries once, with the next token, a request that WeChat refused for its token.
#[derive(Clone)]
pub(crate) struct RetryOnExpired<S> {
    inner: S,
    tokens: TokenManager,
}

impl<S> Service<Request<Bytes>> for RetryOnExpired<S>
where
    S: Service<Request<Bytes>, Response = Response<Bytes>, Error = ClientError>
        + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
{
    type Response = Response<Bytes>;
    type Error = ClientError;
    type Future = BoxFuture<Result<Response<Bytes>, ClientError>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), ClientError>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<Bytes>) -> Self::Future {
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone.clone());
        let tokens = self.tokens.clone();
        let mut retry = req.clone();
        Box::pin(async move {
            let used = req.extensions().get::<UsedToken>().cloned();
            let res = inner.call(req).await?;
            let Some(UsedToken(used)) = used else {
                return Ok(res);
            };
            match wechat_error(res.body()) {
                Some(err) if err.is_token_invalid() => {
                    tracing::debug!(errcode = err.errcode, "access token refused; retrying once");
                    let next = tokens.replace(&used).await?;
                    set_access_token(&mut retry, &next)?;
                    retry.extensions_mut().insert(UsedToken(next));
                    // Once: a second refusal is the caller's answer, not another loop.
                    clone.oneshot(retry).await
                }
                _ => Ok(res),
            }
        })
    }
}

/// WeChat's error in a JSON answer (`errcode` != 0), if the body is one.
pub(crate) fn wechat_error(body: &[u8]) -> Option<WechatError> {
    #[derive(serde::Deserialize)]
    struct Probe {
        errcode: Option<i64>,
        #[serde(default)]
        errmsg: String,
    }
    let first = body.iter().find(|b| !b.is_ascii_whitespace())?;
    if *first != b'{' {
        return None;
    }
    let probe: Probe = serde_json::from_slice(body).ok()?;
    match probe.errcode {
        Some(errcode) if errcode != 0 => Some(WechatError {
            errcode,
            errmsg: probe.errmsg,
        }),
        _ => None,
    }
}

/// Sets (or replaces) `access_token` in the query of `req`.
pub(crate) fn set_access_token<B>(
    req: &mut Request<B>,
    token: &AccessToken,
) -> Result<(), ClientError> {
    let uri = req.uri();
    let mut query = form_urlencoded::Serializer::new(String::new());
    if let Some(existing) = uri.query() {
        query.extend_pairs(
            form_urlencoded::parse(existing.as_bytes()).filter(|(k, _)| k != "access_token"),
        );
    }
    query.append_pair("access_token", token.expose());
    let query = query.finish();
    let mut parts = uri.clone().into_parts();
    let path = parts.path_and_query.as_ref().map_or("/", |pq| pq.path());
    parts.path_and_query = Some(
        format!("{path}?{query}")
            .parse()
            .map_err(|_| ClientError::Request("access token not usable in a URL".into()))?,
    );
    *req.uri_mut() =
        Uri::from_parts(parts).map_err(|e| ClientError::Request(format!("URI: {e}")))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;
    use crate::client::token::FetchedToken;
    use crate::store::MemoryStore;

    /// A transport that panics when called without `poll_ready` on the same instance, and
    /// refuses token `t0`.
    struct MustBeReady {
        ready: bool,
    }

    impl Clone for MustBeReady {
        fn clone(&self) -> Self {
            Self { ready: false }
        }
    }

    impl Service<Request<Bytes>> for MustBeReady {
        type Response = Response<Bytes>;
        type Error = ClientError;
        type Future = std::future::Ready<Result<Response<Bytes>, ClientError>>;

        fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), ClientError>> {
            self.ready = true;
            Poll::Ready(Ok(()))
        }

        fn call(&mut self, req: Request<Bytes>) -> Self::Future {
            assert!(self.ready, "called without poll_ready");
            self.ready = false;
            let refused = req.uri().query().unwrap().contains("access_token=t0");
            let body: &'static [u8] = if refused {
                br#"{"errcode":40001,"errmsg":"invalid credential"}"#
            } else {
                br#"{"errcode":0,"errmsg":"ok"}"#
            };
            std::future::ready(Ok(Response::new(Bytes::from_static(body))))
        }
    }

    #[tokio::test]
    async fn layers_call_only_the_service_they_made_ready() {
        let fetches = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&fetches);
        let tokens = TokenManager::new("k", Arc::new(MemoryStore::new()), move |_: bool| {
            let n = counter.fetch_add(1, Ordering::SeqCst);
            async move {
                Ok(FetchedToken {
                    token: AccessToken::new(format!("t{n}")),
                    expires_in: 7200,
                })
            }
        });
        let stack = AddAccessToken {
            inner: RetryOnExpired {
                inner: MustBeReady { ready: false },
                tokens: tokens.clone(),
            },
            tokens,
        };
        let mut req = Request::new(Bytes::new());
        *req.uri_mut() = Uri::from_static("http://127.0.0.1/cgi-bin/menu/get");
        let res = stack.oneshot(req).await.unwrap();
        assert!(wechat_error(res.body()).is_none());
        assert_eq!(fetches.load(Ordering::SeqCst), 2);
    }

    #[test]
    fn the_token_is_set_once_and_replaced() {
        let mut req = Request::new(Bytes::new());
        *req.uri_mut() =
            Uri::from_static("https://api.weixin.qq.com/cgi-bin/user/get?next_openid=o%2B1");
        set_access_token(&mut req, &AccessToken::new("a+b")).unwrap();
        assert_eq!(
            req.uri().to_string(),
            "https://api.weixin.qq.com/cgi-bin/user/get?next_openid=o%2B1&access_token=a%2Bb"
        );
        set_access_token(&mut req, &AccessToken::new("c")).unwrap();
        assert_eq!(
            req.uri().to_string(),
            "https://api.weixin.qq.com/cgi-bin/user/get?next_openid=o%2B1&access_token=c"
        );
    }

    #[test]
    fn only_json_with_a_nonzero_errcode_is_an_error() {
        assert_eq!(
            wechat_error(br#" {"errcode":40001,"errmsg":"invalid credential"}"#)
                .unwrap()
                .errcode,
            40001
        );
        assert!(wechat_error(br#"{"errcode":0,"errmsg":"ok"}"#).is_none());
        assert!(wechat_error(br#"{"access_token":"x","expires_in":7200}"#).is_none());
        assert!(wechat_error(b"\xff\xd8\xff\xe0 jpeg").is_none());
        assert!(wechat_error(b"").is_none());
    }
}
