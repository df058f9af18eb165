//! The `#[wechat_handler]` attribute of `wechat-tower`. Users depend on `wechat-tower`, which
//! re-exports it as `wechat_tower::wechat_handler`; see [`macro@wechat_handler`].

mod attr;
mod checks;
mod expand;
mod kinds;

use proc_macro::TokenStream;

/// Turns an `async fn` into a typed WeChat handler that knows its route, for
/// `wechat_tower::Router::handler`.
///
/// ```
/// use wechat_tower::message::{ClickEvent, SubscribeEvent, TextMessage};
/// use wechat_tower::{Reply, Router, State, wechat_handler};
///
/// #[derive(Clone)]
/// struct AppState {
///     welcome: &'static str,
/// }
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
/// #[wechat_handler(event = "subscribe")]
/// async fn welcome(_: SubscribeEvent, State(app): State<AppState>) -> &'static str {
///     app.welcome
/// }
///
/// #[wechat_handler(event = "CLICK", key = "DOWNLOAD_APP")]
/// async fn download(_: ClickEvent) -> Reply {
///     Reply::text("https://example.com/app")
/// }
///
/// let router = Router::new()
///     .handler(echo)
///     .handler(help)
///     .handler(welcome)
///     .handler(download)
///     .with_state(AppState { welcome: "Welcome!" })
///     .build()?;
/// # Ok::<(), wechat_tower::RouteError>(())
/// ```
///
/// # Arguments
///
/// One kind, which names the messages the handler answers and the type it takes first:
///
/// | argument | route | first argument |
/// |---|---|---|
/// | `msg = "text"` | `MsgType` `text` | `TextMessage` or `Message` |
/// | `msg = "image"`, `"voice"`, `"video"`, `"shortvideo"`, `"location"`, `"link"`, `"file"`, `"miniprogrampage"` | that `MsgType` | `ImageMessage`, `VoiceMessage`, `VideoMessage`, `ShortVideoMessage`, `LocationMessage`, `LinkMessage`, `FileMessage`, `MiniProgramPageMessage`; or `Message` |
/// | `msg = "event"` | every event no event route takes | `Event` or `Message` |
/// | `event = "subscribe"`, `"unsubscribe"`, `"SCAN"`, `"LOCATION"`, `"CLICK"`, `"VIEW"`, `"scancode_push"`, `"scancode_waitmsg"`, `"pic_sysphoto"`, `"pic_photo_or_album"`, `"pic_weixin"`, `"location_select"`, `"view_miniprogram"`, `"TEMPLATESENDJOBFINISH"`, `"MASSSENDJOBFINISH"`, `"subscribe_msg_popup_event"`, `"subscribe_msg_change_event"`, `"subscribe_msg_sent_event"`, `"user_enter_tempsession"`, `"PUBLISHJOBFINISH"`, `"wxa_media_check"` | that `Event`, spelled as WeChat does | the event's type (`SubscribeEvent`, `ClickEvent`, ...), `Event` or `Message` |
/// | `fallback` | whatever no other route takes | `Message` |
/// | `pay = "notify"` | WeChat Pay payments (支付结果通知), v2 and v3: a slot of `wechat_tower::pay::PayNotify`, not a router route | `Paid` (either protocol), `PayNotification` (v2) or `v3::Transaction` (v3) |
/// | `pay = "refund"` | WeChat Pay refunds (退款结果通知), v2 and v3 | `Refunded`, `RefundNotification` (v2) or `v3::Refund` (v3) |
/// | `pay = "transfer"` | WeChat Pay merchant transfers (商家转账回调, `MCHTRANSFER.*`), v3 only | `v3::TransferBill` |
///
/// and, to narrow it:
///
/// | argument | with | matches |
/// |---|---|---|
/// | `key = "V1001"` | an `event` that carries an `EventKey` (`subscribe`, `SCAN`, `CLICK`, `VIEW`, `scancode_*`, `pic_*`, `location_select`, `view_miniprogram`) | that `EventKey` exactly; for `subscribe`, also `qrscene_V1001` |
/// | `keyword = "help"` | `msg = "text"` | text whose trimmed content is the keyword |
/// | `prefix = "weather "` | `msg = "text"` | text that starts with the prefix (the longest prefix wins) |
///
/// The router picks the most specific route (keyword, then prefix, then `msg = "text"`; event
/// and key, then event, then `msg = "event"`; then the fallback), as for routes mounted by hand
/// (see `wechat_tower::Route`).
///
/// # The fn
///
/// A free `async fn`, not generic, `pub` or private, in any module:
///
/// ```text
/// async fn name(msg: M, a1: A1, ..., an: An) -> R
/// ```
///
/// - `M`, the message, is the kind's type (table above), moved in.
/// - the at most eight `Ai` implement `FromContext<S>`: `MessageContext`, `OpenId`, `State<T>`, or an
///   extractor of your own; patterns work (`State(app): State<AppState>`).
/// - `R` implements `IntoReply`: `Reply`, `String`, `&'static str`, `()`, `Option<T>`,
///   `Result<T, E>`.
/// - its future is `Send` (hold no `Rc` or `MutexGuard` across an `.await`).
///
/// A pay handler (`pay = ".."`) has the same shape with the pay traits of `wechat_tower::pay`:
/// the notification first (`FromNotification`), then at most eight `FromPayContext<S>`
/// extractors (`PayContext`, `State<T>`), and an `IntoPayOutcome` output (`()` or
/// `Result<(), E>` with `E: Display`: `Ok` answers WeChat SUCCESS, `Err` FAIL). It mounts with
/// `PayNotifyBuilder::handler`, in the slot of its kind:
///
/// ```
/// use wechat_tower::pay::{Paid, PayConfig, PayNotify, Refunded};
/// use wechat_tower::wechat_handler;
///
/// #[wechat_handler(pay = "notify")]
/// async fn paid(payment: Paid) -> Result<(), String> {
///     if payment.total_fee() == 0 {
///         return Err("no amount".into()); // FAIL: WeChat delivers it again
///     }
///     Ok(())
/// }
///
/// #[wechat_handler(pay = "refund")]
/// async fn refunded(_: Refunded) {}
///
/// let config = PayConfig::new("wx1", "10000100", "192006250b4c09247ec02edce69f6a2d");
/// let notify = PayNotify::builder(config).handler(paid).handler(refunded).build()?;
/// # let _ = notify;
/// # Ok::<(), wechat_tower::pay::PayRouteError>(())
/// ```
///
/// # Compile errors
///
/// Each mistake is an error on the tokens that make it, and the handler is still emitted, so
/// that uses of it report nothing more:
///
/// - an unknown kind, with the closest one suggested and the list of valid ones:
///   `msg = "txet"` → "unknown message type `txet`: did you mean `text`? expected one of text,
///   image, ..."; an event under `msg` or a message type under `event` says which to write;
/// - an unknown or duplicate argument, two kinds, `key` with a message type or with an event
///   that never carries one, `keyword`/`prefix` with anything but `msg = "text"`, an empty
///   `key`/`keyword`/`prefix`;
/// - a fn that is not `async`, takes `self`, is generic, takes no message, more than eight
///   extractors, or a reference;
/// - a first argument of the wrong type, on that type: "`ClickEvent` cannot take the messages of
///   `msg = "text"`", "expected `TextMessage` (or `Message`)";
/// - an argument that cannot be extracted, on its type: "`String` cannot be extracted by a
///   WeChat handler";
/// - a return type that is not `IntoReply`, on that type: "`u32` cannot be a WeChat reply"
///   (for pay handlers: "`String` is not what a WeChat Pay handler returns");
/// - a future that is not `Send`, on the fn's name.
///
/// # Expansion
///
/// The attribute takes the shape of actix-web's route macros: the fn's name becomes a value, a
/// unit struct, that `Router::handler` mounts; the body moves into that struct as `call`, so it
/// stays callable, in unit tests for instance. For
///
/// ```text
/// /// Says it back.
/// #[wechat_handler(msg = "text")]
/// pub async fn echo(msg: TextMessage, ctx: MessageContext) -> String {
///     format!("{} said {}", ctx.open_id(), msg.content)
/// }
/// ```
///
/// it emits (formatted)
///
/// ```text
/// /// Says it back.
/// ///
/// /// A WeChat handler, `#[wechat_handler(msg = "text")]`: mount it with `Router::handler(echo)`; its body is `echo::call`.
/// #[allow(non_camel_case_types)]
/// #[derive(::wechat_tower::__private::Clone, ::wechat_tower::__private::Copy, ::wechat_tower::__private::Debug)]
/// pub struct echo;
///
/// impl echo {
///     /// The body of the handler [`echo`](Self), as written: call it directly, in unit tests for instance.
///     #[allow(clippy::unused_async)] // a handler is async even when its body never awaits
///     pub async fn call(msg: TextMessage, ctx: MessageContext) -> String {
///         format!("{} said {}", ctx.open_id(), msg.content)
///     }
/// }
///
/// #[allow(non_camel_case_types)]
/// impl<__wechat_S> ::wechat_tower::__private::MountHandler<__wechat_S> for echo
/// where
///     __wechat_S: ::wechat_tower::__private::Send + ::wechat_tower::__private::Sync + 'static,
///     <__wechat_S as ::wechat_tower::__private::Defer<MessageContext>>::Is:
///         ::wechat_tower::__private::FromContext<__wechat_S> + ::wechat_tower::__private::Send + 'static,
/// {
///     fn mount(
///         self,
///         __wechat_router: ::wechat_tower::__private::Router<__wechat_S>,
///     ) -> ::wechat_tower::__private::Router<__wechat_S> {
///         use ::wechat_tower::__private::{MountChecked as _, MountUnchecked as _};
///         (&::wechat_tower::__private::Mounting::<TextMessage, String>::new()).mount(
///             __wechat_router,
///             ::wechat_tower::__private::Route::msg("text"),
///             self,
///             |__wechat_msg: TextMessage, __wechat_arg1: MessageContext| {
///                 ::wechat_tower::__private::boxed(Self::call(__wechat_msg, __wechat_arg1)) // spanned on `echo`
///             },
///         )
///     }
/// }
///
/// #[allow(dead_code, non_camel_case_types)]
/// const _: () = {
///     fn __wechat_takes<__wechat_M: ::wechat_tower::__private::kind::MsgText>() {}
///     fn __wechat_replies<__wechat_R: ::wechat_tower::__private::IntoReply>() {}
///     fn __wechat_check() {
///         __wechat_takes::<TextMessage>(); // spanned on `TextMessage`
///         __wechat_replies::<String>(); // spanned on `String`
///     }
/// };
/// ```
///
/// - `echo` is a `Copy` unit struct with the fn's visibility and docs (plus a line naming its
///   route), so `#![deny(missing_docs)]` holds when the fn was documented; `#[cfg]` goes on every
///   item, lint attributes (`allow`, `warn`, `deny`, `forbid`) on the struct and on `call`, other
///   attributes on `call`.
/// - `echo::call` is the fn as written, with the fn's visibility: a unit test calls
///   `echo::call(msg, ctx).await` (build a `MessageContext` with `MessageContext::new(msg.header.clone())`).
/// - `MountHandler<S>` is implemented for every router state `S` the extractors can be taken
///   from; `Router::handler(echo)` mounts a closure that calls `echo::call` and boxes its future
///   (one allocation per message), named `my_crate::echo` in route errors, `Debug` and
///   `RouterService::handler_for`. The extractors' bounds go through `Defer` (`<S as
///   Defer<T>>::Is` is `T`) so that they mention `S`: the compiler checks them where the handler
///   is mounted, for the router's state (a `State<T>` whose `T` the state does not give, or a
///   type that is no extractor at all, is an error there, as for handlers mounted by hand).
/// - the first argument and the output are checked where they are written, in the `const _`
///   block: each check is a call spanned on the user's type, so its error lands on that type,
///   under the message of a `#[diagnostic::on_unimplemented]` trait. A body that is not `Send`
///   is reported by `boxed`, on the fn's name, with the compiler's account of the value held
///   across an `.await`.
/// - each mistake is reported once: `Mounting::<M, R>` mounts the handler when `M` is a message
///   type and `R` a reply, and mounts nothing otherwise (method resolution picks one of two
///   traits, as in autoref specialization), so a wrong first argument or output, reported where
///   it is written, is not reported again at `Router::handler(echo)`.
/// - generated code names only `::wechat_tower::__private::...` (re-exports of `Router`,
///   `Route`, `MountHandler`, `Clone`, `Send`, ... and the check traits) and identifiers
///   starting with `__wechat_`, so it works whatever the module imports (even under
///   `#![no_implicit_prelude]`) and next to items of the same names; the unit struct and its
///   `call` are the only names it adds.
/// - on a mistake in the attribute's arguments the handler is still emitted, unchecked and
///   mounting nothing, next to the `compile_error!`s, so that `Router::handler(echo)` and
///   `echo::call(..)` raise nothing more; on a mistake in the fn itself (not `async`, `self`,
///   generic, ...) the fn is emitted as written, so that the name still resolves.
///
/// Being a unit struct, `echo` is a value in its module, as with actix-web's macros: a binding
/// named `echo` anywhere in that module, the handler's own body included, is read as the struct
/// ("`echo` is interpreted as a unit struct, not a new binding": rename the binding).
/// `Router::handler` takes both forms: `Router::handler(echo)` mounts it on the attribute's
/// route, and `Router::handler(echo::call)` mounts the plain body on the route of its first
/// argument's type.
#[proc_macro_attribute]
pub fn wechat_handler(args: TokenStream, item: TokenStream) -> TokenStream {
    expand::expand(args.into(), item.into()).into()
}

/// The kind-check traits of `wechat_tower::kind`, from the table of
/// `wechat_core::__for_each_kind!`. Not part of the public API: `wechat-tower` calls it once.
#[doc(hidden)]
#[proc_macro]
pub fn __kind_checks(input: TokenStream) -> TokenStream {
    checks::expand(input.into()).into()
}
