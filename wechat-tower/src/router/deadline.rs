//! The deadline: WeChat waits 5 s for a passive reply, then retries (and after the third try
//! shows the user "该公众号暂时无法提供服务"). A handler that has not answered by the deadline
//! ([`DEFAULT_DEADLINE`], 4.5 s) gets its delivery answered `success` instead; the handler keeps
//! running, moved to a task of its own, and its reply, now late, goes to a [`LateReplySink`] (which can send
//! it as a customer-service message). The default sink logs it with `tracing::warn!`.
//!
//! The late reply is delivered once: the retry cache then remembers `success` for the message,
//! so a retry neither runs the handler again nor gets the reply a second time. A retry that
//! arrives while the handler still runs waits for it (until the retry's own deadline), and if the
//! reply comes in time it answers that retry and does not go to the sink.

use std::fmt;
use std::time::Duration;

use wechat_core::{Header, Reply};

use crate::handler::MessageContext;

/// The default deadline: half a second before WeChat gives up on the delivery at 5 s.
pub const DEFAULT_DEADLINE: Duration = Duration::from_millis(4500);

/// A reply that came after its message was answered `success` at the deadline. See the
/// [router's module docs](crate::router#deadline).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LateReply {
    context: MessageContext,
    reply: Reply,
    elapsed: Duration,
}

impl LateReply {
    /// A late reply to the message of `context`, `elapsed` after the message arrived.
    #[must_use]
    pub fn new(context: MessageContext, reply: Reply, elapsed: Duration) -> Self {
        Self {
            context,
            reply,
            elapsed,
        }
    }

    /// Whom the reply is for: the sender's OpenID (`FromUserName`).
    #[must_use]
    pub fn open_id(&self) -> &str {
        self.context.open_id()
    }

    /// The header of the message the reply answers.
    #[must_use]
    pub fn header(&self) -> &Header {
        self.context.header()
    }

    /// The context of the message (open id, account, app id, ...).
    #[must_use]
    pub fn context(&self) -> &MessageContext {
        &self.context
    }

    /// The reply (never [`Reply::Success`]: there is nothing late to say then).
    #[must_use]
    pub fn reply(&self) -> &Reply {
        &self.reply
    }

    /// How long after the message arrived the handler answered.
    #[must_use]
    pub fn elapsed(&self) -> Duration {
        self.elapsed
    }

    /// The context and the reply.
    #[must_use]
    pub fn into_parts(self) -> (MessageContext, Reply) {
        (self.context, self.reply)
    }
}

/// Where late replies go. Any `Fn(LateReply) + Send + Sync + 'static` closure is one.
///
/// It is called on the handler's task, inside a Tokio runtime: a sink that does I/O (sending a
/// customer-service message) spawns it with `tokio::spawn` rather than blocking.
///
/// ```
/// use wechat_tower::router::{LateReply, Router};
///
/// let router = Router::new().late_reply_sink(|late: LateReply| {
///     println!("to {}: {:?}", late.open_id(), late.reply());
/// });
/// # let _: Router = router;
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot take late replies",
    label = "not a late-reply sink",
    note = "pass a closure `|late: LateReply| {{ .. }}` that is `Send + Sync + 'static`, or a type that implements `LateReplySink`"
)]
pub trait LateReplySink: Send + Sync + 'static {
    /// Takes one late reply.
    fn deliver(&self, late: LateReply);
}

impl<F> LateReplySink for F
where
    F: Fn(LateReply) + Send + Sync + 'static,
{
    fn deliver(&self, late: LateReply) {
        self(late);
    }
}

/// The default sink: a warning in the log.
#[derive(Debug, Clone, Copy)]
pub(crate) struct WarnSink;

impl LateReplySink for WarnSink {
    fn deliver(&self, late: LateReply) {
        tracing::warn!(
            open_id = late.open_id(),
            create_time = late.header().create_time,
            msg_id = late.header().msg_id,
            elapsed_ms = u64::try_from(late.elapsed().as_millis()).unwrap_or(u64::MAX),
            reply = ?late.reply(),
            "handler answered after the deadline; the message was answered `success` and this \
             reply is dropped (set `Router::late_reply_sink` to deliver it)",
        );
    }
}

impl fmt::Debug for dyn LateReplySink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("LateReplySink")
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use tokio::sync::mpsc;
    use tower::ServiceExt;
    use wechat_core::Message;

    use super::*;
    use crate::router::{Router, RouterService};

    fn text(msg_id: u64) -> Message {
        Message::from_xml(&format!(
            "<xml><ToUserName>gh</ToUserName><FromUserName>oUser</FromUserName>\
             <CreateTime>7</CreateTime><MsgType>text</MsgType><Content>hi</Content>\
             <MsgId>{msg_id}</MsgId></xml>"
        ))
        .unwrap()
    }

    /// A router whose handler sleeps `delay`, counting runs; late replies go to the receiver.
    fn slow(
        delay: Duration,
        router: impl FnOnce(Router) -> Router,
    ) -> (
        RouterService,
        Arc<AtomicUsize>,
        mpsc::UnboundedReceiver<LateReply>,
    ) {
        let runs = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&runs);
        let (tx, rx) = mpsc::unbounded_channel();
        let service = router(
            Router::new()
                .fallback(move |_: Message| {
                    counter.fetch_add(1, Ordering::SeqCst);
                    async move {
                        tokio::time::sleep(delay).await;
                        "slow answer"
                    }
                })
                .late_reply_sink(move |late| {
                    let _ = tx.send(late);
                }),
        )
        .build()
        .unwrap();
        (service, runs, rx)
    }

    #[tokio::test(start_paused = true)]
    async fn slow_handler_answers_success_and_the_sink_gets_the_reply() {
        let (router, runs, mut late) = slow(Duration::from_secs(10), |r| r);
        let start = tokio::time::Instant::now();
        let reply = router.clone().oneshot(text(1)).await.unwrap();
        assert_eq!(reply, Reply::Success);
        assert_eq!(start.elapsed(), DEFAULT_DEADLINE);

        let late = late.recv().await.unwrap();
        assert_eq!(late.reply(), &Reply::text("slow answer"));
        assert_eq!(late.open_id(), "oUser");
        assert_eq!(late.header().msg_id, Some(1));
        assert_eq!(late.context().account(), "gh");
        assert_eq!(late.elapsed(), Duration::from_secs(10));
        assert_eq!(runs.load(Ordering::SeqCst), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn retry_after_a_late_reply_gets_success_without_rerunning() {
        let (router, runs, mut late) = slow(Duration::from_secs(10), |r| r);
        assert_eq!(
            router.clone().oneshot(text(1)).await.unwrap(),
            Reply::Success
        );
        late.recv().await.unwrap();
        assert_eq!(
            router.clone().oneshot(text(1)).await.unwrap(),
            Reply::Success
        );
        assert_eq!(runs.load(Ordering::SeqCst), 1);
        assert!(late.try_recv().is_err());
    }

    #[tokio::test(start_paused = true)]
    async fn retry_waiting_when_the_reply_comes_gets_it_and_the_sink_does_not() {
        let (router, runs, mut late) = slow(Duration::from_secs(6), |r| r);
        assert_eq!(
            router.clone().oneshot(text(1)).await.unwrap(),
            Reply::Success
        );
        // WeChat's retry, 5 s after the first delivery; the handler answers at 6 s.
        tokio::time::sleep(Duration::from_millis(500)).await;
        let retry = router.clone().oneshot(text(1)).await.unwrap();
        assert_eq!(retry, Reply::text("slow answer"));
        assert_eq!(runs.load(Ordering::SeqCst), 1);
        assert!(late.try_recv().is_err());
    }

    #[tokio::test(start_paused = true)]
    async fn deadline_is_configurable() {
        let (router, _, mut late) = slow(Duration::from_secs(2), |r| {
            r.deadline(Duration::from_secs(1))
        });
        assert_eq!(
            router.clone().oneshot(text(1)).await.unwrap(),
            Reply::Success
        );
        assert_eq!(late.recv().await.unwrap().elapsed(), Duration::from_secs(2));
    }

    #[tokio::test(start_paused = true)]
    async fn handler_in_time_is_not_late() {
        let (router, _, mut late) = slow(Duration::from_secs(4), |r| r);
        let reply = router.clone().oneshot(text(1)).await.unwrap();
        assert_eq!(reply, Reply::text("slow answer"));
        tokio::time::sleep(Duration::from_secs(60)).await;
        assert!(late.try_recv().is_err());
    }

    #[tokio::test(start_paused = true)]
    async fn without_deadline_the_router_waits() {
        let (router, _, mut late) = slow(Duration::from_secs(60), Router::without_deadline);
        let reply = router.clone().oneshot(text(1)).await.unwrap();
        assert_eq!(reply, Reply::text("slow answer"));
        assert!(late.try_recv().is_err());
    }

    #[tokio::test(start_paused = true)]
    async fn deadline_works_without_dedup() {
        let (router, _, mut late) = slow(Duration::from_secs(10), |r| r.dedup(false));
        assert_eq!(
            router.clone().oneshot(text(1)).await.unwrap(),
            Reply::Success
        );
        assert_eq!(
            late.recv().await.unwrap().reply(),
            &Reply::text("slow answer")
        );
    }

    #[tokio::test(start_paused = true)]
    async fn late_success_does_not_reach_the_sink() {
        let (tx, mut rx) = mpsc::unbounded_channel::<LateReply>();
        let router = Router::new()
            .fallback(|_: Message| async {
                tokio::time::sleep(Duration::from_secs(10)).await;
            })
            .late_reply_sink(move |late| {
                let _ = tx.send(late);
            })
            .build()
            .unwrap();
        assert_eq!(router.oneshot(text(1)).await.unwrap(), Reply::Success);
        tokio::time::sleep(Duration::from_secs(60)).await;
        assert!(rx.try_recv().is_err());
    }

    #[test]
    fn default_sink_logs_without_panicking() {
        let header = text(1).header().clone();
        WarnSink.deliver(LateReply::new(
            MessageContext::new(header),
            Reply::text("x"),
            Duration::from_secs(5),
        ));
    }
}
