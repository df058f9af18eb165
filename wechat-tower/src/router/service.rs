//! [`RouterService`]: the built router, a `tower::Service<Message, Response = Reply>`.

use std::convert::Infallible;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::time::Instant;
use tower_service::Service;
use tracing::Instrument;
use wechat_core::{Message, Reply};

use super::deadline::{LateReply, LateReplySink};
use super::dedup::{DedupKey, Join, RetryCache};
use super::run::{Completion, Handoff, Run, Waiter};
use super::table::Table;
use crate::handler::{self, ErasedHandler};

/// The built router: a `tower::Service<Message, Response = Reply, Error = Infallible>`, what the
/// `XmlLayer` calls. Built by [`Router::build`](super::Router::build). See the
/// [module docs](crate::router).
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
            .field("deadline", &self.inner.deadline)
            .finish_non_exhaustive()
    }
}

impl Service<Message> for RouterService {
    type Response = Reply;
    type Error = Infallible;
    type Future = ResponseFuture;

    /// Always ready. A router cannot honour the backpressure of the one handler a message will
    /// reach before it has the message, and handlers are plain async fns without readiness of
    /// their own; as axum's router does, readiness is not propagated (tower's guidance for
    /// routers). Bound the load in front of the router instead (`ConcurrencyLimitLayer`,
    /// `LoadShedLayer`).
    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, msg: Message) -> ResponseFuture {
        let inner = Arc::clone(&self.inner);
        let arrived = Instant::now();
        ResponseFuture {
            inner: Box::pin(async move { Ok(inner.dispatch(msg, arrived).await) }),
        }
    }
}

impl Inner {
    async fn dispatch(&self, msg: Message, arrived: Instant) -> Reply {
        let Some(endpoint) = self.table.find(&msg) else {
            tracing::debug!(
                msg_type = msg.msg_type(),
                event = msg.as_event().map(wechat_core::Event::event),
                "no handler for the message; answering `success`",
            );
            return Reply::Success;
        };
        let (completion, waiter) = match &self.cache {
            Some(cache) => match cache.join(DedupKey::of(&msg), Instant::now()) {
                Join::Done(reply) => {
                    tracing::debug!(
                        "repeated delivery (retry or replay) answered from the retry record"
                    );
                    return reply;
                }
                Join::Wait(waiter) => {
                    tracing::debug!("retry waits for the handler of its first delivery");
                    return self.wait(waiter, arrived).await;
                }
                Join::Start(run, waiter, record) => (Completion::new(run, Some(record)), waiter),
            },
            None => {
                let (run, waiter) = Run::start_single();
                (Completion::new(run, None), waiter)
            }
        };
        // Drive the handler here until it answers or the deadline passes; then it goes on in a
        // task of its own (so does it if this delivery is dropped).
        let mut work = Handoff::new(self.work(completion, endpoint, msg, arrived));
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
        self.wait(waiter, arrived).await
    }

    /// The reply of a run, or `success` when the deadline passes first.
    async fn wait(&self, waiter: Waiter, arrived: Instant) -> Reply {
        let deadline = self.deadline.map(|d| arrived + d);
        waiter.wait(deadline).await.unwrap_or_else(|| {
            tracing::debug!("deadline passed; answering `success`, the handler goes on");
            Reply::Success
        })
    }

    /// The work of a run: the handler, then its `completion` (a late reply goes to the sink).
    fn work(
        &self,
        completion: Completion,
        endpoint: &Endpoint,
        msg: Message,
        arrived: Instant,
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
            if let Some(late) = completion.finish(reply) {
                sink.deliver(LateReply::new(ctx, late, arrived.elapsed()));
            }
        }
        .instrument(span)
    }
}

/// The response future of [`RouterService`]: the handler's reply, or `success` at the
/// deadline.
#[must_use = "futures do nothing unless polled"]
pub struct ResponseFuture {
    inner: Pin<Box<dyn Future<Output = Result<Reply, Infallible>> + Send + 'static>>,
}

impl Future for ResponseFuture {
    type Output = Result<Reply, Infallible>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.inner.as_mut().poll(cx)
    }
}

impl fmt::Debug for ResponseFuture {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResponseFuture").finish_non_exhaustive()
    }
}
