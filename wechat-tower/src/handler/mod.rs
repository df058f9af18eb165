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
//!   ([`TextMessage`](crate::message::TextMessage), [`ClickEvent`](crate::message::ClickEvent), ...), [`Event`] (any event), or [`Message`] (anything). The
//!   router moves the parsed message into it; nothing is cloned.
//! - each of the at most eight `Ai` implements [`FromContext`]: [`MessageContext`] (open id, account,
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
//! use wechat_tower::{MessageContext, Message, State};
//!
//! #[derive(Clone)]
//! struct App {
//!     greeting: &'static str,
//! }
//!
//! async fn greet(msg: TextMessage, ctx: MessageContext, State(app): State<App>) -> String {
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
//! let ctx = MessageContext::new(msg.header.clone());
//! let answer = greet(msg, ctx, State(App { greeting: "hello" })).await;
//! assert_eq!(answer, "hello oUser, you said hi");
//! # Ok(())
//! # }
//! ```

mod extract;
mod reply;

use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::task::{Poll, ready};

use pin_project_lite::pin_project;
use wechat_core::{Event, Message, Reply};

pub use self::extract::{
    FromContext, FromMessage, FromRef, MessageContext, OpenId, State, TypedMessage,
};
pub use self::reply::IntoReply;

/// An async fn the [`Router`](crate::router::Router) can call. See the [module docs](self).
///
/// Implemented for every `FnOnce(M, A1, ..., An) -> Fut + Clone + Send + Sync + 'static` with
/// `M: FromMessage`, `Ai: FromContext<S>` (`n` ≤ 8), `Fut: Future + Send + 'static` and
/// `Fut::Output: IntoReply`. `T` is `(M, A1, ..., An)`: it only tells the implementations apart.
/// `S` is the router's state (see [`Router::with_state`](crate::router::Router::with_state)).
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a WeChat handler",
    label = "not a handler",
    note = "a handler is an `async fn` whose first argument is a message type (`TextMessage`, `ClickEvent`, ..., `Event` or `Message`), whose other arguments (at most 8) implement `FromContext` (`MessageContext`, `OpenId`, `State<T>`), and whose output implements `IntoReply`",
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
    fn call(self, msg: Message, ctx: &MessageContext, state: &S) -> Self::Future;
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

            fn call(self, msg: Message, ctx: &MessageContext, state: &S) -> Self::Future {
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
    fn call(&self, msg: Message, ctx: &MessageContext, state: &S) -> BoxReplyFuture;
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
    fn call(&self, msg: Message, ctx: &MessageContext, state: &S) -> BoxReplyFuture {
        Box::pin(self.handler.clone().call(msg, ctx, state))
    }
}

#[cfg(test)]
mod tests {
    use wechat_core::message::{
        ClickEvent, ImageMessage, SubscribeEvent, TextMessage, UnknownEvent, UnknownMessage,
    };

    use wechat_core::Header;

    use super::*;
    use crate::route::Route;

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
        let ctx = MessageContext::new(header()).with_app_id("wx_app");
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
                       ctx: MessageContext,
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
            fn from_context(_: &MessageContext, _: &S) -> Result<Self, &'static str> {
                Err("rejected")
            }
        }
        let handler = |_: TextMessage, _: Never| async { "handled" };
        assert_eq!(call(handler, text("x"), &()).await, Reply::text("rejected"));
    }

    #[tokio::test]
    async fn eight_extractors_are_accepted() {
        let handler = |_: Message,
                       _: MessageContext,
                       _: OpenId,
                       _: MessageContext,
                       _: OpenId,
                       _: MessageContext,
                       _: OpenId,
                       _: MessageContext,
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
