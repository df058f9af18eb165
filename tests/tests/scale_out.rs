//! Issue 13: three instances of a bot behind one load balancer, sharing one private
//! `redis-server`. A message and its retries run the handler once wherever they land, every
//! answer (encrypted afresh in safe mode) carries the first reply, and a Redis that stops or
//! stalls is handled as `FailMode` says, never past a delivery's deadline.
//!
//! The outage tests stop the `redis-server` mid-run (SIGKILL) and restart it on the same port,
//! empty; the stall test puts a freezing TCP proxy between the instances and Redis.
//!
//! Each test starts its own `redis-server` and skips without one, unless `WECHAT_REQUIRE_REDIS`
//! is set (as in CI).

#![allow(
    clippy::unwrap_used,
    reason = "test helpers: a failure is a test failure"
)]

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use http::StatusCode;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tower::Layer;
use wechat_e2e::{RedisCluster, RedisServer, send, spawn_hyper};
use wechat_tower::core::xml::Document;
use wechat_tower::router::{DedupConfig, FailMode, Router};
use wechat_tower::store::{RedisStore, Store};
use wechat_tower::test_util::{Simulator, messages};
use wechat_tower::{Message, WechatConfig, WechatLayer};

const TOKEN: &str = "scale_token";
const KEY: &str = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG";
const APPID: &str = "wx0123456789abcdef";
const GH: &str = "gh_scale";
const USER: &str = "oScaleUser";

/// The handler's runs, by `MsgId`.
#[derive(Default)]
struct Runs(Mutex<std::collections::HashMap<u64, usize>>);

impl Runs {
    fn count(&self, msg_id: u64) -> usize {
        self.0.lock().unwrap().get(&msg_id).copied().unwrap_or(0)
    }
    fn total(&self) -> usize {
        self.0.lock().unwrap().values().sum()
    }
}

/// How each instance is built.
#[derive(Clone, Copy)]
struct Setup {
    handler_delay: Duration,
    deadline: Duration,
    fail_mode: FailMode,
}

impl Default for Setup {
    fn default() -> Self {
        Self {
            handler_delay: Duration::ZERO,
            deadline: wechat_tower::router::DEFAULT_DEADLINE,
            fail_mode: FailMode::Open,
        }
    }
}

/// One instance of the bot in safe mode on 127.0.0.1, its retry record in Redis at `url`
/// through a connection of its own. The handler counts its runs and answers a number drawn at
/// random, so only the stored reply can make two answers equal.
async fn instance(url: &str, runs: &Arc<Runs>, setup: Setup) -> SocketAddr {
    let store: Arc<dyn Store> = Arc::new(RedisStore::connect(url).await.unwrap());
    instance_on(store, runs, setup).await
}

/// [`instance`] on a store of the caller's.
async fn instance_on(store: Arc<dyn Store>, runs: &Arc<Runs>, setup: Setup) -> SocketAddr {
    let runs = Arc::clone(runs);
    let seq = Arc::new(AtomicU64::new(0));
    let router = Router::new()
        .fallback(move |msg: Message| {
            let msg_id = msg.header().msg_id.unwrap_or(0);
            *runs.0.lock().unwrap().entry(msg_id).or_default() += 1;
            let mut draw = [0u8; 8];
            getrandom::fill(&mut draw).unwrap();
            let n = seq.fetch_add(1, Ordering::SeqCst);
            async move {
                tokio::time::sleep(setup.handler_delay).await;
                format!("msg {msg_id} lucky {} (#{n})", u64::from_le_bytes(draw))
            }
        })
        .deadline(setup.deadline)
        .dedup_config(DedupConfig::new().fail_mode(setup.fail_mode))
        .dedup_store(store)
        .build()
        .unwrap();
    let config = WechatConfig::safe(TOKEN, KEY, APPID).unwrap();
    spawn_hyper(WechatLayer::new(config).layer(router)).await
}

async fn three(url: &str, runs: &Arc<Runs>, setup: Setup) -> Vec<SocketAddr> {
    let mut addrs = Vec::new();
    for _ in 0..3 {
        addrs.push(instance(url, runs, setup).await);
    }
    addrs
}

fn sim() -> Simulator {
    Simulator::safe(TOKEN, KEY, APPID).unwrap()
}

/// Delivers message `msg_id` to `addr` as WeChat does (signed and encrypted afresh); returns the
/// status and the decrypted reply's `Content` (`success` for `success`).
async fn deliver(sim: &Simulator, addr: SocketAddr, msg_id: u64) -> (StatusCode, String) {
    let xml = messages::text(GH, USER, "hi", msg_id);
    let (status, body) = send(addr, sim.push("/wechat", &xml)).await;
    if status != StatusCode::OK {
        return (status, String::from_utf8_lossy(&body).into_owned());
    }
    let reply = sim.read_reply(&body).unwrap();
    if reply == "success" {
        return (status, reply);
    }
    let doc = Document::parse(&reply).unwrap();
    let root = doc.root();
    assert_eq!(root.child_text("ToUserName"), Some(USER));
    (status, root.child_text("Content").unwrap().to_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_message_and_three_retries_on_three_instances_run_once() {
    let Some(redis) = RedisServer::start() else {
        return;
    };
    let runs = Arc::new(Runs::default());
    let addrs = three(&redis.url(), &runs, Setup::default()).await;
    let sim = sim();
    let mut answers = Vec::new();
    for addr in [addrs[0], addrs[1], addrs[2], addrs[1]] {
        let (status, content) = deliver(&sim, addr, 7).await;
        assert_eq!(status, StatusCode::OK);
        answers.push(content);
    }
    assert!(answers[0].starts_with("msg 7 lucky "), "{answers:?}");
    assert!(answers.iter().all(|a| *a == answers[0]), "{answers:?}");
    assert_eq!(runs.count(7), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_retry_while_the_first_still_runs_gets_its_reply() {
    let Some(redis) = RedisServer::start() else {
        return;
    };
    let runs = Arc::new(Runs::default());
    let setup = Setup {
        handler_delay: Duration::from_millis(1500),
        ..Setup::default()
    };
    let addrs = three(&redis.url(), &runs, setup).await;
    let sim = Arc::new(sim());
    let first = tokio::spawn({
        let (sim, addr) = (Arc::clone(&sim), addrs[0]);
        async move { deliver(&sim, addr, 8).await }
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    let retries: Vec<_> = [addrs[1], addrs[2]]
        .into_iter()
        .map(|addr| {
            let sim = Arc::clone(&sim);
            tokio::spawn(async move { deliver(&sim, addr, 8).await })
        })
        .collect();
    let (status, first) = first.await.unwrap();
    assert_eq!(status, StatusCode::OK);
    assert!(first.starts_with("msg 8 lucky "), "{first}");
    for retry in retries {
        assert_eq!(retry.await.unwrap(), (StatusCode::OK, first.clone()));
    }
    assert_eq!(runs.count(8), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_thousand_messages_with_retries_across_instances_run_once_each() {
    let Some(redis) = RedisServer::start() else {
        return;
    };
    let runs = Arc::new(Runs::default());
    let addrs = Arc::new(three(&redis.url(), &runs, Setup::default()).await);
    let sim = Arc::new(sim());
    let answers = Arc::new(Mutex::new(
        std::collections::HashMap::<u64, Vec<String>>::new(),
    ));
    let next = Arc::new(AtomicU64::new(1));
    // 32 clients, each taking the next message and delivering it 1 to 4 times, to instances in
    // a rotating order, some deliveries concurrently; all clients interleave.
    let clients: Vec<_> = (0..32)
        .map(|_| {
            let (addrs, sim, answers, next) = (
                Arc::clone(&addrs),
                Arc::clone(&sim),
                Arc::clone(&answers),
                Arc::clone(&next),
            );
            tokio::spawn(async move {
                loop {
                    let id = next.fetch_add(1, Ordering::SeqCst);
                    if id > 1_000 {
                        break;
                    }
                    let deliveries = 1 + usize::try_from(id % 4).unwrap();
                    let start = usize::try_from(id % 3).unwrap();
                    let targets: Vec<_> = (0..deliveries).map(|i| addrs[(start + i) % 3]).collect();
                    let mut got = Vec::new();
                    if id % 2 == 0 {
                        // Concurrent duplicates.
                        let calls: Vec<_> = targets
                            .into_iter()
                            .map(|addr| {
                                let sim = Arc::clone(&sim);
                                tokio::spawn(async move { deliver(&sim, addr, id).await })
                            })
                            .collect();
                        for call in calls {
                            got.push(call.await.unwrap());
                        }
                    } else {
                        for addr in targets {
                            got.push(deliver(&sim, addr, id).await);
                        }
                    }
                    let contents = got
                        .into_iter()
                        .map(|(status, content)| {
                            assert_eq!(status, StatusCode::OK, "{content}");
                            content
                        })
                        .collect();
                    answers.lock().unwrap().insert(id, contents);
                }
            })
        })
        .collect();
    for client in clients {
        client.await.unwrap();
    }
    let answers = answers.lock().unwrap();
    assert_eq!(answers.len(), 1_000);
    for (id, contents) in answers.iter() {
        assert_eq!(runs.count(*id), 1, "message {id}");
        assert!(
            contents[0].starts_with(&format!("msg {id} lucky ")),
            "{contents:?}"
        );
        assert!(
            contents.iter().all(|c| *c == contents[0]),
            "message {id}: {contents:?}"
        );
    }
    assert_eq!(runs.total(), 1_000);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fail_open_answers_while_redis_is_down() {
    let Some(mut redis) = RedisServer::start() else {
        return;
    };
    let runs = Arc::new(Runs::default());
    let addrs = three(&redis.url(), &runs, Setup::default()).await;
    let sim = sim();
    let (_, before) = deliver(&sim, addrs[0], 1).await;
    assert_eq!(deliver(&sim, addrs[1], 1).await.1, before);
    redis.stop();
    // Down: a new message is answered (the handler runs), and deduplicated within its instance.
    let start = Instant::now();
    let (status, during) = deliver(&sim, addrs[0], 2).await;
    assert_eq!(status, StatusCode::OK);
    assert!(during.starts_with("msg 2 lucky "), "{during}");
    assert!(
        start.elapsed() < Duration::from_secs(4),
        "{:?}",
        start.elapsed()
    );
    assert_eq!(deliver(&sim, addrs[0], 2).await.1, during);
    assert_eq!(runs.count(2), 1);
    // A message answered before the outage is still answered by the instance that remembers it.
    assert_eq!(deliver(&sim, addrs[0], 1).await.1, before);
    assert_eq!(runs.count(1), 1);
    // Back (empty): the instances reconnect by themselves and share the record again.
    redis.restart();
    let (id, first) = until_shared(&sim, &addrs, 3).await;
    for addr in &addrs {
        assert_eq!(
            deliver(&sim, *addr, id).await,
            (StatusCode::OK, first.clone())
        );
    }
    assert_eq!(runs.count(id), 1);
}

/// Delivers new messages from `first_id` on to every instance until all give the same answer,
/// which only a working shared record does (a reconnecting client may fail its first
/// commands); returns that message and its answer.
async fn until_shared(sim: &Simulator, addrs: &[SocketAddr], first_id: u64) -> (u64, String) {
    for msg_id in first_id..first_id + 100 {
        let (status, content) = deliver(sim, addrs[0], msg_id).await;
        let mut same = status == StatusCode::OK;
        for addr in &addrs[1..] {
            same &= deliver(sim, *addr, msg_id).await.1 == content;
        }
        if same {
            return (msg_id, content);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the shared record did not come back");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fail_closed_answers_503_while_redis_is_down() {
    let Some(mut redis) = RedisServer::start() else {
        return;
    };
    let runs = Arc::new(Runs::default());
    let setup = Setup {
        fail_mode: FailMode::Closed,
        ..Setup::default()
    };
    let addrs = three(&redis.url(), &runs, setup).await;
    let sim = sim();
    let (status, before) = deliver(&sim, addrs[0], 1).await;
    assert_eq!(status, StatusCode::OK);
    redis.stop();
    for addr in &addrs {
        let start = Instant::now();
        let (status, body) = deliver(&sim, *addr, 2).await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
        assert_eq!(body, "retry record unavailable");
        assert!(
            start.elapsed() < Duration::from_secs(4),
            "{:?}",
            start.elapsed()
        );
    }
    assert_eq!(runs.count(2), 0);
    // What an instance already holds in memory is still answered.
    assert_eq!(deliver(&sim, addrs[0], 1).await, (StatusCode::OK, before));
    // Back: WeChat's retry of the refused message runs it once, wherever it lands.
    redis.restart();
    let mut answers = Vec::new();
    for _ in 0..100 {
        let (status, content) = deliver(&sim, addrs[1], 2).await;
        if status == StatusCode::OK {
            answers.push(content);
            break;
        }
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(answers.len(), 1, "never answered after the restart");
    for addr in &addrs {
        assert_eq!(
            deliver(&sim, *addr, 2).await,
            (StatusCode::OK, answers[0].clone())
        );
    }
    assert!(answers[0].starts_with("msg 2 lucky "), "{answers:?}");
    assert_eq!(runs.count(2), 1);
}

/// A TCP proxy to Redis that can freeze: it keeps accepting and reading, but forwards nothing,
/// like a Redis that stalls (a long `KEYS *`, a fork under memory pressure).
struct Freezer {
    addr: SocketAddr,
    frozen: Arc<AtomicBool>,
}

impl Freezer {
    async fn start(upstream: SocketAddr) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let frozen = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&frozen);
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let Ok(server) = TcpStream::connect(upstream).await else {
                    continue;
                };
                let (cr, cw) = client.into_split();
                let (sr, sw) = server.into_split();
                tokio::spawn(pipe(cr, sw, Arc::clone(&flag)));
                tokio::spawn(pipe(sr, cw, Arc::clone(&flag)));
            }
        });
        Self { addr, frozen }
    }

    fn url(&self) -> String {
        format!("redis://{}/", self.addr)
    }
}

async fn pipe(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    frozen: Arc<AtomicBool>,
) {
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let Ok(n) = from.read(&mut buf).await else {
            return;
        };
        if n == 0 {
            return;
        }
        while frozen.load(Ordering::SeqCst) {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        if to.write_all(&buf[..n]).await.is_err() {
            return;
        }
    }
}

fn port_of(url: &str) -> SocketAddr {
    let host_port = url
        .trim_start_matches("redis://")
        .trim_end_matches('/')
        .to_owned();
    host_port.parse().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_stalled_redis_does_not_hold_a_delivery_past_its_deadline() {
    let Some(redis) = RedisServer::start() else {
        return;
    };
    let freezer = Freezer::start(port_of(&redis.url())).await;
    let deadline = Duration::from_millis(1000);
    let runs = Arc::new(Runs::default());
    let open = instance(
        &freezer.url(),
        &runs,
        Setup {
            deadline,
            ..Setup::default()
        },
    )
    .await;
    let closed = instance(
        &freezer.url(),
        &runs,
        Setup {
            deadline,
            fail_mode: FailMode::Closed,
            ..Setup::default()
        },
    )
    .await;
    let sim = sim();
    assert_eq!(deliver(&sim, open, 1).await.0, StatusCode::OK);
    freezer.frozen.store(true, Ordering::SeqCst);
    let start = Instant::now();
    let (status, content) = deliver(&sim, open, 2).await;
    let took = start.elapsed();
    assert_eq!(status, StatusCode::OK);
    // The claim timed out at the deadline; failing open, the handler then runs, and its reply
    // is late (`success` now, the reply to the sink) unless it answers on its first poll.
    assert!(
        content == "success" || content.starts_with("msg 2 lucky "),
        "{content}"
    );
    assert!(took < deadline + Duration::from_millis(500), "{took:?}");
    let start = Instant::now();
    let (status, _) = deliver(&sim, closed, 3).await;
    let took = start.elapsed();
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(took < deadline + Duration::from_millis(500), "{took:?}");
    assert_eq!(runs.count(3), 0);
    freezer.frozen.store(false, Ordering::SeqCst);
    // Thawed: the same instances work again, without a restart.
    let mut recovered = false;
    for _ in 0..50 {
        if deliver(&sim, closed, 4).await.0 == StatusCode::OK {
            recovered = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(recovered, "the fail-closed instance never recovered");
    assert_eq!(runs.count(4), 1);
    // The refused message's claim reached Redis once it thawed, and was released: WeChat's
    // retry runs it, once.
    assert_eq!(deliver(&sim, closed, 3).await.0, StatusCode::OK);
    assert_eq!(deliver(&sim, open, 3).await.0, StatusCode::OK);
    assert_eq!(runs.count(3), 1);
    // Failing open, message 2 ran while Redis stalled; its outcome followed its claim there
    // (its reply, or `success` when the handler answered after the deadline and the reply
    // went to the late-reply sink), so the other instance answers a retry the same way
    // without running it again.
    assert_eq!(deliver(&sim, closed, 2).await, (StatusCode::OK, content));
    assert_eq!(runs.count(2), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn on_a_redis_cluster_messages_and_retries_run_once() {
    let Some(cluster) = RedisCluster::start() else {
        return;
    };
    let urls = cluster.urls();
    let urls: Vec<&str> = urls.iter().map(String::as_str).collect();
    let runs = Arc::new(Runs::default());
    let mut addrs = Vec::new();
    for _ in 0..3 {
        let store: Arc<dyn Store> = Arc::new(RedisStore::connect_cluster(&urls).await.unwrap());
        addrs.push(instance_on(store, &runs, Setup::default()).await);
    }
    let sim = sim();
    // 60 messages: their keys spread over the cluster's slots (and so its three nodes).
    for id in 1..=60 {
        let mut answers = Vec::new();
        for i in 0..4 {
            let (status, content) = deliver(&sim, addrs[(id as usize + i) % 3], id).await;
            assert_eq!(status, StatusCode::OK, "{content}");
            answers.push(content);
        }
        assert!(
            answers[0].starts_with(&format!("msg {id} lucky ")),
            "{answers:?}"
        );
        assert!(answers.iter().all(|a| *a == answers[0]), "{answers:?}");
        assert_eq!(runs.count(id), 1, "message {id}");
    }
}
