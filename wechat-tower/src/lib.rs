//! # wechat-tower
//!
//! The WeChat (微信) server framework on tower: write `async fn` handlers for typed messages, put
//! one layer in front, and mount the result on axum, hyper or any tower server. Signature checks,
//! the replay window, safe mode (安全模式), XML and JSON, retries and deadlines are handled.
//!
//! ```
//! use tower::{Layer, ServiceExt};
//! use wechat_tower::message::{ClickEvent, SubscribeEvent, TextMessage};
//! use wechat_tower::test_util::{Simulator, messages};
//! use wechat_tower::{Route, Router, WechatConfig, WechatLayer};
//!
//! async fn echo(msg: TextMessage) -> String {
//!     msg.content
//! }
//!
//! async fn welcome(_: SubscribeEvent) -> &'static str {
//!     "Welcome!"
//! }
//!
//! async fn today(_: ClickEvent) -> &'static str {
//!     "Today's special: noodles"
//! }
//!
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let router = Router::new()
//!     .handler(echo)
//!     .handler(welcome)
//!     .route(Route::event_key("CLICK", "TODAY"), today)
//!     .build()?;
//! let config = WechatConfig::safe("token", "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG", "wx0123456789abcdef")?;
//! let bot = WechatLayer::new(config).layer(router);
//! // Mount it: axum::Router::new().route_service("/wechat", bot)
//!
//! // Play WeChat: an encrypted, signed text message in; an encrypted, signed echo out.
//! let wechat = Simulator::safe("token", "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG", "wx0123456789abcdef")?;
//! let res = bot.oneshot(wechat.push("/wechat", &messages::text("gh_account", "oUser", "你好", 1))).await?;
//! let body = http_body_util::BodyExt::collect(res.into_body()).await?.to_bytes();
//! assert!(wechat.read_reply(&body)?.contains("<Content><![CDATA[你好]]></Content>"));
//! # Ok(()) }
//! ```
//!
//! | module | what it holds |
//! |---|---|
//! | [`server`] | the inbound layers: [`SignatureLayer`](server::SignatureLayer), [`CryptoLayer`](server::CryptoLayer), [`XmlLayer`](server::XmlLayer), and [`WechatLayer`] stacking them |
//! | [`router`] | [`Router`]: handlers by message type, event, event key, keyword; retries answered once; a deadline |
//! | [`handler`] | what a handler is: [`Handler`], [`FromMessage`], [`FromContext`] ([`MessageContext`], [`State`]), [`IntoReply`] |
//! | [`client`] | the outbound side: [`WechatClient`](client::WechatClient) (menus, messages, users, QR codes, media, web authorization, JS-SDK, Mini Program login) over a [`Transport`](client::Transport), with the token central control [`TokenManager`](client::TokenManager) |
//! | `session` | (feature `session`) Mini Program sessions (自定义登录态): `SessionStore` (login with `jscode2session`, tokens from the OS CSPRNG, TTL, sliding expiry, revocation), `SessionLayer` and the `UserSession` it loads |
//! | `pay` | (feature `pay`) WeChat Pay (微信支付): `PayNotify`, the notify URL (v2 and v3, verified, once per `transaction_id`, SUCCESS only after the handler), and `PayClient` (统一下单, order query, close order) |
//! | `serve` | (feature `serve`) `Server`: HTTP/1.1 with a header-read, request and idle timeout and a connection cap, in place of `axum::serve` |
//! | [`store`] | where shared state lives: the [`Store`](store::Store) trait, [`MemoryStore`](store::MemoryStore), `RedisStore` (feature `redis`) |
//! | `test_util` | (feature `test-util`) the WeChat side for tests: signed and encrypted requests, replies read back, and `MockWechat`, a mock of WeChat's API on loopback |
//! | [`core`] | the protocol crate `wechat_core` (package `wechat-tower-core`), re-exported |
//!
//! | feature | default | what it adds |
//! |---|---|---|
//! | `client` | yes | the default HTTPS transport of the client: hyper-util + rustls (ring) with bundled root certificates |
//! | `pay` | no | the `pay` module (and wechat-core's `pay`: RSA, X.509, AES-GCM); with `test-util`, `MockPay` |
//! | `session` | no | the `session` module: Mini Program login sessions |
//! | `redis` | no | `RedisStore`, to share the access token, sessions and pay records between processes |
//! | `test-util` | no | the simulator, `MockWechat`, and with `pay` `MockPay` |
//! | `serve` | no | `serve::Server`, a serving loop with timeouts and a connection cap (hyper server + tokio net) |
//! | `axum` | no | with `session`: `UserSession` as an axum extractor, `IntoResponse` for the session and login rejections |

#![cfg_attr(docsrs, feature(doc_cfg))]

#[doc(hidden)]
#[path = "private.rs"]
pub mod __private;
mod body;
pub mod client;
mod config;
pub mod handler;
pub mod kind;
#[cfg(feature = "pay")]
#[cfg_attr(docsrs, doc(cfg(feature = "pay")))]
pub mod pay;
mod rejection;
mod route;
pub mod router;
#[cfg(feature = "serve")]
#[cfg_attr(docsrs, doc(cfg(feature = "serve")))]
pub mod serve;
pub mod server;
#[cfg(feature = "session")]
#[cfg_attr(docsrs, doc(cfg(feature = "session")))]
pub mod session;
pub mod store;
#[cfg(feature = "test-util")]
#[cfg_attr(docsrs, doc(cfg(feature = "test-util")))]
pub mod test_util;

pub use body::BoxError;
pub use config::{Clock, DEFAULT_BODY_LIMIT, Mode, SystemClock, WechatConfig};
pub use handler::{
    FromContext, FromMessage, FromRef, Handler, IntoReply, MessageContext, OpenId, State,
    TypedMessage,
};
pub use rejection::Rejection;
pub use router::{MountHandler, Route, RouteError, Router, RouterService};
pub use server::WechatLayer;
pub use wechat_macros::wechat_handler;

/// The protocol crate, re-exported whole.
pub use wechat_core as core;
pub use wechat_core::{Event, Message, MsgCrypt, Reply, message, signature};

/// The README's example, compiled with the doctests so that the two cannot drift apart.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
struct ReadmeDoctests;
