//! The example pages in a real browser (issue 14): headless Chromium over WebDriver, every
//! server in-process on 127.0.0.1, nothing fetched from elsewhere (see
//! [`wechat_e2e::browser`]).
//!
//! - `pay-demo` `/` outside WeChat says to open it in WeChat; inside (a stub `WeixinJSBridge`
//!   planted before the page's scripts) Pay creates an order and opens the pay sheet with
//!   parameters whose `paySign` verifies with the merchant key; after `MockPay`'s notification
//!   the page shows the order paid; a cancelled pay sheet leaves it unpaid and says so.
//! - `oauth-web`: login through the mock WeChat's authorize page lands on a greeting with the
//!   user's nickname; a callback with a tampered or missing `state` is refused (400) and its
//!   code never exchanged.
//! - The JS-SDK page: `wx.config` (a stub `wx`) gets a signature valid for the page's exact URL,
//!   query kept and `#fragment` dropped.
//!
//! Without Chromium the tests print `skipped: chromium not installed` and pass, unless
//! `WECHAT_REQUIRE_BROWSER=1`.

#![allow(
    clippy::unwrap_used,
    reason = "test helpers: a failure is a test failure"
)]

use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use http::{Method, Request, StatusCode};
use http_body_util::Full;
use serde_json::Value;
use wechat_e2e::browser::{self, Page, WAIT};
use wechat_e2e::send;
use wechat_tower::client::WechatClient;
use wechat_tower::core::jssdk;
use wechat_tower::core::pay::v3::Verifier;
use wechat_tower::core::pay::{SignType, sign};
use wechat_tower::core::secret::PayKey;
use wechat_tower::test_util::mock::MockWechat;
use wechat_tower::test_util::mock_pay::MockPay;

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

/// Serves `app` on an ephemeral loopback port bound beforehand (`listener`).
fn serve(listener: tokio::net::TcpListener, app: axum::Router) {
    tokio::spawn(async move { axum::serve(listener, app).await });
}

/// The pay-demo shop against `mock`, on 127.0.0.1.
async fn start_shop(mock: &MockPay) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let mut settings = pay_demo::Settings::new(
        mock.app_id(),
        mock.mch_id(),
        mock.key(),
        &mock.base_url(),
        addr,
    );
    settings.sign_type = mock.sign_type();
    serve(listener, pay_demo::app(&settings).await.unwrap());
    addr
}

/// `GET /orders/{id}` from the shop, as JSON.
async fn order_state(shop: SocketAddr, id: &str) -> Value {
    let req = Request::builder()
        .method(Method::GET)
        .uri(format!("/orders/{id}"))
        .body(Full::new(Bytes::new()))
        .unwrap();
    let (status, body) = send(shop, req).await;
    assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&body));
    serde_json::from_slice(&body).unwrap()
}

/// A stub of WeChat's `WeixinJSBridge`, planted before the page's scripts: it records each
/// `invoke` in `window.__bridgeCalls` and answers `err_msg` (asynchronously, as WeChat does).
fn bridge_stub(err_msg: &str) -> String {
    format!(
        "window.__bridgeCalls = [];
         window.WeixinJSBridge = {{
           invoke: function (name, params, callback) {{
             window.__bridgeCalls.push({{ name: name, params: JSON.parse(JSON.stringify(params)) }});
             setTimeout(function () {{ callback({{ err_msg: {} }}); }}, 0);
           }}
         }};",
        Value::from(err_msg)
    )
}

/// Waits for the pay page's status to reach `state` (its `data-state`); returns its text.
async fn pay_status(page: &Page, state: &str) -> String {
    let script = format!(
        "const s = document.getElementById('status');
         return s.dataset.state === {} ? s.textContent : null;",
        Value::from(state)
    );
    page.wait_until(&format!("the pay status `{state}`"), &script, WAIT)
        .await
        .as_str()
        .unwrap()
        .to_owned()
}

/// The first `getBrandWCPayRequest` the bridge stub saw: its parameters.
async fn pay_request(page: &Page) -> Value {
    let call = page
        .wait_until(
            "a WeixinJSBridge.invoke call",
            "return window.__bridgeCalls.length ? window.__bridgeCalls : null;",
            WAIT,
        )
        .await;
    let calls = call.as_array().unwrap();
    assert_eq!(calls.len(), 1, "one pay sheet per click: {call}");
    assert_eq!(calls[0]["name"], "getBrandWCPayRequest");
    calls[0]["params"].clone()
}

/// Checks the pay sheet parameters against the mock's order and key; returns the order id.
fn check_pay_params(mock: &MockPay, params: &Value) -> String {
    let field = |k: &str| {
        params[k]
            .as_str()
            .unwrap_or_else(|| panic!("{k} missing from {params}"))
    };
    let orders = mock.orders();
    assert_eq!(orders.len(), 1, "one unified order");
    let order = &orders[0];
    assert_eq!(field("appId"), mock.app_id());
    assert_eq!(field("package"), format!("prepay_id={}", order.prepay_id));
    let sign_type = match mock.sign_type() {
        SignType::Md5 => "MD5",
        _ => "HMAC-SHA256",
    };
    assert_eq!(field("signType"), sign_type);
    let signed: Vec<(&str, &str)> = ["appId", "timeStamp", "nonceStr", "package", "signType"]
        .iter()
        .map(|k| (*k, field(k)))
        .collect();
    let key = PayKey::new(mock.key());
    assert_eq!(
        field("paySign"),
        sign::sign(signed.clone(), &key, mock.sign_type()),
        "paySign is the merchant key's sign of {params}"
    );
    assert!(sign::verify(
        signed,
        &key,
        mock.sign_type(),
        field("paySign")
    ));
    order.out_trade_no.clone()
}

// ---------------------------------------------------------------------------------------------
// pay-demo
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pay_page_outside_wechat_says_to_open_it_in_wechat() {
    browser::run(
        "pay_page_outside_wechat_says_to_open_it_in_wechat",
        |page| async move {
            let mock = MockPay::start().await.unwrap();
            let shop = start_shop(&mock).await;
            page.step("open");
            page.goto(&format!("http://{shop}/")).await;
            assert!(
                page.is_displayed("#outside").await,
                "the 'open in WeChat' note is shown"
            );
            let note = page.text("#outside").await;
            assert!(note.contains("Open this page in WeChat to pay"), "{note}");

            page.step("order");
            page.click("#products li button").await;
            let status = pay_status(&page, "created").await;
            assert!(
                status.contains("Open this page in WeChat to pay"),
                "{status}"
            );
            assert!(
                status.contains("paySign"),
                "the pay parameters are shown: {status}"
            );
            assert_eq!(
                page.eval("return typeof window.WeixinJSBridge;").await,
                "undefined"
            );
            let id = mock.orders()[0].out_trade_no.clone();
            assert!(status.contains(&id), "{status}");
            assert_eq!(order_state(shop, &id).await["state"], "unpaid");
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pay_page_in_wechat_pays_and_shows_paid_after_the_notification() {
    browser::run(
        "pay_page_in_wechat_pays_and_shows_paid_after_the_notification",
        |page| async move {
            let mock = MockPay::builder()
                .sign_type(SignType::HmacSha256)
                .start()
                .await
                .unwrap();
            let shop = start_shop(&mock).await;
            page.inject(&bridge_stub("get_brand_wcpay_request:ok"))
                .await;
            page.step("open");
            page.goto(&format!("http://{shop}/")).await;
            assert!(
                !page.is_displayed("#outside").await,
                "no 'open in WeChat' note inside WeChat"
            );

            page.step("top-up");
            page.eval("document.getElementById('total_fee').value = '250'; return null;")
                .await;
            page.click("#pay").await;
            let params = pay_request(&page).await;
            let id = check_pay_params(&mock, &params);
            assert_eq!(mock.order(&id).unwrap().total_fee, 250);

            // The pay sheet said ok: the page waits for the server, which waits for WeChat Pay.
            page.step("waiting");
            let waiting = pay_status(&page, "waiting").await;
            assert!(waiting.contains(&id), "{waiting}");
            assert_eq!(order_state(shop, &id).await["state"], "unpaid");

            page.step("notify");
            let answer = mock
                .send_v2_notify(&format!("http://{shop}/pay/notify"), &id)
                .await
                .unwrap();
            assert!(answer.is_success(), "{answer:?}");
            let paid = pay_status(&page, "paid").await;
            let transaction_id = mock.order(&id).unwrap().transaction_id.unwrap();
            assert!(paid.contains(&format!("Order {id} is paid")), "{paid}");
            assert!(paid.contains(&transaction_id), "{paid}");
            assert!(paid.contains("fen credited"), "{paid}");
            let order = order_state(shop, &id).await;
            assert_eq!(order["state"], "paid");
            assert_eq!(order["transaction_id"], transaction_id.as_str());
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pay_page_cancelled_in_the_pay_sheet_shows_cancelled_and_stays_unpaid() {
    browser::run(
        "pay_page_cancelled_in_the_pay_sheet_shows_cancelled_and_stays_unpaid",
        |page| async move {
            let mock = MockPay::start().await.unwrap();
            let shop = start_shop(&mock).await;
            page.inject(&bridge_stub("get_brand_wcpay_request:cancel"))
                .await;
            page.step("open");
            page.goto(&format!("http://{shop}/")).await;

            page.step("product");
            page.click("#products li button").await;
            let params = pay_request(&page).await;
            let id = check_pay_params(&mock, &params);

            page.step("cancelled");
            let cancelled = pay_status(&page, "cancelled").await;
            assert!(cancelled.contains("cancelled"), "{cancelled}");
            assert!(cancelled.contains(&id), "{cancelled}");
            // The page does not wait for a payment that was cancelled, and nothing paid it.
            tokio::time::sleep(Duration::from_millis(1500)).await;
            assert_eq!(
                page.eval("return document.getElementById('status').dataset.state;")
                    .await,
                "cancelled"
            );
            assert_eq!(order_state(shop, &id).await["state"], "unpaid");
            assert!(mock.order(&id).unwrap().transaction_id.is_none());
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pay_page_in_v3_mode_gets_an_rsa_pay_sign_of_the_merchant_key() {
    browser::run(
        "pay_page_in_v3_mode_gets_an_rsa_pay_sign_of_the_merchant_key",
        |page| async move {
            let mock = MockPay::start().await.unwrap();
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let shop = listener.local_addr().unwrap();
            let settings = pay_demo::Settings::new(
                mock.app_id(),
                mock.mch_id(),
                "unused-in-v3-mode",
                &mock.base_url(),
                shop,
            )
            .with_v3(pay_demo::V3Settings {
                api_v3_key: mock.api_v3_key().to_owned(),
                private_key_pem: mock.merchant_private_key_pem().to_owned(),
                cert_serial: mock.merchant_serial().to_owned(),
                public_key: Some((
                    mock.public_key_id().to_owned(),
                    mock.public_key_pem().to_owned(),
                )),
            });
            serve(listener, pay_demo::app(&settings).await.unwrap());
            page.inject(&bridge_stub("get_brand_wcpay_request:ok"))
                .await;
            page.step("open");
            page.goto(&format!("http://{shop}/")).await;

            page.step("product");
            page.click("#products li button").await;
            let params = pay_request(&page).await;
            let field = |k: &str| {
                params[k]
                    .as_str()
                    .unwrap_or_else(|| panic!("{k}: {params}"))
            };
            assert_eq!(field("signType"), "RSA");
            assert_eq!(field("appId"), mock.app_id());
            let order = mock.orders().remove(0);
            assert_eq!(field("package"), format!("prepay_id={}", order.prepay_id));
            // RSA-SHA256 over appId\ntimeStamp\nnonceStr\npackage\n, checked with the merchant
            // certificate's public key.
            let message = format!(
                "{}\n{}\n{}\n{}\n",
                field("appId"),
                field("timeStamp"),
                field("nonceStr"),
                field("package")
            );
            let mut verifier = Verifier::new();
            let serial = verifier
                .add_certificate_pem(mock.merchant_certificate_pem())
                .unwrap();
            verifier
                .verify(&serial, message.as_bytes(), field("paySign"))
                .unwrap_or_else(|e| panic!("paySign does not verify: {e}: {params}"));

            page.step("notify");
            let id = order.out_trade_no;
            let answer = mock
                .send_v3_notify(&format!("http://{shop}/pay/notify"), &id)
                .await
                .unwrap();
            assert!(answer.is_success(), "{answer:?}");
            let paid = pay_status(&page, "paid").await;
            assert!(paid.contains(&format!("Order {id} is paid")), "{paid}");
            assert_eq!(order_state(shop, &id).await["state"], "paid");
        },
    )
    .await;
}

// ---------------------------------------------------------------------------------------------
// oauth-web
// ---------------------------------------------------------------------------------------------

/// The oauth-web app against `wechat`, on 127.0.0.1; returns its address and the client it
/// answers through (a clone: same ticket cache).
async fn start_oauth_web(wechat: &MockWechat) -> (SocketAddr, WechatClient) {
    let client = WechatClient::builder(wechat.app_id(), wechat.app_secret())
        .api_base(wechat.base_url())
        .open_base(wechat.base_url())
        .build()
        .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    serve(
        listener,
        oauth_web::app(client.clone(), &format!("http://{addr}")),
    );
    (addr, client)
}

/// The status `GET url` answers when the page's own browser fetches it (its cookies sent).
async fn fetch_status(page: &Page, url: &str) -> u64 {
    let script = format!(
        "const done = arguments[arguments.length - 1];
         fetch({}, {{ credentials: 'same-origin' }}).then(r => done(r.status), e => done(String(e)));",
        Value::from(url)
    );
    let status = page.eval_async(&script).await;
    status
        .as_u64()
        .unwrap_or_else(|| panic!("fetch {url}: {status}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oauth_login_greets_the_user_and_a_tampered_state_is_refused() {
    browser::run(
        "oauth_login_greets_the_user_and_a_tampered_state_is_refused",
        |page| async move {
            let wechat = MockWechat::start().await.unwrap();
            wechat.set_authorize_user("oBrowserUser");
            let (app, _client) = start_oauth_web(&wechat).await;

            page.step("home");
            page.goto(&format!("http://{app}/")).await;
            page.step("login");
            page.click("a[href='/login']").await;
            page.wait_until(
                "the greeting",
                "return document.title === 'Logged in';",
                WAIT,
            )
            .await;
            let hello = page.text("#hello").await;
            assert_eq!(hello, "Hello, Mock oBrowserUser.");

            // The browser went through the mock's authorize page, and came back with its state.
            let authorize = wechat.last_request("/connect/oauth2/authorize").unwrap();
            assert_eq!(
                authorize.query("redirect_uri"),
                Some(format!("http://{app}/callback").as_str())
            );
            let state = authorize.query("state").unwrap().to_owned();
            assert!(state.len() >= 16, "a long random state: {state}");
            let landed = url::Url::parse(&page.url().await).unwrap();
            assert_eq!(landed.path(), "/callback");
            let query: Vec<(String, String)> = landed.query_pairs().into_owned().collect();
            assert!(
                query.contains(&("state".to_owned(), state.clone())),
                "{landed}"
            );
            assert_eq!(wechat.calls("/sns/oauth2/access_token"), 1);

            // An attacker's callback: a valid code of theirs, under a state that is not this
            // browser's (one character changed), or none.
            page.step("tampered");
            let code = wechat.issue_oauth_code("oAttacker");
            let mut tampered = state.clone();
            let last = if tampered.ends_with('0') { "1" } else { "0" };
            tampered.replace_range(tampered.len() - 1.., last);
            for url in [
                format!("http://{app}/callback?code={code}&state={tampered}"),
                format!("http://{app}/callback?code={code}&state="),
                format!("http://{app}/callback?code={code}"),
            ] {
                page.goto(&url).await;
                assert_eq!(
                    page.eval("return document.title;").await,
                    "Login refused",
                    "{url}"
                );
                let body = page.text("body").await;
                assert!(body.contains("does not match"), "{body}");
                assert!(!body.contains("oAttacker"), "{body}");
                assert_eq!(fetch_status(&page, &url).await, 400, "{url}");
            }
            assert_eq!(
                wechat.calls("/sns/oauth2/access_token"),
                1,
                "the attacker's code was never exchanged"
            );
        },
    )
    .await;
}

// ---------------------------------------------------------------------------------------------
// JS-SDK
// ---------------------------------------------------------------------------------------------

/// A stub of the JS-SDK's `wx`, planted before the page's scripts (the real `jweixin` script
/// is on `res.wx.qq.com`, which the browser cannot resolve): it records `wx.config`'s argument
/// in `window.__wxConfig` and calls `wx.ready`'s callback.
const WX_STUB: &str = "window.__wxConfig = null;
window.wx = {
  config: function (c) { window.__wxConfig = JSON.parse(JSON.stringify(c)); },
  ready: function (f) { setTimeout(f, 0); },
  error: function () {}
};";

/// Opens `path` (relative to `app`), waits for its `wx.config`, and checks its signature for
/// `signed_url` with the mock's ticket.
async fn check_jssdk(
    page: &Page,
    wechat: &MockWechat,
    client: &WechatClient,
    app: SocketAddr,
    path: &str,
    signed_url: &str,
) {
    page.goto(&format!("http://{app}{path}")).await;
    let config = page
        .wait_until("wx.config", "return window.__wxConfig;", WAIT)
        .await;
    assert_eq!(config["appId"], wechat.app_id(), "{config}");
    let timestamp = config["timestamp"].as_u64().unwrap();
    let nonce = config["nonceStr"].as_str().unwrap();
    assert!(nonce.len() >= 16, "{config}");
    // The mock issued one ticket; the client's is that one.
    assert_eq!(wechat.calls("/cgi-bin/ticket/getticket"), 1);
    let ticket = client.jssdk().ticket().await.unwrap();
    assert!(ticket.expose().starts_with("mock-jsapi-ticket-"));
    assert_eq!(
        config["signature"].as_str().unwrap(),
        jssdk::sign(ticket.expose(), nonce, timestamp, signed_url),
        "wx.config is signed for {signed_url}: {config}"
    );
    page.wait_until(
        "the page to see wx.ready",
        "return document.getElementById('status').textContent === 'wx.config accepted';",
        WAIT,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jssdk_page_signs_its_exact_url_query_kept_fragment_dropped() {
    browser::run(
        "jssdk_page_signs_its_exact_url_query_kept_fragment_dropped",
        |page| async move {
            let wechat = MockWechat::start().await.unwrap();
            let (app, client) = start_oauth_web(&wechat).await;
            page.inject(WX_STUB).await;

            page.step("query-and-fragment");
            check_jssdk(
                &page,
                &wechat,
                &client,
                app,
                "/jssdk?from=timeline&x=1#section",
                &format!("http://{app}/jssdk?from=timeline&x=1"),
            )
            .await;

            page.step("no-query");
            check_jssdk(
                &page,
                &wechat,
                &client,
                app,
                "/jssdk",
                &format!("http://{app}/jssdk"),
            )
            .await;
        },
    )
    .await;
}
