//! `wechat_tower::serve::Server` end to end (issue 16, "slow clients hold every example server"):
//! real sockets on 127.0.0.1, slow clients written byte by byte, WeChat's pushes built by the
//! simulator. Timeouts are sub-second so the file runs in a few seconds; the assertions are about
//! outcomes (closed, answered) with generous upper bounds, and lower bounds only where a
//! configured deadline guarantees them.

#![allow(
    clippy::unwrap_used,
    reason = "test helpers: a failure is a test failure"
)]

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use bytes::Bytes;
use http::{Request, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;
use tokio::time::{Instant, sleep, timeout};
use tower::Layer;
use wechat_tower::message::TextMessage;
use wechat_tower::serve::Server;
use wechat_tower::test_util::{Simulator, messages};
use wechat_tower::{Router, WechatConfig, WechatLayer};

const TOKEN: &str = "serve_token";
const GH: &str = "gh_serve";
const USER: &str = "oServeUser";
/// How long any one outcome may take on a loaded CI machine before the test calls it lost.
const GENEROUS: Duration = Duration::from_secs(10);

/// The bot under test: plaintext, echoes text.
fn bot() -> wechat_tower::server::Wechat<wechat_tower::RouterService> {
    async fn echo(msg: TextMessage) -> String {
        msg.content
    }
    WechatLayer::new(WechatConfig::plaintext(TOKEN))
        .layer(Router::new().handler(echo).build().unwrap())
}

/// Serves the bot through an axum `Router` at `/wechat` (what the examples do), with the limits
/// `configure` sets.
async fn spawn_axum(configure: impl FnOnce(Server) -> Server) -> SocketAddr {
    let server = configure(Server::new(TcpListener::bind("127.0.0.1:0").await.unwrap()));
    let addr = server.local_addr().unwrap();
    let app = axum::Router::new().route_service("/wechat", bot());
    tokio::spawn(server.serve(app));
    addr
}

/// Serves the bare `WechatLayer` stack (no axum): every path is the endpoint.
async fn spawn_stack(configure: impl FnOnce(Server) -> Server) -> SocketAddr {
    let server = configure(Server::new(TcpListener::bind("127.0.0.1:0").await.unwrap()));
    let addr = server.local_addr().unwrap();
    tokio::spawn(server.serve(bot()));
    addr
}

/// A correctly signed text push with a fresh `MsgId`.
fn signed_push(content: &str) -> Request<Full<Bytes>> {
    static MSG_ID: AtomicU64 = AtomicU64::new(1);
    let msg_id = MSG_ID.fetch_add(1, Ordering::Relaxed);
    Simulator::plaintext(TOKEN).push("/wechat", &messages::text(GH, USER, content, msg_id))
}

/// Sends a signed push over a new connection and checks that the bot echoed it.
async fn assert_echoed(addr: SocketAddr, content: &str) {
    let (status, body) = timeout(GENEROUS, wechat_e2e::send(addr, signed_push(content)))
        .await
        .expect("a signed push is answered");
    assert_eq!(status, StatusCode::OK);
    let reply = String::from_utf8_lossy(&body);
    assert!(
        reply.contains(&format!("<Content><![CDATA[{content}]]></Content>")),
        "{reply}"
    );
}

/// Sends a signed push on an open client connection and checks the echo; the error when the
/// connection was closed.
async fn push_on(
    sender: &mut hyper::client::conn::http1::SendRequest<Full<Bytes>>,
    content: &str,
) -> Result<(), hyper::Error> {
    let (mut parts, body) = signed_push(content).into_parts();
    parts
        .headers
        .insert(http::header::HOST, "127.0.0.1".parse().unwrap());
    let res = timeout(
        GENEROUS,
        sender.send_request(Request::from_parts(parts, body)),
    )
    .await
    .expect("an answer or an error")?;
    assert_eq!(res.status(), StatusCode::OK);
    let body = res.into_body().collect().await?.to_bytes();
    assert!(String::from_utf8_lossy(&body).contains(content));
    Ok(())
}

/// What became of a connection that wrote slowly.
#[derive(Debug, PartialEq, Eq)]
enum Slow {
    /// The server closed it; what it had answered by then.
    Closed(Vec<u8>),
    /// Every byte went out and the connection was still open.
    StillOpen,
}

/// Connects and writes `bytes` one at a time, `every` apart, while reading; resolves when the
/// server closes the connection or after the last byte.
async fn trickle(addr: SocketAddr, bytes: Vec<u8>, every: Duration) -> JoinHandle<Slow> {
    let (mut rd, mut wr) = TcpStream::connect(addr).await.unwrap().into_split();
    tokio::spawn(async move {
        let writer = async {
            for byte in bytes {
                if wr.write_all(&[byte]).await.is_err() {
                    // Closed: the reader sees it too.
                    std::future::pending::<()>().await;
                }
                sleep(every).await;
            }
        };
        let reader = async {
            let mut seen = Vec::new();
            let mut buf = [0; 1024];
            loop {
                match rd.read(&mut buf).await {
                    Ok(0) | Err(_) => return seen,
                    Ok(n) => seen.extend_from_slice(&buf[..n]),
                }
            }
        };
        tokio::select! {
            seen = reader => Slow::Closed(seen),
            () = writer => Slow::StillOpen,
        }
    })
}

/// A request head that never ends: 300 bytes of one header, at 200 ms a byte a minute's worth.
fn endless_head() -> Vec<u8> {
    let mut head = b"POST /wechat HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ".to_vec();
    head.extend(std::iter::repeat_n(b'a', 300));
    head
}

async fn closed_within(slow: JoinHandle<Slow>, bound: Duration) -> Vec<u8> {
    match timeout(bound, slow).await {
        Ok(Ok(Slow::Closed(seen))) => seen,
        Ok(Ok(Slow::StillOpen)) => panic!("the slow connection was never closed"),
        Ok(Err(err)) => panic!("the slow client failed: {err}"),
        Err(_) => panic!("the slow connection was still open after {bound:?}"),
    }
}

#[tokio::test]
async fn issue16_a_slow_header_client_is_dropped_while_signed_pushes_are_answered() {
    let addr = spawn_axum(|s| s.header_read_timeout(Duration::from_millis(500))).await;
    let mut slow = Vec::new();
    for _ in 0..20 {
        slow.push(trickle(addr, endless_head(), Duration::from_millis(200)).await);
    }
    // The slow clients are mid-head: WeChat's push is answered beside them.
    sleep(Duration::from_millis(200)).await;
    assert_echoed(addr, "while slow clients write").await;
    for slow in slow {
        let seen = closed_within(slow, GENEROUS).await;
        assert!(seen.is_empty(), "{}", String::from_utf8_lossy(&seen));
    }
    assert_echoed(addr, "after").await;
}

#[tokio::test]
async fn issue16_a_connection_that_sends_nothing_is_dropped_after_the_header_timeout() {
    let addr = spawn_stack(|s| s.header_read_timeout(Duration::from_millis(300))).await;
    let mut socket = TcpStream::connect(addr).await.unwrap();
    let mut buf = [0; 64];
    let read = timeout(GENEROUS, socket.read(&mut buf))
        .await
        .expect("the half-open connection is closed");
    assert!(matches!(read, Ok(0) | Err(_)), "{read:?}");
}

#[tokio::test]
async fn issue16_an_idle_keep_alive_connection_is_closed_after_the_idle_timeout() {
    // The head deadline is long: only the idle timeout can close this connection.
    let addr = spawn_stack(|s| {
        s.header_read_timeout(Duration::from_secs(30))
            .idle_timeout(Duration::from_millis(300))
    })
    .await;
    let stream = TcpStream::connect(addr).await.unwrap();
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .unwrap();
    let mut conn = tokio::spawn(conn);
    // One push (keep-alive is the next test's), then nothing.
    push_on(&mut sender, "one").await.unwrap();
    // The server closes the connection.
    timeout(GENEROUS, &mut conn)
        .await
        .expect("the idle connection is closed")
        .unwrap()
        .unwrap();
}

#[tokio::test]
async fn issue16_the_head_timeout_does_not_cut_an_idle_keep_alive_connection() {
    // hyper 1.12's own header_read_timeout also runs between keep-alive requests; Server's does
    // not: a connection idle for several head timeouts (but less than the idle timeout) serves
    // its next request.
    let addr = spawn_stack(|s| {
        s.header_read_timeout(Duration::from_millis(200))
            .idle_timeout(Duration::from_secs(30))
    })
    .await;
    let stream = TcpStream::connect(addr).await.unwrap();
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .unwrap();
    tokio::spawn(conn);
    push_on(&mut sender, "before").await.unwrap();
    sleep(Duration::from_millis(1000)).await;
    push_on(&mut sender, "after a pause")
        .await
        .expect("the keep-alive connection is still open");
}

#[tokio::test]
async fn issue16_a_slow_head_after_a_keep_alive_request_is_dropped_after_the_header_timeout() {
    // The idle deadline is far: only the head deadline, counted from the next request's first
    // byte, can close this connection in time.
    let addr = spawn_axum(|s| {
        s.header_read_timeout(Duration::from_millis(300))
            .idle_timeout(Duration::from_secs(30))
    })
    .await;
    let (mut rd, mut wr) = TcpStream::connect(addr).await.unwrap().into_split();
    wr.write_all(b"GET /elsewhere HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        .await
        .unwrap();
    let mut answer = Vec::new();
    let mut buf = [0; 1024];
    while !answer.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = timeout(GENEROUS, rd.read(&mut buf)).await.unwrap().unwrap();
        assert!(n > 0, "closed before the first answer");
        answer.extend_from_slice(&buf[..n]);
    }
    assert!(answer.starts_with(b"HTTP/1.1 404"), "{answer:?}");
    // Idle for a while (past the first head's deadline, so that the watchdog now sleeps
    // towards the idle deadline), then the next head starts and crawls.
    sleep(Duration::from_millis(600)).await;
    let writer = tokio::spawn(async move {
        for byte in endless_head() {
            if wr.write_all(&[byte]).await.is_err() {
                return;
            }
            sleep(Duration::from_millis(100)).await;
        }
    });
    let read = timeout(GENEROUS, rd.read(&mut buf))
        .await
        .expect("the slow second head is cut");
    writer.abort();
    assert!(matches!(read, Ok(0) | Err(_)), "{read:?}");
}

#[tokio::test]
async fn issue16_a_trickling_body_is_cut_by_the_request_timeout() {
    // The head deadline is far: only the request timeout can cut this request in time.
    let addr = spawn_axum(|s| {
        s.header_read_timeout(Duration::from_secs(30))
            .request_timeout(Duration::from_millis(500))
    })
    .await;
    // A correctly signed query, so that the layer goes on to read the body.
    let uri = signed_push("unused").uri().clone();
    let mut request = format!(
        "POST {uri} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: text/xml\r\nContent-Length: 1000\r\n\r\n"
    )
    .into_bytes();
    request.extend(std::iter::repeat_n(b' ', 1000));
    // The head goes out at once (100 ms a byte would take seconds: send it whole first).
    let head_len = request.len() - 1000;
    let (mut rd, mut wr) = TcpStream::connect(addr).await.unwrap().into_split();
    wr.write_all(&request[..head_len]).await.unwrap();
    let body = request[head_len..].to_vec();
    let writer = tokio::spawn(async move {
        for byte in body {
            if wr.write_all(&[byte]).await.is_err() {
                return;
            }
            sleep(Duration::from_millis(100)).await;
        }
    });
    let mut seen = Vec::new();
    let closed = timeout(GENEROUS, async {
        let mut buf = [0; 1024];
        loop {
            match rd.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => seen.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await;
    writer.abort();
    assert!(
        closed.is_ok(),
        "the trickling request was never cut: {}",
        String::from_utf8_lossy(&seen)
    );
    // Cut, not answered: the handler never saw the message.
    assert!(!seen.starts_with(b"HTTP/1.1 200"), "{seen:?}");
    assert_echoed(addr, "still serving").await;
}

#[tokio::test]
async fn issue16_at_the_connection_cap_a_signed_push_waits_and_is_answered_when_slots_free() {
    const CAP: usize = 3;
    const HEAD: Duration = Duration::from_millis(1500);
    let addr = spawn_axum(|s| s.max_connections(CAP).header_read_timeout(HEAD)).await;
    // No slot can free before HEAD from here: the slow connections are accepted after it.
    let start = Instant::now();
    let mut slow = Vec::new();
    for _ in 0..CAP {
        slow.push(trickle(addr, endless_head(), Duration::from_millis(200)).await);
    }
    sleep(Duration::from_millis(100)).await;
    // Every slot is taken: the push connects (the kernel queues it in the listen backlog) but
    // is not served until a slow connection is dropped, which their head deadline guarantees
    // not to happen before HEAD from `start`.
    let push = tokio::spawn(wechat_e2e::send(addr, signed_push("queued")));
    sleep(Duration::from_millis(300)).await;
    let finished = push.is_finished();
    // (Only a test thread starved for over a second could look too late.)
    if start.elapsed() < HEAD - Duration::from_millis(100) {
        assert!(!finished, "the push was served past the cap");
    }
    let (status, body) = timeout(GENEROUS, push).await.unwrap().unwrap();
    assert_eq!(status, StatusCode::OK);
    assert!(String::from_utf8_lossy(&body).contains("<Content><![CDATA[queued]]></Content>"));
    for slow in slow {
        closed_within(slow, GENEROUS).await;
    }
    assert_echoed(addr, "after the flood").await;
}

#[tokio::test]
async fn serve_with_shutdown_stops_an_axum_app_and_returns() {
    let server = Server::new(TcpListener::bind("127.0.0.1:0").await.unwrap());
    let addr = server.local_addr().unwrap();
    let app = axum::Router::new().route_service("/wechat", bot());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let served = tokio::spawn(server.serve_with_shutdown(app, async {
        let _ = stopped.await;
    }));
    assert_echoed(addr, "before shutdown").await;
    stop.send(()).unwrap();
    timeout(GENEROUS, served)
        .await
        .expect("serve_with_shutdown returns")
        .unwrap()
        .unwrap();
    assert!(TcpStream::connect(addr).await.is_err());
}
