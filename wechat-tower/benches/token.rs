//! Criterion benchmark of the token central control (`cargo bench -p wechat-tower --bench
//! token`): what a call pays for its `access_token` when the token is cached, i.e. on every call
//! but the one fetch per expiry.
//!
//! - `token/cached_get`: [`TokenManager::get`] on a warm [`MemoryStore`]-backed manager (a read
//!   lock, a clock read, a clone of the token string).
//! - `token/client_access_token`: the same through [`WechatClient::access_token`].
//! - `token/cached_get_contended`: eight tasks on a two-thread runtime calling `get` at once; the
//!   figure is wall time per call (both threads working).

#![allow(missing_docs)] // criterion_group! generates an undocumented pub fn

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use wechat_tower::client::{FetchedToken, TokenManager, Transport, WechatClient};
use wechat_tower::core::secret::AccessToken;
use wechat_tower::store::MemoryStore;

fn manager() -> TokenManager {
    TokenManager::new(
        "wechat:wxbench:access_token",
        Arc::new(MemoryStore::new()),
        |_invalidated: bool| async {
            Ok(FetchedToken {
                token: AccessToken::new(
                    "84_Bm9pZ2h0LXRva2VuLW9mLXR5cGljYWwtbGVuZ3RoLWZvci13ZWNoYXQtYWNjZXNzLXRva2Vucy0xMjM0NTY3ODkw",
                ),
                expires_in: 7200,
            })
        },
    )
}

fn bench(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let tokens = manager();
    runtime.block_on(tokens.get()).expect("first fetch");

    let mut group = c.benchmark_group("token");
    group.bench_function("cached_get", |b| {
        b.to_async(&runtime)
            .iter(|| async { black_box(tokens.get().await.expect("cached")) });
    });

    let offline = Transport::new(tower::service_fn(
        |_req: http::Request<bytes::Bytes>| async {
            Err::<http::Response<bytes::Bytes>, _>(std::io::Error::other(
                "the bench never calls WeChat",
            ))
        },
    ));
    let client = WechatClient::builder("wxbench", "secret")
        .transport(offline)
        .token_manager(tokens.clone())
        .build()
        .expect("client");
    group.bench_function("client_access_token", |b| {
        b.to_async(&runtime)
            .iter(|| async { black_box(client.access_token().await.expect("cached")) });
    });

    let multi = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    const TASKS: u64 = 8;
    group.bench_function("cached_get_contended", |b| {
        b.iter_custom(|iters| {
            let per_task = iters.div_ceil(TASKS);
            multi.block_on(async {
                let started = Instant::now();
                let tasks: Vec<_> = (0..TASKS)
                    .map(|_| {
                        let tokens = tokens.clone();
                        tokio::spawn(async move {
                            for _ in 0..per_task {
                                black_box(tokens.get().await.expect("cached"));
                            }
                        })
                    })
                    .collect();
                for task in tasks {
                    task.await.expect("task");
                }
                // About `iters` calls in all: criterion divides the wall time by `iters`.
                started.elapsed()
            })
        });
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().measurement_time(Duration::from_secs(3)).warm_up_time(Duration::from_secs(1));
    targets = bench
}
criterion_main!(benches);
