//! Orders, where they live, and the rules that keep them honest: an order is saved only once
//! WeChat Pay accepted it, it is paid only by a notification of its own amount, a top-up
//! credits what was paid, unpaid orders do not pile up, and refunds (v3) never add up to more
//! than was paid, nor give back a top-up's balance twice.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::Serialize;

/// How long an order can be paid: sent to WeChat Pay as the order's `time_expire`, after which
/// WeChat Pay refuses to take the payment.
pub const ORDER_TTL: Duration = Duration::from_secs(15 * 60);

/// How long the order store keeps an unpaid order after its `time_expire`: a payment made
/// just before it may still be on its way (WeChat Pay retries a notification 15 s, 15 s,
/// 30 s, 3 min, 10 min, … after a failed delivery).
pub const UNPAID_GRACE: Duration = Duration::from_secs(15 * 60);

/// Seconds since the Unix epoch, now.
#[must_use]
pub fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Whether an order was paid, or refunded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum OrderState {
    /// Not paid (yet).
    Unpaid,
    /// Paid: a verified notification with the right amount arrived.
    Paid,
    /// Refunded, in part or in full: a verified refund notification (退款结果通知) of a refund
    /// this shop asked for arrived ([`Order::refunded_fee`] says how much).
    Refunded,
}

/// What an order buys.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Item {
    /// A top-up (充值) of the user's balance: the user picked the amount, within bounds, and
    /// the balance is credited [`top_up_credit`] of what was paid.
    TopUp,
    /// A product of the catalogue, at the catalogue's price.
    Product {
        /// The product's id.
        product_id: String,
    },
}

/// The balance a top-up credits for `paid` fen, as WeChat Pay's verified notification says
/// (and equal to the order's recorded amount): one fen of balance per fen paid. A bonus rule
/// ("pay 100 yuan, get 105") goes here, computed from what was paid, never from the request.
#[must_use]
pub const fn top_up_credit(paid: u64) -> u64 {
    paid
}

/// An order of the demo, as `GET /orders/{id}` shows it (without the payer).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Order {
    /// The `out_trade_no`.
    pub id: String,
    /// `unpaid` or `paid`.
    pub state: OrderState,
    /// What it buys.
    pub item: Item,
    /// The amount in fen (分), decided by the server: the catalogue's price, or the top-up
    /// amount checked against the bounds.
    pub total_fee: u64,
    /// For a paid top-up, the balance credited, in fen.
    pub credit: Option<u64>,
    /// WeChat Pay's `transaction_id`, once paid.
    pub transaction_id: Option<String>,
    /// The order's `time_expire`, in seconds since the Unix epoch.
    pub expires_at: u64,
    /// Fen refunded so far (refunds WeChat Pay confirmed); left out of the JSON while 0.
    #[serde(skip_serializing_if = "is_zero")]
    pub refunded_fee: u64,
    /// The payer.
    #[serde(skip)]
    pub openid: String,
}

#[allow(
    clippy::trivially_copy_pass_by_ref,
    reason = "serde's skip_serializing_if passes a reference"
)]
const fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// Where a refund this shop asked for stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum RefundState {
    /// Reserved and asked of WeChat Pay; its notification has not come yet.
    Asked,
    /// WeChat Pay's verified refund notification confirmed it.
    Succeeded,
    /// WeChat Pay refused it, or it failed: its reservation (and a top-up's balance) was given
    /// back.
    Released,
}

impl RefundState {
    /// The state as the `refunds` table spells it.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Asked => "asked",
            Self::Succeeded => "succeeded",
            Self::Released => "released",
        }
    }
}

/// A refund this shop asked for (v3), as the order store keeps it: one per `out_refund_no`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RefundRecord {
    /// `out_refund_no`: the shop's number of the refund.
    pub out_refund_no: String,
    /// Fen.
    pub amount: u64,
    /// Where it stands.
    pub state: RefundState,
}

impl RefundRecord {
    /// Whether WeChat Pay's refund notification confirmed it.
    #[must_use]
    pub fn done(&self) -> bool {
        self.state == RefundState::Succeeded
    }
}

impl Order {
    /// A new, unpaid order that WeChat Pay accepts payment for until `expires_at`.
    #[must_use]
    pub fn unpaid(id: &str, openid: &str, item: Item, total_fee: u64, expires_at: u64) -> Self {
        Self {
            id: id.to_owned(),
            state: OrderState::Unpaid,
            item,
            total_fee,
            credit: None,
            transaction_id: None,
            expires_at,
            refunded_fee: 0,
            openid: openid.to_owned(),
        }
    }
}

/// Why an order could not be saved or marked paid.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum MarkError {
    /// No such order (never placed, refused by WeChat Pay, or forgotten after it expired).
    Unknown(String),
    /// The notification's amount is not the order's.
    AmountMismatch {
        /// The order's amount.
        expected: u64,
        /// The notification's.
        notified: u64,
    },
    /// The order was paid by another transaction.
    OtherTransaction,
    /// The notification is for another app or merchant than this shop's.
    OtherMerchant,
    /// An order with this id exists already.
    Duplicate(String),
    /// As many unpaid orders as the store keeps are waiting; try again when some expired.
    TooManyUnpaid,
    /// The order store failed (a database outage, ...).
    Unavailable(String),
    /// A refund of an order that was not paid.
    NotPaid,
    /// A refund of more than is left to refund (`left` fen), or of nothing.
    RefundTooLarge {
        /// What is left to refund, in fen.
        left: u64,
    },
    /// A top-up refund larger than the balance it credited still holds (it was spent).
    BalanceSpent {
        /// The balance, in fen.
        balance: u64,
    },
    /// A refund notification for a refund this shop did not ask for, or of another amount.
    UnknownRefund(String),
}

impl std::fmt::Display for MarkError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Unknown(id) => write!(f, "no order {id}"),
            Self::AmountMismatch { expected, notified } => {
                write!(
                    f,
                    "amount mismatch: the order is {expected} fen, the notification says {notified}"
                )
            }
            Self::OtherTransaction => f.write_str("the order was paid by another transaction"),
            Self::OtherMerchant => f.write_str("the notification is for another appid or mch_id"),
            Self::Duplicate(id) => write!(f, "order {id} exists already"),
            Self::TooManyUnpaid => f.write_str("too many unpaid orders; try again later"),
            Self::Unavailable(why) => write!(f, "order store unavailable: {why}"),
            Self::NotPaid => f.write_str("the order is not paid"),
            Self::RefundTooLarge { left } => {
                write!(
                    f,
                    "a refund must be 1 to {left} fen (what is left to refund)"
                )
            }
            Self::BalanceSpent { balance } => write!(
                f,
                "the top-up's balance was spent: {balance} fen left to refund from"
            ),
            Self::UnknownRefund(no) => write!(f, "no refund {no} of this amount was asked"),
        }
    }
}

impl std::error::Error for MarkError {}

/// Where orders live: [`SqlOrders`](crate::SqlOrders) (SQLite or PostgreSQL) in the app. Each
/// method that moves money is one database transaction, so an `Ok` means committed: the notify
/// handler answers SUCCESS only then, and WeChat Pay delivers again after any `Err`.
#[async_trait::async_trait]
pub trait Orders: Send + Sync + 'static {
    /// Saves a new, unpaid order, once WeChat Pay accepted it: an order WeChat Pay refused is
    /// never saved. Refuses an id that exists, and may refuse when too many orders wait
    /// ([`MarkError::TooManyUnpaid`]).
    ///
    /// # Errors
    ///
    /// [`MarkError::Duplicate`], [`MarkError::TooManyUnpaid`], or when the store fails.
    async fn create(&self, order: Order) -> Result<(), MarkError>;

    /// The order `id`, `None` when there is none.
    ///
    /// # Errors
    ///
    /// [`MarkError::Unavailable`] when the store fails (not "no such order").
    async fn get(&self, id: &str) -> Result<Option<Order>, MarkError>;

    /// Marks `id` paid by `transaction_id` if `total_fee` (WeChat Pay's verified amount) is
    /// the order's amount, and for a top-up credits the payer [`top_up_credit`]`(total_fee)`
    /// in the same transaction. Paying a paid order again with the same transaction changes
    /// nothing (and credits nothing).
    ///
    /// # Errors
    ///
    /// [`MarkError`]: an unknown order, another amount, another transaction, or
    /// [`MarkError::Unavailable`] when nothing was committed.
    async fn mark_paid(
        &self,
        id: &str,
        total_fee: u64,
        transaction_id: &str,
    ) -> Result<(), MarkError>;

    /// Reserves a refund of `amount` fen of the paid order `id`, numbered `out_refund_no`,
    /// before it is asked of WeChat Pay: the refunds reserved never add up to more than was
    /// paid, and a top-up's refund takes its amount back from the balance it credited (refused
    /// when it was spent). The default refuses: a store that keeps no refunds.
    ///
    /// # Errors
    ///
    /// [`MarkError::Unknown`], [`MarkError::NotPaid`], [`MarkError::RefundTooLarge`],
    /// [`MarkError::Duplicate`] (this `out_refund_no` exists), [`MarkError::BalanceSpent`], or
    /// when the store fails.
    async fn reserve_refund(
        &self,
        id: &str,
        out_refund_no: &str,
        amount: u64,
    ) -> Result<(), MarkError> {
        let _ = (id, out_refund_no, amount);
        Err(MarkError::Unavailable(
            "this order store keeps no refunds".into(),
        ))
    }

    /// Gives back a reservation WeChat Pay refused (the refund did not happen). Nothing to give
    /// back (unknown, done, given back already) is not an error.
    ///
    /// # Errors
    ///
    /// When the store fails.
    async fn release_refund(&self, id: &str, out_refund_no: &str) -> Result<(), MarkError> {
        let _ = (id, out_refund_no);
        Ok(())
    }

    /// Marks the reserved refund `out_refund_no` of `id` done, for `refund_fee` fen as WeChat
    /// Pay's verified refund notification says: the order becomes [`OrderState::Refunded`].
    /// The same refund again changes nothing.
    ///
    /// # Errors
    ///
    /// [`MarkError::Unknown`], [`MarkError::UnknownRefund`] (not reserved, or another amount),
    /// or when the store fails.
    async fn mark_refunded(
        &self,
        id: &str,
        out_refund_no: &str,
        refund_fee: u64,
    ) -> Result<(), MarkError> {
        let _ = (id, refund_fee);
        Err(MarkError::UnknownRefund(out_refund_no.to_owned()))
    }

    /// The refunds of `id`, oldest first (those given back included).
    ///
    /// # Errors
    ///
    /// When the store fails.
    async fn refunds(&self, id: &str) -> Result<Vec<RefundRecord>, MarkError> {
        let _ = id;
        Ok(Vec::new())
    }
}

/// `yyyyMMddHHmmss` in Beijing time (UTC+8), as WeChat Pay's `time_start` and `time_expire`
/// are written.
#[must_use]
pub fn beijing_time(unix_secs: u64) -> String {
    let secs = unix_secs.saturating_add(8 * 3600);
    let (days, rest) = (secs / 86_400, secs % 86_400);
    let (year, month, day) = civil_from_days(days);
    format!(
        "{year:04}{month:02}{day:02}{:02}{:02}{:02}",
        rest / 3600,
        rest % 3600 / 60,
        rest % 60
    )
}

/// Year, month, day of `days` since 1970-01-01 (Howard Hinnant's `civil_from_days`, for
/// dates after the epoch).
const fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + if month <= 2 { 1 } else { 0 };
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn beijing_time_is_utc_plus_8() {
        assert_eq!(beijing_time(0), "19700101080000");
        // 2023-11-14 22:13:20 UTC.
        assert_eq!(beijing_time(1_700_000_000), "20231115061320");
        // 2024-02-29 15:59:59 UTC, a leap day.
        assert_eq!(beijing_time(1_709_222_399), "20240229235959");
        assert_eq!(beijing_time(1_709_222_400), "20240301000000");
    }
}
