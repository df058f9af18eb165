//! [`WechatClient`]: the app's identity, its tokens and the stack every API call goes through.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderValue, Method, Request, Response, header};
use serde::Serialize;
use serde::de::DeserializeOwned;
use tower::ServiceExt as _;
use wechat_core::secret::{AccessToken, AppSecret};

use super::api::token::{access_token_source, jsapi_ticket_source};
use super::error::ClientError;
use super::multipart::UploadForm;
use super::stack::{self, Authed, Plain, wechat_error};
use super::token::{TokenManager, TokenSource};
use super::transport::{Transport, TransportBody};
use crate::config::{Clock, SystemClock};
use crate::store::{MemoryStore, Store};

/// WeChat's main API domain.
pub const DEFAULT_API_BASE: &str = "https://api.weixin.qq.com";
/// The domain of web authorization (网页授权) pages.
pub const DEFAULT_OPEN_BASE: &str = "https://open.weixin.qq.com";
/// The default time limit of one request.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// Which endpoint fetches the `access_token`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum TokenKind {
    /// `POST cgi-bin/stable_token` (the default, WeChat's recommendation): fetching returns the
    /// token still valid instead of rotating it, so another system fetching with the same
    /// AppSecret does not break yours. After a refusal (40001) it asks with `force_refresh`.
    #[default]
    Stable,
    /// `GET cgi-bin/token`: every fetch issues a new token and retires the previous one after a
    /// short overlap.
    Normal,
}

/// Why a client ([`WechatClient`], or the pay client) cannot be built: one typed error for
/// every client builder of the crate.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum BuildError {
    /// The app id is empty.
    EmptyAppId,
    /// A base URL setting is not an absolute `http(s)://` URL without a query.
    InvalidBase {
        /// The setting (`api_base`, `open_base`).
        setting: &'static str,
        /// The value given.
        base: String,
    },
    /// A base URL is plain `http://` on a host other than loopback: secrets and tokens would
    /// travel unencrypted (allowed only through the builder's explicit opt-in, where it has one).
    PlainHttp {
        /// The setting (`api_base`, `open_base`).
        setting: &'static str,
        /// The value given.
        base: String,
    },
    /// No transport was given and feature `client` (the default HTTPS transport) is off.
    NoTransport,
    /// The default HTTPS transport could not be set up.
    Transport(String),
}

impl std::fmt::Display for BuildError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::EmptyAppId => f.write_str("app id is empty"),
            Self::InvalidBase { setting, base } => write!(
                f,
                "{setting} `{base}` must be an absolute http:// or https:// URL without a query"
            ),
            Self::PlainHttp { setting, base } => write!(
                f,
                "{setting} `{base}` is plain http:// on a host other than loopback: secrets and \
                 tokens would travel unencrypted; use https://"
            ),
            Self::NoTransport => f.write_str(
                "no transport: enable feature `client` of wechat-tower or give the builder one",
            ),
            Self::Transport(err) => write!(f, "default HTTPS transport: {err}"),
        }
    }
}

impl std::error::Error for BuildError {}

/// The client of WeChat's server APIs for one app (Official Account or Mini Program): its
/// `access_token` and `jsapi_ticket` managers and the tower stack of every call. Cheap to clone;
/// share one per app.
///
/// Families of APIs hang off it: [`menu`](Self::menu), [`message`](Self::message),
/// [`user`](Self::user), [`qrcode`](Self::qrcode), [`media`](Self::media),
/// [`oauth`](Self::oauth), [`jssdk`](Self::jssdk), [`miniprogram`](Self::miniprogram). APIs
/// without a typed wrapper are one [`get_json`](Self::get_json) or
/// [`post_json`](Self::post_json) away. See the [module docs](super).
#[derive(Clone)]
pub struct WechatClient {
    inner: Arc<Inner>,
}

struct Inner {
    app_id: String,
    secret: AppSecret,
    api_base: String,
    open_base: String,
    plain: Plain,
    authed: Authed,
    tokens: TokenManager,
    tickets: TokenManager,
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for WechatClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WechatClient")
            .field("app_id", &self.inner.app_id)
            .field("secret", &self.inner.secret)
            .field("api_base", &self.inner.api_base)
            .field("tokens", &self.inner.tokens)
            .finish_non_exhaustive()
    }
}

impl WechatClient {
    /// A client for the app `app_id` with its AppSecret; configure it further, then
    /// [`build`](WechatClientBuilder::build).
    pub fn builder(app_id: impl Into<String>, secret: impl Into<String>) -> WechatClientBuilder {
        WechatClientBuilder {
            app_id: app_id.into(),
            secret: AppSecret::new(secret),
            api_base: DEFAULT_API_BASE.to_owned(),
            open_base: DEFAULT_OPEN_BASE.to_owned(),
            store: None,
            token_kind: TokenKind::default(),
            token_source: None,
            token_manager: None,
            transport: None,
            timeout: DEFAULT_TIMEOUT,
            refresh_ahead: None,
            clock: None,
            plain_http: false,
        }
    }

    /// The app id (`appid`).
    #[must_use]
    pub fn app_id(&self) -> &str {
        &self.inner.app_id
    }

    /// The API base URL, without a trailing slash.
    #[must_use]
    pub fn api_base(&self) -> &str {
        &self.inner.api_base
    }

    /// The manager of the app's `access_token`.
    #[must_use]
    pub fn tokens(&self) -> &TokenManager {
        &self.inner.tokens
    }

    /// The manager of the JS-SDK `jsapi_ticket`.
    #[must_use]
    pub fn tickets(&self) -> &TokenManager {
        &self.inner.tickets
    }

    /// The current `access_token` (cached, shared, or fetched now).
    ///
    /// # Errors
    ///
    /// As [`TokenManager::get`].
    pub async fn access_token(&self) -> Result<AccessToken, ClientError> {
        self.inner.tokens.get().await
    }

    /// `GET {api_base}{path}?{query}&access_token=…`, decoded as `T` (an answer with `errcode`
    /// != 0 is an error; a refused token is replaced and the call retried once).
    ///
    /// ```no_run
    /// # async fn f(client: wechat_tower::client::WechatClient) -> Result<(), wechat_tower::client::ClientError> {
    /// let ips: serde_json::Value = client.get_json("/cgi-bin/get_api_domain_ip", &[]).await?;
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// [`ClientError::Wechat`] for WeChat's errors; transport, timeout, decode and token errors.
    pub async fn get_json<T: DeserializeOwned>(
        &self,
        path: &str,
        query: &[(&str, &str)],
    ) -> Result<T, ClientError> {
        let req = self.request(Method::GET, &self.api_url(path, query), None)?;
        decode(path, self.send(req, true).await?)
    }

    /// `POST {api_base}{path}?{query}&access_token=…` with `body` as JSON, decoded as `T`; as
    /// [`WechatClient::get_json`].
    ///
    /// # Errors
    ///
    /// As [`WechatClient::get_json`].
    pub async fn post_json<B: Serialize + ?Sized, T: DeserializeOwned>(
        &self,
        path: &str,
        query: &[(&str, &str)],
        body: &B,
    ) -> Result<T, ClientError> {
        let req = self.json_request(&self.api_url(path, query), body)?;
        decode(path, self.send(req, true).await?)
    }

    // ---- for the API families -------------------------------------------------------------

    pub(crate) fn secret(&self) -> &AppSecret {
        &self.inner.secret
    }

    pub(crate) fn open_base(&self) -> &str {
        &self.inner.open_base
    }

    /// The transport, for calls whose answer is streamed (Mini Program codes).
    pub(crate) fn transport(&self) -> &Transport {
        self.inner.plain.transport()
    }

    /// The time limit of one call.
    pub(crate) fn timeout(&self) -> Duration {
        self.inner.plain.timeout()
    }

    pub(crate) fn now_secs(&self) -> u64 {
        self.inner.clock.now_secs()
    }

    /// `{api_base}{path}?{query}`.
    pub(crate) fn api_url(&self, path: &str, query: &[(&str, &str)]) -> String {
        url(&self.inner.api_base, path, query)
    }

    pub(crate) fn request(
        &self,
        method: Method,
        url: &str,
        body: Option<(HeaderValue, Bytes)>,
    ) -> Result<Request<Bytes>, ClientError> {
        build_request(method, url, body)
    }

    pub(crate) fn json_request<B: Serialize + ?Sized>(
        &self,
        url: &str,
        body: &B,
    ) -> Result<Request<Bytes>, ClientError> {
        json_request(url, body)
    }

    /// Sends `req` through the stack: with the app's `access_token` (and one retry on a refused
    /// token) when `with_token`.
    pub(crate) async fn send(
        &self,
        req: Request<Bytes>,
        with_token: bool,
    ) -> Result<Response<Bytes>, ClientError> {
        if with_token {
            self.inner.authed.clone().oneshot(req).await
        } else {
            self.inner.plain.clone().oneshot(req).await
        }
    }

    /// Sends a streamed form with the app's `access_token`: the body is read as it is sent.
    /// A refused token (40001/40014/42001) is replaced and the form sent once more when its
    /// source can be read again (bytes, a path); a one-shot reader's refusal is the answer
    /// (its token is still replaced, so the next call gets a fresh one).
    pub(crate) async fn send_upload(
        &self,
        url: &str,
        form: &mut UploadForm,
    ) -> Result<Response<Bytes>, ClientError> {
        let token = self.inner.tokens.get().await?;
        let req = upload_request(url, form, &token).await?.ok_or_else(|| {
            ClientError::Request("the upload's reader was already read".to_owned())
        })?;
        let res = self.inner.plain.send_streaming(req).await?;
        match wechat_error(res.body()) {
            Some(err) if err.is_token_invalid() => {
                tracing::debug!(errcode = err.errcode, "access token refused on an upload");
                let next = self.inner.tokens.replace(&token).await?;
                if !form.is_replayable() {
                    tracing::debug!("one-shot upload reader: not retried");
                    return Ok(res);
                }
                match upload_request(url, form, &next).await? {
                    Some(req) => self.inner.plain.send_streaming(req).await,
                    None => Ok(res),
                }
            }
            _ => Ok(res),
        }
    }

    /// GET without the app's `access_token` (web authorization, `jscode2session`).
    pub(crate) async fn get_plain<T: DeserializeOwned>(
        &self,
        path: &str,
        query: &[(&str, &str)],
    ) -> Result<T, ClientError> {
        let req = self.request(Method::GET, &self.api_url(path, query), None)?;
        decode(path, self.send(req, false).await?)
    }
}

/// `{base}{path}?{query}` with the query form-encoded.
pub(crate) fn url(base: &str, path: &str, query: &[(&str, &str)]) -> String {
    let mut url = String::with_capacity(base.len() + path.len() + 64);
    url.push_str(base);
    if !path.starts_with('/') {
        url.push('/');
    }
    url.push_str(path);
    if !query.is_empty() {
        url.push('?');
        url.push_str(
            &form_urlencoded::Serializer::new(String::new())
                .extend_pairs(query)
                .finish(),
        );
    }
    url
}

pub(crate) fn build_request(
    method: Method,
    url: &str,
    body: Option<(HeaderValue, Bytes)>,
) -> Result<Request<Bytes>, ClientError> {
    let (content_type, body) = match body {
        Some((content_type, body)) => (Some(content_type), body),
        None => (None, Bytes::new()),
    };
    let mut req = Request::builder()
        .method(method)
        .uri(url)
        .header(header::ACCEPT, HeaderValue::from_static("application/json"))
        .header(header::USER_AGENT, HeaderValue::from_static(USER_AGENT))
        .body(body)
        .map_err(|e| ClientError::Request(e.to_string()))?;
    if let Some(content_type) = content_type {
        req.headers_mut().insert(header::CONTENT_TYPE, content_type);
    }
    Ok(req)
}

/// `POST url&access_token=…` with the next body of `form`; `None` when its reader is spent.
async fn upload_request(
    url: &str,
    form: &mut UploadForm,
    token: &AccessToken,
) -> Result<Option<Request<TransportBody>>, ClientError> {
    let Some(body) = form.body().await? else {
        return Ok(None);
    };
    let mut req = Request::builder()
        .method(Method::POST)
        .uri(url)
        .header(header::ACCEPT, HeaderValue::from_static("application/json"))
        .header(header::USER_AGENT, HeaderValue::from_static(USER_AGENT))
        .header(header::CONTENT_TYPE, body.content_type)
        .body(body.body)
        .map_err(|e| ClientError::Request(e.to_string()))?;
    if let Some(length) = body.length {
        req.headers_mut()
            .insert(header::CONTENT_LENGTH, HeaderValue::from(length));
    }
    stack::set_access_token(&mut req, token)?;
    Ok(Some(req))
}

pub(crate) fn json_request<B: Serialize + ?Sized>(
    url: &str,
    body: &B,
) -> Result<Request<Bytes>, ClientError> {
    let json = serde_json::to_vec(body).map_err(|e| ClientError::Request(format!("body: {e}")))?;
    build_request(
        Method::POST,
        url,
        Some((
            HeaderValue::from_static("application/json; charset=utf-8"),
            Bytes::from(json),
        )),
    )
}

const USER_AGENT: &str = concat!("wechat-tower/", env!("CARGO_PKG_VERSION"));

/// Reads WeChat's JSON answer to `path`: its error when `errcode` != 0, else `T`.
pub(crate) fn decode<T: DeserializeOwned>(
    path: &str,
    res: Response<Bytes>,
) -> Result<T, ClientError> {
    if let Some(err) = wechat_error(res.body()) {
        return Err(ClientError::Wechat(err));
    }
    if !res.status().is_success() {
        return Err(ClientError::Decode(format!(
            "{path}: HTTP status {}",
            res.status()
        )));
    }
    serde_json::from_slice(res.body()).map_err(|e| ClientError::Decode(format!("{path}: {e}")))
}

/// How to build a [`WechatClient`]. See [`WechatClient::builder`].
#[must_use]
pub struct WechatClientBuilder {
    app_id: String,
    secret: AppSecret,
    api_base: String,
    open_base: String,
    store: Option<Arc<dyn Store>>,
    token_kind: TokenKind,
    token_source: Option<Arc<dyn TokenSource>>,
    token_manager: Option<TokenManager>,
    transport: Option<Transport>,
    timeout: Duration,
    refresh_ahead: Option<u64>,
    clock: Option<Arc<dyn Clock>>,
    plain_http: bool,
}

impl std::fmt::Debug for WechatClientBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WechatClientBuilder")
            .field("app_id", &self.app_id)
            .field("secret", &self.secret)
            .field("api_base", &self.api_base)
            .field("token_kind", &self.token_kind)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl WechatClientBuilder {
    /// The API base URL (default [`DEFAULT_API_BASE`]): one of WeChat's other domains
    /// (`https://api2.weixin.qq.com`, `https://sh.api.weixin.qq.com`,
    /// `https://sz.api.weixin.qq.com`, `https://hk.api.weixin.qq.com`) or a test server such as
    /// `MockWechat` of `test_util` (feature `test-util`).
    pub fn api_base(mut self, base: impl Into<String>) -> Self {
        self.api_base = base.into();
        self
    }

    /// The base URL of web authorization pages (default [`DEFAULT_OPEN_BASE`]).
    pub fn open_base(mut self, base: impl Into<String>) -> Self {
        self.open_base = base.into();
        self
    }

    /// Where tokens are kept (default: a [`MemoryStore`] of this client). Give every process of
    /// a deployment the same shared store (Redis) so they share one token.
    pub fn store(mut self, store: Arc<dyn Store>) -> Self {
        self.store = Some(store);
        self
    }

    /// Which endpoint fetches the `access_token` (default [`TokenKind::Stable`]).
    pub fn token_kind(mut self, kind: TokenKind) -> Self {
        self.token_kind = kind;
        self
    }

    /// Fetch the `access_token` from a source of your own (e.g. a token service of your
    /// company) instead of WeChat; it is still cached and shared through the store.
    pub fn token_source(mut self, source: impl TokenSource) -> Self {
        self.token_source = Some(Arc::new(source));
        self
    }

    /// Use this manager for the `access_token` as it is (its key, store and source); overrides
    /// [`token_source`](Self::token_source) and [`token_kind`](Self::token_kind).
    pub fn token_manager(mut self, tokens: TokenManager) -> Self {
        self.token_manager = Some(tokens);
        self
    }

    /// Send requests through `transport` (default: [`HttpTransport`](super::HttpTransport),
    /// feature `client`).
    pub fn transport(mut self, transport: Transport) -> Self {
        self.transport = Some(transport);
        self
    }

    /// The time limit of one request (default [`DEFAULT_TIMEOUT`]); exceeding it is
    /// [`ClientError::Timeout`].
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Refresh tokens this many seconds before they expire (default 300).
    pub fn refresh_ahead(mut self, secs: u64) -> Self {
        self.refresh_ahead = Some(secs);
        self
    }

    /// The clock of token expiry and JS-SDK timestamps (default: the system clock).
    pub fn clock(mut self, clock: impl Clock) -> Self {
        self.clock = Some(Arc::new(clock));
        self
    }

    /// Allow `http://` base URLs on hosts other than loopback. Off by default: the AppSecret and
    /// tokens travel in URL queries, and plain HTTP would show them to the network. `http://`
    /// on `127.0.0.1`, `::1` or `localhost` (a mock server) is always allowed.
    pub fn allow_plain_http(mut self, allow: bool) -> Self {
        self.plain_http = allow;
        self
    }

    /// Builds the client.
    ///
    /// # Errors
    ///
    /// When a base URL is not an absolute `http(s)://` URL (or is `http://` on a host other
    /// than loopback, see [`allow_plain_http`](Self::allow_plain_http)), when the app id is
    /// empty, or when no transport was given and feature `client` is off.
    pub fn build(self) -> Result<WechatClient, BuildError> {
        if self.app_id.is_empty() {
            return Err(BuildError::EmptyAppId);
        }
        let api_base = check_base("api_base", &self.api_base, self.plain_http)?;
        let open_base = check_base("open_base", &self.open_base, self.plain_http)?;
        let transport = match self.transport {
            Some(transport) => transport,
            None => default_transport()?,
        };
        let clock: Arc<dyn Clock> = self.clock.unwrap_or_else(|| Arc::new(SystemClock));
        let store: Arc<dyn Store> = self.store.unwrap_or_else(|| Arc::new(MemoryStore::new()));
        let plain = stack::plain(transport, self.timeout);
        let configure = |manager: TokenManager| {
            let ticking = Arc::clone(&clock);
            let manager = manager.clock(move || ticking.now_secs());
            match self.refresh_ahead {
                Some(secs) => manager.refresh_ahead(secs),
                None => manager,
            }
        };
        let key = |what: &str| format!("wechat:{}:{what}", self.app_id);
        let tokens = match (self.token_manager, self.token_source) {
            (Some(manager), _) => manager,
            (None, Some(source)) => configure(TokenManager::new(
                key("access_token"),
                Arc::clone(&store),
                move |invalidated: bool| {
                    let source = Arc::clone(&source);
                    async move { source.fetch(invalidated).await }
                },
            )),
            (None, None) => configure(TokenManager::new(
                key("access_token"),
                Arc::clone(&store),
                access_token_source(
                    self.token_kind,
                    &api_base,
                    &self.app_id,
                    self.secret.clone(),
                    plain.clone(),
                ),
            )),
        };
        let authed = stack::authed(plain.clone(), tokens.clone());
        let tickets = configure(TokenManager::new(
            key("jsapi_ticket"),
            store,
            jsapi_ticket_source(&api_base, authed.clone()),
        ));
        Ok(WechatClient {
            inner: Arc::new(Inner {
                app_id: self.app_id,
                secret: self.secret,
                api_base,
                open_base,
                plain,
                authed,
                tokens,
                tickets,
                clock,
            }),
        })
    }
}

#[cfg(feature = "client")]
pub(crate) fn default_transport() -> Result<Transport, BuildError> {
    Transport::https().map_err(|e| BuildError::Transport(e.to_string()))
}

#[cfg(not(feature = "client"))]
pub(crate) fn default_transport() -> Result<Transport, BuildError> {
    Err(BuildError::NoTransport)
}

/// Checks a base URL setting: absolute `http(s)://` without a query, and `http://` only on
/// loopback unless `plain_http`. Returns it without trailing slashes.
pub(crate) fn check_base(
    setting: &'static str,
    base: &str,
    plain_http: bool,
) -> Result<String, BuildError> {
    let trimmed = base.trim_end_matches('/');
    let invalid = || BuildError::InvalidBase {
        setting,
        base: base.to_owned(),
    };
    let uri: http::Uri = trimmed.parse().map_err(|_| invalid())?;
    let scheme_ok = matches!(uri.scheme_str(), Some("http" | "https"));
    if !scheme_ok || uri.authority().is_none() || uri.query().is_some() {
        return Err(invalid());
    }
    let host = uri.host().unwrap_or_default();
    let loopback = host.eq_ignore_ascii_case("localhost")
        || host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    if uri.scheme_str() == Some("http") && !loopback && !plain_http {
        return Err(BuildError::PlainHttp {
            setting,
            base: base.to_owned(),
        });
    }
    Ok(trimmed.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issue17_a_request_that_cannot_be_built_is_a_request_error() {
        let err = build_request(Method::GET, "http://exa mple.com/\u{0}", None).unwrap_err();
        assert!(matches!(err, ClientError::Request(_)), "{err:?}");
        assert!(
            err.to_string().starts_with("cannot build the request"),
            "{err}"
        );
    }

    fn offline() -> Transport {
        Transport::new(tower::service_fn(|_req: Request<Bytes>| async {
            Ok::<_, std::convert::Infallible>(Response::new(Bytes::new()))
        }))
    }

    #[test]
    fn base_urls_are_checked() {
        let build = |base: &str| {
            WechatClient::builder("wx1", "s")
                .api_base(base)
                .transport(offline())
                .build()
                .map(|c| c.api_base().to_owned())
        };
        assert_eq!(
            build("https://api2.weixin.qq.com/").unwrap(),
            "https://api2.weixin.qq.com"
        );
        assert_eq!(
            build("http://127.0.0.1:8080").unwrap(),
            "http://127.0.0.1:8080"
        );
        assert_eq!(build("http://localhost:1").unwrap(), "http://localhost:1");
        assert_eq!(build("http://[::1]:1").unwrap(), "http://[::1]:1");
        for bad in [
            "api.weixin.qq.com",
            "ftp://x",
            "https://x/?a=1",
            "",
            "http://api.weixin.qq.com",
        ] {
            let err = build(bad).unwrap_err();
            assert!(err.to_string().contains("api_base"), "{bad}: {err}");
        }
        let insecure = WechatClient::builder("wx1", "s")
            .api_base("http://10.0.0.1:8080")
            .allow_plain_http(true)
            .transport(offline())
            .build();
        assert!(insecure.is_ok());
    }

    #[test]
    fn debug_does_not_show_the_secret() {
        let builder = WechatClient::builder("wx1", "very-secret").transport(offline());
        assert!(!format!("{builder:?}").contains("very-secret"));
        let client = builder.build().unwrap();
        let debug = format!("{client:?}");
        assert!(debug.contains("AppSecret([redacted])"), "{debug}");
        assert!(!debug.contains("very-secret"));
    }

    /// A transport that plays WeChat in a closure: tokens `T0`, `T1`, …; `user/get` refuses
    /// `T0` (40001) and answers a page otherwise; everything else is 48001.
    fn scripted() -> (Transport, Arc<std::sync::Mutex<Vec<String>>>) {
        let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
        let log = Arc::clone(&seen);
        let fetched = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let transport = Transport::new(tower::service_fn(move |req: Request<Bytes>| {
            log.lock().unwrap().push(req.uri().to_string());
            let n = fetched.load(std::sync::atomic::Ordering::SeqCst);
            let body = match req.uri().path() {
                "/cgi-bin/token" => {
                    fetched.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    format!(r#"{{"access_token":"T{n}","expires_in":7200}}"#)
                }
                "/cgi-bin/user/get" if req.uri().query().unwrap().contains("access_token=T0") => {
                    r#"{"errcode":40001,"errmsg":"invalid credential"}"#.to_owned()
                }
                "/cgi-bin/user/get" => r#"{"total":0,"count":0,"next_openid":""}"#.to_owned(),
                _ => r#"{"errcode":48001,"errmsg":"api unauthorized"}"#.to_owned(),
            };
            async move { Ok::<_, std::convert::Infallible>(Response::new(Bytes::from(body))) }
        }));
        (transport, seen)
    }

    #[tokio::test]
    async fn a_refused_token_is_replaced_and_the_call_retried_once() {
        let (transport, seen) = scripted();
        let client = WechatClient::builder("wx1", "s3cret")
            .token_kind(TokenKind::Normal)
            .transport(transport)
            .build()
            .unwrap();
        let page: crate::client::UserList = client.user().list(None).await.unwrap();
        assert_eq!(page.total, 0);
        let seen = seen.lock().unwrap().clone();
        assert_eq!(
            seen,
            [
                "https://api.weixin.qq.com/cgi-bin/token?grant_type=client_credential&appid=wx1&secret=s3cret",
                "https://api.weixin.qq.com/cgi-bin/user/get?access_token=T0",
                "https://api.weixin.qq.com/cgi-bin/token?grant_type=client_credential&appid=wx1&secret=s3cret",
                "https://api.weixin.qq.com/cgi-bin/user/get?access_token=T1",
            ]
        );
    }

    #[tokio::test]
    async fn wechat_errors_are_typed_and_not_retried() {
        let (transport, seen) = scripted();
        let client = WechatClient::builder("wx1", "s")
            .token_kind(TokenKind::Normal)
            .transport(transport)
            .build()
            .unwrap();
        let err = client.menu().get().await.unwrap_err();
        assert_eq!(err.errcode(), Some(48001));
        assert_eq!(err.wechat().unwrap().errmsg, "api unauthorized");
        assert_eq!(seen.lock().unwrap().len(), 2);
    }

    #[test]
    fn urls_encode_the_query() {
        assert_eq!(
            url("https://a", "/cgi-bin/x", &[("a", "1 2"), ("b", "é&")]),
            "https://a/cgi-bin/x?a=1+2&b=%C3%A9%26"
        );
        assert_eq!(url("https://a", "sns/auth", &[]), "https://a/sns/auth");
    }
}
