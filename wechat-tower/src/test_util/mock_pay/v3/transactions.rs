//! Orders (`/v3/pay/transactions/…`): JSAPI / Mini Program, App, Native and H5 prepay, query by
//! `transaction_id` or `out_trade_no`, close. The orders are the mock's one order book, shared
//! with the v2 face.

use http::StatusCode;
use serde_json::{Map, Value, json};
use wechat_core::pay::TradeState;
use wechat_core::pay::v3::rfc3339_utc8;

use super::{Answer, Call, V3Error, amount, optional_text, text};
use crate::test_util::mock_pay::{MockOrder, Shared};

/// How a query names the order.
pub(super) enum By<'a> {
    TransactionId(&'a str),
    OutTradeNo(&'a str),
}

/// The `trade_type` the mock stores for a prepay path.
fn trade_type(kind: &str) -> &'static str {
    match kind {
        "jsapi" => "JSAPI",
        "app" => "APP",
        "native" => "NATIVE",
        _ => "MWEB",
    }
}

/// `out_trade_no`: 6 to 32 characters of `[0-9A-Za-z_|*-]`.
fn valid_out_trade_no(no: &str) -> bool {
    (6..=32).contains(&no.len())
        && no
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'|' | b'*'))
}

/// `POST /v3/pay/transactions/{jsapi,app,native,h5}`.
pub(super) fn create(call: &Call<'_>, kind: &str) -> Result<Answer, V3Error> {
    let shared = call.shared;
    let body = call.json()?;
    let appid = text(&body, "appid")?;
    let mchid = text(&body, "mchid")?;
    let description = text(&body, "description")?;
    let out_trade_no = text(&body, "out_trade_no")?;
    let notify_url = text(&body, "notify_url")?;
    if description.chars().count() > 127 {
        return Err(V3Error::param("description"));
    }
    if !valid_out_trade_no(out_trade_no) {
        return Err(V3Error::param("out_trade_no"));
    }
    if !(notify_url.starts_with("https://") || notify_url.starts_with("http://"))
        || notify_url.contains('?')
    {
        return Err(V3Error::param("notify_url"));
    }
    let money = match body.get("amount") {
        Some(Value::Object(money)) => money,
        _ => return Err(V3Error::param("amount")),
    };
    let total = amount(money, "total", "amount.total")?;
    if optional_text(money, "currency")?.is_some_and(|c| c != "CNY") {
        return Err(V3Error::param("amount.currency"));
    }
    let openid = match body.get("payer") {
        Some(Value::Object(payer)) => {
            text(payer, "openid").map_err(|_| V3Error::param("payer.openid"))?
        }
        None if kind != "jsapi" => "",
        _ => return Err(V3Error::param("payer.openid")),
    };
    if kind == "h5" {
        let scene = match body.get("scene_info") {
            Some(Value::Object(scene)) => scene,
            _ => return Err(V3Error::param("scene_info")),
        };
        text(scene, "payer_client_ip").map_err(|_| V3Error::param("scene_info.payer_client_ip"))?;
        match scene.get("h5_info") {
            Some(Value::Object(h5)) => {
                text(h5, "type").map_err(|_| V3Error::param("scene_info.h5_info.type"))?;
            }
            _ => return Err(V3Error::param("scene_info.h5_info")),
        }
    }
    if appid != shared.appid || mchid != shared.mch_id {
        return Err(V3Error::new(
            StatusCode::BAD_REQUEST,
            "APPID_MCHID_NOT_MATCH",
            "appid和mch_id不匹配",
        ));
    }
    let trade_type = trade_type(kind);
    let mut state = shared.lock();
    let prepay_id = if let Some(existing) = state.orders.get(out_trade_no) {
        match existing.state {
            TradeState::Success | TradeState::Refund => {
                return Err(V3Error::new(
                    StatusCode::BAD_REQUEST,
                    "ORDERPAID",
                    "该订单已支付",
                ));
            }
            TradeState::Closed => {
                return Err(V3Error::new(
                    StatusCode::BAD_REQUEST,
                    "ORDER_CLOSED",
                    "订单已关闭",
                ));
            }
            _ => {}
        }
        if existing.total_fee != total
            || existing.body != description
            || existing.openid != openid
            || existing.trade_type != trade_type
        {
            return Err(V3Error::new(
                StatusCode::FORBIDDEN,
                "OUT_TRADE_NO_USED",
                "商户订单号重复",
            ));
        }
        existing.prepay_id.clone()
    } else {
        let prepay_id = format!("wx{:030}", state.next());
        state.orders.insert(
            out_trade_no.to_owned(),
            MockOrder {
                out_trade_no: out_trade_no.to_owned(),
                total_fee: total,
                body: description.to_owned(),
                openid: openid.to_owned(),
                trade_type: trade_type.to_owned(),
                notify_url: notify_url.to_owned(),
                attach: optional_text(&body, "attach")?.map(str::to_owned),
                prepay_id: prepay_id.clone(),
                state: TradeState::NotPay,
                transaction_id: None,
                time_end: None,
                paid_at: None,
                refunded_fee: 0,
                api: "v3",
            },
        );
        prepay_id
    };
    Ok(Answer::Json(match kind {
        "native" => json!({ "code_url": format!("weixin://wxpay/bizpayurl?pr={prepay_id}") }),
        "h5" => json!({
            "h5_url": format!("https://wx.tenpay.com/cgi-bin/mmpayweb-bin/checkmweb?prepay_id={prepay_id}&package=1")
        }),
        _ => json!({ "prepay_id": prepay_id }),
    }))
}

/// The transaction JSON of an order, as the query and the notification give it.
pub(in super::super) fn transaction_json(shared: &Shared, order: &MockOrder) -> Value {
    let (state, desc) = match &order.state {
        TradeState::Success => ("SUCCESS", "支付成功"),
        TradeState::Refund => ("REFUND", "转入退款"),
        TradeState::Closed => ("CLOSED", "已关闭"),
        _ => ("NOTPAY", "未支付"),
    };
    let mut out = Map::new();
    out.insert("appid".into(), shared.appid.clone().into());
    out.insert("mchid".into(), shared.mch_id.clone().into());
    out.insert("out_trade_no".into(), order.out_trade_no.clone().into());
    out.insert("trade_state".into(), state.into());
    out.insert("trade_state_desc".into(), desc.into());
    out.insert(
        "attach".into(),
        order.attach.clone().unwrap_or_default().into(),
    );
    let mut money = json!({ "total": order.total_fee, "currency": "CNY" });
    if let (Some(id), Some(paid_at)) = (&order.transaction_id, order.paid_at) {
        out.insert("transaction_id".into(), id.clone().into());
        out.insert("trade_type".into(), order.trade_type.clone().into());
        out.insert("bank_type".into(), "OTHERS".into());
        out.insert("success_time".into(), rfc3339_utc8(paid_at).into());
        money["payer_total"] = order.total_fee.into();
        money["payer_currency"] = "CNY".into();
    }
    out.insert("amount".into(), money);
    if !order.openid.is_empty() {
        out.insert("payer".into(), json!({ "openid": order.openid }));
    }
    Value::Object(out)
}

/// `GET /v3/pay/transactions/id/{transaction_id}` and `…/out-trade-no/{out_trade_no}`.
pub(super) fn query(call: &Call<'_>, by: By<'_>) -> Result<Answer, V3Error> {
    call.check_query_mchid()?;
    let state = call.shared.lock();
    let order = match by {
        By::TransactionId(id) => state
            .orders
            .values()
            .find(|o| o.transaction_id.as_deref() == Some(id)),
        By::OutTradeNo(no) => state.orders.get(no),
    };
    let order = order
        .ok_or_else(|| V3Error::new(StatusCode::NOT_FOUND, "ORDER_NOT_EXIST", "订单不存在"))?;
    Ok(Answer::Json(transaction_json(call.shared, order)))
}

/// `POST /v3/pay/transactions/out-trade-no/{out_trade_no}/close` with `{"mchid"}`: 204.
pub(super) fn close(call: &Call<'_>, out_trade_no: &str) -> Result<Answer, V3Error> {
    let body = call.json()?;
    if text(&body, "mchid")? != call.shared.mch_id {
        return Err(V3Error::new(
            StatusCode::BAD_REQUEST,
            "MCH_NOT_EXISTS",
            "商户号不存在",
        ));
    }
    let mut state = call.shared.lock();
    let order = state
        .orders
        .get_mut(out_trade_no)
        .ok_or_else(|| V3Error::new(StatusCode::NOT_FOUND, "ORDER_NOT_EXIST", "订单不存在"))?;
    match order.state {
        TradeState::Success | TradeState::Refund => Err(V3Error::new(
            StatusCode::BAD_REQUEST,
            "ORDERPAID",
            "订单已支付",
        )),
        _ => {
            order.state = TradeState::Closed;
            Ok(Answer::NoContent)
        }
    }
}
