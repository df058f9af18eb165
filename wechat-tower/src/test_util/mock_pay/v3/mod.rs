//! The v3 face: JSON under `/v3/`, every request's `Authorization` checked ([`auth`]), every
//! answer signed (`Wechatpay-Timestamp`, `-Nonce`, `-Signature`, `-Serial`) by the key of the
//! mock's [`SigningMode`] ([`keys`]), errors as `{code, message}` with WeChat's HTTP status.
//! One file per API family: `transactions`, `refunds`, `bills`, `transfers`; `keys` also serves
//! `/v3/certificates`.

mod auth;
mod bills;
pub(super) mod keys;
mod refunds;
#[cfg(test)]
mod tests;
mod transactions;
mod transfers;

use std::collections::{BTreeMap, HashMap, VecDeque};

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Method, Response, StatusCode, header};
use http_body_util::Full;
use serde_json::{Value, json};
use wechat_core::pay::v3::notify_message;

pub use self::keys::SigningMode;
pub use self::transfers::MockTransfer;

use self::keys::{MERCHANT_SERIAL, Rotation};
use super::{Shared, now};

/// The v3 paths the mock serves (`{…}` is a path parameter).
pub const V3_ENDPOINTS: &[&str] = &[
    "POST /v3/pay/transactions/jsapi",
    "POST /v3/pay/transactions/app",
    "POST /v3/pay/transactions/native",
    "POST /v3/pay/transactions/h5",
    "GET /v3/pay/transactions/id/{transaction_id}",
    "GET /v3/pay/transactions/out-trade-no/{out_trade_no}",
    "POST /v3/pay/transactions/out-trade-no/{out_trade_no}/close",
    "POST /v3/refund/domestic/refunds",
    "GET /v3/refund/domestic/refunds/{out_refund_no}",
    "GET /v3/bill/tradebill",
    "GET /v3/bill/fundflowbill",
    "GET /v3/billdownload/file",
    "GET /v3/certificates",
    "POST /v3/fund-app/mch-transfer/transfer-bills",
    "GET /v3/fund-app/mch-transfer/transfer-bills/out-bill-no/{out_bill_no}",
];

/// The v3 part of the mock's state.
#[derive(Default)]
pub(super) struct V3State {
    pub(super) rotation: Rotation,
    /// Path → answers to give instead of the real one: (status, code).
    pub(super) failures: HashMap<String, VecDeque<(u16, String)>>,
    /// How many answers to sign wrongly.
    pub(super) forge: usize,
    /// Seconds added to the `Wechatpay-Timestamp` of answers.
    pub(super) answer_clock_offset: i64,
    pub(super) corrupt_next_bill: bool,
    /// Download token → the bill's bytes.
    pub(super) bills: HashMap<String, Bytes>,
    /// By `out_bill_no`.
    pub(super) transfers: BTreeMap<String, MockTransfer>,
}

/// An error answer: WeChat's HTTP status and `{code, message}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct V3Error {
    pub(super) status: StatusCode,
    pub(super) code: String,
    pub(super) message: String,
}

impl V3Error {
    pub(super) fn new(status: StatusCode, code: &str, message: impl Into<String>) -> Self {
        Self {
            status,
            code: code.to_owned(),
            message: message.into(),
        }
    }

    /// 400 `PARAM_ERROR` naming the field.
    pub(super) fn param(field: &str) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "PARAM_ERROR",
            format!("参数错误: {field}"),
        )
    }
}

/// What a v3 call answers before signing.
pub(super) enum Answer {
    /// 200 with a JSON body.
    Json(Value),
    /// 204, no body (the signature covers the empty body).
    NoContent,
    /// 200 with the bytes of a bill: not signed, as WeChat's downloads are not.
    Unsigned(Bytes),
}

/// One v3 request, read whole.
pub(super) struct Call<'a> {
    pub(super) shared: &'a Shared,
    pub(super) method: &'a Method,
    /// `/v3/…`, as received (still percent-encoded).
    pub(super) path: &'a str,
    pub(super) query: &'a str,
    pub(super) headers: &'a HeaderMap,
    pub(super) body: &'a [u8],
}

impl Call<'_> {
    /// The query parameter `name`, decoded.
    pub(super) fn query_param(&self, name: &str) -> Option<String> {
        form_urlencoded::parse(self.query.as_bytes())
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
    }

    /// The body as a JSON object.
    pub(super) fn json(&self) -> Result<serde_json::Map<String, Value>, V3Error> {
        match serde_json::from_slice(self.body) {
            Ok(Value::Object(map)) => Ok(map),
            _ => Err(V3Error::new(
                StatusCode::BAD_REQUEST,
                "PARAM_ERROR",
                "请求体不是合法的JSON对象",
            )),
        }
    }

    /// `?mchid=` must be the mock's merchant.
    pub(super) fn check_query_mchid(&self) -> Result<(), V3Error> {
        match self.query_param("mchid") {
            Some(m) if m == self.shared.mch_id => Ok(()),
            Some(_) => Err(V3Error::new(
                StatusCode::BAD_REQUEST,
                "MCH_NOT_EXISTS",
                "商户号不存在",
            )),
            None => Err(V3Error::param("mchid")),
        }
    }
}

/// A string field of a JSON object, non-empty.
pub(super) fn text<'a>(
    object: &'a serde_json::Map<String, Value>,
    field: &str,
) -> Result<&'a str, V3Error> {
    match object.get(field) {
        Some(Value::String(s)) if !s.is_empty() => Ok(s),
        _ => Err(V3Error::param(field)),
    }
}

/// An optional string field (absent or a string).
pub(super) fn optional_text<'a>(
    object: &'a serde_json::Map<String, Value>,
    field: &str,
) -> Result<Option<&'a str>, V3Error> {
    match object.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(V3Error::param(field)),
    }
}

/// A positive integer field (fen).
pub(super) fn amount(
    object: &serde_json::Map<String, Value>,
    field: &str,
    name: &str,
) -> Result<u64, V3Error> {
    match object.get(field).and_then(Value::as_u64) {
        Some(n) if n > 0 => Ok(n),
        _ => Err(V3Error::param(name)),
    }
}

/// Decodes a percent-encoded path segment; `None` for bad escapes or non-UTF-8.
pub(super) fn decode_segment(segment: &str) -> Option<String> {
    let bytes = segment.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = segment.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// Answers a v3 request (already read, counted and recorded).
pub(super) fn handle(
    shared: &Shared,
    method: &Method,
    target: &str,
    headers: &HeaderMap,
    body: &[u8],
) -> Response<Full<Bytes>> {
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let call = Call {
        shared,
        method,
        path,
        query,
        headers,
        body,
    };
    let answer = answer(&call, target);
    sign(shared, answer)
}

fn answer(call: &Call<'_>, target: &str) -> Result<Answer, V3Error> {
    let shared = call.shared;
    let expect = auth::Expect {
        mchid: &shared.mch_id,
        serial: MERCHANT_SERIAL,
        merchant: &shared.keys.merchant,
        now: now(),
    };
    let authorization = call
        .headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    auth::check(
        authorization,
        call.method.as_str(),
        target,
        call.body,
        &expect,
    )
    .map_err(|message| V3Error::new(StatusCode::UNAUTHORIZED, "SIGN_ERROR", message))?;
    let injected = shared
        .lock()
        .v3
        .failures
        .get_mut(call.path)
        .and_then(VecDeque::pop_front);
    if let Some((status, code)) = injected {
        let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        return Err(V3Error::new(status, &code, format!("{code} (mock)")));
    }
    let rest = call.path.strip_prefix("/v3/").unwrap_or_default();
    let segments: Vec<&str> = rest.split('/').collect();
    let post = *call.method == Method::POST;
    let get = *call.method == Method::GET;
    let segment = |s: &str| decode_segment(s).ok_or_else(|| V3Error::param("path"));
    match segments.as_slice() {
        [
            "pay",
            "transactions",
            kind @ ("jsapi" | "app" | "native" | "h5"),
        ] if post => transactions::create(call, kind),
        ["pay", "transactions", "id", id] if get => {
            transactions::query(call, transactions::By::TransactionId(&segment(id)?))
        }
        ["pay", "transactions", "out-trade-no", no] if get => {
            transactions::query(call, transactions::By::OutTradeNo(&segment(no)?))
        }
        ["pay", "transactions", "out-trade-no", no, "close"] if post => {
            transactions::close(call, &segment(no)?)
        }
        ["refund", "domestic", "refunds"] if post => refunds::create(call),
        ["refund", "domestic", "refunds", no] if get => refunds::query(call, &segment(no)?),
        ["bill", "tradebill"] if get => bills::trade_bill(call),
        ["bill", "fundflowbill"] if get => bills::fund_flow_bill(call),
        ["billdownload", "file"] if get => bills::download(call),
        ["certificates"] if get => keys::certificates(call),
        ["fund-app", "mch-transfer", "transfer-bills"] if post => transfers::create(call),
        [
            "fund-app",
            "mch-transfer",
            "transfer-bills",
            "out-bill-no",
            no,
        ] if get => transfers::query(call, &segment(no)?),
        _ => Err(V3Error::new(
            StatusCode::NOT_FOUND,
            "NOT_FOUND",
            "请求的资源不存在",
        )),
    }
}

/// 413 for a body over the mock's limit (1 MiB), signed like any answer.
pub(super) fn too_large(shared: &Shared) -> Response<Full<Bytes>> {
    sign(
        shared,
        Err(V3Error::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "PARAM_ERROR",
            "请求体过大",
        )),
    )
}

/// Signs an answer with the current key (wrongly while forging is on); bills go out unsigned.
fn sign(shared: &Shared, answer: Result<Answer, V3Error>) -> Response<Full<Bytes>> {
    let (status, body) = match answer {
        Ok(Answer::Json(value)) => (StatusCode::OK, Bytes::from(value.to_string())),
        Ok(Answer::NoContent) => (StatusCode::NO_CONTENT, Bytes::new()),
        Ok(Answer::Unsigned(bytes)) => {
            let mut res = Response::new(Full::new(bytes));
            res.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/octet-stream"),
            );
            return res;
        }
        Err(error) => (
            error.status,
            Bytes::from(json!({"code": error.code, "message": error.message}).to_string()),
        ),
    };
    let (forge, offset, rotation) = {
        let mut state = shared.lock();
        let forge = state.v3.forge > 0;
        state.v3.forge = state.v3.forge.saturating_sub(1);
        (forge, state.v3.answer_clock_offset, state.v3.rotation)
    };
    let key = shared.keys.current(shared.mode, rotation);
    let timestamp = now().saturating_add_signed(offset).to_string();
    let nonce = wechat_core::pay::nonce_str();
    let mut message = notify_message(&timestamp, &nonce, &body);
    if forge {
        // A real signature by the right key, of another message: only the check of the whole
        // message catches it.
        message.push(b' ');
    }
    let signature = key.signer.sign(&message);
    let mut res = Response::new(Full::new(body.clone()));
    *res.status_mut() = status;
    let headers = res.headers_mut();
    if !body.is_empty() {
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json; charset=utf-8"),
        );
    }
    for (name, value) in [
        ("wechatpay-timestamp", timestamp),
        ("wechatpay-nonce", nonce),
        ("wechatpay-signature", signature),
        ("wechatpay-serial", key.serial.clone()),
        (
            "wechatpay-signature-type",
            "WECHATPAY2-SHA256-RSA2048".to_owned(),
        ),
        ("request-id", format!("mock-{}", shared.lock().next())),
    ] {
        if let Ok(value) = HeaderValue::from_str(&value) {
            headers.insert(name, value);
        }
    }
    res
}
