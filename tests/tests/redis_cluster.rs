//! Issue 13: `RedisStore` on a Redis Cluster (three local `redis-server --cluster-enabled yes`
//! nodes created by the test): the store's operations (its Lua scripts included) on keys spread
//! over every node, then the token store, the sessions and the pay once-record on the cluster.

#![allow(
    clippy::unwrap_used,
    reason = "test helpers: a failure is a test failure"
)]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use bytes::Bytes;
use wechat_e2e::{RedisCluster, spawn_axum};
use wechat_tower::State;
use wechat_tower::client::{FetchedToken, TokenManager};
use wechat_tower::core::secret::{AccessToken, SessionKey};
use wechat_tower::pay::{Paid, PayConfig, PayNotify};
use wechat_tower::session::{SessionError, SessionStore};
use wechat_tower::store::{RedisStore, Store};
use wechat_tower::test_util::mock_pay::MockPay;

async fn cluster_store(cluster: &RedisCluster) -> RedisStore {
    let urls = cluster.urls();
    let urls: Vec<&str> = urls.iter().map(String::as_str).collect();
    RedisStore::connect_cluster(&urls).await.unwrap()
}

/// How many keys node `port` holds.
fn dbsize(port: u16) -> u64 {
    let out = std::process::Command::new("redis-cli")
        .args(["-h", "127.0.0.1", "-p", &port.to_string(), "dbsize"])
        .output()
        .unwrap();
    String::from_utf8(out.stdout)
        .unwrap()
        .trim()
        .parse()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_store_works_on_every_node_of_a_cluster() {
    let Some(cluster) = RedisCluster::start() else {
        return;
    };
    let store = cluster_store(&cluster).await.prefix("app:");
    assert!(store.is_cluster());
    let ttl = Some(Duration::from_secs(60));
    for i in 0..60 {
        let key = format!("k{i}");
        let v = Bytes::from(format!("v{i}"));
        assert!(store.set_if_absent(&key, v.clone(), ttl).await.unwrap());
        assert!(
            !store
                .set_if_absent(&key, Bytes::from_static(b"x"), ttl)
                .await
                .unwrap()
        );
        assert_eq!(store.get(&key).await.unwrap(), Some(v.clone()));
        // The Lua scripts, routed to the key's node.
        assert!(
            !store
                .replace_if_equals(&key, b"x", Bytes::from_static(b"y"), ttl)
                .await
                .unwrap()
        );
        assert!(
            store
                .replace_if_equals(&key, &v, Bytes::from_static(b"w"), ttl)
                .await
                .unwrap()
        );
        assert!(!store.delete_if_equals(&key, b"x").await.unwrap());
        if i % 2 == 0 {
            assert!(store.delete_if_equals(&key, b"w").await.unwrap());
            assert_eq!(store.get(&key).await.unwrap(), None);
        }
    }
    // The 30 keys left are spread over the three masters: the store speaks to the cluster, not
    // to one node.
    for &port in cluster.ports() {
        assert!(dbsize(port) > 0, "node {port} holds no key");
    }
    assert_eq!(cluster.ports().iter().map(|&p| dbsize(p)).sum::<u64>(), 30);
    // Keys that share a hash tag share a slot, so one node holds both.
    store
        .set("{m1}:claim", Bytes::from_static(b"c"), ttl)
        .await
        .unwrap();
    store
        .set("{m1}:reply", Bytes::from_static(b"r"), ttl)
        .await
        .unwrap();
    let slot = |key: &str| {
        let out = std::process::Command::new("redis-cli")
            .args([
                "-p",
                &cluster.ports()[0].to_string(),
                "cluster",
                "keyslot",
                key,
            ])
            .output()
            .unwrap();
        String::from_utf8(out.stdout).unwrap().trim().to_owned()
    };
    assert_eq!(slot("app:{m1}:claim"), slot("app:{m1}:reply"));
    assert_ne!(slot("app:m1:claim"), slot("app:m1:reply"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_sessions_and_pay_records_on_a_cluster() {
    let Some(cluster) = RedisCluster::start() else {
        return;
    };

    // Token central control: two processes, one fetch.
    let fetches = Arc::new(AtomicUsize::new(0));
    let mut managers = Vec::new();
    for _ in 0..2 {
        let counter = Arc::clone(&fetches);
        let store: Arc<dyn Store> = Arc::new(cluster_store(&cluster).await);
        managers.push(TokenManager::new(
            "wx:access_token",
            store,
            move |_: bool| {
                let n = counter.fetch_add(1, Ordering::SeqCst);
                async move {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    Ok(FetchedToken {
                        token: AccessToken::new(format!("t{n}")),
                        expires_in: 7200,
                    })
                }
            },
        ));
    }
    let calls: Vec<_> = managers
        .iter()
        .flat_map(|m| (0..20).map(move |_| m.clone()))
        .map(|m| tokio::spawn(async move { m.get().await.unwrap().expose().to_owned() }))
        .collect();
    for call in calls {
        assert_eq!(call.await.unwrap(), "t0");
    }
    assert_eq!(fetches.load(Ordering::SeqCst), 1);
    let t0 = managers[0].get().await.unwrap();
    assert_eq!(managers[1].replace(&t0).await.unwrap().expose(), "t1");

    // Sessions: created by one process, loaded and revoked by another (the session, the user's
    // index and the user's lock are three keys, on whichever nodes they hash to).
    let a = SessionStore::new(Arc::new(cluster_store(&cluster).await));
    let b = SessionStore::new(Arc::new(cluster_store(&cluster).await));
    let token = a
        .create("oUser", Some("uUser"), &SessionKey::new("k1"))
        .await
        .unwrap();
    let second = b
        .create("oUser", None, &SessionKey::new("k2"))
        .await
        .unwrap();
    let user = b.load(&token).await.unwrap();
    assert_eq!(user.openid(), "oUser");
    assert_eq!(a.revoke_all("oUser").await.unwrap(), 2);
    assert_eq!(b.load(&second).await.unwrap_err(), SessionError::Unknown);

    // Pay: two notify services on the cluster, concurrent duplicates handled once.
    #[derive(Clone, Default)]
    struct Handled(Arc<AtomicUsize>);
    async fn paid(_: Paid, State(handled): State<Handled>) -> Result<(), String> {
        tokio::time::sleep(Duration::from_millis(200)).await;
        handled.0.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }
    let mock = MockPay::start().await.unwrap();
    let handled = Handled::default();
    let mut urls = Vec::new();
    for _ in 0..2 {
        let config =
            PayConfig::new(mock.app_id(), mock.mch_id(), mock.key()).sign_type(mock.sign_type());
        let notify = PayNotify::builder(config)
            .handler(paid)
            .store(Arc::new(cluster_store(&cluster).await))
            .with_state(handled.clone())
            .build()
            .unwrap();
        urls.push(format!("http://{}/wechat", spawn_axum(notify).await));
    }
    mock.create_order("o-1", 100, "oBuyer");
    let (ra, rb) = tokio::join!(
        mock.send_v2_notify(&urls[0], "o-1"),
        mock.send_v2_notify(&urls[1], "o-1")
    );
    assert!(ra.unwrap().is_success());
    assert!(rb.unwrap().is_success());
    for url in &urls {
        assert!(mock.send_v2_notify(url, "o-1").await.unwrap().is_success());
    }
    assert_eq!(handled.0.load(Ordering::SeqCst), 1);
}
