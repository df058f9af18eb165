//! Pay notifications on three instances sharing one Redis (issue 13): duplicates and concurrent
//! duplicates spread over the instances run the handler once, and an instance killed between its
//! claim and SUCCESS leaves nothing lost: WeChat Pay's retry on another instance completes the
//! notification, once.
//!
//! The killed instance runs on a tokio runtime of its own, shut down mid-handler: its server,
//! its handler task and the heartbeat that renews its claim all stop at once, as when a process
//! dies.

#![allow(
    clippy::unwrap_used,
    reason = "test helpers: a failure is a test failure"
)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use wechat_e2e::{RedisServer, spawn_axum};
use wechat_tower::pay::{Paid, PayConfig, PayNotify};
use wechat_tower::store::{RedisStore, Store};
use wechat_tower::test_util::mock_pay::MockPay;
use wechat_tower::{State, wechat_handler};

/// What one instance's handler sees: how often it completed, and whether it hangs (the instance
/// that will be killed mid-handler).
#[derive(Clone, Default)]
struct Instance {
    handled: Arc<AtomicUsize>,
    started: Arc<AtomicUsize>,
    hangs: bool,
}

#[wechat_handler(pay = "notify")]
async fn paid(_: Paid, State(instance): State<Instance>) -> Result<(), String> {
    instance.started.fetch_add(1, Ordering::SeqCst);
    if instance.hangs {
        std::future::pending::<()>().await;
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    instance.handled.fetch_add(1, Ordering::SeqCst);
    Ok(())
}

const PREFIX: &str = "three:";

fn config(mock: &MockPay) -> PayConfig {
    PayConfig::new(mock.app_id(), mock.mch_id(), mock.key())
        .sign_type(mock.sign_type())
        // A dead instance's claim expires after 800 ms (30 s by default); a duplicate waits up
        // to 5 s for the outcome.
        .claim_ttl(Duration::from_millis(800))
        .duplicate_wait(Duration::from_secs(5))
}

async fn notify_service(mock: &MockPay, redis_url: &str, instance: Instance) -> PayNotify {
    let store = RedisStore::connect(redis_url).await.unwrap().prefix(PREFIX);
    PayNotify::builder(config(mock))
        .handler(paid)
        .store(Arc::new(store))
        .with_state(instance)
        .build()
        .unwrap()
}

async fn start(mock: &MockPay, redis_url: &str, instance: Instance) -> String {
    let notify = notify_service(mock, redis_url, instance).await;
    format!("http://{}/wechat", spawn_axum(notify).await)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn three_instances_handle_duplicates_once_and_finish_what_a_killed_one_claimed() {
    let Some(redis) = RedisServer::start() else {
        return;
    };
    let mock = MockPay::start().await.unwrap();
    let (a, b, c) = (
        Instance::default(),
        Instance::default(),
        Instance::default(),
    );
    let urls = [
        start(&mock, &redis.url(), a.clone()).await,
        start(&mock, &redis.url(), b.clone()).await,
        start(&mock, &redis.url(), c.clone()).await,
    ];
    let handled = || {
        [&a, &b, &c]
            .iter()
            .map(|i| i.handled.load(Ordering::SeqCst))
            .sum::<usize>()
    };

    // Duplicates one after the other, on each instance in turn.
    mock.create_order("o-seq", 100, "oBuyer");
    mock.pay("o-seq").unwrap();
    for url in urls.iter().chain(urls.iter()) {
        assert!(
            mock.send_v2_notify(url, "o-seq")
                .await
                .unwrap()
                .is_success()
        );
    }
    assert_eq!(handled(), 1);

    // Concurrent duplicates: three deliveries at once on each instance (nine in all).
    mock.create_order("o-concurrent", 200, "oBuyer");
    mock.pay("o-concurrent").unwrap();
    let mut deliveries = Vec::new();
    for url in urls.iter().cycle().take(9) {
        let mock = &mock;
        deliveries.push(async move { mock.send_v2_notify(url, "o-concurrent").await.unwrap() });
    }
    for answer in futures_join_all(deliveries).await {
        assert!(answer.is_success(), "{answer:?}");
    }
    assert_eq!(handled(), 2);

    // An instance killed between its claim and SUCCESS.
    let killed = Instance {
        hangs: true,
        ..Instance::default()
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let notify = notify_service(&mock, &redis.url(), killed.clone()).await;
    let addr: SocketAddr = runtime.block_on_in_place(spawn_axum(notify));
    let killed_url = format!("http://{addr}/wechat");

    mock.create_order("o-killed", 300, "oBuyer");
    let transaction_id = mock.pay("o-killed").unwrap();
    let xml = mock.notify_v2_xml("o-killed").unwrap();
    let first = tokio::time::timeout(
        Duration::from_secs(5),
        mock.send_raw(&killed_url, &[], xml.into_bytes()),
    );
    let watch_claim = async {
        let raw = RedisStore::connect(&redis.url()).await.unwrap();
        let key = format!(
            "{PREFIX}wechat:pay:notify:{}:{transaction_id}",
            mock.mch_id()
        );
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let value = raw.get(&key).await.unwrap();
            // The claim holds the claimer's random token (`done` once handled).
            if value.as_deref().is_some_and(|v| v != b"done")
                && killed.started.load(Ordering::SeqCst) == 1
            {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "the first delivery never claimed: {value:?}, started {}",
                killed.started.load(Ordering::SeqCst)
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        // The process dies: its server, its handler and its claim's heartbeat stop at once.
        runtime.shutdown_background();
    };
    let (first, ()) = tokio::join!(first, watch_claim);
    // WeChat Pay saw no SUCCESS from the killed instance (its connection died, or no answer).
    assert!(!matches!(first, Ok(Ok(ref answer)) if answer.is_success()));
    assert_eq!(handled(), 2);

    // WeChat Pay retries on another instance: the claim expires, the retry completes it once.
    let retry = mock.send_v2_notify(&urls[1], "o-killed").await.unwrap();
    assert!(retry.is_success(), "{retry:?}");
    assert_eq!(handled(), 3);
    for url in &urls {
        assert!(
            mock.send_v2_notify(url, "o-killed")
                .await
                .unwrap()
                .is_success()
        );
    }
    assert_eq!(handled(), 3);
    assert_eq!(killed.handled.load(Ordering::SeqCst), 0);
}

/// Runs the futures concurrently on this task and collects their outputs in order.
async fn futures_join_all<F: std::future::Future>(futures: Vec<F>) -> Vec<F::Output> {
    let mut pinned: Vec<_> = futures.into_iter().map(Box::pin).collect();
    let mut outputs: Vec<Option<F::Output>> = pinned.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (future, output) in pinned.iter_mut().zip(outputs.iter_mut()) {
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

/// `Runtime::block_on` from inside another runtime's worker: enter a blocking section first.
trait BlockOnInPlace {
    fn block_on_in_place<F: std::future::Future>(&self, future: F) -> F::Output;
}

impl BlockOnInPlace for tokio::runtime::Runtime {
    fn block_on_in_place<F: std::future::Future>(&self, future: F) -> F::Output {
        tokio::task::block_in_place(|| self.block_on(future))
    }
}
