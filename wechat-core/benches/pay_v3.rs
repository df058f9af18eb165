//! Criterion benchmarks of WeChat Pay APIv3's RSA work, per operation:
//! `cargo bench -p wechat-tower-core --bench pay_v3 -- --warm-up-time 1 --measurement-time 3`.
//!
//! - `sign request`: the merchant's signature of a typical JSAPI order request
//!   (`POST\n/v3/pay/transactions/jsapi\n…\nbody\n`) with [`SigningKey`] (*ring*, constant time,
//!   blinded), beside the `rsa` crate's PKCS#1 v1.5 signer it replaced (RUSTSEC-2023-0071);
//! - `verify answer`: [`Verifier::verify_notify`] of a signed answer (timestamp window, then
//!   RSA-SHA256 with the platform key), what every response and notification costs;
//! - `parse notification`: verify + AES-256-GCM decrypt + JSON of a payment notification;
//! - `oaep encrypt`: a transfer's `user_name` (RSA-OAEP SHA-1).
//!
//! Compare with `openssl speed -seconds 3 rsa2048` on the same machine (sign/s, verify/s).

#![allow(missing_docs)] // criterion_group! generates an undocumented pub fn

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use rsa::pkcs1v15;
use rsa::pkcs8::DecodePrivateKey;
use rsa::sha2::Sha256;
use rsa::signature::Signer;
use wechat_core::pay::v3::{self, NotifyHeaders, SigningKey, Verifier};
use wechat_core::secret::ApiV3Key;

const KEY: &str = include_str!("../tests/vectors/pay_v3_test_key.pem");
const PUB: &str = include_str!("../tests/vectors/pay_v3_test_pub.pem");
const NOW: u64 = 1_700_000_000;

fn pay_v3(c: &mut Criterion) {
    let key = SigningKey::from_pkcs8_pem(KEY).expect("test key");
    let old = pkcs1v15::SigningKey::<Sha256>::new(
        rsa::RsaPrivateKey::from_pkcs8_pem(KEY).expect("test key"),
    );
    let body = r#"{"appid":"wxd930ea5d5a258f4f","mchid":"1900000109","description":"Image形象店-深圳腾大-QQ公仔","out_trade_no":"1217752501201407033233368018","notify_url":"https://www.weixin.qq.com/wxpay/pay.php","amount":{"total":100,"currency":"CNY"},"payer":{"openid":"oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"}}"#.as_bytes();
    let request = v3::request_message_bytes(
        "POST",
        "/v3/pay/transactions/jsapi",
        "1700000000",
        "593BEC0C930BF1AFEB40B4A08C8FB242",
        body,
    );
    let mut verifier = Verifier::new();
    verifier
        .add_public_key_pem("PUB_KEY_ID_0114232134912410000000000000", PUB)
        .expect("test key");
    let answer = br#"{"prepay_id":"wx201410272009395522657a690389285100"}"#;
    let signature = key.sign(&v3::notify_message("1700000000", "n0nce", answer));
    let headers = NotifyHeaders {
        timestamp: "1700000000",
        nonce: "n0nce",
        signature: &signature,
        serial: "PUB_KEY_ID_0114232134912410000000000000",
    };
    verifier
        .verify_notify(&headers, answer, NOW, 300)
        .expect("self-check: the answer verifies");
    let api_v3_key = ApiV3Key::new("0123456789abcdefghijABCDEFGHIJ01");
    let resource = r#"{"mchid":"1900000109","appid":"wxd930ea5d5a258f4f","out_trade_no":"no-1","transaction_id":"4200001","trade_type":"JSAPI","trade_state":"SUCCESS","amount":{"total":100}}"#;
    let notification = v3::notification_body(
        &api_v3_key,
        "EV-1",
        "TRANSACTION.SUCCESS",
        "transaction",
        "fdasflkja484",
        resource,
    )
    .expect("notification");
    let n_signature = key.sign(&v3::notify_message(
        "1700000000",
        "n0nce",
        notification.as_bytes(),
    ));
    let n_headers = NotifyHeaders {
        signature: &n_signature,
        ..headers
    };

    let mut group = c.benchmark_group("pay v3");
    group.throughput(Throughput::Elements(1));
    group.bench_function("sign request (ring RsaKeyPair)", |b| {
        b.iter(|| key.try_sign(black_box(&request)).expect("sign"))
    });
    group.bench_function("sign request (rsa crate, replaced)", |b| {
        b.iter(|| old.sign(black_box(&request)))
    });
    group.bench_function("verify answer", |b| {
        b.iter(|| {
            verifier
                .verify_notify(black_box(&headers), black_box(answer), NOW, 300)
                .expect("verify")
        })
    });
    group.bench_function("parse notification", |b| {
        b.iter(|| {
            v3::parse_notification(
                black_box(&n_headers),
                black_box(notification.as_bytes()),
                &verifier,
                &api_v3_key,
                NOW,
                300,
            )
            .expect("notification")
        })
    });
    group.bench_function("oaep encrypt user_name", |b| {
        b.iter(|| {
            verifier
                .encrypt(
                    "PUB_KEY_ID_0114232134912410000000000000",
                    black_box("张三".as_bytes()),
                )
                .expect("encrypt")
        })
    });
    group.finish();
}

criterion_group!(benches, pay_v3);
criterion_main!(benches);
