//! What a pay handler is: an `async fn` that takes a verified notification first, then
//! extractors ([`State`], [`PayContext`]), and returns `()` or `Result<(), E>`.
//!
//! | first argument | notifications | `#[wechat_handler(..)]` |
//! |---|---|---|
//! | [`Paid`] | every payment, v2 or v3 | `pay = "notify"` |
//! | [`PayNotification`] | v2 payments (支付结果通知) only | `pay = "notify"` |
//! | [`v3::Transaction`] | v3 payments (`TRANSACTION.*`) only | `pay = "notify"` |
//! | [`Refunded`] | every refund, v2 or v3 | `pay = "refund"` |
//! | [`RefundNotification`] | v2 refunds (退款结果通知) only | `pay = "refund"` |
//! | [`v3::Refund`] | v3 refunds (`REFUND.*`) only | `pay = "refund"` |
//! | [`v3::TransferBill`] | v3 merchant transfers (商家转账, `MCHTRANSFER.*`) | `pay = "transfer"` |
//!
//! A handler that returns `Ok(())` (or `()`) has handled the notification: WeChat gets
//! SUCCESS and the notification is recorded as handled. An `Err` (logged with its `Display`)
//! answers FAIL, and WeChat delivers it again later.

use std::fmt::Display;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use wechat_core::pay::v3;
use wechat_core::pay::{PayNotification, RefundNotification};

use super::notify::PayNotifyBuilder;
use crate::handler::{FromRef, State};

/// The future of a pay handler, boxed.
pub type BoxPayFuture = Pin<Box<dyn Future<Output = Result<(), String>> + Send + 'static>>;

/// The protocol a notification came in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum PayVersion {
    /// v2: XML, signed with the API key.
    V2,
    /// v3: JSON, signed with RSA, resource encrypted with the APIv3 key.
    V3,
}

/// Which handler a notification goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum PayKind {
    /// A payment (支付结果通知): `pay = "notify"`.
    Notify,
    /// A refund (退款结果通知): `pay = "refund"`.
    Refund,
    /// A merchant transfer (商家转账回调, v3 only): `pay = "transfer"`.
    Transfer,
}

/// A payment, v2 or v3: what a `pay = "notify"` handler taking either protocol receives.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Paid {
    /// A v2 pay notification (支付结果通知).
    V2(PayNotification),
    /// A v3 `TRANSACTION.*` notification's resource.
    V3(v3::Transaction),
}

impl Paid {
    /// `out_trade_no` (商户订单号).
    #[must_use]
    pub fn out_trade_no(&self) -> &str {
        match self {
            Self::V2(n) => &n.out_trade_no,
            Self::V3(t) => &t.out_trade_no,
        }
    }

    /// `transaction_id` (微信支付订单号).
    #[must_use]
    pub fn transaction_id(&self) -> &str {
        match self {
            Self::V2(n) => &n.transaction_id,
            Self::V3(t) => &t.transaction_id,
        }
    }

    /// The order's amount in fen (分): v2 `total_fee`, v3 `amount.total`. Compare it with your
    /// order before marking it paid.
    #[must_use]
    pub fn total_fee(&self) -> u64 {
        match self {
            Self::V2(n) => n.total_fee,
            Self::V3(t) => t.amount.total,
        }
    }

    /// The payer's `openid`.
    #[must_use]
    pub fn openid(&self) -> &str {
        match self {
            Self::V2(n) => &n.openid,
            Self::V3(t) => t.payer.as_ref().map_or("", |p| p.openid.as_str()),
        }
    }

    /// Whether the payment succeeded (v2 `result_code`, v3 `trade_state` = `SUCCESS`).
    #[must_use]
    pub fn is_success(&self) -> bool {
        match self {
            Self::V2(n) => n.is_success(),
            Self::V3(t) => t.is_success(),
        }
    }

    /// `attach`, as given with the order.
    #[must_use]
    pub fn attach(&self) -> Option<&str> {
        match self {
            Self::V2(n) => n.attach.as_deref(),
            Self::V3(t) => Some(t.attach.as_str()).filter(|a| !a.is_empty()),
        }
    }
}

/// A refund, v2 or v3: what a `pay = "refund"` handler taking either protocol receives.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Refunded {
    /// A v2 refund notification (退款结果通知), decrypted.
    V2(RefundNotification),
    /// A v3 `REFUND.*` notification's resource.
    V3(v3::Refund),
}

impl Refunded {
    /// `out_trade_no` of the refunded order.
    #[must_use]
    pub fn out_trade_no(&self) -> &str {
        match self {
            Self::V2(n) => &n.out_trade_no,
            Self::V3(r) => &r.out_trade_no,
        }
    }

    /// `out_refund_no` (商户退款单号).
    #[must_use]
    pub fn out_refund_no(&self) -> &str {
        match self {
            Self::V2(n) => &n.out_refund_no,
            Self::V3(r) => &r.out_refund_no,
        }
    }

    /// `refund_id` (微信退款单号).
    #[must_use]
    pub fn refund_id(&self) -> &str {
        match self {
            Self::V2(n) => &n.refund_id,
            Self::V3(r) => &r.refund_id,
        }
    }

    /// The refunded amount in fen.
    #[must_use]
    pub fn refund_fee(&self) -> u64 {
        match self {
            Self::V2(n) => n.refund_fee,
            Self::V3(r) => r.amount.refund,
        }
    }

    /// Whether the refund succeeded (`refund_status` = `SUCCESS`).
    #[must_use]
    pub fn is_success(&self) -> bool {
        match self {
            Self::V2(n) => n.refund_status == wechat_core::pay::RefundStatus::Success,
            Self::V3(r) => r.refund_status == "SUCCESS",
        }
    }
}

/// A verified notification, before it is handed to a handler.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Notification {
    /// A payment.
    Paid(Paid),
    /// A refund.
    Refunded(Refunded),
    /// A merchant transfer's bill (v3 `MCHTRANSFER.*`).
    Transferred(v3::TransferBill),
}

impl Notification {
    /// Payment, refund or transfer.
    #[must_use]
    pub fn kind(&self) -> PayKind {
        match self {
            Self::Paid(_) => PayKind::Notify,
            Self::Refunded(_) => PayKind::Refund,
            Self::Transferred(_) => PayKind::Transfer,
        }
    }
}

/// What a pay handler says of a notification it was given, and where it is recorded: the
/// context of one delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct PayContext {
    /// v2 or v3.
    pub version: PayVersion,
    /// Payment, refund or transfer.
    pub kind: PayKind,
    /// What the delivery is recorded under: `transaction_id` for payments,
    /// `refund_id` + status for refunds, `transfer_bill_no` + state for transfers.
    pub id: String,
    /// The v3 notification's `id` (`EV-…`), for v3.
    pub notification_id: Option<String>,
}

/// A type a pay handler takes first: built from a verified [`Notification`] by moving it.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a WeChat Pay notification a pay handler can take",
    label = "not a pay notification",
    note = "a `pay = \"notify\"` handler takes `Paid`, `PayNotification` (v2) or `v3::Transaction` first; a `pay = \"refund\"` handler takes `Refunded`, `RefundNotification` (v2) or `v3::Refund`; a `pay = \"transfer\"` handler takes `v3::TransferBill`"
)]
pub trait FromNotification: Sized + Send + 'static {
    /// The handler slot this type belongs to.
    const KIND: PayKind;

    /// Takes the notification apart; gives it back when it is of another type (a v3 payment
    /// for a v2-only handler, ...).
    ///
    /// # Errors
    ///
    /// The notification itself, unchanged.
    #[allow(
        clippy::result_large_err,
        reason = "the notification is given back as it came, by move"
    )]
    fn from_notification(n: Notification) -> Result<Self, Notification>;
}

impl FromNotification for Paid {
    const KIND: PayKind = PayKind::Notify;

    fn from_notification(n: Notification) -> Result<Self, Notification> {
        match n {
            Notification::Paid(p) => Ok(p),
            other => Err(other),
        }
    }
}

impl FromNotification for PayNotification {
    const KIND: PayKind = PayKind::Notify;

    fn from_notification(n: Notification) -> Result<Self, Notification> {
        match n {
            Notification::Paid(Paid::V2(p)) => Ok(p),
            other => Err(other),
        }
    }
}

impl FromNotification for v3::Transaction {
    const KIND: PayKind = PayKind::Notify;

    fn from_notification(n: Notification) -> Result<Self, Notification> {
        match n {
            Notification::Paid(Paid::V3(t)) => Ok(t),
            other => Err(other),
        }
    }
}

impl FromNotification for Refunded {
    const KIND: PayKind = PayKind::Refund;

    fn from_notification(n: Notification) -> Result<Self, Notification> {
        match n {
            Notification::Refunded(r) => Ok(r),
            other => Err(other),
        }
    }
}

impl FromNotification for RefundNotification {
    const KIND: PayKind = PayKind::Refund;

    fn from_notification(n: Notification) -> Result<Self, Notification> {
        match n {
            Notification::Refunded(Refunded::V2(r)) => Ok(r),
            other => Err(other),
        }
    }
}

impl FromNotification for v3::Refund {
    const KIND: PayKind = PayKind::Refund;

    fn from_notification(n: Notification) -> Result<Self, Notification> {
        match n {
            Notification::Refunded(Refunded::V3(r)) => Ok(r),
            other => Err(other),
        }
    }
}

impl FromNotification for v3::TransferBill {
    const KIND: PayKind = PayKind::Transfer;

    fn from_notification(n: Notification) -> Result<Self, Notification> {
        match n {
            Notification::Transferred(t) => Ok(t),
            other => Err(other),
        }
    }
}

/// An argument of a pay handler after the notification: [`PayContext`], or [`State<T>`] where
/// the service's state gives a `T` (see [`FromRef`]).
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be extracted by a WeChat Pay handler",
    label = "not a pay extractor",
    note = "after the notification, a pay handler's arguments are `PayContext` or `State<T>` where the service's state gives a `T` (see `FromRef`)"
)]
pub trait FromPayContext<S>: Sized {
    /// Extracts the value.
    fn from_pay_context(ctx: &PayContext, state: &S) -> Self;
}

impl<S> FromPayContext<S> for PayContext {
    fn from_pay_context(ctx: &PayContext, _: &S) -> Self {
        ctx.clone()
    }
}

impl<S, T: FromRef<S>> FromPayContext<S> for State<T> {
    fn from_pay_context(_: &PayContext, state: &S) -> Self {
        Self(T::from_ref(state))
    }
}

/// What a pay handler returns: `()` (handled), or `Result<(), E>` with `E: Display` (an `Err`
/// answers FAIL, so WeChat delivers the notification again).
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not what a WeChat Pay handler returns",
    label = "not a pay outcome",
    note = "a pay handler returns `()` or `Result<(), E>` with `E: Display`: `Ok` answers SUCCESS, `Err` answers FAIL so that WeChat retries"
)]
pub trait IntoPayOutcome {
    /// `Ok` when the notification was handled, else the reason (logged, never sent).
    ///
    /// # Errors
    ///
    /// The handler's failure, as text.
    fn into_pay_outcome(self) -> Result<(), String>;
}

impl IntoPayOutcome for () {
    fn into_pay_outcome(self) -> Result<(), String> {
        Ok(())
    }
}

impl<E: Display> IntoPayOutcome for Result<(), E> {
    fn into_pay_outcome(self) -> Result<(), String> {
        self.map_err(|e| e.to_string())
    }
}

/// An `async fn` a [`PayNotify`](super::PayNotify) can call: a [`FromNotification`] first,
/// at most 8 [`FromPayContext`] extractors, an [`IntoPayOutcome`] output.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a WeChat Pay handler",
    label = "not a pay handler",
    note = "a pay handler is an `async fn` whose first argument is a pay notification (`Paid`, `PayNotification`, `v3::Transaction`, `Refunded`, `RefundNotification`, `v3::Refund`, `v3::TransferBill`), whose other arguments are `PayContext` or `State<T>`, and which returns `()` or `Result<(), E: Display>`"
)]
pub trait PayHandler<T, S>: Clone + Send + Sync + Sized + 'static {
    /// The type of the first argument.
    type Input: FromNotification;

    /// Starts the handler. A notification of another type (which the service never passes) is
    /// refused.
    fn call(self, n: Notification, ctx: &PayContext, state: &S) -> BoxPayFuture;
}

macro_rules! impl_pay_handler {
    ($($arg:ident),*) => {
        #[allow(non_snake_case, unused_variables)]
        impl<F, Fut, S, N, $($arg,)*> PayHandler<(N, $($arg,)*), S> for F
        where
            F: FnOnce(N, $($arg,)*) -> Fut + Clone + Send + Sync + 'static,
            Fut: Future + Send + 'static,
            Fut::Output: IntoPayOutcome,
            N: FromNotification,
            $($arg: FromPayContext<S> + Send + 'static,)*
        {
            type Input = N;

            fn call(self, n: Notification, ctx: &PayContext, state: &S) -> BoxPayFuture {
                $(let $arg = $arg::from_pay_context(ctx, state);)*
                match N::from_notification(n) {
                    Ok(n) => {
                        let fut = self(n, $($arg,)*);
                        Box::pin(async move { fut.await.into_pay_outcome() })
                    }
                    Err(other) => {
                        let reason = format!(
                            "this handler takes `{}`, not this {:?} notification",
                            std::any::type_name::<N>(),
                            other.kind()
                        );
                        Box::pin(async move { Err(reason) })
                    }
                }
            }
        }
    };
}

impl_pay_handler!();
impl_pay_handler!(A1);
impl_pay_handler!(A1, A2);
impl_pay_handler!(A1, A2, A3);
impl_pay_handler!(A1, A2, A3, A4);
impl_pay_handler!(A1, A2, A3, A4, A5);
impl_pay_handler!(A1, A2, A3, A4, A5, A6);
impl_pay_handler!(A1, A2, A3, A4, A5, A6, A7);
impl_pay_handler!(A1, A2, A3, A4, A5, A6, A7, A8);

/// A pay handler with its types erased, bound to the service's state.
pub(crate) type ErasedPayHandler =
    Arc<dyn Fn(Notification, &PayContext) -> BoxPayFuture + Send + Sync + 'static>;

/// A pay handler that knows its own slot: what [`PayNotifyBuilder::handler`] takes. Implemented
/// by `#[wechat_handler(pay = "notify")]` / `pay = "refund"` / `pay = "transfer"` for the fn it marks, and for every
/// plain [`PayHandler`].
///
/// ```
/// use wechat_tower::pay::{Paid, PayConfig, PayNotify};
/// use wechat_tower::wechat_handler;
///
/// #[wechat_handler(pay = "notify")]
/// async fn paid(payment: Paid) -> Result<(), std::io::Error> {
///     println!("order {} paid: {} fen", payment.out_trade_no(), payment.total_fee());
///     Ok(())
/// }
///
/// let config = PayConfig::new("wx1", "10000100", "192006250b4c09247ec02edce69f6a2d");
/// let notify = PayNotify::builder(config).handler(paid).build()?;
/// # let _ = notify;
/// # Ok::<(), wechat_tower::pay::PayRouteError>(())
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a pay handler `PayNotifyBuilder::handler` can mount",
    label = "not a pay handler",
    note = "`PayNotifyBuilder::handler` takes an `async fn` marked `#[wechat_handler(pay = \"notify\")]`, `pay = \"refund\"` or `pay = \"transfer\"`, or a plain `async fn` whose first argument is a pay notification (`Paid`, `Refunded`, ...)",
    note = "a pay handler that extracts `State<T>` needs the state given after mounting: `PayNotify::builder(config).handler(h).with_state(state).build().unwrap()`"
)]
pub trait MountPayHandler<S, M = ()> {
    /// Adds the handler to `builder`, in its slot.
    fn mount(self, builder: PayNotifyBuilder<S>) -> PayNotifyBuilder<S>;
}

/// Plain `async fn`s mount in the slot of their first argument; the marker
/// [`ByType`](crate::router::ByType) keeps this impl apart from the generated ones.
impl<S, H, T> MountPayHandler<S, crate::router::ByType<T>> for H
where
    S: Send + Sync + 'static,
    H: PayHandler<T, S>,
    T: 'static,
{
    fn mount(self, builder: PayNotifyBuilder<S>) -> PayNotifyBuilder<S> {
        builder.mount_fn(std::any::type_name::<H>(), self)
    }
}
