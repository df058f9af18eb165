//! Which first argument a handler of each kind takes: one marker trait per kind of
//! [`#[wechat_handler]`](crate::wechat_handler) (`msg = "text"` → [`MsgText`], `event = "CLICK"`
//! → [`EventClick`], `fallback` → [`Fallback`], `pay = "notify"` → `PayNotify`), implemented by
//! the types a handler of that kind may take first: the kind's own type, [`Message`] (and
//! [`Event`] for events).
//!
//! The macro checks a handler's first argument against its kind's trait, so a `ClickEvent`
//! handler under `msg = "text"` is a compile error on the argument's type, and the error names
//! the trait of this module. You never implement or name these traits yourself.
//!
//! The module also holds [`boxed`], whose `Send` bound reports a body that holds something not
//! `Send` across an `.await`. Extractors are not checked here: what a `State<T>` can take
//! depends on the router's state, so they are checked where the handler is mounted.

use std::future::Future;
use std::pin::Pin;

use wechat_core::message::*;
use wechat_core::{Event, Message};

/// The future of a generated handler: the body's future, boxed.
pub type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

/// Boxes the future of a handler's body. Its `Send` bound is where a body that holds something
/// not `Send` across an `.await` is reported, with the compiler's explanation of which value.
pub fn boxed<F>(future: F) -> BoxFuture<F::Output>
where
    F: Future + Send + 'static,
{
    Box::pin(future)
}

// One trait per kind of `wechat_core::__for_each_kind!`, with its impls: the type of the
// kind, `Message` (and `Event` for events).
macro_rules! kind_checks {
    ($($table:tt)*) => {
        ::wechat_macros::__kind_checks! { $($table)* }
    };
}

wechat_core::__for_each_kind!(kind_checks);

macro_rules! kinds {
    ($($kind:ident, $message:tt, $label:tt, $note:tt;)*) => {$(
        #[doc = $message]
        #[diagnostic::on_unimplemented(message = $message, label = $label, note = $note)]
        pub trait $kind {}
    )*};
}

kinds! {
    MsgEvent,
        "`{Self}` cannot take the messages of `msg = \"event\"` (every event)",
        "expected `Event` (or `Message`)",
        "the first argument of a `msg = \"event\"` handler is `Event` or `Message`; extractors come after it";
    Fallback,
        "`{Self}` cannot take every message, as a `fallback` handler must",
        "expected `Message`",
        "the fallback answers whatever no other route takes, so its first argument is `Message`";
}

impl MsgEvent for Event {}
impl MsgEvent for Message {}

impl Fallback for Message {}

#[cfg(feature = "pay")]
use crate::pay::{Paid, Refunded};
#[cfg(feature = "pay")]
use wechat_core::pay::{PayNotification, RefundNotification, v3};

#[cfg(feature = "pay")]
kinds! {
    PayNotify,
        "`{Self}` cannot take the notifications of `pay = \"notify\"`",
        "expected `Paid` (or `PayNotification`, `v3::Transaction`)",
        "the first argument of a `pay = \"notify\"` handler is `Paid` (v2 or v3), `PayNotification` (v2) or `v3::Transaction` (v3); `PayContext` and `State<T>` come after it";
    PayRefund,
        "`{Self}` cannot take the notifications of `pay = \"refund\"`",
        "expected `Refunded` (or `RefundNotification`, `v3::Refund`)",
        "the first argument of a `pay = \"refund\"` handler is `Refunded` (v2 or v3), `RefundNotification` (v2) or `v3::Refund` (v3); `PayContext` and `State<T>` come after it";
    PayTransfer,
        "`{Self}` cannot take the notifications of `pay = \"transfer\"`",
        "expected `v3::TransferBill`",
        "the first argument of a `pay = \"transfer\"` handler (商家转账回调, v3 only) is `v3::TransferBill`; `PayContext` and `State<T>` come after it";
}

#[cfg(feature = "pay")]
impl PayNotify for Paid {}
#[cfg(feature = "pay")]
impl PayNotify for PayNotification {}
#[cfg(feature = "pay")]
impl PayNotify for v3::Transaction {}

#[cfg(feature = "pay")]
impl PayRefund for Refunded {}
#[cfg(feature = "pay")]
impl PayRefund for RefundNotification {}
#[cfg(feature = "pay")]
impl PayRefund for v3::Refund {}

#[cfg(feature = "pay")]
impl PayTransfer for v3::TransferBill {}
