//! The bottom of the client stack: something that sends an HTTP request and reads the whole
//! answer.
//!
//! [`Transport`] type-erases any `tower::Service<http::Request<Bytes>, Response =
//! http::Response<Bytes>>` that is `Clone + Send + Sync + 'static`, so you can put your own
//! layers (rate limits, tracing, a proxy) under the client, or replace HTTP altogether in tests.
//! [`HttpTransport`] (feature `client`, on by default) is the default: hyper 1 + hyper-util's
//! pooled client with rustls and bundled root certificates.
//!
//! ```
//! use bytes::Bytes;
//! use wechat_tower::client::Transport;
//!
//! // A transport that answers every request itself: handy in unit tests.
//! let transport = Transport::new(tower::service_fn(|_req: http::Request<Bytes>| async {
//!     Ok::<_, std::convert::Infallible>(http::Response::new(Bytes::from_static(br#"{"errcode":0}"#)))
//! }));
//! # let _ = transport;
//! ```

use std::task::{Context, Poll};

use bytes::Bytes;
use http::{Request, Response};
use tower::ServiceExt as _;
use tower::util::BoxCloneSyncService;
use tower_service::Service;

use crate::body::BoxError;

/// Any HTTP service the client can send its requests through, type-erased. See the
/// [module docs](self).
#[derive(Clone)]
pub struct Transport {
    inner: BoxCloneSyncService<Request<Bytes>, Response<Bytes>, BoxError>,
}

impl std::fmt::Debug for Transport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Transport").finish_non_exhaustive()
    }
}

impl Transport {
    /// Wraps `service`. Its requests carry absolute URIs (`https://api.weixin.qq.com/...`) and
    /// whole bodies; it answers with whole bodies.
    #[must_use]
    pub fn new<S>(service: S) -> Self
    where
        S: Service<Request<Bytes>, Response = Response<Bytes>> + Clone + Send + Sync + 'static,
        S::Error: Into<BoxError>,
        S::Future: Send + 'static,
    {
        Self {
            inner: BoxCloneSyncService::new(service.map_err(Into::into)),
        }
    }

    /// The default transport, [`HttpTransport`] with its default settings.
    ///
    /// # Errors
    ///
    /// When the TLS configuration cannot be built (it can always be on supported platforms).
    #[cfg(feature = "client")]
    pub fn https() -> Result<Self, BoxError> {
        Ok(Self::new(HttpTransport::new()?))
    }
}

impl Service<Request<Bytes>> for Transport {
    type Response = Response<Bytes>;
    type Error = BoxError;
    type Future = <BoxCloneSyncService<Request<Bytes>, Response<Bytes>, BoxError> as Service<
        Request<Bytes>,
    >>::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<Bytes>) -> Self::Future {
        self.inner.call(req)
    }
}

/// Whether `err` (or an error it wraps) is a timeout: tower's or tokio's `Elapsed`, or an I/O
/// error of kind `TimedOut` (connect timeouts).
pub(crate) fn is_timeout(err: &(dyn std::error::Error + 'static)) -> bool {
    let mut current: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(e) = current {
        if e.is::<tower::timeout::error::Elapsed>()
            || e.is::<tokio::time::error::Elapsed>()
            || e.downcast_ref::<std::io::Error>()
                .is_some_and(|io| io.kind() == std::io::ErrorKind::TimedOut)
        {
            return true;
        }
        current = e.source();
    }
    false
}

#[cfg(feature = "client")]
pub use self::https::{HttpTransport, HttpTransportBuilder};

#[cfg(feature = "client")]
mod https {
    use std::future::Future;
    use std::pin::Pin;
    use std::sync::Arc;
    use std::task::{Context, Poll};
    use std::time::Duration;

    use bytes::Bytes;
    use http::{Request, Response};
    use http_body_util::{BodyExt, Full, Limited};
    use hyper_rustls::{HttpsConnector, HttpsConnectorBuilder};
    use hyper_util::client::legacy::Client;
    use hyper_util::client::legacy::connect::HttpConnector;
    use hyper_util::rt::{TokioExecutor, TokioTimer};
    use tower_service::Service;

    use crate::body::BoxError;

    /// The default transport (feature `client`): hyper 1 + hyper-util's pooled client (connections
    /// are kept and reused), rustls on *ring* with the bundled webpki root certificates (no system
    /// certificate store needed), HTTP/1.1. Plain `http://` works too, for a mock server on
    /// loopback.
    ///
    /// The whole answer is read into memory, up to a cap (32 MiB by default: temporary media
    /// are at most 10 MiB). Time limits per request are set on the
    /// [`WechatClient`](crate::client::WechatClient), which applies them to any transport.
    #[derive(Clone)]
    pub struct HttpTransport {
        client: Client<HttpsConnector<HttpConnector>, Full<Bytes>>,
        max_response_bytes: usize,
    }

    impl std::fmt::Debug for HttpTransport {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.debug_struct("HttpTransport")
                .field("max_response_bytes", &self.max_response_bytes)
                .finish_non_exhaustive()
        }
    }

    impl HttpTransport {
        /// The transport with default settings (see [`HttpTransportBuilder`]).
        ///
        /// # Errors
        ///
        /// When the TLS configuration cannot be built.
        pub fn new() -> Result<Self, BoxError> {
            Self::builder().build()
        }

        /// Settings for a transport.
        pub fn builder() -> HttpTransportBuilder {
            HttpTransportBuilder {
                connect_timeout: Duration::from_secs(5),
                pool_idle_timeout: Duration::from_secs(60),
                pool_max_idle_per_host: 32,
                max_response_bytes: 32 * 1024 * 1024,
            }
        }
    }

    /// Settings of an [`HttpTransport`].
    #[derive(Debug, Clone)]
    #[must_use]
    pub struct HttpTransportBuilder {
        connect_timeout: Duration,
        pool_idle_timeout: Duration,
        pool_max_idle_per_host: usize,
        max_response_bytes: usize,
    }

    impl HttpTransportBuilder {
        /// Give up connecting after this long (default 5 s).
        pub fn connect_timeout(mut self, timeout: Duration) -> Self {
            self.connect_timeout = timeout;
            self
        }

        /// Close pooled connections idle for this long (default 60 s).
        pub fn pool_idle_timeout(mut self, timeout: Duration) -> Self {
            self.pool_idle_timeout = timeout;
            self
        }

        /// Keep at most this many idle connections per host (default 32).
        pub fn pool_max_idle_per_host(mut self, max: usize) -> Self {
            self.pool_max_idle_per_host = max;
            self
        }

        /// Refuse answers longer than this (default 32 MiB).
        pub fn max_response_bytes(mut self, max: usize) -> Self {
            self.max_response_bytes = max;
            self
        }

        /// Builds the transport.
        ///
        /// # Errors
        ///
        /// When the TLS configuration cannot be built.
        pub fn build(self) -> Result<HttpTransport, BoxError> {
            let mut http = HttpConnector::new();
            http.enforce_http(false);
            http.set_nodelay(true);
            http.set_connect_timeout(Some(self.connect_timeout));
            let https = HttpsConnectorBuilder::new()
                .with_provider_and_webpki_roots(Arc::new(rustls::crypto::ring::default_provider()))?
                .https_or_http()
                .enable_http1()
                .wrap_connector(http);
            let client = Client::builder(TokioExecutor::new())
                .pool_timer(TokioTimer::new())
                .pool_idle_timeout(self.pool_idle_timeout)
                .pool_max_idle_per_host(self.pool_max_idle_per_host)
                .build(https);
            Ok(HttpTransport {
                client,
                max_response_bytes: self.max_response_bytes,
            })
        }
    }

    impl Service<Request<Bytes>> for HttpTransport {
        type Response = Response<Bytes>;
        type Error = BoxError;
        type Future = Pin<Box<dyn Future<Output = Result<Response<Bytes>, BoxError>> + Send>>;

        fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
            // hyper-util's client is always ready: it queues for a pooled connection per request.
            Poll::Ready(Ok(()))
        }

        fn call(&mut self, req: Request<Bytes>) -> Self::Future {
            let future = self.client.request(req.map(Full::new));
            let limit = self.max_response_bytes;
            Box::pin(async move {
                let (parts, body) = future.await?.into_parts();
                let body = Limited::new(body, limit).collect().await?.to_bytes();
                Ok(Response::from_parts(parts, body))
            })
        }
    }
}
