//! What a handler takes: the message ([`FromMessage`]) first, then extractors
//! ([`FromContext`]: [`MessageContext`], [`OpenId`], [`State`]) from the context and the state.

use std::convert::Infallible;
use std::ops::{Deref, DerefMut};
use std::sync::Arc;

use wechat_core::message::{UnknownEvent, UnknownMessage};
use wechat_core::{Event, Header, Message};

use super::IntoReply;
use crate::route::{Route, is_known_event, is_known_msg_type};

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
    note = "extractors such as `MessageContext`, `OpenId` and `State<T>` come after the message"
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
/// [`Router::handler`](crate::router::Router::handler) infers the route of a plain `async fn`
/// from its first argument
/// (`TextMessage` → `MsgType` `text`, `ClickEvent` → `Event` `CLICK`, [`Event`] → any event).
#[diagnostic::on_unimplemented(
    message = "`{Self}` does not name one kind of message, so `Router::handler` cannot infer the route of a plain `async fn` taking it",
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

/// `FromMessage` and `TypedMessage` for every type of
/// wechat-core's table of kinds.
macro_rules! typed_kinds {
    (
        messages { $(($msg:literal, $msg_variant:ident, $msg_ty:ident, $_mc:ident),)* }
        events { $(($event:literal, $variant:ident, $ty:ident, $_ec:ident, $_keyed:ident),)* }
    ) => {
        $(
            impl FromMessage for wechat_core::message::$msg_ty {
                fn from_message(msg: Message) -> Result<Self, Message> {
                    match msg {
                        Message::$msg_variant(m) => Ok(m),
                        other => Err(other),
                    }
                }

                fn accepts(route: &Route) -> bool {
                    route.msg_type() == Some($msg)
                }
            }

            impl TypedMessage for wechat_core::message::$msg_ty {
                const MSG_TYPE: &'static str = $msg;
                const EVENT: Option<&'static str> = None;
            }
        )*
        $(
            impl FromMessage for wechat_core::message::$ty {
                fn from_message(msg: Message) -> Result<Self, Message> {
                    match msg {
                        Message::Event(Event::$variant(e)) => Ok(e),
                        other => Err(other),
                    }
                }

                fn accepts(route: &Route) -> bool {
                    route.event_name().is_some_and(|e| e.eq_ignore_ascii_case($event))
                }
            }

            impl TypedMessage for wechat_core::message::$ty {
                const MSG_TYPE: &'static str = "event";
                const EVENT: Option<&'static str> = Some($event);
            }

        )*
    };
}

wechat_core::__for_each_kind!(typed_kinds);

/// What the router knows about the message being handled, besides its body: who sent it, to
/// which account, when. Extract it whole, or a part with [`OpenId`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageContext {
    header: Header,
    app_id: Option<Arc<str>>,
}

impl MessageContext {
    /// A context for a message with this header, without an app id. The router builds it; tests
    /// of handlers build it with `MessageContext::new(msg.header.clone())`.
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

/// A handler argument extracted from the [`MessageContext`] and the router's state `S`.
///
/// Extraction is synchronous: everything an extractor needs is in hand when the message
/// arrives (I/O belongs in the handler body). An extractor that can fail rejects with a
/// [`Self::Rejection`], which answers the message in place of the handler.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be extracted by a WeChat handler",
    label = "not an extractor",
    note = "after the message, a handler's arguments implement `FromContext`: `MessageContext`, `OpenId`, or `State<T>` where the router's state gives a `T` (see `FromRef`)",
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
    fn from_context(ctx: &MessageContext, state: &S) -> Result<Self, Self::Rejection>;
}

impl<S> FromContext<S> for MessageContext {
    type Rejection = Infallible;

    fn from_context(ctx: &MessageContext, _: &S) -> Result<Self, Infallible> {
        Ok(ctx.clone())
    }
}

/// The sender's OpenID (`FromUserName`), as a handler argument.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct OpenId(pub String);

impl<S> FromContext<S> for OpenId {
    type Rejection = Infallible;

    fn from_context(ctx: &MessageContext, _: &S) -> Result<Self, Infallible> {
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

    fn from_context(_: &MessageContext, state: &S) -> Result<Self, Infallible> {
        Ok(Self(T::from_ref(state)))
    }
}

/// Gives a `Self` from a reference to the router's state `T`, so that handlers extract only the
/// part they need ([`State<Self>`](State)), as axum's `FromRef`. Every `T: Clone` gives itself.
#[diagnostic::on_unimplemented(
    message = "the state `{T}` does not give a `{Self}`",
    label = "not part of the state",
    note = "a `Router` and a `PayNotify` builder give their state to the handlers mounted before `.with_state(state)`: mount the handler first, then call `.with_state(..)`, then `build()`",
    note = "or implement `FromRef<{T}>` for `{Self}`"
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
