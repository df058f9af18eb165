//! Handling a notification once per `transaction_id` (or refund), across retries, concurrent
//! duplicates and processes, with a record in a [`Store`].
//!
//! One key per notification id holds either a **claim** (the framework's one
//! [`Lock`](crate::store::lock::Lock): a random holder id with a short TTL, kept alive by a
//! heartbeat while the handler runs) or **done** (with a long TTL):
//!
//! 1. `done` already: answer SUCCESS, do not call the handler;
//! 2. `set_if_absent(claim)` wins: this delivery runs the handler, in a task of its own (so that
//!    WeChat hanging up does not cancel it half-way), renewing the claim every third of its TTL
//!    only while it still holds it (compare-and-set: a renewal never overwrites another
//!    delivery's claim or record);
//!    - `Ok`: `set(done)` over the claim, answer SUCCESS;
//!    - `Err` or panic: release the claim (holder-checked), answer FAIL: the retry runs it;
//! 3. another delivery holds the claim: poll until it is `done` (SUCCESS), released (claim it
//!    and run, as in 2), or the wait is over: FAIL, and WeChat retries later.
//!
//! A process that dies mid-handler leaves a claim that expires after its TTL; the next retry
//! runs the handler. So the handler runs once per notification unless a process stalls longer
//! than the claim TTL without dying (its renewal fails, another delivery claims): keep the
//! handler's own update conditional (`UPDATE … WHERE state = 'unpaid'`) for that case.
//!
//! What is not a lock here is the `done` record: it lives on the claim's key (so one read tells
//! a duplicate both "running" and "handled") and is written with a plain `set`, not a
//! holder-checked replace, because a handler that succeeded after its claim was lost has still
//! handled the payment and must say so.
//!
//! A store that fails answers FAIL before the handler runs (nothing is lost: WeChat retries).
//! A store that fails after a successful handler still answers SUCCESS: the payment *was*
//! handled, and answering FAIL would make WeChat deliver it again.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;

use crate::store::lock::{Lock, LockError, LockGuard};
use crate::store::{Store, StoreError};

const DONE: &[u8] = b"done";
const POLL: Duration = Duration::from_millis(25);

/// How a delivery ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// The handler ran now and returned `Ok`.
    Handled,
    /// An earlier delivery was handled; the handler was not called.
    AlreadyHandled,
    /// The handler returned an error or panicked.
    Failed(String),
    /// Another delivery is still running it; retry later.
    Busy,
    /// The store failed before the handler could run.
    Store(StoreError),
}

/// The record of one notification id.
pub(crate) struct Once {
    pub(crate) store: Arc<dyn Store>,
    pub(crate) key: String,
    pub(crate) claim_ttl: Duration,
    pub(crate) record_ttl: Duration,
    pub(crate) wait: Duration,
}

impl Once {
    /// The claim: the framework's one [`Lock`], on the key that later holds `done`.
    fn claim(&self) -> Lock {
        Lock::new(Arc::clone(&self.store), self.key.clone(), self.claim_ttl)
            .wait(self.wait)
            .poll_interval(POLL)
    }

    /// Runs `handler` unless this id was handled, per the module docs.
    pub(crate) async fn run<F, Fut>(self, handler: F) -> Outcome
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<(), String>> + Send + 'static,
    {
        let claim = self.claim();
        let mut backoff = claim.backoff();
        loop {
            match self.store.get(&self.key).await {
                Ok(Some(v)) if v.as_ref() == DONE => return Outcome::AlreadyHandled,
                Ok(Some(_)) => {
                    // Another delivery holds the claim: wait for its outcome.
                    if !backoff.pause().await {
                        return Outcome::Busy;
                    }
                    continue;
                }
                Ok(None) => {}
                Err(err) => return Outcome::Store(err),
            }
            match claim.try_acquire().await {
                Ok(Some(guard)) => return self.run_claimed(guard, handler()).await,
                // Lost the race to another delivery: read its state again.
                Ok(None) => {}
                Err(LockError::Store(err)) => return Outcome::Store(err),
                Err(err) => return Outcome::Store(StoreError::Unavailable(err.to_string())),
            }
        }
    }

    async fn run_claimed<Fut>(self, guard: LockGuard, handler: Fut) -> Outcome
    where
        Fut: Future<Output = Result<(), String>> + Send + 'static,
    {
        let Self {
            store,
            key,
            record_ttl,
            ..
        } = self;
        // The handler, the heartbeat and the record in a task of their own: a dropped request
        // (WeChat hung up) must not cancel a handler half-way. The handler runs in a task of its
        // own too, so that a panic is caught and the claim released.
        let task = tokio::spawn(async move {
            match guard.hold_while(tokio::spawn(handler)).await {
                Ok(Ok(())) => {
                    // The claim turns into the record, written whether or not this delivery
                    // still holds the claim: the payment was handled either way.
                    if let Err(err) = store
                        .set(&key, Bytes::from_static(DONE), Some(record_ttl))
                        .await
                    {
                        // Handled all the same: answering FAIL would make WeChat deliver it
                        // again. The claim expires and a later duplicate would run it again.
                        tracing::error!(%err, key, "pay notification handled but not recorded");
                    }
                    Outcome::Handled
                }
                Ok(Err(reason)) => {
                    release(guard, &key).await;
                    Outcome::Failed(reason)
                }
                Err(join) => {
                    release(guard, &key).await;
                    Outcome::Failed(if join.is_panic() {
                        "the handler panicked".to_owned()
                    } else {
                        "the handler was cancelled".to_owned()
                    })
                }
            }
        });
        task.await
            .unwrap_or_else(|_| Outcome::Failed("the pay notification task failed".to_owned()))
    }
}

async fn release(guard: LockGuard, key: &str) {
    if let Err(err) = guard.release().await {
        tracing::warn!(%err, key, "cannot release the claim on a pay notification; it expires by itself");
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;
    use crate::store::MemoryStore;

    fn once(store: &Arc<MemoryStore>) -> Once {
        Once {
            store: Arc::clone(store) as Arc<dyn Store>,
            key: "k".into(),
            claim_ttl: Duration::from_secs(30),
            record_ttl: Duration::from_secs(3600),
            wait: Duration::from_secs(2),
        }
    }

    #[tokio::test]
    async fn handled_once_then_remembered() {
        let store = Arc::new(MemoryStore::new());
        let calls = Arc::new(AtomicUsize::new(0));
        for expected in [Outcome::Handled, Outcome::AlreadyHandled] {
            let calls = Arc::clone(&calls);
            let outcome = once(&store)
                .run(move || async move {
                    calls.fetch_add(1, Ordering::SeqCst);
                    Ok(())
                })
                .await;
            assert_eq!(outcome, expected);
        }
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn a_failure_releases_the_claim() {
        let store = Arc::new(MemoryStore::new());
        let outcome = once(&store)
            .run(|| async { Err("db down".to_owned()) })
            .await;
        assert_eq!(outcome, Outcome::Failed("db down".into()));
        assert_eq!(store.get("k").await.unwrap(), None);
        let outcome = once(&store).run(|| async { panic!("boom") }).await;
        assert_eq!(outcome, Outcome::Failed("the handler panicked".into()));
        assert_eq!(store.get("k").await.unwrap(), None);
        assert_eq!(
            once(&store).run(|| async { Ok(()) }).await,
            Outcome::Handled
        );
    }

    #[tokio::test]
    async fn concurrent_duplicates_run_once() {
        let store = Arc::new(MemoryStore::new());
        let calls = Arc::new(AtomicUsize::new(0));
        let runs = (0..8).map(|_| {
            let calls = Arc::clone(&calls);
            once(&store).run(move || async move {
                calls.fetch_add(1, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(100)).await;
                Ok(())
            })
        });
        let outcomes = futures_join_all(runs).await;
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        assert_eq!(
            outcomes.iter().filter(|o| **o == Outcome::Handled).count(),
            1
        );
        assert!(
            outcomes
                .iter()
                .all(|o| matches!(o, Outcome::Handled | Outcome::AlreadyHandled))
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_duplicate_gives_up_while_the_first_still_runs() {
        let store = Arc::new(MemoryStore::new());
        let slow = once(&store).run(|| async {
            tokio::time::sleep(Duration::from_secs(60)).await;
            Ok(())
        });
        let slow = tokio::spawn(slow);
        tokio::time::sleep(Duration::from_millis(10)).await;
        let outcome = once(&store).run(|| async { Ok(()) }).await;
        assert_eq!(outcome, Outcome::Busy);
        // The heartbeat kept the 30 s claim alive for the whole minute.
        assert_eq!(slow.await.unwrap(), Outcome::Handled);
        assert_eq!(
            once(&store).run(|| async { Ok(()) }).await,
            Outcome::AlreadyHandled
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_lost_claim_is_not_renewed_over_its_new_holder() {
        let store = Arc::new(MemoryStore::new());
        let slow = tokio::spawn(once(&store).run(|| async {
            tokio::time::sleep(Duration::from_secs(60)).await;
            Ok(())
        }));
        tokio::time::sleep(Duration::from_millis(10)).await;
        // As if this process had stalled past the claim's TTL and another delivery claimed it.
        store
            .set(
                "k",
                Bytes::from_static(b"claim:other"),
                Some(Duration::from_secs(30)),
            )
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_secs(25)).await;
        assert_eq!(
            store.get("k").await.unwrap(),
            Some(Bytes::from_static(b"claim:other")),
            "the stalled holder's heartbeat must leave the new claim alone"
        );
        // The stalled handler still finishes and records the payment as handled.
        assert_eq!(slow.await.unwrap(), Outcome::Handled);
        assert_eq!(
            store.get("k").await.unwrap(),
            Some(Bytes::from_static(DONE))
        );
    }

    async fn futures_join_all<F: Future + Send + 'static>(
        futures: impl Iterator<Item = F>,
    ) -> Vec<F::Output>
    where
        F::Output: Send + 'static,
    {
        let handles: Vec<_> = futures.map(tokio::spawn).collect();
        let mut out = Vec::new();
        for h in handles {
            out.push(h.await.unwrap());
        }
        out
    }
}
