//! Unit tests of the v3 face without a socket: signed requests in, answers verified as a client
//! verifies them.

#![allow(clippy::unwrap_used, reason = "tests")]

use std::sync::OnceLock;

use http::{HeaderMap, HeaderValue, Method, StatusCode};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use wechat_core::pay::v3::{
    BillHasher, NotifyHeaders, SigningKey, Verifier, authorization, decrypt_certificates,
};

use super::keys::{
    MERCHANT_KEY_PEM, MERCHANT_SERIAL, PLATFORM_A_CERT_PEM, PLATFORM_A_SERIAL, PLATFORM_B_CERT_PEM,
    PLATFORM_B_SERIAL,
};
use crate::test_util::mock_pay::{PUBLIC_KEY_PEM, Shared, SigningMode, now};

struct Reply {
    status: StatusCode,
    headers: HeaderMap,
    body: Vec<u8>,
}

impl Reply {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap()
    }

    fn code(&self) -> String {
        self.json()["code"].as_str().unwrap_or_default().to_owned()
    }

    /// Verifies the answer's signature with `verifier`, as a client does.
    fn verify(&self, verifier: &Verifier) -> Result<(), wechat_core::pay::PayError> {
        let h = |name: &str| {
            self.headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
        };
        let headers = NotifyHeaders {
            timestamp: h("wechatpay-timestamp"),
            nonce: h("wechatpay-nonce"),
            signature: h("wechatpay-signature"),
            serial: h("wechatpay-serial"),
        };
        verifier.verify_notify(&headers, &self.body, now(), 300)
    }
}

fn merchant() -> &'static SigningKey {
    static KEY: OnceLock<SigningKey> = OnceLock::new();
    KEY.get_or_init(|| SigningKey::from_pkcs8_pem(MERCHANT_KEY_PEM).unwrap())
}

fn shared(mode: SigningMode) -> Shared {
    let mut shared = Shared::for_tests();
    shared.mode = mode;
    let _ = shared.addr.set("127.0.0.1:9".parse().unwrap());
    shared
}

fn public_key_verifier(shared: &Shared) -> Verifier {
    let mut v = Verifier::new();
    v.add_public_key_pem(&shared.public_key_id, PUBLIC_KEY_PEM)
        .unwrap();
    v
}

fn certificate_verifier() -> Verifier {
    let mut v = Verifier::new();
    v.add_certificate_pem(PLATFORM_A_CERT_PEM).unwrap();
    v.add_certificate_pem(PLATFORM_B_CERT_PEM).unwrap();
    v
}

fn signed_headers(method: &str, target: &str, body: &str) -> HeaderMap {
    let ts = now().to_string();
    let nonce = wechat_core::pay::nonce_str();
    let message = format!("{method}\n{target}\n{ts}\n{nonce}\n{body}\n");
    let signature = merchant().sign(message.as_bytes());
    let mut headers = HeaderMap::new();
    headers.insert(
        "authorization",
        HeaderValue::from_str(&authorization(
            "1900000109",
            MERCHANT_SERIAL,
            &ts,
            &nonce,
            &signature,
        ))
        .unwrap(),
    );
    headers
}

async fn send_with(
    shared: &Shared,
    method: &str,
    target: &str,
    body: &str,
    mut headers: HeaderMap,
    extra: &[(&'static str, &str)],
) -> Reply {
    for (k, v) in extra {
        headers.insert(*k, HeaderValue::from_str(v).unwrap());
    }
    let method = Method::from_bytes(method.as_bytes()).unwrap();
    let res = super::handle(shared, &method, target, &headers, body.as_bytes());
    let status = res.status();
    let headers = res.headers().clone();
    let body = res.into_body().collect().await.unwrap().to_bytes().to_vec();
    Reply {
        status,
        headers,
        body,
    }
}

async fn send(shared: &Shared, method: &str, target: &str, body: &str) -> Reply {
    let headers = signed_headers(method, target, body);
    send_with(shared, method, target, body, headers, &[]).await
}

fn jsapi_order(no: &str, total: u64) -> String {
    json!({
        "appid": "wxmock0000000001",
        "mchid": "1900000109",
        "description": "Noodles",
        "out_trade_no": no,
        "notify_url": "http://127.0.0.1:9/pay/notify",
        "amount": { "total": total, "currency": "CNY" },
        "payer": { "openid": "oUser" },
    })
    .to_string()
}

fn pay(shared: &Shared, no: &str) -> String {
    let mut state = shared.lock();
    let n = state.next();
    let order = state.orders.get_mut(no).unwrap();
    order.state = wechat_core::pay::TradeState::Success;
    order.transaction_id = Some(format!("4200{n:024}"));
    order.paid_at = Some(now());
    order.transaction_id.clone().unwrap()
}

#[tokio::test]
async fn jsapi_prepay_query_and_close_are_signed() {
    let shared = shared(SigningMode::PublicKey);
    let verifier = public_key_verifier(&shared);
    let path = "/v3/pay/transactions/jsapi";
    let first = send(&shared, "POST", path, &jsapi_order("order-001", 100)).await;
    assert_eq!(first.status, StatusCode::OK);
    first.verify(&verifier).unwrap();
    let prepay_id = first.json()["prepay_id"].as_str().unwrap().to_owned();
    assert!(prepay_id.starts_with("wx"));
    // The same order again: the same prepay id; other content: OUT_TRADE_NO_USED.
    let again = send(&shared, "POST", path, &jsapi_order("order-001", 100)).await;
    assert_eq!(again.json()["prepay_id"], prepay_id.as_str());
    let other = send(&shared, "POST", path, &jsapi_order("order-001", 200)).await;
    assert_eq!(
        (other.status, other.code().as_str()),
        (StatusCode::FORBIDDEN, "OUT_TRADE_NO_USED")
    );
    other.verify(&verifier).unwrap();

    let query = "/v3/pay/transactions/out-trade-no/order-001?mchid=1900000109";
    let unpaid = send(&shared, "GET", query, "").await;
    assert_eq!(unpaid.json()["trade_state"], "NOTPAY");
    let transaction_id = pay(&shared, "order-001");
    let paid = send(&shared, "GET", query, "").await;
    paid.verify(&verifier).unwrap();
    let paid = paid.json();
    assert_eq!(paid["trade_state"], "SUCCESS");
    assert_eq!(paid["amount"]["payer_total"], 100);
    assert!(paid["success_time"].as_str().unwrap().ends_with("+08:00"));
    let by_id = send(
        &shared,
        "GET",
        &format!("/v3/pay/transactions/id/{transaction_id}?mchid=1900000109"),
        "",
    )
    .await;
    assert_eq!(by_id.json()["out_trade_no"], "order-001");
    let paid_again = send(&shared, "POST", path, &jsapi_order("order-001", 100)).await;
    assert_eq!(paid_again.code(), "ORDERPAID");

    let close = |no: &str| format!("/v3/pay/transactions/out-trade-no/{no}/close");
    let body = r#"{"mchid":"1900000109"}"#;
    assert_eq!(
        send(&shared, "POST", &close("order-001"), body)
            .await
            .code(),
        "ORDERPAID"
    );
    send(&shared, "POST", path, &jsapi_order("order-002", 100)).await;
    let closed = send(&shared, "POST", &close("order-002"), body).await;
    assert_eq!(closed.status, StatusCode::NO_CONTENT);
    assert!(closed.body.is_empty());
    closed.verify(&verifier).unwrap();
    let reopened = send(&shared, "POST", path, &jsapi_order("order-002", 100)).await;
    assert_eq!(reopened.code(), "ORDER_CLOSED");
    let missing = send(
        &shared,
        "GET",
        "/v3/pay/transactions/out-trade-no/nope00?mchid=1900000109",
        "",
    )
    .await;
    assert_eq!(
        (missing.status, missing.code().as_str()),
        (StatusCode::NOT_FOUND, "ORDER_NOT_EXIST")
    );
}

#[tokio::test]
async fn required_fields_are_checked_per_trade_type() {
    let shared = shared(SigningMode::PublicKey);
    let mut order: Value = serde_json::from_str(&jsapi_order("order-003", 100)).unwrap();
    order.as_object_mut().unwrap().remove("payer");
    let body = order.to_string();
    let jsapi = send(&shared, "POST", "/v3/pay/transactions/jsapi", &body).await;
    assert_eq!(
        (jsapi.status, jsapi.code().as_str()),
        (StatusCode::BAD_REQUEST, "PARAM_ERROR")
    );
    let native = send(&shared, "POST", "/v3/pay/transactions/native", &body).await;
    assert!(
        native.json()["code_url"]
            .as_str()
            .unwrap()
            .starts_with("weixin://")
    );
    let h5 = send(&shared, "POST", "/v3/pay/transactions/h5", &body).await;
    assert_eq!(h5.code(), "PARAM_ERROR", "h5 needs scene_info");
    order["out_trade_no"] = "order-004".into();
    order["scene_info"] = json!({"payer_client_ip": "127.0.0.1", "h5_info": {"type": "Wap"}});
    let h5 = send(
        &shared,
        "POST",
        "/v3/pay/transactions/h5",
        &order.to_string(),
    )
    .await;
    assert!(
        h5.json()["h5_url"]
            .as_str()
            .unwrap()
            .starts_with("https://")
    );
    for (field, value) in [
        ("amount", json!({"total": 0})),
        ("amount", json!({"total": -1})),
        ("out_trade_no", json!("short")),
        ("description", json!("")),
        ("notify_url", json!("ftp://x")),
        ("appid", json!(1)),
    ] {
        let mut bad = order.clone();
        bad[field] = value;
        bad["out_trade_no"] = if field == "out_trade_no" {
            bad[field].clone()
        } else {
            "order-005".into()
        };
        let reply = send(
            &shared,
            "POST",
            "/v3/pay/transactions/app",
            &bad.to_string(),
        )
        .await;
        assert_eq!(reply.code(), "PARAM_ERROR", "{field}");
    }
    let mut other_app = order.clone();
    other_app["appid"] = "wxother".into();
    other_app["out_trade_no"] = "order-006".into();
    let reply = send(
        &shared,
        "POST",
        "/v3/pay/transactions/app",
        &other_app.to_string(),
    )
    .await;
    assert_eq!(reply.code(), "APPID_MCHID_NOT_MATCH");
    let reply = send(&shared, "POST", "/v3/pay/transactions/app", "not json").await;
    assert_eq!(reply.code(), "PARAM_ERROR");
}

#[tokio::test]
async fn bad_signatures_get_a_signed_401() {
    let shared = shared(SigningMode::PublicKey);
    let verifier = public_key_verifier(&shared);
    let body = jsapi_order("order-007", 100);
    let path = "/v3/pay/transactions/jsapi";
    // Signed for another body (spliced).
    let headers = signed_headers("POST", path, &jsapi_order("order-007", 1));
    let reply = send_with(&shared, "POST", path, &body, headers, &[]).await;
    assert_eq!(
        (reply.status, reply.code().as_str()),
        (StatusCode::UNAUTHORIZED, "SIGN_ERROR")
    );
    reply.verify(&verifier).unwrap();
    // No header at all.
    let reply = send_with(&shared, "POST", path, &body, HeaderMap::new(), &[]).await;
    assert_eq!(reply.code(), "SIGN_ERROR");
    assert!(shared.lock().orders.is_empty(), "nothing was created");
}

#[tokio::test]
async fn forged_answers_fail_verification_then_stop() {
    let shared = shared(SigningMode::PublicKey);
    let verifier = public_key_verifier(&shared);
    shared.lock().v3.forge = 1;
    let target = "/v3/certificates";
    let forged = send(&shared, "GET", target, "").await;
    assert_eq!(forged.status, StatusCode::OK);
    assert!(forged.verify(&verifier).is_err());
    send(&shared, "GET", target, "")
        .await
        .verify(&verifier)
        .unwrap();
}

#[tokio::test]
async fn certificates_follow_the_rotation() {
    let shared = shared(SigningMode::PlatformCertificate);
    let verifier = certificate_verifier();
    let serials = |reply: &Reply| -> Vec<String> {
        decrypt_certificates(&reply.body, &shared.api_v3_key, now())
            .unwrap()
            .into_iter()
            .map(|c| c.serial_no)
            .collect()
    };
    let before = send(&shared, "GET", "/v3/certificates", "").await;
    before.verify(&verifier).unwrap();
    assert_eq!(before.headers["wechatpay-serial"], PLATFORM_A_SERIAL);
    assert_eq!(serials(&before), [PLATFORM_A_SERIAL]);
    shared.lock().v3.rotation.rotated = true;
    let during = send(&shared, "GET", "/v3/certificates", "").await;
    during.verify(&verifier).unwrap();
    assert_eq!(during.headers["wechatpay-serial"], PLATFORM_B_SERIAL);
    assert_eq!(serials(&during), [PLATFORM_A_SERIAL, PLATFORM_B_SERIAL]);
    let nonces: Vec<Value> = during.json()["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["encrypt_certificate"]["nonce"].clone())
        .collect();
    assert_ne!(nonces[0], nonces[1], "one nonce per certificate");
    shared.lock().v3.rotation.retired = true;
    let after = send(&shared, "GET", "/v3/certificates", "").await;
    assert_eq!(serials(&after), [PLATFORM_B_SERIAL]);
}

#[tokio::test]
async fn refunds_follow_the_amount_rules() {
    let shared = shared(SigningMode::PublicKey);
    send(
        &shared,
        "POST",
        "/v3/pay/transactions/jsapi",
        &jsapi_order("order-008", 100),
    )
    .await;
    let refund = |no: &str, r: &str, refund: u64| {
        json!({"out_trade_no": no, "out_refund_no": r, "amount": {"refund": refund, "total": 100, "currency": "CNY"}})
            .to_string()
    };
    let path = "/v3/refund/domestic/refunds";
    assert_eq!(
        send(&shared, "POST", path, &refund("order-008", "r-1", 10))
            .await
            .code(),
        "INVALID_REQUEST",
        "unpaid"
    );
    pay(&shared, "order-008");
    let created = send(&shared, "POST", path, &refund("order-008", "r-1", 60)).await;
    assert_eq!(created.status, StatusCode::OK, "{:?}", created.json());
    assert_eq!(created.json()["status"], "PROCESSING");
    assert_eq!(created.json()["amount"]["refund"], 60);
    assert_eq!(
        send(&shared, "POST", path, &refund("order-008", "r-2", 41))
            .await
            .code(),
        "INVALID_REQUEST"
    );
    assert_eq!(
        send(&shared, "POST", path, &refund("order-009", "r-2", 1))
            .await
            .code(),
        "RESOURCE_NOT_EXISTS"
    );
    assert_eq!(
        send(&shared, "POST", path, &refund("order-008", "r-2", 0))
            .await
            .code(),
        "PARAM_ERROR"
    );
    let query = send(&shared, "GET", "/v3/refund/domestic/refunds/r-1", "").await;
    assert_eq!(query.json()["refund_id"], created.json()["refund_id"]);
    let missing = send(&shared, "GET", "/v3/refund/domestic/refunds/r-9", "").await;
    assert_eq!(
        (missing.status, missing.code().as_str()),
        (StatusCode::NOT_FOUND, "RESOURCE_NOT_EXISTS")
    );
    let trade = send(
        &shared,
        "GET",
        "/v3/pay/transactions/out-trade-no/order-008?mchid=1900000109",
        "",
    )
    .await;
    assert_eq!(trade.json()["trade_state"], "REFUND");
}

#[tokio::test]
async fn bills_hash_what_is_served_unless_corrupted() {
    let shared = shared(SigningMode::PublicKey);
    send(
        &shared,
        "POST",
        "/v3/pay/transactions/jsapi",
        &jsapi_order("order-010", 1234),
    )
    .await;
    pay(&shared, "order-010");
    let today = &wechat_core::pay::v3::rfc3339_utc8(now())[..10];
    for corrupt in [false, true] {
        shared.lock().v3.corrupt_next_bill = corrupt;
        let bill = send(
            &shared,
            "GET",
            &format!("/v3/bill/tradebill?bill_date={today}&bill_type=ALL"),
            "",
        )
        .await;
        assert_eq!(bill.status, StatusCode::OK, "{:?}", bill.json());
        let bill = bill.json();
        let url = bill["download_url"].as_str().unwrap();
        let target = url.strip_prefix("http://127.0.0.1:9").unwrap();
        let file = send(&shared, "GET", target, "").await;
        assert!(
            file.headers.get("wechatpay-signature").is_none(),
            "downloads are unsigned"
        );
        let text = String::from_utf8(file.body.clone()).unwrap();
        assert!(text.contains("`order-010"), "{text}");
        let mut hasher = BillHasher::new(bill["hash_type"].as_str().unwrap()).unwrap();
        hasher.update(&file.body);
        assert_eq!(
            hasher.verify(bill["hash_value"].as_str().unwrap()).is_err(),
            corrupt
        );
    }
    let flow = send(
        &shared,
        "GET",
        &format!("/v3/bill/fundflowbill?bill_date={today}"),
        "",
    )
    .await;
    assert_eq!(flow.json()["hash_type"], "SHA1");
    for bad in ["2026-1-01", "tomorrow", "9999-12-31"] {
        let reply = send(
            &shared,
            "GET",
            &format!("/v3/bill/tradebill?bill_date={bad}"),
            "",
        )
        .await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{bad}");
    }
    let reply = send(&shared, "GET", "/v3/billdownload/file?token=unknown", "").await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn transfers_decrypt_the_user_name_under_the_named_key() {
    let shared = shared(SigningMode::PlatformCertificate);
    let verifier = certificate_verifier();
    let name = verifier
        .encrypt(PLATFORM_A_SERIAL, "张三".as_bytes())
        .unwrap();
    let body = |no: &str, name: &str| {
        json!({
            "appid": "wxmock0000000001",
            "out_bill_no": no,
            "transfer_scene_id": "1000",
            "openid": "oUser",
            "user_name": name,
            "transfer_amount": 200_000,
            "transfer_remark": "reward",
            "transfer_scene_report_infos": [{"info_type": "活动名称", "info_content": "新会员有礼"}],
        })
        .to_string()
    };
    let path = "/v3/fund-app/mch-transfer/transfer-bills";
    let send_transfer = |no: &'static str, name: String, serial: Option<&'static str>| {
        let body = body(no, &name);
        let shared = &shared;
        async move {
            let headers = signed_headers("POST", path, &body);
            let extra: Vec<(&'static str, &str)> = serial
                .map(|s| vec![("wechatpay-serial", s)])
                .unwrap_or_default();
            send_with(shared, "POST", path, &body, headers, &extra).await
        }
    };
    let ok = send_transfer("bill000001", name.clone(), Some(PLATFORM_A_SERIAL)).await;
    assert_eq!(ok.status, StatusCode::OK, "{:?}", ok.json());
    assert_eq!(ok.json()["state"], "WAIT_USER_CONFIRM");
    let kept = shared.lock().v3.transfers["bill000001"].clone();
    assert_eq!(kept.user_name.as_deref(), Some("张三"));
    // Missing, wrong or unknown serial; a ciphertext for another key; no name at 2000 yuan.
    assert_eq!(
        send_transfer("bill000002", name.clone(), None).await.code(),
        "PARAM_ERROR"
    );
    assert_eq!(
        send_transfer("bill000002", name.clone(), Some(PLATFORM_B_SERIAL))
            .await
            .code(),
        "PARAM_ERROR"
    );
    assert_eq!(
        send_transfer("bill000002", name.clone(), Some("PUB_KEY_ID_X"))
            .await
            .code(),
        "PARAM_ERROR"
    );
    let mut tampered = name.clone();
    tampered.replace_range(..4, "AAAA");
    assert_eq!(
        send_transfer("bill000002", tampered, Some(PLATFORM_A_SERIAL))
            .await
            .code(),
        "PARAM_ERROR"
    );
    let mut without: Value = serde_json::from_str(&body("bill000002", "")).unwrap();
    without.as_object_mut().unwrap().remove("user_name");
    let without = without.to_string();
    let reply = send(&shared, "POST", path, &without).await;
    assert_eq!(reply.code(), "PARAM_ERROR");
    assert_eq!(shared.lock().v3.transfers.len(), 1);
    let query = send(
        &shared,
        "GET",
        &format!("{path}/out-bill-no/bill000001"),
        "",
    )
    .await;
    query.verify(&verifier).unwrap();
    assert_eq!(
        query.json()["transfer_bill_no"],
        ok.json()["transfer_bill_no"]
    );
    let missing = send(
        &shared,
        "GET",
        &format!("{path}/out-bill-no/bill000009"),
        "",
    )
    .await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn injected_failures_and_unknown_paths() {
    let shared = shared(SigningMode::PublicKey);
    shared
        .lock()
        .v3
        .failures
        .entry("/v3/certificates".to_owned())
        .or_default()
        .push_back((429, "FREQUENCY_LIMITED".to_owned()));
    let limited = send(&shared, "GET", "/v3/certificates", "").await;
    assert_eq!(
        (limited.status, limited.code().as_str()),
        (StatusCode::TOO_MANY_REQUESTS, "FREQUENCY_LIMITED")
    );
    assert_eq!(
        send(&shared, "GET", "/v3/certificates", "").await.status,
        StatusCode::OK
    );
    let unknown = send(&shared, "GET", "/v3/nope", "").await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    let wrong_method = send(&shared, "GET", "/v3/pay/transactions/jsapi", "").await;
    assert_eq!(wrong_method.status, StatusCode::NOT_FOUND);
    let bad_escape = send(
        &shared,
        "GET",
        "/v3/pay/transactions/out-trade-no/%zz?mchid=1900000109",
        "",
    )
    .await;
    assert_eq!(bad_escape.code(), "PARAM_ERROR");
    let other_mch = send(
        &shared,
        "GET",
        "/v3/pay/transactions/out-trade-no/order-1?mchid=1",
        "",
    )
    .await;
    assert_eq!(other_mch.status, StatusCode::BAD_REQUEST);
}
