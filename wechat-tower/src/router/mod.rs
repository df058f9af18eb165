//! The router: picks the handler of a [`Message`] by type, event and key, runs it once per
//! message however often WeChat retries, and answers in time.
//!
//! [`Router`] is a builder; [`Router::build`] checks the routes and gives a [`RouterService`],
//! a `tower::Service<Message, Response = Reply, Error = Refused>` that the `XmlLayer` (or a
//! test) calls (it fails only as [When the store fails](#when-the-store-fails) says).
//!
//! ```
//! use tower::ServiceExt;
//! use wechat_tower::message::{ClickEvent, SubscribeEvent, TextMessage};
//! use wechat_tower::router::{Route, Router};
//! use wechat_tower::{MessageContext, Message, Reply, State};
//!
//! #[derive(Clone)]
//! struct App {
//!     welcome: &'static str,
//! }
//!
//! async fn echo(msg: TextMessage) -> String {
//!     msg.content
//! }
//!
//! async fn help(_: TextMessage) -> &'static str {
//!     "Send me anything and I will say it back."
//! }
//!
//! async fn welcome(_: SubscribeEvent, State(app): State<App>) -> &'static str {
//!     app.welcome
//! }
//!
//! async fn download(_: ClickEvent, ctx: MessageContext) -> Reply {
//!     Reply::text(format!("{}: https://example.com/app", ctx.open_id()))
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let router = Router::new()
//!     .handler(echo) // every text message...
//!     .route(Route::keyword("help"), help) // ...but "help"
//!     .handler(welcome)
//!     .route(Route::event_key("CLICK", "DOWNLOAD_APP"), download) // CLICK with this EventKey
//!     .fallback(|_: Message| async {}) // anything else: `success`
//!     .with_state(App { welcome: "Welcome!" })
//!     .build()?;
//!
//! let msg = Message::from_xml(
//!     "<xml><ToUserName><![CDATA[gh_1]]></ToUserName><FromUserName><![CDATA[oUser]]></FromUserName>\
//!      <CreateTime>1700000000</CreateTime><MsgType><![CDATA[text]]></MsgType>\
//!      <Content><![CDATA[hello]]></Content><MsgId>1</MsgId></xml>",
//! )?;
//! let reply = router.clone().oneshot(msg).await?;
//! assert_eq!(reply, Reply::text("hello"));
//!
//! let click = Message::from_xml(
//!     "<xml><ToUserName>gh_1</ToUserName><FromUserName>oUser</FromUserName><CreateTime>1700000001</CreateTime>\
//!      <MsgType>event</MsgType><Event>CLICK</Event><EventKey>DOWNLOAD_APP</EventKey></xml>",
//! )?;
//! let reply = router.oneshot(click).await?;
//! assert_eq!(reply, Reply::text("oUser: https://example.com/app"));
//! # Ok(())
//! # }
//! ```
//!
//! # Routes
//!
//! A handler is mounted on a [`Route`] by [`Router::handler`], the one mounting method: an
//! `async fn` marked [`#[wechat_handler(..)]`](crate::wechat_handler) mounts on the route of its
//! attribute, whose mistakes (a `ClickEvent` handler on `msg = "text"`) are compile errors; a
//! plain `async fn` mounts on the route its first argument names (`TextMessage` → `MsgType`
//! `text`, `ClickEvent` → `Event` `CLICK`, `Event` → any event). Routes a type cannot name (an
//! `EventKey`, a keyword, a prefix) are given explicitly with [`Router::route`]
//! ([`Route::event_key`], [`Route::keyword`], [`Route::prefix`]), and [`Router::fallback`] takes
//! what no route takes. The most
//! specific route wins (see
//! [`Route`]): for text, keyword, then the longest prefix, then `text`; for events, event and key,
//! then event, then any event; then the fallback; with no fallback a message is answered
//! `success`. Two handlers on one route, a handler on a route whose messages its first argument
//! cannot take, and a key on an event that never carries one are errors of [`Router::build`].
//!
//! # Retries and replays
//!
//! WeChat retries a message three times, 5 s apart, when it gets no answer. The router runs the
//! handler once per message and answers the retries with the same reply; a retry that arrives
//! while the handler runs waits for it. A captured, correctly signed request replayed while its
//! timestamp is still inside the window is answered the same way: the retry record keeps each
//! message for 330 s by default, longer than the default timestamp window (300 s), so no replay
//! the signature layer accepts runs a handler twice. See [`DedupConfig`] for how a delivery is
//! recognised, how long and how much is remembered; [`Router::dedup`] turns it off (for load
//! tests that repeat one message).
//!
//! The record is in memory by default, bounded by age (each message is kept for its TTL, not
//! pushed out by a count of newer ones) and by a memory budget ([`DedupConfig::max_memory`],
//! 32 MiB, about 60 000 short messages): a busy single instance remembers every message of the
//! last 330 s up to about 180 messages a second, and WeChat's 15 s of retries up to about
//! 4 000 a second; reaching the budget is logged.
//!
//! # Many instances
//!
//! A bot that runs as several instances behind a load balancer gets a retry on any of them.
//! [`Router::dedup_store`] keeps the record in a shared [`Store`] (a `RedisStore`, feature
//! `redis`) as well as in memory:
//!
//! - the first instance to see a message claims it (`set_if_absent` of a random claim marker
//!   with the record's TTL, 330 s by default), runs the handler, and replaces the claim with the
//!   reply (`set`, same TTL), the reply as the handler gave it,
//!   before it is addressed and encrypted, so every answer is encrypted afresh; an empty reply,
//!   one longer than [`DedupConfig::max_reply_bytes`] and a late one are kept as "handled,
//!   answer `success`";
//! - a retry on any instance answers the kept reply; one that arrives while the handler still
//!   runs elsewhere waits for it until its own deadline, reading the key after 20 ms, then at
//!   doubling intervals up to 500 ms (at most about a dozen reads in 4.5 s), and answers
//!   `success` if it is still running. Within one process, concurrent deliveries of a message
//!   join the first one's run in memory, so only one of them reads the store;
//! - a late reply goes to the [`LateReplySink`] of the instance that ran the handler, and the
//!   record keeps `success` for it, so no retry on any instance delivers it a second time;
//! - a handler that returns `Err` or panics answers `success`, kept like any reply (as in
//!   memory): WeChat does not retry a message answered `success`, so running it again would
//!   only repeat its side effects. An instance that dies while its handler runs leaves its
//!   claim until the TTL: retries of that message answer `success` at their deadline.
//!
//! Store keys are `wechat:dedup:{<SHA-1 of the message key>}` (after the store's own prefix,
//! e.g. `RedisStore::prefix`): bounded in length whatever the sender's strings, and a Redis
//! Cluster hash tag, so the claim and its reply (one key, in turn) and any key derived from it
//! live on one slot. A store prefix must not contain `{`, which would move the tag.
//!
//! # When the store fails
//!
//! Every store call is bounded by [`DedupConfig::store_timeout`] (1 s) and by the delivery's
//! deadline, so a slow or unreachable store never holds a request past it; after a failure the
//! store is left alone for a second, so a stalled store delays one delivery a second, not every
//! one. When the claim fails (or the store fails while a retry waits for another instance),
//! [`DedupConfig::fail_mode`] decides:
//!
//! - [`FailMode::Open`] (the default): run the handler, deduplicated in this process only, and
//!   log (at most once a minute) that the shared record is off; a retry that reaches another
//!   instance meanwhile runs it again. A missed reply is worse than a rare duplicate.
//! - [`FailMode::Closed`]: the router fails with [`Refused`], which `XmlLayer` and
//!   `WechatLayer` answer `503 Service Unavailable` (body `retry record unavailable`), so WeChat
//!   retries; the handler never runs without a claim.
//!
//! A reply that cannot be kept (the store failed after the handler ran) is logged; retries on
//! other instances then answer `success` at their deadline. Nothing needs a restart when the
//! store comes back: every delivery asks it afresh (a `RedisStore` reconnects by itself).
//!
//! # Deadline
//!
//! A handler that has not answered by the deadline (4.5 s by default, [`Router::deadline`]) gets
//! its message answered `success`, so WeChat neither retries nor shows the user an error. The
//! handler runs on, and its reply goes to the [`LateReplySink`] ([`Router::late_reply_sink`];
//! the default logs it with `tracing::warn!`).
//!
//! The late reply is delivered once: the retry cache then remembers `success` for the message,
//! so a retry neither runs the handler again nor gets the reply a second time. A retry that
//! arrives while the handler still runs waits for it (until the retry's own deadline); if the
//! reply comes in time it answers that retry and does not go to the sink.
//!
//! A handler runs inside the delivery that started it (no task, the common case's cost) until it
//! answers or the deadline passes; then, or when that delivery is cancelled (the connection
//! dropped), the rest of it moves to a Tokio task of its own, so it is never cancelled (its reply
//! answers a waiting retry, or goes to the sink like a late one). A handler that panics answers
//! `success`.

mod deadline;
mod dedup;
mod mount;

mod run;
mod service;
mod shared;
mod table;

use std::any::type_name;
use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use wechat_core::Message;

pub use self::deadline::{DEFAULT_DEADLINE, LateReply, LateReplySink};
pub use self::dedup::{DedupConfig, FailMode};
pub use self::mount::{ByType, MountHandler};
pub use self::service::{Refused, ResponseFuture, RouterService};
pub use crate::route::{Route, RouteError};

use self::deadline::WarnSink;
use self::dedup::RetryCache;
use self::service::{Endpoint, Inner};
use self::shared::SharedRecord;
use self::table::Table;
use crate::handler::{
    BoxReplyFuture, ErasedHandler, FromMessage, Handler, MakeErased, MessageContext,
};
use crate::store::Store;

/// Builds a [`RouterService`]. See the [module docs](self).
///
/// `S` is the state handlers extract with [`State`](crate::State); it is given by
/// [`Router::with_state`], which turns a `Router<S>` into a `Router<()>` ready to
/// [`build`](Router::build).
#[must_use]
pub struct Router<S = ()> {
    routes: Vec<Mounted<S>>,
    app_id: Option<Arc<str>>,
    dedup: Option<DedupConfig>,
    dedup_store: Option<Arc<dyn Store>>,
    deadline: Option<Duration>,
    sink: Arc<dyn LateReplySink>,
}

/// One `route` call.
struct Mounted<S> {
    route: Route,
    name: &'static str,
    takes: &'static str,
    accepts: bool,
    handler: Arc<dyn ErasedHandler<S>>,
}

impl<S> Router<S>
where
    S: Send + Sync + 'static,
{
    /// An empty router: no routes, retry cache on ([`DedupConfig::new`]), deadline
    /// [`DEFAULT_DEADLINE`], late replies logged.
    pub fn new() -> Self {
        Self {
            routes: Vec::new(),
            app_id: None,
            dedup: Some(DedupConfig::new()),
            dedup_store: None,
            deadline: Some(DEFAULT_DEADLINE),
            sink: Arc::new(WarnSink),
        }
    }

    /// Mounts `handler` on `route`. The other mounting methods call this one.
    ///
    /// [`build`](Router::build) fails when another handler has the same route, or when the
    /// handler's first argument cannot take the route's messages (a `ClickEvent` handler on
    /// `Route::msg("text")`).
    pub fn route<H, T>(self, route: Route, handler: H) -> Self
    where
        H: Handler<T, S>,
        T: 'static,
    {
        self.route_as(route, type_name::<H>(), handler)
    }

    /// [`route`](Self::route), naming the handler `name` (in [`RouteError`]s, `Debug` and
    /// [`RouterService::handler_for`]) rather than by its type: `#[wechat_handler]` mounts a
    /// closure around the fn's body, and names it after the fn.
    pub(crate) fn route_as<H, T>(mut self, route: Route, name: &'static str, handler: H) -> Self
    where
        H: Handler<T, S>,
        T: 'static,
    {
        self.routes.push(Mounted {
            accepts: H::Input::accepts(&route),
            route,
            name,
            takes: type_name::<H::Input>(),
            handler: Arc::new(MakeErased::new(handler)),
        });
        self
    }

    /// Mounts a handler on its route: the one mounting method for handlers that name their
    /// route.
    ///
    /// - an `async fn` marked [`#[wechat_handler(..)]`](crate::wechat_handler) mounts on the
    ///   route of its attribute (`msg = "text"`, `event = "CLICK", key = "V1001"`, `fallback`,
    ///   ...), its mistakes caught at compile time;
    /// - a plain `async fn` (or closure) mounts on the route its first argument names:
    ///   `TextMessage` → `MsgType` `text`, `SubscribeEvent` → `Event` `subscribe`,
    ///   `ClickEvent` → `CLICK`, ..., [`Event`](wechat_core::Event) → any event. A plain fn
    ///   taking [`Message`] names no route: mount it with [`route`](Self::route) or
    ///   [`fallback`](Self::fallback);
    /// - anything else implementing [`MountHandler`] (a bundle of handlers).
    ///
    /// Routes a type cannot express (an `EventKey`, a keyword, a prefix) are given explicitly
    /// with [`route`](Self::route) and [`Route::event_key`], [`Route::keyword`],
    /// [`Route::prefix`].
    ///
    /// ```
    /// use wechat_tower::message::{SubscribeEvent, TextMessage};
    /// use wechat_tower::{Router, wechat_handler};
    ///
    /// #[wechat_handler(msg = "text")]
    /// async fn echo(msg: TextMessage) -> String {
    ///     msg.content
    /// }
    ///
    /// #[wechat_handler(msg = "text", keyword = "help")]
    /// async fn help(_: TextMessage) -> &'static str {
    ///     "Send me anything and I will say it back."
    /// }
    ///
    /// // A plain fn: the route comes from its first argument's type.
    /// async fn welcome(_: SubscribeEvent) -> &'static str {
    ///     "Welcome!"
    /// }
    ///
    /// let router = Router::new().handler(echo).handler(help).handler(welcome).build()?;
    /// # Ok::<(), wechat_tower::RouteError>(())
    /// ```
    pub fn handler<H, M>(self, handler: H) -> Self
    where
        H: MountHandler<S, M>,
    {
        handler.mount(self)
    }

    /// Mounts `handler`, which takes [`Message`], on every message no other route takes. Without
    /// a fallback such messages are answered `success`.
    pub fn fallback<H, T>(self, handler: H) -> Self
    where
        H: Handler<T, S>,
        T: 'static,
    {
        self.route(Route::fallback(), handler)
    }

    /// Gives the handlers mounted so far their state, so that they can extract
    /// [`State<T>`](crate::State). The result is a `Router<S2>` (usually `Router<()>`, ready to
    /// build); handlers mounted afterwards see the new state type.
    pub fn with_state<S2>(self, state: S) -> Router<S2>
    where
        S2: Send + Sync + 'static,
    {
        let state = Arc::new(state);
        Router {
            routes: self
                .routes
                .into_iter()
                .map(|m| Mounted {
                    route: m.route,
                    name: m.name,
                    takes: m.takes,
                    accepts: m.accepts,
                    handler: Arc::new(WithState {
                        handler: m.handler,
                        state: Arc::clone(&state),
                    }),
                })
                .collect(),
            app_id: self.app_id,
            dedup: self.dedup,
            dedup_store: self.dedup_store,
            deadline: self.deadline,
            sink: self.sink,
        }
    }

    /// The app id (`AppID`) of the account, handed to handlers in
    /// [`MessageContext::app_id`](crate::MessageContext::app_id). Optional.
    pub fn app_id(mut self, app_id: impl Into<Arc<str>>) -> Self {
        self.app_id = Some(app_id.into());
        self
    }

    /// Turns the retry cache on (the default, with [`DedupConfig::new`]) or off. Off, every
    /// delivery runs the handler, WeChat's retries and replays of a captured request alike:
    /// only for load tests that repeat one message.
    pub fn dedup(mut self, enabled: bool) -> Self {
        self.dedup = if enabled {
            Some(self.dedup.unwrap_or_default())
        } else {
            None
        };
        self
    }

    /// Turns the retry cache on with these settings. Keep [`DedupConfig::ttl`] at least as long
    /// as the timestamp window of the [`WechatConfig`](crate::WechatConfig) in front of the
    /// router (a shorter one is logged as a warning by [`build`](Router::build)).
    pub fn dedup_config(mut self, config: DedupConfig) -> Self {
        self.dedup = Some(config);
        self
    }

    /// Keeps the retry record in `store` too, shared by every instance of the bot, so that a
    /// retry reaching any of them is answered once (see [Many instances](self#many-instances)
    /// and [When the store fails](self#when-the-store-fails); [`DedupConfig::fail_mode`] picks
    /// fail-open or fail-closed). Turns the record on if it was off. The in-memory record stays
    /// in front of the store, so retries within one process cost no store call.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use wechat_tower::router::{DedupConfig, FailMode, Router};
    /// use wechat_tower::store::{MemoryStore, Store};
    ///
    /// // In production, one `RedisStore` per process: `RedisStore::connect(url).await?`.
    /// let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    /// let router = Router::new()
    ///     .dedup_config(DedupConfig::new().fail_mode(FailMode::Closed))
    ///     .dedup_store(store);
    /// # let _: Router = router;
    /// ```
    pub fn dedup_store(mut self, store: Arc<dyn Store>) -> Self {
        self.dedup = Some(self.dedup.unwrap_or_default());
        self.dedup_store = Some(store);
        self
    }

    /// Answers `success` for a handler that has not answered after `deadline` (default
    /// [`DEFAULT_DEADLINE`]), counted from the delivery's arrival. A deadline of 5 s or more is
    /// too late for WeChat, which retries (or gives up) at 5 s.
    pub fn deadline(mut self, deadline: Duration) -> Self {
        self.deadline = Some(deadline);
        self
    }

    /// Waits for handlers however long they take. WeChat gives up at 5 s, so use this only
    /// where something else answers in time (tests, or a layer of your own).
    pub fn without_deadline(mut self) -> Self {
        self.deadline = None;
        self
    }

    /// Where replies that come after the deadline go (default: a `tracing::warn!`). See
    /// [`LateReplySink`].
    pub fn late_reply_sink(mut self, sink: impl LateReplySink) -> Self {
        self.sink = Arc::new(sink);
        self
    }
}

impl Router<()> {
    /// Checks the routes and builds the service.
    ///
    /// Only a `Router<()>` builds: a router whose handlers extract [`State<T>`](crate::State) is
    /// a `Router<T>` until [`with_state`](Router::with_state) gives it the state (without it, the
    /// compiler finds no `build` on `Router<T>`).
    ///
    /// # Errors
    ///
    /// The first problem in mounting order: [`RouteError::Conflict`] when two handlers have the
    /// same route (naming both), [`RouteError::Mismatch`] when a handler's first argument
    /// cannot take its route's messages, [`RouteError::Unreachable`] for a key on an event that
    /// never carries one.
    pub fn build(self) -> Result<RouterService, RouteError> {
        let mut seen: HashMap<&Route, &'static str> = HashMap::new();
        for m in &self.routes {
            if !m.accepts {
                return Err(RouteError::Mismatch {
                    route: m.route.clone(),
                    handler: m.name,
                    takes: m.takes,
                });
            }
            if m.route.is_unreachable() {
                return Err(RouteError::Unreachable {
                    route: m.route.clone(),
                    handler: m.name,
                });
            }
            if let Some(first) = seen.insert(&m.route, m.name) {
                return Err(RouteError::Conflict {
                    route: m.route.clone(),
                    first,
                    second: m.name,
                });
            }
        }
        let mut table = Table::new();
        for m in self.routes {
            let endpoint = Endpoint {
                name: m.name,
                handler: m.handler,
            };
            table.insert(&m.route, endpoint);
        }
        table.finish();
        Ok(RouterService::new(Inner {
            table,
            app_id: self.app_id,
            cache: self.dedup.map(RetryCache::new),
            shared: match (self.dedup, self.dedup_store) {
                (Some(config), Some(store)) => Some(Arc::new(SharedRecord::new(store, &config))),
                _ => None,
            },
            deadline: self.deadline,
            sink: self.sink,
        }))
    }
}

impl<S> Default for Router<S>
where
    S: Send + Sync + 'static,
{
    fn default() -> Self {
        Self::new()
    }
}

impl<S> fmt::Debug for Router<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        struct Routes<'a, S>(&'a [Mounted<S>]);
        impl<S> fmt::Debug for Routes<'_, S> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_map()
                    .entries(self.0.iter().map(|m| (m.route.to_string(), m.name)))
                    .finish()
            }
        }
        f.debug_struct("Router")
            .field("routes", &Routes(&self.routes))
            .field("app_id", &self.app_id)
            .field("dedup", &self.dedup)
            .field("dedup_store", &self.dedup_store.is_some())
            .field("deadline", &self.deadline)
            .finish_non_exhaustive()
    }
}

/// A handler with its state bound by [`Router::with_state`].
struct WithState<S> {
    handler: Arc<dyn ErasedHandler<S>>,
    state: Arc<S>,
}

impl<S, S2> ErasedHandler<S2> for WithState<S>
where
    S: Send + Sync + 'static,
{
    fn call(&self, msg: Message, ctx: &MessageContext, _: &S2) -> BoxReplyFuture {
        self.handler.call(msg, ctx, &self.state)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::task::Poll;

    use tower::{Service, ServiceExt};
    use wechat_core::Reply;
    use wechat_core::message::{
        ClickEvent, FileMessage, ImageMessage, LinkMessage, LocationEvent, LocationMessage,
        LocationSelectEvent, MassSendJobFinishEvent, MiniProgramPageMessage, PicPhotoOrAlbumEvent,
        PicSysphotoEvent, PicWeixinEvent, ScanEvent, ScancodePushEvent, ScancodeWaitmsgEvent,
        ShortVideoMessage, SubscribeEvent, SubscribeMsgChangeEvent, SubscribeMsgPopupEvent,
        SubscribeMsgSentEvent, TemplateSendJobFinishEvent, TextMessage, UnknownEvent,
        UnknownMessage, UnsubscribeEvent, UserEnterTempsessionEvent, VideoMessage, ViewEvent,
        ViewMiniprogramEvent, VoiceMessage,
    };

    use super::*;
    use crate::handler::{OpenId, State};

    /// A fresh `CreateTime` and `MsgId` per message, so that the retry cache sees no retries.
    fn next_id() -> u64 {
        static NEXT: std::sync::atomic::AtomicU64 =
            std::sync::atomic::AtomicU64::new(1_700_000_000);
        NEXT.fetch_add(1, Ordering::Relaxed)
    }

    fn xml(body: &str) -> Message {
        Message::from_xml(&format!(
            "<xml><ToUserName>gh_account</ToUserName><FromUserName>oUser</FromUserName>\
             <CreateTime>{}</CreateTime>{body}<MsgId>{}</MsgId></xml>",
            next_id(),
            next_id()
        ))
        .unwrap()
    }

    fn text(content: &str) -> Message {
        xml(&format!(
            "<MsgType>text</MsgType><Content><![CDATA[{content}]]></Content>"
        ))
    }

    /// An event with every field any event needs.
    fn event(name: &str, key: &str) -> Message {
        xml(&format!(
            "<MsgType>event</MsgType><Event>{name}</Event><EventKey>{key}</EventKey>\
             <Latitude>1</Latitude><Longitude>2</Longitude>\
             <SendLocationInfo><Location_X>1</Location_X><Location_Y>2</Location_Y></SendLocationInfo>"
        ))
    }

    async fn ask(router: &RouterService, msg: Message) -> Reply {
        router.clone().oneshot(msg).await.unwrap()
    }

    async fn echo(msg: TextMessage) -> String {
        msg.content
    }

    async fn shout(msg: TextMessage) -> String {
        msg.content.to_uppercase()
    }

    #[tokio::test]
    async fn every_message_and_event_type_reaches_its_handler() {
        macro_rules! named {
            ($ty:ty) => {
                |_: $ty| async { stringify!($ty) }
            };
        }
        let router = Router::new()
            .handler(named!(TextMessage))
            .handler(named!(ImageMessage))
            .handler(named!(VoiceMessage))
            .handler(named!(VideoMessage))
            .handler(named!(ShortVideoMessage))
            .handler(named!(LocationMessage))
            .handler(named!(LinkMessage))
            .handler(named!(FileMessage))
            .handler(named!(MiniProgramPageMessage))
            .handler(named!(SubscribeEvent))
            .handler(named!(UnsubscribeEvent))
            .handler(named!(ScanEvent))
            .handler(named!(LocationEvent))
            .handler(named!(ClickEvent))
            .handler(named!(ViewEvent))
            .handler(named!(ScancodePushEvent))
            .handler(named!(ScancodeWaitmsgEvent))
            .handler(named!(PicSysphotoEvent))
            .handler(named!(PicPhotoOrAlbumEvent))
            .handler(named!(PicWeixinEvent))
            .handler(named!(LocationSelectEvent))
            .handler(named!(ViewMiniprogramEvent))
            .handler(named!(TemplateSendJobFinishEvent))
            .handler(named!(MassSendJobFinishEvent))
            .handler(named!(SubscribeMsgPopupEvent))
            .handler(named!(SubscribeMsgChangeEvent))
            .handler(named!(SubscribeMsgSentEvent))
            .handler(named!(UserEnterTempsessionEvent))
            .route(Route::msg("brand_new"), named!(UnknownMessage))
            .route(Route::event("brand_new_event"), named!(UnknownEvent))
            .build()
            .unwrap();

        let messages = [
            ("TextMessage", text("hi")),
            (
                "ImageMessage",
                xml("<MsgType>image</MsgType><MediaId>m</MediaId>"),
            ),
            (
                "VoiceMessage",
                xml("<MsgType>voice</MsgType><MediaId>m</MediaId>"),
            ),
            (
                "VideoMessage",
                xml("<MsgType>video</MsgType><MediaId>m</MediaId>"),
            ),
            (
                "ShortVideoMessage",
                xml("<MsgType>shortvideo</MsgType><MediaId>m</MediaId>"),
            ),
            (
                "LocationMessage",
                xml(
                    "<MsgType>location</MsgType><Location_X>1</Location_X><Location_Y>2</Location_Y>",
                ),
            ),
            ("LinkMessage", xml("<MsgType>link</MsgType><Url>u</Url>")),
            (
                "FileMessage",
                xml("<MsgType>file</MsgType><FileKey>k</FileKey>"),
            ),
            (
                "MiniProgramPageMessage",
                xml("<MsgType>miniprogrampage</MsgType><PagePath>p</PagePath>"),
            ),
            ("UnknownMessage", xml("<MsgType>BRAND_NEW</MsgType>")),
        ];
        for (expected, msg) in messages {
            assert_eq!(ask(&router, msg).await, Reply::text(expected));
        }
        let events = [
            ("SubscribeEvent", "subscribe"),
            ("UnsubscribeEvent", "unsubscribe"),
            ("ScanEvent", "SCAN"),
            ("LocationEvent", "LOCATION"),
            ("ClickEvent", "CLICK"),
            ("ViewEvent", "VIEW"),
            ("ScancodePushEvent", "scancode_push"),
            ("ScancodeWaitmsgEvent", "scancode_waitmsg"),
            ("PicSysphotoEvent", "pic_sysphoto"),
            ("PicPhotoOrAlbumEvent", "pic_photo_or_album"),
            ("PicWeixinEvent", "pic_weixin"),
            ("LocationSelectEvent", "location_select"),
            ("ViewMiniprogramEvent", "view_miniprogram"),
            ("TemplateSendJobFinishEvent", "TEMPLATESENDJOBFINISH"),
            ("MassSendJobFinishEvent", "MASSSENDJOBFINISH"),
            ("SubscribeMsgPopupEvent", "subscribe_msg_popup_event"),
            ("SubscribeMsgChangeEvent", "subscribe_msg_change_event"),
            ("SubscribeMsgSentEvent", "subscribe_msg_sent_event"),
            ("UserEnterTempsessionEvent", "user_enter_tempsession"),
            ("UnknownEvent", "Brand_New_Event"),
        ];
        for (expected, name) in events {
            let msg = event(name, "K");
            assert_eq!(ask(&router, msg).await, Reply::text(expected), "{name}");
        }
    }

    #[tokio::test]
    async fn event_key_routes_by_event_key() {
        let router = Router::new()
            .handler(|_: ClickEvent| async { "any click" })
            .route(Route::event_key("CLICK", "V1001"), |_: ClickEvent| async {
                "v1001"
            })
            .route(Route::event_key("SCAN", "123"), |_: ScanEvent| async {
                "scan 123"
            })
            .route(
                Route::event_key("subscribe", "123"),
                |_: SubscribeEvent| async { "follow 123" },
            )
            .route(
                Route::event_key("view_miniprogram", "pages/index"),
                |_: ViewMiniprogramEvent| async { "index" },
            )
            .build()
            .unwrap();
        assert_eq!(
            ask(&router, event("CLICK", "V1001")).await,
            Reply::text("v1001")
        );
        assert_eq!(
            ask(&router, event("CLICK", "V1002")).await,
            Reply::text("any click")
        );
        assert_eq!(
            ask(&router, event("SCAN", "123")).await,
            Reply::text("scan 123")
        );
        assert_eq!(
            ask(&router, event("subscribe", "qrscene_123")).await,
            Reply::text("follow 123")
        );
        assert_eq!(
            ask(&router, event("view_miniprogram", "pages/index")).await,
            Reply::text("index")
        );
    }

    #[tokio::test]
    async fn keyword_and_prefix_beat_the_text_handler() {
        let router = Router::new()
            .handler(echo)
            .route(Route::keyword("help"), |_: TextMessage| async { "help!" })
            .route(Route::prefix("weather "), |m: TextMessage| async move {
                format!(
                    "weather in {}",
                    m.content.trim_start().trim_start_matches("weather ")
                )
            })
            .route(Route::prefix("weather tomorrow"), |_: Message| async {
                "tomorrow"
            })
            .build()
            .unwrap();
        assert_eq!(ask(&router, text(" help ")).await, Reply::text("help!"));
        assert_eq!(ask(&router, text("helpme")).await, Reply::text("helpme"));
        assert_eq!(
            ask(&router, text("weather Paris")).await,
            Reply::text("weather in Paris")
        );
        assert_eq!(
            ask(&router, text("weather tomorrow")).await,
            Reply::text("tomorrow")
        );
        assert_eq!(ask(&router, text("hi")).await, Reply::text("hi"));
    }

    #[tokio::test]
    async fn event_handler_catches_every_event_without_a_route() {
        let router = Router::new()
            .handler(|e: wechat_core::Event| async move { format!("event {}", e.event()) })
            .handler(|_: ClickEvent| async { "click" })
            .build()
            .unwrap();
        assert_eq!(
            ask(&router, event("CLICK", "K")).await,
            Reply::text("click")
        );
        assert_eq!(
            ask(&router, event("VIEW", "u")).await,
            Reply::text("event VIEW")
        );
        assert_eq!(ask(&router, text("x")).await, Reply::Success);
    }

    #[tokio::test]
    async fn unmatched_messages_go_to_the_fallback() {
        let router = Router::new()
            .handler(echo)
            .fallback(|m: Message| async move { format!("fallback {}", m.msg_type()) })
            .build()
            .unwrap();
        assert_eq!(
            ask(&router, event("CLICK", "K")).await,
            Reply::text("fallback event")
        );
        assert_eq!(ask(&router, text("hi")).await, Reply::text("hi"));
    }

    #[tokio::test]
    async fn without_fallback_unmatched_messages_answer_success() {
        let router = Router::new().handler(echo).build().unwrap();
        assert_eq!(ask(&router, event("CLICK", "K")).await, Reply::Success);
        let empty = Router::new().build().unwrap();
        assert_eq!(ask(&empty, text("hi")).await, Reply::Success);
    }

    #[tokio::test]
    async fn state_and_context_are_extracted() {
        #[derive(Clone)]
        struct App {
            prefix: String,
        }
        let router = Router::new()
            .handler(
                |m: TextMessage,
                 State(app): State<App>,
                 ctx: MessageContext,
                 OpenId(id): OpenId| async move {
                    format!(
                        "{}{} from {id} to {} via {:?} at {} #{:?}",
                        app.prefix,
                        m.content,
                        ctx.account(),
                        ctx.app_id(),
                        ctx.create_time(),
                        ctx.msg_id()
                    )
                },
            )
            .with_state(App {
                prefix: "> ".into(),
            })
            .app_id("wx123")
            .build()
            .unwrap();
        let msg = Message::from_xml(
            "<xml><ToUserName>gh_account</ToUserName><FromUserName>oUser</FromUserName>\
             <CreateTime>1600000000</CreateTime><MsgType>text</MsgType><Content>hi</Content>\
             <MsgId>1</MsgId></xml>",
        )
        .unwrap();
        assert_eq!(
            ask(&router, msg).await,
            Reply::text("> hi from oUser to gh_account via Some(\"wx123\") at 1600000000 #Some(1)")
        );
    }

    #[tokio::test]
    async fn handlers_mounted_after_with_state_still_work() {
        let router = Router::new()
            .handler(|_: TextMessage, State(n): State<u32>| async move { n.to_string() })
            .with_state(7_u32)
            .handler(|_: ClickEvent| async { "click" })
            .build()
            .unwrap();
        assert_eq!(ask(&router, text("x")).await, Reply::text("7"));
        assert_eq!(
            ask(&router, event("CLICK", "K")).await,
            Reply::text("click")
        );
    }

    #[test]
    fn conflict_names_both_handlers_and_the_route() {
        let err = Router::new()
            .handler(echo)
            .handler(shout)
            .build()
            .unwrap_err();
        assert_eq!(
            err,
            RouteError::Conflict {
                route: Route::msg("text"),
                first: "wechat_tower::router::tests::echo",
                second: "wechat_tower::router::tests::shout",
            }
        );
        assert_eq!(
            err.to_string(),
            "two handlers for the route MsgType \"text\": `wechat_tower::router::tests::echo` and \
             `wechat_tower::router::tests::shout`; a route takes one handler"
        );
    }

    #[test]
    fn conflict_is_found_across_spellings() {
        let err = Router::new()
            .route(Route::event_key("click", "K"), |_: ClickEvent| async {})
            .route(Route::event_key("CLICK", "K"), |_: ClickEvent| async {})
            .build()
            .unwrap_err();
        assert!(matches!(err, RouteError::Conflict { .. }), "{err}");
        assert!(
            err.to_string()
                .contains("Event \"CLICK\" with EventKey \"K\""),
            "{err}"
        );
    }

    #[test]
    fn handler_of_another_type_is_a_mismatch() {
        let err = Router::new()
            .route(Route::msg("text"), |_: ImageMessage| async {})
            .build()
            .unwrap_err();
        assert!(matches!(err, RouteError::Mismatch { .. }));
        let text = err.to_string();
        assert!(
            text.contains("ImageMessage`, but the route MsgType \"text\""),
            "{text}"
        );

        let err = Router::new()
            .route(Route::keyword("hi"), |_: ClickEvent| async {})
            .build()
            .unwrap_err();
        assert!(matches!(err, RouteError::Mismatch { .. }));
        let err = Router::new()
            .fallback(|_: TextMessage| async {})
            .build()
            .unwrap_err();
        assert!(matches!(err, RouteError::Mismatch { .. }));
    }

    #[test]
    fn key_on_a_keyless_event_is_unreachable() {
        let err = Router::new()
            .route(Route::event_key("unsubscribe", "K"), |_: Message| async {})
            .build()
            .unwrap_err();
        assert!(matches!(err, RouteError::Unreachable { .. }));
    }

    #[tokio::test]
    async fn poll_ready_is_always_ready() {
        let mut router = Router::new().handler(echo).build().unwrap();
        let ready = std::future::poll_fn(|cx| Poll::Ready(router.poll_ready(cx))).await;
        assert!(matches!(ready, Poll::Ready(Ok(()))));
        assert_eq!(router.call(text("hi")).await.unwrap(), Reply::text("hi"));
    }

    #[tokio::test]
    async fn panicking_handler_answers_success() {
        let ran = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&ran);
        let router = Router::new()
            .fallback(move |_: Message| {
                let first = !flag.swap(true, Ordering::SeqCst);
                async move {
                    assert!(!first, "handler panics");
                    "second run"
                }
            })
            .build()
            .unwrap();
        let msg = text("x");
        assert_eq!(ask(&router, msg.clone()).await, Reply::Success);
        // The retry does not run it again.
        assert_eq!(ask(&router, msg).await, Reply::Success);
    }

    #[test]
    fn service_is_clone_send_sync_static_with_a_send_future() {
        // Static assertions: this compiles only if they hold.
        fn check<T: Clone + Send + Sync + 'static>() {}
        fn send_sync<T: Send + Sync + 'static>() {}
        fn future<F: std::future::Future + Send + 'static>() {}
        check::<RouterService>();
        send_sync::<Router<()>>();
        future::<ResponseFuture>();
        future::<BoxReplyFuture>();
    }

    #[test]
    fn handler_for_names_the_handler_that_would_answer() {
        let router = Router::new()
            .handler(echo)
            .route(Route::keyword("LOUD"), shout)
            .build()
            .unwrap();
        assert_eq!(
            router.handler_for(&text("hi")),
            Some("wechat_tower::router::tests::echo")
        );
        assert_eq!(
            router.handler_for(&text(" LOUD ")),
            Some("wechat_tower::router::tests::shout")
        );
        assert_eq!(router.handler_for(&event("CLICK", "K")), None);
    }

    #[test]
    fn debug_lists_routes() {
        let router = Router::new().handler(echo);
        let debug = format!("{router:?}");
        assert!(debug.contains("MsgType \\\"text\\\""), "{debug}");
        assert!(debug.contains("router::tests::echo"), "{debug}");
        let service = router.build().unwrap();
        assert!(format!("{service:?}").starts_with("RouterService"));
    }
}
