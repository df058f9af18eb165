//! Refunds (`/v3/refund/domestic/refunds`): create and query, on the mock's refund book shared
//! with the v2 face (`super::super::refund`).

use http::StatusCode;
use serde_json::{Value, json};
use wechat_core::pay::v3::rfc3339_utc8;

use super::{Answer, Call, V3Error, amount, optional_text, text};
use crate::test_util::mock_pay::refund::{self as book, OrderRef, RefundError, RefundRequest};
use crate::test_util::mock_pay::{MockRefund, now};

/// The refund JSON of the create and query answers.
pub(in super::super) fn refund_json(refund: &MockRefund) -> Value {
    let mut out = json!({
        "refund_id": refund.refund_id,
        "out_refund_no": refund.out_refund_no,
        "transaction_id": refund.transaction_id,
        "out_trade_no": refund.out_trade_no,
        "channel": "ORIGINAL",
        "user_received_account": "支付用户零钱",
        "create_time": rfc3339_utc8(refund.created_at),
        "status": refund.status,
        "funds_account": "AVAILABLE",
        "amount": {
            "total": refund.total_fee,
            "refund": refund.refund_fee,
            "payer_total": refund.total_fee,
            "payer_refund": refund.refund_fee,
            "settlement_total": refund.total_fee,
            "settlement_refund": refund.refund_fee,
            "discount_refund": 0,
            "currency": "CNY",
            "refund_fee": 0,
        },
        "promotion_detail": [],
    });
    if let Some(at) = refund.success_at {
        out["success_time"] = rfc3339_utc8(at).into();
    }
    out
}

/// `POST /v3/refund/domestic/refunds`.
pub(super) fn create(call: &Call<'_>) -> Result<Answer, V3Error> {
    let body = call.json()?;
    let transaction_id = optional_text(&body, "transaction_id")?.filter(|s| !s.is_empty());
    let out_trade_no = optional_text(&body, "out_trade_no")?.filter(|s| !s.is_empty());
    let order = match (transaction_id, out_trade_no) {
        (Some(id), _) => OrderRef::TransactionId(id),
        (None, Some(no)) => OrderRef::OutTradeNo(no),
        (None, None) => return Err(V3Error::param("transaction_id/out_trade_no")),
    };
    let out_refund_no = text(&body, "out_refund_no")?;
    let money = match body.get("amount") {
        Some(Value::Object(money)) => money,
        _ => return Err(V3Error::param("amount")),
    };
    let refund = amount(money, "refund", "amount.refund")?;
    let total = amount(money, "total", "amount.total")?;
    if text(money, "currency").map_err(|_| V3Error::param("amount.currency"))? != "CNY" {
        return Err(V3Error::param("amount.currency"));
    }
    let ask = RefundRequest {
        order,
        out_refund_no,
        total,
        refund,
        notify_url: optional_text(&body, "notify_url")?,
        reason: optional_text(&body, "reason")?,
        api: "v3",
    };
    let invalid = |message: &str| V3Error::new(StatusCode::BAD_REQUEST, "INVALID_REQUEST", message);
    let created = book::create(&mut call.shared.lock(), &ask, now()).map_err(|e| match e {
        RefundError::NoOrder => {
            V3Error::new(StatusCode::NOT_FOUND, "RESOURCE_NOT_EXISTS", "订单不存在")
        }
        RefundError::NotPaid => invalid("订单未支付，不能退款"),
        RefundError::FullyRefunded => invalid("订单已全额退款"),
        RefundError::TotalMismatch => invalid("订单金额与原支付金额不一致"),
        RefundError::InvalidAmount | RefundError::MoreThanLeft => {
            invalid("申请退款金额超过订单可退金额")
        }
        RefundError::Mismatch => invalid("退款单号重复，但请求参数与原请求不一致"),
    })?;
    Ok(Answer::Json(refund_json(&created)))
}

/// `GET /v3/refund/domestic/refunds/{out_refund_no}`.
pub(super) fn query(call: &Call<'_>, out_refund_no: &str) -> Result<Answer, V3Error> {
    let state = call.shared.lock();
    let refund = state.refunds.get(out_refund_no).ok_or_else(|| {
        V3Error::new(StatusCode::NOT_FOUND, "RESOURCE_NOT_EXISTS", "退款单不存在")
    })?;
    Ok(Answer::Json(refund_json(refund)))
}
