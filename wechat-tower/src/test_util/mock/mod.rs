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
//! Endpoints: see [`ENDPOINTS`], one table that also routes the mock's answers; each API family
//! answers in a file of its own, as in `client/api/`. The mock also plays the web authorization
//! page: a browser sent to `{base_url}/connect/oauth2/authorize?…` is redirected straight back to
//! `redirect_uri` with a fresh `code` for [`MockWechat::set_authorize_user`]'s openid, as if the
//! user had agreed (set the client's `open_base` to the mock's URL too).
//!
//! To run it as a process (for the examples): `cargo run -p mock-wechat`.

mod draft;
mod kf;
mod links;
mod mass;
mod material;
mod media;
mod menu;
mod message;
mod miniprogram;
mod oauth;
mod ops;
mod publish;
mod qrcode;
mod security;
mod server;
mod subscribe;
mod tag;
mod token;
mod user;
mod wxacode;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, Method};
use serde_json::Value;

pub use self::links::DEFAULT_PAGES;
pub use self::miniprogram::{EncryptedData, encrypt_open_data};
use self::server::{Route, Shared, State, unix_now};
use super::loopback::Server;

/// The followers a mock has unless [`MockWechatBuilder::users`] says otherwise. The first is the
/// sender `wechat-sim` uses by default, so a bot that looks up its sender (`user/info`) against
/// the mock works out of the box.
pub const DEFAULT_USERS: [&str; 3] = ["oUser1", "oUser2", "oUser3"];

/// The one table of endpoints: the public [`ENDPOINTS`] and the mock's routing come from it, so
/// an endpoint is served exactly when it is listed.
macro_rules! endpoints {
    ($($path:literal $method:ident $authed:literal => $answer:expr,)*) => {
        /// The endpoints the mock serves: path, method, and whether it takes the app's
        /// `access_token`.
        pub const ENDPOINTS: &[(&str, &str, bool)] = &[$(($path, stringify!($method), $authed),)*];

        /// [`ENDPOINTS`] with the answer of each.
        const ROUTES: &[Route] = &[$(Route {
            path: $path,
            method: stringify!($method),
            authed: $authed,
            answer: $answer,
        },)*];
    };
}

endpoints! {
    // path                               method  token  answer
    "/cgi-bin/token"                      GET     false  => |s, app, r| s.token(app, r),
    "/cgi-bin/stable_token"               POST    false  => |s, app, r| s.stable_token(app, r),
    "/cgi-bin/ticket/getticket"           GET     true   => |s, _, r| s.ticket(r),
    "/connect/oauth2/authorize"           GET     false  => |s, app, r| s.authorize(app, r),
    "/sns/oauth2/access_token"            GET     false  => |s, app, r| s.oauth_token(app, r),
    "/sns/oauth2/refresh_token"           GET     false  => |s, app, r| s.oauth_refresh(app, r),
    "/sns/userinfo"                       GET     false  => |s, _, r| s.oauth_userinfo(r),
    "/sns/auth"                           GET     false  => |s, _, r| s.oauth_check(r),
    "/cgi-bin/menu/create"                POST    true   => |s, _, r| s.menu_create(r),
    "/cgi-bin/menu/get"                   GET     true   => |s, _, _| s.menu_get(),
    "/cgi-bin/menu/delete"                GET     true   => |s, _, _| s.menu_delete(),
    "/cgi-bin/menu/addconditional"        POST    true   => |s, _, r| s.menu_addconditional(r),
    "/cgi-bin/menu/delconditional"        POST    true   => |s, _, r| s.menu_delconditional(r),
    "/cgi-bin/menu/trymatch"              POST    true   => |s, _, r| s.menu_trymatch(r),
    "/cgi-bin/get_current_selfmenu_info"  GET     true   => |s, _, _| s.menu_selfmenu_info(),
    "/cgi-bin/material/add_material"      POST    true   => |s, _, r| s.material_add(r),
    "/cgi-bin/media/uploadimg"            POST    true   => |s, _, r| s.material_uploadimg(r),
    "/cgi-bin/material/get_material"      POST    true   => |s, _, r| s.material_get(r),
    "/cgi-bin/material/del_material"      POST    true   => |s, _, r| s.material_delete(r),
    "/cgi-bin/material/get_materialcount" GET     true   => |s, _, _| s.material_count(),
    "/cgi-bin/material/batchget_material" POST    true   => |s, _, r| s.material_batchget(r),
    "/cgi-bin/draft/add"                  POST    true   => |s, _, r| s.draft_add(r),
    "/cgi-bin/draft/get"                  POST    true   => |s, _, r| s.draft_get(r),
    "/cgi-bin/draft/update"               POST    true   => |s, _, r| s.draft_update(r),
    "/cgi-bin/draft/batchget"             POST    true   => |s, _, r| s.draft_batchget(r),
    "/cgi-bin/draft/delete"               POST    true   => |s, _, r| s.draft_delete(r),
    "/cgi-bin/draft/count"                GET     true   => |s, _, _| s.draft_count(),
    "/cgi-bin/freepublish/submit"         POST    true   => |s, _, r| s.publish_submit(r),
    "/cgi-bin/freepublish/get"            POST    true   => |s, _, r| s.publish_get(r),
    "/cgi-bin/freepublish/batchget"       POST    true   => |s, _, r| s.publish_batchget(r),
    "/cgi-bin/freepublish/delete"         POST    true   => |s, _, r| s.publish_delete(r),
    "/cgi-bin/freepublish/getarticle"     POST    true   => |s, _, r| s.publish_getarticle(r),
    "/cgi-bin/message/custom/send"        POST    true   => |s, _, r| s.custom_send(r),
    "/cgi-bin/message/template/send"      POST    true   => |s, _, r| s.template_send(r),
    "/cgi-bin/message/subscribe/bizsend"  POST    true   => |s, _, r| s.subscribe_send(r),
    "/cgi-bin/message/subscribe/send"     POST    true   => |s, _, r| s.subscribe_send(r),
    "/cgi-bin/user/info"                  GET     true   => |s, _, r| s.user_info(r),
    "/cgi-bin/user/get"                   GET     true   => |s, _, r| s.user_get(r),
    // Followers, tags, blacklist, mass send, customer service, operator tools (issue 15).
    "/cgi-bin/user/info/batchget"         POST    true   => |s, _, r| s.user_batchget(r),
    "/cgi-bin/user/info/updateremark"     POST    true   => |s, _, r| s.user_update_remark(r),
    "/cgi-bin/tags/members/getblacklist"  POST    true   => |s, _, r| s.blacklist_get(r),
    "/cgi-bin/tags/members/batchblacklist" POST   true   => |s, _, r| s.blacklist_batch(r, true),
    "/cgi-bin/tags/members/batchunblacklist" POST true   => |s, _, r| s.blacklist_batch(r, false),
    "/cgi-bin/tags/create"                POST    true   => |s, _, r| s.tags_create(r),
    "/cgi-bin/tags/get"                   GET     true   => |s, _, _| s.tags_get(),
    "/cgi-bin/tags/update"                POST    true   => |s, _, r| s.tags_update(r),
    "/cgi-bin/tags/delete"                POST    true   => |s, _, r| s.tags_delete(r),
    "/cgi-bin/tags/members/batchtagging"  POST    true   => |s, _, r| s.tags_tagging(r, true),
    "/cgi-bin/tags/members/batchuntagging" POST   true   => |s, _, r| s.tags_tagging(r, false),
    "/cgi-bin/user/tag/get"               POST    true   => |s, _, r| s.tag_users(r),
    "/cgi-bin/tags/getidlist"             POST    true   => |s, _, r| s.tags_of_user(r),
    "/cgi-bin/message/mass/sendall"       POST    true   => |s, _, r| s.mass_sendall(r),
    "/cgi-bin/message/mass/send"          POST    true   => |s, _, r| s.mass_send(r),
    "/cgi-bin/message/mass/preview"       POST    true   => |s, _, r| s.mass_preview(r),
    "/cgi-bin/message/mass/delete"        POST    true   => |s, _, r| s.mass_delete(r),
    "/cgi-bin/message/mass/get"           POST    true   => |s, _, r| s.mass_get(r),
    "/cgi-bin/message/mass/speed/get"     POST    true   => |s, _, r| s.mass_speed_get(r),
    "/cgi-bin/message/mass/speed/set"     POST    true   => |s, _, r| s.mass_speed_set(r),
    "/customservice/kfaccount/add"        POST    true   => |s, _, r| s.kf_add(r),
    "/customservice/kfaccount/update"     POST    true   => |s, _, r| s.kf_update(r),
    "/customservice/kfaccount/del"        GET     true   => |s, _, r| s.kf_del(r),
    "/cgi-bin/customservice/getkflist"    GET     true   => |s, _, _| s.kf_list(),
    "/cgi-bin/customservice/getonlinekflist" GET  true   => |s, _, _| s.kf_online(),
    "/cgi-bin/message/custom/typing"      POST    true   => |s, _, r| s.kf_typing(r),
    "/cgi-bin/shorten/gen"                POST    true   => |s, _, r| s.shorten_gen(r),
    "/cgi-bin/shorten/fetch"              POST    true   => |s, _, r| s.shorten_fetch(r),
    "/cgi-bin/clear_quota"                POST    true   => |s, app, r| s.clear_quota(app, r),
    "/cgi-bin/clear_quota/v2"             POST    false  => |s, app, r| s.clear_quota_v2(app, r),
    "/cgi-bin/openapi/quota/get"          POST    true   => |s, _, r| s.quota_get(r),
    "/cgi-bin/openapi/rid/get"            POST    true   => |s, _, r| s.rid_get(r),
    "/cgi-bin/qrcode/create"              POST    true   => |s, _, r| s.qrcode_create(r),
    "/cgi-bin/media/upload"               POST    true   => |s, _, r| s.media_upload(r),
    "/cgi-bin/media/get"                  GET     true   => |s, _, r| s.media_get(r),
    "/sns/jscode2session"                 GET     false  => |s, app, r| s.jscode2session(app, r),
    "/wxa/business/getuserphonenumber"    POST    true   => |s, app, r| s.phone_number(app, r),
    "/wxa/getwxacode"                     POST    true   => |s, _, r| s.wxacode(r),
    "/wxa/getwxacodeunlimit"              POST    true   => |s, _, r| s.wxacode_unlimit(r),
    "/cgi-bin/wxaapp/createwxaqrcode"     POST    true   => |s, _, r| s.wxaqrcode(r),
    "/wxa/generatescheme"                 POST    true   => |s, app, r| s.generate_scheme(app, r),
    "/wxa/queryscheme"                    POST    true   => |s, _, r| s.query_scheme(r),
    "/wxa/generate_urllink"               POST    true   => |s, app, r| s.generate_urllink(app, r),
    "/wxa/query_urllink"                  POST    true   => |s, _, r| s.query_urllink(r),
    "/wxa/genwxashortlink"                POST    true   => |s, _, r| s.short_link(r),
    "/wxa/msg_sec_check"                  POST    true   => |s, _, r| s.msg_sec_check(r),
    "/wxa/media_check_async"              POST    true   => |s, _, r| s.media_check_async(r),
    "/wxaapi/newtmpl/gettemplate"         GET     true   => |s, _, _| s.templates_list(),
    "/wxaapi/newtmpl/addtemplate"         POST    true   => |s, _, r| s.template_add(r),
    "/wxaapi/newtmpl/deltemplate"         POST    true   => |s, _, r| s.template_delete(r),
    "/wxaapi/newtmpl/getcategory"         GET     true   => |s, _, _| s.template_categories(),
    "/wxaapi/newtmpl/getpubtemplatetitles" GET    true   => |s, _, r| s.template_titles(r),
    "/wxaapi/newtmpl/getpubtemplatekeywords" GET  true   => |s, _, r| s.template_keywords(r),
}

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

    /// The followers (default [`DEFAULT_USERS`]: `oUser1`, `oUser2`, `oUser3`).
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
            Server::start(self.addr, move |req| {
                let shared = Arc::clone(&shared);
                async move { server::handle(&shared, req).await }
            })
            .await?
        };
        Ok(MockWechat { shared, server })
    }
}

/// A mock WeChat API server on loopback. Stops when dropped. See the [module docs](self).
pub struct MockWechat {
    shared: Arc<Shared>,
    server: Server,
}

impl std::fmt::Debug for MockWechat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MockWechat")
            .field("addr", &self.addr())
            .field("app_id", &self.shared.app_id)
            .finish_non_exhaustive()
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
            users: DEFAULT_USERS.map(str::to_owned).to_vec(),
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
        self.server.addr()
    }

    /// `http://127.0.0.1:<port>`: the client's `api_base` (and `open_base`).
    #[must_use]
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr())
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

    /// The next job submitted with `freepublish/submit` ends with `status` instead of being
    /// published: `freepublish/get` answers "publishing" once, then `status` with `fail_idx`
    /// (the failed articles, from 1). To test the failure paths of a publishing flow.
    pub fn fail_next_publish(&self, status: wechat_core::message::PublishStatus, fail_idx: &[u32]) {
        self.state().publishing.next_failure = Some((status, fail_idx.to_vec()));
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_endpoint_table_lists_each_path_once_with_a_known_method() {
        let mut paths: Vec<&str> = ENDPOINTS.iter().map(|(path, _, _)| *path).collect();
        paths.sort_unstable();
        paths.dedup();
        assert_eq!(
            paths.len(),
            ENDPOINTS.len(),
            "a path listed twice is shadowed"
        );
        assert!(
            ENDPOINTS
                .iter()
                .all(|(_, m, _)| matches!(*m, "GET" | "POST"))
        );
        assert_eq!(ROUTES.len(), ENDPOINTS.len());
    }

    #[tokio::test]
    async fn every_listed_endpoint_is_served_and_no_other() {
        let wechat = MockWechat::start().await.unwrap();
        for (path, method, _) in ENDPOINTS {
            let req = RecordedRequest {
                method: method.parse().unwrap(),
                path: (*path).to_owned(),
                query: Vec::new(),
                headers: HeaderMap::new(),
                body: Bytes::new(),
            };
            let answer = wechat.state().answer(&wechat.shared, &req);
            assert!(!matches!(answer, server::Answer::NotFound(_)), "{path}");
        }
        let req = RecordedRequest {
            method: Method::GET,
            path: "/cgi-bin/nope".to_owned(),
            query: Vec::new(),
            headers: HeaderMap::new(),
            body: Bytes::new(),
        };
        let answer = wechat.state().answer(&wechat.shared, &req);
        assert!(matches!(answer, server::Answer::NotFound(_)));
    }
}
