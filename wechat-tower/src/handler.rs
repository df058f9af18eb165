//! Handlers: what the [`Router`](crate::router::Router) calls, and the traits that make an
//! `async fn` one.
//!
//! A handler is any `async fn` (or closure returning a future) shaped like
//!
//! ```text
//! async fn name(msg: M, a1: A1, ..., an: An) -> R
//! ```
//!
//! - `M` implements [`FromMessage`]: a typed message or event of [`wechat_core::message`]
//!   ([`TextMessage`], [`ClickEvent`], ...), [`Event`] (any event), or [`Message`] (anything). The
//!   router moves the parsed message into it; nothing is cloned.
//! - each of the at most eight `Ai` implements [`FromContext`]: [`Context`] (open id, account,
//!   app id, create time, msg id), [`OpenId`], or [`State<T>`] (a part of the router's state, see
//!   [`FromRef`]).
//! - `R` implements [`IntoReply`]: [`Reply`], `String`/`&'static str` (a text reply), `()` and
//!   `Option<T>` (`None` answers `success`), `Result<T, E>` (an `Err` is logged and answers
//!   `success`, so WeChat neither retries nor shows the user an error).
//!
//! Such a fn implements [`Handler`], which is what [`Router::route`](crate::router::Router::route)
//! takes. A handler stays a plain fn, so unit tests call it directly:
//!
//! ```
//! use wechat_tower::message::TextMessage;
//! use wechat_tower::{Context, Message, State};
//!
//! #[derive(Clone)]
//! struct App {
//!     greeting: &'static str,
//! }
//!
//! async fn greet(msg: TextMessage, ctx: Context, State(app): State<App>) -> String {
//!     format!("{} {}, you said {}", app.greeting, ctx.open_id(), msg.content)
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let Message::Text(msg) = Message::from_xml(
//!     "<xml><ToUserName>gh_1</ToUserName><FromUserName>oUser</FromUserName>\
//!      <CreateTime>1</CreateTime><MsgType>text</MsgType><Content>hi</Content><MsgId>1</MsgId></xml>",
//! )?
//! else {
//!     unreachable!()
//! };
//! let ctx = Context::new(msg.header.clone());
//! let answer = greet(msg, ctx, State(App { greeting: "hello" })).await;
//! assert_eq!(answer, "hello oUser, you said hi");
//! # Ok(())
//! # }
//! ```

use std::convert::Infallible;
use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::ops::{Deref, DerefMut};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Poll, ready};

use pin_project_lite::pin_project;
use wechat_core::message::{
    ClickEvent, FileMessage, ImageMessage, LinkMessage, LocationEvent, LocationMessage,
    LocationSelectEvent, MassSendJobFinishEvent, MiniProgramPageMessage, PicPhotoOrAlbumEvent,
    PicSysphotoEvent, PicWeixinEvent, ScanEvent, ScancodePushEvent, ScancodeWaitmsgEvent,
    ShortVideoMessage, SubscribeEvent, SubscribeMsgChangeEvent, SubscribeMsgPopupEvent,
    SubscribeMsgSentEvent, TemplateSendJobFinishEvent, TextMessage, UnknownEvent, UnknownMessage,
    UnsubscribeEvent, UserEnterTempsessionEvent, VideoMessage, ViewEvent, ViewMiniprogramEvent,
    VoiceMessage,
};
use wechat_core::{Event, Header, Message, Reply};

use crate::router::Route;
use crate::router::route::{is_known_event, is_known_msg_type};

// ---------------------------------------------------------------------------------------------
// Handler

/// An async fn the [`Router`](crate::router::Router) can call. See the [module docs](self).
///
/// Implemented for every `FnOnce(M, A1, ..., An) -> Fut + Clone + Send + Sync + 'static` with
/// `M: FromMessage`, `Ai: FromContext<S>` (`n` ≤ 8), `Fut: Future + Send + 'static` and
/// `Fut::Output: IntoReply`. `T` is `(M, A1, ..., An)`: it only tells the implementations apart.
/// `S` is the router's state (see [`Router::with_state`](crate::router::Router::with_state)).
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a WeChat handler",
    label = "not a handler",
    note = "a handler is an `async fn` whose first argument is a message type (`TextMessage`, `ClickEvent`, ..., `Event` or `Message`), whose other arguments (at most 8) implement `FromContext` (`Context`, `OpenId`, `State<T>`), and whose output implements `IntoReply`",
    note = "the fn and its future must be `Send + 'static`, and the fn `Clone + Send + Sync`; closures need their argument types written out"
)]
pub trait Handler<T, S>: Clone + Send + Sync + Sized + 'static {
    /// The type of the handler's first argument.
    type Input: FromMessage;

    /// The future of one call.
    type Future: Future<Output = Reply> + Send + 'static;

    /// Extracts the arguments from `ctx` and `state`, converts `msg` into [`Self::Input`] (by
    /// moving it), and starts the handler.
    ///
    /// An extractor's rejection answers its [`IntoReply`] at once. A message that does not
    /// convert (the router never passes one) is logged and answers `success`.
    fn call(self, msg: Message, ctx: &Context, state: &S) -> Self::Future;
}

macro_rules! impl_handler {
    ($($arg:ident),*) => {
        #[allow(non_snake_case, unused_variables)]
        impl<F, Fut, S, M, $($arg,)*> Handler<(M, $($arg,)*), S> for F
        where
            F: FnOnce(M, $($arg,)*) -> Fut + Clone + Send + Sync + 'static,
            Fut: Future + Send + 'static,
            Fut::Output: IntoReply,
            M: FromMessage,
            $($arg: FromContext<S> + Send + 'static,)*
        {
            type Input = M;
            type Future = HandlerFuture<Fut>;

            fn call(self, msg: Message, ctx: &Context, state: &S) -> Self::Future {
                $(
                    let $arg = match $arg::from_context(ctx, state) {
                        Ok(value) => value,
                        Err(rejection) => return HandlerFuture::ready(rejection.into_reply()),
                    };
                )*
                match M::from_message(msg) {
                    Ok(msg) => HandlerFuture::running(self(msg, $($arg,)*)),
                    Err(msg) => HandlerFuture::ready(mismatch::<M>(&msg)),
                }
            }
        }
    };
}

impl_handler!();
impl_handler!(A1);
impl_handler!(A1, A2);
impl_handler!(A1, A2, A3);
impl_handler!(A1, A2, A3, A4);
impl_handler!(A1, A2, A3, A4, A5);
impl_handler!(A1, A2, A3, A4, A5, A6);
impl_handler!(A1, A2, A3, A4, A5, A6, A7);
impl_handler!(A1, A2, A3, A4, A5, A6, A7, A8);

fn mismatch<M>(msg: &Message) -> Reply {
    tracing::error!(
        expected = std::any::type_name::<M>(),
        msg_type = msg.msg_type(),
        event = msg.as_event().map(Event::event),
        "handler called with a message it does not take; answering `success`",
    );
    Reply::Success
}

pin_project! {
    /// The future of a [`Handler`] made from an async fn: the fn's future, its output turned
    /// into a [`Reply`] by [`IntoReply`]; or a reply known before the fn ran (an extractor's
    /// rejection).
    #[must_use = "futures do nothing unless polled"]
    pub struct HandlerFuture<Fut> {
        #[pin]
        state: FutureState<Fut>,
    }
}

pin_project! {
    #[project = FutureStateProj]
    enum FutureState<Fut> {
        Ready { reply: Option<Reply> },
        Running { #[pin] fut: Fut },
    }
}

impl<Fut> HandlerFuture<Fut> {
    fn ready(reply: Reply) -> Self {
        Self {
            state: FutureState::Ready { reply: Some(reply) },
        }
    }

    fn running(fut: Fut) -> Self {
        Self {
            state: FutureState::Running { fut },
        }
    }
}

impl<Fut> Future for HandlerFuture<Fut>
where
    Fut: Future,
    Fut::Output: IntoReply,
{
    type Output = Reply;

    fn poll(self: Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> Poll<Reply> {
        match self.project().state.project() {
            FutureStateProj::Ready { reply } => {
                Poll::Ready(reply.take().expect("HandlerFuture polled after completion"))
            }
            FutureStateProj::Running { fut } => Poll::Ready(ready!(fut.poll(cx)).into_reply()),
        }
    }
}

impl<Fut> fmt::Debug for HandlerFuture<Fut> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = match &self.state {
            FutureState::Ready { .. } => "Ready",
            FutureState::Running { .. } => "Running",
        };
        f.debug_struct("HandlerFuture")
            .field("state", &state)
            .finish()
    }
}

/// A handler with its types erased, as the router stores it.
pub(crate) type BoxReplyFuture = Pin<Box<dyn Future<Output = Reply> + Send + 'static>>;

/// [`Handler`] without its type parameters, behind an `Arc` in the router.
pub(crate) trait ErasedHandler<S>: Send + Sync + 'static {
    fn call(&self, msg: Message, ctx: &Context, state: &S) -> BoxReplyFuture;
}

/// Erases `H: Handler<T, S>`.
pub(crate) struct MakeErased<H, T> {
    handler: H,
    _args: PhantomData<fn() -> T>,
}

impl<H, T> MakeErased<H, T> {
    pub(crate) fn new(handler: H) -> Self {
        Self {
            handler,
            _args: PhantomData,
        }
    }
}

impl<H, T, S> ErasedHandler<S> for MakeErased<H, T>
where
    H: Handler<T, S>,
    T: 'static,
{
    fn call(&self, msg: Message, ctx: &Context, state: &S) -> BoxReplyFuture {
        Box::pin(self.handler.clone().call(msg, ctx, state))
    }
}

// ---------------------------------------------------------------------------------------------
// FromMessage

/// A type a handler takes as its first argument: converted from the [`Message`] by moving it.
///
/// Implemented for every message and event type of [`wechat_core::message`] (also
/// [`TypedMessage`]), for [`Event`] (any event), for [`UnknownMessage`] and [`UnknownEvent`]
/// (types this crate does not know, routed with [`Route::msg`] / [`Route::event`]), and for
/// [`Message`] (anything).
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a WeChat message type a handler can take",
    label = "not a message type",
    note = "the first argument of a handler is a message or event type of `wechat_tower::message` (`TextMessage`, `ImageMessage`, `SubscribeEvent`, `ClickEvent`, ...), `Event`, or `Message`",
    note = "extractors such as `Context`, `OpenId` and `State<T>` come after the message"
)]
pub trait FromMessage: Sized + Send + 'static {
    /// Takes the message apart; gives it back unchanged when it is of another type.
    ///
    /// # Errors
    ///
    /// The message itself, when it is not of this type.
    #[allow(
        clippy::result_large_err,
        reason = "the message is given back as it came, by move; boxing it would allocate"
    )]
    fn from_message(msg: Message) -> Result<Self, Message>;

    /// Whether every message that `route` matches converts into `Self`. The router checks it at
    /// [`build`](crate::router::Router::build) time, so that a handler of `ImageMessage` mounted
    /// on a text route is an error then rather than a surprise later.
    #[must_use]
    fn accepts(route: &Route) -> bool;
}

/// A [`FromMessage`] type that names one kind of message, so that
/// [`Router::on`](crate::router::Router::on) infers the route from a handler's first argument
/// (`TextMessage` → `MsgType` `text`, `ClickEvent` → `Event` `CLICK`, [`Event`] → any event).
#[diagnostic::on_unimplemented(
    message = "`{Self}` does not name one kind of message, so `Router::on` cannot infer the route",
    label = "takes more than one kind of message",
    note = "mount a handler taking `{Self}` with `Router::route(Route::msg(..), handler)` or `Router::fallback(handler)`"
)]
pub trait TypedMessage: FromMessage {
    /// `MsgType` of the type, as WeChat spells it (`event` for events).
    const MSG_TYPE: &'static str;
    /// `Event` of an event type, as WeChat spells it (`subscribe`, `CLICK`, ...); `None` for
    /// messages and for [`Event`] itself.
    const EVENT: Option<&'static str>;

    /// The route of the type: [`Route::event`] for an event type, [`Route::msg`] otherwise.
    #[must_use]
    fn route() -> Route {
        match Self::EVENT {
            Some(event) => Route::event(event),
            None => Route::msg(Self::MSG_TYPE),
        }
    }
}

/// An event type that carries an `EventKey`, so that
/// [`Router::on_key`](crate::router::Router::on_key) can route it by key: menu buttons (`CLICK`,
/// `VIEW`, `scancode_*`, `pic_*`, `location_select`, `view_miniprogram`) and QR scenes (`SCAN`,
/// `subscribe`).
#[diagnostic::on_unimplemented(
    message = "`{Self}` carries no `EventKey`, so `Router::on_key` cannot route it by key",
    label = "no EventKey",
    note = "`on_key` takes handlers of `SubscribeEvent`, `ScanEvent`, `ClickEvent`, `ViewEvent`, `ScancodePushEvent`, `ScancodeWaitmsgEvent`, `PicSysphotoEvent`, `PicPhotoOrAlbumEvent`, `PicWeixinEvent`, `LocationSelectEvent` or `ViewMiniprogramEvent`"
)]
pub trait KeyedEvent: TypedMessage {
    /// `Event` of the type, as WeChat spells it.
    const EVENT_NAME: &'static str;
}

impl FromMessage for Message {
    fn from_message(msg: Message) -> Result<Self, Message> {
        Ok(msg)
    }

    fn accepts(_: &Route) -> bool {
        true
    }
}

impl FromMessage for Event {
    fn from_message(msg: Message) -> Result<Self, Message> {
        match msg {
            Message::Event(event) => Ok(event),
            other => Err(other),
        }
    }

    fn accepts(route: &Route) -> bool {
        route.msg_type() == Some("event")
    }
}

impl TypedMessage for Event {
    const MSG_TYPE: &'static str = "event";
    const EVENT: Option<&'static str> = None;
}

impl FromMessage for UnknownMessage {
    fn from_message(msg: Message) -> Result<Self, Message> {
        match msg {
            Message::Unknown(m) => Ok(m),
            other => Err(other),
        }
    }

    fn accepts(route: &Route) -> bool {
        route.msg_type().is_some_and(|t| !is_known_msg_type(t))
    }
}

impl FromMessage for UnknownEvent {
    fn from_message(msg: Message) -> Result<Self, Message> {
        match msg {
            Message::Event(Event::Unknown(e)) => Ok(e),
            other => Err(other),
        }
    }

    fn accepts(route: &Route) -> bool {
        route.event_name().is_some_and(|e| !is_known_event(e))
    }
}

macro_rules! typed_messages {
    ($($ty:ident => $variant:ident, $name:literal;)*) => {$(
        impl FromMessage for $ty {
            fn from_message(msg: Message) -> Result<Self, Message> {
                match msg {
                    Message::$variant(m) => Ok(m),
                    other => Err(other),
                }
            }

            fn accepts(route: &Route) -> bool {
                route.msg_type() == Some($name)
            }
        }

        impl TypedMessage for $ty {
            const MSG_TYPE: &'static str = $name;
            const EVENT: Option<&'static str> = None;
        }
    )*};
}

typed_messages! {
    TextMessage => Text, "text";
    ImageMessage => Image, "image";
    VoiceMessage => Voice, "voice";
    VideoMessage => Video, "video";
    ShortVideoMessage => ShortVideo, "shortvideo";
    LocationMessage => Location, "location";
    LinkMessage => Link, "link";
    FileMessage => File, "file";
    MiniProgramPageMessage => MiniProgramPage, "miniprogrampage";
}

macro_rules! typed_events {
    ($($ty:ident => $variant:ident, $name:literal $(, $keyed:ident)?;)*) => {$(
        impl FromMessage for $ty {
            fn from_message(msg: Message) -> Result<Self, Message> {
                match msg {
                    Message::Event(Event::$variant(e)) => Ok(e),
                    other => Err(other),
                }
            }

            fn accepts(route: &Route) -> bool {
                route.event_name().is_some_and(|e| e.eq_ignore_ascii_case($name))
            }
        }

        impl TypedMessage for $ty {
            const MSG_TYPE: &'static str = "event";
            const EVENT: Option<&'static str> = Some($name);
        }

        $(typed_events!(@$keyed $ty, $name);)?
    )*};
    (@keyed $ty:ident, $name:literal) => {
        impl KeyedEvent for $ty {
            const EVENT_NAME: &'static str = $name;
        }
    };
}

typed_events! {
    SubscribeEvent => Subscribe, "subscribe", keyed;
    UnsubscribeEvent => Unsubscribe, "unsubscribe";
    ScanEvent => Scan, "SCAN", keyed;
    LocationEvent => Location, "LOCATION";
    ClickEvent => Click, "CLICK", keyed;
    ViewEvent => View, "VIEW", keyed;
    ScancodePushEvent => ScancodePush, "scancode_push", keyed;
    ScancodeWaitmsgEvent => ScancodeWaitmsg, "scancode_waitmsg", keyed;
    PicSysphotoEvent => PicSysphoto, "pic_sysphoto", keyed;
    PicPhotoOrAlbumEvent => PicPhotoOrAlbum, "pic_photo_or_album", keyed;
    PicWeixinEvent => PicWeixin, "pic_weixin", keyed;
    LocationSelectEvent => LocationSelect, "location_select", keyed;
    ViewMiniprogramEvent => ViewMiniprogram, "view_miniprogram", keyed;
    TemplateSendJobFinishEvent => TemplateSendJobFinish, "TEMPLATESENDJOBFINISH";
    MassSendJobFinishEvent => MassSendJobFinish, "MASSSENDJOBFINISH";
    SubscribeMsgPopupEvent => SubscribeMsgPopup, "subscribe_msg_popup_event";
    SubscribeMsgChangeEvent => SubscribeMsgChange, "subscribe_msg_change_event";
    SubscribeMsgSentEvent => SubscribeMsgSent, "subscribe_msg_sent_event";
    UserEnterTempsessionEvent => UserEnterTempsession, "user_enter_tempsession";
}

// ---------------------------------------------------------------------------------------------
// Context and extractors

/// What the router knows about the message being handled, besides its body: who sent it, to
/// which account, when. Extract it whole, or a part with [`OpenId`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Context {
    header: Header,
    app_id: Option<Arc<str>>,
}

impl Context {
    /// A context for a message with this header, without an app id. The router builds it; tests
    /// of handlers build it with `Context::new(msg.header.clone())`.
    #[must_use]
    pub fn new(header: Header) -> Self {
        Self {
            header,
            app_id: None,
        }
    }

    /// Sets the app id (see [`Router::app_id`](crate::router::Router::app_id)).
    #[must_use]
    pub fn with_app_id(mut self, app_id: impl Into<Arc<str>>) -> Self {
        self.app_id = Some(app_id.into());
        self
    }

    /// The sender's OpenID (`FromUserName`): whom a reply or a customer-service message goes to.
    #[must_use]
    pub fn open_id(&self) -> &str {
        &self.header.from_user_name
    }

    /// The account that received the message (`ToUserName`: the original id `gh_…`).
    #[must_use]
    pub fn account(&self) -> &str {
        &self.header.to_user_name
    }

    /// The app id configured with [`Router::app_id`](crate::router::Router::app_id), if any.
    #[must_use]
    pub fn app_id(&self) -> Option<&str> {
        self.app_id.as_deref()
    }

    /// `CreateTime`: seconds since the Unix epoch.
    #[must_use]
    pub fn create_time(&self) -> u64 {
        self.header.create_time
    }

    /// `MsgId` of a message (`MsgID` of a job-finish event); `None` for other events.
    #[must_use]
    pub fn msg_id(&self) -> Option<u64> {
        self.header.msg_id
    }

    /// The whole header of the message.
    #[must_use]
    pub fn header(&self) -> &Header {
        &self.header
    }
}

/// A handler argument extracted from the [`Context`] and the router's state `S`.
///
/// Extraction is synchronous: everything an extractor needs is in hand when the message
/// arrives (I/O belongs in the handler body). An extractor that can fail rejects with a
/// [`Self::Rejection`], which answers the message in place of the handler.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be extracted by a WeChat handler",
    label = "not an extractor",
    note = "after the message, a handler's arguments implement `FromContext`: `Context`, `OpenId`, or `State<T>` where the router's state gives a `T` (see `FromRef`)",
    note = "a handler takes at most 8 of them, after the message"
)]
pub trait FromContext<S>: Sized {
    /// What the message is answered with when extraction fails.
    type Rejection: IntoReply;

    /// Extracts the value.
    ///
    /// # Errors
    ///
    /// The rejection, which answers the message instead of the handler.
    fn from_context(ctx: &Context, state: &S) -> Result<Self, Self::Rejection>;
}

impl<S> FromContext<S> for Context {
    type Rejection = Infallible;

    fn from_context(ctx: &Context, _: &S) -> Result<Self, Infallible> {
        Ok(ctx.clone())
    }
}

/// The sender's OpenID (`FromUserName`), as a handler argument.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct OpenId(pub String);

impl<S> FromContext<S> for OpenId {
    type Rejection = Infallible;

    fn from_context(ctx: &Context, _: &S) -> Result<Self, Infallible> {
        Ok(Self(ctx.open_id().to_owned()))
    }
}

/// A part of the router's state, as a handler argument: `State(app): State<App>`. The state is
/// given by [`Router::with_state`](crate::router::Router::with_state); `T` is the state itself
/// (cloned, so keep it cheap: `Arc` inside) or any `T: FromRef<S>`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct State<T>(pub T);

impl<T> Deref for State<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T> DerefMut for State<T> {
    fn deref_mut(&mut self) -> &mut T {
        &mut self.0
    }
}

impl<S, T> FromContext<S> for State<T>
where
    T: FromRef<S>,
{
    type Rejection = Infallible;

    fn from_context(_: &Context, state: &S) -> Result<Self, Infallible> {
        Ok(Self(T::from_ref(state)))
    }
}

/// Gives a `Self` from a reference to the router's state `T`, so that handlers extract only the
/// part they need ([`State<Self>`](State)), as axum's `FromRef`. Every `T: Clone` gives itself.
#[diagnostic::on_unimplemented(
    message = "the router's state `{T}` does not give a `{Self}`",
    label = "not part of the state",
    note = "give the router a state of type `{Self}` with `Router::with_state(..)` before `build()`, or implement `FromRef<{T}>` for `{Self}`"
)]
pub trait FromRef<T> {
    /// Takes `Self` out of the state.
    fn from_ref(input: &T) -> Self;
}

impl<T: Clone> FromRef<T> for T {
    fn from_ref(input: &T) -> Self {
        input.clone()
    }
}

// ---------------------------------------------------------------------------------------------
// IntoReply

/// What a handler returns: anything that becomes a [`Reply`].
///
/// | returned | answers |
/// |---|---|
/// | [`Reply`] | itself |
/// | `String`, `&'static str` | [`Reply::Text`]; an empty string answers `success` |
/// | `()` | `success` (nothing to say) |
/// | `Option<T>` | `T`'s reply, or `success` for `None` |
/// | `Result<T, E>` with `E: Display` | `T`'s reply; an `Err` is logged with `tracing::error!` and answers `success`, so WeChat neither retries nor shows the user an error |
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be a WeChat reply",
    label = "not a reply",
    note = "a handler returns something that implements `IntoReply`: `Reply`, `String` or `&'static str` (a text reply), `()` (answers `success`), `Option<T>`, or `Result<T, E>` with `E: Display`"
)]
pub trait IntoReply {
    /// Turns `self` into a reply.
    fn into_reply(self) -> Reply;
}

impl IntoReply for Reply {
    fn into_reply(self) -> Reply {
        self
    }
}

impl IntoReply for String {
    fn into_reply(self) -> Reply {
        if self.is_empty() {
            Reply::Success
        } else {
            Reply::Text(self)
        }
    }
}

impl IntoReply for &'static str {
    fn into_reply(self) -> Reply {
        self.to_owned().into_reply()
    }
}

impl IntoReply for () {
    fn into_reply(self) -> Reply {
        Reply::Success
    }
}

impl IntoReply for Infallible {
    fn into_reply(self) -> Reply {
        match self {}
    }
}

impl<T: IntoReply> IntoReply for Option<T> {
    fn into_reply(self) -> Reply {
        self.map_or(Reply::Success, IntoReply::into_reply)
    }
}

impl<T: IntoReply, E: fmt::Display> IntoReply for Result<T, E> {
    fn into_reply(self) -> Reply {
        match self {
            Ok(value) => value.into_reply(),
            Err(error) => {
                tracing::error!(%error, "handler failed; answering `success`");
                Reply::Success
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header() -> Header {
        Header {
            to_user_name: "gh_account".into(),
            from_user_name: "oUser".into(),
            create_time: 1_700_000_000,
            msg_id: Some(42),
        }
    }

    fn text(content: &str) -> Message {
        Message::Text(TextMessage {
            header: header(),
            content: content.into(),
            biz_msg_menu_id: None,
        })
    }

    async fn call<T, S, H: Handler<T, S>>(handler: H, msg: Message, state: &S) -> Reply {
        let ctx = Context::new(header()).with_app_id("wx_app");
        handler.call(msg, &ctx, state).await
    }

    #[tokio::test]
    async fn reply_is_returned_as_is() {
        let reply = call(|_: TextMessage| async { Reply::image("m") }, text("x"), &()).await;
        assert_eq!(reply, Reply::image("m"));
    }

    #[tokio::test]
    async fn string_is_a_text_reply() {
        let reply = call(|m: TextMessage| async move { m.content }, text("hi"), &()).await;
        assert_eq!(reply, Reply::text("hi"));
    }

    #[tokio::test]
    async fn static_str_is_a_text_reply() {
        let reply = call(|_: TextMessage| async { "hello" }, text("x"), &()).await;
        assert_eq!(reply, Reply::text("hello"));
    }

    #[test]
    fn empty_string_answers_success() {
        assert_eq!(String::new().into_reply(), Reply::Success);
        assert_eq!("".into_reply(), Reply::Success);
    }

    #[tokio::test]
    async fn unit_answers_success() {
        let reply = call(|_: Message| async {}, text("x"), &()).await;
        assert_eq!(reply, Reply::Success);
    }

    #[test]
    fn option_answers_its_value_or_success() {
        assert_eq!(Some("a").into_reply(), Reply::text("a"));
        assert_eq!(None::<Reply>.into_reply(), Reply::Success);
    }

    #[test]
    fn result_answers_ok_and_turns_err_into_success() {
        assert_eq!(Ok::<_, String>("a").into_reply(), Reply::text("a"));
        assert_eq!(
            Err::<Reply, _>(std::fmt::Error).into_reply(),
            Reply::Success
        );
    }

    #[tokio::test]
    async fn context_open_id_and_state_are_extracted() {
        #[derive(Clone)]
        struct App {
            name: &'static str,
        }
        let handler = |_: TextMessage,
                       ctx: Context,
                       OpenId(open_id): OpenId,
                       State(app): State<App>| async move {
            format!(
                "{} {} {} {:?} {} {:?}",
                app.name,
                open_id,
                ctx.account(),
                ctx.app_id(),
                ctx.create_time(),
                ctx.msg_id()
            )
        };
        let reply = call(handler, text("x"), &App { name: "app" }).await;
        assert_eq!(
            reply,
            Reply::text("app oUser gh_account Some(\"wx_app\") 1700000000 Some(42)")
        );
    }

    #[tokio::test]
    async fn from_ref_extracts_a_part_of_the_state() {
        #[derive(Clone)]
        struct Greeting(&'static str);
        struct App {
            greeting: Greeting,
        }
        impl FromRef<App> for Greeting {
            fn from_ref(app: &App) -> Self {
                app.greeting.clone()
            }
        }
        let handler = |_: TextMessage, State(Greeting(g)): State<Greeting>| async move { g };
        let app = App {
            greeting: Greeting("hey"),
        };
        assert_eq!(call(handler, text("x"), &app).await, Reply::text("hey"));
    }

    #[tokio::test]
    async fn rejection_answers_in_place_of_the_handler() {
        struct Never;
        impl<S> FromContext<S> for Never {
            type Rejection = &'static str;
            fn from_context(_: &Context, _: &S) -> Result<Self, &'static str> {
                Err("rejected")
            }
        }
        let handler = |_: TextMessage, _: Never| async { "handled" };
        assert_eq!(call(handler, text("x"), &()).await, Reply::text("rejected"));
    }

    #[tokio::test]
    async fn eight_extractors_are_accepted() {
        let handler = |_: Message,
                       _: Context,
                       _: OpenId,
                       _: Context,
                       _: OpenId,
                       _: Context,
                       _: OpenId,
                       _: Context,
                       OpenId(last): OpenId| async move { last };
        assert_eq!(call(handler, text("x"), &()).await, Reply::text("oUser"));
    }

    #[tokio::test]
    async fn message_of_another_type_answers_success() {
        let reply = call(|_: ImageMessage| async { "image" }, text("x"), &()).await;
        assert_eq!(reply, Reply::Success);
    }

    #[test]
    fn from_message_moves_or_gives_the_message_back() {
        let TextMessage { content, .. } = TextMessage::from_message(text("hi")).unwrap();
        assert_eq!(content, "hi");
        let back = ClickEvent::from_message(text("hi")).unwrap_err();
        assert_eq!(back, text("hi"));
        assert!(Event::from_message(text("hi")).is_err());
        assert_eq!(Message::from_message(text("hi")).unwrap(), text("hi"));
    }

    #[test]
    fn typed_messages_name_their_route() {
        assert_eq!(TextMessage::route(), Route::msg("text"));
        assert_eq!(ClickEvent::route(), Route::event("click"));
        assert_eq!(SubscribeEvent::route(), Route::event("subscribe"));
        assert_eq!(Event::route(), Route::msg("event"));
        assert_eq!(<ScanEvent as KeyedEvent>::EVENT_NAME, "SCAN");
    }

    #[test]
    fn accepts_checks_the_route_kind() {
        assert!(TextMessage::accepts(&Route::msg("text")));
        assert!(TextMessage::accepts(&Route::keyword("help")));
        assert!(TextMessage::accepts(&Route::prefix("q")));
        assert!(!TextMessage::accepts(&Route::msg("image")));
        assert!(!TextMessage::accepts(&Route::fallback()));
        assert!(ClickEvent::accepts(&Route::event_key("click", "K")));
        assert!(!ClickEvent::accepts(&Route::event("VIEW")));
        assert!(Event::accepts(&Route::event("CLICK")));
        assert!(Event::accepts(&Route::msg("event")));
        assert!(!Event::accepts(&Route::msg("text")));
        assert!(Message::accepts(&Route::fallback()));
        assert!(UnknownMessage::accepts(&Route::msg("brand_new")));
        assert!(!UnknownMessage::accepts(&Route::msg("text")));
        assert!(UnknownEvent::accepts(&Route::event("brand_new")));
        assert!(!UnknownEvent::accepts(&Route::event("CLICK")));
    }
}
