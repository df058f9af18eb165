//! [`RouterService`]: the built router, a `tower::Service<Message, Response = Reply>`.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use tokio::time::Instant;
use tower_service::Service;
use tracing::Instrument;
use wechat_core::{Message, Reply};

use super::deadline::{LateReply, LateReplySink};
use super::dedup::{DedupKey, FailMode, Join, Record, RetryCache};
use super::run::{Completion, Handoff, Outcome, Run, Waiter};
use super::shared::{Claim, Failed, SharedRecord, claim_marker};
use super::table::Table;
use crate::handler::{self, ErasedHandler};
use crate::store::StoreError;

/// The built router: a `tower::Service<Message, Response = Reply, Error = Refused>`, what the
/// `XmlLayer` calls. Built by [`Router::build`](super::Router::build). See the
/// [module docs](crate::router).
///
/// It fails only with a retry record in a shared store set to [`FailMode::Closed`], while that
/// store fails: see [`Refused`].
///
/// Cloning is cheap (one `Arc`), and every clone shares the routes and the retry cache.
///
/// A handler runs inside the call that delivered its message until it answers or the deadline
/// passes; then (or when that call is dropped) it goes on in a Tokio task of its own, so a slow
/// handler outlives its delivery. A panicking handler answers `success` instead of tearing down
/// the connection. The service must be called inside a Tokio runtime with the time driver
/// enabled (`#[tokio::main]` has it).
#[derive(Clone)]
pub struct RouterService {
    inner: Arc<Inner>,
}

pub(super) struct Inner {
    pub(super) table: Table<Endpoint>,
    pub(super) app_id: Option<Arc<str>>,
    pub(super) cache: Option<RetryCache>,
    pub(super) shared: Option<Arc<SharedRecord>>,
    pub(super) deadline: Option<Duration>,
    pub(super) sink: Arc<dyn LateReplySink>,
}

/// A mounted handler.
pub(super) struct Endpoint {
    pub(super) name: &'static str,
    pub(super) handler: Arc<dyn ErasedHandler<()>>,
}

impl RouterService {
    pub(super) fn new(inner: Inner) -> Self {
        Self {
            inner: Arc::new(inner),
        }
    }

    /// The name of the handler that would answer `msg` (its path, as
    /// [`std::any::type_name`] gives it: `my_bot::echo` for an `async fn`, marked
    /// `#[wechat_handler]` or not), or `None` when no route takes it and it would be
    /// answered `success`. Picks the handler exactly as a call does, without running it; for
    /// tests and diagnostics.
    #[must_use]
    pub fn handler_for(&self, msg: &Message) -> Option<&'static str> {
        self.inner.table.find(msg).map(|endpoint| endpoint.name)
    }

    /// The retry record, when it is on.
    #[cfg(test)]
    pub(super) fn dedup_cache(&self) -> Option<&RetryCache> {
        self.inner.cache.as_ref()
    }
}

impl fmt::Debug for RouterService {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RouterService")
            .field("app_id", &self.inner.app_id)
            .field("dedup", &self.inner.cache.is_some())
            .field("shared_dedup", &self.inner.shared)
            .field("deadline", &self.inner.deadline)
            .finish_non_exhaustive()
    }
}

/// The router refused a delivery: its retry record is in a shared store
/// ([`Router::dedup_store`](super::Router::dedup_store)) set to [`FailMode::Closed`], and the
/// store failed (or did not answer before the deadline). `XmlLayer` and `WechatLayer` answer
/// `503 Service Unavailable`, so WeChat retries; the handler did not run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused {
    cause: StoreError,
}

impl Refused {
    /// What the store did.
    #[must_use]
    pub fn cause(&self) -> &StoreError {
        &self.cause
    }
}

impl fmt::Display for Refused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "delivery refused: the shared retry record is unavailable ({})",
            self.cause
        )
    }
}

impl std::error::Error for Refused {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.cause)
    }
}

impl Service<Message> for RouterService {
    type Response = Reply;
    type Error = Refused;
    type Future = ResponseFuture;

    /// Always ready. A router cannot honour the backpressure of the one handler a message will
    /// reach before it has the message, and handlers are plain async fns without readiness of
    /// their own; as axum's router does, readiness is not propagated (tower's guidance for
    /// routers). Bound the load in front of the router instead (`ConcurrencyLimitLayer`,
    /// `LoadShedLayer`).
    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Refused>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, msg: Message) -> ResponseFuture {
        let inner = Arc::clone(&self.inner);
        let arrived = Instant::now();
        ResponseFuture {
            inner: Box::pin(async move { inner.dispatch(msg, arrived).await }),
        }
    }
}

impl Inner {
    async fn dispatch(&self, msg: Message, arrived: Instant) -> Result<Reply, Refused> {
        let Some(endpoint) = self.table.find(&msg) else {
            tracing::debug!(
                msg_type = msg.msg_type(),
                event = msg.as_event().map(wechat_core::Event::event),
                "no handler for the message; answering `success`",
            );
            return Ok(Reply::Success);
        };
        let Some(cache) = &self.cache else {
            let (run, waiter) = Run::start_single();
            let completion = Completion::new(run, None);
            return Ok(self
                .run(completion, waiter, endpoint, msg, arrived, None)
                .await);
        };
        loop {
            match cache.join(DedupKey::of(&msg), Instant::now()) {
                Join::Done(reply) => {
                    tracing::debug!(
                        "repeated delivery (retry or replay) answered from the retry record"
                    );
                    return Ok(reply);
                }
                Join::Wait(waiter) => {
                    tracing::debug!("retry waits for the handler of its first delivery");
                    match waiter.wait(self.deadline.map(|d| arrived + d)).await {
                        Outcome::Reply(reply) => return Ok(reply),
                        Outcome::Deadline => return Ok(deadline_passed()),
                        // The delivery it waited for gave up without a reply: start over.
                        Outcome::Abandoned => {}
                    }
                }
                Join::Start(run, waiter, record) => {
                    let Some(shared) = &self.shared else {
                        let completion = Completion::new(run, Some(record));
                        return Ok(self
                            .run(completion, waiter, endpoint, msg, arrived, None)
                            .await);
                    };
                    let pending = Pending {
                        key: SharedRecord::key(record.key()),
                        run,
                        record: Some(record),
                        claim: None,
                    };
                    return self
                        .shared(shared, pending, waiter, endpoint, msg, arrived)
                        .await;
                }
            }
        }
    }

    /// A new message in this process, with the record in a shared store: claim it there, or
    /// get (or wait for) the reply of the instance that did.
    async fn shared(
        &self,
        shared: &Arc<SharedRecord>,
        mut pending: Pending,
        waiter: Waiter,
        endpoint: &Endpoint,
        msg: Message,
        arrived: Instant,
    ) -> Result<Reply, Refused> {
        let deadline = self.deadline.map(|d| arrived + d);
        let key = pending.key.clone();
        let marker = claim_marker();
        // Until the claim's outcome is known, dropping this delivery releases it.
        pending.claim = Some((Arc::clone(shared), marker.clone()));
        let first = shared.claim(&key, &marker, deadline).await;
        if matches!(first, Ok(Claim::Answered(_) | Claim::Running)) {
            // The claim did not land.
            pending.claim = None;
        }
        let claim = match first {
            Ok(Claim::Running) => {
                tracing::debug!("another instance runs the handler; waiting for its reply");
                shared.wait(&key, deadline).await
            }
            other => other.map(Some),
        };
        match claim {
            Ok(Some(Claim::Won(_))) => {
                let completion = pending.completion();
                let settle = Some(Settle {
                    record: Arc::clone(shared),
                    key,
                    detached: false,
                });
                Ok(self
                    .run(completion, waiter, endpoint, msg, arrived, settle)
                    .await)
            }
            Ok(Some(Claim::Answered(reply))) => {
                tracing::debug!("repeated delivery answered from the shared retry record");
                // This delivery waits, so the reply is not late.
                let _ = pending.completion().finish(reply.clone());
                Ok(reply)
            }
            Ok(Some(Claim::Running) | None) => {
                // Still running elsewhere at the deadline: a later retry reads the store again.
                drop(pending);
                Ok(deadline_passed())
            }
            Err(Failed { error, marker }) => {
                pending.claim = None;
                shared.warn_failed(&error);
                match shared.fail_mode() {
                    FailMode::Open => {
                        let completion = pending.completion();
                        // Should the claim land after all, the reply replaces it.
                        // On a task of its own: the store is failing, the answer must not wait.
                        let settle = marker.map(|_| Settle {
                            record: Arc::clone(shared),
                            key,
                            detached: true,
                        });
                        Ok(self
                            .run(completion, waiter, endpoint, msg, arrived, settle)
                            .await)
                    }
                    FailMode::Closed => {
                        drop(pending);
                        if let Some(marker) = marker {
                            shared.release(key, marker);
                        }
                        Err(Refused { cause: error })
                    }
                }
            }
        }
    }

    /// Runs the handler on a new run: drives it here until it answers or the deadline passes;
    /// then it goes on in a task of its own (so does it if this delivery is dropped).
    async fn run(
        &self,
        completion: Completion,
        waiter: Waiter,
        endpoint: &Endpoint,
        msg: Message,
        arrived: Instant,
        settle: Option<Settle>,
    ) -> Reply {
        let mut work = Handoff::new(self.work(completion, endpoint, msg, arrived, settle));
        let finished = match self.deadline {
            None => {
                (&mut work).await;
                true
            }
            Some(d) => tokio::time::timeout_at(arrived + d, &mut work)
                .await
                .is_ok(),
        };
        if finished {
            // The common case: the handler answered here, in time.
            if let Some(reply) = waiter.take_if_done() {
                return reply;
            }
        } else {
            work.detach();
        }
        match waiter.wait(self.deadline.map(|d| arrived + d)).await {
            Outcome::Reply(reply) => reply,
            Outcome::Deadline | Outcome::Abandoned => deadline_passed(),
        }
    }

    /// The work of a run: the handler, then its `completion` (a late reply goes to the sink).
    fn work(
        &self,
        completion: Completion,
        endpoint: &Endpoint,
        msg: Message,
        arrived: Instant,
        settle: Option<Settle>,
    ) -> impl Future<Output = ()> + Send + 'static {
        let mut ctx = handler::MessageContext::new(msg.header().clone());
        if let Some(app_id) = &self.app_id {
            ctx = ctx.with_app_id(Arc::clone(app_id));
        }
        let span = tracing::debug_span!(
            "wechat_handler",
            handler = endpoint.name,
            open_id = ctx.open_id(),
            msg_type = msg.msg_type(),
        );
        let handler = Arc::clone(&endpoint.handler);
        let sink = Arc::clone(&self.sink);
        async move {
            let reply = handler.call(msg, &ctx, &()).await;
            let stored = settle.as_ref().map(|settle| settle.record.encode(&reply));
            let late = completion.finish(reply);
            if let (Some(settle), Some(stored)) = (settle, stored) {
                // A late reply goes to the sink only: retries on any instance get `success`,
                // so it is delivered once.
                let value = if late.is_some() {
                    Bytes::from_static(b"S")
                } else {
                    stored
                };
                if settle.detached {
                    tokio::spawn(async move { settle.run(value).await });
                } else {
                    settle.run(value).await;
                }
            }
            if let Some(late) = late {
                sink.deliver(LateReply::new(ctx, late, arrived.elapsed()));
            }
        }
        .instrument(span)
    }
}

/// Where a run keeps its outcome in the shared record: the record, the store key, the claim.
struct Settle {
    record: Arc<SharedRecord>,
    key: String,
    /// Settle on a task of its own rather than before the answer.
    detached: bool,
}

impl Settle {
    async fn run(self, value: Bytes) {
        self.record.settle(&self.key, value).await;
    }
}

fn deadline_passed() -> Reply {
    tracing::debug!("deadline passed; answering `success`");
    Reply::Success
}

/// A new run in this process that has not yet started its handler (nor taken a reply from the
/// shared record). Dropped so (its delivery gave up, failed or was cancelled), it leaves the
/// record and sends its waiters back, so the next delivery asks the shared store again.
struct Pending {
    /// The message's key in the shared store.
    key: String,
    run: Arc<Run>,
    record: Option<Record>,
    /// A claim sent to the store whose outcome is not known yet.
    claim: Option<(Arc<SharedRecord>, Bytes)>,
}

impl Pending {
    /// The completion that settles the run's reply in the record.
    fn completion(mut self) -> Completion {
        self.claim = None;
        Completion::new(Arc::clone(&self.run), self.record.take())
    }
}

impl Drop for Pending {
    fn drop(&mut self) {
        if let Some(record) = self.record.take() {
            record.forget(&self.run);
            self.run.abandon();
        }
        // The delivery was dropped (its connection closed) while its claim was on its way: let
        // the next delivery claim the message afresh rather than wait for a handler that never
        // ran.
        if let Some((shared, marker)) = self.claim.take() {
            shared.release(std::mem::take(&mut self.key), marker);
        }
    }
}

/// The response future of [`RouterService`]: the handler's reply, or `success` at the
/// deadline.
#[must_use = "futures do nothing unless polled"]
pub struct ResponseFuture {
    inner: Pin<Box<dyn Future<Output = Result<Reply, Refused>> + Send + 'static>>,
}

impl Future for ResponseFuture {
    type Output = Result<Reply, Refused>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.inner.as_mut().poll(cx)
    }
}

impl fmt::Debug for ResponseFuture {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResponseFuture").finish_non_exhaustive()
    }
}
