//! Bills (账单): `GET /v3/bill/tradebill` and `/v3/bill/fundflowbill` give
//! `{hash_type, hash_value, download_url}`; the URL points back at the mock
//! (`/v3/billdownload/file?token=…`), which serves the CSV of the mock's orders and refunds of
//! that day (Beijing time), unsigned as WeChat Pay's downloads are: the SHA-1 in the signed
//! answer is what proves the file. [`MockPay::corrupt_next_bill`](super::super::MockPay::corrupt_next_bill)
//! serves the next bill with a byte changed.

use std::fmt::Write as _;

use bytes::Bytes;
use http::StatusCode;
use serde_json::json;
use wechat_core::pay::v3::{bill_hash_value, rfc3339_utc8};

use super::{Answer, Call, V3Error};
use crate::test_util::mock_pay::{State, now};

/// The Beijing date (`YYYY-MM-DD`) of a time.
fn date_of(secs: u64) -> String {
    rfc3339_utc8(secs)[..10].to_owned()
}

/// Yuan with two decimals, as bills write amounts.
fn yuan(fen: u64) -> String {
    format!("{}.{:02}", fen / 100, fen % 100)
}

/// `bill_date`: `YYYY-MM-DD`, not after today.
fn bill_date(call: &Call<'_>) -> Result<String, V3Error> {
    let date = call
        .query_param("bill_date")
        .ok_or_else(|| V3Error::param("bill_date"))?;
    let b = date.as_bytes();
    let shape = b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && b.iter()
            .enumerate()
            .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit());
    if !shape {
        return Err(V3Error::param("bill_date"));
    }
    if date > date_of(now()) {
        return Err(V3Error::new(
            StatusCode::BAD_REQUEST,
            "INVALID_REQUEST",
            "账单日期不能晚于今天",
        ));
    }
    Ok(date)
}

/// The tar type: none (the mock does not compress).
fn check_tar_type(call: &Call<'_>) -> Result<(), V3Error> {
    match call.query_param("tar_type") {
        None => Ok(()),
        Some(_) => Err(V3Error::new(
            StatusCode::BAD_REQUEST,
            "PARAM_ERROR",
            "tar_type: the mock serves uncompressed bills only",
        )),
    }
}

/// The trade bill (交易账单) of `date`: `ALL`, `SUCCESS` or `REFUND` rows.
fn trade_csv(shared_appid: &str, mch_id: &str, state: &State, date: &str, kind: &str) -> String {
    let mut out = String::from(
        "交易时间,公众账号ID,商户号,特约商户号,设备号,微信订单号,商户订单号,用户标识,交易类型,交易状态,付款银行,货币种类,应结订单金额,代金券金额,微信退款单号,商户退款单号,退款金额,充值券退款金额,退款类型,退款状态,商品名称,商户数据包,手续费,费率,订单金额,申请退款金额,费率备注\r\n",
    );
    let (mut count, mut paid, mut refunded) = (0u64, 0u64, 0u64);
    if kind != "REFUND" {
        for order in state.orders.values() {
            let (Some(id), Some(at)) = (&order.transaction_id, order.paid_at) else {
                continue;
            };
            if date_of(at) != date {
                continue;
            }
            count += 1;
            paid += order.total_fee;
            let _ = write!(
                out,
                "`{},`{shared_appid},`{mch_id},`0,`,`{id},`{},`{},`{},`SUCCESS,`OTHERS,`CNY,`{},`0.00,`0,`0,`0.00,`0.00,`,`,`{},`{},`0.00000,`0.60%,`{},`0.00,`\r\n",
                rfc3339_utc8(at)[..19].replace('T', " "),
                order.out_trade_no,
                order.openid,
                order.trade_type,
                yuan(order.total_fee),
                order.body.replace([',', '\r', '\n'], " "),
                order
                    .attach
                    .as_deref()
                    .unwrap_or("")
                    .replace([',', '\r', '\n'], " "),
                yuan(order.total_fee),
            );
        }
    }
    if kind != "SUCCESS" {
        for refund in state.refunds.values() {
            if date_of(refund.created_at) != date {
                continue;
            }
            count += 1;
            refunded += refund.refund_fee;
            let _ = write!(
                out,
                "`{},`{shared_appid},`{mch_id},`0,`,`{},`{},`,`JSAPI,`REFUND,`OTHERS,`CNY,`0.00,`0.00,`{},`{},`{},`0.00,`ORIGINAL,`{},`,`,`0.00000,`0.60%,`{},`{},`\r\n",
                rfc3339_utc8(refund.created_at)[..19].replace('T', " "),
                refund.transaction_id,
                refund.out_trade_no,
                refund.refund_id,
                refund.out_refund_no,
                yuan(refund.refund_fee),
                refund.status,
                yuan(refund.total_fee),
                yuan(refund.refund_fee),
            );
        }
    }
    let _ = write!(
        out,
        "总交易单数,应结订单总金额,退款总金额,充值券退款总金额,手续费总金额,订单总金额,申请退款总金额\r\n`{count},`{},`{},`0.00,`0.00000,`{},`{}\r\n",
        yuan(paid),
        yuan(refunded),
        yuan(paid),
        yuan(refunded),
    );
    out
}

/// The fund-flow bill (资金账单) of `date` for the basic account: payments in, refunds out.
fn fund_flow_csv(state: &State, date: &str, account: &str) -> String {
    let mut out = String::from(
        "记账时间,微信支付业务单号,资金流水单号,业务名称,业务类型,收支类型,收支金额（元）,账户结余（元）,资金变更提交申请人,备注,业务凭证号\r\n",
    );
    let (mut ins, mut income, mut outs, mut expense) = (0u64, 0u64, 0u64, 0u64);
    if account == "BASIC" {
        let mut balance = 0u64;
        for order in state.orders.values() {
            let (Some(id), Some(at)) = (&order.transaction_id, order.paid_at) else {
                continue;
            };
            if date_of(at) != date {
                continue;
            }
            ins += 1;
            income += order.total_fee;
            balance += order.total_fee;
            let _ = write!(
                out,
                "`{},`{id},`{id}01,`交易,`交易,`收入,`{},`{},`system,`结算,`{}\r\n",
                rfc3339_utc8(at)[..19].replace('T', " "),
                yuan(order.total_fee),
                yuan(balance),
                order.out_trade_no,
            );
        }
        for refund in state.refunds.values() {
            if date_of(refund.created_at) != date {
                continue;
            }
            outs += 1;
            expense += refund.refund_fee;
            balance = balance.saturating_sub(refund.refund_fee);
            let _ = write!(
                out,
                "`{},`{},`{}01,`退款,`退款,`支出,`{},`{},`system,`退款,`{}\r\n",
                rfc3339_utc8(refund.created_at)[..19].replace('T', " "),
                refund.refund_id,
                refund.refund_id,
                yuan(refund.refund_fee),
                yuan(balance),
                refund.out_refund_no,
            );
        }
    }
    let _ = write!(
        out,
        "资金流水总笔数,收入笔数,收入金额,支出笔数,支出金额\r\n`{},`{ins},`{},`{outs},`{}\r\n",
        ins + outs,
        yuan(income),
        yuan(expense),
    );
    out
}

/// Keeps `csv` under a fresh token and answers its URL and hash (of the true bytes: a
/// corrupted bill then fails the check).
fn publish(call: &Call<'_>, csv: String) -> Answer {
    let shared = call.shared;
    let hash_value = bill_hash_value(csv.as_bytes());
    let token = wechat_core::pay::nonce_str();
    let mut state = shared.lock();
    let mut bytes = csv.into_bytes();
    if std::mem::take(&mut state.v3.corrupt_next_bill) {
        if let Some(last) = bytes.iter_mut().rev().find(|b| b.is_ascii_digit()) {
            *last = if *last == b'9' { b'0' } else { *last + 1 };
        } else {
            bytes.push(b'0');
        }
    }
    state.v3.bills.insert(token.clone(), Bytes::from(bytes));
    Answer::Json(json!({
        "hash_type": "SHA1",
        "hash_value": hash_value,
        "download_url": format!("{}/v3/billdownload/file?token={token}", shared.base_url()),
    }))
}

/// `GET /v3/bill/tradebill?bill_date=…[&bill_type=ALL|SUCCESS|REFUND]`.
pub(super) fn trade_bill(call: &Call<'_>) -> Result<Answer, V3Error> {
    let date = bill_date(call)?;
    check_tar_type(call)?;
    let kind = call
        .query_param("bill_type")
        .unwrap_or_else(|| "ALL".to_owned());
    if !matches!(kind.as_str(), "ALL" | "SUCCESS" | "REFUND") {
        return Err(V3Error::param("bill_type"));
    }
    let csv = {
        let state = call.shared.lock();
        trade_csv(
            &call.shared.appid,
            &call.shared.mch_id,
            &state,
            &date,
            &kind,
        )
    };
    Ok(publish(call, csv))
}

/// `GET /v3/bill/fundflowbill?bill_date=…[&account_type=BASIC|OPERATION|FEES]`.
pub(super) fn fund_flow_bill(call: &Call<'_>) -> Result<Answer, V3Error> {
    let date = bill_date(call)?;
    check_tar_type(call)?;
    let account = call
        .query_param("account_type")
        .unwrap_or_else(|| "BASIC".to_owned());
    if !matches!(account.as_str(), "BASIC" | "OPERATION" | "FEES") {
        return Err(V3Error::param("account_type"));
    }
    let csv = fund_flow_csv(&call.shared.lock(), &date, &account);
    Ok(publish(call, csv))
}

/// `GET /v3/billdownload/file?token=…`: the bill's bytes, unsigned.
pub(super) fn download(call: &Call<'_>) -> Result<Answer, V3Error> {
    let token = call
        .query_param("token")
        .ok_or_else(|| V3Error::param("token"))?;
    let state = call.shared.lock();
    let bytes =
        state.v3.bills.get(&token).ok_or_else(|| {
            V3Error::new(StatusCode::NOT_FOUND, "NOT_FOUND", "下载链接无效或已过期")
        })?;
    Ok(Answer::Unsigned(bytes.clone()))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]

    use super::*;

    #[test]
    fn amounts_in_yuan_and_dates_in_beijing() {
        assert_eq!(yuan(0), "0.00");
        assert_eq!(yuan(1), "0.01");
        assert_eq!(yuan(12_345), "123.45");
        // 2023-11-14 16:00 UTC is already the 15th in Beijing.
        assert_eq!(date_of(1_699_977_600), "2023-11-15");
    }

    #[test]
    fn an_empty_day_has_the_header_and_a_zero_summary() {
        let state = State::default();
        let csv = trade_csv("wx1", "19", &state, "2023-11-14", "ALL");
        let lines: Vec<&str> = csv.lines().collect();
        assert_eq!(lines.len(), 3, "{csv}");
        assert!(lines[1].starts_with("总交易单数"));
        assert!(lines[2].starts_with("`0,`0.00"));
        let flow = fund_flow_csv(&state, "2023-11-14", "BASIC");
        assert!(flow.ends_with("`0,`0,`0.00,`0,`0.00\r\n"), "{flow}");
    }
}
