//! Transfers to a user's balance (商家转账, `/v3/fund-app/mch-transfer/transfer-bills`): the
//! `user_name` arrives RSA-OAEP encrypted under the WeChat Pay key the request's
//! `Wechatpay-Serial` names; the mock decrypts it with that key's private half and keeps the
//! plaintext for the test ([`MockPay::transfers`](super::super::MockPay::transfers)), so a test
//! proves the encryption.

use http::StatusCode;
use serde_json::{Value, json};
use wechat_core::pay::v3::rfc3339_utc8;

use super::{Answer, Call, V3Error, amount, optional_text, text};
use crate::test_util::mock_pay::now;

/// From this amount (2000 yuan) the receiver's name is required.
const NAME_REQUIRED_FROM: u64 = 200_000;

/// A transfer as the mock keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct MockTransfer {
    /// `out_bill_no`.
    pub out_bill_no: String,
    /// `transfer_bill_no`, given by the mock.
    pub transfer_bill_no: String,
    /// `transfer_scene_id`.
    pub transfer_scene_id: String,
    /// `openid` of the receiver.
    pub openid: String,
    /// `user_name` as the mock decrypted it (`None` when the request had none).
    pub user_name: Option<String>,
    /// The `Wechatpay-Serial` the name was encrypted under.
    pub serial: Option<String>,
    /// `transfer_amount` in fen.
    pub transfer_amount: u64,
    /// `transfer_remark`.
    pub transfer_remark: String,
    /// `notify_url`.
    pub notify_url: Option<String>,
    /// `WAIT_USER_CONFIRM`, then `SUCCESS` (its notification sent).
    pub state: String,
    /// When it was created (seconds since the Unix epoch).
    pub created_at: u64,
}

impl MockTransfer {
    /// The JSON of the query answer and of the notification's resource.
    pub(in super::super) fn to_json(&self, appid: &str, mch_id: &str) -> Value {
        json!({
            "mch_id": mch_id,
            "appid": appid,
            "out_bill_no": self.out_bill_no,
            "transfer_bill_no": self.transfer_bill_no,
            "state": self.state,
            "transfer_amount": self.transfer_amount,
            "transfer_remark": self.transfer_remark,
            "openid": self.openid,
            "create_time": rfc3339_utc8(self.created_at),
            "update_time": rfc3339_utc8(self.created_at),
        })
    }
}

/// `POST /v3/fund-app/mch-transfer/transfer-bills` (发起转账).
pub(super) fn create(call: &Call<'_>) -> Result<Answer, V3Error> {
    let shared = call.shared;
    let body = call.json()?;
    let appid = text(&body, "appid")?;
    let out_bill_no = text(&body, "out_bill_no")?;
    let scene = text(&body, "transfer_scene_id")?;
    let openid = text(&body, "openid")?;
    let transfer_amount = amount(&body, "transfer_amount", "transfer_amount")?;
    let remark = text(&body, "transfer_remark")?;
    let notify_url = optional_text(&body, "notify_url")?;
    if remark.chars().count() > 32 {
        return Err(V3Error::param("transfer_remark"));
    }
    if !(6..=32).contains(&out_bill_no.len())
        || !out_bill_no.bytes().all(|b| b.is_ascii_alphanumeric())
    {
        return Err(V3Error::param("out_bill_no"));
    }
    match body.get("transfer_scene_report_infos") {
        Some(Value::Array(infos))
            if !infos.is_empty()
                && infos.iter().all(|i| {
                    i.get("info_type")
                        .and_then(Value::as_str)
                        .is_some_and(|s| !s.is_empty())
                        && i.get("info_content")
                            .and_then(Value::as_str)
                            .is_some_and(|s| !s.is_empty())
                }) => {}
        _ => return Err(V3Error::param("transfer_scene_report_infos")),
    }
    if appid != shared.appid {
        return Err(V3Error::new(
            StatusCode::BAD_REQUEST,
            "APPID_MCHID_NOT_MATCH",
            "appid和mch_id不匹配",
        ));
    }
    let (user_name, serial) = match optional_text(&body, "user_name")? {
        None => (None, None),
        Some(ciphertext) => {
            let serial = call
                .headers
                .get("wechatpay-serial")
                .and_then(|v| v.to_str().ok())
                .ok_or_else(|| {
                    V3Error::new(
                        StatusCode::BAD_REQUEST,
                        "PARAM_ERROR",
                        "敏感信息加密需在请求头 Wechatpay-Serial 中指明证书序列号",
                    )
                })?;
            let rotation = shared.lock().v3.rotation;
            let key = shared
                .keys
                .decrypter(shared.mode, rotation, serial)
                .ok_or_else(|| {
                    V3Error::new(
                        StatusCode::BAD_REQUEST,
                        "PARAM_ERROR",
                        "Wechatpay-Serial 不是有效的平台证书序列号或公钥ID",
                    )
                })?;
            let name = key.decrypt_str(ciphertext).map_err(|_| {
                V3Error::new(StatusCode::BAD_REQUEST, "PARAM_ERROR", "user_name 解密失败")
            })?;
            (Some(name), Some(serial.to_owned()))
        }
    };
    if transfer_amount >= NAME_REQUIRED_FROM && user_name.is_none() {
        return Err(V3Error::new(
            StatusCode::BAD_REQUEST,
            "PARAM_ERROR",
            "转账金额>=2000元时，user_name必填",
        ));
    }
    let mut state = shared.lock();
    if let Some(existing) = state.v3.transfers.get(out_bill_no) {
        if existing.openid != openid
            || existing.transfer_amount != transfer_amount
            || existing.user_name != user_name
        {
            return Err(V3Error::new(
                StatusCode::BAD_REQUEST,
                "INVALID_REQUEST",
                "商户单号重复，但请求参数与原请求不一致",
            ));
        }
        return Ok(Answer::Json(created(existing)));
    }
    let transfer = MockTransfer {
        out_bill_no: out_bill_no.to_owned(),
        transfer_bill_no: format!("1330{:026}", state.next()),
        transfer_scene_id: scene.to_owned(),
        openid: openid.to_owned(),
        user_name,
        serial,
        transfer_amount,
        transfer_remark: remark.to_owned(),
        notify_url: notify_url.map(str::to_owned),
        state: "WAIT_USER_CONFIRM".to_owned(),
        created_at: now(),
    };
    let answer = created(&transfer);
    state
        .v3
        .transfers
        .insert(transfer.out_bill_no.clone(), transfer);
    Ok(Answer::Json(answer))
}

fn created(transfer: &MockTransfer) -> Value {
    json!({
        "out_bill_no": transfer.out_bill_no,
        "transfer_bill_no": transfer.transfer_bill_no,
        "create_time": rfc3339_utc8(transfer.created_at),
        "state": transfer.state,
        "package_info": format!("affffddafdfafddffda=={}", transfer.transfer_bill_no),
    })
}

/// `GET /v3/fund-app/mch-transfer/transfer-bills/out-bill-no/{out_bill_no}`.
pub(super) fn query(call: &Call<'_>, out_bill_no: &str) -> Result<Answer, V3Error> {
    let state = call.shared.lock();
    let transfer = state
        .v3
        .transfers
        .get(out_bill_no)
        .ok_or_else(|| V3Error::new(StatusCode::NOT_FOUND, "NOT_FOUND", "记录不存在"))?;
    Ok(Answer::Json(
        transfer.to_json(&call.shared.appid, &call.shared.mch_id),
    ))
}
