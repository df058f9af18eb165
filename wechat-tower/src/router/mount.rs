//! [`MountHandler`]: a handler that knows its own route, as [`Router::handler`] takes it.

use super::Router;

/// A handler that knows its own route: what [`Router::handler`] takes, and what
/// `#[wechat_handler]` makes of an `async fn`.
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
    message = "`{Self}` is not a handler made by `#[wechat_handler]`",
    label = "not a `#[wechat_handler]`",
    note = "`Router::handler` takes an `async fn` marked `#[wechat_handler(msg = \"text\")]` (or `event = \"..\"`, `fallback`, ...)",
    note = "mount a plain `async fn` with `Router::on`, `Router::on_key`, `Router::keyword`, `Router::prefix`, `Router::fallback` or `Router::route`",
    note = "a `#[wechat_handler(pay = \"notify\")]` or `pay = \"refund\"` handler mounts on the pay notify URL instead: `PayNotify::builder(config).handler(..)`"
)]
pub trait MountHandler<S> {
    /// Adds the handler (or handlers) to `router`, each on its route.
    fn mount(self, router: Router<S>) -> Router<S>;
}
