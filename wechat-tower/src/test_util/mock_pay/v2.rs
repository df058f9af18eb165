//! The v2 face: XML requests signed with the API key (MD5 or HMAC-SHA256), signed XML answers
//! with `return_code` / `result_code` / `err_code`, as `api.mch.weixin.qq.com` answers.

use std::collections::VecDeque;

use bytes::Bytes;
use http::{HeaderValue, Method, Response, StatusCode, header};
use http_body_util::Full;
use wechat_core::pay::{PayMap, SignType, TradeState, refund::format_beijing_time};

use super::refund::{self as refunds, OrderRef, RefundError, RefundRequest};
use super::{MockOrder, PAY_ENDPOINTS, Shared, State, now};

/// Answers a v2 request (already read, counted and recorded).
pub(super) fn handle(
    shared: &Shared,
    method: &Method,
    path: &str,
    body: &[u8],
) -> Response<Full<Bytes>> {
    if !PAY_ENDPOINTS.contains(&path) {
        return xml_response(StatusCode::NOT_FOUND, return_fail("no such API"));
    }
    if method != Method::POST {
        return xml_response(StatusCode::OK, return_fail("REQUIRE_POST_METHOD"));
    }
    xml_response(StatusCode::OK, answer(shared, path, body))
}

pub(super) fn xml_response(status: StatusCode, body: String) -> Response<Full<Bytes>> {
    let mut res = Response::new(Full::new(Bytes::from(body)));
    *res.status_mut() = status;
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/xml; charset=utf-8"),
    );
    res
}

pub(super) fn return_fail(message: &str) -> String {
    let mut map = PayMap::new();
    map.insert("return_code", "FAIL");
    map.insert("return_msg", message);
    map.to_xml().unwrap_or_default()
}

/// The signed answer to `path` for request `body`.
fn answer(shared: &Shared, path: &str, body: &[u8]) -> String {
    let Ok(request) = PayMap::from_xml_bytes(body) else {
        return return_fail("XML格式错误");
    };
    let Ok(sign_type) = SignType::of(&request) else {
        return return_fail("签名类型错误");
    };
    if request.verify_sign(&shared.key, sign_type).is_err() {
        return return_fail("签名错误");
    }
    let mut out = PayMap::new();
    out.insert("return_code", "SUCCESS");
    out.insert("return_msg", "OK");
    out.insert("appid", shared.appid.clone());
    out.insert("mch_id", shared.mch_id.clone());
    out.insert("nonce_str", wechat_core::pay::nonce_str());
    let result = if request.get("appid") != Some(shared.appid.as_str())
        || request.get("mch_id") != Some(shared.mch_id.as_str())
    {
        Err(("APPID_MCHID_NOT_MATCH", "appid和mch_id不匹配"))
    } else if request.get_nonempty("nonce_str").is_none() {
        Err(("LACK_PARAMS", "缺少参数 nonce_str"))
    } else {
        let mut state = shared.lock();
        match state.failures.get_mut(path).and_then(VecDeque::pop_front) {
            Some(code) => {
                out.insert("result_code", "FAIL");
                out.insert("err_code", code.clone());
                out.insert("err_code_des", format!("{code} (mock)"));
                out.sign(&shared.key, sign_type);
                return out.to_xml().unwrap_or_default();
            }
            None => match path {
                "/pay/unifiedorder" => unified_order(&mut state, &request, &mut out),
                "/pay/orderquery" => order_query(&state, &request, &mut out),
                "/secapi/pay/refund" => match refund(&mut state, &request, &mut out) {
                    Ok(result) => result,
                    Err(message) => return return_fail(message),
                },
                "/pay/refundquery" => refund_query(&state, &request, &mut out),
                _ => close_order(&mut state, &request),
            },
        }
    };
    match result {
        Ok(()) => {
            out.insert("result_code", "SUCCESS");
        }
        Err((code, description)) => {
            out.insert("result_code", "FAIL");
            out.insert("err_code", code);
            out.insert("err_code_des", description);
        }
    }
    out.sign(&shared.key, sign_type);
    out.to_xml().unwrap_or_default()
}

/// A business failure: `result_code` FAIL with `err_code` and `err_code_des`.
type Business = Result<(), (&'static str, &'static str)>;

fn unified_order(state: &mut State, request: &PayMap, out: &mut PayMap) -> Business {
    for field in [
        "body",
        "out_trade_no",
        "total_fee",
        "spbill_create_ip",
        "notify_url",
        "trade_type",
    ] {
        if request.get_nonempty(field).is_none() {
            return Err(("LACK_PARAMS", "缺少参数"));
        }
    }
    let total_fee = match request.get_u64("total_fee") {
        Ok(Some(fee)) if fee > 0 => fee,
        _ => return Err(("PARAM_ERROR", "total_fee 参数错误")),
    };
    let trade_type = request.get("trade_type").unwrap_or("").to_owned();
    let openid = request.get("openid").unwrap_or("").to_owned();
    if trade_type == "JSAPI" && openid.is_empty() {
        return Err(("PARAM_ERROR", "JSAPI支付必须传openid"));
    }
    let out_trade_no = request.get("out_trade_no").unwrap_or("").to_owned();
    let body = request.get("body").unwrap_or("").to_owned();
    if let Some(existing) = state.orders.get(&out_trade_no) {
        match existing.state {
            TradeState::Success => return Err(("ORDERPAID", "该订单已支付")),
            TradeState::Closed => return Err(("ORDERCLOSED", "该订单已关闭")),
            _ => {}
        }
        if existing.total_fee != total_fee || existing.body != body || existing.openid != openid {
            return Err(("INVALID_REQUEST", "201 商户订单号重复"));
        }
        let prepay_id = existing.prepay_id.clone();
        fill_prepay(out, &prepay_id, &trade_type);
        return Ok(());
    }
    let prepay_id = format!("wx{:030}", state.next());
    state.orders.insert(
        out_trade_no.clone(),
        MockOrder {
            out_trade_no,
            total_fee,
            body,
            openid,
            trade_type: trade_type.clone(),
            notify_url: request.get("notify_url").unwrap_or("").to_owned(),
            attach: request.get_nonempty("attach").map(str::to_owned),
            prepay_id: prepay_id.clone(),
            state: TradeState::NotPay,
            transaction_id: None,
            time_end: None,
            paid_at: None,
            refunded_fee: 0,
            api: "v2",
        },
    );
    fill_prepay(out, &prepay_id, &trade_type);
    Ok(())
}

fn fill_prepay(out: &mut PayMap, prepay_id: &str, trade_type: &str) {
    out.insert("prepay_id", prepay_id);
    out.insert("trade_type", trade_type);
    match trade_type {
        "NATIVE" => {
            out.insert(
                "code_url",
                format!("weixin://wxpay/bizpayurl?pr={prepay_id}"),
            );
        }
        "MWEB" => {
            out.insert(
                "mweb_url",
                format!(
                    "https://wx.tenpay.com/cgi-bin/mmpayweb-bin/checkmweb?prepay_id={prepay_id}"
                ),
            );
        }
        _ => {}
    }
}

fn order_query(state: &State, request: &PayMap, out: &mut PayMap) -> Business {
    let order = match (
        request.get_nonempty("transaction_id"),
        request.get_nonempty("out_trade_no"),
    ) {
        (Some(id), _) => state
            .orders
            .values()
            .find(|o| o.transaction_id.as_deref() == Some(id)),
        (None, Some(no)) => state.orders.get(no),
        (None, None) => return Err(("LACK_PARAMS", "缺少参数")),
    };
    let Some(order) = order else {
        return Err(("ORDERNOTEXIST", "订单不存在"));
    };
    out.insert("trade_state", order.state.as_str());
    out.insert("out_trade_no", order.out_trade_no.clone());
    out.insert("trade_type", order.trade_type.clone());
    out.insert("openid", order.openid.clone());
    if let (Some(id), Some(end)) = (&order.transaction_id, &order.time_end) {
        out.insert("transaction_id", id.clone());
        out.insert("time_end", end.clone());
        out.insert("total_fee", order.total_fee.to_string());
        out.insert("cash_fee", order.total_fee.to_string());
        out.insert("bank_type", "CMC");
        out.insert("trade_state_desc", "支付成功");
    } else if order.state == TradeState::Closed {
        out.insert("trade_state_desc", "订单已关闭");
    } else {
        out.insert("trade_state_desc", "订单未支付");
    }
    Ok(())
}

fn close_order(state: &mut State, request: &PayMap) -> Business {
    let Some(no) = request.get_nonempty("out_trade_no") else {
        return Err(("LACK_PARAMS", "缺少参数"));
    };
    let Some(order) = state.orders.get_mut(no) else {
        return Err(("ORDERNOTEXIST", "订单不存在"));
    };
    match order.state {
        TradeState::Success => Err(("ORDERPAID", "该订单已支付")),
        _ => {
            order.state = TradeState::Closed;
            Ok(())
        }
    }
}

/// `/secapi/pay/refund` (申请退款). `Err` is a `return_code` FAIL message (a refund above
/// `total_fee` is refused at that level, as WeChat Pay does).
fn refund(state: &mut State, request: &PayMap, out: &mut PayMap) -> Result<Business, &'static str> {
    let order = match (
        request.get_nonempty("transaction_id"),
        request.get_nonempty("out_trade_no"),
    ) {
        (Some(id), _) => OrderRef::TransactionId(id),
        (None, Some(no)) => OrderRef::OutTradeNo(no),
        (None, None) => {
            return Ok(Err((
                "PARAM_ERROR",
                "transaction_id和out_trade_no不能同时为空",
            )));
        }
    };
    let Some(out_refund_no) = request.get_nonempty("out_refund_no") else {
        return Ok(Err(("PARAM_ERROR", "缺少参数 out_refund_no")));
    };
    let (Ok(Some(total)), Ok(Some(refund_fee))) =
        (request.get_u64("total_fee"), request.get_u64("refund_fee"))
    else {
        return Ok(Err(("PARAM_ERROR", "total_fee/refund_fee 参数错误")));
    };
    let ask = RefundRequest {
        order,
        out_refund_no,
        total,
        refund: refund_fee,
        notify_url: request.get_nonempty("notify_url"),
        reason: request.get_nonempty("refund_desc"),
        api: "v2",
    };
    let refund = match refunds::create(state, &ask, now()) {
        Ok(refund) => refund,
        Err(RefundError::InvalidAmount) => return Err("invalid refund_fee"),
        Err(RefundError::NoOrder) => {
            return Ok(Err(match order {
                OrderRef::TransactionId(_) => ("INVALID_TRANSACTIONID", "无效transaction_id"),
                OrderRef::OutTradeNo(_) => ("ORDERNOTEXIST", "订单不存在"),
            }));
        }
        Err(RefundError::NotPaid) => return Ok(Err(("ERROR", "订单状态错误，订单未支付"))),
        Err(RefundError::FullyRefunded) => return Ok(Err(("ERROR", "订单已全额退款"))),
        Err(RefundError::TotalMismatch) => {
            return Ok(Err((
                "INVALID_REQUEST",
                "订单金额total_fee与支付金额不一致",
            )));
        }
        Err(RefundError::MoreThanLeft) => {
            return Ok(Err(("INVALID_REQUEST", "refund_fee大于可退金额")));
        }
        Err(RefundError::Mismatch) => {
            return Ok(Err((
                "REFUND_FEE_MISMATCH",
                "订单金额或退款金额与之前请求不一致，请核实后再试",
            )));
        }
    };
    for (k, v) in [
        ("transaction_id", refund.transaction_id.as_str()),
        ("out_trade_no", refund.out_trade_no.as_str()),
        ("out_refund_no", refund.out_refund_no.as_str()),
        ("refund_id", refund.refund_id.as_str()),
        ("fee_type", "CNY"),
        ("coupon_refund_count", "0"),
    ] {
        out.insert(k, v);
    }
    for k in ["refund_fee", "settlement_refund_fee", "cash_refund_fee"] {
        out.insert(k, refund.refund_fee.to_string());
    }
    for k in ["total_fee", "settlement_total_fee", "cash_fee"] {
        out.insert(k, refund.total_fee.to_string());
    }
    Ok(Ok(()))
}

/// `/pay/refundquery` (查询退款): by `refund_id`, `out_refund_no`, `transaction_id` or
/// `out_trade_no`, in that order of precedence; every refund of the order, oldest first.
fn refund_query(state: &State, request: &PayMap, out: &mut PayMap) -> Business {
    let mut found: Vec<_> = if let Some(id) = request.get_nonempty("refund_id") {
        state
            .refunds
            .values()
            .filter(|r| r.refund_id == id)
            .collect()
    } else if let Some(no) = request.get_nonempty("out_refund_no") {
        state.refunds.get(no).into_iter().collect()
    } else {
        let order = match (
            request.get_nonempty("transaction_id"),
            request.get_nonempty("out_trade_no"),
        ) {
            (Some(id), _) => state.find_order(OrderRef::TransactionId(id)),
            (None, Some(no)) => state.find_order(OrderRef::OutTradeNo(no)),
            (None, None) => return Err(("PARAM_ERROR", "缺少参数")),
        };
        order.map_or_else(Vec::new, |order: &MockOrder| {
            state
                .refunds
                .values()
                .filter(|r| r.out_trade_no == order.out_trade_no)
                .collect()
        })
    };
    found.sort_by(|a, b| a.refund_id.cmp(&b.refund_id));
    let Some(first) = found.first() else {
        return Err(("REFUNDNOTEXIST", "退款订单查询失败"));
    };
    out.insert("transaction_id", first.transaction_id.clone());
    out.insert("out_trade_no", first.out_trade_no.clone());
    out.insert("total_fee", first.total_fee.to_string());
    out.insert("settlement_total_fee", first.total_fee.to_string());
    out.insert("cash_fee", first.total_fee.to_string());
    out.insert("fee_type", "CNY");
    out.insert(
        "refund_fee",
        found.iter().map(|r| r.refund_fee).sum::<u64>().to_string(),
    );
    out.insert("refund_count", found.len().to_string());
    for (n, r) in found.iter().enumerate() {
        out.insert(format!("out_refund_no_{n}"), r.out_refund_no.clone());
        out.insert(format!("refund_id_{n}"), r.refund_id.clone());
        out.insert(format!("refund_channel_{n}"), "ORIGINAL");
        out.insert(format!("refund_fee_{n}"), r.refund_fee.to_string());
        out.insert(
            format!("settlement_refund_fee_{n}"),
            r.refund_fee.to_string(),
        );
        out.insert(format!("refund_status_{n}"), r.status.clone());
        out.insert(
            format!("refund_account_{n}"),
            "REFUND_SOURCE_UNSETTLED_FUNDS",
        );
        out.insert(format!("refund_recv_accout_{n}"), "支付用户的零钱");
        if let Some(at) = r.success_at {
            out.insert(format!("refund_success_time_{n}"), format_beijing_time(at));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]

    use super::*;

    fn shared() -> Shared {
        Shared::for_tests()
    }

    fn signed(shared: &Shared, fields: &[(&str, &str)]) -> Vec<u8> {
        let mut map = PayMap::new();
        map.insert("appid", shared.appid.clone());
        map.insert("mch_id", shared.mch_id.clone());
        map.insert("nonce_str", "n0nce");
        for (k, v) in fields {
            map.insert(*k, *v);
        }
        map.sign(&shared.key, SignType::Md5);
        map.to_xml().unwrap().into_bytes()
    }

    fn call(shared: &Shared, path: &str, fields: &[(&str, &str)]) -> PayMap {
        let xml = answer(shared, path, &signed(shared, fields));
        let map = PayMap::from_xml(&xml).unwrap();
        if map.get("return_code") == Some("SUCCESS") {
            map.verify_sign(&shared.key, SignType::Md5).unwrap();
        }
        map
    }

    fn paid_order(shared: &Shared, no: &str, total: u64) -> String {
        let mut state = shared.lock();
        let n = state.next();
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
                transaction_id: Some(format!("4200{n:024}")),
                time_end: Some("20231114093012".to_owned()),
                paid_at: Some(1),
                refunded_fee: 0,
                api: "v2",
            },
        );
        format!("4200{n:024}")
    }

    #[test]
    fn a_refund_is_signed_and_counted_once() {
        let shared = shared();
        paid_order(&shared, "no-1", 100);
        let ask = [
            ("out_trade_no", "no-1"),
            ("out_refund_no", "r-1"),
            ("total_fee", "100"),
            ("refund_fee", "30"),
        ];
        let first = call(&shared, "/secapi/pay/refund", &ask);
        assert_eq!(first.get("result_code"), Some("SUCCESS"), "{first:?}");
        assert_eq!(first.get("refund_fee"), Some("30"));
        assert!(
            first
                .get("refund_id")
                .is_some_and(|id| id.starts_with("503"))
        );
        let again = call(&shared, "/secapi/pay/refund", &ask);
        assert_eq!(again.get("refund_id"), first.get("refund_id"));
        assert_eq!(shared.lock().orders["no-1"].refunded_fee, 30);
    }

    #[test]
    fn refund_errors_are_wechats() {
        let shared = shared();
        let tx = paid_order(&shared, "no-1", 100);
        let code = |fields: &[(&str, &str)]| {
            let map = call(&shared, "/secapi/pay/refund", fields);
            if map.get("return_code") == Some("FAIL") {
                map.get("return_msg").unwrap_or("").to_owned()
            } else {
                map.get("err_code").unwrap_or("").to_owned()
            }
        };
        let base = |no: &'static str, r: &'static str, total: &'static str, fee: &'static str| {
            [
                ("out_trade_no", no),
                ("out_refund_no", r),
                ("total_fee", total),
                ("refund_fee", fee),
            ]
        };
        assert_eq!(
            code(&base("no-1", "r-1", "100", "101")),
            "invalid refund_fee"
        );
        assert_eq!(code(&base("no-x", "r-1", "100", "1")), "ORDERNOTEXIST");
        assert_eq!(code(&base("no-1", "r-1", "90", "10")), "INVALID_REQUEST");
        assert_eq!(code(&base("no-1", "r-1", "100", "70")), "");
        assert_eq!(
            code(&base("no-1", "r-1", "100", "71")),
            "REFUND_FEE_MISMATCH"
        );
        assert_eq!(code(&base("no-1", "r-2", "100", "31")), "INVALID_REQUEST");
        assert_eq!(code(&base("no-1", "r-2", "100", "30")), "");
        assert_eq!(code(&base("no-1", "r-3", "100", "1")), "ERROR");
        assert_eq!(
            code(&[
                ("transaction_id", "4200x"),
                ("out_refund_no", "r-4"),
                ("total_fee", "100"),
                ("refund_fee", "1"),
            ]),
            "INVALID_TRANSACTIONID"
        );
        assert_eq!(
            code(&[("transaction_id", tx.as_str()), ("out_refund_no", "r-4")]),
            "PARAM_ERROR"
        );
    }

    #[test]
    fn a_forged_refund_request_is_refused() {
        let shared = shared();
        paid_order(&shared, "no-1", 100);
        let xml = String::from_utf8(signed(
            &shared,
            &[
                ("out_trade_no", "no-1"),
                ("out_refund_no", "r-1"),
                ("total_fee", "100"),
                ("refund_fee", "1"),
            ],
        ))
        .unwrap()
        .replace("<refund_fee><![CDATA[1]]>", "<refund_fee><![CDATA[100]]>");
        assert!(xml.contains("[100]"), "{xml}");
        let map = PayMap::from_xml(&answer(&shared, "/secapi/pay/refund", xml.as_bytes())).unwrap();
        assert_eq!(map.get("return_code"), Some("FAIL"));
        assert!(shared.lock().refunds.is_empty());
    }

    #[test]
    fn refund_query_lists_every_refund_of_the_order() {
        let shared = shared();
        let tx = paid_order(&shared, "no-1", 100);
        for (r, fee) in [("r-1", "10"), ("r-2", "20")] {
            call(
                &shared,
                "/secapi/pay/refund",
                &[
                    ("out_trade_no", "no-1"),
                    ("out_refund_no", r),
                    ("total_fee", "100"),
                    ("refund_fee", fee),
                ],
            );
        }
        shared
            .lock()
            .refunds
            .get_mut("r-2")
            .unwrap()
            .complete(1_700_000_000);
        let map = call(
            &shared,
            "/pay/refundquery",
            &[("transaction_id", tx.as_str())],
        );
        assert_eq!(map.get("result_code"), Some("SUCCESS"), "{map:?}");
        assert_eq!(map.get("refund_count"), Some("2"));
        assert_eq!(map.get("out_refund_no_0"), Some("r-1"));
        assert_eq!(map.get("refund_status_0"), Some("PROCESSING"));
        assert_eq!(map.get("refund_fee_1"), Some("20"));
        assert_eq!(map.get("refund_status_1"), Some("SUCCESS"));
        assert!(map.get("refund_success_time_1").is_some());
        let one = call(&shared, "/pay/refundquery", &[("out_refund_no", "r-2")]);
        assert_eq!(one.get("refund_count"), Some("1"));
        assert_eq!(one.get("refund_id_0"), map.get("refund_id_1"));
        let none = call(&shared, "/pay/refundquery", &[("out_refund_no", "r-9")]);
        assert_eq!(none.get("err_code"), Some("REFUNDNOTEXIST"));
    }

    #[test]
    fn injected_failures_answer_the_code() {
        let shared = shared();
        paid_order(&shared, "no-1", 100);
        shared.lock().failures.insert(
            "/secapi/pay/refund".to_owned(),
            VecDeque::from(["NOTENOUGH".to_owned()]),
        );
        let ask = [
            ("out_trade_no", "no-1"),
            ("out_refund_no", "r-1"),
            ("total_fee", "100"),
            ("refund_fee", "1"),
        ];
        let map = call(&shared, "/secapi/pay/refund", &ask);
        assert_eq!(map.get("err_code"), Some("NOTENOUGH"));
        assert!(shared.lock().refunds.is_empty());
        let map = call(&shared, "/secapi/pay/refund", &ask);
        assert_eq!(map.get("result_code"), Some("SUCCESS"));
    }
}
