//! One lock on top of a [`Store`]: the token refresh lock, the Mini Program per-user lock and the
//! pay notification claim are all this one.
//!
//! - **Acquire**: [`Store::set_if_absent`] of a random holder id (16 bytes from the OS CSPRNG,
//!   hex) with a TTL, so a holder that dies frees the lock after one TTL.
//! - **Bounded wait**: [`Lock::acquire`] polls, doubling the pause from the poll interval up to
//!   [`MAX_PAUSE`], and gives up with [`LockError::Busy`] at its deadline; it never waits forever.
//! - **Renewal and release only by the holder**: [`LockGuard::renew`] is
//!   [`Store::replace_if_equals`] and [`LockGuard::release`] is [`Store::delete_if_equals`], both
//!   against the holder id, so a holder that stalled past the TTL cannot extend or delete a lock
//!   another holder has taken since. [`LockGuard::hold_while`] renews every third of the TTL while
//!   a piece of work runs, and stops renewing (logging an error) once the lock is found lost.
//!
//! A guard dropped without [`LockGuard::release`] leaves the lock to expire after its TTL (no
//! I/O runs in `Drop`).
//!
//! ```
//! use std::sync::Arc;
//! use std::time::Duration;
//! use wechat_tower::store::MemoryStore;
//! use wechat_tower::store::lock::{Lock, LockError};
//!
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), LockError> {
//! let store = Arc::new(MemoryStore::new());
//! let lock = Lock::new(store, "report:2024-05", Duration::from_secs(10))
//!     .wait(Duration::from_millis(100));
//!
//! let guard = lock.acquire().await?;
//! assert!(matches!(lock.acquire().await, Err(LockError::Busy))); // taken: gave up after 100 ms
//! let total = guard.hold_while(async { 6 * 7 }).await; // renewed while the work runs
//! assert_eq!(total, 42);
//! assert!(guard.release().await?);
//! assert!(lock.try_acquire().await?.is_some());
//! # Ok(()) }
//! ```

use std::future::Future;
use std::pin::pin;
use std::sync::Arc;
use std::task::Poll;
use std::time::Duration;

use bytes::Bytes;
use tokio::time::Instant;

use super::{Store, StoreError};

/// The longest pause between two attempts of a waiting [`Lock::acquire`] (unless the poll
/// interval itself is longer): the pauses double up to it, so a long wait costs few store
/// round trips while a short one still notices a release quickly.
pub const MAX_PAUSE: Duration = Duration::from_millis(250);

/// Why a lock was not taken.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum LockError {
    /// The store failed.
    Store(StoreError),
    /// Another holder kept the lock until the wait was over.
    Busy,
    /// The operating system could not provide random bytes for a holder id.
    Random,
}

impl std::fmt::Display for LockError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Store(err) => err.fmt(f),
            Self::Busy => f.write_str("lock busy: another holder kept it until the wait was over"),
            Self::Random => f.write_str("the OS random number generator failed"),
        }
    }
}

impl std::error::Error for LockError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Store(err) => Some(err),
            _ => None,
        }
    }
}

impl From<StoreError> for LockError {
    fn from(err: StoreError) -> Self {
        Self::Store(err)
    }
}

/// A lock on one key of a [`Store`]: its TTL and how long [`Lock::acquire`] waits. Cheap to
/// clone. See the [module docs](self).
#[derive(Clone)]
#[must_use]
pub struct Lock {
    store: Arc<dyn Store>,
    key: String,
    ttl: Duration,
    wait: Duration,
    poll: Duration,
}

impl std::fmt::Debug for Lock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Lock")
            .field("key", &self.key)
            .field("ttl", &self.ttl)
            .field("wait", &self.wait)
            .field("poll", &self.poll)
            .finish_non_exhaustive()
    }
}

impl Lock {
    /// A lock on `key` that expires `ttl` after it was taken or last renewed. By default
    /// [`Lock::acquire`] does not wait (see [`Lock::wait`]) and polls every 25 ms.
    pub fn new(store: Arc<dyn Store>, key: impl Into<String>, ttl: Duration) -> Self {
        Self {
            store,
            key: key.into(),
            ttl,
            wait: Duration::ZERO,
            poll: Duration::from_millis(25),
        }
    }

    /// How long [`Lock::acquire`] waits for another holder to release the lock.
    pub fn wait(mut self, wait: Duration) -> Self {
        self.wait = wait;
        self
    }

    /// The first pause between two attempts of a waiting [`Lock::acquire`]; later pauses double
    /// up to [`MAX_PAUSE`].
    pub fn poll_interval(mut self, poll: Duration) -> Self {
        self.poll = poll;
        self
    }

    /// The store key of the lock.
    #[must_use]
    pub fn key(&self) -> &str {
        &self.key
    }

    /// How long the lock lives without renewal.
    #[must_use]
    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    /// Takes the lock if it is free, without waiting.
    ///
    /// # Errors
    ///
    /// [`LockError::Store`] when the store fails, [`LockError::Random`] when the OS has no
    /// random bytes.
    pub async fn try_acquire(&self) -> Result<Option<LockGuard>, LockError> {
        let holder = holder_id()?;
        let taken = self
            .store
            .set_if_absent(&self.key, holder.clone(), Some(self.ttl))
            .await?;
        Ok(taken.then(|| LockGuard {
            store: Arc::clone(&self.store),
            key: self.key.clone(),
            ttl: self.ttl,
            holder,
        }))
    }

    /// Takes the lock, waiting up to [`Lock::wait`] for its holder to release it (or for it to
    /// expire).
    ///
    /// # Errors
    ///
    /// [`LockError::Busy`] when the wait is over, and the errors of [`Lock::try_acquire`].
    pub async fn acquire(&self) -> Result<LockGuard, LockError> {
        let mut backoff = self.backoff();
        loop {
            if let Some(guard) = self.try_acquire().await? {
                return Ok(guard);
            }
            if !backoff.pause().await {
                return Err(LockError::Busy);
            }
        }
    }

    /// The bounded wait of [`Lock::acquire`], for callers that also watch something else
    /// between attempts (a token appearing, a record turning `done`).
    pub(crate) fn backoff(&self) -> Backoff {
        Backoff::new(self.wait, self.poll)
    }
}

/// The lock held: renew it while working, release it when done. Only this holder can do either.
/// See the [module docs](self).
#[must_use = "a lock that is not released stays taken until its TTL ends"]
pub struct LockGuard {
    store: Arc<dyn Store>,
    key: String,
    ttl: Duration,
    holder: Bytes,
}

impl std::fmt::Debug for LockGuard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LockGuard")
            .field("key", &self.key)
            .field("ttl", &self.ttl)
            .finish_non_exhaustive()
    }
}

impl LockGuard {
    /// The store key of the lock.
    #[must_use]
    pub fn key(&self) -> &str {
        &self.key
    }

    /// Extends the lock by its TTL from now, if this guard still holds it; returns whether it
    /// did (`false`: it expired, and maybe another holder took it, which is left alone).
    ///
    /// # Errors
    ///
    /// When the store fails.
    pub async fn renew(&self) -> Result<bool, StoreError> {
        self.store
            .replace_if_equals(&self.key, &self.holder, self.holder.clone(), Some(self.ttl))
            .await
    }

    /// Releases the lock if this guard still holds it; returns whether it did.
    ///
    /// # Errors
    ///
    /// When the store fails; the lock then expires after its TTL.
    pub async fn release(self) -> Result<bool, StoreError> {
        self.store.delete_if_equals(&self.key, &self.holder).await
    }

    /// Runs `work`, renewing the lock every third of its TTL until `work` ends or a renewal
    /// finds the lock lost (then it logs an error and lets `work` finish: the caller decides
    /// what a lost lock means). A store failure during a renewal is logged and retried at the
    /// next beat.
    pub async fn hold_while<F: Future>(&self, work: F) -> F::Output {
        let mut work = pin!(work);
        let mut beat = pin!(self.heartbeat());
        let mut beating = true;
        std::future::poll_fn(|cx| {
            if let Poll::Ready(out) = work.as_mut().poll(cx) {
                return Poll::Ready(out);
            }
            if beating && beat.as_mut().poll(cx).is_ready() {
                beating = false;
            }
            Poll::Pending
        })
        .await
    }

    /// Renews every third of the TTL; returns once the lock is lost.
    async fn heartbeat(&self) {
        let every = (self.ttl / 3).max(Duration::from_millis(1));
        loop {
            tokio::time::sleep(every).await;
            match self.renew().await {
                Ok(true) => {}
                Ok(false) => {
                    // Expired (this process or the store stalled longer than the TTL) and maybe
                    // taken: never overwrite another holder's lock.
                    tracing::error!(
                        key = self.key,
                        "lost a lock while its work runs; another holder may run the same work"
                    );
                    return;
                }
                Err(err) => tracing::warn!(%err, key = self.key, "cannot renew a lock"),
            }
        }
    }
}

/// A random holder id: 16 bytes from the OS CSPRNG, hex-encoded so the store shows it readably.
fn holder_id() -> Result<Bytes, LockError> {
    let mut raw = [0u8; 16];
    getrandom::fill(&mut raw).map_err(|_| LockError::Random)?;
    let mut hex = String::with_capacity(32);
    for b in raw {
        hex.push(char::from(b"0123456789abcdef"[usize::from(b >> 4)]));
        hex.push(char::from(b"0123456789abcdef"[usize::from(b & 0xf)]));
    }
    Ok(Bytes::from(hex))
}

/// Backed-off polling with a deadline: pauses double from the poll interval up to
/// [`MAX_PAUSE`] (or the interval, if longer), and the last pause ends at the deadline.
#[derive(Debug)]
pub(crate) struct Backoff {
    deadline: Instant,
    next: Duration,
    max: Duration,
}

impl Backoff {
    pub(crate) fn new(wait: Duration, poll: Duration) -> Self {
        Self {
            deadline: Instant::now() + wait,
            next: poll,
            max: poll.max(MAX_PAUSE),
        }
    }

    /// Sleeps until the next attempt; `false` (without sleeping) once the deadline has passed.
    pub(crate) async fn pause(&mut self) -> bool {
        let now = Instant::now();
        if now >= self.deadline {
            return false;
        }
        let pause = self.next.min(self.deadline - now);
        self.next = (self.next * 2).min(self.max);
        tokio::time::sleep(pause).await;
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::MemoryStore;

    fn lock(store: &Arc<MemoryStore>, ttl: Duration) -> Lock {
        Lock::new(Arc::clone(store) as Arc<dyn Store>, "k", ttl)
    }

    #[tokio::test(start_paused = true)]
    async fn only_one_of_many_contenders_holds_it() {
        let store = Arc::new(MemoryStore::new());
        let tries = (0..16).map(|_| {
            let lock = lock(&store, Duration::from_secs(5));
            tokio::spawn(async move { lock.try_acquire().await.unwrap() })
        });
        let mut held = Vec::new();
        for t in tries {
            held.extend(t.await.unwrap());
        }
        assert_eq!(held.len(), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn holder_ids_are_random_hex() {
        let store = Arc::new(MemoryStore::new());
        let a = lock(&store, Duration::from_secs(5));
        let first = a.try_acquire().await.unwrap().unwrap();
        let id1 = store.get("k").await.unwrap().unwrap();
        first.release().await.unwrap();
        let _second = a.try_acquire().await.unwrap().unwrap();
        let id2 = store.get("k").await.unwrap().unwrap();
        assert_ne!(id1, id2);
        assert_eq!(id1.len(), 32);
        assert!(id1.iter().all(u8::is_ascii_hexdigit));
    }

    #[tokio::test(start_paused = true)]
    async fn an_unreleased_lock_expires_after_its_ttl() {
        let store = Arc::new(MemoryStore::new());
        let l = lock(&store, Duration::from_secs(5));
        let _abandoned = l.try_acquire().await.unwrap().unwrap();
        tokio::time::advance(Duration::from_millis(4_999)).await;
        assert!(l.try_acquire().await.unwrap().is_none());
        tokio::time::advance(Duration::from_millis(1)).await;
        assert!(l.try_acquire().await.unwrap().is_some());
    }

    #[tokio::test(start_paused = true)]
    async fn release_and_renew_are_holder_checked() {
        let store = Arc::new(MemoryStore::new());
        let l = lock(&store, Duration::from_secs(5));
        let stale = l.try_acquire().await.unwrap().unwrap();
        tokio::time::advance(Duration::from_secs(5)).await;
        let current = l.try_acquire().await.unwrap().unwrap();
        // The stalled holder neither extends nor deletes the new holder's lock.
        assert!(!stale.renew().await.unwrap());
        assert!(!stale.release().await.unwrap());
        assert!(l.try_acquire().await.unwrap().is_none());
        // The current holder does both.
        tokio::time::advance(Duration::from_secs(4)).await;
        assert!(current.renew().await.unwrap());
        tokio::time::advance(Duration::from_secs(4)).await;
        assert!(l.try_acquire().await.unwrap().is_none(), "renewed for 5 s");
        assert!(current.release().await.unwrap());
        assert!(l.try_acquire().await.unwrap().is_some());
    }

    #[tokio::test(start_paused = true)]
    async fn acquire_waits_for_a_release() {
        let store = Arc::new(MemoryStore::new());
        let l = lock(&store, Duration::from_secs(60)).wait(Duration::from_secs(2));
        let first = l.try_acquire().await.unwrap().unwrap();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(300)).await;
            first.release().await.unwrap();
        });
        let started = Instant::now();
        let second = l.acquire().await;
        assert!(second.is_ok());
        // Pauses 25, 50, 100, 200 ms: the release at 300 ms is seen at 375 ms.
        assert_eq!(started.elapsed(), Duration::from_millis(375));
    }

    #[tokio::test(start_paused = true)]
    async fn acquire_gives_up_at_its_deadline_with_few_attempts() {
        struct Counting(MemoryStore, std::sync::atomic::AtomicUsize);
        #[async_trait::async_trait]
        impl Store for Counting {
            async fn get(&self, k: &str) -> Result<Option<Bytes>, StoreError> {
                self.0.get(k).await
            }
            async fn set(&self, k: &str, v: Bytes, t: Option<Duration>) -> Result<(), StoreError> {
                self.0.set(k, v, t).await
            }
            async fn set_if_absent(
                &self,
                k: &str,
                v: Bytes,
                t: Option<Duration>,
            ) -> Result<bool, StoreError> {
                self.1.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                self.0.set_if_absent(k, v, t).await
            }
            async fn replace_if_equals(
                &self,
                k: &str,
                e: &[u8],
                v: Bytes,
                t: Option<Duration>,
            ) -> Result<bool, StoreError> {
                self.0.replace_if_equals(k, e, v, t).await
            }
            async fn delete(&self, k: &str) -> Result<bool, StoreError> {
                self.0.delete(k).await
            }
            async fn delete_if_equals(&self, k: &str, e: &[u8]) -> Result<bool, StoreError> {
                self.0.delete_if_equals(k, e).await
            }
        }
        let store = Arc::new(Counting(MemoryStore::new(), Default::default()));
        let l = Lock::new(
            Arc::clone(&store) as Arc<dyn Store>,
            "k",
            Duration::from_secs(60),
        )
        .wait(Duration::from_secs(2));
        let _held = l.try_acquire().await.unwrap().unwrap();
        let started = Instant::now();
        assert_eq!(l.acquire().await.unwrap_err(), LockError::Busy);
        assert_eq!(started.elapsed(), Duration::from_secs(2));
        // The holder's, then attempts at 0, 25, 75, 175, 375 ms and every 250 ms up to 2 s: 12
        // waiting attempts, not 2000 / 25.
        assert_eq!(store.1.load(std::sync::atomic::Ordering::SeqCst), 1 + 12);
    }

    #[tokio::test(start_paused = true)]
    async fn without_a_wait_acquire_tries_once() {
        let store = Arc::new(MemoryStore::new());
        let l = lock(&store, Duration::from_secs(60));
        let _held = l.try_acquire().await.unwrap().unwrap();
        let started = Instant::now();
        assert_eq!(l.acquire().await.unwrap_err(), LockError::Busy);
        assert_eq!(started.elapsed(), Duration::ZERO);
    }

    #[tokio::test(start_paused = true)]
    async fn hold_while_renews_past_the_ttl_then_stops() {
        let store = Arc::new(MemoryStore::new());
        let l = lock(&store, Duration::from_secs(3));
        let guard = l.try_acquire().await.unwrap().unwrap();
        let contender = l.clone();
        let out = guard
            .hold_while(async {
                tokio::time::sleep(Duration::from_secs(10)).await;
                contender.try_acquire().await.unwrap().is_none()
            })
            .await;
        assert!(out, "still held after 10 s of a 3 s lock");
        // No renewal after the work: the lock ends one TTL after the last beat (at 9 s).
        tokio::time::advance(Duration::from_secs(2)).await;
        assert!(l.try_acquire().await.unwrap().is_some());
    }

    #[tokio::test(start_paused = true)]
    async fn hold_while_never_renews_a_lock_taken_by_another() {
        let store = Arc::new(MemoryStore::new());
        let l = lock(&store, Duration::from_secs(3));
        let guard = l.try_acquire().await.unwrap().unwrap();
        let thief = Arc::clone(&store);
        guard
            .hold_while(async {
                tokio::time::sleep(Duration::from_millis(500)).await;
                thief
                    .set(
                        "k",
                        Bytes::from_static(b"other"),
                        Some(Duration::from_secs(60)),
                    )
                    .await
                    .unwrap();
                tokio::time::sleep(Duration::from_secs(10)).await;
            })
            .await;
        assert_eq!(
            store.get("k").await.unwrap(),
            Some(Bytes::from_static(b"other"))
        );
        assert!(!guard.release().await.unwrap());
    }

    #[test]
    fn debug_hides_the_holder() {
        let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
        let guard = LockGuard {
            store,
            key: "k".into(),
            ttl: Duration::from_secs(1),
            holder: Bytes::from_static(b"secret-holder"),
        };
        let debug = format!("{guard:?}");
        assert!(!debug.contains("secret-holder"), "{debug}");
    }
}
