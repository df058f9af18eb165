//! Mini Program sessions (自定义登录态): log a user in with the `code` of `wx.login()`, give the
//! Mini Program a token of your own, and know who each request comes from.
//!
//! WeChat's login hands the server the user's `openid`, `unionid` and `session_key`; the
//! `session_key` (the key of the user's encrypted data, 开放数据) must never leave the server.
//! Instead of the common md5(session_key + time) and a dict in one process:
//!
//! - [`SessionStore`] keeps `{openid, unionid, session_key}` in a [`Store`](crate::store::Store)
//!   ([`MemoryStore`](crate::store::MemoryStore), or `RedisStore` to share sessions between
//!   processes) under a [`SessionToken`] of 32 bytes from the OS CSPRNG, with a TTL (7 days by
//!   default), optional sliding expiry, re-login that updates the session key, and revocation
//!   (one token or every session of a user). It files sessions under the SHA-256 of the token.
//! - [`SessionStore::login`] does the exchange: `code` → `jscode2session` → session → token,
//!   with WeChat's refusals mapped to clear answers ([`LoginError`]).
//! - [`SessionLayer`] requires a token (`Authorization: Bearer <token>` by default) on the
//!   routes it wraps and puts the [`UserSession`] in the request extensions, where handlers read
//!   it ([`UserSession::from_request`], or as an axum extractor with the feature `axum`); a
//!   missing, invalid or expired token is answered 401 with a JSON body.
//!
//! ```
//! use std::convert::Infallible;
//! use std::sync::Arc;
//! use bytes::Bytes;
//! use http::{Request, Response, StatusCode, header};
//! use http_body_util::{BodyExt, Full};
//! use tower::{ServiceBuilder, ServiceExt, service_fn};
//! use wechat_tower::core::secret::SessionKey;
//! use wechat_tower::session::{SessionLayer, SessionStore, UserSession};
//! use wechat_tower::store::MemoryStore;
//!
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let sessions = SessionStore::new(Arc::new(MemoryStore::new()));
//! // What `sessions.login(&client, code)` does after `jscode2session`:
//! let token = sessions.create("oUser", None, &SessionKey::new("tiihtNczf5v6AKRyjwEUhQ==")).await?;
//!
//! let me = ServiceBuilder::new()
//!     .layer(SessionLayer::new(sessions.clone()))
//!     .service(service_fn(|req: Request<Full<Bytes>>| async move {
//!         let user = UserSession::from_request(&req).expect("SessionLayer loaded it");
//!         Ok::<_, Infallible>(Response::new(Full::new(Bytes::from(user.openid().to_owned()))))
//!     }));
//!
//! let req = Request::get("/me")
//!     .header(header::AUTHORIZATION, format!("Bearer {}", token.expose()))
//!     .body(Full::default())?;
//! let res = me.clone().oneshot(req).await?;
//! assert_eq!(res.status(), StatusCode::OK);
//! assert_eq!(res.into_body().collect().await?.to_bytes(), "oUser");
//!
//! // Logged out: the token no longer opens anything.
//! sessions.revoke(&token).await?;
//! let req = Request::get("/me")
//!     .header(header::AUTHORIZATION, format!("Bearer {}", token.expose()))
//!     .body(Full::default())?;
//! let res = me.oneshot(req).await?;
//! assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
//! assert_eq!(
//!     res.into_body().collect().await?.to_bytes(),
//!     r#"{"errcode":10002,"errmsg":"session token invalid"}"#
//! );
//! # Ok(()) }
//! ```
//!
//!
//! # With axum
//!
//! With the feature `axum`, [`UserSession`] is an extractor: wrap the routes that need a user
//! with `route_layer(SessionLayer::new(..))` (routes added after it stay open) and take the
//! session as a handler argument (`Option<UserSession>` where it is optional).
#![cfg_attr(
    feature = "axum",
    doc = r#"
```
use std::sync::Arc;
use axum::Router;
use axum::body::Body;
use axum::routing::get;
use http::{Request, StatusCode, header};
use http_body_util::BodyExt;
use tower::ServiceExt;
use wechat_tower::core::secret::SessionKey;
use wechat_tower::session::{SessionLayer, SessionStore, UserSession};
use wechat_tower::store::MemoryStore;

async fn me(user: UserSession) -> String {
    user.openid().to_owned()
}

async fn home(user: Option<UserSession>) -> String {
    user.map_or_else(|| "hello, guest".to_owned(), |u| format!("hello, {}", u.openid()))
}

# #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
let sessions = SessionStore::new(Arc::new(MemoryStore::new()));
let app = Router::new()
    .route("/me", get(me))
    .route_layer(SessionLayer::new(sessions.clone())) // the routes above require a session
    .route("/", get(home)); // this one stays open
// What `sessions.login(&client, code)` does after `jscode2session`:
let token = sessions.create("oUser", None, &SessionKey::new("tiihtNczf5v6AKRyjwEUhQ==")).await?;

let req = Request::get("/me")
    .header(header::AUTHORIZATION, format!("Bearer {}", token.expose()))
    .body(Body::empty())?;
let res = app.clone().oneshot(req).await?;
assert_eq!(res.status(), StatusCode::OK);
assert_eq!(res.into_body().collect().await?.to_bytes(), "oUser");

let res = app.clone().oneshot(Request::get("/me").body(Body::empty())?).await?;
assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
let res = app.oneshot(Request::get("/").body(Body::empty())?).await?;
assert_eq!(res.into_body().collect().await?.to_bytes(), "hello, guest");
# Ok(()) }
```
"#
)]
//!
//! # Error codes
//!
//! Error answers carry `{"errcode": <int>, "errmsg": "<short reason>"}`. The codes are this
//! crate's own, in a range WeChat does not use (its codes are `-1` and 40001 and up), so a
//! client never mistakes one for WeChat's:
//!
//! | errcode | status | errmsg | when |
//! |---|---|---|---|
//! | 10001 | 401 | `session token missing` | no `Authorization: Bearer …` (or configured) header |
//! | 10002 | 401 | `session token invalid` | malformed, never issued, forged or revoked |
//! | 10003 | 401 | `session expired` | the session ended (told apart for a day, [`EXPIRED_GRACE`]) |
//! | 10004 | 503 | `session store unavailable` | the store failed, or a user's lock stayed taken |
//! | 10101 | 400 | `code missing` | a login without `code` |
//! | 10102 | 400 | `invalid code` | WeChat's 40029 (or a code longer than [`MAX_CODE_LEN`]) |
//! | 10103 | 400 | `code already used` | WeChat's 40163 |
//! | 10104 | 429 | `too many login attempts` | WeChat's 45011 |
//! | 10105 | 403 | `login refused: risky user` | WeChat's 40226 |
//! | 10106 | 502 | `WeChat login failed` | any other WeChat error, or WeChat unreachable |
//! | 10107 | 504 | `WeChat did not answer in time` | a timeout |
//!
//! Applications can use 10200 and up for their own answers (the `miniprogram-login` example
//! does).
//!
//! # When the store fails
//!
//! A store that fails or does not answer in time (Redis down or slow; a `RedisStore` bounds
//! every call by its timeout) is answered **503** with errcode 10004 and no `WWW-Authenticate`
//! challenge, never 401: an outage must not tell every client to drop its token and log in
//! again. Logins answer 503 too ([`LoginError::Session`]; the client gets no token). A failed
//! sliding renewal does not fail the request. When the store is back, the same tokens load the
//! same sessions (if the store kept them: run Redis with persistence). The
//! [`MemoryStore`](crate::store::MemoryStore) never fails.
//!
//! # Secrets
//!
//! Tokens and session keys print `SessionToken([redacted])` / `SessionKey([redacted])` in
//! `Debug` (so in [`UserSession`] and [`LoggedIn`] too), and nothing here logs them.

#[cfg(feature = "axum")]
mod extract;
mod layer;
mod login;
mod rejection;
mod store;
mod token;
mod user;

#[cfg(feature = "axum")]
pub use extract::MissingSessionLayer;
pub use layer::{ResponseFuture, Session, SessionLayer};
pub use login::{LoggedIn, LoginError, MAX_CODE_LEN};
pub use rejection::SessionRejection;
pub use store::{
    DEFAULT_MAX_LIFETIME, DEFAULT_MAX_SESSIONS_PER_USER, DEFAULT_PREFIX, DEFAULT_TTL,
    EXPIRED_GRACE, SessionError, SessionStore,
};
pub use token::{SessionToken, TOKEN_BYTES, TOKEN_LEN};
pub use user::UserSession;
