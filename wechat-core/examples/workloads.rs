//! Prints one JSON line per benchmark workload W1–W4 (`benches/support/mod.rs`), in the format the
//! peers' runners print, so the figures can be set side by side:
//!
//! ```text
//! {"impl":"wechat-rs","workload":"W1","ops_per_sec":123.0,"samples":[...],"allocs_per_op":0.0}
//! ```
//!
//! `BENCH_DURATION` sets the seconds per sample (default 1), `BENCH_REPS` the number of samples
//! (default 3); `ops_per_sec` is their median. With `--raw`, each workload is followed by the
//! same work written directly on the crates (`"impl":"raw-crates"`), the floor, measured in the
//! same run. `allocs_per_op` counts heap allocations per operation with a counting allocator. Run
//! it in release mode:
//!
//! ```text
//! cargo run --release -p wechat-tower-core --example workloads
//! ```
//!
//! With `--pay-v3`, three WeChat Pay APIv3 workloads follow (RSA 2048, the key of
//! `tests/vectors/pay_v3_test_key.pem`): `V3-sign` (the merchant's signature of a JSAPI order
//! request), `V3-verify` (an answer's timestamp window and signature), `V3-notify` (a payment
//! notification verified, decrypted and read). Set them beside `openssl speed -seconds 3 rsa2048`
//! run on the same machine.

use std::alloc::System;
use std::hint::black_box;
use std::time::{Duration, Instant};

use stats_alloc::{INSTRUMENTED_SYSTEM, Region, StatsAlloc};

#[path = "../benches/support/mod.rs"]
mod support;

#[path = "../benches/support/pay_v3.rs"]
mod pay_v3_fixture;

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

fn env_number(name: &str, default: f64) -> f64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|v: &f64| *v > 0.0)
        .unwrap_or(default)
}

/// Runs `op` for about `duration`, in batches so the clock is read rarely; returns ops/s.
fn sample<T>(duration: Duration, op: &mut impl FnMut() -> T) -> f64 {
    let start = Instant::now();
    let mut ops: u64 = 0;
    let mut batch: u64 = 64;
    loop {
        for _ in 0..batch {
            black_box(op());
        }
        ops += batch;
        let elapsed = start.elapsed();
        if elapsed >= duration {
            return ops as f64 / elapsed.as_secs_f64();
        }
        batch = (batch * 2).min(1 << 20);
    }
}

fn allocations_per_op<T>(op: &mut impl FnMut() -> T) -> f64 {
    const OPS: usize = 1000;
    let region = Region::new(GLOBAL);
    for _ in 0..OPS {
        black_box(op());
    }
    region.change().allocations as f64 / OPS as f64
}

fn run<T>(imp: &str, name: &str, duration: Duration, reps: usize, mut op: impl FnMut() -> T) {
    sample(Duration::from_millis(200), &mut op); // warm-up
    let mut samples: Vec<f64> = (0..reps).map(|_| sample(duration, &mut op)).collect();
    let allocs = allocations_per_op(&mut op);
    let printed: Vec<String> = samples.iter().map(|s| format!("{s:.1}")).collect();
    samples.sort_by(f64::total_cmp);
    let median = samples[samples.len() / 2];
    println!(
        "{{\"impl\":\"{imp}\",\"workload\":\"{name}\",\"ops_per_sec\":{median:.1},\"samples\":[{}],\"allocs_per_op\":{allocs:.2}}}",
        printed.join(",")
    );
}

fn main() {
    let duration = Duration::from_secs_f64(env_number("BENCH_DURATION", 1.0));
    let reps = env_number("BENCH_REPS", 3.0) as usize;
    let w = support::Workloads::load();
    w.self_check();
    let raw = std::env::args().any(|a| a == "--raw");
    run("wechat-rs", "W1", duration, reps, || w.w1());
    if raw {
        run("raw-crates", "W1", duration, reps, || w.raw_w1());
    }
    run("wechat-rs", "W2", duration, reps, || w.w2());
    if raw {
        run("raw-crates", "W2", duration, reps, || w.raw_w2());
    }
    run("wechat-rs", "W3", duration, reps, || w.w3());
    if raw {
        run("raw-crates", "W3", duration, reps, || w.raw_w3());
    }
    run("wechat-rs", "W4", duration, reps, || w.w4());
    if raw {
        run("raw-crates", "W4", duration, reps, || w.raw_w4());
    }
    if std::env::args().any(|a| a == "--pay-v3") {
        pay_v3(duration, reps);
    }
}

/// The APIv3 workloads: sign a request, verify an answer, read a notification.
fn pay_v3(duration: Duration, reps: usize) {
    let f = pay_v3_fixture::PayV3Fixture::new();
    run("wechat-rs", "V3-sign", duration, reps, || {
        f.key.try_sign(&f.request).expect("sign")
    });
    let headers = f.answer_headers();
    run("wechat-rs", "V3-verify", duration, reps, || {
        f.verifier
            .verify_notify(&headers, f.answer, pay_v3_fixture::NOW, 300)
            .expect("verify")
    });
    run("wechat-rs", "V3-notify", duration, reps, || {
        f.read_notification()
    });
}
