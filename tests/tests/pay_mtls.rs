//! v2 refunds over mutual TLS, end to end on loopback (issue 12): a real `MockPay` behind a
//! `TlsFront` that requires a client certificate signed by the test CA, and `PayClient` with
//! an `HttpTransport` presenting the merchant certificate (商户API证书).
//!
//! With the merchant certificate (PEM or `.p12`) the refund is made and the front saw that
//! certificate; without one, or with a stranger's, the handshake fails, the client gets a
//! transport error and the mock records no refund. Refund query reads the numbered fields;
//! WeChat's refusals come back typed (`NOTENOUGH`, `INVALID_REQUEST`, `REFUNDNOTEXIST`,
//! `return_code` FAIL); a forged answer (bad sign) and a genuine-looking answer about another
//! refund are refused.

#![allow(
    clippy::unwrap_used,
    reason = "test helpers: a failure is a test failure"
)]

use std::convert::Infallible;
use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use wechat_tower::client::{HttpTransport, HttpTransportBuilder, Transport};
use wechat_tower::core::pay::refund::{Refund, RefundQueryId};
use wechat_tower::core::pay::{ErrCode, OrderId, PayErrorKind, PayMap, RefundStatus, SignType};
use wechat_tower::core::secret::PayKey;
use wechat_tower::pay::{PayClient, PayClientError, PayConfig};
use wechat_tower::test_util::mock_pay::MockPay;
use wechat_tower::test_util::tls::{TlsFront, keys};

const REFUND: &str = "/secapi/pay/refund";

/// A transport that trusts the test CA (the front's server certificate) and presents nothing.
fn trusting() -> HttpTransportBuilder {
    HttpTransport::builder()
        .add_root_certificate_pem(keys::CA_CERT_PEM)
        .unwrap()
}

fn merchant_transport() -> HttpTransportBuilder {
    trusting()
        .client_certificate_pem(keys::MERCHANT_CERT_PEM, keys::MERCHANT_KEY_PEM)
        .unwrap()
}

fn client(mock: &MockPay, base: &str, transport: HttpTransportBuilder) -> PayClient {
    PayClient::builder(PayConfig::new(mock.app_id(), mock.mch_id(), mock.key()))
        .api_base(base)
        .transport(Transport::new(transport.build().unwrap()))
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap()
}

/// A mock with the paid order `no-1` (1200 fen), behind a mutual-TLS front.
async fn paid_order_behind_tls() -> (MockPay, TlsFront) {
    let mock = MockPay::start().await.unwrap();
    mock.create_order("no-1", 1200, "oUser");
    mock.pay("no-1").unwrap();
    let front = TlsFront::start(mock.addr()).await.unwrap();
    (mock, front)
}

fn refund(out_refund_no: &str, fee: u64) -> Refund {
    Refund::new(OrderId::OutTradeNo("no-1".into()), out_refund_no, 1200, fee)
}

/// The front counts a refused handshake when its side of it ends, which may be a moment after
/// the client gave up.
async fn wait_refused(front: &TlsFront, n: usize) {
    for _ in 0..200 {
        if front.refused() >= n {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("the front refused {} handshakes, not {n}", front.refused());
}

fn business_code(err: &PayClientError) -> &ErrCode {
    &err.pay()
        .and_then(|e| e.business())
        .unwrap_or_else(|| panic!("not a business error: {err:?}"))
        .code
}

#[tokio::test]
async fn a_refund_with_the_merchant_certificate_is_made() {
    let (mock, front) = paid_order_behind_tls().await;
    let client = client(&mock, &front.base_url(), merchant_transport());

    let accepted = client
        .refund(refund("r-1", 200).refund_desc("one noodle short"))
        .await
        .unwrap();
    assert_eq!(accepted.out_refund_no, "r-1");
    assert_eq!(accepted.out_trade_no, "no-1");
    assert_eq!((accepted.refund_fee, accepted.total_fee), (200, 1200));
    assert!(!accepted.refund_id.is_empty());

    let made = mock.refund("r-1").unwrap();
    assert_eq!(made.refund_id, accepted.refund_id);
    assert_eq!(made.refund_fee, 200);
    assert_eq!(made.reason.as_deref(), Some("one noodle short"));
    assert_eq!(made.api, "v2");

    let seen = front.client_certificates();
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert_eq!(seen[0].serial, keys::MERCHANT_CERT_SERIAL);
    assert!(
        seen[0].subject.contains("CN=1900000109"),
        "{}",
        seen[0].subject
    );
    assert_eq!(front.refused(), 0);
}

#[tokio::test]
async fn asking_again_with_the_same_out_refund_no_gives_the_same_refund() {
    let (mock, front) = paid_order_behind_tls().await;
    let client = client(&mock, &front.base_url(), merchant_transport());
    let first = client.refund(refund("r-1", 200)).await.unwrap();
    let again = client.refund(refund("r-1", 200)).await.unwrap();
    assert_eq!(first.refund_id, again.refund_id);
    assert_eq!(mock.refunds().len(), 1);
    // The same number with another amount is WeChat's REFUND_FEE_MISMATCH.
    let err = client.refund(refund("r-1", 300)).await.unwrap_err();
    assert_eq!(business_code(&err), &ErrCode::RefundFeeMismatch);
}

#[tokio::test]
async fn without_a_client_certificate_the_handshake_fails_and_nothing_is_refunded() {
    let (mock, front) = paid_order_behind_tls().await;
    let client = client(&mock, &front.base_url(), trusting());

    let err = client.refund(refund("r-1", 200)).await.unwrap_err();
    assert!(matches!(err, PayClientError::Transport(_)), "{err:?}");
    wait_refused(&front, 1).await;
    assert!(front.client_certificates().is_empty());
    assert_eq!(mock.calls(REFUND), 0);
    assert!(mock.refunds().is_empty());
}

#[tokio::test]
async fn a_certificate_from_another_ca_is_refused() {
    let (mock, front) = paid_order_behind_tls().await;
    let stranger = trusting()
        .client_certificate_pem(keys::STRANGER_CERT_PEM, keys::STRANGER_KEY_PEM)
        .unwrap();
    let client = client(&mock, &front.base_url(), stranger);

    let err = client.refund(refund("r-1", 200)).await.unwrap_err();
    assert!(matches!(err, PayClientError::Transport(_)), "{err:?}");
    wait_refused(&front, 1).await;
    assert!(front.client_certificates().is_empty());
    assert_eq!(mock.calls(REFUND), 0);
    assert!(mock.refunds().is_empty());
}

#[tokio::test]
async fn a_client_that_does_not_trust_the_server_sends_nothing() {
    let (mock, front) = paid_order_behind_tls().await;
    // The merchant certificate, but only the webpki roots: the mock's server certificate is
    // unknown, so the client ends the handshake itself.
    let transport = HttpTransport::builder()
        .client_certificate_pem(keys::MERCHANT_CERT_PEM, keys::MERCHANT_KEY_PEM)
        .unwrap();
    let client = client(&mock, &front.base_url(), transport);
    let err = client.refund(refund("r-1", 200)).await.unwrap_err();
    assert!(matches!(err, PayClientError::Transport(_)), "{err:?}");
    wait_refused(&front, 1).await;
    assert!(mock.refunds().is_empty());
}

#[tokio::test]
async fn mutual_tls_works_over_tls_1_2_too() {
    let mock = MockPay::start().await.unwrap();
    mock.create_order("no-1", 1200, "oUser");
    mock.pay("no-1").unwrap();
    let front = TlsFront::builder(mock.addr())
        .tls12_only()
        .start()
        .await
        .unwrap();

    // In TLS 1.2 the refusal comes inside the handshake.
    let err = client(&mock, &front.base_url(), trusting())
        .refund(refund("r-1", 200))
        .await
        .unwrap_err();
    assert!(matches!(err, PayClientError::Transport(_)), "{err:?}");
    wait_refused(&front, 1).await;
    assert_eq!(mock.calls(REFUND), 0);

    client(&mock, &front.base_url(), merchant_transport())
        .refund(refund("r-1", 200))
        .await
        .unwrap();
    assert_eq!(mock.refund("r-1").unwrap().refund_fee, 200);
    assert_eq!(
        front.client_certificates()[0].serial,
        keys::MERCHANT_CERT_SERIAL
    );
}

#[tokio::test]
async fn the_p12_works_as_the_pem_does() {
    let (mock, front) = paid_order_behind_tls().await;
    let transport = trusting()
        .client_certificate_p12(keys::MERCHANT_P12, keys::MERCHANT_P12_PASSWORD)
        .unwrap();
    let client = client(&mock, &front.base_url(), transport);
    client.refund(refund("r-1", 1200)).await.unwrap();
    assert_eq!(mock.refund("r-1").unwrap().refund_fee, 1200);
    assert_eq!(
        front.client_certificates()[0].serial,
        keys::MERCHANT_CERT_SERIAL
    );
}

#[tokio::test]
async fn refund_query_reads_the_numbered_refunds() {
    let (mock, front) = paid_order_behind_tls().await;
    let client = client(&mock, &front.base_url(), merchant_transport());
    let r1 = client.refund(refund("r-1", 200)).await.unwrap();
    let r2 = client.refund(refund("r-2", 300)).await.unwrap();
    assert!(mock.complete_refund("r-1"));

    // Refund query needs no certificate: straight to the plain mock.
    let plain = PayClient::builder(PayConfig::new(mock.app_id(), mock.mch_id(), mock.key()))
        .api_base(mock.base_url())
        .build()
        .unwrap();
    let all = plain
        .refund_query(&RefundQueryId::OutTradeNo("no-1".into()))
        .await
        .unwrap();
    assert_eq!(all.out_trade_no, "no-1");
    assert_eq!(all.total_fee, 1200);
    assert_eq!(all.refunds.len(), 2, "{all:?}");
    let first = all.refund("r-1").unwrap();
    assert_eq!(first.refund_id, r1.refund_id);
    assert_eq!(first.refund_fee, 200);
    assert_eq!(first.refund_status, RefundStatus::Success);
    assert!(first.refund_success_time.is_some());
    let second = all.refund("r-2").unwrap();
    assert_eq!(second.refund_id, r2.refund_id);
    assert_eq!(second.refund_status, RefundStatus::Processing);

    // One refund by its number, through the front as well.
    let one = client
        .refund_query(&RefundQueryId::OutRefundNo("r-2".into()))
        .await
        .unwrap();
    assert_eq!(one.refunds.len(), 1);
    assert_eq!(one.refunds[0].refund_fee, 300);
    let by_id = plain
        .refund_query(&RefundQueryId::RefundId(r1.refund_id.clone()))
        .await
        .unwrap();
    assert_eq!(by_id.refunds[0].out_refund_no, "r-1");

    let err = plain
        .refund_query(&RefundQueryId::OutRefundNo("r-404".into()))
        .await
        .unwrap_err();
    assert_eq!(business_code(&err), &ErrCode::RefundNotExist);
}

#[tokio::test]
async fn refusals_come_back_typed() {
    let (mock, front) = paid_order_behind_tls().await;
    let client = client(&mock, &front.base_url(), merchant_transport());

    // More back than the order was paid: refused before anything is sent.
    let err = client.refund(refund("r-1", 1201)).await.unwrap_err();
    assert!(
        matches!(
            err.pay().map(|e| e.kind()),
            Some(PayErrorKind::InvalidRequest(_))
        ),
        "{err:?}"
    );
    assert_eq!(mock.calls(REFUND), 0);

    // The merchant's balance is short: NOTENOUGH.
    mock.fail_next(REFUND, 1, "NOTENOUGH");
    let err = client.refund(refund("r-1", 200)).await.unwrap_err();
    assert_eq!(business_code(&err), &ErrCode::NotEnough);
    assert!(mock.refunds().is_empty());

    // A refund larger than what is left of the order: WeChat's INVALID_REQUEST.
    client.refund(refund("r-1", 1000)).await.unwrap();
    let err = client.refund(refund("r-2", 300)).await.unwrap_err();
    assert_eq!(business_code(&err), &ErrCode::InvalidRequest);
    assert!(mock.refund("r-2").is_none());

    // A total_fee that is not the order's: INVALID_REQUEST.
    let err = client
        .refund(Refund::new(
            OrderId::OutTradeNo("no-1".into()),
            "r-3",
            100,
            100,
        ))
        .await
        .unwrap_err();
    assert_eq!(business_code(&err), &ErrCode::InvalidRequest);

    // A request built by hand past the client's check (refund_fee above total_fee): WeChat
    // refuses it at the return_code level, unsigned, and that is an error too.
    let mut forced = refund("r-3", 100)
        .to_request(
            &wechat_tower::core::pay::Merchant::new(mock.app_id(), mock.mch_id(), mock.key()),
            "n0nce",
        )
        .unwrap();
    forced.insert("refund_fee", "1300");
    forced.sign(&PayKey::new(mock.key()), SignType::Md5);
    let err = client.call(REFUND, &forced).await.unwrap_err();
    assert_eq!(
        err.pay().map(|e| e.kind()),
        Some(&PayErrorKind::Return {
            message: "invalid refund_fee".into()
        })
    );
    assert!(mock.refund("r-3").is_none());

    // An order that does not exist.
    let err = client
        .refund(Refund::new(
            OrderId::OutTradeNo("no-404".into()),
            "r-4",
            100,
            100,
        ))
        .await
        .unwrap_err();
    assert_eq!(business_code(&err), &ErrCode::OrderNotExist);

    for code in ["USER_ACCOUNT_ABNORMAL", "FREQUENCY_LIMITED", "SYSTEMERROR"] {
        mock.fail_next(REFUND, 1, code);
        let err = client.refund(refund("r-5", 100)).await.unwrap_err();
        assert_eq!(business_code(&err).as_str(), code);
        assert!(!matches!(business_code(&err), ErrCode::Other(_)), "{code}");
    }
}

/// A plain HTTP server on loopback that answers every request with `body`.
async fn answering(body: String) -> (SocketAddr, tokio::task::JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let task = tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let body = body.clone();
            tokio::spawn(async move {
                let service = hyper::service::service_fn(move |_req| {
                    let body = body.clone();
                    async move { Ok::<_, Infallible>(http::Response::new(Full::new(Bytes::from(body)))) }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    (addr, task)
}

/// A refund answer as WeChat writes it for `out_refund_no`, signed with `key`.
fn refund_answer(key: &str, out_refund_no: &str) -> PayMap {
    let mut map = PayMap::new();
    for (k, v) in [
        ("return_code", "SUCCESS"),
        ("return_msg", "OK"),
        ("result_code", "SUCCESS"),
        ("appid", "wx1"),
        ("mch_id", "1900000109"),
        ("nonce_str", "n0nce"),
        ("transaction_id", "4200000001"),
        ("out_trade_no", "no-1"),
        ("out_refund_no", out_refund_no),
        ("refund_id", "50000000001"),
        ("refund_fee", "200"),
        ("total_fee", "1200"),
        ("cash_fee", "1200"),
    ] {
        map.insert(k, v);
    }
    map.sign(&PayKey::new(key), SignType::Md5);
    map
}

#[tokio::test]
async fn a_forged_answer_is_refused() {
    const KEY: &str = "192006250b4c09247ec02edce69f6a2d";
    let mock = MockPay::start().await.unwrap(); // only for its merchant settings
    let config = PayConfig::new(mock.app_id(), mock.mch_id(), KEY);
    let pay = |base: String| {
        PayClient::builder(config.clone())
            .api_base(base)
            .transport(Transport::new(merchant_transport().build().unwrap()))
            .build()
            .unwrap()
    };

    // Control: the genuine answer behind the front is read.
    let (genuine, _task) = answering(refund_answer(KEY, "r-1").to_xml().unwrap()).await;
    let front = TlsFront::start(genuine).await.unwrap();
    let accepted = pay(front.base_url())
        .refund(refund("r-1", 200))
        .await
        .unwrap();
    assert_eq!(accepted.refund_id, "50000000001");

    // The same answer with the amount raised after signing.
    let mut altered = refund_answer(KEY, "r-1");
    altered.insert("refund_fee", "1200");
    let (forged, _task) = answering(altered.to_xml().unwrap()).await;
    let front = TlsFront::start(forged).await.unwrap();
    let err = pay(front.base_url())
        .refund(refund("r-1", 200))
        .await
        .unwrap_err();
    assert_eq!(
        err.pay().map(|e| e.kind()),
        Some(&PayErrorKind::InvalidSign)
    );

    // Signed with another key.
    let other = refund_answer("00000000000000000000000000000000", "r-1");
    let (other, _task) = answering(other.to_xml().unwrap()).await;
    let front = TlsFront::start(other).await.unwrap();
    let err = pay(front.base_url())
        .refund(refund("r-1", 200))
        .await
        .unwrap_err();
    assert_eq!(
        err.pay().map(|e| e.kind()),
        Some(&PayErrorKind::InvalidSign)
    );

    // Correctly signed, but about another refund (a replayed or misrouted answer).
    let (spliced, _task) = answering(refund_answer(KEY, "r-9").to_xml().unwrap()).await;
    let front = TlsFront::start(spliced).await.unwrap();
    let err = pay(front.base_url())
        .refund(refund("r-1", 200))
        .await
        .unwrap_err();
    assert_eq!(
        err.pay().map(|e| e.kind()),
        Some(&PayErrorKind::InvalidField("out_refund_no"))
    );
}
