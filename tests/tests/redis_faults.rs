//! Issue 13, "When Redis fails": each part of the framework with a real `redis-server` stopped
//! and restarted in the middle of a run, and with a Redis that accepts connections but never
//! answers.
//!
//! - the store: calls fail fast while Redis is down, time out while it is silent, and succeed
//!   again once it is back, on the same `RedisStore` (no rebuild);
//! - the token manager: one fetch per process while Redis is down, never an expired token, back
//!   to the shared token once Redis returns;
//! - sessions: 503 JSON (errcode 10004), not 401, while Redis is down; the same token works once
//!   it is back (a durable Redis keeps the sessions);
//! - pay notifications: FAIL (503) while Redis is down, the handler not run; the retry after
//!   Redis returns runs it once.

#![allow(
    clippy::unwrap_used,
    reason = "test helpers: a failure is a test failure"
)]

use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{Request, Response, StatusCode, header};
use http_body_util::{BodyExt, Full};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tower::{ServiceBuilder, ServiceExt, service_fn};
use wechat_e2e::{RedisServer, spawn_axum};
use wechat_tower::State;
use wechat_tower::client::{FetchedToken, TokenManager, TokenSource};
use wechat_tower::core::secret::{AccessToken, SessionKey};
use wechat_tower::pay::{Paid, PayConfig, PayNotify};
use wechat_tower::session::{SessionLayer, SessionStore, UserSession};
use wechat_tower::store::{RedisStore, Store, StoreError};
use wechat_tower::test_util::mock_pay::MockPay;

/// The store timeout of these tests: short, so that a hang shows as a failure quickly.
const TIMEOUT: Duration = Duration::from_millis(500);

/// Slack over [`TIMEOUT`] for a call to come back on a loaded 2-core machine.
const SLACK: Duration = Duration::from_millis(1500);

async fn store_on(url: &str) -> RedisStore {
    RedisStore::connect_with_timeout(url, TIMEOUT)
        .await
        .unwrap()
}

/// Retries `op` for up to 10 s until it succeeds (the store reconnects in the background).
async fn eventually<T, F, Fut>(mut op: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, StoreError>>,
{
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match op().await {
            Ok(value) => return value,
            Err(err) => {
                assert!(Instant::now() < deadline, "still failing: {err}");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The store
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_stopped_redis_fails_fast_and_the_same_store_reconnects_after_restart() {
    let Some(mut redis) = RedisServer::start() else {
        return;
    };
    let store = store_on(&redis.url()).await;
    store
        .set("k", Bytes::from_static(b"v"), None)
        .await
        .unwrap();

    redis.stop();
    for _ in 0..5 {
        let started = Instant::now();
        let err = store.get("k").await.unwrap_err();
        assert!(
            matches!(err, StoreError::Unavailable(_) | StoreError::Timeout),
            "{err:?}"
        );
        eprintln!(
            "a call while Redis is down: {err} after {:?}",
            started.elapsed()
        );
        assert!(
            started.elapsed() < TIMEOUT + SLACK,
            "took {:?}",
            started.elapsed()
        );
        let err = store
            .set_if_absent("claim", Bytes::from_static(b"me"), Some(TIMEOUT))
            .await
            .unwrap_err();
        assert!(
            matches!(err, StoreError::Unavailable(_) | StoreError::Timeout),
            "{err:?}"
        );
    }

    // Back, empty (no persistence): the same store works again, without a rebuild.
    redis.restart();
    let value = eventually(|| store.get("k")).await;
    assert_eq!(value, None, "a fresh server");
    assert!(
        store
            .set_if_absent(
                "claim",
                Bytes::from_static(b"me"),
                Some(Duration::from_secs(5))
            )
            .await
            .unwrap()
    );
    assert!(store.delete_if_equals("claim", b"me").await.unwrap());
}

/// One store operation under test, boxed so that the six can sit in one list.
type StoreCall<'a> = std::pin::Pin<Box<dyn Future<Output = StoreError> + Send + 'a>>;

/// A TCP proxy to `target` that can go silent: while `silent` is set it forwards nothing in
/// either direction but keeps the connections open (a Redis that hangs, a dropped route).
async fn silent_proxy(target: u16, silent: Arc<AtomicBool>) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((client, _)) = listener.accept().await {
            let Ok(server) = TcpStream::connect(("127.0.0.1", target)).await else {
                continue;
            };
            let (cr, cw) = client.into_split();
            let (sr, sw) = server.into_split();
            tokio::spawn(pipe(cr, sw, Arc::clone(&silent)));
            tokio::spawn(pipe(sr, cw, Arc::clone(&silent)));
        }
    });
    port
}

async fn pipe(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    silent: Arc<AtomicBool>,
) {
    let mut buf = vec![0; 16 * 1024];
    loop {
        let n = match from.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        // Hold what was read while silent, then pass it on.
        while silent.load(Ordering::SeqCst) {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        if to.write_all(&buf[..n]).await.is_err() {
            return;
        }
    }
}

#[tokio::test]
async fn a_silent_redis_times_out_every_operation_instead_of_hanging() {
    let Some(redis) = RedisServer::start() else {
        return;
    };
    let silent = Arc::new(AtomicBool::new(false));
    let port = silent_proxy(redis.port(), Arc::clone(&silent)).await;
    let store = store_on(&format!("redis://127.0.0.1:{port}/")).await;
    store
        .set("k", Bytes::from_static(b"v"), None)
        .await
        .unwrap();

    silent.store(true, Ordering::SeqCst);
    let v = || Bytes::from_static(b"v");
    let ttl = Some(Duration::from_secs(5));
    let calls: Vec<(&str, StoreCall<'_>)> = vec![
        ("get", Box::pin(async { store.get("k").await.unwrap_err() })),
        (
            "set",
            Box::pin(async { store.set("k", v(), ttl).await.unwrap_err() }),
        ),
        (
            "set_if_absent",
            Box::pin(async { store.set_if_absent("n", v(), ttl).await.unwrap_err() }),
        ),
        (
            "replace_if_equals",
            Box::pin(async {
                store
                    .replace_if_equals("k", b"v", v(), ttl)
                    .await
                    .unwrap_err()
            }),
        ),
        (
            "delete",
            Box::pin(async { store.delete("n").await.unwrap_err() }),
        ),
        (
            "delete_if_equals",
            Box::pin(async { store.delete_if_equals("k", b"v").await.unwrap_err() }),
        ),
    ];
    for (name, call) in calls {
        let started = Instant::now();
        let err = call.await;
        let took = started.elapsed();
        assert_eq!(err, StoreError::Timeout, "{name}");
        assert!(
            took >= TIMEOUT / 2 && took < TIMEOUT + SLACK,
            "{name} took {took:?}"
        );
    }

    // Talking again: the same store answers again.
    silent.store(false, Ordering::SeqCst);
    let value = eventually(|| store.get("k")).await;
    assert_eq!(value, Some(Bytes::from_static(b"v")));

    // Connecting to a server that accepts and never answers gives up at the timeout too.
    let mute = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let mute_port = mute.local_addr().unwrap().port();
    let held = tokio::spawn(async move {
        let mut open = Vec::new();
        while let Ok((socket, _)) = mute.accept().await {
            open.push(socket);
        }
    });
    let started = Instant::now();
    let err = RedisStore::connect_with_timeout(&format!("redis://127.0.0.1:{mute_port}/"), TIMEOUT)
        .await
        .unwrap_err();
    assert!(
        matches!(err, StoreError::Timeout | StoreError::Unavailable(_)),
        "{err:?}"
    );
    assert!(
        started.elapsed() < TIMEOUT + SLACK,
        "took {:?}",
        started.elapsed()
    );
    held.abort();
}

// ---------------------------------------------------------------------------------------------
// Token manager
// ---------------------------------------------------------------------------------------------

/// A token endpoint that counts its calls and hands out `t0`, `t1`, ...
fn counting_source(fetches: &Arc<AtomicUsize>) -> impl TokenSource + use<> {
    let fetches = Arc::clone(fetches);
    move |_invalidated: bool| {
        let n = fetches.fetch_add(1, Ordering::SeqCst);
        async move {
            tokio::time::sleep(Duration::from_millis(50)).await;
            Ok(FetchedToken {
                token: AccessToken::new(format!("t{n}")),
                expires_in: 7200,
            })
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_token_manager_fetches_once_per_process_while_redis_is_down_and_shares_again_after() {
    const KEY: &str = "wx_faults:access_token";
    let Some(mut redis) = RedisServer::start() else {
        return;
    };
    let now = Arc::new(AtomicU64::new(1_700_000_000));
    let fetches = Arc::new(AtomicUsize::new(0));
    let store: Arc<dyn Store> = Arc::new(store_on(&redis.url()).await);
    let clock = Arc::clone(&now);
    let tokens = TokenManager::new(KEY, Arc::clone(&store), counting_source(&fetches))
        .clock(move || clock.load(Ordering::SeqCst))
        .store_retry(Duration::from_millis(300));
    assert_eq!(tokens.get().await.unwrap().expose(), "t0");

    redis.stop();
    // Inside refresh-ahead, Redis down: the unexpired token, no fetch.
    now.fetch_add(7200 - 60, Ordering::SeqCst);
    assert_eq!(tokens.get().await.unwrap().expose(), "t0");
    assert_eq!(fetches.load(Ordering::SeqCst), 1);

    // Expired, Redis down: 200 concurrent callers, one fetch, nobody gets the expired token.
    now.fetch_add(60, Ordering::SeqCst);
    let started = Instant::now();
    let calls: Vec<_> = (0..200)
        .map(|_| {
            let tokens = tokens.clone();
            tokio::spawn(async move { tokens.get().await.unwrap().expose().to_owned() })
        })
        .collect();
    for call in calls {
        assert_eq!(call.await.unwrap(), "t1");
    }
    assert_eq!(fetches.load(Ordering::SeqCst), 2);
    assert!(
        started.elapsed() < TIMEOUT * 2 + SLACK,
        "took {:?}",
        started.elapsed()
    );

    // Back (empty): the manager publishes the token it fetched alone; no new fetch.
    redis.restart();
    let raw = store_on(&redis.url()).await;
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        assert_eq!(tokens.get().await.unwrap().expose(), "t1");
        if raw.get(KEY).await.unwrap().is_some() {
            break;
        }
        assert!(Instant::now() < deadline, "the token never reached Redis");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let stored = raw.get(KEY).await.unwrap().unwrap();
    assert!(stored.ends_with(b":t1"), "{stored:?}");
    assert_eq!(fetches.load(Ordering::SeqCst), 2);

    // Another process joining now shares it.
    let clock = Arc::clone(&now);
    let other = TokenManager::new(KEY, Arc::new(raw), counting_source(&fetches))
        .clock(move || clock.load(Ordering::SeqCst));
    assert_eq!(other.get().await.unwrap().expose(), "t1");
    assert_eq!(fetches.load(Ordering::SeqCst), 2);
}

// ---------------------------------------------------------------------------------------------
// Sessions
// ---------------------------------------------------------------------------------------------

/// Sends `GET /me` with `token` through a `SessionLayer` over `sessions`; status, body and
/// whether a `WWW-Authenticate` challenge came back.
async fn me(sessions: &SessionStore, token: &str) -> (StatusCode, String, bool) {
    let svc = ServiceBuilder::new()
        .layer(SessionLayer::new(sessions.clone()))
        .service(service_fn(|req: Request<Full<Bytes>>| async move {
            let user = UserSession::from_request(&req).unwrap();
            Ok::<_, Infallible>(Response::new(Full::new(Bytes::from(
                user.openid().to_owned(),
            ))))
        }));
    let req = Request::get("/me")
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .body(Full::default())
        .unwrap();
    let res = svc.oneshot(req).await.unwrap();
    let status = res.status();
    let challenged = res.headers().contains_key(header::WWW_AUTHENTICATE);
    let body = res.into_body().collect().await.unwrap().to_bytes();
    (
        status,
        String::from_utf8(body.to_vec()).unwrap(),
        challenged,
    )
}

#[tokio::test]
async fn sessions_answer_503_not_401_while_redis_is_down_and_work_again_after() {
    let Some(mut redis) = RedisServer::start_durable() else {
        return;
    };
    let sessions = SessionStore::new(Arc::new(store_on(&redis.url()).await));
    let token = sessions
        .create("oUser", None, &SessionKey::new("k"))
        .await
        .unwrap();
    let token = token.expose().to_owned();
    assert_eq!(
        me(&sessions, &token).await,
        (StatusCode::OK, "oUser".to_owned(), false)
    );

    redis.stop();
    let started = Instant::now();
    let (status, body, challenged) = me(&sessions, &token).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_eq!(
        body,
        r#"{"errcode":10004,"errmsg":"session store unavailable"}"#
    );
    // Not a logout: no challenge telling the client to drop its token.
    assert!(!challenged);
    assert!(started.elapsed() < TIMEOUT + SLACK);
    // A login while Redis is down is refused the same way, not half-made.
    let err = sessions
        .create("oOther", None, &SessionKey::new("k"))
        .await
        .unwrap_err();
    assert!(err.to_string().starts_with("session store"), "{err}");

    // Back, with its data: the same token opens the same session.
    redis.restart();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (status, body, _) = me(&sessions, &token).await;
        if status == StatusCode::OK {
            assert_eq!(body, "oUser");
            break;
        }
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
        assert!(Instant::now() < deadline, "sessions never came back");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

// ---------------------------------------------------------------------------------------------
// Pay notifications
// ---------------------------------------------------------------------------------------------

#[derive(Clone, Default)]
struct Handled(Arc<AtomicUsize>);

async fn paid(_: Paid, State(handled): State<Handled>) -> Result<(), String> {
    handled.0.fetch_add(1, Ordering::SeqCst);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pay_notify_never_answers_success_while_redis_is_down_and_handles_the_retry_once() {
    let Some(mut redis) = RedisServer::start_durable() else {
        return;
    };
    let mock = MockPay::start().await.unwrap();
    let handled = Handled::default();
    let config =
        PayConfig::new(mock.app_id(), mock.mch_id(), mock.key()).sign_type(mock.sign_type());
    let notify = PayNotify::builder(config)
        .handler(paid)
        .store(Arc::new(store_on(&redis.url()).await))
        .with_state(handled.clone())
        .build()
        .unwrap();
    let url = format!("http://{}/wechat", spawn_axum(notify).await);

    // Down: FAIL with a 5xx, so WeChat Pay retries; the handler did not run.
    mock.create_order("o-1", 100, "oBuyer");
    redis.stop();
    for _ in 0..3 {
        let answer = mock.send_v2_notify(&url, "o-1").await.unwrap();
        assert!(!answer.is_success(), "{answer:?}");
        assert_eq!(answer.status, 503, "{answer:?}");
        assert!(answer.body.contains("FAIL"), "{answer:?}");
    }
    assert_eq!(handled.0.load(Ordering::SeqCst), 0);

    // Back: the retry is handled, once; later duplicates are answered from the record.
    redis.restart();
    let deadline = Instant::now() + Duration::from_secs(10);
    while !mock.send_v2_notify(&url, "o-1").await.unwrap().is_success() {
        assert!(Instant::now() < deadline, "never handled");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    for _ in 0..3 {
        assert!(mock.send_v2_notify(&url, "o-1").await.unwrap().is_success());
    }
    assert_eq!(handled.0.load(Ordering::SeqCst), 1);

    // Down after it was handled, then back: the durable record still answers the duplicate
    // without running the handler again.
    redis.stop();
    assert!(!mock.send_v2_notify(&url, "o-1").await.unwrap().is_success());
    redis.restart();
    let deadline = Instant::now() + Duration::from_secs(10);
    while !mock.send_v2_notify(&url, "o-1").await.unwrap().is_success() {
        assert!(Instant::now() < deadline, "never answered");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(handled.0.load(Ordering::SeqCst), 1);
}
