//! The bottom of the client stack: something that sends an HTTP request and reads the whole
//! answer.
//!
//! [`Transport`] type-erases any `tower::Service<http::Request<Bytes>, Response =
//! http::Response<Bytes>>` that is `Clone + Send + Sync + 'static`, so you can put your own
//! layers (rate limits, tracing, a proxy) under the client, or replace HTTP altogether in tests.
//! [`HttpTransport`] (feature `client`, on by default) is the default: hyper 1 + hyper-util's
//! pooled client with rustls and bundled root certificates.
//!
//! Uploads (permanent material, temporary media) stream their request body: a transport with a
//! request-streaming face ([`Transport::with_streaming_requests`], which [`HttpTransport`] has)
//! sends the file as it is read; any other transport still works, but
//! [`Transport::send_streaming`] then collects the whole body in memory first.
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

use std::future::Future;
use std::pin::Pin;
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
    /// The streaming face, when the transport has one (see [`Transport::with_streaming`]).
    streaming: Option<BoxCloneSyncService<Request<Bytes>, Response<TransportBody>, BoxError>>,
    /// The request-streaming face, when the transport has one (see
    /// [`Transport::with_streaming_requests`]).
    uploads: Option<BoxCloneSyncService<Request<TransportBody>, Response<Bytes>, BoxError>>,
}

/// A body read as it is polled: what [`Transport::stream`] answers with, and what
/// [`Transport::send_streaming`] sends.
pub type TransportBody = http_body_util::combinators::UnsyncBoxBody<Bytes, BoxError>;

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
            streaming: None,
            uploads: None,
        }
    }

    /// Adds a request-streaming face: `service` sends a body as it is polled (a file read
    /// chunk by chunk, never whole in memory) and answers with the whole (small) answer.
    /// [`Transport::send_streaming`] uses it (uploads); every other call keeps the buffered
    /// service.
    #[must_use]
    pub fn with_streaming_requests<S>(mut self, service: S) -> Self
    where
        S: Service<Request<TransportBody>, Response = Response<Bytes>>
            + Clone
            + Send
            + Sync
            + 'static,
        S::Error: Into<BoxError>,
        S::Future: Send + 'static,
    {
        self.uploads = Some(BoxCloneSyncService::new(service.map_err(Into::into)));
        self
    }

    /// Whether [`Transport::send_streaming`] really streams the request body (else it collects
    /// it first).
    #[must_use]
    pub fn streams_requests(&self) -> bool {
        self.uploads.is_some()
    }

    /// Sends `req`, its body read as it is sent, through the request-streaming face. A
    /// transport without one (a custom [`Transport::new`]) still works: the body is collected
    /// into memory first and sent through the buffered service, which costs the whole body's
    /// size in memory (a 20 MiB video material: 20 MiB) for the time of the call.
    ///
    /// # Errors
    ///
    /// When the body cannot be read (the file fails) or the request gets no answer.
    pub fn send_streaming(
        &self,
        req: Request<TransportBody>,
    ) -> Pin<Box<dyn Future<Output = Result<Response<Bytes>, BoxError>> + Send + 'static>> {
        use http_body_util::BodyExt as _;
        match self.uploads.clone() {
            Some(service) => Box::pin(service.oneshot(req)),
            None => {
                let buffered = self.inner.clone();
                let (parts, body) = req.into_parts();
                Box::pin(collect_then_send(buffered, parts, body.collect()))
            }
        }
    }

    /// Adds a streaming face: `service` answers as soon as the headers arrive, its body read
    /// as it is polled. [`Transport::stream`] uses it (bill downloads, which can be larger than
    /// what a buffered answer may hold); every other call keeps the buffered service.
    #[must_use]
    pub fn with_streaming<S, B>(mut self, service: S) -> Self
    where
        S: Service<Request<Bytes>, Response = Response<B>> + Clone + Send + Sync + 'static,
        S::Error: Into<BoxError>,
        S::Future: Send + 'static,
        B: http_body::Body<Data = Bytes> + Send + 'static,
        B::Error: Into<BoxError>,
    {
        use http_body_util::BodyExt as _;
        let service = service
            .map_err(Into::into)
            .map_response(|res: Response<B>| {
                res.map(|body| body.map_err(Into::into).boxed_unsync())
            });
        self.streaming = Some(BoxCloneSyncService::new(service));
        self
    }

    /// Whether [`Transport::stream`] really streams (else it answers the buffered body as one
    /// frame).
    #[must_use]
    pub fn streams(&self) -> bool {
        self.streaming.is_some()
    }

    /// Sends `req` through the streaming face, or, for a transport without one, through the
    /// buffered service (the whole body then comes as one frame), so custom transports keep
    /// working.
    ///
    /// # Errors
    ///
    /// When the request gets no answer; body errors come while it is read.
    pub fn stream(
        &self,
        req: Request<Bytes>,
    ) -> impl std::future::Future<Output = Result<Response<TransportBody>, BoxError>>
    + Send
    + 'static
    + use<> {
        use http_body_util::BodyExt as _;
        let streaming = self.streaming.clone();
        let buffered = self.inner.clone();
        async move {
            match streaming {
                Some(service) => service.oneshot(req).await,
                None => {
                    let res = buffered.oneshot(req).await?;
                    Ok(res.map(|body| {
                        http_body_util::Full::new(body)
                            .map_err(|never| match never {})
                            .boxed_unsync()
                    }))
                }
            }
        }
    }

    /// The default transport, [`HttpTransport`] with its default settings.
    ///
    /// # Errors
    ///
    /// When the TLS configuration cannot be built (it can always be on supported platforms).
    #[cfg(feature = "client")]
    pub fn https() -> Result<Self, BoxError> {
        Ok(HttpTransport::new()?.into_transport())
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

/// The fallback of [`Transport::send_streaming`]: the whole body first, then the buffered
/// service.
async fn collect_then_send(
    buffered: BoxCloneSyncService<Request<Bytes>, Response<Bytes>, BoxError>,
    parts: http::request::Parts,
    body: http_body_util::combinators::Collect<TransportBody>,
) -> Result<Response<Bytes>, BoxError> {
    let body = body.await?.to_bytes();
    buffered.oneshot(Request::from_parts(parts, body)).await
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
pub use self::https::{HttpTransport, HttpTransportBuilder, StreamingBody, TlsConfigError};

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
    use rustls::pki_types::pem::{self, PemObject as _};
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    use rustls::sign::{CertifiedKey, SingleCertAndKey};
    use rustls::{ClientConfig, RootCertStore};
    use tower_service::Service;

    use super::TransportBody;
    use crate::body::BoxError;

    /// A whole body as the client's body type.
    fn whole(bytes: Bytes) -> TransportBody {
        Full::new(bytes)
            .map_err(|never| match never {})
            .boxed_unsync()
    }

    /// The default transport (feature `client`): hyper 1 + hyper-util's pooled client (connections
    /// are kept and reused), rustls on *ring* with the bundled webpki root certificates (no system
    /// certificate store needed), HTTP/1.1. Plain `http://` works too, for a mock server on
    /// loopback.
    ///
    /// The whole answer is read into memory, up to a cap (32 MiB by default: temporary media
    /// are at most 10 MiB). Time limits per request are set on the
    /// [`WechatClient`](crate::client::WechatClient), which applies them to any transport.
    ///
    /// It can present a client certificate (mutual TLS), which WeChat Pay's v2 `secapi` calls
    /// (refunds) require: see [`HttpTransportBuilder::client_certificate_pem`].
    #[derive(Clone)]
    pub struct HttpTransport {
        client: Client<HttpsConnector<HttpConnector>, TransportBody>,
        max_response_bytes: usize,
        max_stream_bytes: usize,
        client_certificate: bool,
    }

    impl std::fmt::Debug for HttpTransport {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.debug_struct("HttpTransport")
                .field("max_response_bytes", &self.max_response_bytes)
                .field("max_stream_bytes", &self.max_stream_bytes)
                .field("client_certificate", &self.client_certificate)
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
                max_stream_bytes: 1024 * 1024 * 1024,
                client_key: None,
                extra_roots: RootCertStore::empty(),
            }
        }

        /// This transport as a [`Transport`](super::Transport) with its streaming faces
        /// ([`Transport::stream`](super::Transport::stream) then reads answers as they arrive,
        /// [`Transport::send_streaming`](super::Transport::send_streaming) sends request
        /// bodies as they are read).
        #[must_use]
        pub fn into_transport(self) -> super::Transport {
            let streaming = self.clone();
            let uploads = self.clone();
            super::Transport::new(self)
                .with_streaming(tower::service_fn(move |req: Request<Bytes>| {
                    streaming.stream(req)
                }))
                .with_streaming_requests(tower::service_fn(move |req: Request<TransportBody>| {
                    uploads.send_streaming(req)
                }))
        }

        /// Sends `req` with its body read as it is sent (chunked, or with the
        /// `Content-Length` the caller set), and reads the whole answer (up to
        /// [`max_response_bytes`](HttpTransportBuilder::max_response_bytes)): uploads.
        ///
        /// # Errors
        ///
        /// When the body fails while it is read or the request does not get an answer.
        pub fn send_streaming(
            &self,
            req: Request<TransportBody>,
        ) -> impl Future<Output = Result<Response<Bytes>, BoxError>> + Send + 'static + use<>
        {
            let future = self.client.request(req);
            let limit = self.max_response_bytes;
            async move {
                let (parts, body) = future.await?.into_parts();
                let body = Limited::new(body, limit).collect().await?.to_bytes();
                Ok(Response::from_parts(parts, body))
            }
        }

        /// Whether it presents a client certificate.
        #[must_use]
        pub fn has_client_certificate(&self) -> bool {
            self.client_certificate
        }

        /// Sends `req` and answers as soon as the status and headers arrive, the body read as
        /// it is polled ([`StreamingBody`], at most
        /// [`max_stream_bytes`](HttpTransportBuilder::max_stream_bytes)): for downloads too
        /// large to hold in memory (WeChat Pay bills can be tens of MiB). The
        /// [`Service`] impl buffers instead.
        ///
        /// The time limits of the clients bound [`Service::call`] only: bound the reading of
        /// this body yourself (`tokio::time::timeout` around the whole copy).
        ///
        /// # Errors
        ///
        /// When the request does not get an answer (connection, TLS, protocol); a body over
        /// the limit fails while it is read.
        pub fn stream(
            &self,
            req: Request<Bytes>,
        ) -> impl Future<Output = Result<Response<StreamingBody>, BoxError>> + Send + 'static + use<>
        {
            let future = self.client.request(req.map(whole));
            let limit = self.max_stream_bytes;
            async move {
                let res = future.await?;
                Ok(res.map(|body| StreamingBody {
                    inner: Limited::new(body, limit),
                }))
            }
        }
    }

    pin_project_lite::pin_project! {
        /// The body of an answer of [`HttpTransport::stream`], read from the connection as it
        /// is polled, with the transport's download limit (a body over it fails with
        /// `http_body_util::LengthLimitError` inside the boxed error).
        pub struct StreamingBody {
            #[pin]
            inner: Limited<hyper::body::Incoming>,
        }
    }

    impl std::fmt::Debug for StreamingBody {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.debug_struct("StreamingBody").finish_non_exhaustive()
        }
    }

    impl http_body::Body for StreamingBody {
        type Data = Bytes;
        type Error = BoxError;

        fn poll_frame(
            self: Pin<&mut Self>,
            cx: &mut Context<'_>,
        ) -> Poll<Option<Result<http_body::Frame<Bytes>, BoxError>>> {
            self.project().inner.poll_frame(cx)
        }

        fn is_end_stream(&self) -> bool {
            self.inner.is_end_stream()
        }

        fn size_hint(&self) -> http_body::SizeHint {
            self.inner.size_hint()
        }
    }

    /// Why a certificate or key given to [`HttpTransportBuilder`] was refused. It never holds
    /// key material.
    #[derive(Debug, Clone, PartialEq, Eq)]
    #[non_exhaustive]
    pub enum TlsConfigError {
        /// A PEM section is malformed (bad base64, an unterminated `-----BEGIN`).
        MalformedPem,
        /// The PEM holds no `CERTIFICATE`.
        NoCertificate,
        /// The PEM holds no private key (PKCS#8 `PRIVATE KEY`, PKCS#1 `RSA PRIVATE KEY` or SEC1
        /// `EC PRIVATE KEY`).
        NoPrivateKey,
        /// The private key is malformed, or of a kind TLS cannot sign with.
        UnsupportedKey,
        /// The private key is not the one of the certificate (the first of the chain): a
        /// `apiclient_key.pem` of another merchant or an older certificate.
        KeyMismatch,
        /// A certificate is not a well-formed X.509 certificate.
        InvalidCertificate,
        /// The `.p12` password is wrong (its MAC does not verify, or its content does not
        /// decrypt). WeChat's `apiclient_cert.p12` has the merchant id (商户号) as password.
        WrongPassword,
        /// The `.p12` is malformed or uses an encryption this crate cannot read; the parser's
        /// reason (never key material).
        InvalidP12(String),
        /// The `.p12` holds no private key with its certificate.
        NoKeyInP12,
        /// The TLS configuration could not be built (the parser's reason).
        Tls(String),
    }

    impl std::fmt::Display for TlsConfigError {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            match self {
                Self::MalformedPem => f.write_str("malformed PEM"),
                Self::NoCertificate => f.write_str("no CERTIFICATE in the PEM"),
                Self::NoPrivateKey => f.write_str(
                    "no private key in the PEM (expected PRIVATE KEY, RSA PRIVATE KEY or EC PRIVATE KEY)",
                ),
                Self::UnsupportedKey => f.write_str("the private key is malformed or unsupported"),
                Self::KeyMismatch => {
                    f.write_str("the private key does not belong to the certificate")
                }
                Self::InvalidCertificate => f.write_str("not a well-formed X.509 certificate"),
                Self::WrongPassword => f.write_str(
                    "wrong .p12 password (WeChat's apiclient_cert.p12 uses the merchant id)",
                ),
                Self::InvalidP12(why) => write!(f, "unreadable .p12: {why}"),
                Self::NoKeyInP12 => f.write_str("the .p12 holds no private key and certificate"),
                Self::Tls(why) => write!(f, "TLS configuration: {why}"),
            }
        }
    }

    impl std::error::Error for TlsConfigError {}

    /// Settings of an [`HttpTransport`].
    #[derive(Clone)]
    #[must_use]
    pub struct HttpTransportBuilder {
        connect_timeout: Duration,
        pool_idle_timeout: Duration,
        pool_max_idle_per_host: usize,
        max_response_bytes: usize,
        max_stream_bytes: usize,
        /// The client certificate chain and its key, parsed and checked.
        client_key: Option<Arc<CertifiedKey>>,
        /// Trust anchors added to the bundled webpki roots.
        extra_roots: RootCertStore,
    }

    impl std::fmt::Debug for HttpTransportBuilder {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.debug_struct("HttpTransportBuilder")
                .field("connect_timeout", &self.connect_timeout)
                .field("pool_idle_timeout", &self.pool_idle_timeout)
                .field("pool_max_idle_per_host", &self.pool_max_idle_per_host)
                .field("max_response_bytes", &self.max_response_bytes)
                .field("max_stream_bytes", &self.max_stream_bytes)
                .field(
                    "client_certificate",
                    &self
                        .client_key
                        .as_ref()
                        .map(|key| ClientCertificateDebug(key.cert.len())),
                )
                .field("extra_roots", &self.extra_roots.len())
                .finish()
        }
    }

    /// How the client certificate shows in `Debug`: the length of its chain, the key redacted.
    struct ClientCertificateDebug(usize);

    impl std::fmt::Debug for ClientCertificateDebug {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.debug_struct("ClientCertificate")
                .field("chain", &self.0)
                .field("key", &format_args!("[redacted]"))
                .finish()
        }
    }

    fn provider() -> Arc<rustls::crypto::CryptoProvider> {
        Arc::new(rustls::crypto::ring::default_provider())
    }

    /// Every `CERTIFICATE` of `pem`, at least one.
    fn certificates(pem: &[u8]) -> Result<Vec<CertificateDer<'static>>, TlsConfigError> {
        let chain = CertificateDer::pem_slice_iter(pem)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|_| TlsConfigError::MalformedPem)?;
        if chain.is_empty() {
            return Err(TlsConfigError::NoCertificate);
        }
        Ok(chain)
    }

    /// Loads `key` for signing and checks it belongs to the first certificate of `chain`.
    fn certified_key(
        chain: Vec<CertificateDer<'static>>,
        key: PrivateKeyDer<'static>,
    ) -> Result<Arc<CertifiedKey>, TlsConfigError> {
        let provider = provider();
        let signing_key = provider
            .key_provider
            .load_private_key(key)
            .map_err(|_| TlsConfigError::UnsupportedKey)?;
        let certified = CertifiedKey::new(chain, signing_key);
        match certified.keys_match() {
            Ok(()) => Ok(Arc::new(certified)),
            Err(rustls::Error::InconsistentKeys(rustls::InconsistentKeys::KeyMismatch)) => {
                Err(TlsConfigError::KeyMismatch)
            }
            // A key kind whose public half rustls cannot tell: the handshake will tell.
            Err(rustls::Error::InconsistentKeys(_)) => Ok(Arc::new(certified)),
            Err(_) => Err(TlsConfigError::InvalidCertificate),
        }
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

        /// Stop reading a body of [`HttpTransport::stream`] past this (default 1 GiB).
        pub fn max_stream_bytes(mut self, max: usize) -> Self {
            self.max_stream_bytes = max;
            self
        }

        /// Present this client certificate (mutual TLS) to servers that ask for one: WeChat
        /// Pay's v2 `secapi` calls (申请退款 `secapi/pay/refund`, …) refuse a connection
        /// without the merchant's API certificate (商户API证书). `cert_pem` is
        /// `apiclient_cert.pem` (the certificate first, then any intermediates), `key_pem`
        /// is `apiclient_key.pem` (PKCS#8 `PRIVATE KEY`, PKCS#1 or SEC1); the same combined
        /// file may be given twice.
        ///
        /// The key is parsed and checked against the certificate here, kept only in memory,
        /// zeroed when dropped, and never shown by `Debug` or errors. The certificate goes to
        /// every server of this transport that asks for one: give the pay client a transport
        /// of its own.
        ///
        /// ```no_run
        /// use wechat_tower::client::{HttpTransport, Transport};
        /// use wechat_tower::pay::{PayClient, PayConfig};
        ///
        /// # fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
        /// let transport = HttpTransport::builder()
        ///     .client_certificate_pem(
        ///         std::fs::read("/etc/wechat/apiclient_cert.pem")?,
        ///         std::fs::read("/etc/wechat/apiclient_key.pem")?,
        ///     )?
        ///     .build()?;
        /// let config = PayConfig::new("wxd930ea5d5a258f4f", "1900000109", "192006250b4c09247ec02edce69f6a2d");
        /// let pay = PayClient::builder(config).transport(Transport::new(transport)).build()?;
        /// # let _ = pay; Ok(()) }
        /// ```
        ///
        /// # Errors
        ///
        /// [`TlsConfigError::MalformedPem`], [`TlsConfigError::NoCertificate`],
        /// [`TlsConfigError::NoPrivateKey`], [`TlsConfigError::UnsupportedKey`],
        /// [`TlsConfigError::KeyMismatch`], [`TlsConfigError::InvalidCertificate`].
        pub fn client_certificate_pem(
            mut self,
            cert_pem: impl AsRef<[u8]>,
            key_pem: impl AsRef<[u8]>,
        ) -> Result<Self, TlsConfigError> {
            let chain = certificates(cert_pem.as_ref())?;
            let key = PrivateKeyDer::from_pem_slice(key_pem.as_ref()).map_err(|e| match e {
                pem::Error::NoItemsFound => TlsConfigError::NoPrivateKey,
                _ => TlsConfigError::MalformedPem,
            })?;
            self.client_key = Some(certified_key(chain, key)?);
            Ok(self)
        }

        /// As [`client_certificate_pem`](Self::client_certificate_pem), from the PKCS#12 file
        /// WeChat Pay also hands out (`apiclient_cert.p12`, password: the merchant id
        /// 商户号), given as its bytes (feature `p12`). Reads PBES2 (PBKDF2 + AES-256-CBC,
        /// what `openssl pkcs12 -export` writes today) and the legacy
        /// `pbeWithSHA1And3-KeyTripleDES-CBC` / `pbeWithSHA1And40BitRC2-CBC` of older files,
        /// with a SHA-1 or SHA-256 MAC.
        ///
        /// Without the feature, convert it once:
        /// `openssl pkcs12 -in apiclient_cert.p12 -nodes -legacy -passin pass:<mch_id> -out apiclient.pem`
        /// (drop `-legacy` on OpenSSL 1.1) and give that file as both arguments of
        /// [`client_certificate_pem`](Self::client_certificate_pem).
        ///
        /// ```no_run
        /// use wechat_tower::client::HttpTransport;
        ///
        /// # fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
        /// let transport = HttpTransport::builder()
        ///     .client_certificate_p12(&std::fs::read("/etc/wechat/apiclient_cert.p12")?, "1900000109")?
        ///     .build()?;
        /// # let _ = transport; Ok(()) }
        /// ```
        ///
        /// # Errors
        ///
        /// [`TlsConfigError::WrongPassword`], [`TlsConfigError::InvalidP12`],
        /// [`TlsConfigError::NoKeyInP12`], and the key and certificate errors of
        /// [`client_certificate_pem`](Self::client_certificate_pem).
        #[cfg(feature = "p12")]
        #[cfg_attr(docsrs, doc(cfg(feature = "p12")))]
        pub fn client_certificate_p12(
            mut self,
            der: &[u8],
            password: &str,
        ) -> Result<Self, TlsConfigError> {
            use p12_keystore::error::Error as P12Error;
            use rustls::pki_types::PrivatePkcs8KeyDer;

            let store =
                p12_keystore::KeyStore::from_pkcs12(der, password).map_err(|e| match e {
                    // A wrong password fails the MAC (or, without a MAC, the padding).
                    P12Error::MacError(_) | P12Error::UnpadError => TlsConfigError::WrongPassword,
                    other => TlsConfigError::InvalidP12(other.to_string()),
                })?;
            let (_, entry) = store
                .private_key_chain()
                .ok_or(TlsConfigError::NoKeyInP12)?;
            let chain: Vec<CertificateDer<'static>> = entry
                .chain()
                .iter()
                .map(|cert| CertificateDer::from(cert.as_der().to_vec()))
                .collect();
            if chain.is_empty() {
                return Err(TlsConfigError::NoKeyInP12);
            }
            // PKCS#12 key bags hold PKCS#8; the copy is zeroed when dropped.
            let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(entry.key().to_vec()));
            self.client_key = Some(certified_key(chain, key)?);
            Ok(self)
        }

        /// Trust the certificates of `pem` as root certificates too (the bundled webpki roots
        /// stay): the CA of a mock server or of a TLS-inspecting proxy.
        ///
        /// # Errors
        ///
        /// [`TlsConfigError::MalformedPem`], [`TlsConfigError::NoCertificate`],
        /// [`TlsConfigError::InvalidCertificate`].
        pub fn add_root_certificate_pem(
            mut self,
            pem: impl AsRef<[u8]>,
        ) -> Result<Self, TlsConfigError> {
            for cert in certificates(pem.as_ref())? {
                self.extra_roots
                    .add(cert)
                    .map_err(|_| TlsConfigError::InvalidCertificate)?;
            }
            Ok(self)
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
            let client_certificate = self.client_key.is_some();
            let https = if self.client_key.is_none() && self.extra_roots.is_empty() {
                // The default, exactly as before client certificates existed.
                HttpsConnectorBuilder::new()
                    .with_provider_and_webpki_roots(provider())?
                    .https_or_http()
                    .enable_http1()
                    .wrap_connector(http)
            } else {
                let mut roots: RootCertStore =
                    webpki_roots::TLS_SERVER_ROOTS.iter().cloned().collect();
                roots.roots.extend(self.extra_roots.roots);
                let config = ClientConfig::builder_with_provider(provider())
                    .with_safe_default_protocol_versions()?
                    .with_root_certificates(roots);
                let config = match self.client_key {
                    Some(key) => {
                        config.with_client_cert_resolver(Arc::new(SingleCertAndKey::from(key)))
                    }
                    None => config.with_no_client_auth(),
                };
                HttpsConnectorBuilder::new()
                    .with_tls_config(config)
                    .https_or_http()
                    .enable_http1()
                    .wrap_connector(http)
            };
            let client = Client::builder(TokioExecutor::new())
                .pool_timer(TokioTimer::new())
                .pool_idle_timeout(self.pool_idle_timeout)
                .pool_max_idle_per_host(self.pool_max_idle_per_host)
                .build(https);
            Ok(HttpTransport {
                client,
                max_response_bytes: self.max_response_bytes,
                max_stream_bytes: self.max_stream_bytes,
                client_certificate,
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
            let future = self.client.request(req.map(whole));
            let limit = self.max_response_bytes;
            Box::pin(async move {
                let (parts, body) = future.await?.into_parts();
                let body = Limited::new(body, limit).collect().await?.to_bytes();
                Ok(Response::from_parts(parts, body))
            })
        }
    }
}

#[cfg(test)]
#[cfg(feature = "client")]
mod tests {
    use super::*;
    use crate::test_util::tls::keys;

    fn pem_error(cert: &str, key: &str) -> TlsConfigError {
        HttpTransport::builder()
            .client_certificate_pem(cert, key)
            .unwrap_err()
    }

    #[test]
    fn the_default_transport_presents_no_certificate() {
        let transport = HttpTransport::new().unwrap();
        assert!(!transport.has_client_certificate());
        assert!(format!("{transport:?}").contains("client_certificate: false"));
    }

    #[test]
    fn the_merchant_certificate_loads_and_its_key_stays_out_of_debug() {
        let builder = HttpTransport::builder()
            .client_certificate_pem(keys::MERCHANT_CERT_PEM, keys::MERCHANT_KEY_PEM)
            .unwrap();
        let debug = format!("{builder:?}");
        assert!(debug.contains("key: [redacted]"), "{debug}");
        // Not one line of the key's base64 shows.
        for line in keys::MERCHANT_KEY_PEM
            .lines()
            .filter(|l| !l.starts_with("-----"))
        {
            assert!(!debug.contains(line), "{debug}");
        }
        let transport = builder.build().unwrap();
        assert!(transport.has_client_certificate());
        assert!(!format!("{transport:?}").contains(&keys::MERCHANT_KEY_PEM[40..80]));
    }

    /// A plain server on loopback answering every request with `len` bytes.
    async fn answering(len: usize) -> (std::net::SocketAddr, tokio::task::JoinHandle<()>) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(move |_req| async move {
                        let body = http_body_util::Full::new(Bytes::from(vec![7u8; len]));
                        Ok::<_, std::convert::Infallible>(Response::new(body))
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        (addr, task)
    }

    fn get(addr: std::net::SocketAddr) -> Request<Bytes> {
        Request::builder()
            .uri(format!("http://{addr}/bill"))
            .body(Bytes::new())
            .unwrap()
    }

    #[tokio::test]
    async fn stream_reads_the_body_frame_by_frame_up_to_its_limit() {
        use http_body_util::BodyExt as _;
        const LEN: usize = 3 * 1024 * 1024;
        let (addr, _server) = answering(LEN).await;
        // Above the buffered cap, within the streaming one.
        let transport = HttpTransport::builder()
            .max_response_bytes(1024 * 1024)
            .build()
            .unwrap();
        let mut body = transport.stream(get(addr)).await.unwrap().into_body();
        let (mut frames, mut total) = (0, 0);
        while let Some(frame) = body.frame().await {
            let data = frame.unwrap().into_data().unwrap();
            assert!(data.iter().all(|&b| b == 7));
            frames += 1;
            total += data.len();
        }
        assert_eq!(total, LEN);
        assert!(
            frames > 1,
            "one frame of {total} bytes: buffered, not streamed"
        );
        // The buffered path refuses the same answer.
        let mut buffered = transport.clone();
        assert!(buffered.call(get(addr)).await.is_err());

        // Past the streaming limit, reading fails with the limit error.
        let transport = HttpTransport::builder()
            .max_stream_bytes(LEN - 1)
            .build()
            .unwrap();
        let body = transport.stream(get(addr)).await.unwrap().into_body();
        let err = body.collect().await.unwrap_err();
        assert!(
            err.downcast_ref::<http_body_util::LengthLimitError>()
                .is_some(),
            "{err:?}"
        );
    }

    #[test]
    fn a_combined_pem_file_works_as_both_arguments() {
        let combined = format!("{}{}", keys::MERCHANT_CERT_PEM, keys::MERCHANT_KEY_PEM);
        assert!(
            HttpTransport::builder()
                .client_certificate_pem(&combined, &combined)
                .is_ok()
        );
    }

    #[test]
    fn bad_pem_is_a_typed_error() {
        assert_eq!(
            pem_error("", keys::MERCHANT_KEY_PEM),
            TlsConfigError::NoCertificate
        );
        assert_eq!(
            pem_error(
                "-----BEGIN CERTIFICATE-----\n!!!not base64!!!\n-----END CERTIFICATE-----\n",
                keys::MERCHANT_KEY_PEM
            ),
            TlsConfigError::MalformedPem
        );
        // The certificate given twice: no key.
        assert_eq!(
            pem_error(keys::MERCHANT_CERT_PEM, keys::MERCHANT_CERT_PEM),
            TlsConfigError::NoPrivateKey
        );
        // Base64 that is not a key.
        assert_eq!(
            pem_error(
                keys::MERCHANT_CERT_PEM,
                "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"
            ),
            TlsConfigError::UnsupportedKey
        );
        // A key of another certificate (the stranger's).
        assert_eq!(
            pem_error(keys::MERCHANT_CERT_PEM, keys::STRANGER_KEY_PEM),
            TlsConfigError::KeyMismatch
        );
        // Well-formed PEM around a non-certificate.
        assert_eq!(
            pem_error(
                "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
                keys::MERCHANT_KEY_PEM
            ),
            TlsConfigError::InvalidCertificate
        );
    }

    #[test]
    fn errors_name_no_key_material() {
        let err = pem_error(keys::MERCHANT_CERT_PEM, keys::STRANGER_KEY_PEM);
        let text = format!("{err} {err:?}");
        assert!(!text.contains("MII"), "{text}");
        assert_eq!(
            text,
            "the private key does not belong to the certificate KeyMismatch"
        );
    }

    #[test]
    fn extra_roots_are_checked() {
        let builder = HttpTransport::builder()
            .add_root_certificate_pem(keys::CA_CERT_PEM)
            .unwrap();
        assert!(format!("{builder:?}").contains("extra_roots: 1"));
        builder.build().unwrap();
        assert_eq!(
            HttpTransport::builder()
                .add_root_certificate_pem(
                    "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"
                )
                .unwrap_err(),
            TlsConfigError::InvalidCertificate
        );
        assert_eq!(
            HttpTransport::builder()
                .add_root_certificate_pem(keys::MERCHANT_KEY_PEM)
                .unwrap_err(),
            TlsConfigError::NoCertificate
        );
    }

    #[cfg(feature = "p12")]
    mod p12 {
        use p12_keystore::{
            Certificate, EncryptionAlgorithm, KeyStore, KeyStoreEntry, MacAlgorithm,
            PrivateKeyChain,
        };
        use rustls::pki_types::pem::PemObject as _;
        use rustls::pki_types::{CertificateDer, PrivatePkcs8KeyDer};

        use super::*;

        #[test]
        fn the_aes_256_p12_loads() {
            let transport = HttpTransport::builder()
                .client_certificate_p12(keys::MERCHANT_P12, keys::MERCHANT_P12_PASSWORD)
                .unwrap()
                .build()
                .unwrap();
            assert!(transport.has_client_certificate());
        }

        #[test]
        fn a_wrong_password_is_a_typed_error() {
            for password in ["", "1900000108", "19000001090"] {
                assert_eq!(
                    HttpTransport::builder()
                        .client_certificate_p12(keys::MERCHANT_P12, password)
                        .unwrap_err(),
                    TlsConfigError::WrongPassword,
                    "{password}"
                );
            }
        }

        #[test]
        fn a_damaged_p12_is_refused() {
            let half = &keys::MERCHANT_P12[..keys::MERCHANT_P12.len() / 2];
            assert!(matches!(
                HttpTransport::builder()
                    .client_certificate_p12(half, keys::MERCHANT_P12_PASSWORD)
                    .unwrap_err(),
                TlsConfigError::InvalidP12(_)
            ));
            // One byte of the encrypted content flipped: the MAC catches it.
            let mut flipped = keys::MERCHANT_P12.to_vec();
            let middle = flipped.len() / 2;
            flipped[middle] ^= 0x01;
            assert!(
                HttpTransport::builder()
                    .client_certificate_p12(&flipped, keys::MERCHANT_P12_PASSWORD)
                    .is_err()
            );
        }

        /// The merchant certificate and key re-wrapped as a `.p12` with `algorithm` and a
        /// SHA-1 MAC, as older OpenSSL (and WeChat's own files) write them.
        fn legacy_p12(algorithm: EncryptionAlgorithm, with_key: bool) -> Vec<u8> {
            let cert = CertificateDer::from_pem_slice(keys::MERCHANT_CERT_PEM.as_bytes()).unwrap();
            let key =
                PrivatePkcs8KeyDer::from_pem_slice(keys::MERCHANT_KEY_PEM.as_bytes()).unwrap();
            let cert = Certificate::from_der(cert.as_ref()).unwrap();
            let mut store = KeyStore::new();
            let entry = if with_key {
                KeyStoreEntry::PrivateKeyChain(PrivateKeyChain::new(
                    key.secret_pkcs8_der(),
                    b"id",
                    [cert],
                ))
            } else {
                KeyStoreEntry::Certificate(cert)
            };
            store.add_entry("Tenpay Certificate", entry);
            store
                .writer(keys::MERCHANT_P12_PASSWORD)
                .encryption_algorithm(algorithm)
                .mac_algorithm(MacAlgorithm::HmacSha1)
                .encryption_iterations(2048)
                .mac_iterations(2048)
                .write()
                .unwrap()
        }

        #[test]
        fn legacy_3des_and_rc2_p12_load() {
            for algorithm in [
                EncryptionAlgorithm::PbeWithShaAnd3KeyTripleDesCbc,
                EncryptionAlgorithm::PbeWithShaAnd40BitRc4Cbc,
            ] {
                let der = legacy_p12(algorithm, true);
                assert!(
                    HttpTransport::builder()
                        .client_certificate_p12(&der, keys::MERCHANT_P12_PASSWORD)
                        .is_ok()
                );
                assert_eq!(
                    HttpTransport::builder()
                        .client_certificate_p12(&der, "wrong")
                        .unwrap_err(),
                    TlsConfigError::WrongPassword
                );
            }
        }

        #[test]
        fn a_p12_without_a_key_is_refused() {
            let der = legacy_p12(EncryptionAlgorithm::PbeWithHmacSha256AndAes256, false);
            assert_eq!(
                HttpTransport::builder()
                    .client_certificate_p12(&der, keys::MERCHANT_P12_PASSWORD)
                    .unwrap_err(),
                TlsConfigError::NoKeyInP12
            );
        }
    }
}
