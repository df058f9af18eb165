//! WeChat Pay APIv3 end to end over loopback: `PayV3Client` against a real `MockPay` that checks
//! every request's `Authorization` with the merchant's certificate and signs every answer.
//!
//! Every call succeeds and fails with its typed error, in public-key mode (微信支付公钥) and in
//! certificate mode (平台证书, downloaded); the platform certificate rotates in the middle of a
//! run and calls and notifications keep verifying; a forged or stale answer is an error, never
//! data; a bad merchant signature surfaces as `SIGN_ERROR`; a refund notified twice and five
//! times at once is handled once; a bill is hash-checked and a corrupted one refused; a
//! transfer's user name is decrypted by the mock, which proves the encryption.

#![allow(
    clippy::unwrap_used,
    reason = "test helpers: a failure is a test failure"
)]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use wechat_tower::core::pay::PayErrorKind;
use wechat_tower::core::pay::v3::{
    ApiErrorCode, FundAccountType, Order, RefundRequest, SigningKey, TradeBillType,
    TransferRequest, Verifier, pay_sign_message, rfc3339_utc8,
};
use wechat_tower::pay::v3::{PayV3Client, PayV3Error, V3Merchant};
use wechat_tower::pay::{PayConfig, PayNotify, Refunded};
use wechat_tower::test_util::mock_pay::{MockPay, SigningMode};
use wechat_tower::{State, wechat_handler};

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

const NOTIFY_URL: &str = "http://127.0.0.1:9/pay/notify";

fn merchant(mock: &MockPay) -> V3Merchant {
    V3Merchant::new(
        mock.app_id(),
        mock.mch_id(),
        mock.merchant_serial(),
        SigningKey::from_pkcs8_pem(mock.merchant_private_key_pem()).unwrap(),
        mock.api_v3_key(),
    )
}

/// A mock in public-key mode and a client that knows the key.
async fn public_key_mode() -> (MockPay, PayV3Client) {
    let mock = MockPay::start().await.unwrap();
    let client = PayV3Client::builder(merchant(&mock))
        .api_base(mock.base_url())
        .wechatpay_public_key(mock.public_key_id(), mock.public_key_pem())
        .unwrap()
        .notify_url(NOTIFY_URL)
        .build()
        .unwrap();
    (mock, client)
}

/// A mock in certificate mode and a client that downloads the platform certificates.
async fn certificate_mode() -> (MockPay, PayV3Client) {
    let mock = MockPay::builder()
        .signing_mode(SigningMode::PlatformCertificate)
        .start()
        .await
        .unwrap();
    let client = PayV3Client::builder(merchant(&mock))
        .api_base(mock.base_url())
        .notify_url(NOTIFY_URL)
        .build()
        .unwrap();
    (mock, client)
}

fn noodles(no: &str) -> Order {
    Order::new("Noodles 牛肉面", no, 1200).openid("oBuyer")
}

fn code(err: &PayV3Error) -> ApiErrorCode {
    err.code()
        .cloned()
        .unwrap_or_else(|| panic!("not an API error: {err:?}"))
}

fn today() -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    rfc3339_utc8(now)[..10].to_owned()
}

/// The `serial_no` of every request the mock received on `path`.
fn request_serials(mock: &MockPay, path: &str) -> Vec<String> {
    mock.raw_requests(path)
        .iter()
        .map(|r| {
            let auth = r.headers["authorization"].to_str().unwrap();
            auth.split("serial_no=\"").nth(1).unwrap()[..30].to_owned()
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Orders, pay parameters
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn orders_prepay_query_and_close_in_public_key_mode() {
    let (mock, client) = public_key_mode().await;

    let prepay = client.jsapi(noodles("v3-order-1")).await.unwrap();
    assert!(prepay.prepay_id.starts_with("wx"), "{prepay:?}");
    let app = client
        .app(Order::new("Noodles", "v3-order-2", 800))
        .await
        .unwrap();
    let code_url = client
        .native(Order::new("Noodles", "v3-order-3", 800))
        .await
        .unwrap();
    assert!(
        code_url.starts_with("weixin://wxpay/bizpayurl?pr="),
        "{code_url}"
    );
    let h5_url = client
        .h5(Order::new("Noodles", "v3-order-4", 800).h5_scene("127.0.0.1", "Wap"))
        .await
        .unwrap();
    assert!(h5_url.starts_with("https://"), "{h5_url}");
    let kinds: Vec<String> = mock.orders().into_iter().map(|o| o.trade_type).collect();
    assert_eq!(kinds, ["JSAPI", "APP", "NATIVE", "MWEB"]);
    // The mock saw what the client signed: the merchant's serial on every request.
    assert_eq!(
        request_serials(&mock, "/v3/pay/transactions/jsapi"),
        [mock.merchant_serial()]
    );

    let unpaid = client.query_by_out_trade_no("v3-order-1").await.unwrap();
    assert_eq!(unpaid.trade_state, "NOTPAY");
    let transaction_id = mock.pay("v3-order-1").unwrap();
    let paid = client
        .query_by_transaction_id(&transaction_id)
        .await
        .unwrap();
    assert_eq!(paid.trade_state, "SUCCESS");
    assert_eq!(paid.out_trade_no, "v3-order-1");
    assert_eq!(paid.amount.total, 1200);
    assert_eq!(paid.amount.payer_total, Some(1200));
    assert_eq!(paid.payer.unwrap().openid, "oBuyer");
    assert!(
        paid.success_time.ends_with("+08:00"),
        "{}",
        paid.success_time
    );

    client.close("v3-order-2").await.unwrap();
    assert_eq!(
        client
            .query_by_out_trade_no("v3-order-2")
            .await
            .unwrap()
            .trade_state,
        "CLOSED"
    );
    assert_eq!(
        mock.raw_requests("/v3/pay/transactions/out-trade-no/v3-order-2/close")
            .len(),
        1
    );
    let _ = app;

    // A number the path must percent-encode: the signature covers the target as sent.
    client.jsapi(noodles("v3|order*8")).await.unwrap();
    let encoded = client.query_by_out_trade_no("v3|order*8").await.unwrap();
    assert_eq!(encoded.out_trade_no, "v3|order*8");
    client.close("v3|order*8").await.unwrap();

    // Each call's typed error.
    let paid_again = client.jsapi(noodles("v3-order-1")).await.unwrap_err();
    assert_eq!(code(&paid_again), ApiErrorCode::OrderPaid);
    let reused = client
        .jsapi(Order::new("Rice", "v3-order-5", 1).openid("oBuyer"))
        .await
        .unwrap();
    let _ = reused;
    let other = client
        .jsapi(Order::new("Rice", "v3-order-5", 2).openid("oBuyer"))
        .await
        .unwrap_err();
    assert_eq!(code(&other), ApiErrorCode::OutTradeNoUsed);
    let closed = client
        .app(Order::new("Noodles", "v3-order-2", 800))
        .await
        .unwrap_err();
    assert_eq!(code(&closed), ApiErrorCode::OrderClosed);
    mock.fail_next_v3("/v3/pay/transactions/native", 429, "FREQUENCY_LIMITED");
    let limited = client
        .native(Order::new("Noodles", "v3-order-6", 800))
        .await
        .unwrap_err();
    assert_eq!(code(&limited), ApiErrorCode::FrequencyLimited);
    assert!(limited.is_retryable());
    mock.fail_next_v3("/v3/pay/transactions/h5", 500, "SYSTEM_ERROR");
    let down = client
        .h5(Order::new("Noodles", "v3-order-7", 800).h5_scene("127.0.0.1", "Wap"))
        .await
        .unwrap_err();
    assert_eq!(code(&down), ApiErrorCode::SystemError);
    let missing = client
        .query_by_out_trade_no("v3-nothing")
        .await
        .unwrap_err();
    assert_eq!(code(&missing), ApiErrorCode::OrderNotExistUnderscore);
    let missing = client
        .query_by_transaction_id("4200000000")
        .await
        .unwrap_err();
    assert_eq!(missing.api().unwrap().status, 404);
    let paid_close = client.close("v3-order-1").await.unwrap_err();
    assert_eq!(code(&paid_close), ApiErrorCode::OrderPaid);
    let unknown_close = client.close("v3-nothing").await.unwrap_err();
    assert_eq!(code(&unknown_close), ApiErrorCode::OrderNotExistUnderscore);
    // The error answers were signed and verified like any other.
    assert!(paid_close.api().unwrap().verified);
}

#[tokio::test]
async fn pay_parameters_are_signed_with_the_merchant_key() {
    let (mock, client) = public_key_mode().await;
    let prepay = client.jsapi(noodles("v3-params-1")).await.unwrap();
    let params = client.jsapi_params(&prepay.prepay_id).unwrap();
    let mut merchant = Verifier::new();
    let serial = merchant
        .add_certificate_pem(mock.merchant_certificate_pem())
        .unwrap();
    assert_eq!(serial, mock.merchant_serial());
    let message = pay_sign_message(
        mock.app_id(),
        &params.time_stamp,
        &params.nonce_str,
        &format!("prepay_id={}", prepay.prepay_id),
    );
    assert_eq!(params.package, format!("prepay_id={}", prepay.prepay_id));
    assert_eq!(params.sign_type, "RSA");
    merchant
        .verify(&serial, message.as_bytes(), &params.pay_sign)
        .unwrap();
    // Signed for this prepay id only.
    let spliced = message.replace(&prepay.prepay_id, "wx000");
    assert!(
        merchant
            .verify(&serial, spliced.as_bytes(), &params.pay_sign)
            .is_err()
    );

    let app = client.app_params(&prepay.prepay_id).unwrap();
    let message = format!(
        "{}\n{}\n{}\n{}\n",
        mock.app_id(),
        app.timestamp,
        app.noncestr,
        prepay.prepay_id
    );
    merchant
        .verify(&serial, message.as_bytes(), &app.sign)
        .unwrap();
}

// ---------------------------------------------------------------------------------------------
// Signatures: the mock's check, forged and stale answers
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_bad_merchant_signature_is_sign_error_and_nothing_happens() {
    let mock = MockPay::start().await.unwrap();
    // Signed with a key that is not the certificate's.
    let stranger = V3Merchant::new(
        mock.app_id(),
        mock.mch_id(),
        mock.merchant_serial(),
        SigningKey::from_pkcs8_pem(include_str!(
            "../../wechat-tower/src/test_util/keys/stranger_key.pem"
        ))
        .unwrap(),
        mock.api_v3_key(),
    );
    // The right key under another serial.
    let wrong_serial = V3Merchant::new(
        mock.app_id(),
        mock.mch_id(),
        "5157F09EFDC096DE15EBE81A47057A72",
        SigningKey::from_pkcs8_pem(mock.merchant_private_key_pem()).unwrap(),
        mock.api_v3_key(),
    );
    // Another merchant id.
    let other_mch = V3Merchant::new(
        mock.app_id(),
        "1900000110",
        mock.merchant_serial(),
        SigningKey::from_pkcs8_pem(mock.merchant_private_key_pem()).unwrap(),
        mock.api_v3_key(),
    );
    for merchant in [stranger, wrong_serial, other_mch] {
        let client = PayV3Client::builder(merchant)
            .api_base(mock.base_url())
            .wechatpay_public_key(mock.public_key_id(), mock.public_key_pem())
            .unwrap()
            .notify_url(NOTIFY_URL)
            .build()
            .unwrap();
        let err = client.jsapi(noodles("v3-sign-1")).await.unwrap_err();
        assert_eq!(code(&err), ApiErrorCode::SignError, "{err:?}");
        assert_eq!(err.api().unwrap().status, 401);
        assert!(err.api().unwrap().verified, "the 401 was signed too");
    }
    assert!(mock.orders().is_empty(), "no order was created");
    assert_eq!(mock.calls("/v3/pay/transactions/jsapi"), 3);
}

#[tokio::test]
async fn a_forged_answer_is_an_error_never_data() {
    let (mock, client) = public_key_mode().await;
    mock.create_order("v3-forged-1", 1200, "oBuyer");
    let transaction_id = mock.pay("v3-forged-1").unwrap();

    mock.forge_next_v3_responses(1);
    let err = client
        .query_by_out_trade_no("v3-forged-1")
        .await
        .unwrap_err();
    assert_eq!(
        err.pay().map(|e| e.kind().clone()),
        Some(PayErrorKind::InvalidSignature),
        "{err:?}"
    );
    // A forged prepay answer: no prepay id comes out.
    mock.forge_next_v3_responses(1);
    assert!(client.jsapi(noodles("v3-forged-2")).await.is_err());
    // A forged 204.
    mock.forge_next_v3_responses(1);
    assert!(client.close("v3-forged-2").await.is_err());
    // Then the answers verify again.
    let paid = client.query_by_out_trade_no("v3-forged-1").await.unwrap();
    assert_eq!(paid.transaction_id, transaction_id);
}

#[tokio::test]
async fn a_stale_answer_is_refused() {
    let (mock, client) = public_key_mode().await;
    mock.create_order("v3-stale-1", 1200, "oBuyer");
    mock.set_answer_clock_offset(-600);
    let err = client
        .query_by_out_trade_no("v3-stale-1")
        .await
        .unwrap_err();
    assert_eq!(
        err.pay().map(|e| e.kind().clone()),
        Some(PayErrorKind::StaleTimestamp),
        "{err:?}"
    );
    mock.set_answer_clock_offset(0);
    client.query_by_out_trade_no("v3-stale-1").await.unwrap();
}

// ---------------------------------------------------------------------------------------------
// Certificate mode and rotation
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn certificate_mode_downloads_and_verifies() {
    let (mock, client) = certificate_mode().await;
    let serials = client.refresh_certificates().await.unwrap();
    assert_eq!(serials, [mock.platform_certificate_serial()]);
    let prepay = client.jsapi(noodles("v3-cert-1")).await.unwrap();
    assert!(prepay.prepay_id.starts_with("wx"));
    assert_eq!(
        client
            .query_by_out_trade_no("v3-cert-1")
            .await
            .unwrap()
            .trade_state,
        "NOTPAY"
    );
    // A forged certificates answer is refused too.
    mock.forge_next_v3_responses(1);
    assert!(client.refresh_certificates().await.is_err());
    mock.fail_next_v3("/v3/certificates", 500, "SYSTEM_ERROR");
    let err = client.refresh_certificates().await.unwrap_err();
    assert_eq!(code(&err), ApiErrorCode::SystemError);
}

/// Counts v3 refunds handled (the `#[wechat_handler(pay = "refund")]` slot).
#[wechat_handler(pay = "refund")]
async fn count_refund(refund: Refunded, State(count): State<Arc<AtomicUsize>>) {
    assert!(matches!(refund, Refunded::V3(_)), "{refund:?}");
    count.fetch_add(1, Ordering::SeqCst);
}

#[tokio::test]
async fn rotation_in_the_middle_of_a_run() {
    let (mock, client) = certificate_mode().await;
    let handled = Arc::new(AtomicUsize::new(0));
    let config = PayConfig::new(mock.app_id(), mock.mch_id(), mock.key())
        .api_v3_key(mock.api_v3_key())
        .v3_certificates(client.certificates());
    let notify = PayNotify::builder(config)
        .handler(count_refund)
        .with_state(Arc::clone(&handled))
        .build()
        .unwrap();
    let url = format!("http://{}/wechat", wechat_e2e::spawn_axum(notify).await);

    client.jsapi(noodles("v3-rotate-1")).await.unwrap();
    mock.pay("v3-rotate-1").unwrap();
    let a = mock.platform_certificate_serial().to_owned();

    mock.rotate_platform_certificate();
    let b = mock.platform_certificate_serial().to_owned();
    assert_ne!(a, b);
    // The answer is signed by B, which the client has not seen: it fetches the list and goes on.
    let paid = client.query_by_out_trade_no("v3-rotate-1").await.unwrap();
    assert_eq!(paid.trade_state, "SUCCESS");
    let mut known = client.certificates().serials();
    known.sort();
    let mut both = vec![a.clone(), b.clone()];
    both.sort();
    assert_eq!(known, both);

    // A notification signed by B reaches the notify service that shares the handle.
    let refund = client
        .refund(RefundRequest::by_out_trade_no(
            "v3-rotate-1",
            "v3-rotate-r1",
            200,
            1200,
        ))
        .await
        .unwrap();
    let answer = mock
        .send_v3_refund_notify(&url, "v3-rotate-1", &refund.out_refund_no, 200)
        .await
        .unwrap();
    assert!(answer.is_success(), "{answer:?}");
    assert_eq!(handled.load(Ordering::SeqCst), 1);

    // A retired: the list has B only, and calls keep verifying.
    mock.retire_old_certificate();
    assert_eq!(client.refresh_certificates().await.unwrap(), [b]);
    assert_eq!(
        client.query_refund("v3-rotate-r1").await.unwrap().status,
        "SUCCESS"
    );
}

// ---------------------------------------------------------------------------------------------
// Refunds
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn refunds_create_query_and_typed_errors() {
    let (mock, client) = public_key_mode().await;
    client.jsapi(noodles("v3-refund-1")).await.unwrap();
    let unpaid = client
        .refund(RefundRequest::by_out_trade_no(
            "v3-refund-1",
            "v3-r-0",
            100,
            1200,
        ))
        .await
        .unwrap_err();
    assert_eq!(code(&unpaid), ApiErrorCode::InvalidRequest);
    let transaction_id = mock.pay("v3-refund-1").unwrap();

    let refund = client
        .refund(
            RefundRequest::by_transaction_id(&transaction_id, "v3-r-1", 700, 1200)
                .reason("sold out"),
        )
        .await
        .unwrap();
    assert_eq!(refund.status, "PROCESSING");
    assert_eq!(refund.out_trade_no, "v3-refund-1");
    assert_eq!(refund.amount.refund, 700);
    let kept = mock.refund("v3-r-1").unwrap();
    assert_eq!(kept.reason.as_deref(), Some("sold out"));
    assert_eq!(kept.notify_url.as_deref(), Some(NOTIFY_URL));

    let more_than_left = client
        .refund(RefundRequest::by_out_trade_no(
            "v3-refund-1",
            "v3-r-2",
            501,
            1200,
        ))
        .await
        .unwrap_err();
    assert_eq!(code(&more_than_left), ApiErrorCode::InvalidRequest);
    let unknown = client
        .refund(RefundRequest::by_out_trade_no(
            "v3-nothing",
            "v3-r-3",
            1,
            1200,
        ))
        .await
        .unwrap_err();
    assert_eq!(code(&unknown), ApiErrorCode::ResourceNotExists);
    mock.fail_next_v3("/v3/refund/domestic/refunds", 403, "NOT_ENOUGH");
    let short = client
        .refund(RefundRequest::by_out_trade_no(
            "v3-refund-1",
            "v3-r-4",
            100,
            1200,
        ))
        .await
        .unwrap_err();
    assert_eq!(code(&short), ApiErrorCode::NotEnough);

    assert!(mock.complete_refund("v3-r-1"));
    let queried = client.query_refund("v3-r-1").await.unwrap();
    assert_eq!(queried.refund_id, refund.refund_id);
    assert_eq!(queried.status, "SUCCESS");
    assert!(queried.success_time.is_some());
    let missing = client.query_refund("v3-r-9").await.unwrap_err();
    assert_eq!(code(&missing), ApiErrorCode::ResourceNotExists);
    assert_eq!(
        client
            .query_by_out_trade_no("v3-refund-1")
            .await
            .unwrap()
            .trade_state,
        "REFUND"
    );
}

#[tokio::test]
async fn a_refund_notified_twice_and_five_times_at_once_is_handled_once() {
    let (mock, client) = public_key_mode().await;
    let handled = Arc::new(AtomicUsize::new(0));
    let config = PayConfig::new(mock.app_id(), mock.mch_id(), mock.key())
        .api_v3_key(mock.api_v3_key())
        .v3_certificates(client.certificates());
    let notify = PayNotify::builder(config)
        .handler(count_refund)
        .with_state(Arc::clone(&handled))
        .build()
        .unwrap();
    let url = format!("http://{}/wechat", wechat_e2e::spawn_axum(notify).await);

    client.jsapi(noodles("v3-dup-1")).await.unwrap();
    mock.pay("v3-dup-1").unwrap();
    client
        .refund(RefundRequest::by_out_trade_no(
            "v3-dup-1",
            "v3-dup-r1",
            1200,
            1200,
        ))
        .await
        .unwrap();
    let notification = mock
        .v3_refund_notify("v3-dup-1", "v3-dup-r1", 1200, now())
        .unwrap();
    for _ in 0..2 {
        let answer = mock.send_v3(&url, &notification).await.unwrap();
        assert!(answer.is_success(), "{answer:?}");
    }
    let concurrent: Vec<_> = (0..5)
        .map(|_| {
            let url = url.clone();
            let mock = &mock;
            let notification = notification.clone();
            async move { mock.send_v3(&url, &notification).await.unwrap() }
        })
        .collect();
    for answer in futures_join_all(concurrent).await {
        assert!(answer.is_success(), "{answer:?}");
    }
    assert_eq!(handled.load(Ordering::SeqCst), 1);
    assert_eq!(mock.refund("v3-dup-r1").unwrap().status, "SUCCESS");
    // A forged copy (body changed under the same signature) is refused, not counted.
    let mut forged = notification.clone();
    forged.body = forged.body.replacen("\"id\":\"", "\"id\":\"X", 1);
    let answer = mock.send_v3(&url, &forged).await.unwrap();
    assert!(!answer.is_success(), "{answer:?}");
    assert_eq!(handled.load(Ordering::SeqCst), 1);
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// Runs futures concurrently on the current task and returns their outputs in order.
async fn futures_join_all<F: std::future::Future>(futures: Vec<F>) -> Vec<F::Output> {
    let mut futures: Vec<_> = futures.into_iter().map(Box::pin).collect();
    let mut outputs: Vec<Option<F::Output>> = futures.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (future, output) in futures.iter_mut().zip(outputs.iter_mut()) {
            if output.is_none() {
                match future.as_mut().poll(cx) {
                    std::task::Poll::Ready(value) => *output = Some(value),
                    std::task::Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            std::task::Poll::Pending
        } else {
            std::task::Poll::Ready(())
        }
    })
    .await;
    outputs.into_iter().map(Option::unwrap).collect()
}

// ---------------------------------------------------------------------------------------------
// Bills
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn bills_download_hash_checked_and_a_corrupted_one_refused() {
    let (mock, client) = public_key_mode().await;
    client.jsapi(noodles("v3-bill-1")).await.unwrap();
    mock.pay("v3-bill-1").unwrap();
    client
        .refund(RefundRequest::by_out_trade_no(
            "v3-bill-1",
            "v3-bill-r1",
            200,
            1200,
        ))
        .await
        .unwrap();
    let date = today();

    let bill = client.trade_bill(&date, TradeBillType::All).await.unwrap();
    assert_eq!(bill.hash_type, "SHA1");
    let mut file = Vec::new();
    let written = client.download_bill(&bill, &mut file).await.unwrap();
    assert_eq!(written, file.len() as u64);
    let text = String::from_utf8(file).unwrap();
    assert!(text.contains("`v3-bill-1"), "{text}");
    assert!(text.contains("`v3-bill-r1"), "{text}");
    assert!(text.contains("`12.00"), "amounts in yuan: {text}");

    let flow = client
        .fund_flow_bill(&date, FundAccountType::Basic)
        .await
        .unwrap();
    let mut file = Vec::new();
    client.download_bill(&flow, &mut file).await.unwrap();
    assert!(String::from_utf8(file).unwrap().contains("`收入"));

    mock.corrupt_next_bill();
    let corrupted = client
        .trade_bill(&date, TradeBillType::Success)
        .await
        .unwrap();
    let mut file = Vec::new();
    let err = client
        .download_bill(&corrupted, &mut file)
        .await
        .unwrap_err();
    assert_eq!(
        err.pay().map(|e| e.kind().clone()),
        Some(PayErrorKind::HashMismatch),
        "{err:?}"
    );
    assert!(
        file.is_empty(),
        "nothing written from a bill that does not match"
    );
    // The download request was signed like any other.
    let downloads = mock.raw_requests("/v3/billdownload/file");
    assert_eq!(downloads.len(), 3);
    assert!(
        downloads
            .iter()
            .all(|r| r.headers.contains_key("authorization"))
    );

    mock.fail_next_v3("/v3/bill/fundflowbill", 400, "NO_STATEMENT_EXIST");
    let none = client
        .fund_flow_bill(&date, FundAccountType::Basic)
        .await
        .unwrap_err();
    assert_eq!(code(&none), ApiErrorCode::NoStatementExist);
    mock.fail_next_v3("/v3/bill/tradebill", 400, "NO_STATEMENT_EXIST");
    let none = client
        .trade_bill(&date, TradeBillType::All)
        .await
        .unwrap_err();
    assert_eq!(code(&none), ApiErrorCode::NoStatementExist);
}

// ---------------------------------------------------------------------------------------------
// Transfers
// ---------------------------------------------------------------------------------------------

fn transfer(no: &str, amount: u64) -> TransferRequest {
    TransferRequest::new(no, "1000", "oBuyer", amount, "新会员有礼")
        .report("活动名称", "新会员有礼")
}

#[tokio::test]
async fn a_transfer_carries_the_user_name_encrypted_in_public_key_mode() {
    let (mock, client) = public_key_mode().await;
    let bill = client
        .transfer(transfer("v3transfer1", 300_000).user_name("张三"))
        .await
        .unwrap();
    assert_eq!(bill.state, "WAIT_USER_CONFIRM");
    assert!(bill.package_info.is_some());
    let kept = mock.transfer("v3transfer1").unwrap();
    assert_eq!(
        kept.user_name.as_deref(),
        Some("张三"),
        "the mock decrypted it"
    );
    assert_eq!(kept.serial.as_deref(), Some(mock.public_key_id()));
    let body =
        String::from_utf8(mock.requests("/v3/fund-app/mch-transfer/transfer-bills")[0].to_vec())
            .unwrap();
    assert!(!body.contains("张三"), "never in plaintext: {body}");

    let queried = client.query_transfer("v3transfer1").await.unwrap();
    assert_eq!(queried.transfer_bill_no, bill.transfer_bill_no);
    assert_eq!(queried.transfer_amount, Some(300_000));
    let missing = client.query_transfer("v3transfer9").await.unwrap_err();
    assert_eq!(code(&missing), ApiErrorCode::NotFound);
    mock.fail_next_v3(
        "/v3/fund-app/mch-transfer/transfer-bills",
        403,
        "NOT_ENOUGH",
    );
    let short = client
        .transfer(transfer("v3transfer2", 100))
        .await
        .unwrap_err();
    assert_eq!(code(&short), ApiErrorCode::NotEnough);
    assert_eq!(mock.transfers().len(), 1);
}

#[tokio::test]
async fn a_transfer_after_rotation_is_encrypted_for_the_new_certificate() {
    let (mock, client) = certificate_mode().await;
    client.refresh_certificates().await.unwrap();
    client
        .transfer(transfer("v3transfer3", 300_000).user_name("李四"))
        .await
        .unwrap();
    let before = mock.transfer("v3transfer3").unwrap();
    assert_eq!(before.user_name.as_deref(), Some("李四"));
    assert_eq!(
        before.serial.as_deref(),
        Some(mock.platform_certificate_serial())
    );

    mock.rotate_platform_certificate();
    client.refresh_certificates().await.unwrap();
    client
        .transfer(transfer("v3transfer4", 300_000).user_name("王五"))
        .await
        .unwrap();
    let after = mock.transfer("v3transfer4").unwrap();
    assert_eq!(after.user_name.as_deref(), Some("王五"));
    assert_eq!(
        after.serial.as_deref(),
        Some(mock.platform_certificate_serial())
    );
    assert_ne!(before.serial, after.serial);
}

/// Counts transfers handled (the `#[wechat_handler(pay = "transfer")]` slot, 商家转账回调).
#[wechat_handler(pay = "transfer")]
async fn count_transfer(
    bill: wechat_tower::core::pay::v3::TransferBill,
    State(count): State<Arc<AtomicUsize>>,
) {
    assert_eq!(bill.out_bill_no, "v3transfern1");
    assert_eq!(bill.state, "SUCCESS");
    count.fetch_add(1, Ordering::SeqCst);
}

#[tokio::test]
async fn a_transfer_notification_is_handled_once_and_only_for_its_merchant() {
    let (mock, client) = public_key_mode().await;
    let handled = Arc::new(AtomicUsize::new(0));
    let config = |mch_id: &str| {
        PayConfig::new(mock.app_id(), mch_id, mock.key())
            .api_v3_key(mock.api_v3_key())
            .v3_certificates(client.certificates())
    };
    let notify = PayNotify::builder(config(mock.mch_id()))
        .handler(count_transfer)
        .with_state(Arc::clone(&handled))
        .build()
        .unwrap();
    let url = format!("http://{}/wechat", wechat_e2e::spawn_axum(notify).await);

    client
        .transfer(transfer("v3transfern1", 500))
        .await
        .unwrap();
    let notification = mock.transfer_notify("v3transfern1", now()).unwrap();
    for _ in 0..2 {
        let answer = mock.send_v3(&url, &notification).await.unwrap();
        assert!(answer.is_success(), "{answer:?}");
    }
    let concurrent: Vec<_> = (0..5)
        .map(|_| {
            let url = url.clone();
            let mock = &mock;
            let notification = notification.clone();
            async move { mock.send_v3(&url, &notification).await.unwrap() }
        })
        .collect();
    for answer in futures_join_all(concurrent).await {
        assert!(answer.is_success(), "{answer:?}");
    }
    assert_eq!(handled.load(Ordering::SeqCst), 1);
    // A forged copy (body changed under the same signature) is refused, not counted.
    let mut forged = notification.clone();
    forged.body = forged.body.replacen("\"id\":\"", "\"id\":\"X", 1);
    let answer = mock.send_v3(&url, &forged).await.unwrap();
    assert_eq!(answer.status, 401, "{answer:?}");
    assert_eq!(handled.load(Ordering::SeqCst), 1);

    // Another merchant's service refuses it (403), and a plain fn taking the bill mounts.
    let other_count = Arc::new(AtomicUsize::new(0));
    let counted = Arc::clone(&other_count);
    let plain = move |_: wechat_tower::core::pay::v3::TransferBill| {
        let counted = Arc::clone(&counted);
        async move {
            counted.fetch_add(1, Ordering::SeqCst);
        }
    };
    let other = PayNotify::builder(config("1234567890"))
        .handler(plain.clone())
        .build()
        .unwrap();
    let other_url = format!("http://{}/wechat", wechat_e2e::spawn_axum(other).await);
    let answer = mock.send_v3(&other_url, &notification).await.unwrap();
    assert_eq!(answer.status, 403, "{answer:?}");
    assert_eq!(other_count.load(Ordering::SeqCst), 0);
    let ours = PayNotify::builder(config(mock.mch_id()))
        .handler(plain)
        .build()
        .unwrap();
    let ours_url = format!("http://{}/wechat", wechat_e2e::spawn_axum(ours).await);
    let answer = mock.send_v3(&ours_url, &notification).await.unwrap();
    assert!(answer.is_success(), "{answer:?}");
    assert_eq!(other_count.load(Ordering::SeqCst), 1);
}
