//! Refunds as the mock keeps them, shared by the v2 (`/secapi/pay/refund`) and v3
//! (`/v3/refund/domestic/refunds`) faces: the amount rules are WeChat Pay's, the error codes are
//! each face's.

use wechat_core::pay::TradeState;

use super::{MockOrder, State};

/// A refund as the mock keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct MockRefund {
    /// `out_refund_no`.
    pub out_refund_no: String,
    /// `refund_id`, given by the mock.
    pub refund_id: String,
    /// `out_trade_no` of the order refunded.
    pub out_trade_no: String,
    /// `transaction_id` of the order refunded.
    pub transaction_id: String,
    /// Fen refunded by this refund.
    pub refund_fee: u64,
    /// Fen the order was paid.
    pub total_fee: u64,
    /// `PROCESSING`, then `SUCCESS` ([`MockPay::complete_refund`](super::MockPay::complete_refund)
    /// or its refund notification).
    pub status: String,
    /// `notify_url` of the request, if any.
    pub notify_url: Option<String>,
    /// `reason` (v3) or `refund_desc` (v2).
    pub reason: Option<String>,
    /// When it was asked (seconds since the Unix epoch).
    pub created_at: u64,
    /// When it succeeded.
    pub success_at: Option<u64>,
    /// `"v2"` or `"v3"`: the API that asked for it.
    pub api: &'static str,
}

impl MockRefund {
    /// `PROCESSING` → `SUCCESS`, once.
    pub(super) fn complete(&mut self, now: u64) {
        if self.status != "SUCCESS" {
            self.status = "SUCCESS".to_owned();
            self.success_at = Some(now);
        }
    }
}

/// Which order a refund request names.
#[derive(Debug, Clone, Copy)]
pub(super) enum OrderRef<'a> {
    TransactionId(&'a str),
    OutTradeNo(&'a str),
}

impl State {
    /// The order a request names.
    pub(super) fn find_order(&self, by: OrderRef<'_>) -> Option<&MockOrder> {
        match by {
            OrderRef::TransactionId(id) => self
                .orders
                .values()
                .find(|o| o.transaction_id.as_deref() == Some(id)),
            OrderRef::OutTradeNo(no) => self.orders.get(no),
        }
    }
}

/// Why a refund is refused; each face maps it to its own code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum RefundError {
    /// No such order.
    NoOrder,
    /// The order was not paid (or was closed).
    NotPaid,
    /// Nothing is left to refund.
    FullyRefunded,
    /// `total` is not what the order was paid.
    TotalMismatch,
    /// `refund` is zero or more than `total`.
    InvalidAmount,
    /// `refund` is more than what is left to refund.
    MoreThanLeft,
    /// The same `out_refund_no` with other amounts or for another order.
    Mismatch,
}

/// A refund request, from either face.
pub(super) struct RefundRequest<'a> {
    pub(super) order: OrderRef<'a>,
    pub(super) out_refund_no: &'a str,
    pub(super) total: u64,
    pub(super) refund: u64,
    pub(super) notify_url: Option<&'a str>,
    pub(super) reason: Option<&'a str>,
    pub(super) api: &'static str,
}

/// Asks for a refund: the same `out_refund_no` with the same amounts gives the same refund
/// (WeChat's advice after a timeout: retry with the same number).
pub(super) fn create(
    state: &mut State,
    request: &RefundRequest<'_>,
    now: u64,
) -> Result<MockRefund, RefundError> {
    let order = state
        .find_order(request.order)
        .ok_or(RefundError::NoOrder)?
        .clone();
    if let Some(existing) = state.refunds.get(request.out_refund_no) {
        return if existing.out_trade_no == order.out_trade_no
            && existing.refund_fee == request.refund
            && existing.total_fee == request.total
        {
            Ok(existing.clone())
        } else {
            Err(RefundError::Mismatch)
        };
    }
    if request.refund == 0 || request.refund > request.total {
        return Err(RefundError::InvalidAmount);
    }
    let Some(transaction_id) = order.transaction_id.clone() else {
        return Err(RefundError::NotPaid);
    };
    if !matches!(order.state, TradeState::Success | TradeState::Refund) {
        return Err(RefundError::NotPaid);
    }
    if request.total != order.total_fee {
        return Err(RefundError::TotalMismatch);
    }
    let left = order.total_fee.saturating_sub(order.refunded_fee);
    if left == 0 {
        return Err(RefundError::FullyRefunded);
    }
    if request.refund > left {
        return Err(RefundError::MoreThanLeft);
    }
    let refund = MockRefund {
        out_refund_no: request.out_refund_no.to_owned(),
        refund_id: format!("503{:026}", state.next()),
        out_trade_no: order.out_trade_no.clone(),
        transaction_id,
        refund_fee: request.refund,
        total_fee: order.total_fee,
        status: "PROCESSING".to_owned(),
        notify_url: request.notify_url.map(str::to_owned),
        reason: request.reason.map(str::to_owned),
        created_at: now,
        success_at: None,
        api: request.api,
    };
    if let Some(order) = state.orders.get_mut(&order.out_trade_no) {
        order.refunded_fee += request.refund;
        order.state = TradeState::Refund;
    }
    state
        .refunds
        .insert(refund.out_refund_no.clone(), refund.clone());
    Ok(refund)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]

    use super::*;

    fn paid(state: &mut State, no: &str, total: u64) {
        state.orders.insert(
            no.to_owned(),
            MockOrder {
                out_trade_no: no.to_owned(),
                total_fee: total,
                body: "b".to_owned(),
                openid: "o".to_owned(),
                trade_type: "JSAPI".to_owned(),
                notify_url: String::new(),
                attach: None,
                prepay_id: "wx1".to_owned(),
                state: TradeState::Success,
                transaction_id: Some(format!("tx-{no}")),
                time_end: None,
                paid_at: Some(1),
                refunded_fee: 0,
                api: "v2",
            },
        );
    }

    fn ask<'a>(no: &'a str, out_refund_no: &'a str, total: u64, refund: u64) -> RefundRequest<'a> {
        RefundRequest {
            order: OrderRef::OutTradeNo(no),
            out_refund_no,
            total,
            refund,
            notify_url: None,
            reason: None,
            api: "v3",
        }
    }

    #[test]
    fn partial_refunds_add_up_to_the_total_and_no_more() {
        let mut state = State::default();
        paid(&mut state, "no-1", 100);
        let first = create(&mut state, &ask("no-1", "r-1", 100, 60), 5).unwrap();
        assert_eq!(first.status, "PROCESSING");
        assert_eq!(
            create(&mut state, &ask("no-1", "r-2", 100, 41), 5),
            Err(RefundError::MoreThanLeft)
        );
        create(&mut state, &ask("no-1", "r-2", 100, 40), 5).unwrap();
        assert_eq!(
            create(&mut state, &ask("no-1", "r-3", 100, 1), 5),
            Err(RefundError::FullyRefunded)
        );
        assert_eq!(state.orders["no-1"].refunded_fee, 100);
        assert_eq!(state.orders["no-1"].state, TradeState::Refund);
    }

    #[test]
    fn the_same_refund_number_is_idempotent_only_with_the_same_amounts() {
        let mut state = State::default();
        paid(&mut state, "no-1", 100);
        let first = create(&mut state, &ask("no-1", "r-1", 100, 60), 5).unwrap();
        let again = create(&mut state, &ask("no-1", "r-1", 100, 60), 6).unwrap();
        assert_eq!(first.refund_id, again.refund_id);
        assert_eq!(state.orders["no-1"].refunded_fee, 60, "counted once");
        assert_eq!(
            create(&mut state, &ask("no-1", "r-1", 100, 50), 6),
            Err(RefundError::Mismatch)
        );
    }

    #[test]
    fn amounts_and_orders_are_checked() {
        let mut state = State::default();
        paid(&mut state, "no-1", 100);
        assert_eq!(
            create(&mut state, &ask("no-x", "r-1", 100, 1), 5),
            Err(RefundError::NoOrder)
        );
        assert_eq!(
            create(&mut state, &ask("no-1", "r-1", 100, 0), 5),
            Err(RefundError::InvalidAmount)
        );
        assert_eq!(
            create(&mut state, &ask("no-1", "r-1", 100, 101), 5),
            Err(RefundError::InvalidAmount)
        );
        assert_eq!(
            create(&mut state, &ask("no-1", "r-1", 200, 150), 5),
            Err(RefundError::TotalMismatch)
        );
        state.orders.get_mut("no-1").unwrap().state = TradeState::NotPay;
        state.orders.get_mut("no-1").unwrap().transaction_id = None;
        assert_eq!(
            create(&mut state, &ask("no-1", "r-1", 100, 10), 5),
            Err(RefundError::NotPaid)
        );
        assert!(state.refunds.is_empty());
    }
}
