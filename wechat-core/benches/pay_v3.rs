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

#[path = "support/pay_v3.rs"]
mod pay_v3_fixture;

use pay_v3_fixture::{KEY_PEM, NOW, PayV3Fixture, SERIAL};

fn pay_v3(c: &mut Criterion) {
    let f = PayV3Fixture::new();
    let old = pkcs1v15::SigningKey::<Sha256>::new(
        rsa::RsaPrivateKey::from_pkcs8_pem(KEY_PEM).expect("test key"),
    );
    let headers = f.answer_headers();

    let mut group = c.benchmark_group("pay v3");
    group.throughput(Throughput::Elements(1));
    group.bench_function("sign request (ring RsaKeyPair)", |b| {
        b.iter(|| f.key.try_sign(black_box(&f.request)).expect("sign"))
    });
    group.bench_function("sign request (rsa crate, replaced)", |b| {
        b.iter(|| old.sign(black_box(&f.request)))
    });
    group.bench_function("verify answer", |b| {
        b.iter(|| {
            f.verifier
                .verify_notify(black_box(&headers), black_box(f.answer), NOW, 300)
                .expect("verify")
        })
    });
    group.bench_function("parse notification", |b| b.iter(|| f.read_notification()));
    group.bench_function("oaep encrypt user_name", |b| {
        b.iter(|| {
            f.verifier
                .encrypt(SERIAL, black_box("张三".as_bytes()))
                .expect("encrypt")
        })
    });
    group.finish();
}

criterion_group!(benches, pay_v3);
criterion_main!(benches);
