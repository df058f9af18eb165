//! Orders, where they live, and the rules that keep them honest: an order is saved only once
//! WeChat Pay accepted it, it is paid only by a notification of its own amount, a top-up
//! credits what was paid, unpaid orders do not pile up, and refunds (v3) never add up to more
//! than was paid, nor give back a top-up's balance twice.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::Serialize;

use crate::settings::DEFAULT_MAX_UNPAID_ORDERS;

/// How long an order can be paid: sent to WeChat Pay as the order's `time_expire`, after which
/// WeChat Pay refuses to take the payment.
pub const ORDER_TTL: Duration = Duration::from_secs(15 * 60);

/// How long [`MemoryOrders`] keeps an unpaid order after its `time_expire`: a payment made
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

/// A refund this shop asked for (v3), as the order store keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RefundRecord {
    /// `out_refund_no`: the shop's number of the refund.
    pub out_refund_no: String,
    /// Fen.
    pub amount: u64,
    /// Whether WeChat Pay's refund notification confirmed it.
    pub done: bool,
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

/// Where orders live. [`MemoryOrders`] is the default; a real shop keeps them in its database
/// (`create` an `INSERT`, `mark_paid` one conditional `UPDATE` in the transaction that credits
/// a top-up).
pub trait Orders: Send + Sync + 'static {
    /// Saves a new, unpaid order, once WeChat Pay accepted it: an order WeChat Pay refused is
    /// never saved. Refuses an id that exists, and may refuse when too many orders wait
    /// ([`MarkError::TooManyUnpaid`]).
    ///
    /// # Errors
    ///
    /// [`MarkError::Duplicate`], [`MarkError::TooManyUnpaid`], or when the store fails.
    fn create(&self, order: Order) -> Result<(), MarkError>;

    /// The order `id`.
    fn get(&self, id: &str) -> Option<Order>;

    /// Marks `id` paid by `transaction_id` if `total_fee` (WeChat Pay's verified amount) is
    /// the order's amount, and for a top-up credits the payer [`top_up_credit`]`(total_fee)`
    /// in the same step. Paying a paid order again with the same transaction changes nothing
    /// (and credits nothing).
    ///
    /// # Errors
    ///
    /// [`MarkError`]: an unknown order, another amount, another transaction.
    fn mark_paid(&self, id: &str, total_fee: u64, transaction_id: &str) -> Result<(), MarkError>;

    /// Reserves a refund of `amount` fen of the paid order `id`, numbered `out_refund_no`,
    /// before it is asked of WeChat Pay: the refunds reserved never add up to more than was
    /// paid, and a top-up's refund takes its amount back from the balance it credited (refused
    /// when it was spent). The default refuses: a store that keeps no refunds.
    ///
    /// # Errors
    ///
    /// [`MarkError::Unknown`], [`MarkError::NotPaid`], [`MarkError::RefundTooLarge`],
    /// [`MarkError::BalanceSpent`], or when the store fails.
    fn reserve_refund(&self, id: &str, out_refund_no: &str, amount: u64) -> Result<(), MarkError> {
        let _ = (id, out_refund_no, amount);
        Err(MarkError::Unavailable(
            "this order store keeps no refunds".into(),
        ))
    }

    /// Gives back a reservation WeChat Pay refused (the refund did not happen).
    ///
    /// # Errors
    ///
    /// When the store fails.
    fn release_refund(&self, id: &str, out_refund_no: &str) -> Result<(), MarkError> {
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
    fn mark_refunded(
        &self,
        id: &str,
        out_refund_no: &str,
        refund_fee: u64,
    ) -> Result<(), MarkError> {
        let _ = (id, refund_fee);
        Err(MarkError::UnknownRefund(out_refund_no.to_owned()))
    }

    /// The refunds of `id`, oldest first.
    fn refunds(&self, id: &str) -> Vec<RefundRecord> {
        let _ = id;
        Vec::new()
    }
}

/// Orders in this process's memory, bounded: at most `max_unpaid` unpaid orders at once, each
/// forgotten [`UNPAID_GRACE`] after its `time_expire` (checked whenever an order is created).
/// Paid orders are kept: each one cost a real payment.
#[derive(Debug)]
pub struct MemoryOrders {
    inner: Mutex<Inner>,
    max_unpaid: usize,
}

#[derive(Debug, Default)]
struct Inner {
    orders: HashMap<String, Order>,
    /// The unpaid orders by `expires_at`, soonest first.
    unpaid: BTreeSet<(u64, String)>,
    /// Top-up balances by `openid`, in fen.
    balances: HashMap<String, u64>,
    /// Refunds by order id, oldest first.
    refunds: HashMap<String, Vec<RefundRecord>>,
}

impl Default for MemoryOrders {
    fn default() -> Self {
        Self::new(DEFAULT_MAX_UNPAID_ORDERS)
    }
}

impl MemoryOrders {
    /// A store keeping at most `max_unpaid` unpaid orders.
    #[must_use]
    pub fn new(max_unpaid: usize) -> Self {
        Self {
            inner: Mutex::default(),
            max_unpaid,
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// How many unpaid orders are kept (expired ones included until the next `create`).
    #[must_use]
    pub fn unpaid_len(&self) -> usize {
        self.lock().unpaid.len()
    }

    /// How many orders are kept, paid or not.
    #[must_use]
    pub fn len(&self) -> usize {
        self.lock().orders.len()
    }

    /// Whether no order is kept.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The top-up balance of `openid`, in fen: the sum of [`top_up_credit`] of its paid
    /// top-ups.
    #[must_use]
    pub fn balance(&self, openid: &str) -> u64 {
        self.lock().balances.get(openid).copied().unwrap_or(0)
    }
}

impl Inner {
    /// Forgets the unpaid orders whose `time_expire` is more than [`UNPAID_GRACE`] ago.
    fn forget_expired(&mut self, now: u64) {
        let grace = UNPAID_GRACE.as_secs();
        while let Some((expires_at, _)) = self.unpaid.first() {
            if expires_at.saturating_add(grace) >= now {
                break;
            }
            if let Some((_, id)) = self.unpaid.pop_first() {
                self.orders.remove(&id);
            }
        }
    }
}

impl Orders for MemoryOrders {
    fn create(&self, order: Order) -> Result<(), MarkError> {
        let mut inner = self.lock();
        inner.forget_expired(now_secs());
        if inner.orders.contains_key(&order.id) {
            return Err(MarkError::Duplicate(order.id));
        }
        if order.state == OrderState::Unpaid {
            if inner.unpaid.len() >= self.max_unpaid {
                return Err(MarkError::TooManyUnpaid);
            }
            inner.unpaid.insert((order.expires_at, order.id.clone()));
        }
        inner.orders.insert(order.id.clone(), order);
        Ok(())
    }

    fn get(&self, id: &str) -> Option<Order> {
        self.lock().orders.get(id).cloned()
    }

    fn mark_paid(&self, id: &str, total_fee: u64, transaction_id: &str) -> Result<(), MarkError> {
        let mut inner = self.lock();
        let order = inner
            .orders
            .get_mut(id)
            .ok_or_else(|| MarkError::Unknown(id.to_owned()))?;
        if order.total_fee != total_fee {
            return Err(MarkError::AmountMismatch {
                expected: order.total_fee,
                notified: total_fee,
            });
        }
        match (&order.state, &order.transaction_id) {
            (OrderState::Paid | OrderState::Refunded, Some(t)) if t == transaction_id => {
                return Ok(());
            }
            (OrderState::Paid | OrderState::Refunded, _) => {
                return Err(MarkError::OtherTransaction);
            }
            (OrderState::Unpaid, _) => {}
        }
        order.state = OrderState::Paid;
        order.transaction_id = Some(transaction_id.to_owned());
        let credit = (order.item == Item::TopUp).then(|| top_up_credit(total_fee));
        order.credit = credit;
        let (expires_at, openid) = (order.expires_at, order.openid.clone());
        inner.unpaid.remove(&(expires_at, id.to_owned()));
        if let Some(credit) = credit {
            let balance = inner.balances.entry(openid).or_default();
            *balance = balance.saturating_add(credit);
        }
        Ok(())
    }

    fn reserve_refund(&self, id: &str, out_refund_no: &str, amount: u64) -> Result<(), MarkError> {
        self.reserve(id, out_refund_no, amount)
    }

    fn release_refund(&self, id: &str, out_refund_no: &str) -> Result<(), MarkError> {
        self.release(id, out_refund_no);
        Ok(())
    }

    fn mark_refunded(
        &self,
        id: &str,
        out_refund_no: &str,
        refund_fee: u64,
    ) -> Result<(), MarkError> {
        self.refunded(id, out_refund_no, refund_fee)
    }

    fn refunds(&self, id: &str) -> Vec<RefundRecord> {
        self.lock().refunds.get(id).cloned().unwrap_or_default()
    }
}

impl MemoryOrders {
    fn reserve(&self, id: &str, out_refund_no: &str, amount: u64) -> Result<(), MarkError> {
        let mut inner = self.lock();
        let order = inner
            .orders
            .get(id)
            .ok_or_else(|| MarkError::Unknown(id.to_owned()))?;
        if order.state == OrderState::Unpaid {
            return Err(MarkError::NotPaid);
        }
        let (total, is_top_up, openid) = (
            order.total_fee,
            order.item == Item::TopUp,
            order.openid.clone(),
        );
        let asked: u64 = inner
            .refunds
            .get(id)
            .map_or(0, |r| r.iter().map(|r| r.amount).sum());
        let left = total.saturating_sub(asked);
        if amount == 0 || amount > left {
            return Err(MarkError::RefundTooLarge { left });
        }
        if inner
            .refunds
            .get(id)
            .is_some_and(|r| r.iter().any(|r| r.out_refund_no == out_refund_no))
        {
            return Err(MarkError::Duplicate(out_refund_no.to_owned()));
        }
        if is_top_up {
            let balance = inner.balances.get(&openid).copied().unwrap_or(0);
            if balance < amount {
                return Err(MarkError::BalanceSpent { balance });
            }
            inner.balances.insert(openid, balance - amount);
        }
        inner
            .refunds
            .entry(id.to_owned())
            .or_default()
            .push(RefundRecord {
                out_refund_no: out_refund_no.to_owned(),
                amount,
                done: false,
            });
        Ok(())
    }
}

/// The refunds of [`MemoryOrders`] (its [`Orders`] methods call these).
impl MemoryOrders {
    fn release(&self, id: &str, out_refund_no: &str) {
        let mut inner = self.lock();
        let Some(records) = inner.refunds.get_mut(id) else {
            return;
        };
        let Some(at) = records
            .iter()
            .position(|r| r.out_refund_no == out_refund_no && !r.done)
        else {
            return;
        };
        let record = records.remove(at);
        let top_up = inner
            .orders
            .get(id)
            .filter(|o| o.item == Item::TopUp)
            .map(|o| o.openid.clone());
        if let Some(openid) = top_up {
            let balance = inner.balances.entry(openid).or_default();
            *balance = balance.saturating_add(record.amount);
        }
    }

    fn refunded(&self, id: &str, out_refund_no: &str, refund_fee: u64) -> Result<(), MarkError> {
        let mut inner = self.lock();
        if !inner.orders.contains_key(id) {
            return Err(MarkError::Unknown(id.to_owned()));
        }
        let record = inner
            .refunds
            .get_mut(id)
            .and_then(|r| r.iter_mut().find(|r| r.out_refund_no == out_refund_no))
            .filter(|r| r.amount == refund_fee)
            .ok_or_else(|| MarkError::UnknownRefund(out_refund_no.to_owned()))?;
        if record.done {
            return Ok(());
        }
        record.done = true;
        if let Some(order) = inner.orders.get_mut(id) {
            order.refunded_fee = order.refunded_fee.saturating_add(refund_fee);
            order.state = OrderState::Refunded;
        }
        Ok(())
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

    fn top_up(id: &str, fee: u64, expires_at: u64) -> Order {
        Order::unpaid(id, "oBuyer", Item::TopUp, fee, expires_at)
    }

    #[test]
    fn beijing_time_is_utc_plus_8() {
        assert_eq!(beijing_time(0), "19700101080000");
        // 2023-11-14 22:13:20 UTC.
        assert_eq!(beijing_time(1_700_000_000), "20231115061320");
        // 2024-02-29 15:59:59 UTC, a leap day.
        assert_eq!(beijing_time(1_709_222_399), "20240229235959");
        assert_eq!(beijing_time(1_709_222_400), "20240301000000");
    }

    #[test]
    fn a_top_up_credits_what_was_paid_once() {
        let orders = MemoryOrders::default();
        let later = now_secs() + 900;
        orders.create(top_up("t1", 5000, later)).unwrap();
        orders
            .create(Order::unpaid(
                "p1",
                "oBuyer",
                Item::Product {
                    product_id: "tea".into(),
                },
                500,
                later,
            ))
            .unwrap();
        assert_eq!(
            orders.mark_paid("t1", 1, "tx1"),
            Err(MarkError::AmountMismatch {
                expected: 5000,
                notified: 1
            })
        );
        assert_eq!(orders.balance("oBuyer"), 0);
        orders.mark_paid("t1", 5000, "tx1").unwrap();
        orders.mark_paid("t1", 5000, "tx1").unwrap();
        assert_eq!(
            orders.mark_paid("t1", 5000, "tx2"),
            Err(MarkError::OtherTransaction)
        );
        orders.mark_paid("p1", 500, "tx3").unwrap();
        assert_eq!(orders.balance("oBuyer"), 5000);
        assert_eq!(orders.get("t1").unwrap().credit, Some(5000));
        assert_eq!(orders.get("p1").unwrap().credit, None);
        assert_eq!(orders.unpaid_len(), 0);
        assert_eq!(
            orders.create(top_up("t1", 1, later)),
            Err(MarkError::Duplicate("t1".into()))
        );
        assert_eq!(orders.get("t1").unwrap().state, OrderState::Paid);
    }

    #[test]
    fn refunds_never_exceed_what_was_paid_and_take_back_the_credit() {
        let orders = MemoryOrders::default();
        let later = now_secs() + 900;
        orders.create(top_up("t1", 5000, later)).unwrap();
        assert_eq!(
            orders.reserve_refund("t1", "r0", 1),
            Err(MarkError::NotPaid)
        );
        assert_eq!(
            orders.reserve_refund("t9", "r0", 1),
            Err(MarkError::Unknown("t9".into()))
        );
        orders.mark_paid("t1", 5000, "tx1").unwrap();
        orders.reserve_refund("t1", "r1", 3000).unwrap();
        assert_eq!(
            orders.balance("oBuyer"),
            2000,
            "the credit is taken back at once"
        );
        assert_eq!(
            orders.reserve_refund("t1", "r2", 2001),
            Err(MarkError::RefundTooLarge { left: 2000 })
        );
        assert_eq!(
            orders.reserve_refund("t1", "r2", 0),
            Err(MarkError::RefundTooLarge { left: 2000 })
        );
        assert_eq!(
            orders.reserve_refund("t1", "r1", 10),
            Err(MarkError::Duplicate("r1".into()))
        );
        // A refused refund gives the reservation and the balance back.
        orders.reserve_refund("t1", "r2", 2000).unwrap();
        orders.release_refund("t1", "r2").unwrap();
        assert_eq!(orders.balance("oBuyer"), 2000);
        assert_eq!(orders.get("t1").unwrap().state, OrderState::Paid);
        // Only the reserved refund, of its amount, marks it refunded; once.
        assert_eq!(
            orders.mark_refunded("t1", "r1", 2999),
            Err(MarkError::UnknownRefund("r1".into()))
        );
        assert_eq!(
            orders.mark_refunded("t1", "rX", 3000),
            Err(MarkError::UnknownRefund("rX".into()))
        );
        orders.mark_refunded("t1", "r1", 3000).unwrap();
        orders.mark_refunded("t1", "r1", 3000).unwrap();
        let order = orders.get("t1").unwrap();
        assert_eq!(
            (order.state, order.refunded_fee),
            (OrderState::Refunded, 3000)
        );
        // A done refund is not released; a duplicate payment notification is still fine.
        orders.release_refund("t1", "r1").unwrap();
        assert_eq!(orders.refunds("t1").len(), 1);
        orders.mark_paid("t1", 5000, "tx1").unwrap();
        assert_eq!(orders.get("t1").unwrap().state, OrderState::Refunded);
        // The balance the top-up credited was spent (in the shop, not modelled here): no
        // refund of more than is left of it.
        orders.create(top_up("t2", 100, later)).unwrap();
        orders.mark_paid("t2", 100, "tx2").unwrap();
        orders.lock().balances.insert("oBuyer".into(), 60);
        assert_eq!(
            orders.reserve_refund("t2", "r5", 100),
            Err(MarkError::BalanceSpent { balance: 60 })
        );
        orders.reserve_refund("t2", "r5", 60).unwrap();
        assert_eq!(orders.balance("oBuyer"), 0);
    }

    #[test]
    fn unpaid_orders_are_capped_and_forgotten_after_expiry() {
        let orders = MemoryOrders::new(2);
        let now = now_secs();
        let grace = UNPAID_GRACE.as_secs();
        // Expired longer ago than the grace: forgotten at the next create.
        orders.create(top_up("old", 100, now - grace - 10)).unwrap();
        assert_eq!(orders.unpaid_len(), 1);
        // Expired, within the grace: kept (a late notification still pays it).
        orders.create(top_up("late", 100, now - 10)).unwrap();
        assert_eq!(orders.get("old"), None);
        assert_eq!(
            orders.mark_paid("old", 100, "tx0"),
            Err(MarkError::Unknown("old".into()))
        );
        orders.create(top_up("new", 100, now + 900)).unwrap();
        assert!(orders.get("late").is_some());
        assert_eq!(orders.unpaid_len(), 2);
        assert_eq!(
            orders.create(top_up("more", 100, now + 900)),
            Err(MarkError::TooManyUnpaid)
        );
        assert_eq!(orders.get("more"), None);
        // Paying one makes room; paid orders do not count.
        orders.mark_paid("late", 100, "tx1").unwrap();
        orders.create(top_up("more", 100, now + 900)).unwrap();
        assert_eq!((orders.len(), orders.unpaid_len()), (3, 2));
    }
}
