//! A mock of WeChat's server API on loopback (feature `test-util`), for your tests and demos.
//!
//! [`MockWechat`] speaks real HTTP on `127.0.0.1` and answers like WeChat: JSON with `errcode`
//! and `errmsg`, the same error codes, tokens that expire and are retired when a new one is
//! fetched. Point a [`WechatClient`](crate::client::WechatClient) at
//! [`MockWechat::base_url`] and your code runs unchanged. You control it while it runs:
//!
//! - tokens: their lifetime ([`set_token_expires_in`](MockWechat::set_token_expires_in)), how
//!   long a replaced token stays valid ([`set_token_overlap`](MockWechat::set_token_overlap),
//!   300 s by default as at WeChat, 0 for strict tests), or refuse one now
//!   ([`revoke_token`](MockWechat::revoke_token));
//! - faults: the next *n* calls of an endpoint answer an `errcode`
//!   ([`fail_next`](MockWechat::fail_next)), answers are delayed
//!   ([`set_latency`](MockWechat::set_latency));
//! - observation: calls per endpoint ([`calls`](MockWechat::calls),
//!   [`token_fetches`](MockWechat::token_fetches)) and the requests themselves
//!   ([`requests`](MockWechat::requests)), each checked on arrival for WeChat's shape (a
//!   malformed body is answered 47001, a missing token 41001, a wrong method 43001/43002).
//! - Mini Program: `wx.login()` codes ([`issue_js_code`](MockWechat::issue_js_code), with a
//!   chosen session key: [`issue_js_code_with_session_key`](MockWechat::issue_js_code_with_session_key)),
//!   the session key given out ([`session_key`](MockWechat::session_key)), and the encrypted
//!   user data WeChat would hand the Mini Program
//!   ([`encrypt_user_data`](MockWechat::encrypt_user_data); forged or foreign data with
//!   [`encrypt_open_data`]).
//!
//! ```
//! use std::time::Duration;
//! use wechat_tower::client::{ClientError, WechatClient};
//! use wechat_tower::test_util::mock::MockWechat;
//!
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let wechat = MockWechat::start().await?;
//! let client = WechatClient::builder(wechat.app_id(), wechat.app_secret())
//!     .api_base(wechat.base_url())
//!     .build()?;
//!
//! // WeChat refuses the next call for its token: the client fetches a new one and retries.
//! wechat.fail_next("/cgi-bin/user/get", 1, 40001);
//! let followers = client.user().list(None).await?;
//! assert_eq!(followers.total, 3);
//! assert_eq!(wechat.calls("/cgi-bin/user/get"), 2);
//! assert_eq!(wechat.token_fetches(), 2);
//!
//! // Errors are typed.
//! let err = client.user().info("nobody", Default::default()).await.unwrap_err();
//! assert_eq!(err.errcode(), Some(40003));
//! # Ok(()) }
//! ```
//!
//! Endpoints: see [`ENDPOINTS`]. The mock also plays the web authorization page: a browser sent
//! to `{base_url}/connect/oauth2/authorize?…` is redirected straight back to `redirect_uri` with a
//! fresh `code` for [`MockWechat::set_authorize_user`]'s openid, as if the user had agreed (set
//! the client's `open_base` to the mock's URL too).
//!
//! To run it as a process (for the examples), see `cargo run -p menu-client --bin mock-wechat`.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Method, Request, Response, StatusCode, header};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::time::Instant;

/// The endpoints the mock serves: path, method, and whether it takes the app's `access_token`.
pub const ENDPOINTS: &[(&str, &str, bool)] = &[
    ("/cgi-bin/token", "GET", false),
    ("/cgi-bin/stable_token", "POST", false),
    ("/cgi-bin/ticket/getticket", "GET", true),
    ("/connect/oauth2/authorize", "GET", false),
    ("/sns/oauth2/access_token", "GET", false),
    ("/sns/oauth2/refresh_token", "GET", false),
    ("/sns/userinfo", "GET", false),
    ("/sns/auth", "GET", false),
    ("/cgi-bin/menu/create", "POST", true),
    ("/cgi-bin/menu/get", "GET", true),
    ("/cgi-bin/menu/delete", "GET", true),
    ("/cgi-bin/message/custom/send", "POST", true),
    ("/cgi-bin/message/template/send", "POST", true),
    ("/cgi-bin/message/subscribe/bizsend", "POST", true),
    ("/cgi-bin/message/subscribe/send", "POST", true),
    ("/cgi-bin/user/info", "GET", true),
    ("/cgi-bin/user/get", "GET", true),
    ("/cgi-bin/qrcode/create", "POST", true),
    ("/cgi-bin/media/upload", "POST", true),
    ("/cgi-bin/media/get", "GET", true),
    ("/sns/jscode2session", "GET", false),
    ("/wxa/business/getuserphonenumber", "POST", true),
];

/// The largest request body the mock reads.
const MAX_BODY: usize = 20 * 1024 * 1024;

/// A request as the mock received it.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct RecordedRequest {
    /// The method.
    pub method: Method,
    /// The path.
    pub path: String,
    /// The query, decoded, in order.
    pub query: Vec<(String, String)>,
    /// The headers.
    pub headers: HeaderMap,
    /// The body.
    pub body: Bytes,
}

impl RecordedRequest {
    /// The first value of query parameter `name`.
    #[must_use]
    pub fn query(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The body as JSON, if it is.
    #[must_use]
    pub fn json(&self) -> Option<Value> {
        serde_json::from_slice(&self.body).ok()
    }
}

/// Settings of a [`MockWechat`] before it starts.
#[derive(Debug, Clone)]
#[must_use]
pub struct MockWechatBuilder {
    addr: SocketAddr,
    app_id: String,
    app_secret: String,
    token_expires_in: u64,
    token_overlap: Duration,
    users: Vec<String>,
    user_page_size: usize,
}

impl MockWechatBuilder {
    /// Listen here (default `127.0.0.1:0`, a free port).
    pub fn addr(mut self, addr: SocketAddr) -> Self {
        self.addr = addr;
        self
    }

    /// The app id and AppSecret the mock accepts (default `wxmock0000000001` / `mock-secret`).
    pub fn app(mut self, app_id: impl Into<String>, app_secret: impl Into<String>) -> Self {
        self.app_id = app_id.into();
        self.app_secret = app_secret.into();
        self
    }

    /// `expires_in` of tokens and tickets, and their real lifetime (default 7200 s).
    pub fn token_expires_in(mut self, secs: u64) -> Self {
        self.token_expires_in = secs;
        self
    }

    /// How long a token stays valid after a new one was fetched (default 300 s, as at WeChat).
    pub fn token_overlap(mut self, overlap: Duration) -> Self {
        self.token_overlap = overlap;
        self
    }

    /// The followers (default `oUser1`, `oUser2`, `oUser3`).
    pub fn users<I, S>(mut self, users: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.users = users.into_iter().map(Into::into).collect();
        self
    }

    /// Openids per page of `user/get` (default 10 000, as at WeChat).
    pub fn user_page_size(mut self, size: usize) -> Self {
        self.user_page_size = size.max(1);
        self
    }

    /// Binds and starts serving on the current tokio runtime.
    ///
    /// # Errors
    ///
    /// When the address cannot be bound.
    pub async fn start(self) -> std::io::Result<MockWechat> {
        let listener = TcpListener::bind(self.addr).await?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            app_id: self.app_id,
            app_secret: self.app_secret,
            state: Mutex::new(State {
                token_expires_in: self.token_expires_in,
                token_overlap: self.token_overlap,
                users: self.users,
                user_page_size: self.user_page_size,
                authorize_user: "oMockUser".to_owned(),
                ..State::default()
            }),
        });
        let server = {
            let shared = Arc::clone(&shared);
            tokio::spawn(super::loopback::serve(listener, move |req| {
                let shared = Arc::clone(&shared);
                async move { handle(&shared, req).await }
            }))
        };
        Ok(MockWechat {
            addr,
            shared,
            server,
        })
    }
}

/// A mock WeChat API server on loopback. Stops when dropped. See the [module docs](self).
pub struct MockWechat {
    addr: SocketAddr,
    shared: Arc<Shared>,
    server: tokio::task::JoinHandle<()>,
}

impl std::fmt::Debug for MockWechat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MockWechat")
            .field("addr", &self.addr)
            .field("app_id", &self.shared.app_id)
            .finish_non_exhaustive()
    }
}

impl Drop for MockWechat {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl MockWechat {
    /// Settings: address, app, token lifetime and overlap, followers.
    pub fn builder() -> MockWechatBuilder {
        MockWechatBuilder {
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            app_id: "wxmock0000000001".to_owned(),
            app_secret: "mock-secret".to_owned(),
            token_expires_in: 7200,
            token_overlap: Duration::from_secs(300),
            users: vec!["oUser1".into(), "oUser2".into(), "oUser3".into()],
            user_page_size: 10_000,
        }
    }

    /// A mock with the default settings on a free loopback port.
    ///
    /// # Errors
    ///
    /// When no loopback port can be bound.
    pub async fn start() -> std::io::Result<Self> {
        Self::builder().start().await
    }

    /// Where it listens.
    #[must_use]
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:<port>`: the client's `api_base` (and `open_base`).
    #[must_use]
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The app id it accepts.
    #[must_use]
    pub fn app_id(&self) -> &str {
        &self.shared.app_id
    }

    /// The AppSecret it accepts.
    #[must_use]
    pub fn app_secret(&self) -> &str {
        &self.shared.app_secret
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.shared.lock()
    }

    // ---- tokens ---------------------------------------------------------------------------

    /// `expires_in` (and real lifetime) of tokens issued from now on.
    pub fn set_token_expires_in(&self, secs: u64) {
        self.state().token_expires_in = secs;
    }

    /// How long a replaced token stays valid (0: refused as soon as a new one is issued).
    pub fn set_token_overlap(&self, overlap: Duration) {
        self.state().token_overlap = overlap;
    }

    /// The latest `access_token` issued, if any.
    #[must_use]
    pub fn current_token(&self) -> Option<String> {
        self.state().current.clone()
    }

    /// Every `access_token` issued so far, oldest first.
    #[must_use]
    pub fn issued_tokens(&self) -> Vec<String> {
        self.state().issued.clone()
    }

    /// Answers 40001 to calls with `token` from now on (as when another system rotated it).
    pub fn revoke_token(&self, token: &str) {
        if let Some(t) = self.state().tokens.get_mut(token) {
            t.revoked = true;
        }
    }

    /// Answers 40001 to calls with any token issued so far.
    pub fn revoke_all_tokens(&self) {
        for t in self.state().tokens.values_mut() {
            t.revoked = true;
        }
    }

    /// Calls of `cgi-bin/token` and `cgi-bin/stable_token`.
    #[must_use]
    pub fn token_fetches(&self) -> usize {
        self.calls("/cgi-bin/token") + self.calls("/cgi-bin/stable_token")
    }

    // ---- faults ---------------------------------------------------------------------------

    /// The next `times` calls of `path` answer `errcode` (with a WeChat-like `errmsg`), before
    /// anything else is checked. Calls several times queue up.
    pub fn fail_next(&self, path: &str, times: usize, errcode: i64) {
        self.state()
            .failures
            .entry(path.to_owned())
            .or_default()
            .extend(std::iter::repeat_n(errcode, times));
    }

    /// Delays every answer by `latency`.
    pub fn set_latency(&self, latency: Duration) {
        self.state().latency = latency;
    }

    /// Delays the answers of `path` by `latency` (instead of the global latency).
    pub fn set_endpoint_latency(&self, path: &str, latency: Duration) {
        self.state()
            .endpoint_latency
            .insert(path.to_owned(), latency);
    }

    // ---- observation ----------------------------------------------------------------------

    /// How many requests reached `path` (answered or not yet).
    #[must_use]
    pub fn calls(&self, path: &str) -> usize {
        self.state().calls.get(path).copied().unwrap_or(0)
    }

    /// The requests to `path`, oldest first.
    #[must_use]
    pub fn requests(&self, path: &str) -> Vec<RecordedRequest> {
        self.state()
            .requests
            .iter()
            .filter(|r| r.path == path)
            .cloned()
            .collect()
    }

    /// The latest request to `path`.
    #[must_use]
    pub fn last_request(&self, path: &str) -> Option<RecordedRequest> {
        self.state()
            .requests
            .iter()
            .rev()
            .find(|r| r.path == path)
            .cloned()
    }

    // ---- data -----------------------------------------------------------------------------

    /// Adds a follower.
    pub fn add_user(&self, openid: &str) {
        self.state().users.push(openid.to_owned());
    }

    /// The menu as created (`menu/create`'s body), if any.
    #[must_use]
    pub fn menu(&self) -> Option<Value> {
        self.state().menu.clone()
    }

    /// A web authorization `code` for `openid` (scope `snsapi_userinfo`), valid once.
    #[must_use]
    pub fn issue_oauth_code(&self, openid: &str) -> String {
        self.state().issue_oauth_code(openid)
    }

    /// The user the authorize page "logs in" (default `oMockUser`).
    pub fn set_authorize_user(&self, openid: &str) {
        openid.clone_into(&mut self.state().authorize_user);
    }

    /// A `wx.login()` code for `openid`, valid once with `jscode2session`.
    #[must_use]
    pub fn issue_js_code(&self, openid: &str) -> String {
        let mut state = self.state();
        let code = format!("mock-js-code-{}", state.next());
        state.js_codes.insert(code.clone(), openid.to_owned());
        code
    }

    /// A `getPhoneNumber` code for `phone` (a mainland number, country code 86).
    #[must_use]
    pub fn issue_phone_code(&self, phone: &str) -> String {
        let mut state = self.state();
        let code = format!("mock-phone-code-{}", state.next());
        state.phone_codes.insert(code.clone(), phone.to_owned());
        code
    }

    // ---- Mini Program sessions and open data ------------------------------------------------

    /// A `wx.login()` code for `openid` whose `jscode2session` answers this `session_key`
    /// (base64 of 16 bytes), instead of a random one.
    #[must_use]
    pub fn issue_js_code_with_session_key(&self, openid: &str, session_key: &str) -> String {
        let code = self.issue_js_code(openid);
        self.state()
            .js_session_keys
            .insert(code.clone(), session_key.to_owned());
        code
    }

    /// The latest `session_key` that `jscode2session` gave out for `openid`.
    #[must_use]
    pub fn session_key(&self, openid: &str) -> Option<String> {
        self.state().session_keys.get(openid).cloned()
    }

    /// What WeChat gives the Mini Program for `wx.getUserInfo` and the like: `data` (a JSON
    /// object) with a `watermark` of this app and the current time added, encrypted with the
    /// latest session key of `openid` under a random IV. `None` before `openid` logged in.
    #[must_use]
    pub fn encrypt_user_data(&self, openid: &str, data: Value) -> Option<EncryptedData> {
        let session_key = self.session_key(openid)?;
        encrypt_open_data(&session_key, self.app_id(), unix_now(), data).ok()
    }
}

/// Encrypted open data (开放数据) as the Mini Program receives it and sends it to its server.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct EncryptedData {
    /// `encryptedData`: base64 of the AES-128-CBC ciphertext.
    pub encrypted_data: String,
    /// `iv`: base64 of the 16-byte IV.
    pub iv: String,
}

/// Encrypts open data as WeChat does: `data` (a JSON object; anything else is wrapped as
/// `{"data": …}`) with `watermark: {timestamp, appid}` set, AES-128-CBC with the user's
/// `session_key` and a random IV. With another app id, key or timestamp, it builds the forged
/// or stale data a server must refuse.
///
/// # Errors
///
/// [`ErrorKind::InvalidSessionKey`](wechat_core::ErrorKind::InvalidSessionKey) when
/// `session_key` is not base64 of 16 bytes.
pub fn encrypt_open_data(
    session_key: &str,
    appid: &str,
    timestamp: u64,
    data: Value,
) -> wechat_core::Result<EncryptedData> {
    use base64::Engine as _;

    let key = wechat_core::miniprogram::SessionAesKey::parse(session_key)?;
    let mut object = match data {
        Value::Object(object) => object,
        other => serde_json::Map::from_iter([("data".to_owned(), other)]),
    };
    object.insert(
        "watermark".to_owned(),
        json!({ "timestamp": timestamp, "appid": appid }),
    );
    let mut iv = [0u8; 16];
    // The IV need not be secret; a fixed one only if the OS cannot provide randomness.
    let _ = getrandom::fill(&mut iv);
    let iv = base64::engine::general_purpose::STANDARD.encode(iv);
    let encrypted_data = key.encrypt(&iv, Value::Object(object).to_string().as_bytes())?;
    Ok(EncryptedData { encrypted_data, iv })
}

// ------------------------------------------------------------------------------------------
// Server
// ------------------------------------------------------------------------------------------

struct Shared {
    app_id: String,
    app_secret: String,
    state: Mutex<State>,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while answering cannot leave the state half-written in a way that matters
        // to a test double.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

async fn handle(shared: &Shared, req: Request<Incoming>) -> Response<Full<Bytes>> {
    let (parts, body) = req.into_parts();
    let Ok(body) = Limited::new(body, MAX_BODY).collect().await else {
        return respond(
            StatusCode::PAYLOAD_TOO_LARGE,
            Answer::error(-1, "body too large"),
        );
    };
    let request = RecordedRequest {
        method: parts.method,
        path: parts.uri.path().to_owned(),
        query: form_urlencoded::parse(parts.uri.query().unwrap_or("").as_bytes())
            .into_owned()
            .collect(),
        headers: parts.headers,
        body: body.to_bytes(),
    };
    let latency = {
        let mut state = shared.lock();
        *state.calls.entry(request.path.clone()).or_default() += 1;
        state.requests.push(request.clone());
        state
            .endpoint_latency
            .get(&request.path)
            .copied()
            .unwrap_or(state.latency)
    };
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    let answer = shared.lock().answer(shared, &request);
    respond(StatusCode::OK, answer)
}

enum Answer {
    Json(Value),
    NotFound(Value),
    Redirect(String),
    File {
        content_type: String,
        filename: String,
        data: Bytes,
    },
}

impl Answer {
    fn error(errcode: i64, errmsg: &str) -> Self {
        Self::Json(json!({ "errcode": errcode, "errmsg": format!("{errmsg} rid: mock") }))
    }

    fn ok() -> Self {
        Self::Json(json!({ "errcode": 0, "errmsg": "ok" }))
    }
}

fn respond(status: StatusCode, answer: Answer) -> Response<Full<Bytes>> {
    let (status, content_type, extra, body) = match answer {
        Answer::Json(value) => (
            status,
            "application/json; encoding=utf-8".to_owned(),
            None,
            Bytes::from(value.to_string()),
        ),
        Answer::NotFound(value) => (
            StatusCode::NOT_FOUND,
            "application/json; encoding=utf-8".to_owned(),
            None,
            Bytes::from(value.to_string()),
        ),
        Answer::Redirect(location) => (
            StatusCode::FOUND,
            "text/plain".to_owned(),
            Some((header::LOCATION, location)),
            Bytes::new(),
        ),
        Answer::File {
            content_type,
            filename,
            data,
        } => (
            status,
            content_type,
            Some((
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{filename}\""),
            )),
            data,
        ),
    };
    let mut res = Response::new(Full::new(body));
    *res.status_mut() = status;
    if let Ok(value) = HeaderValue::from_str(&content_type) {
        res.headers_mut().insert(header::CONTENT_TYPE, value);
    }
    if let Some((name, value)) = extra
        && let Ok(value) = HeaderValue::from_str(&value)
    {
        res.headers_mut().insert(name, value);
    }
    res
}

// ------------------------------------------------------------------------------------------
// State and endpoints
// ------------------------------------------------------------------------------------------

#[derive(Default)]
struct State {
    counter: u64,
    token_expires_in: u64,
    token_overlap: Duration,
    latency: Duration,
    endpoint_latency: HashMap<String, Duration>,
    failures: HashMap<String, VecDeque<i64>>,
    calls: HashMap<String, usize>,
    requests: Vec<RecordedRequest>,
    tokens: HashMap<String, Issued>,
    current: Option<String>,
    issued: Vec<String>,
    tickets: HashMap<String, Issued>,
    users: Vec<String>,
    user_page_size: usize,
    menu: Option<Value>,
    authorize_user: String,
    oauth_codes: HashMap<String, String>,
    oauth_tokens: HashMap<String, (String, Instant)>,
    refresh_tokens: HashMap<String, String>,
    js_codes: HashMap<String, String>,
    /// The session key chosen for a js code (`issue_js_code_with_session_key`).
    js_session_keys: HashMap<String, String>,
    /// The latest session key given out per openid.
    session_keys: HashMap<String, String>,
    used_codes: Vec<String>,
    phone_codes: HashMap<String, String>,
    media: HashMap<String, Media>,
}

struct Issued {
    valid_until: Instant,
    revoked: bool,
}

struct Media {
    kind: String,
    content_type: String,
    filename: String,
    data: Bytes,
}

/// The checks of an endpoint, in order; each returns the answer that ends the call early.
type Outcome = Result<Answer, Answer>;

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn errmsg_of(errcode: i64) -> &'static str {
    match errcode {
        -1 => "system error",
        40001 => "invalid credential, access_token is invalid or not latest",
        40002 => "invalid grant_type",
        40003 => "invalid openid",
        40004 => "invalid media type",
        40007 => "invalid media_id",
        40008 => "invalid message type",
        40013 => "invalid appid",
        40014 => "invalid access_token",
        40016 => "invalid button size",
        40017 => "invalid button type",
        40018 => "invalid button name size",
        40019 => "invalid button key size",
        40023 => "invalid sub button size",
        40029 => "invalid code",
        40030 => "invalid refresh_token",
        40055 => "invalid button url domain",
        40097 => "invalid args",
        40125 => "invalid appsecret",
        40163 => "code been used",
        40226 => "high risk user",
        41001 => "access_token missing",
        41005 => "media data missing",
        42001 => "access_token expired",
        43001 => "require GET method",
        43002 => "require POST method",
        45009 => "reach max api daily quota limit",
        45011 => "api minute-quota reach limit  mustslower  retry next minute",
        46003 => "menu no exist",
        47001 => "data format error",
        48001 => "api unauthorized",
        _ => "mock injected error",
    }
}

fn fail(errcode: i64) -> Answer {
    Answer::error(errcode, errmsg_of(errcode))
}

fn json_body(req: &RecordedRequest) -> Result<serde_json::Map<String, Value>, Answer> {
    match req.json() {
        Some(Value::Object(map)) => Ok(map),
        _ => Err(fail(47001)),
    }
}

fn non_empty_str<'a>(
    map: &'a serde_json::Map<String, Value>,
    key: &str,
) -> Result<&'a str, Answer> {
    match map.get(key).and_then(Value::as_str) {
        Some(s) if !s.is_empty() => Ok(s),
        _ => Err(fail(47001)),
    }
}

impl State {
    fn next(&mut self) -> u64 {
        self.counter += 1;
        self.counter
    }

    fn answer(&mut self, shared: &Shared, req: &RecordedRequest) -> Answer {
        let path = req.path.as_str();
        if let Some(errcode) = self.failures.get_mut(path).and_then(VecDeque::pop_front) {
            return fail(errcode);
        }
        let Some(&(_, method, authed)) = ENDPOINTS.iter().find(|(p, _, _)| *p == path) else {
            return Answer::NotFound(json!({
                "errcode": 404,
                "errmsg": format!("mock: no such endpoint {path}"),
            }));
        };
        if req.method.as_str() != method {
            return fail(if method == "GET" { 43001 } else { 43002 });
        }
        if authed && let Err(answer) = self.check_token(req) {
            return answer;
        }
        let outcome = match path {
            "/cgi-bin/token" => self.token(shared, req),
            "/cgi-bin/stable_token" => self.stable_token(shared, req),
            "/cgi-bin/ticket/getticket" => self.ticket(req),
            "/connect/oauth2/authorize" => self.authorize(shared, req),
            "/sns/oauth2/access_token" => self.oauth_token(shared, req),
            "/sns/oauth2/refresh_token" => self.oauth_refresh(shared, req),
            "/sns/userinfo" => self.oauth_userinfo(req),
            "/sns/auth" => self.oauth_check(req),
            "/cgi-bin/menu/create" => self.menu_create(req),
            "/cgi-bin/menu/get" => self.menu_get(),
            "/cgi-bin/menu/delete" => {
                self.menu = None;
                Ok(Answer::ok())
            }
            "/cgi-bin/message/custom/send" => self.custom_send(req),
            "/cgi-bin/message/template/send" => self.template_send(req),
            "/cgi-bin/message/subscribe/bizsend" | "/cgi-bin/message/subscribe/send" => {
                self.subscribe_send(req)
            }
            "/cgi-bin/user/info" => self.user_info(req),
            "/cgi-bin/user/get" => self.user_get(req),
            "/cgi-bin/qrcode/create" => self.qrcode_create(req),
            "/cgi-bin/media/upload" => self.media_upload(req),
            "/cgi-bin/media/get" => self.media_get(req),
            "/sns/jscode2session" => self.jscode2session(shared, req),
            "/wxa/business/getuserphonenumber" => self.phone_number(shared, req),
            _ => Err(fail(-1)),
        };
        outcome.unwrap_or_else(|answer| answer)
    }

    fn check_token(&self, req: &RecordedRequest) -> Result<(), Answer> {
        let token = req.query("access_token").unwrap_or_default();
        if token.is_empty() {
            return Err(fail(41001));
        }
        match self.tokens.get(token) {
            None => Err(fail(40001)),
            Some(issued) if issued.revoked => Err(fail(40001)),
            Some(issued) if Instant::now() >= issued.valid_until => {
                // A token past its lifetime is "expired"; one retired early by a newer token
                // is "not latest".
                if self.current.as_deref() == Some(token) {
                    Err(fail(42001))
                } else {
                    Err(fail(40001))
                }
            }
            Some(_) => Ok(()),
        }
    }

    fn check_app(
        &self,
        shared: &Shared,
        appid: Option<&str>,
        secret: Option<&str>,
    ) -> Result<(), Answer> {
        if appid != Some(shared.app_id.as_str()) {
            return Err(fail(40013));
        }
        if secret != Some(shared.app_secret.as_str()) {
            return Err(fail(40125));
        }
        Ok(())
    }

    fn issue_token(&mut self) -> Answer {
        let now = Instant::now();
        if let Some(old) = self.current.take().and_then(|t| self.tokens.get_mut(&t)) {
            old.valid_until = old.valid_until.min(now + self.token_overlap);
        }
        let token = format!("mock-access-token-{}", self.next());
        self.tokens.insert(
            token.clone(),
            Issued {
                valid_until: now + Duration::from_secs(self.token_expires_in),
                revoked: false,
            },
        );
        self.current = Some(token.clone());
        self.issued.push(token.clone());
        Answer::Json(json!({ "access_token": token, "expires_in": self.token_expires_in }))
    }

    fn token(&mut self, shared: &Shared, req: &RecordedRequest) -> Outcome {
        if req.query("grant_type") != Some("client_credential") {
            return Err(fail(40002));
        }
        self.check_app(shared, req.query("appid"), req.query("secret"))?;
        Ok(self.issue_token())
    }

    fn stable_token(&mut self, shared: &Shared, req: &RecordedRequest) -> Outcome {
        let body = json_body(req)?;
        if body.get("grant_type").and_then(Value::as_str) != Some("client_credential") {
            return Err(fail(40002));
        }
        self.check_app(
            shared,
            body.get("appid").and_then(Value::as_str),
            body.get("secret").and_then(Value::as_str),
        )?;
        let force = body
            .get("force_refresh")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        // Normal mode returns the token still valid, with what is left of its lifetime.
        if !force {
            let now = Instant::now();
            let live = self.current.as_ref().and_then(|t| {
                let issued = self.tokens.get(t)?;
                (!issued.revoked && now < issued.valid_until)
                    .then(|| (t.clone(), (issued.valid_until - now).as_secs().max(1)))
            });
            if let Some((token, left)) = live {
                return Ok(Answer::Json(
                    json!({ "access_token": token, "expires_in": left }),
                ));
            }
        }
        Ok(self.issue_token())
    }

    fn ticket(&mut self, req: &RecordedRequest) -> Outcome {
        if req.query("type") != Some("jsapi") {
            return Err(fail(40097));
        }
        let ticket = format!("mock-jsapi-ticket-{}", self.next());
        self.tickets.insert(
            ticket.clone(),
            Issued {
                valid_until: Instant::now() + Duration::from_secs(self.token_expires_in),
                revoked: false,
            },
        );
        Ok(Answer::Json(json!({
            "errcode": 0, "errmsg": "ok", "ticket": ticket, "expires_in": self.token_expires_in,
        })))
    }

    fn issue_oauth_code(&mut self, openid: &str) -> String {
        let code = format!("mock-oauth-code-{}", self.next());
        self.oauth_codes.insert(code.clone(), openid.to_owned());
        code
    }

    fn authorize(&mut self, shared: &Shared, req: &RecordedRequest) -> Outcome {
        let (Some(redirect), Some(scope)) = (req.query("redirect_uri"), req.query("scope")) else {
            return Err(fail(47001));
        };
        if req.query("appid") != Some(shared.app_id.as_str()) {
            return Err(fail(40013));
        }
        if req.query("response_type") != Some("code")
            || !matches!(scope, "snsapi_base" | "snsapi_userinfo")
        {
            return Err(fail(47001));
        }
        let user = self.authorize_user.clone();
        let code = self.issue_oauth_code(&user);
        let state = req.query("state").unwrap_or_default();
        let separator = if redirect.contains('?') { '&' } else { '?' };
        let query = form_urlencoded::Serializer::new(String::new())
            .append_pair("code", &code)
            .append_pair("state", state)
            .finish();
        Ok(Answer::Redirect(format!("{redirect}{separator}{query}")))
    }

    fn oauth_answer(&mut self, openid: &str) -> Answer {
        let n = self.next();
        let token = format!("mock-oauth-token-{n}");
        let refresh = format!("mock-refresh-token-{n}");
        self.oauth_tokens.insert(
            token.clone(),
            (
                openid.to_owned(),
                Instant::now() + Duration::from_secs(7200),
            ),
        );
        self.refresh_tokens
            .insert(refresh.clone(), openid.to_owned());
        Answer::Json(json!({
            "access_token": token,
            "expires_in": 7200,
            "refresh_token": refresh,
            "openid": openid,
            "scope": "snsapi_userinfo",
            "is_snapshotuser": 0,
            "unionid": format!("mock-union-{openid}"),
        }))
    }

    fn oauth_token(&mut self, shared: &Shared, req: &RecordedRequest) -> Outcome {
        self.check_app(shared, req.query("appid"), req.query("secret"))?;
        if req.query("grant_type") != Some("authorization_code") {
            return Err(fail(40002));
        }
        let code = req.query("code").unwrap_or_default();
        let openid = self.take_code(code, |s| s.oauth_codes.remove(code))?;
        Ok(self.oauth_answer(&openid))
    }

    /// Consumes a one-time code: 40163 when already used, 40029 when unknown.
    fn take_code(
        &mut self,
        code: &str,
        take: impl FnOnce(&mut Self) -> Option<String>,
    ) -> Result<String, Answer> {
        if self.used_codes.iter().any(|c| c == code) {
            return Err(fail(40163));
        }
        let openid = take(self).ok_or_else(|| fail(40029))?;
        self.used_codes.push(code.to_owned());
        Ok(openid)
    }

    fn oauth_refresh(&mut self, shared: &Shared, req: &RecordedRequest) -> Outcome {
        if req.query("appid") != Some(shared.app_id.as_str()) {
            return Err(fail(40013));
        }
        if req.query("grant_type") != Some("refresh_token") {
            return Err(fail(40002));
        }
        let refresh = req.query("refresh_token").unwrap_or_default();
        let openid = self
            .refresh_tokens
            .get(refresh)
            .cloned()
            .ok_or_else(|| fail(40030))?;
        Ok(self.oauth_answer(&openid))
    }

    fn oauth_user(&self, req: &RecordedRequest) -> Result<String, Answer> {
        let token = req.query("access_token").unwrap_or_default();
        if token.is_empty() {
            return Err(fail(41001));
        }
        let (openid, valid_until) = self.oauth_tokens.get(token).ok_or_else(|| fail(40001))?;
        if Instant::now() >= *valid_until {
            return Err(fail(42001));
        }
        if req.query("openid") != Some(openid.as_str()) {
            return Err(fail(40003));
        }
        Ok(openid.clone())
    }

    fn oauth_userinfo(&self, req: &RecordedRequest) -> Outcome {
        let openid = self.oauth_user(req)?;
        Ok(Answer::Json(json!({
            "openid": openid,
            "nickname": format!("Mock {openid}"),
            "sex": 0,
            "province": "",
            "city": "",
            "country": "",
            "headimgurl": "",
            "privilege": [],
            "unionid": format!("mock-union-{openid}"),
        })))
    }

    fn oauth_check(&self, req: &RecordedRequest) -> Outcome {
        self.oauth_user(req)?;
        Ok(Answer::ok())
    }

    fn menu_create(&mut self, req: &RecordedRequest) -> Outcome {
        let body = json_body(req)?;
        let buttons = body
            .get("button")
            .and_then(Value::as_array)
            .ok_or_else(|| fail(47001))?;
        if buttons.is_empty() || buttons.len() > 3 {
            return Err(fail(40016));
        }
        for button in buttons {
            check_button(button, true)?;
        }
        let mut menu = Value::Object(body);
        menu["menuid"] = json!(self.next());
        self.menu = Some(menu);
        Ok(Answer::ok())
    }

    fn menu_get(&self) -> Outcome {
        let menu = self.menu.clone().ok_or_else(|| fail(46003))?;
        // WeChat writes an empty `sub_button` on every leaf button.
        let mut menu = menu;
        if let Some(buttons) = menu.get_mut("button").and_then(Value::as_array_mut) {
            for button in buttons {
                if button.get("type").is_some() {
                    button["sub_button"] = json!([]);
                } else if let Some(sub) = button.get_mut("sub_button").and_then(Value::as_array_mut)
                {
                    for leaf in sub {
                        leaf["sub_button"] = json!([]);
                    }
                }
            }
        }
        Ok(Answer::Json(json!({ "menu": menu })))
    }

    fn check_user(&self, openid: &str) -> Result<(), Answer> {
        if self.users.iter().any(|u| u == openid) {
            Ok(())
        } else {
            Err(fail(40003))
        }
    }

    fn custom_send(&mut self, req: &RecordedRequest) -> Outcome {
        let body = json_body(req)?;
        self.check_user(non_empty_str(&body, "touser")?)?;
        let msgtype = non_empty_str(&body, "msgtype")?;
        let content = body
            .get(msgtype)
            .and_then(Value::as_object)
            .ok_or_else(|| fail(47001))?;
        let required: &[&str] = match msgtype {
            "text" => &["content"],
            "image" | "voice" | "mpnews" => &["media_id"],
            "video" => &["media_id", "thumb_media_id"],
            "news" => {
                let articles = content
                    .get("articles")
                    .and_then(Value::as_array)
                    .ok_or_else(|| fail(47001))?;
                if articles.len() != 1 {
                    return Err(fail(47001));
                }
                for article in articles {
                    let article = article.as_object().ok_or_else(|| fail(47001))?;
                    non_empty_str(article, "title")?;
                    non_empty_str(article, "url")?;
                }
                &[]
            }
            "miniprogrampage" => &["title", "appid", "pagepath", "thumb_media_id"],
            "music" | "msgmenu" | "wxcard" | "mpnewsarticle" => &[],
            _ => return Err(fail(40008)),
        };
        for field in required {
            non_empty_str(content, field)?;
        }
        Ok(Answer::ok())
    }

    fn check_data(body: &serde_json::Map<String, Value>) -> Result<(), Answer> {
        let data = body
            .get("data")
            .and_then(Value::as_object)
            .ok_or_else(|| fail(47001))?;
        for value in data.values() {
            if value.get("value").and_then(Value::as_str).is_none() {
                return Err(fail(47001));
            }
        }
        Ok(())
    }

    fn template_send(&mut self, req: &RecordedRequest) -> Outcome {
        let body = json_body(req)?;
        self.check_user(non_empty_str(&body, "touser")?)?;
        non_empty_str(&body, "template_id")?;
        Self::check_data(&body)?;
        let msgid = self.next();
        Ok(Answer::Json(
            json!({ "errcode": 0, "errmsg": "ok", "msgid": msgid }),
        ))
    }

    fn subscribe_send(&mut self, req: &RecordedRequest) -> Outcome {
        let body = json_body(req)?;
        self.check_user(non_empty_str(&body, "touser")?)?;
        non_empty_str(&body, "template_id")?;
        Self::check_data(&body)?;
        if let Some(state) = body.get("miniprogram_state")
            && !matches!(state.as_str(), Some("developer" | "trial" | "formal"))
        {
            return Err(fail(47001));
        }
        Ok(Answer::ok())
    }

    fn user_info(&self, req: &RecordedRequest) -> Outcome {
        let openid = req.query("openid").unwrap_or_default();
        self.check_user(openid)?;
        Ok(Answer::Json(json!({
            "subscribe": 1,
            "openid": openid,
            "language": req.query("lang").unwrap_or("zh_CN"),
            "subscribe_time": 1_700_000_000,
            "unionid": format!("mock-union-{openid}"),
            "remark": "",
            "groupid": 0,
            "tagid_list": [],
            "subscribe_scene": "ADD_SCENE_QR_CODE",
            "qr_scene": 0,
            "qr_scene_str": "",
        })))
    }

    fn user_get(&self, req: &RecordedRequest) -> Outcome {
        let start = match req.query("next_openid").filter(|s| !s.is_empty()) {
            None => 0,
            Some(next) => {
                self.users
                    .iter()
                    .position(|u| u == next)
                    .ok_or_else(|| fail(40003))?
                    + 1
            }
        };
        let page: Vec<&String> = self
            .users
            .iter()
            .skip(start)
            .take(self.user_page_size)
            .collect();
        let mut answer = json!({
            "total": self.users.len(),
            "count": page.len(),
            "next_openid": page.last().map_or("", |s| s.as_str()),
        });
        if !page.is_empty() {
            answer["data"] = json!({ "openid": page });
        }
        Ok(Answer::Json(answer))
    }

    fn qrcode_create(&mut self, req: &RecordedRequest) -> Outcome {
        let body = json_body(req)?;
        let action = non_empty_str(&body, "action_name")?;
        let scene = body
            .get("action_info")
            .and_then(|i| i.get("scene"))
            .ok_or_else(|| fail(47001))?;
        let temporary = match action {
            "QR_SCENE" | "QR_LIMIT_SCENE" => {
                if scene
                    .get("scene_id")
                    .and_then(Value::as_u64)
                    .is_none_or(|id| id == 0)
                {
                    return Err(fail(47001));
                }
                action == "QR_SCENE"
            }
            "QR_STR_SCENE" | "QR_LIMIT_STR_SCENE" => {
                match scene.get("scene_str").and_then(Value::as_str) {
                    Some(s) if !s.is_empty() && s.chars().count() <= 64 => {}
                    _ => return Err(fail(47001)),
                }
                action == "QR_STR_SCENE"
            }
            _ => return Err(fail(40097)),
        };
        let n = self.next();
        let mut answer = json!({
            "ticket": format!("gQmock+ticket/{n}=="),
            "url": format!("http://weixin.qq.com/q/mock{n}"),
        });
        if temporary {
            let expire = body
                .get("expire_seconds")
                .and_then(Value::as_u64)
                .unwrap_or(60)
                .min(2_592_000);
            answer["expire_seconds"] = json!(expire);
        }
        Ok(Answer::Json(answer))
    }

    fn media_upload(&mut self, req: &RecordedRequest) -> Outcome {
        let kind = req.query("type").unwrap_or_default().to_owned();
        if !matches!(kind.as_str(), "image" | "voice" | "video" | "thumb") {
            return Err(fail(40004));
        }
        let part = multipart_file(req, "media").ok_or_else(|| fail(41005))?;
        let media_id = format!("mock-media-{}", self.next());
        self.media.insert(
            media_id.clone(),
            Media {
                kind: kind.clone(),
                content_type: part.content_type,
                filename: part.filename,
                data: part.data,
            },
        );
        let id_field = if kind == "thumb" {
            "thumb_media_id"
        } else {
            "media_id"
        };
        Ok(Answer::Json(json!({
            "type": kind,
            id_field: media_id,
            "created_at": unix_now(),
        })))
    }

    fn media_get(&self, req: &RecordedRequest) -> Outcome {
        let media_id = req.query("media_id").unwrap_or_default();
        let media = self.media.get(media_id).ok_or_else(|| fail(40007))?;
        if media.kind == "video" {
            return Ok(Answer::Json(json!({
                "video_url": format!("http://mock.weixin.qq.com/video/{media_id}"),
            })));
        }
        Ok(Answer::File {
            content_type: media.content_type.clone(),
            filename: media.filename.clone(),
            data: media.data.clone(),
        })
    }

    fn jscode2session(&mut self, shared: &Shared, req: &RecordedRequest) -> Outcome {
        self.check_app(shared, req.query("appid"), req.query("secret"))?;
        if req.query("grant_type") != Some("authorization_code") {
            return Err(fail(40002));
        }
        let code = req.query("js_code").unwrap_or_default();
        let openid = self.take_code(code, |s| s.js_codes.remove(code))?;
        let session_key = self.js_session_keys.remove(code).unwrap_or_else(|| {
            // 21 digits and `A`: valid base64 of 16 bytes, like a real session_key.
            let digits = format!(
                "{}{}{}",
                wechat_core::crypt::nonce(),
                wechat_core::crypt::nonce(),
                wechat_core::crypt::nonce()
            );
            format!("{}A==", &digits[..21])
        });
        self.session_keys
            .insert(openid.clone(), session_key.clone());
        Ok(Answer::Json(json!({
            "openid": openid,
            "session_key": session_key,
            "unionid": format!("mock-union-{openid}"),
        })))
    }

    fn phone_number(&mut self, shared: &Shared, req: &RecordedRequest) -> Outcome {
        let body = json_body(req)?;
        let code = non_empty_str(&body, "code")?;
        let phone = self.phone_codes.remove(code).ok_or_else(|| fail(40029))?;
        Ok(Answer::Json(json!({
            "errcode": 0,
            "errmsg": "ok",
            "phone_info": {
                "phoneNumber": phone,
                "purePhoneNumber": phone,
                "countryCode": "86",
                "watermark": { "timestamp": unix_now(), "appid": shared.app_id },
            },
        })))
    }
}

/// Checks one button of `menu/create` as WeChat does (roughly: types, required fields,
/// sub-menu sizes).
fn check_button(button: &Value, top: bool) -> Result<(), Answer> {
    let button = button.as_object().ok_or_else(|| fail(47001))?;
    match button.get("name").and_then(Value::as_str) {
        Some(name) if !name.is_empty() => {}
        _ => return Err(fail(40018)),
    }
    let Some(kind) = button.get("type").and_then(Value::as_str) else {
        let sub = button
            .get("sub_button")
            .and_then(Value::as_array)
            .ok_or_else(|| fail(40017))?;
        if !top || sub.is_empty() || sub.len() > 5 {
            return Err(fail(40023));
        }
        return sub.iter().try_for_each(|b| check_button(b, false));
    };
    let required: &[(&str, i64)] = match kind {
        "click" | "scancode_push" | "scancode_waitmsg" | "pic_sysphoto" | "pic_photo_or_album"
        | "pic_weixin" | "location_select" => &[("key", 40019)],
        "view" => &[("url", 40055)],
        "media_id" | "view_limited" => &[("media_id", 40007)],
        "article_id" | "article_view_limited" => &[("article_id", 47001)],
        "miniprogram" => &[("url", 40055), ("appid", 47001), ("pagepath", 47001)],
        _ => return Err(fail(40017)),
    };
    for (field, errcode) in required {
        match button.get(*field).and_then(Value::as_str) {
            Some(v) if !v.is_empty() => {}
            _ => return Err(fail(*errcode)),
        }
    }
    Ok(())
}

struct FilePart {
    filename: String,
    content_type: String,
    data: Bytes,
}

/// The file part `name` of a `multipart/form-data` body.
fn multipart_file(req: &RecordedRequest, name: &str) -> Option<FilePart> {
    let content_type = req.headers.get(header::CONTENT_TYPE)?.to_str().ok()?;
    let boundary = content_type
        .strip_prefix("multipart/form-data")?
        .split(';')
        .find_map(|p| p.trim().strip_prefix("boundary="))?
        .trim_matches('"');
    let delimiter = format!("--{boundary}");
    let body = &req.body[..];
    let mut rest = &body[memchr::memmem::find(body, delimiter.as_bytes())? + delimiter.len()..];
    loop {
        if rest.starts_with(b"--") {
            return None;
        }
        rest = rest.strip_prefix(b"\r\n")?;
        let end = memchr::memmem::find(rest, format!("\r\n{delimiter}").as_bytes())?;
        let part = &rest[..end];
        rest = &rest[end + 2 + delimiter.len()..];
        let split = memchr::memmem::find(part, b"\r\n\r\n")?;
        let head = std::str::from_utf8(&part[..split]).ok()?;
        let data = &part[split + 4..];
        let mut params: BTreeMap<String, String> = BTreeMap::new();
        let mut part_type = "application/octet-stream".to_owned();
        for line in head.split("\r\n") {
            let (key, value) = line.split_once(':')?;
            if key.eq_ignore_ascii_case("content-disposition") {
                for param in value.split(';').skip(1) {
                    if let Some((k, v)) = param.trim().split_once('=') {
                        params.insert(k.to_owned(), v.trim_matches('"').to_owned());
                    }
                }
            } else if key.eq_ignore_ascii_case("content-type") {
                value.trim().clone_into(&mut part_type);
            }
        }
        if params.get("name").map(String::as_str) == Some(name) {
            return Some(FilePart {
                filename: params.remove("filename")?,
                content_type: part_type,
                data: Bytes::copy_from_slice(data),
            });
        }
    }
}
