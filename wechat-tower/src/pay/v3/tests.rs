//! Unit tests of the v3 client against an in-process WeChat Pay (a `service_fn` transport that
//! checks every request's `Authorization` with the merchant's certificate and signs its answers
//! with the platform keys of `test_util/keys`).

#![allow(clippy::unwrap_used)]

use std::convert::Infallible;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http::{Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use tower::ServiceExt as _;
use wechat_core::pay::PayErrorKind;
use wechat_core::pay::v3::{
    self, ApiErrorCode, DecryptingKey, FundAccountType, Order, RefundRequest, SigningKey,
    TradeBillType, TransferRequest, Verifier,
};

use super::*;
use crate::client::Transport;
use crate::pay::{Paid, PayConfig, PayNotify};
use crate::store::{MemoryStore, Store};

const MERCHANT_KEY: &str = include_str!("../../test_util/keys/merchant_key.pem");
const MERCHANT_CERT: &str = include_str!("../../test_util/keys/merchant_cert.pem");
const MERCHANT_SERIAL: &str = "444F4E545553455448495345524941";
const A_KEY: &str = include_str!("../../test_util/keys/platform_a_key.pem");
const A_CERT: &str = include_str!("../../test_util/keys/platform_a_cert.pem");
const A_SERIAL: &str = "5157F09EFDC096DE15EBE81A47057A72";
const B_KEY: &str = include_str!("../../test_util/keys/platform_b_key.pem");
const B_CERT: &str = include_str!("../../test_util/keys/platform_b_cert.pem");
const B_SERIAL: &str = "7132D72A03E93CEBB3D5E3A01CC4BE2A";
const PUB_KEY: &str = include_str!("../../test_util/mock_pay_pub.pem");
const PUB_PRIVATE: &str = include_str!("../../test_util/mock_pay_key.pem");
const PUB_KEY_ID: &str = "PUB_KEY_ID_0114232134912410000000000000";
const API_V3_KEY: &str = "0123456789abcdefghijABCDEFGHIJ01";
const APPID: &str = "wxd930ea5d5a258f4f";
const MCHID: &str = "1900000109";
/// 2027-01-15: after the test certificates' notBefore, long before their notAfter.
const NOW: u64 = 1_800_000_000;
const BASE: &str = "http://127.0.0.1:9";

/// How the fake signs its answers.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Signing {
    Good,
    /// Signed by another key than the serial names.
    Forged,
    /// No signature headers.
    Unsigned,
    /// Signed, then the body changed.
    Tampered,
}

#[derive(Clone, Debug)]
struct Seen {
    method: Method,
    target: String,
    body: Bytes,
    wechatpay_serial: Option<String>,
    authorization: String,
}

type Route = Arc<dyn Fn(&Method, &str, &[u8]) -> (u16, String) + Send + Sync>;

struct State {
    signer: SigningKey,
    serial: String,
    certs: Vec<&'static str>,
    signing: Signing,
    seen: Vec<Seen>,
    route: Route,
    now: u64,
}

#[derive(Clone)]
struct Fake {
    state: Arc<Mutex<State>>,
    downloads: Arc<AtomicUsize>,
    merchant: Arc<Verifier>,
}

impl Fake {
    fn new(route: impl Fn(&Method, &str, &[u8]) -> (u16, String) + Send + Sync + 'static) -> Self {
        let mut merchant = Verifier::new();
        merchant.add_certificate_pem(MERCHANT_CERT).unwrap();
        Self {
            state: Arc::new(Mutex::new(State {
                signer: SigningKey::from_pkcs8_pem(A_KEY).unwrap(),
                serial: A_SERIAL.to_owned(),
                certs: vec![A_CERT],
                signing: Signing::Good,
                seen: Vec::new(),
                route: Arc::new(route),
                now: NOW,
            })),
            downloads: Arc::new(AtomicUsize::new(0)),
            merchant: Arc::new(merchant),
        }
    }

    /// Answers signed by the WeChat Pay public key.
    fn public_key_mode(self) -> Self {
        {
            let mut s = self.state.lock().unwrap();
            s.signer = SigningKey::from_pkcs8_pem(PUB_PRIVATE).unwrap();
            s.serial = PUB_KEY_ID.to_owned();
        }
        self
    }

    /// Rotation: certificate B signs, A and B are listed.
    fn rotate(&self) {
        let mut s = self.state.lock().unwrap();
        s.signer = SigningKey::from_pkcs8_pem(B_KEY).unwrap();
        s.serial = B_SERIAL.to_owned();
        s.certs = vec![A_CERT, B_CERT];
    }

    fn signing(&self, signing: Signing) {
        self.state.lock().unwrap().signing = signing;
    }

    fn seen(&self) -> Vec<Seen> {
        self.state.lock().unwrap().seen.clone()
    }

    fn transport(&self) -> Transport {
        let fake = self.clone();
        Transport::new(tower::service_fn(move |req: Request<Bytes>| {
            let fake = fake.clone();
            async move { Ok::<_, Infallible>(fake.answer(req)) }
        }))
    }

    /// WeChat Pay's side: check the request's signature, route, sign the answer.
    fn answer(&self, req: Request<Bytes>) -> Response<Bytes> {
        let target = req
            .uri()
            .path_and_query()
            .map(|pq| pq.as_str().to_owned())
            .unwrap_or_default();
        let authorization = req
            .headers()
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned();
        let mut state = self.state.lock().unwrap();
        state.seen.push(Seen {
            method: req.method().clone(),
            target: target.clone(),
            body: req.body().clone(),
            wechatpay_serial: req
                .headers()
                .get("wechatpay-serial")
                .map(|v| v.to_str().unwrap().to_owned()),
            authorization: authorization.clone(),
        });
        let (status, body) = if check_authorization(
            &self.merchant,
            req.method().as_str(),
            &target,
            req.body(),
            &authorization,
        ) {
            if target == "/v3/certificates" {
                self.downloads.fetch_add(1, Ordering::SeqCst);
                let key = wechat_core::secret::ApiV3Key::new(API_V3_KEY);
                (
                    200,
                    v3::certificates_answer(&key, &state.certs, "0123456789ab").unwrap(),
                )
            } else {
                (state.route)(req.method(), &target, req.body())
            }
        } else {
            (
                401,
                r#"{"code":"SIGN_ERROR","message":"签名错误"}"#.to_owned(),
            )
        };
        let ts = state.now.to_string();
        let nonce = "5K8264ILTKCH16CQ2502SI8ZNMTM67VS";
        let mut res = Response::builder().status(status);
        let mut body = Bytes::from(body);
        if state.signing != Signing::Unsigned {
            let signature = match state.signing {
                Signing::Forged => SigningKey::from_pkcs8_pem(MERCHANT_KEY)
                    .unwrap()
                    .sign(&v3::notify_message(&ts, nonce, &body)),
                _ => state.signer.sign(&v3::notify_message(&ts, nonce, &body)),
            };
            res = res
                .header("Wechatpay-Timestamp", &ts)
                .header("Wechatpay-Nonce", nonce)
                .header("Wechatpay-Signature", signature)
                .header("Wechatpay-Serial", &state.serial);
        }
        if state.signing == Signing::Tampered {
            body = Bytes::from(String::from_utf8_lossy(&body).replace("wx", "xx"));
        }
        res.body(body).unwrap()
    }
}

/// Parses `WECHATPAY2-SHA256-RSA2048 k="v",…` and verifies it with the merchant certificate over
/// the request as received.
fn check_authorization(
    merchant: &Verifier,
    method: &str,
    target: &str,
    body: &[u8],
    header: &str,
) -> bool {
    let Some(params) = header.strip_prefix("WECHATPAY2-SHA256-RSA2048 ") else {
        return false;
    };
    let mut fields = std::collections::HashMap::new();
    for part in params.split(',') {
        let Some((k, v)) = part.split_once('=') else {
            return false;
        };
        fields.insert(k.to_owned(), v.trim_matches('"').to_owned());
    }
    let get = |k: &str| fields.get(k).cloned().unwrap_or_default();
    if get("mchid") != MCHID || get("serial_no") != MERCHANT_SERIAL || get("nonce_str").len() != 32
    {
        return false;
    }
    let message =
        v3::request_message_bytes(method, target, &get("timestamp"), &get("nonce_str"), body);
    merchant
        .verify(MERCHANT_SERIAL, &message, &get("signature"))
        .is_ok()
}

fn merchant() -> V3Merchant {
    V3Merchant::new(
        APPID,
        MCHID,
        MERCHANT_SERIAL,
        SigningKey::from_pkcs8_pem(MERCHANT_KEY).unwrap(),
        API_V3_KEY,
    )
}

fn builder(fake: &Fake) -> PayV3ClientBuilder {
    PayV3Client::builder(merchant())
        .api_base(BASE)
        .transport(fake.transport())
        .clock(|| NOW)
        .notify_url("https://example.com/pay/notify")
}

fn routes(method: &Method, target: &str, body: &[u8]) -> (u16, String) {
    let body = String::from_utf8_lossy(body);
    match (method.as_str(), target) {
        ("POST", "/v3/pay/transactions/jsapi" | "/v3/pay/transactions/app") => {
            (200, r#"{"prepay_id":"wx201410272009395522657a690389285100"}"#.into())
        }
        ("POST", "/v3/pay/transactions/native") => {
            (200, r#"{"code_url":"weixin://wxpay/bizpayurl?pr=p4lpSuKzz"}"#.into())
        }
        ("POST", "/v3/pay/transactions/h5") => (
            200,
            r#"{"h5_url":"https://wx.tenpay.com/cgi-bin/mmpayweb-bin/checkmweb?prepay_id=wx1"}"#
                .into(),
        ),
        ("POST", "/v3/pay/transactions/out-trade-no/paid-1/close") => {
            (400, r#"{"code":"ORDERPAID","message":"订单已支付"}"#.into())
        }
        ("POST", t) if t.ends_with("/close") => (204, String::new()),
        ("GET", t) if t.starts_with("/v3/pay/transactions/") => (
            200,
            r#"{"appid":"wxd930ea5d5a258f4f","mchid":"1900000109","out_trade_no":"no-1","trade_state":"NOTPAY","trade_state_desc":"订单未支付","amount":{"total":100,"payer_currency":"CNY"},"promotion_detail":[]}"#.into(),
        ),
        ("POST", "/v3/refund/domestic/refunds") => {
            if body.contains("\"refund\":999") {
                (403, r#"{"code":"NOT_ENOUGH","message":"余额不足"}"#.into())
            } else {
                (
                    200,
                    r#"{"refund_id":"50000000382019052709732678859","out_refund_no":"r-1","transaction_id":"42","out_trade_no":"no-1","channel":"ORIGINAL","user_received_account":"招商银行信用卡0403","create_time":"2024-05-01T12:00:00+08:00","status":"PROCESSING","amount":{"total":100,"refund":50,"payer_total":100,"payer_refund":50,"currency":"CNY"}}"#.into(),
                )
            }
        }
        ("GET", "/v3/bill/tradebill?bill_date=2024-05-01&bill_type=ALL") => (
            200,
            format!(
                r#"{{"hash_type":"SHA1","hash_value":"{}","download_url":"{BASE}/v3/billdownload/file?token=abc"}}"#,
                v3::bill_hash_value(BILL)
            ),
        ),
        ("GET", "/v3/billdownload/file?token=abc") => {
            (200, String::from_utf8_lossy(BILL).into_owned())
        }
        ("POST", "/v3/fund-app/mch-transfer/transfer-bills") => (
            200,
            r#"{"out_bill_no":"bill-1","transfer_bill_no":"1330000071100999991182020050700019480001","create_time":"2024-05-01T12:00:00+08:00","state":"ACCEPTED","package_info":"affffddafdfafddffda=="}"#.into(),
        ),
        _ => (404, r#"{"code":"RESOURCE_NOT_EXISTS","message":"no route"}"#.into()),
    }
}

const BILL: &[u8] = b"\xef\xbb\xbf\xe4\xba\xa4\xe6\x98\x93\xe6\x97\xb6\xe9\x97\xb4,\xe5\x85\xac\xe4\xbc\x97\xe8\xb4\xa6\xe5\x8f\xb7ID\n`2024-05-01 12:00:00,`wxd930ea5d5a258f4f\n";

#[tokio::test]
async fn every_request_is_signed_over_the_bytes_sent() {
    let fake = Fake::new(routes);
    let client = builder(&fake).build().unwrap();
    let prepay = client
        .jsapi(Order::new("Noodles", "no-000001", 1200).openid("oUser"))
        .await
        .unwrap();
    assert_eq!(prepay.prepay_id, "wx201410272009395522657a690389285100");
    let seen = fake.seen();
    // The certificate download, then the order.
    assert_eq!(seen.len(), 2);
    assert_eq!(seen[0].target, "/v3/certificates");
    let order = &seen[1];
    assert_eq!(order.method, Method::POST);
    let json: serde_json::Value = serde_json::from_slice(&order.body).unwrap();
    assert_eq!(json["appid"], APPID);
    assert_eq!(json["mchid"], MCHID);
    assert_eq!(json["notify_url"], "https://example.com/pay/notify");
    assert_eq!(json["amount"]["total"], 1200);
    assert_eq!(json["payer"]["openid"], "oUser");
    // The fake verified the signature over the bytes it received; a changed byte does not.
    let mut merchant = Verifier::new();
    merchant.add_certificate_pem(MERCHANT_CERT).unwrap();
    assert!(check_authorization(
        &merchant,
        "POST",
        &order.target,
        &order.body,
        &order.authorization
    ));
    let mut altered = order.body.to_vec();
    altered[10] ^= 1;
    assert!(!check_authorization(
        &merchant,
        "POST",
        &order.target,
        &altered,
        &order.authorization
    ));
    assert!(!check_authorization(
        &merchant,
        "POST",
        "/v3/pay/transactions/native",
        &order.body,
        &order.authorization
    ));
    // Two requests, two nonces.
    assert_ne!(seen[0].authorization, seen[1].authorization);
    // The order names the platform certificate it expects the answer signed with; the download
    // knew none yet.
    assert_eq!(seen[0].wechatpay_serial, None);
    assert_eq!(order.wechatpay_serial.as_deref(), Some(A_SERIAL));
}

#[tokio::test]
async fn a_request_the_server_cannot_verify_gets_sign_error() {
    // The client signs with another key than the certificate its serial names.
    let fake = Fake::new(routes).public_key_mode();
    let stranger = V3Merchant::new(
        APPID,
        MCHID,
        MERCHANT_SERIAL,
        SigningKey::from_pkcs8_pem(A_KEY).unwrap(),
        API_V3_KEY,
    );
    let client = PayV3Client::builder(stranger)
        .api_base(BASE)
        .transport(fake.transport())
        .clock(|| NOW)
        .wechatpay_public_key(PUB_KEY_ID, PUB_KEY)
        .unwrap()
        .build()
        .unwrap();
    let err = client.close("no-000001").await.unwrap_err();
    let api = err.api().unwrap();
    assert_eq!(api.code, ApiErrorCode::SignError);
    assert_eq!(api.status, 401);
    assert!(api.verified);
}

#[tokio::test]
async fn path_segments_and_queries_are_signed_as_on_the_wire() {
    let fake = Fake::new(routes).public_key_mode();
    let client = builder(&fake)
        .wechatpay_public_key(PUB_KEY_ID, PUB_KEY)
        .unwrap()
        .build()
        .unwrap();
    let t = client.query_by_out_trade_no("no|1 *x/../y").await.unwrap();
    assert_eq!(t.trade_state, "NOTPAY");
    assert_eq!(t.transaction_id, "");
    assert_eq!(t.extra["promotion_detail"], serde_json::json!([]));
    client.query_by_transaction_id("4200000001").await.unwrap();
    client
        .trade_bill("2024-05-01", TradeBillType::All)
        .await
        .unwrap();
    let targets: Vec<String> = fake.seen().into_iter().map(|s| s.target).collect();
    assert_eq!(
        targets,
        [
            "/v3/pay/transactions/out-trade-no/no%7C1%20%2Ax%2F..%2Fy?mchid=1900000109",
            "/v3/pay/transactions/id/4200000001?mchid=1900000109",
            "/v3/bill/tradebill?bill_date=2024-05-01&bill_type=ALL",
        ]
    );
    // The bill date is checked before anything goes out (no query injection).
    assert!(
        client
            .trade_bill("2024-05-01&bill_type=X", TradeBillType::All)
            .await
            .is_err()
    );
    assert_eq!(fake.seen().len(), 3);
}

#[tokio::test]
async fn answers_that_do_not_verify_are_errors_never_data() {
    let fake = Fake::new(routes).public_key_mode();
    let client = builder(&fake)
        .wechatpay_public_key(PUB_KEY_ID, PUB_KEY)
        .unwrap()
        .build()
        .unwrap();
    let order = || Order::new("Noodles", "no-000001", 1200);
    fake.signing(Signing::Forged);
    let err = client.native(order()).await.unwrap_err();
    assert_eq!(err.pay().unwrap().kind(), &PayErrorKind::InvalidSignature);
    fake.signing(Signing::Tampered);
    let err = client.native(order()).await.unwrap_err();
    assert_eq!(err.pay().unwrap().kind(), &PayErrorKind::InvalidSignature);
    fake.signing(Signing::Unsigned);
    let err = client.native(order()).await.unwrap_err();
    assert!(matches!(
        err.pay().unwrap().kind(),
        PayErrorKind::InvalidHeader(_)
    ));
    // Replayed: an answer from ten minutes ago.
    fake.signing(Signing::Good);
    fake.state.lock().unwrap().now = NOW - 600;
    let err = client.native(order()).await.unwrap_err();
    assert_eq!(err.pay().unwrap().kind(), &PayErrorKind::StaleTimestamp);
    fake.state.lock().unwrap().now = NOW;
    assert_eq!(
        client.native(order()).await.unwrap(),
        "weixin://wxpay/bizpayurl?pr=p4lpSuKzz"
    );
    // An error answer with a forged signature is refused as forged, not believed.
    fake.signing(Signing::Forged);
    let err = client.close("paid-1").await.unwrap_err();
    assert_eq!(err.pay().unwrap().kind(), &PayErrorKind::InvalidSignature);
}

#[tokio::test]
async fn api_errors_are_typed_and_say_whether_they_were_signed() {
    let fake = Fake::new(routes).public_key_mode();
    let client = builder(&fake)
        .wechatpay_public_key(PUB_KEY_ID, PUB_KEY)
        .unwrap()
        .build()
        .unwrap();
    let err = client.close("paid-1").await.unwrap_err();
    assert_eq!(err.code(), Some(&ApiErrorCode::OrderPaid));
    assert!(err.api().unwrap().verified);
    assert!(!err.is_retryable());
    let err = client
        .refund(RefundRequest::by_out_trade_no("no-1", "r-1", 999, 1000))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some(&ApiErrorCode::NotEnough));
    fake.signing(Signing::Unsigned);
    let err = client.close("paid-1").await.unwrap_err();
    assert_eq!(err.code(), Some(&ApiErrorCode::OrderPaid));
    assert!(!err.api().unwrap().verified);
    assert!(err.to_string().ends_with("[unsigned answer]"), "{err}");
    // A gateway's page is a bare status.
    let gateway =
        Fake::new(|_: &Method, _: &str, _: &[u8]| (502, "<html>Bad Gateway</html>".into()))
            .public_key_mode();
    gateway.signing(Signing::Unsigned);
    let client = builder(&gateway)
        .wechatpay_public_key(PUB_KEY_ID, PUB_KEY)
        .unwrap()
        .build()
        .unwrap();
    let err = client.close("no-000001").await.unwrap_err();
    assert!(matches!(err, PayV3Error::Status(502)), "{err:?}");
    assert!(err.is_retryable());
}

#[tokio::test]
async fn every_call_reaches_its_path_and_reads_its_answer() {
    let fake = Fake::new(routes).public_key_mode();
    let client = builder(&fake)
        .wechatpay_public_key(PUB_KEY_ID, PUB_KEY)
        .unwrap()
        .build()
        .unwrap();
    let prepay = client
        .app(Order::new("Noodles", "no-000002", 1))
        .await
        .unwrap();
    let h5 = client
        .h5(Order::new("Noodles", "no-000003", 1).h5_scene("203.0.113.7", "Wap"))
        .await
        .unwrap();
    assert!(h5.starts_with("https://wx.tenpay.com/"));
    client.close("no-000002").await.unwrap();
    let refund = client
        .refund(RefundRequest::by_out_trade_no("no-1", "r-1", 50, 100).reason("cold"))
        .await
        .unwrap();
    assert_eq!(refund.status, "PROCESSING");
    assert_eq!(refund.amount.refund, 50);
    let bill = client
        .fund_flow_bill("2024-05-01", FundAccountType::Basic)
        .await;
    // (no route: WeChat's 404 answer, typed)
    assert_eq!(
        bill.unwrap_err().code(),
        Some(&ApiErrorCode::ResourceNotExists)
    );
    let seen = fake.seen();
    let refund_body: serde_json::Value = serde_json::from_slice(&seen[3].body).unwrap();
    assert_eq!(refund_body["notify_url"], "https://example.com/pay/notify");
    assert_eq!(refund_body["amount"]["currency"], "CNY");
    assert_eq!(
        seen[4].target,
        "/v3/bill/fundflowbill?bill_date=2024-05-01&account_type=BASIC"
    );
    // App pay parameters: sign over appid, timestamp, noncestr, prepayid.
    let params = client.app_params(&prepay.prepay_id).unwrap();
    assert_eq!(params.package, "Sign=WXPay");
    assert_eq!(params.partnerid, MCHID);
    let mut merchant = Verifier::new();
    merchant.add_certificate_pem(MERCHANT_CERT).unwrap();
    let message = format!(
        "{}\n{}\n{}\n{}\n",
        params.appid, params.timestamp, params.noncestr, params.prepayid
    );
    merchant
        .verify(MERCHANT_SERIAL, message.as_bytes(), &params.sign)
        .unwrap();
    // Invalid orders never leave.
    let before = fake.seen().len();
    assert!(client.jsapi(Order::new("x", "no-000004", 1)).await.is_err());
    assert!(client.h5(Order::new("x", "no-000004", 1)).await.is_err());
    assert!(client.close("").await.is_err());
    assert_eq!(fake.seen().len(), before);
}

#[tokio::test]
async fn jsapi_params_are_what_the_page_needs() {
    let fake = Fake::new(routes).public_key_mode();
    let client = builder(&fake)
        .wechatpay_public_key(PUB_KEY_ID, PUB_KEY)
        .unwrap()
        .build()
        .unwrap();
    let params = client.jsapi_params("wx2014").unwrap();
    let json = serde_json::to_value(&params).unwrap();
    for key in [
        "appId",
        "timeStamp",
        "nonceStr",
        "package",
        "signType",
        "paySign",
    ] {
        assert!(json.get(key).is_some(), "{key} in {json}");
    }
    assert_eq!(json["signType"], "RSA");
    assert_eq!(json["package"], "prepay_id=wx2014");
    assert_eq!(json["timeStamp"], NOW.to_string());
    let mut merchant = Verifier::new();
    merchant.add_certificate_pem(MERCHANT_CERT).unwrap();
    let message = v3::pay_sign_message(
        APPID,
        &NOW.to_string(),
        &params.nonce_str,
        "prepay_id=wx2014",
    );
    merchant
        .verify(MERCHANT_SERIAL, message.as_bytes(), &params.pay_sign)
        .unwrap();
    assert_ne!(
        client.jsapi_params("wx2014").unwrap().nonce_str,
        params.nonce_str
    );
}

#[tokio::test]
async fn a_rotation_refreshes_once_for_many_callers() {
    let fake = Fake::new(routes);
    let client = builder(&fake).build().unwrap();
    client
        .native(Order::new("Noodles", "no-000001", 1))
        .await
        .unwrap();
    assert_eq!(fake.downloads.load(Ordering::SeqCst), 1);
    assert_eq!(client.certificates().serials(), vec![A_SERIAL.to_owned()]);
    fake.rotate();
    let calls = (0..8).map(|i| {
        let client = client.clone();
        tokio::spawn(async move {
            client
                .native(Order::new("Noodles", format!("no-00001{i}"), 1))
                .await
        })
    });
    for call in calls {
        call.await.unwrap().unwrap();
    }
    assert_eq!(fake.downloads.load(Ordering::SeqCst), 2);
    assert_eq!(
        client.certificates().serials(),
        vec![A_SERIAL.to_owned(), B_SERIAL.to_owned()]
    );
    assert_eq!(
        client.refresh_certificates().await.unwrap(),
        vec![A_SERIAL.to_owned(), B_SERIAL.to_owned()]
    );
    assert_eq!(fake.downloads.load(Ordering::SeqCst), 3);
}

#[tokio::test]
async fn an_unknown_serial_that_stays_unknown_is_refused() {
    let fake = Fake::new(routes);
    let client = builder(&fake).build().unwrap();
    client.refresh_certificates().await.unwrap();
    // Signed by B, but the download still lists only A.
    {
        let mut s = fake.state.lock().unwrap();
        s.signer = SigningKey::from_pkcs8_pem(B_KEY).unwrap();
        s.serial = B_SERIAL.to_owned();
    }
    let err = client
        .native(Order::new("Noodles", "no-000001", 1))
        .await
        .unwrap_err();
    assert!(matches!(
        err.pay().unwrap().kind(),
        PayErrorKind::UnknownSerial(_)
    ));
}

#[tokio::test]
async fn expired_certificates_are_refused() {
    // 2128: the platform certificates expired in 2126.
    let fake = Fake::new(routes);
    fake.state.lock().unwrap().now = 5_000_000_000;
    let client = builder(&fake).clock(|| 5_000_000_000).build().unwrap();
    let err = client.refresh_certificates().await.unwrap_err();
    assert_eq!(
        err.pay().unwrap().kind(),
        &PayErrorKind::ExpiredCertificate(A_SERIAL.to_owned())
    );
    assert!(client.certificates().serials().is_empty());
    assert!(
        client
            .native(Order::new("Noodles", "no-000001", 1))
            .await
            .is_err()
    );
    // Only the certificate downloads went out: no order was placed blind.
    assert!(fake.seen().iter().all(|s| s.target == "/v3/certificates"));
}

#[tokio::test]
async fn processes_share_the_set_through_the_store() {
    let fake = Fake::new(routes);
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    let first = builder(&fake).store(Arc::clone(&store)).build().unwrap();
    let second = builder(&fake).store(Arc::clone(&store)).build().unwrap();
    first
        .native(Order::new("Noodles", "no-000001", 1))
        .await
        .unwrap();
    second
        .native(Order::new("Noodles", "no-000002", 1))
        .await
        .unwrap();
    assert_eq!(fake.downloads.load(Ordering::SeqCst), 1);
    assert_eq!(second.certificates().serials(), vec![A_SERIAL.to_owned()]);
    // A set written into the store by someone without the APIv3 key is ignored.
    let other = wechat_core::secret::ApiV3Key::new("0123456789abcdefghijABCDEFGHIJ99");
    let planted = v3::certificates_answer(&other, &[B_CERT], "0123456789ab").unwrap();
    store
        .set(
            &format!("wechat:pay:v3:certificates:{MCHID}"),
            Bytes::from(planted),
            None,
        )
        .await
        .unwrap();
    let third = builder(&fake).store(Arc::clone(&store)).build().unwrap();
    third
        .native(Order::new("Noodles", "no-000003", 1))
        .await
        .unwrap();
    assert_eq!(third.certificates().serials(), vec![A_SERIAL.to_owned()]);
    assert_eq!(fake.downloads.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn transfers_encrypt_the_name_for_the_serial_they_send() {
    for public_key_mode in [true, false] {
        let fake = Fake::new(routes);
        let (fake, client, wechat, serial) = if public_key_mode {
            let fake = fake.public_key_mode();
            let client = builder(&fake)
                .wechatpay_public_key(PUB_KEY_ID, PUB_KEY)
                .unwrap()
                .build()
                .unwrap();
            (fake, client, PUB_PRIVATE, PUB_KEY_ID)
        } else {
            fake.rotate();
            let client = builder(&fake).build().unwrap();
            // The newest certificate of the two.
            (fake, client, B_KEY, B_SERIAL)
        };
        let bill = client
            .transfer(
                TransferRequest::new("bill-1", "1000", "oUser", 200_000, "prize")
                    .user_name("张三")
                    .report("活动名称", "新会员有礼"),
            )
            .await
            .unwrap();
        assert_eq!(bill.state, "ACCEPTED");
        let seen = fake.seen();
        let sent = seen.last().unwrap();
        assert_eq!(sent.wechatpay_serial.as_deref(), Some(serial));
        let body: serde_json::Value = serde_json::from_slice(&sent.body).unwrap();
        assert_eq!(body["appid"], APPID);
        let name = body["user_name"].as_str().unwrap();
        assert!(!String::from_utf8_lossy(&sent.body).contains("张三"));
        let key = DecryptingKey::from_pkcs8_pem(wechat).unwrap();
        assert_eq!(key.decrypt_str(name).unwrap(), "张三");
    }
}

#[tokio::test]
async fn bills_download_only_when_their_hash_matches_and_only_from_the_api_host() {
    let fake = Fake::new(routes).public_key_mode();
    let client = builder(&fake)
        .wechatpay_public_key(PUB_KEY_ID, PUB_KEY)
        .unwrap()
        .build()
        .unwrap();
    let bill = client
        .trade_bill("2024-05-01", TradeBillType::All)
        .await
        .unwrap();
    let mut out = Vec::new();
    let n = client.download_bill(&bill, &mut out).await.unwrap();
    assert_eq!(n, BILL.len() as u64);
    assert_eq!(out, BILL);
    // The download request was signed too.
    let seen = fake.seen();
    assert_eq!(
        seen.last().unwrap().target,
        "/v3/billdownload/file?token=abc"
    );
    // A hash that does not match: an error, nothing written.
    let mut wrong = bill.clone();
    wrong.hash_value = v3::bill_hash_value(b"another file");
    let mut out = Vec::new();
    let err = client.download_bill(&wrong, &mut out).await.unwrap_err();
    assert_eq!(err.pay().unwrap().kind(), &PayErrorKind::HashMismatch);
    assert!(out.is_empty());
    // URLs elsewhere are refused before any request.
    let before = fake.seen().len();
    for url in [
        "http://169.254.169.254/latest/meta-data",
        "http://127.0.0.1:10/v3/billdownload/file?token=abc",
        "https://127.0.0.1:9/v3/billdownload/file?token=abc",
        "http://user@127.0.0.1:9/v3/billdownload/file",
        "http://127.0.0.1.evil.example:9/x",
        "/v3/billdownload/file?token=abc",
        "",
    ] {
        let mut elsewhere = bill.clone();
        elsewhere.download_url = url.to_owned();
        let err = client
            .download_bill(&elsewhere, &mut Vec::new())
            .await
            .unwrap_err();
        assert!(matches!(err, PayV3Error::Request(_)), "{url}: {err:?}");
    }
    assert_eq!(fake.seen().len(), before);
}

#[tokio::test]
async fn oversized_answers_are_refused() {
    let fake = Fake::new(|_: &Method, _: &str, _: &[u8]| {
        (200, format!(r#"{{"code_url":"{}"}}"#, "x".repeat(4096)))
    })
    .public_key_mode();
    let client = builder(&fake)
        .wechatpay_public_key(PUB_KEY_ID, PUB_KEY)
        .unwrap()
        .max_response_bytes(1024)
        .build()
        .unwrap();
    let err = client
        .native(Order::new("Noodles", "no-000001", 1))
        .await
        .unwrap_err();
    assert!(matches!(err, PayV3Error::TooLarge), "{err:?}");
}

#[test]
fn debug_shows_no_key_material() {
    let merchant = merchant();
    let debug = format!("{merchant:?}");
    assert!(debug.contains("SigningKey([redacted])"), "{debug}");
    assert!(debug.contains("ApiV3Key([redacted])"), "{debug}");
    assert!(!debug.contains(API_V3_KEY), "{debug}");
    let fake = Fake::new(routes);
    let client = builder(&fake).build().unwrap();
    let debug = format!("{client:?}");
    assert!(!debug.contains(API_V3_KEY), "{debug}");
    assert!(!debug.contains("PRIVATE"), "{debug}");
}

#[test]
fn plain_http_only_on_loopback() {
    let fake = Fake::new(routes);
    assert!(
        PayV3Client::builder(merchant())
            .api_base("http://api.mch.weixin.qq.com")
            .transport(fake.transport())
            .build()
            .is_err()
    );
}

async fn paid(p: Paid, crate::State(count): crate::State<Arc<AtomicUsize>>) -> Result<(), String> {
    assert!(p.is_success());
    count.fetch_add(1, Ordering::SeqCst);
    Ok(())
}

fn notification(signer: &str, serial: &str, id: &str, now: u64) -> Request<Full<Bytes>> {
    let key = wechat_core::secret::ApiV3Key::new(API_V3_KEY);
    let resource = format!(
        r#"{{"mchid":"{MCHID}","appid":"{APPID}","out_trade_no":"no-1","transaction_id":"{id}","trade_type":"JSAPI","trade_state":"SUCCESS","amount":{{"total":100}},"payer":{{"openid":"oUser"}}}}"#
    );
    let body = v3::notification_body(
        &key,
        id,
        "TRANSACTION.SUCCESS",
        "transaction",
        "fdasflkja484",
        &resource,
    )
    .unwrap();
    let ts = now.to_string();
    let signature = SigningKey::from_pkcs8_pem(signer)
        .unwrap()
        .sign(&v3::notify_message(&ts, "n0nce", body.as_bytes()));
    Request::post("/pay/notify")
        .header("wechatpay-timestamp", ts)
        .header("wechatpay-nonce", "n0nce")
        .header("wechatpay-signature", signature)
        .header("wechatpay-serial", serial)
        .body(Full::new(Bytes::from(body)))
        .unwrap()
}

#[tokio::test]
async fn the_notify_service_follows_a_rotation_with_the_clients_set() {
    let fake = Fake::new(routes);
    let client = builder(&fake).build().unwrap();
    client.refresh_certificates().await.unwrap();
    let config = PayConfig::new(APPID, MCHID, "192006250b4c09247ec02edce69f6a2d")
        .api_v3_key(API_V3_KEY)
        .clock(|| NOW)
        .v3_certificates(client.certificates());
    assert!(config.accepts_v3());
    let count = Arc::new(AtomicUsize::new(0));
    let notify = PayNotify::builder(config)
        .handler(paid)
        .with_state(Arc::clone(&count))
        .build()
        .unwrap();
    let status = |req| {
        let notify = notify.clone();
        async move {
            let res = notify.oneshot(req).await.unwrap();
            let status = res.status();
            let _ = res.into_body().collect().await;
            status
        }
    };
    assert_eq!(
        status(notification(A_KEY, A_SERIAL, "4200001", NOW)).await,
        StatusCode::NO_CONTENT
    );
    assert_eq!(fake.downloads.load(Ordering::SeqCst), 1);
    // Rotation: WeChat signs with B, which the set learns by one download.
    fake.rotate();
    assert_eq!(
        status(notification(B_KEY, B_SERIAL, "4200002", NOW)).await,
        StatusCode::NO_CONTENT
    );
    assert_eq!(fake.downloads.load(Ordering::SeqCst), 2);
    assert_eq!(count.load(Ordering::SeqCst), 2);
    assert_eq!(
        client.certificates().serials(),
        vec![A_SERIAL.to_owned(), B_SERIAL.to_owned()]
    );
    // Made-up serials: refused, and they do not make every notification download again.
    for i in 0..5 {
        let forged = notification(B_KEY, &format!("DEADBEEF{i}"), "4200003", NOW);
        assert_eq!(status(forged).await, StatusCode::UNAUTHORIZED);
    }
    // (the rotation just used the one download a minute that notifications may trigger)
    assert_eq!(fake.downloads.load(Ordering::SeqCst), 2);
    // Signed by a key that is not the certificate it names.
    let forged = notification(A_KEY, B_SERIAL, "4200004", NOW);
    assert_eq!(status(forged).await, StatusCode::UNAUTHORIZED);
    assert_eq!(count.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn a_due_refresh_downloads_again_and_a_failed_one_keeps_the_set() {
    let fake = Fake::new(routes);
    let now = Arc::new(std::sync::atomic::AtomicU64::new(NOW));
    let clock = {
        let now = Arc::clone(&now);
        move || now.load(Ordering::SeqCst)
    };
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    let client = builder(&fake)
        .clock(clock)
        .store(Arc::clone(&store))
        .build()
        .unwrap();
    let key = format!("wechat:pay:v3:certificates:{MCHID}");
    let order = |i: u64| Order::new("Noodles", format!("no-{i:06}"), 1);
    client.native(order(1)).await.unwrap();
    client.native(order(2)).await.unwrap();
    assert_eq!(fake.downloads.load(Ordering::SeqCst), 1);
    // Twelve hours later (the shared copy in the store long expired) the set is downloaded
    // again, once.
    store.delete(&key).await.unwrap();
    let later = NOW + 12 * 3600;
    now.store(later, Ordering::SeqCst);
    fake.state.lock().unwrap().now = later;
    client.native(order(3)).await.unwrap();
    client.native(order(4)).await.unwrap();
    assert_eq!(fake.downloads.load(Ordering::SeqCst), 2);
    // Twelve more hours, and the download fails (an answer that lists nothing): the set in use
    // stays, calls go on, and the next try waits a minute.
    store.delete(&key).await.unwrap();
    let later = later + 12 * 3600;
    now.store(later, Ordering::SeqCst);
    {
        let mut s = fake.state.lock().unwrap();
        s.now = later;
        s.certs = vec![];
    }
    client.native(order(5)).await.unwrap();
    client.native(order(6)).await.unwrap();
    assert_eq!(fake.downloads.load(Ordering::SeqCst), 3);
    assert_eq!(client.certificates().serials(), vec![A_SERIAL.to_owned()]);
    now.store(later + 61, Ordering::SeqCst);
    fake.state.lock().unwrap().now = later + 61;
    client.native(order(7)).await.unwrap();
    assert_eq!(fake.downloads.load(Ordering::SeqCst), 4);
}

#[tokio::test]
async fn a_notification_whose_certificate_cannot_be_fetched_is_retried_later() {
    let fake = Fake::new(routes);
    let client = builder(&fake).build().unwrap();
    client.refresh_certificates().await.unwrap();
    let config = PayConfig::new(APPID, MCHID, "192006250b4c09247ec02edce69f6a2d")
        .api_v3_key(API_V3_KEY)
        .clock(|| NOW)
        .v3_certificates(client.certificates());
    let count = Arc::new(AtomicUsize::new(0));
    let notify = PayNotify::builder(config)
        .handler(paid)
        .with_state(Arc::clone(&count))
        .build()
        .unwrap();
    // The download lists nothing: no answer to trust, so WeChat is asked to retry (503), and
    // the detail stays in the log.
    fake.state.lock().unwrap().certs = vec![];
    let res = notify
        .clone()
        .oneshot(notification(B_KEY, B_SERIAL, "4200002", NOW))
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
    let body = res.into_body().collect().await.unwrap().to_bytes();
    assert!(!String::from_utf8_lossy(&body).contains("data"), "{body:?}");
    assert_eq!(count.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn public_key_mode_downloads_nothing_and_shares_its_key_with_the_notify_service() {
    let fake = Fake::new(routes).public_key_mode();
    let client = builder(&fake)
        .wechatpay_public_key(PUB_KEY_ID, PUB_KEY)
        .unwrap()
        .build()
        .unwrap();
    let certificates = client.certificates();
    assert!(!certificates.downloads());
    assert_eq!(
        client.refresh_certificates().await.unwrap(),
        vec![PUB_KEY_ID.to_owned()]
    );
    let config = PayConfig::new(APPID, MCHID, "192006250b4c09247ec02edce69f6a2d")
        .api_v3_key(API_V3_KEY)
        .clock(|| NOW)
        .v3_certificates(certificates);
    let count = Arc::new(AtomicUsize::new(0));
    let notify = PayNotify::builder(config)
        .handler(paid)
        .with_state(Arc::clone(&count))
        .build()
        .unwrap();
    let res = notify
        .clone()
        .oneshot(notification(PUB_PRIVATE, PUB_KEY_ID, "4200001", NOW))
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let res = notify
        .oneshot(notification(A_KEY, A_SERIAL, "4200002", NOW))
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(count.load(Ordering::SeqCst), 1);
    assert_eq!(fake.downloads.load(Ordering::SeqCst), 0);
}

/// A raw HTTP/1.1 server on loopback answering one bill per connection: `len` bytes of a
/// pattern, in 64 KiB writes. After `pause_after` bytes it waits until `written` (the
/// caller's writer) has seen a byte, so a client that held the whole bill would never finish.
/// `stall` stops sending after the first chunk (a too-slow download).
async fn bill_server(
    len: usize,
    pause_after: usize,
    written: Arc<AtomicUsize>,
    stall: bool,
) -> std::net::SocketAddr {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let written = Arc::clone(&written);
            tokio::spawn(async move {
                let mut head = Vec::new();
                let mut buf = [0u8; 1024];
                while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                    let Ok(n) = stream.read(&mut buf).await else {
                        return;
                    };
                    if n == 0 {
                        return;
                    }
                    head.extend_from_slice(&buf[..n]);
                }
                let header = format!("HTTP/1.1 200 OK\r\ncontent-length: {len}\r\n\r\n");
                if stream.write_all(header.as_bytes()).await.is_err() {
                    return;
                }
                let mut sent = 0;
                while sent < len {
                    if sent >= pause_after {
                        while written.load(Ordering::SeqCst) == 0 {
                            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
                        }
                    }
                    let n = (len - sent).min(64 * 1024);
                    let chunk: Vec<u8> = (sent..sent + n).map(|i| (i % 251) as u8).collect();
                    if stream.write_all(&chunk).await.is_err() {
                        return;
                    }
                    sent += n;
                    if stall {
                        std::future::pending::<()>().await;
                    }
                }
            });
        }
    });
    addr
}

fn pattern_hash(len: usize) -> String {
    let bytes: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
    v3::bill_hash_value(&bytes)
}

/// A writer that hashes and counts what it gets, holding none of it.
struct HashingSink {
    hasher: v3::BillHasher,
    written: Arc<AtomicUsize>,
}

impl tokio::io::AsyncWrite for HashingSink {
    fn poll_write(
        mut self: std::pin::Pin<&mut Self>,
        _cx: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        self.hasher.update(buf);
        self.written.fetch_add(buf.len(), Ordering::SeqCst);
        std::task::Poll::Ready(Ok(buf.len()))
    }
    fn poll_flush(
        self: std::pin::Pin<&mut Self>,
        _cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::task::Poll::Ready(Ok(()))
    }
    fn poll_shutdown(
        self: std::pin::Pin<&mut Self>,
        _cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::task::Poll::Ready(Ok(()))
    }
}

fn loopback_client(
    addr: std::net::SocketAddr,
    download_timeout: std::time::Duration,
) -> PayV3Client {
    let transport = crate::client::HttpTransport::new()
        .unwrap()
        .into_transport();
    assert!(transport.streams());
    PayV3Client::builder(merchant())
        .api_base(format!("http://{addr}"))
        .transport(transport)
        .clock(|| NOW)
        .wechatpay_public_key(PUB_KEY_ID, PUB_KEY)
        .unwrap()
        .download_timeout(download_timeout)
        .build()
        .unwrap()
}

fn bill_at(addr: std::net::SocketAddr, hash_value: String) -> v3::BillUrl {
    serde_json::from_value(serde_json::json!({
        "hash_type": "SHA1",
        "hash_value": hash_value,
        "download_url": format!("http://{addr}/v3/billdownload/file?token=big"),
    }))
    .unwrap()
}

#[tokio::test]
async fn a_bill_over_the_buffered_cap_streams_through_and_is_hashed_across_frames() {
    // 33 MiB: over HttpTransport's 32 MiB buffered cap. The server stops at half until the
    // writer has seen bytes: a client holding the whole bill would hit the download timeout.
    const LEN: usize = 33 * 1024 * 1024;
    let written = Arc::new(AtomicUsize::new(0));
    let addr = bill_server(LEN, LEN / 2, Arc::clone(&written), false).await;
    let client = loopback_client(addr, std::time::Duration::from_secs(20));
    let bill = bill_at(addr, pattern_hash(LEN));
    let mut sink = HashingSink {
        hasher: v3::BillHasher::new("SHA1").unwrap(),
        written: Arc::clone(&written),
    };
    let n = client.download_bill(&bill, &mut sink).await.unwrap();
    assert_eq!(n, LEN as u64);
    assert_eq!(written.load(Ordering::SeqCst), LEN);
    sink.hasher.verify(&bill.hash_value).unwrap();

    // The same bytes against another hash: refused after streaming (the caller discards).
    let written = Arc::new(AtomicUsize::new(0));
    let addr = bill_server(LEN, LEN / 2, Arc::clone(&written), false).await;
    let client = loopback_client(addr, std::time::Duration::from_secs(20));
    let bill = bill_at(addr, v3::bill_hash_value(b"another file"));
    let mut sink = HashingSink {
        hasher: v3::BillHasher::new("SHA1").unwrap(),
        written: Arc::clone(&written),
    };
    let err = client.download_bill(&bill, &mut sink).await.unwrap_err();
    assert_eq!(err.pay().unwrap().kind(), &PayErrorKind::HashMismatch);
    assert_eq!(written.load(Ordering::SeqCst), LEN);
}

#[tokio::test]
async fn a_small_corrupted_bill_is_refused_with_nothing_written() {
    const LEN: usize = 300 * 1024; // several frames, under BILL_HOLD_BYTES
    let written = Arc::new(AtomicUsize::new(0));
    let addr = bill_server(LEN, usize::MAX, Arc::new(AtomicUsize::new(1)), false).await;
    let client = loopback_client(addr, std::time::Duration::from_secs(5));
    let mut sink = HashingSink {
        hasher: v3::BillHasher::new("SHA1").unwrap(),
        written: Arc::clone(&written),
    };
    let err = client
        .download_bill(&bill_at(addr, pattern_hash(LEN - 1)), &mut sink)
        .await
        .unwrap_err();
    assert_eq!(err.pay().unwrap().kind(), &PayErrorKind::HashMismatch);
    assert_eq!(written.load(Ordering::SeqCst), 0);
    // The right hash over the same frames: all written.
    let n = client
        .download_bill(&bill_at(addr, pattern_hash(LEN)), &mut sink)
        .await
        .unwrap();
    assert_eq!(n, LEN as u64);
    assert_eq!(written.load(Ordering::SeqCst), LEN);
}

#[tokio::test]
async fn a_stalled_bill_hits_the_download_timeout_and_the_size_cap_holds() {
    const LEN: usize = 1024 * 1024;
    let addr = bill_server(LEN, usize::MAX, Arc::new(AtomicUsize::new(1)), true).await;
    let client = loopback_client(addr, std::time::Duration::from_millis(300));
    let started = std::time::Instant::now();
    let err = client
        .download_bill(&bill_at(addr, pattern_hash(LEN)), &mut Vec::new())
        .await
        .unwrap_err();
    assert!(matches!(err, PayV3Error::Timeout), "{err:?}");
    assert!(started.elapsed() < std::time::Duration::from_secs(3));

    // An oversized bill: refused while streaming.
    let addr = bill_server(LEN, usize::MAX, Arc::new(AtomicUsize::new(1)), false).await;
    let transport = crate::client::HttpTransport::new()
        .unwrap()
        .into_transport();
    let client = PayV3Client::builder(merchant())
        .api_base(format!("http://{addr}"))
        .transport(transport)
        .clock(|| NOW)
        .wechatpay_public_key(PUB_KEY_ID, PUB_KEY)
        .unwrap()
        .max_bill_bytes((LEN / 2) as u64)
        .build()
        .unwrap();
    let err = client
        .download_bill(&bill_at(addr, pattern_hash(LEN)), &mut Vec::new())
        .await
        .unwrap_err();
    assert!(matches!(err, PayV3Error::TooLarge), "{err:?}");
}

#[test]
fn a_custom_transport_has_no_streaming_face() {
    // Its downloads come as one frame: `bills_download_only_when_their_hash_matches...`
    // downloads through such a transport.
    let fake = Fake::new(routes);
    assert!(!fake.transport().streams());
}
