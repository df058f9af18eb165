//! The retry cache: WeChat retries a message three times, 5 s apart, when it gets no answer in
//! time; the router runs the handler once per message and answers every retry with the same
//! reply.
//!
//! A delivery is recognised by `FromUserName` + `MsgId` for messages, and by `FromUserName` +
//! `CreateTime` + `Event` + `EventKey` for events (events carry no `MsgId`, and `MsgId` alone is
//! not unique across users). The `EventKey` only narrows WeChat's recommendation
//! (`FromUserName` + `CreateTime`): a retry repeats it byte for byte, while two different menu
//! buttons tapped within the same second are two messages. Messages without a `MsgId` (types
//! this crate does not know) fall back to `FromUserName` + `CreateTime` + `MsgType`.
//!
//! Memory is bounded: at most [`DedupConfig::capacity`] messages are remembered (the oldest
//! goes first), each for [`DedupConfig::ttl`].

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::time::Instant;
use wechat_core::{Message, Reply};

use super::run::{Run, Waiter};

/// Settings of the retry cache. See [`Router::dedup_config`](crate::router::Router::dedup_config).
///
/// ```
/// use std::time::Duration;
/// use wechat_tower::router::{DedupConfig, Router};
///
/// let router = Router::new().dedup_config(DedupConfig::new().capacity(50_000).ttl(Duration::from_secs(60)));
/// # let _: Router = router;
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use]
pub struct DedupConfig {
    capacity: usize,
    ttl: Duration,
}

impl DedupConfig {
    /// Messages remembered by default.
    pub const DEFAULT_CAPACITY: usize = 10_000;
    /// How long a message is remembered by default: WeChat's three retries come 5 s apart, so
    /// 30 s covers them with a wide margin.
    pub const DEFAULT_TTL: Duration = Duration::from_secs(30);

    /// The defaults: [`Self::DEFAULT_CAPACITY`] messages for [`Self::DEFAULT_TTL`].
    pub const fn new() -> Self {
        Self {
            capacity: Self::DEFAULT_CAPACITY,
            ttl: Self::DEFAULT_TTL,
        }
    }

    /// Remember at most `capacity` messages (at least one); the oldest is forgotten first.
    /// Memory is about 200 bytes per message plus its reply.
    pub const fn capacity(mut self, capacity: usize) -> Self {
        self.capacity = if capacity == 0 { 1 } else { capacity };
        self
    }

    /// Remember each message for `ttl`, counted from its first delivery.
    pub const fn ttl(mut self, ttl: Duration) -> Self {
        self.ttl = ttl;
        self
    }
}

impl Default for DedupConfig {
    fn default() -> Self {
        Self::new()
    }
}

/// What identifies a delivery (see the module docs).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct DedupKey {
    from: String,
    id: Id,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Id {
    /// A message: its `MsgId`.
    Msg(u64),
    /// An event.
    Event {
        create_time: u64,
        event: String,
        key: Option<String>,
    },
    /// A message without `MsgId` (a type wechat-core does not know).
    Untracked { create_time: u64, msg_type: String },
}

impl DedupKey {
    pub(crate) fn of(msg: &Message) -> Self {
        let header = msg.header();
        let id = match (msg.as_event(), header.msg_id) {
            (Some(event), _) => Id::Event {
                create_time: header.create_time,
                event: event.event().to_owned(),
                key: event.event_key().map(str::to_owned),
            },
            (None, Some(msg_id)) => Id::Msg(msg_id),
            (None, None) => Id::Untracked {
                create_time: header.create_time,
                msg_type: msg.msg_type().to_owned(),
            },
        };
        Self {
            from: header.from_user_name.clone(),
            id,
        }
    }
}

/// How a delivery joins the cache.
#[derive(Debug)]
pub(crate) enum Join {
    /// A retry of a message already answered: the reply.
    Done(Reply),
    /// A retry of a message still being handled: wait for it.
    Wait(Waiter),
    /// A new message: start the handler on this run and wait.
    Start(Arc<Run>, Waiter),
}

/// Runs by delivery key, bounded in size and age.
#[derive(Debug)]
pub(crate) struct RetryCache {
    config: DedupConfig,
    inner: Mutex<Entries>,
}

#[derive(Debug, Default)]
struct Entries {
    runs: HashMap<Arc<DedupKey>, Arc<Run>>,
    /// Keys in insertion order with their insertion time; one per entry of `runs`.
    order: VecDeque<(Instant, Arc<DedupKey>)>,
}

impl RetryCache {
    pub(crate) fn new(config: DedupConfig) -> Self {
        Self {
            config,
            inner: Mutex::new(Entries::default()),
        }
    }

    /// Finds the run of `key`, or starts one.
    pub(crate) fn join(&self, key: DedupKey, now: Instant) -> Join {
        // Critical sections touch only the maps: poisoning cannot leave them inconsistent.
        let mut entries = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        let entries = &mut *entries;
        // Forget expired messages: `order` is oldest first, and `now` only grows under the lock.
        while let Some((inserted, _)) = entries.order.front() {
            if now.saturating_duration_since(*inserted) < self.config.ttl {
                break;
            }
            if let Some((_, key)) = entries.order.pop_front() {
                entries.runs.remove(&key);
            }
        }
        if let Some(run) = entries.runs.get(&key) {
            return match run.join() {
                Ok(waiter) => Join::Wait(waiter),
                Err(reply) => Join::Done(reply),
            };
        }
        while entries.runs.len() >= self.config.capacity {
            match entries.order.pop_front() {
                Some((_, oldest)) => {
                    entries.runs.remove(&oldest);
                }
                None => break,
            }
        }
        let (run, waiter) = Run::start();
        let key = Arc::new(key);
        entries.runs.insert(Arc::clone(&key), Arc::clone(&run));
        entries.order.push_back((now, key));
        Join::Start(run, waiter)
    }

    /// How many messages are remembered.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.inner
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .runs
            .len()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use tower::ServiceExt;

    use super::*;
    use crate::router::{Router, RouterService};

    fn xml(from: &str, create_time: u64, body: &str) -> Message {
        Message::from_xml(&format!(
            "<xml><ToUserName>gh</ToUserName><FromUserName>{from}</FromUserName>\
             <CreateTime>{create_time}</CreateTime>{body}</xml>"
        ))
        .unwrap()
    }

    fn text(from: &str, msg_id: u64) -> Message {
        xml(
            from,
            1,
            &format!("<MsgType>text</MsgType><Content>hi</Content><MsgId>{msg_id}</MsgId>"),
        )
    }

    fn click(from: &str, create_time: u64, key: &str) -> Message {
        xml(
            from,
            create_time,
            &format!("<MsgType>event</MsgType><Event>CLICK</Event><EventKey>{key}</EventKey>"),
        )
    }

    /// A router whose every handler counts its runs, sleeps `delay`, and answers the count.
    fn counting(
        delay: Duration,
        router: impl FnOnce(Router) -> Router,
    ) -> (RouterService, Arc<AtomicUsize>) {
        let runs = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&runs);
        let service = router(Router::new().fallback(move |_: Message| {
            let n = counter.fetch_add(1, Ordering::SeqCst) + 1;
            async move {
                tokio::time::sleep(delay).await;
                format!("run {n}")
            }
        }))
        .build()
        .unwrap();
        (service, runs)
    }

    #[tokio::test(start_paused = true)]
    async fn retry_runs_the_handler_once_and_gets_the_same_reply() {
        let (router, runs) = counting(Duration::ZERO, |r| r);
        let first = router.clone().oneshot(text("oA", 1)).await.unwrap();
        let retry = router.clone().oneshot(text("oA", 1)).await.unwrap();
        assert_eq!(first, Reply::text("run 1"));
        assert_eq!(retry, first);
        assert_eq!(runs.load(Ordering::SeqCst), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn concurrent_retry_waits_for_the_first_delivery() {
        let (router, runs) = counting(Duration::from_secs(2), |r| r);
        let first = tokio::spawn(router.clone().oneshot(text("oA", 1)));
        tokio::time::sleep(Duration::from_secs(1)).await;
        let retry = tokio::spawn(router.clone().oneshot(text("oA", 1)));
        assert_eq!(first.await.unwrap().unwrap(), Reply::text("run 1"));
        assert_eq!(retry.await.unwrap().unwrap(), Reply::text("run 1"));
        assert_eq!(runs.load(Ordering::SeqCst), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn cancelled_first_delivery_does_not_rerun_the_handler() {
        let (router, runs) = counting(Duration::from_secs(2), |r| r);
        let first = tokio::spawn(router.clone().oneshot(text("oA", 1)));
        tokio::time::sleep(Duration::from_secs(1)).await;
        first.abort();
        let retry = router.clone().oneshot(text("oA", 1)).await.unwrap();
        assert_eq!(retry, Reply::text("run 1"));
        assert_eq!(runs.load(Ordering::SeqCst), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn same_msg_id_from_two_users_are_two_messages() {
        let (router, runs) = counting(Duration::ZERO, |r| r);
        router.clone().oneshot(text("oA", 1)).await.unwrap();
        router.clone().oneshot(text("oB", 1)).await.unwrap();
        router.clone().oneshot(text("oA", 2)).await.unwrap();
        assert_eq!(runs.load(Ordering::SeqCst), 3);
    }

    #[tokio::test(start_paused = true)]
    async fn events_are_keyed_by_user_time_event_and_key() {
        let (router, runs) = counting(Duration::ZERO, |r| r);
        for msg in [
            click("oA", 7, "K1"),
            click("oA", 7, "K1"),
            click("oA", 7, "K2"),
            click("oA", 8, "K1"),
            click("oB", 7, "K1"),
        ] {
            router.clone().oneshot(msg).await.unwrap();
        }
        assert_eq!(runs.load(Ordering::SeqCst), 4);
    }

    #[tokio::test(start_paused = true)]
    async fn entries_expire_after_the_ttl() {
        let (router, runs) = counting(Duration::ZERO, |r| {
            r.dedup_config(DedupConfig::new().ttl(Duration::from_secs(30)))
        });
        router.clone().oneshot(text("oA", 1)).await.unwrap();
        tokio::time::advance(Duration::from_secs(29)).await;
        router.clone().oneshot(text("oA", 1)).await.unwrap();
        assert_eq!(runs.load(Ordering::SeqCst), 1);
        tokio::time::advance(Duration::from_secs(2)).await;
        let again = router.clone().oneshot(text("oA", 1)).await.unwrap();
        assert_eq!(again, Reply::text("run 2"));
        assert_eq!(runs.load(Ordering::SeqCst), 2);
    }

    #[tokio::test(start_paused = true)]
    async fn capacity_bounds_the_cache_and_forgets_the_oldest() {
        let cache = RetryCache::new(DedupConfig::new().capacity(2));
        let now = Instant::now();
        for id in 1..=3 {
            assert!(matches!(
                cache.join(DedupKey::of(&text("oA", id)), now),
                Join::Start(..)
            ));
        }
        assert_eq!(cache.len(), 2);
        // 1 was forgotten, 3 is still there.
        assert!(matches!(
            cache.join(DedupKey::of(&text("oA", 3)), now),
            Join::Wait(_)
        ));
        assert!(matches!(
            cache.join(DedupKey::of(&text("oA", 1)), now),
            Join::Start(..)
        ));
        assert_eq!(cache.len(), 2);
    }

    #[tokio::test(start_paused = true)]
    async fn capacity_bounds_the_router() {
        let (router, runs) = counting(Duration::ZERO, |r| {
            r.dedup_config(DedupConfig::new().capacity(2))
        });
        for id in [1, 2, 3, 1] {
            router.clone().oneshot(text("oA", id)).await.unwrap();
        }
        assert_eq!(runs.load(Ordering::SeqCst), 4);
    }

    #[tokio::test(start_paused = true)]
    async fn dedup_off_runs_every_delivery() {
        let (router, runs) = counting(Duration::ZERO, |r| r.dedup(false));
        router.clone().oneshot(text("oA", 1)).await.unwrap();
        let retry = router.clone().oneshot(text("oA", 1)).await.unwrap();
        assert_eq!(retry, Reply::text("run 2"));
        assert_eq!(runs.load(Ordering::SeqCst), 2);
    }

    #[test]
    fn zero_capacity_means_one() {
        assert_eq!(
            DedupConfig::new().capacity(0),
            DedupConfig::new().capacity(1)
        );
        assert_eq!(DedupConfig::default(), DedupConfig::new());
        assert_eq!(
            DedupConfig::new(),
            DedupConfig::new()
                .capacity(10_000)
                .ttl(Duration::from_secs(30))
        );
    }
}
