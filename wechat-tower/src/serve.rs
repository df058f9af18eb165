//! A serving loop with limits: [`Server`], HTTP/1.1 over a [`TcpListener`] for an axum `Router`,
//! a [`WechatLayer`](crate::WechatLayer) stack or any tower service.
//!
//! # Why
//!
//! `axum::serve` and a bare hyper `http1::Builder` wait on each connection as long as the client
//! likes. A client that sends its request head one byte a second (slowloris), or connects and
//! sends nothing (a half-open connection), holds a socket, a task and its buffers for good; a
//! few thousand of them use up file descriptors and memory, and WeChat's correctly signed pushes
//! time out behind them (WeChat waits 5 s for an answer). `Server` bounds each phase of a
//! connection and the number of connections:
//!
//! | setting | default | bounds | when it runs out |
//! |---|---|---|---|
//! | [`header_read_timeout`](Server::header_read_timeout) | 10 s | the request head: from accept, or on a keep-alive connection from the first byte of the next request, to the blank line | the connection is closed |
//! | [`request_timeout`](Server::request_timeout) | 30 s | from the complete head until the response is written: a trickling body, a stuck handler, a client that does not read its answer | the connection is closed, without a response (one may be half written) |
//! | [`idle_timeout`](Server::idle_timeout) | 60 s | a keep-alive connection with no request | the connection is shut down gracefully |
//! | [`max_connections`](Server::max_connections) | 10 000 | open connections | new connections are not accepted: they wait in the listen backlog until one closes |
//!
//! Each open connection costs this process about 10 KiB before its first byte and about 15 KiB
//! while it sends a head slowly (its task, hyper's read buffer, the timers; measured as RSS with
//! 4000 connections to the release `echo-bot` on Linux x86-64), plus the kernel's socket
//! buffers: the default cap keeps a flood of slow connections near 150 MiB.
//!
//! hyper 1 has a `header_read_timeout` of its own (with a `Timer`), but in hyper 1.12 its clock
//! also runs while a keep-alive connection waits for its next request, so it doubles as an idle
//! timeout of the same length. `Server` keeps hyper's off and watches each connection itself (a
//! small watchdog in the connection's task, fed by the socket's reads and the service's calls),
//! so that the head deadline and the idle deadline are separate settings.
//!
//! # With axum
//!
//! An axum 0.8 `Router` is a tower service: pass it as it is, where you had
//! `axum::serve(listener, app)`.
//!
//! ```no_run
//! use std::time::Duration;
//!
//! use tower::Layer;
//! use wechat_tower::serve::Server;
//! use wechat_tower::{Router, WechatConfig, WechatLayer};
//! use wechat_tower::message::TextMessage;
//!
//! async fn echo(msg: TextMessage) -> String {
//!     msg.content
//! }
//!
//! # #[tokio::main] async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let router = Router::new().handler(echo).build()?;
//! let bot = WechatLayer::new(WechatConfig::plaintext("token")).layer(router);
//! let app = axum::Router::new().route_service("/wechat", bot);
//!
//! let listener = tokio::net::TcpListener::bind("0.0.0.0:3000").await?;
//! Server::new(listener)
//!     .header_read_timeout(Duration::from_secs(5))
//!     .serve_with_shutdown(app, async {
//!         let _ = tokio::signal::ctrl_c().await;
//!     })
//!     .await?;
//! # Ok(()) }
//! ```
//!
//! # With hyper alone
//!
//! A [`WechatLayer`](crate::WechatLayer) stack needs no router: every path is the endpoint.
//!
//! ```no_run
//! use std::convert::Infallible;
//!
//! use tower::{Layer, service_fn};
//! use wechat_tower::serve::Server;
//! use wechat_tower::{Message, Reply, WechatConfig, WechatLayer};
//!
//! # #[tokio::main] async fn main() -> std::io::Result<()> {
//! let echo = service_fn(|msg: Message| async move {
//!     Ok::<_, Infallible>(match msg {
//!         Message::Text(text) => Reply::text(text.content),
//!         _ => Reply::Success,
//!     })
//! });
//! let bot = WechatLayer::new(WechatConfig::plaintext("token")).layer(echo);
//! let listener = tokio::net::TcpListener::bind("0.0.0.0:3000").await?;
//! Server::new(listener).serve(bot).await
//! # }
//! ```
//!
//! # What it does not do
//!
//! HTTP/1.1 only: no HTTP/2, no TLS, no upgrades (WebSocket). The limits are per process and
//! know nothing of client addresses: they bound what each connection can hold and for how long,
//! but a client that opens `max_connections / header_read_timeout` connections a second (1000 a
//! second at the defaults) and keeps them silent still holds every slot, and new connections,
//! WeChat's included, wait behind it. In production put a reverse proxy in front (nginx, a
//! cloud load balancer): it terminates TLS, limits connections and rates per client address,
//! and buffers slow clients before they reach this process. These limits are the last line,
//! not the only one.

use std::future::{Future, pending};
use std::io;
use std::net::SocketAddr;
use std::pin::{Pin, pin};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll, ready};
use std::time::Duration;

use bytes::Bytes;
use http::{Request, Response};
use http_body::{Body, Frame, SizeHint};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::TokioIo;
use pin_project_lite::pin_project;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore, watch};
use tokio::time::Instant;
use tower::ServiceExt;
use tower::util::Oneshot;
use tower_service::Service;

use crate::BoxError;

/// The default [`Server::header_read_timeout`]: 10 s.
pub const DEFAULT_HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);
/// The default [`Server::request_timeout`]: 30 s.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// The default [`Server::idle_timeout`]: 60 s.
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(60);
/// The default [`Server::max_connections`]: 10 000.
pub const DEFAULT_MAX_CONNECTIONS: usize = 10_000;

/// The first pause after a failed `accept` (out of file descriptors, ...); it doubles on each
/// failure in a row up to [`ACCEPT_BACKOFF_MAX`], as Go's `net/http` does.
const ACCEPT_BACKOFF_MIN: Duration = Duration::from_millis(5);
const ACCEPT_BACKOFF_MAX: Duration = Duration::from_secs(1);

/// An HTTP/1.1 server with a header-read, request and idle timeout and a connection cap.
///
/// `Server::new(listener)` has the defaults of the [module docs](self); the setters change them,
/// then [`serve`](Self::serve) or [`serve_with_shutdown`](Self::serve_with_shutdown) runs it.
/// See the module docs.
#[must_use = "a Server does nothing until `serve` or `serve_with_shutdown` is awaited"]
#[derive(Debug)]
pub struct Server {
    listener: TcpListener,
    limits: Limits,
    max_connections: usize,
}

/// The per-connection deadlines.
#[derive(Debug, Clone, Copy)]
struct Limits {
    header_read: Duration,
    request: Duration,
    idle: Duration,
}

impl Server {
    /// A server on `listener` with the default limits: 10 s to read a request head, 30 s from
    /// head to response, 60 s of keep-alive idleness, 10 000 connections.
    pub fn new(listener: TcpListener) -> Self {
        Self {
            listener,
            limits: Limits {
                header_read: DEFAULT_HEADER_READ_TIMEOUT,
                request: DEFAULT_REQUEST_TIMEOUT,
                idle: DEFAULT_IDLE_TIMEOUT,
            },
            max_connections: DEFAULT_MAX_CONNECTIONS,
        }
    }

    /// How long the whole request head (request line and headers) may take to arrive, counted
    /// from accept for a connection's first request and from the first byte of the next request
    /// on a keep-alive connection. A connection that is late is closed. Default 10 s.
    pub fn header_read_timeout(mut self, timeout: Duration) -> Self {
        self.limits.header_read = timeout;
        self
    }

    /// How long a request may take from its complete head until its response is written: the
    /// body's arrival, the handler, and the client reading the answer. A request that is late
    /// has its connection closed (without a response: one may be half written). Default 30 s.
    ///
    /// It also bounds how long [`serve_with_shutdown`](Self::serve_with_shutdown) waits for
    /// requests in flight.
    pub fn request_timeout(mut self, timeout: Duration) -> Self {
        self.limits.request = timeout;
        self
    }

    /// How long a keep-alive connection may wait for its next request; then it is shut down
    /// gracefully. Default 60 s. `Duration::ZERO` closes each connection after its response.
    pub fn idle_timeout(mut self, timeout: Duration) -> Self {
        self.limits.idle = timeout;
        self
    }

    /// How many connections may be open at once. Default 10 000; 0 counts as 1.
    ///
    /// At the cap the server stops accepting: new connections wait in the kernel's listen
    /// backlog and are served in turn as open ones close, which the timeouts guarantee; beyond
    /// the backlog the kernel drops new connection attempts and clients retry them. Waiting
    /// rather than refusing keeps a burst's requests instead of failing them, and costs this
    /// process nothing. The backlog of `TcpListener::bind` is 128 (as std's); for a longer one
    /// bind with `tokio::net::TcpSocket` and `listen(n)` (Linux caps it at
    /// `net.core.somaxconn`).
    ///
    /// Each open connection costs this process about 10–15 KiB while it waits for a head (more
    /// while it carries a large request; see the module docs), plus the kernel's socket buffers:
    /// size the cap from the memory and the file descriptor limit (`ulimit -n`) you have.
    pub fn max_connections(mut self, max: usize) -> Self {
        self.max_connections = max;
        self
    }

    /// The address the listener is bound to (the port, when it was bound to port 0).
    ///
    /// # Errors
    ///
    /// The listener's own error, as [`TcpListener::local_addr`].
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Serves `service` until the process ends (or this future is dropped).
    ///
    /// Each connection gets its own clone of `service` (so cloning must be cheap, as for
    /// hyper-util's `TowerToHyperService`), and each request a clone of that, driven with
    /// `poll_ready` then `call`.
    ///
    /// # Errors
    ///
    /// None so far: failed accepts are logged and retried after a pause. The `io::Result` is
    /// `axum::serve`'s, so that call sites read the same.
    pub async fn serve<S, B>(self, service: S) -> io::Result<()>
    where
        S: Service<Request<Incoming>, Response = Response<B>> + Clone + Send + 'static,
        S::Future: Send,
        S::Error: Into<BoxError>,
        B: Body<Data = Bytes> + Send + 'static,
        B::Error: Into<BoxError>,
    {
        self.serve_with_shutdown(service, pending()).await
    }

    /// Serves `service` until `signal` completes, then shuts down gracefully: the listener is
    /// closed (new connections are refused), idle connections are closed, and requests in
    /// flight finish (within [`request_timeout`](Self::request_timeout)) before this returns.
    ///
    /// # Errors
    ///
    /// As [`serve`](Self::serve).
    pub async fn serve_with_shutdown<S, B, F>(self, service: S, signal: F) -> io::Result<()>
    where
        S: Service<Request<Incoming>, Response = Response<B>> + Clone + Send + 'static,
        S::Future: Send,
        S::Error: Into<BoxError>,
        B: Body<Data = Bytes> + Send + 'static,
        B::Error: Into<BoxError>,
        F: Future<Output = ()>,
    {
        let Self {
            listener,
            limits,
            max_connections,
        } = self;
        let max_connections = max_connections.clamp(1, Semaphore::MAX_PERMITS);
        let slots = Arc::new(Semaphore::new(max_connections));
        // Each connection holds a receiver; `closed()` tells when the last one has ended.
        let (stop, _) = watch::channel(false);
        let mut signal = pin!(signal);
        let mut backoff = ACCEPT_BACKOFF_MIN;
        // Warn once per stretch at the cap, not once per connection.
        let mut warned = false;
        loop {
            // A slot before `accept`: at the cap, connections wait in the listen backlog.
            let slot = match Arc::clone(&slots).try_acquire_owned() {
                Ok(slot) => {
                    warned = false;
                    slot
                }
                Err(_) => {
                    if !warned {
                        tracing::warn!(
                            max_connections,
                            "connection limit reached: new connections wait in the listen backlog"
                        );
                        warned = true;
                    }
                    tokio::select! {
                        slot = Arc::clone(&slots).acquire_owned() => match slot {
                            Ok(slot) => slot,
                            // Never closed: it lives in this function.
                            Err(_) => break,
                        },
                        () = signal.as_mut() => break,
                    }
                }
            };
            let (socket, peer) = tokio::select! {
                accepted = listener.accept() => match accepted {
                    Ok(accepted) => {
                        backoff = ACCEPT_BACKOFF_MIN;
                        accepted
                    }
                    Err(err) if is_connection_error(&err) => {
                        tracing::debug!(%err, "a connection failed before it was accepted");
                        continue;
                    }
                    Err(err) => {
                        tracing::warn!(%err, ?backoff, "accept failed; pausing before the next one");
                        tokio::select! {
                            () = tokio::time::sleep(backoff) => {}
                            () = signal.as_mut() => break,
                        }
                        backoff = (backoff * 2).min(ACCEPT_BACKOFF_MAX);
                        continue;
                    }
                },
                () = signal.as_mut() => break,
            };
            // Small requests and answers: do not wait for Nagle's algorithm.
            let _ = socket.set_nodelay(true);
            tokio::spawn(connection(
                socket,
                peer,
                service.clone(),
                limits,
                stop.subscribe(),
                slot,
            ));
        }
        // Stop accepting: the backlog's connections are refused rather than left waiting.
        drop(listener);
        tracing::debug!("shutting down: waiting for open connections");
        stop.send_replace(true);
        stop.closed().await;
        Ok(())
    }
}

/// Failures of one connection that `accept` reports; the listener itself is fine.
fn is_connection_error(err: &io::Error) -> bool {
    matches!(
        err.kind(),
        io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
    )
}

/// Serves one connection under its watchdog; the slot is freed when it ends.
async fn connection<S, B>(
    socket: TcpStream,
    peer: SocketAddr,
    service: S,
    limits: Limits,
    mut stop: watch::Receiver<bool>,
    _slot: OwnedSemaphorePermit,
) where
    S: Service<Request<Incoming>, Response = Response<B>> + Clone + Send + 'static,
    S::Future: Send,
    S::Error: Into<BoxError>,
    B: Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    let activity = Arc::new(Activity::new(limits));
    let io = TokioIo::new(WatchedIo {
        inner: socket,
        activity: Arc::clone(&activity),
    });
    let service = Tracked {
        inner: service,
        activity: Arc::clone(&activity),
    };
    let mut conn = pin!(
        http1::Builder::new()
            // hyper's own timer would also cut keep-alive connections at the head deadline
            // (see the module docs); the watchdog below keeps time instead.
            .header_read_timeout(None)
            .serve_connection(io, service)
    );
    // Set once `graceful_shutdown` has been called (idle timeout, or the server stopping).
    let mut closing = false;
    loop {
        let woken = activity.woken.notified();
        let (phase, deadline) = activity.arm();
        if deadline.is_some_and(|deadline| deadline <= Instant::now()) {
            if phase == Phase::Idle && !closing {
                tracing::debug!(%peer, "idle timeout: closing the keep-alive connection");
                conn.as_mut().graceful_shutdown();
                closing = true;
                activity.set_closing();
                continue;
            }
            tracing::debug!(%peer, ?phase, "timeout: dropping the connection");
            return;
        }
        tokio::select! {
            ended = conn.as_mut() => {
                if let Err(err) = ended {
                    tracing::debug!(%peer, %err, "connection ended with an error");
                }
                return;
            }
            // Then the phase is looked at again: it may have moved on.
            () = sleep_until(deadline) => {}
            () = woken => {}
            _ = stop.changed(), if !closing => {
                conn.as_mut().graceful_shutdown();
                closing = true;
                activity.set_closing();
            }
        }
    }
}

/// Sleeps until `deadline`, or for ever without one (a timeout too long to represent).
async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => pending().await,
    }
}

/// Where a connection is in its life, which decides its deadline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Waiting for a request head to complete: from accept, or from the first byte after a
    /// response. `header_read_timeout`.
    Head,
    /// A request in the service, or its response being written. `request_timeout`.
    Busy,
    /// Keep-alive, nothing received since the last response. `idle_timeout`.
    Idle,
}

/// What the watchdog of one connection watches: updated by the socket's reads and the
/// service's calls, read by the connection's task.
///
/// The watchdog sleeps towards the deadline it last read (`armed`), then looks again. A change
/// of phase wakes it only when the new deadline is earlier than that one (a request timeout
/// shorter than the head timeout, a head starting on an idle connection), so that a request on
/// a keep-alive connection costs at most one extra wake-up, not one per change.
#[derive(Debug)]
struct Activity {
    state: Mutex<ActivityState>,
    limits: Limits,
    woken: Notify,
}

#[derive(Debug, Clone, Copy)]
struct ActivityState {
    /// Requests in the service or writing their response (hyper runs one at a time).
    in_flight: usize,
    /// Bytes arrived while no request was in flight: a head is being read.
    reading: bool,
    /// When the current phase began.
    since: Instant,
    /// `graceful_shutdown` was called: an idle connection gets one more head timeout to
    /// finish writing before it is dropped.
    closing: bool,
    /// The deadline the watchdog sleeps towards; `None` before it first looks, or for ever.
    armed: Option<Instant>,
}

impl ActivityState {
    /// The phase and its deadline (`None`: too far to represent).
    fn deadline(&self, limits: Limits) -> (Phase, Option<Instant>) {
        let (phase, timeout) = if self.in_flight > 0 {
            (Phase::Busy, Some(limits.request))
        } else if self.reading {
            (Phase::Head, Some(limits.header_read))
        } else if self.closing {
            (Phase::Idle, limits.idle.checked_add(limits.header_read))
        } else {
            (Phase::Idle, Some(limits.idle))
        };
        let deadline = timeout.and_then(|timeout| self.since.checked_add(timeout));
        (phase, deadline)
    }
}

impl Activity {
    fn new(limits: Limits) -> Self {
        Self {
            // A new connection owes its first head from the start.
            state: Mutex::new(ActivityState {
                in_flight: 0,
                reading: true,
                since: Instant::now(),
                closing: false,
                armed: None,
            }),
            limits,
            woken: Notify::new(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, ActivityState> {
        // Nothing panics while the lock is held; a poisoned state is still consistent.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The phase and its deadline, which the watchdog is about to sleep towards.
    fn arm(&self) -> (Phase, Option<Instant>) {
        let mut state = self.lock();
        let (phase, deadline) = state.deadline(self.limits);
        state.armed = deadline;
        (phase, deadline)
    }

    /// `graceful_shutdown` was called (the idle deadline only moves later: no wake-up).
    fn set_closing(&self) {
        self.lock().closing = true;
    }

    /// After a change of phase: wakes the watchdog if the new deadline is earlier than the one
    /// it sleeps towards.
    fn changed(&self, state: MutexGuard<'_, ActivityState>) {
        let (_, deadline) = state.deadline(self.limits);
        let earlier = match (deadline, state.armed) {
            (Some(deadline), Some(armed)) => deadline < armed,
            (Some(_), None) => true,
            (None, _) => false,
        };
        drop(state);
        if earlier {
            self.woken.notify_one();
        }
    }

    /// Bytes arrived from the client.
    fn on_read(&self) {
        let mut state = self.lock();
        if state.in_flight == 0 && !state.reading {
            state.reading = true;
            state.since = Instant::now();
            self.changed(state);
        }
    }

    /// A request head is complete and goes to the service.
    fn request_started(self: &Arc<Self>) -> RequestGuard {
        let mut state = self.lock();
        if state.in_flight == 0 {
            state.since = Instant::now();
        }
        state.in_flight += 1;
        state.reading = false;
        self.changed(state);
        RequestGuard(Arc::clone(self))
    }
}

/// Held from a request's call until its response body is done (or the call failed); dropping
/// it makes the connection idle again.
#[derive(Debug)]
struct RequestGuard(Arc<Activity>);

impl Drop for RequestGuard {
    fn drop(&mut self) {
        let mut state = self.0.lock();
        state.in_flight = state.in_flight.saturating_sub(1);
        if state.in_flight == 0 {
            state.reading = false;
            state.since = Instant::now();
            self.0.changed(state);
        }
    }
}

/// The socket, telling the watchdog when bytes arrive.
#[derive(Debug)]
struct WatchedIo {
    inner: TcpStream,
    activity: Arc<Activity>,
}

impl AsyncRead for WatchedIo {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        if matches!(polled, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.activity.on_read();
        }
        polled
    }
}

impl AsyncWrite for WatchedIo {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// The user's service as hyper calls it: marks the connection busy from the call until the
/// response body is done, and drives a clone of the tower service per request (`oneshot`), as
/// hyper-util's `TowerToHyperService` does. The request counts as busy from the complete head
/// on, also while the service is not ready.
#[derive(Debug, Clone)]
struct Tracked<S> {
    inner: S,
    activity: Arc<Activity>,
}

impl<S, B> hyper::service::Service<Request<Incoming>> for Tracked<S>
where
    S: Service<Request<Incoming>, Response = Response<B>> + Clone,
{
    type Response = Response<TrackedBody<B>>;
    type Error = S::Error;
    type Future = TrackedFuture<Oneshot<S, Request<Incoming>>>;

    fn call(&self, req: Request<Incoming>) -> Self::Future {
        let guard = self.activity.request_started();
        TrackedFuture {
            inner: self.inner.clone().oneshot(req),
            guard: Some(guard),
        }
    }
}

pin_project! {
    /// The service's future; hands the request's guard on to the response body.
    struct TrackedFuture<F> {
        #[pin]
        inner: F,
        guard: Option<RequestGuard>,
    }
}

impl<F, B, E> Future for TrackedFuture<F>
where
    F: Future<Output = Result<Response<B>, E>>,
{
    type Output = Result<Response<TrackedBody<B>>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let res = ready!(this.inner.poll(cx));
        let guard = this.guard.take();
        Poll::Ready(res.map(|res| res.map(|inner| TrackedBody { inner, guard })))
    }
}

pin_project! {
    /// The response body; the request stays busy until it ends or hyper drops it.
    struct TrackedBody<B> {
        #[pin]
        inner: B,
        guard: Option<RequestGuard>,
    }
}

impl<B: Body> Body for TrackedBody<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        let this = self.project();
        let frame = this.inner.poll_frame(cx);
        if let Poll::Ready(None) = frame {
            this.guard.take();
        }
        frame
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use std::convert::Infallible;

    use http_body_util::Full;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tower::service_fn;

    use super::*;

    fn limits() -> Limits {
        Limits {
            header_read: Duration::from_secs(10),
            request: Duration::from_secs(30),
            idle: Duration::from_secs(60),
        }
    }

    #[tokio::test]
    async fn defaults_are_the_documented_ones() {
        let server = Server::new(TcpListener::bind("127.0.0.1:0").await.unwrap());
        assert_eq!(server.limits.header_read, DEFAULT_HEADER_READ_TIMEOUT);
        assert_eq!(server.limits.request, DEFAULT_REQUEST_TIMEOUT);
        assert_eq!(server.limits.idle, DEFAULT_IDLE_TIMEOUT);
        assert_eq!(server.max_connections, DEFAULT_MAX_CONNECTIONS);
        assert_eq!(DEFAULT_HEADER_READ_TIMEOUT, Duration::from_secs(10));
        assert_eq!(DEFAULT_MAX_CONNECTIONS, 10_000);
    }

    /// Whether the watchdog was woken since last asked (takes the stored wake-up).
    fn woken(activity: &Activity) -> bool {
        let notified = pin!(activity.woken.notified());
        notified
            .poll(&mut Context::from_waker(std::task::Waker::noop()))
            .is_ready()
    }

    #[tokio::test(start_paused = true)]
    async fn phases_follow_reads_calls_and_response_ends() {
        let activity = Arc::new(Activity::new(limits()));
        let start = Instant::now();
        assert_eq!(
            activity.arm(),
            (Phase::Head, Some(start + Duration::from_secs(10)))
        );
        tokio::time::advance(Duration::from_secs(1)).await;
        let guard = activity.request_started();
        let busy = Instant::now();
        assert_eq!(
            activity.arm(),
            (Phase::Busy, Some(busy + Duration::from_secs(30)))
        );
        // Body bytes during a request do not restart anything.
        activity.on_read();
        assert_eq!(activity.arm().0, Phase::Busy);
        tokio::time::advance(Duration::from_secs(1)).await;
        drop(guard);
        let idle = Instant::now();
        assert_eq!(
            activity.arm(),
            (Phase::Idle, Some(idle + Duration::from_secs(60)))
        );
        tokio::time::advance(Duration::from_secs(5)).await;
        activity.on_read();
        let head = Instant::now();
        assert_eq!(
            activity.arm(),
            (Phase::Head, Some(head + Duration::from_secs(10)))
        );
        // Later bytes of the same head keep the head's first deadline.
        tokio::time::advance(Duration::from_secs(1)).await;
        activity.on_read();
        assert_eq!(
            activity.arm(),
            (Phase::Head, Some(head + Duration::from_secs(10)))
        );
    }

    #[tokio::test(start_paused = true)]
    async fn closing_gives_an_idle_connection_one_more_head_timeout() {
        let activity = Arc::new(Activity::new(limits()));
        drop(activity.request_started());
        let idle = Instant::now();
        activity.set_closing();
        assert_eq!(
            activity.arm(),
            (Phase::Idle, Some(idle + Duration::from_secs(70)))
        );
    }

    #[tokio::test(start_paused = true)]
    async fn the_watchdog_is_woken_only_for_an_earlier_deadline() {
        // Defaults: each change moves the deadline later; the watchdog looks at its own time.
        let activity = Arc::new(Activity::new(limits()));
        activity.arm();
        let guard = activity.request_started();
        assert!(!woken(&activity), "head → busy is later");
        activity.arm();
        drop(guard);
        assert!(!woken(&activity), "busy → idle is later");
        activity.arm();
        // A head on an idle connection owes it within 10 s, not the idle 60 s.
        activity.on_read();
        assert!(woken(&activity), "idle → head is earlier");

        // A request timeout shorter than the head timeout, an idle one shorter than both.
        let short = Limits {
            header_read: Duration::from_secs(10),
            request: Duration::from_secs(1),
            idle: Duration::from_millis(500),
        };
        let activity = Arc::new(Activity::new(short));
        activity.arm();
        let guard = activity.request_started();
        assert!(woken(&activity), "head → busy is earlier");
        activity.arm();
        drop(guard);
        assert!(woken(&activity), "busy → idle is earlier");
    }

    #[tokio::test]
    async fn a_timeout_too_long_to_represent_never_fires_and_never_panics() {
        let forever = Limits {
            header_read: Duration::MAX,
            request: Duration::MAX,
            idle: Duration::MAX,
        };
        let activity = Arc::new(Activity::new(forever));
        assert_eq!(activity.arm(), (Phase::Head, None));
        activity.set_closing();
        drop(activity.request_started());
        assert_eq!(activity.arm(), (Phase::Idle, None));
    }

    #[tokio::test]
    async fn zero_max_connections_still_serves_one_at_a_time() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let server = Server::new(listener).max_connections(0);
        let addr = server.local_addr().unwrap();
        let service = service_fn(|_: Request<Incoming>| async {
            Ok::<_, Infallible>(Response::new(Full::new(Bytes::from_static(b"ok"))))
        });
        tokio::spawn(server.serve(service));
        let mut client = TcpStream::connect(addr).await.unwrap();
        client
            .write_all(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            .await
            .unwrap();
        let mut answer = Vec::new();
        client.read_to_end(&mut answer).await.unwrap();
        assert!(answer.starts_with(b"HTTP/1.1 200 OK"), "{answer:?}");
        assert!(answer.ends_with(b"ok"));
    }

    #[tokio::test]
    async fn shutdown_lets_the_request_in_flight_finish_and_refuses_new_connections() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let server = Server::new(listener);
        let addr = server.local_addr().unwrap();
        let (started_tx, started_rx) = tokio::sync::oneshot::channel::<()>();
        let started_tx = Arc::new(Mutex::new(Some(started_tx)));
        let service = service_fn(move |_: Request<Incoming>| {
            let started_tx = Arc::clone(&started_tx);
            async move {
                if let Some(tx) = started_tx.lock().unwrap().take() {
                    let _ = tx.send(());
                }
                tokio::time::sleep(Duration::from_millis(300)).await;
                Ok::<_, Infallible>(Response::new(Full::new(Bytes::from_static(b"done"))))
            }
        });
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let served = tokio::spawn(server.serve_with_shutdown(service, async {
            let _ = stop_rx.await;
        }));
        let mut client = TcpStream::connect(addr).await.unwrap();
        client
            .write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            .await
            .unwrap();
        started_rx.await.unwrap();
        stop_tx.send(()).unwrap();
        let mut answer = Vec::new();
        // Keep-alive was asked for, but the server closes after this answer.
        tokio::time::timeout(Duration::from_secs(10), client.read_to_end(&mut answer))
            .await
            .unwrap()
            .unwrap();
        assert!(answer.starts_with(b"HTTP/1.1 200 OK"), "{answer:?}");
        assert!(answer.ends_with(b"done"));
        tokio::time::timeout(Duration::from_secs(10), served)
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        assert!(TcpStream::connect(addr).await.is_err());
    }
}
