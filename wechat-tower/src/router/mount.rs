//! [`MountHandler`]: a handler that knows its own route, as [`Router::handler`] takes it.

use std::marker::PhantomData;

use super::Router;
use crate::handler::{Handler, TypedMessage};

/// A handler that knows its own route: what [`Router::handler`] takes. `#[wechat_handler]`
/// implements it for the fn it marks; it is implemented for every plain `async fn` whose first
/// argument names one kind of message (through the marker [`ByType`]).
///
/// ```
/// use wechat_tower::message::TextMessage;
/// use wechat_tower::{Router, wechat_handler};
///
/// #[wechat_handler(msg = "text")]
/// async fn echo(msg: TextMessage) -> String {
///     msg.content
/// }
///
/// let router = Router::new().handler(echo).build()?;
/// # Ok::<(), wechat_tower::RouteError>(())
/// ```
///
/// The attribute turns `echo` into a unit struct that implements `MountHandler<S>` for every
/// state `S` its extractors can be taken from, by calling [`Router::route`] with the route of
/// its arguments (`msg = "text"` → [`Route::msg("text")`](super::Route::msg)). See the
/// attribute's docs for the whole expansion.
///
/// Implementing it by hand bundles handlers that belong together, so that one call mounts them
/// all:
///
/// ```
/// use wechat_tower::message::ClickEvent;
/// use wechat_tower::router::{MountHandler, Router};
/// use wechat_tower::wechat_handler;
///
/// #[wechat_handler(event = "CLICK", key = "MENU_TODAY")]
/// async fn today(_: ClickEvent) -> &'static str {
///     "Noodles"
/// }
///
/// #[wechat_handler(event = "CLICK", key = "MENU_HOURS")]
/// async fn hours(_: ClickEvent) -> &'static str {
///     "9 to 5"
/// }
///
/// /// Every button of the menu.
/// struct Menu;
///
/// impl<S: Send + Sync + 'static> MountHandler<S> for Menu {
///     fn mount(self, router: Router<S>) -> Router<S> {
///         router.handler(today).handler(hours)
///     }
/// }
///
/// let router = Router::new().handler(Menu).build()?;
/// # Ok::<(), wechat_tower::RouteError>(())
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a message handler `Router::handler` can mount",
    label = "not a message handler with a route",
    note = "`Router::handler` takes an `async fn` marked `#[wechat_handler(msg = \"text\")]` (or `event = \"..\"`, `fallback`, ...), or a plain `async fn` whose first argument names one kind of message (`TextMessage`, `ClickEvent`, ..., `Event`)",
    note = "mount a plain `async fn` on a route its type cannot name with `Router::route(Route::event_key(..) | Route::keyword(..) | Route::prefix(..), handler)` or `Router::fallback`",
    note = "a `#[wechat_handler(pay = \"notify\")]` or `pay = \"refund\"` handler mounts on the pay notify URL instead: `PayNotify::builder(config).handler(..)`"
)]
pub trait MountHandler<S, M = ()> {
    /// Adds the handler (or handlers) to `router`, each on its route.
    fn mount(self, router: Router<S>) -> Router<S>;
}

/// The marker of [`MountHandler`]'s impl for plain `async fn`s (axum's trick): `T` is the
/// handler's argument tuple. Generated and hand-written impls use the default marker `()`, so
/// the two can never overlap, and `Router::handler` infers which one applies.
#[derive(Debug)]
pub struct ByType<T>(PhantomData<fn() -> T>);

impl<S, H, T> MountHandler<S, ByType<T>> for H
where
    S: Send + Sync + 'static,
    H: Handler<T, S>,
    H::Input: TypedMessage,
    T: 'static,
{
    fn mount(self, router: Router<S>) -> Router<S> {
        router.route(<H::Input as TypedMessage>::route(), self)
    }
}
