//! Token central control (中控): one place that fetches `access_token` (or `jsapi_ticket`) and
//! shares it.
//!
//! WeChat allows 2000 `access_token` fetches a day and invalidates the previous token shortly
//! after a new one is fetched, so servers that each fetch their own break each other. A
//! [`TokenManager`] fetches once and shares:
//!
//! - in the process: a cached token is returned without any I/O; on a cold or expiring cache one
//!   caller fetches while the others wait for it (single flight);
//! - across processes: the token lives in a [`Store`] (Redis for many processes); a lock
//!   (`set_if_absent` with a TTL, released only by its holder) lets one process fetch while the
//!   others wait and read the store (the framework's one [`Lock`], as sessions and pay claims
//!   use). The holder renews the lock every third of its TTL while its fetch runs
//!   (holder-checked with [`Store::replace_if_equals`]), so a fetch slower than the TTL does not
//!   let a second process fetch a second token; a renewal that finds the lock gone or taken by
//!   another holder stops renewing, logs an error, and lets the fetch finish (the other holder may fetch too, but no lock is overwritten). A process that
//!   dies mid-fetch stops renewing, and its lock expires after one TTL;
//! - ahead of expiry: a token within `refresh_ahead` of its expiry is refreshed by the next caller
//!   (others keep using it meanwhile);
//! - passively: when WeChat answers 40001/40014/42001, [`TokenManager::invalidate`] drops the
//!   token, but only if it is still the one that failed (so a token another caller already
//!   refreshed is kept).
//!
//! # When the store fails
//!
//! A store that fails (Redis unreachable, or slower than its timeout) does not stop the token
//! from being served, and does not turn into one fetch per request:
//!
//! - **While it is down**, the manager works from its own process: it keeps serving its cached
//!   token while that is unexpired (even past `refresh_ahead`: fetching now would invalidate the
//!   token of every other process), and when that expires (or WeChat refuses it) it fetches
//!   one itself, single-flight (one fetch at a time in the process; the other callers wait for
//!   it or keep the unexpired token). It never hands out a token it knows is expired. For
//!   [`store_retry`](TokenManager::store_retry) (default 5 s) after a failure it does not touch
//!   the store at all, so callers do not each wait for the store's timeout; then one caller
//!   tries again while the others keep the cached token.
//! - **When it is back**, the next refresh goes through the store again: the manager adopts the
//!   token it finds there, or publishes the one it fetched on its own (instead of fetching
//!   another), so the processes converge on one token. Tokens fetched by several processes
//!   during the outage invalidate each other's at WeChat; the 40001 that follows goes through
//!   [`TokenManager::replace`] as usual.
//! - A failure to write the fetched token to the store, or to release the lock, does not waste
//!   the fetch: the token is served from the process and the lock expires by itself.
//!
//! ```
//! use std::sync::Arc;
//! use std::sync::atomic::{AtomicUsize, Ordering};
//! use wechat_tower::client::{FetchedToken, TokenManager};
//! use wechat_tower::core::secret::AccessToken;
//! use wechat_tower::store::MemoryStore;
//!
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), wechat_tower::client::ClientError> {
//! let fetches = Arc::new(AtomicUsize::new(0));
//! let counter = Arc::clone(&fetches);
//! let tokens = TokenManager::new("wx123:access_token", Arc::new(MemoryStore::new()), move |_invalidated: bool| {
//!     let n = counter.fetch_add(1, Ordering::SeqCst);
//!     async move { Ok(FetchedToken { token: AccessToken::new(format!("token-{n}")), expires_in: 7200 }) }
//! });
//! let first = tokens.get().await?;
//! let again = tokens.get().await?;
//! assert_eq!(first.expose(), again.expose());
//! assert_eq!(fetches.load(Ordering::SeqCst), 1);
//!
//! tokens.invalidate(&first).await?; // WeChat said 40001
//! assert_eq!(tokens.get().await?.expose(), "token-1");
//! # Ok(()) }
//! ```

use std::future::Future;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use tokio::time::Instant;
use wechat_core::secret::AccessToken;
use wechat_core::signature::constant_time_eq;

use super::error::ClientError;
use crate::config::{Clock, SystemClock};
use crate::store::lock::{Lock, LockError};
use crate::store::{Store, StoreError};

/// A token as its source hands it over.
#[derive(Debug, Clone)]
pub struct FetchedToken {
    /// The token.
    pub token: AccessToken,
    /// Its lifetime in seconds (`expires_in`, 7200 for `access_token`).
    pub expires_in: u64,
}

/// Where tokens come from: `cgi-bin/token`, `cgi-bin/stable_token`, `getticket`, or a system of
/// your own. `invalidated` is true when the previous token was refused by WeChat, so a source
/// that can force a new token (`stable_token`'s `force_refresh`) should.
///
/// Any `Fn(bool) -> impl Future<Output = Result<FetchedToken, ClientError>>` is a source.
#[async_trait]
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a token source",
    note = "implement `TokenSource`, or pass a closure `|invalidated: bool| async move {{ Ok(FetchedToken {{ .. }}) }}`"
)]
pub trait TokenSource: Send + Sync + 'static {
    /// Fetches a new token.
    async fn fetch(&self, invalidated: bool) -> Result<FetchedToken, ClientError>;
}

#[async_trait]
impl<F, Fut> TokenSource for F
where
    F: Fn(bool) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<FetchedToken, ClientError>> + Send,
{
    async fn fetch(&self, invalidated: bool) -> Result<FetchedToken, ClientError> {
        self(invalidated).await
    }
}

/// A token with its expiry and the moment to refresh it, as cached and stored
/// (`<expires_at>:<refresh_at>:<token>`).
#[derive(Clone)]
struct Cached {
    token: AccessToken,
    expires_at: u64,
    /// When callers start refreshing: `refresh_ahead` before expiry, but never earlier than
    /// half-way through the token's life (a short-lived token would otherwise be refetched by
    /// every call).
    refresh_at: u64,
    /// Whether the token is in the store (false: fetched by this process while the store was
    /// down, to be published or replaced once it is back). Not stored.
    shared: bool,
}

impl Cached {
    fn new(token: AccessToken, now: u64, expires_in: u64, refresh_ahead: u64) -> Self {
        let expires_at = now.saturating_add(expires_in);
        Self {
            token,
            expires_at,
            refresh_at: expires_at - refresh_ahead.min(expires_in / 2),
            shared: true,
        }
    }

    fn encode(&self) -> Bytes {
        Bytes::from(format!(
            "{}:{}:{}",
            self.expires_at,
            self.refresh_at,
            self.token.expose()
        ))
    }

    fn decode(raw: &[u8]) -> Option<Self> {
        let text = std::str::from_utf8(raw).ok()?;
        let (expires_at, rest) = text.split_once(':')?;
        let (refresh_at, token) = rest.split_once(':')?;
        Some(Self {
            token: AccessToken::new(token),
            expires_at: expires_at.parse().ok()?,
            refresh_at: refresh_at.parse().ok()?,
            shared: true,
        })
    }

    fn same_token(&self, other: &AccessToken) -> bool {
        constant_time_eq(self.token.expose().as_bytes(), other.expose().as_bytes())
    }
}

/// Shares one token between every caller of a process, and through a [`Store`] between
/// processes. See the [module docs](self). Cheap to clone.
#[derive(Clone)]
pub struct TokenManager {
    inner: Arc<Inner>,
}

struct Inner {
    key: String,
    lock_key: String,
    store: Arc<dyn Store>,
    source: Box<dyn TokenSource>,
    clock: Arc<dyn Clock>,
    refresh_ahead: u64,
    lock_ttl: Duration,
    poll_interval: Duration,
    wait_timeout: Duration,
    store_retry: Duration,
    cached: RwLock<Option<Cached>>,
    flight: tokio::sync::Mutex<()>,
    /// Until when to keep off the store after it failed.
    degraded_until: std::sync::Mutex<Option<Instant>>,
}

impl std::fmt::Debug for TokenManager {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenManager")
            .field("key", &self.inner.key)
            .field("refresh_ahead", &self.inner.refresh_ahead)
            .finish_non_exhaustive()
    }
}

impl TokenManager {
    /// A manager of the token stored under `key` (e.g. `wechat:<appid>:access_token`; every
    /// process of a deployment must use the same key), fetched from `source`.
    ///
    /// Defaults: refresh 300 s ahead of expiry, a 10 s refresh lock renewed while the fetch runs,
    /// waiting up to 15 s for another process's refresh, the system clock.
    #[must_use]
    pub fn new(key: impl Into<String>, store: Arc<dyn Store>, source: impl TokenSource) -> Self {
        let key = key.into();
        Self {
            inner: Arc::new(Inner {
                lock_key: format!("{key}:lock"),
                key,
                store,
                source: Box::new(source),
                clock: Arc::new(SystemClock),
                refresh_ahead: 300,
                lock_ttl: Duration::from_secs(10),
                poll_interval: Duration::from_millis(50),
                wait_timeout: Duration::from_secs(15),
                store_retry: Duration::from_secs(5),
                cached: RwLock::new(None),
                flight: tokio::sync::Mutex::new(()),
                degraded_until: std::sync::Mutex::new(None),
            }),
        }
    }

    fn configure(mut self, f: impl FnOnce(&mut Inner)) -> Self {
        if let Some(inner) = Arc::get_mut(&mut self.inner) {
            f(inner);
        }
        self
    }

    /// Refresh this many seconds before expiry (default 300).
    #[must_use]
    pub fn refresh_ahead(self, secs: u64) -> Self {
        self.configure(|i| i.refresh_ahead = secs)
    }

    /// How long the refresh lock lives without renewal (default 10 s: how long the others wait
    /// after a holder died mid-fetch), and how long others wait for a token to appear before
    /// giving up (default 15 s). The holder renews the lock every third of `lock_ttl` while its
    /// fetch runs, however long the fetch takes; keep `wait_timeout` above the fetch's own
    /// deadline, or the waiting callers give up ([`ClientError::TokenUnavailable`]) first.
    #[must_use]
    pub fn lock_timing(self, lock_ttl: Duration, wait_timeout: Duration) -> Self {
        self.configure(|i| {
            i.lock_ttl = lock_ttl;
            i.wait_timeout = wait_timeout;
        })
    }

    /// How long after a store failure the manager works from its own cache and its own fetches
    /// before it tries the store again (default 5 s). See
    /// [When the store fails](self#when-the-store-fails).
    #[must_use]
    pub fn store_retry(self, after: Duration) -> Self {
        self.configure(|i| i.store_retry = after)
    }

    /// Replace the clock (tests).
    #[must_use]
    pub fn clock(self, clock: impl Clock) -> Self {
        self.configure(|i| i.clock = Arc::new(clock))
    }

    /// The store key of the token.
    #[must_use]
    pub fn key(&self) -> &str {
        &self.inner.key
    }

    /// The current token: cached, stored by another process, or fetched now. A store failure is
    /// not an error here: see [When the store fails](self#when-the-store-fails).
    ///
    /// # Errors
    ///
    /// The source's error when fetching fails, and [`ClientError::TokenUnavailable`] when
    /// another process holds the refresh lock and no token appears in time.
    pub async fn get(&self) -> Result<AccessToken, ClientError> {
        if let Some(token) = self.local(true) {
            return Ok(token);
        }
        self.refresh(false).await
    }

    /// Drops `failed` (a token WeChat refused with 40001/40014/42001) from the cache and the
    /// store, if it is still the current one; the next [`TokenManager::get`] fetches anew.
    ///
    /// # Errors
    ///
    /// [`ClientError::Store`] when the store fails.
    pub async fn invalidate(&self, failed: &AccessToken) -> Result<(), ClientError> {
        {
            let mut cached = self.write_cache();
            if cached.as_ref().is_some_and(|c| c.same_token(failed)) {
                *cached = None;
            }
        }
        let store = &self.inner.store;
        let stored = store.get(&self.inner.key).await?;
        if let Some(raw) =
            stored.filter(|raw| Cached::decode(raw).is_some_and(|c| c.same_token(failed)))
        {
            store.delete_if_equals(&self.inner.key, &raw).await?;
        }
        Ok(())
    }

    /// [`TokenManager::get`] for a token just refused by WeChat: invalidates `failed` and
    /// returns the next token, fetched with `invalidated = true` when this caller fetches. A
    /// store that fails to drop `failed` is logged; the process still moves on to a new token.
    ///
    /// # Errors
    ///
    /// As [`TokenManager::get`].
    pub async fn replace(&self, failed: &AccessToken) -> Result<AccessToken, ClientError> {
        if let Err(err) = self.invalidate(failed).await {
            tracing::warn!(%err, key = %self.inner.key, "cannot drop a refused token from the store");
        }
        if let Some(token) = self.local(true) {
            return Ok(token);
        }
        self.refresh(true).await
    }

    fn write_cache(&self) -> std::sync::RwLockWriteGuard<'_, Option<Cached>> {
        // The cache holds plain data; a panic elsewhere cannot leave it half-written.
        self.inner
            .cached
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The cached token if it is fresh (or, with `fresh = false`, merely unexpired). A token
    /// this process fetched while the store was down counts as fresh only while the manager
    /// keeps off the store, so that the store is tried again afterwards.
    fn local(&self, fresh: bool) -> Option<AccessToken> {
        let cached = self
            .inner
            .cached
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let c = cached.as_ref()?;
        let ok = self.usable(c, fresh) && (!fresh || c.shared || self.degraded());
        ok.then(|| c.token.clone())
    }

    /// The cached token if it is unexpired and the store is down (or was, when this process
    /// fetched it).
    fn local_while_down(&self) -> Option<AccessToken> {
        let cached = self
            .inner
            .cached
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let c = cached.as_ref()?;
        let ok = self.usable(c, false) && (!c.shared || self.degraded());
        ok.then(|| c.token.clone())
    }

    fn degraded_until(&self) -> std::sync::MutexGuard<'_, Option<Instant>> {
        // Plain data; a panic elsewhere cannot leave it half-written.
        self.inner
            .degraded_until
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Whether the manager keeps off the store (it failed less than `store_retry` ago).
    fn degraded(&self) -> bool {
        self.degraded_until()
            .is_some_and(|until| Instant::now() < until)
    }

    fn store_failed(&self, err: &StoreError) {
        tracing::warn!(
            %err,
            key = %self.inner.key,
            retry_in = ?self.inner.store_retry,
            "token store unavailable: serving and fetching the token in this process"
        );
        *self.degraded_until() = Some(Instant::now() + self.inner.store_retry);
    }

    fn usable(&self, c: &Cached, fresh: bool) -> bool {
        let now = self.inner.clock.now_secs();
        now < if fresh { c.refresh_at } else { c.expires_at }
    }

    fn remember(&self, c: &Cached) {
        *self.write_cache() = Some(c.clone());
    }

    async fn refresh(&self, invalidated: bool) -> Result<AccessToken, ClientError> {
        let inner = &self.inner;
        let _flight = if let Ok(flight) = inner.flight.try_lock() {
            flight
        } else {
            // Another caller of this process is refreshing. While the store is down, it may be
            // waiting for the store's timeout: keep serving this process's unexpired token
            // meanwhile (a refused one was dropped by `invalidate`). Otherwise wait for it, so
            // that every caller moves to the refreshed token together.
            if let Some(token) = self.local_while_down() {
                return Ok(token);
            }
            inner.flight.lock().await
        };
        // Another caller of this process may have refreshed while we waited.
        if let Some(token) = self.local(true) {
            return Ok(token);
        }
        if self.degraded() {
            return self.refresh_locally(invalidated).await;
        }
        match self.refresh_shared(invalidated).await {
            Err(ClientError::Store(err)) => {
                self.store_failed(&err);
                self.refresh_locally(invalidated).await
            }
            other => other,
        }
    }

    /// The refresh while the store is down (the caller holds the process's flight): the cached
    /// token while it is unexpired, else one fetch by this process, kept in the process.
    async fn refresh_locally(&self, invalidated: bool) -> Result<AccessToken, ClientError> {
        if let Some(token) = self.local(false) {
            return Ok(token);
        }
        let inner = &self.inner;
        let fetched = inner.source.fetch(invalidated).await?;
        let mut cached = Cached::new(
            fetched.token,
            inner.clock.now_secs(),
            fetched.expires_in,
            inner.refresh_ahead,
        );
        cached.shared = false;
        self.remember(&cached);
        Ok(cached.token)
    }

    /// The refresh through the store: the stored token, or one fetched under the store's lock.
    async fn refresh_shared(&self, invalidated: bool) -> Result<AccessToken, ClientError> {
        let lock = self.lock();
        let mut backoff = lock.backoff();
        loop {
            if let Some(c) = self.stored().await?.filter(|c| self.usable(c, true)) {
                self.remember(&c);
                return Ok(c.token);
            }
            if let Some(guard) = lock.try_acquire().await.map_err(lock_error)? {
                let result = guard.hold_while(self.fetch_and_store(invalidated)).await;
                // Release only our own lock; if it expired meanwhile, someone else holds it now.
                // A failed release costs nothing but the lock's TTL: keep the token.
                if let Err(err) = guard.release().await {
                    tracing::warn!(%err, key = %self.inner.lock_key, "cannot release the token lock; it expires by itself");
                }
                return result;
            }
            // Another process is fetching: keep using an unexpired token meanwhile, else wait.
            if let Some(token) = self.local(false) {
                return Ok(token);
            }
            if let Some(c) = self.stored().await?.filter(|c| self.usable(c, false)) {
                self.remember(&c);
                return Ok(c.token);
            }
            if !backoff.pause().await {
                return Err(ClientError::TokenUnavailable);
            }
        }
    }

    /// The refresh lock: held while fetching, renewed every third of its TTL, waited for up to
    /// `wait_timeout`.
    fn lock(&self) -> Lock {
        let inner = &self.inner;
        Lock::new(
            Arc::clone(&inner.store),
            inner.lock_key.clone(),
            inner.lock_ttl,
        )
        .wait(inner.wait_timeout)
        .poll_interval(inner.poll_interval)
    }

    async fn stored(&self) -> Result<Option<Cached>, ClientError> {
        let raw = self.inner.store.get(&self.inner.key).await?;
        Ok(raw.as_deref().and_then(Cached::decode))
    }

    async fn fetch_and_store(&self, invalidated: bool) -> Result<AccessToken, ClientError> {
        let inner = &self.inner;
        // The token may have been refreshed between our look at the store and taking the lock
        // (a refused token was already removed from the store by `invalidate`).
        if let Some(c) = self.stored().await?.filter(|c| self.usable(c, true)) {
            self.remember(&c);
            return Ok(c.token);
        }
        // A token this process fetched while the store was down, and still fresh: publish it
        // rather than fetch another (which would invalidate it).
        let own = self
            .inner
            .cached
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
            .filter(|c| !c.shared && !invalidated && self.usable(c, true));
        let mut cached = if let Some(own) = own {
            own
        } else {
            let fetched = inner.source.fetch(invalidated).await?;
            Cached::new(
                fetched.token,
                inner.clock.now_secs(),
                fetched.expires_in,
                inner.refresh_ahead,
            )
        };
        let ttl = cached
            .expires_at
            .saturating_sub(inner.clock.now_secs())
            .max(1);
        let stored = inner
            .store
            .set(&inner.key, cached.encode(), Some(Duration::from_secs(ttl)))
            .await;
        cached.shared = stored.is_ok();
        self.remember(&cached);
        if let Err(err) = stored {
            // The fetch is not wasted: serve the token from this process.
            self.store_failed(&err);
        }
        Ok(cached.token)
    }
}

/// A lock failure as the token manager reports it (it has no variant of its own for the OS
/// generator failing to give a holder id: that is reported as a store failure).
fn lock_error(err: LockError) -> ClientError {
    match err {
        LockError::Store(err) => ClientError::Store(err),
        LockError::Busy => ClientError::TokenUnavailable,
        LockError::Random => {
            ClientError::Store(StoreError::Unavailable(LockError::Random.to_string()))
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

    use super::*;
    use crate::store::MemoryStore;

    fn counting_source(fetches: &Arc<AtomicUsize>, expires_in: u64) -> impl TokenSource + use<> {
        let fetches = Arc::clone(fetches);
        move |_invalidated: bool| {
            let n = fetches.fetch_add(1, Ordering::SeqCst);
            async move {
                tokio::time::sleep(Duration::from_millis(20)).await;
                Ok(FetchedToken {
                    token: AccessToken::new(format!("t{n}")),
                    expires_in,
                })
            }
        }
    }

    /// A clock the test sets by hand.
    fn manual_clock(start: u64) -> (Arc<AtomicU64>, impl Clock) {
        let now = Arc::new(AtomicU64::new(start));
        let reader = Arc::clone(&now);
        (now, move || reader.load(Ordering::SeqCst))
    }

    #[tokio::test]
    async fn a_thousand_cold_callers_cause_one_fetch() {
        let fetches = Arc::new(AtomicUsize::new(0));
        let tokens = TokenManager::new(
            "k",
            Arc::new(MemoryStore::new()),
            counting_source(&fetches, 7200),
        );
        let calls = (0..1000).map(|_| {
            let tokens = tokens.clone();
            tokio::spawn(async move { tokens.get().await.map(|t| t.expose().to_owned()) })
        });
        for call in calls {
            assert_eq!(call.await.unwrap().unwrap(), "t0");
        }
        assert_eq!(fetches.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn refreshes_ahead_of_expiry_once() {
        let (now, clock) = manual_clock(1_000);
        let fetches = Arc::new(AtomicUsize::new(0));
        let tokens = TokenManager::new(
            "k",
            Arc::new(MemoryStore::new()),
            counting_source(&fetches, 7200),
        )
        .clock(clock);
        assert_eq!(tokens.get().await.unwrap().expose(), "t0");
        now.store(1_000 + 7200 - 301, Ordering::SeqCst);
        assert_eq!(tokens.get().await.unwrap().expose(), "t0");
        now.store(1_000 + 7200 - 299, Ordering::SeqCst);
        for _ in 0..10 {
            assert_eq!(tokens.get().await.unwrap().expose(), "t1");
        }
        assert_eq!(fetches.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn short_lived_tokens_refresh_half_way_not_on_every_call() {
        let (now, clock) = manual_clock(0);
        let fetches = Arc::new(AtomicUsize::new(0));
        let tokens = TokenManager::new(
            "k",
            Arc::new(MemoryStore::new()),
            counting_source(&fetches, 60),
        )
        .clock(clock);
        for _ in 0..10 {
            assert_eq!(tokens.get().await.unwrap().expose(), "t0");
        }
        now.store(31, Ordering::SeqCst);
        assert_eq!(tokens.get().await.unwrap().expose(), "t1");
        assert_eq!(fetches.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn invalidates_only_the_token_that_failed() {
        let fetches = Arc::new(AtomicUsize::new(0));
        let tokens = TokenManager::new(
            "k",
            Arc::new(MemoryStore::new()),
            counting_source(&fetches, 7200),
        );
        let t0 = tokens.get().await.unwrap();
        let t1 = tokens.replace(&t0).await.unwrap();
        assert_eq!(t1.expose(), "t1");
        // A late report of the old token's failure must not drop the new one.
        tokens.invalidate(&t0).await.unwrap();
        assert_eq!(tokens.get().await.unwrap().expose(), "t1");
        assert_eq!(fetches.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn managers_sharing_a_store_fetch_once() {
        let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
        let fetches = Arc::new(AtomicUsize::new(0));
        let managers: Vec<_> = (0..4)
            .map(|_| {
                TokenManager::new(
                    "shared",
                    Arc::clone(&store),
                    counting_source(&fetches, 7200),
                )
            })
            .collect();
        let calls: Vec<_> = managers
            .iter()
            .flat_map(|m| (0..25).map(move |_| m.clone()))
            .map(|m| tokio::spawn(async move { m.get().await.unwrap().expose().to_owned() }))
            .collect();
        for call in calls {
            assert_eq!(call.await.unwrap(), "t0");
        }
        assert_eq!(fetches.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn source_errors_release_the_lock() {
        let attempts = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&attempts);
        let tokens = TokenManager::new("k", Arc::new(MemoryStore::new()), move |_: bool| {
            let n = counter.fetch_add(1, Ordering::SeqCst);
            async move {
                if n == 0 {
                    Err(ClientError::Timeout)
                } else {
                    Ok(FetchedToken {
                        token: AccessToken::new("ok"),
                        expires_in: 7200,
                    })
                }
            }
        });
        assert!(matches!(tokens.get().await, Err(ClientError::Timeout)));
        assert_eq!(tokens.get().await.unwrap().expose(), "ok");
    }

    #[tokio::test]
    async fn a_stuck_lock_holder_turns_into_an_error() {
        let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
        store
            .set_if_absent("k:lock", Bytes::from_static(b"someone"), None)
            .await
            .unwrap();
        let tokens = TokenManager::new("k", store, |_: bool| async {
            Ok(FetchedToken {
                token: AccessToken::new("never"),
                expires_in: 7200,
            })
        })
        .lock_timing(Duration::from_secs(10), Duration::from_millis(200));
        assert!(matches!(
            tokens.get().await,
            Err(ClientError::TokenUnavailable)
        ));
    }

    /// A [`MemoryStore`] that can be switched off (every call fails, as a stopped Redis), and
    /// counts the calls made to it.
    #[derive(Default)]
    struct Flaky {
        inner: MemoryStore,
        down: std::sync::atomic::AtomicBool,
        calls: AtomicUsize,
    }

    impl Flaky {
        fn check(&self) -> Result<(), StoreError> {
            self.calls.fetch_add(1, Ordering::SeqCst);
            if self.down.load(Ordering::SeqCst) {
                Err(StoreError::Unavailable("connection refused".to_owned()))
            } else {
                Ok(())
            }
        }
    }

    #[async_trait]
    impl Store for Flaky {
        async fn get(&self, key: &str) -> Result<Option<Bytes>, StoreError> {
            self.check()?;
            self.inner.get(key).await
        }
        async fn set(
            &self,
            key: &str,
            value: Bytes,
            ttl: Option<Duration>,
        ) -> Result<(), StoreError> {
            self.check()?;
            self.inner.set(key, value, ttl).await
        }
        async fn set_if_absent(
            &self,
            key: &str,
            value: Bytes,
            ttl: Option<Duration>,
        ) -> Result<bool, StoreError> {
            self.check()?;
            self.inner.set_if_absent(key, value, ttl).await
        }
        async fn replace_if_equals(
            &self,
            key: &str,
            expected: &[u8],
            value: Bytes,
            ttl: Option<Duration>,
        ) -> Result<bool, StoreError> {
            self.check()?;
            self.inner
                .replace_if_equals(key, expected, value, ttl)
                .await
        }
        async fn delete(&self, key: &str) -> Result<bool, StoreError> {
            self.check()?;
            self.inner.delete(key).await
        }
        async fn delete_if_equals(&self, key: &str, expected: &[u8]) -> Result<bool, StoreError> {
            self.check()?;
            self.inner.delete_if_equals(key, expected).await
        }
    }

    /// Issue 13: a store that is down falls back to one fetch per process, not per request
    /// (before, every call failed with the store's error).
    #[tokio::test]
    async fn a_store_that_is_down_costs_one_fetch_per_process() {
        let store = Arc::new(Flaky::default());
        store.down.store(true, Ordering::SeqCst);
        let fetches = Arc::new(AtomicUsize::new(0));
        let tokens = TokenManager::new(
            "k",
            Arc::clone(&store) as Arc<dyn Store>,
            counting_source(&fetches, 7200),
        );
        let calls: Vec<_> = (0..200)
            .map(|_| {
                let tokens = tokens.clone();
                tokio::spawn(async move { tokens.get().await.map(|t| t.expose().to_owned()) })
            })
            .collect();
        for call in calls {
            assert_eq!(call.await.unwrap().unwrap(), "t0");
        }
        assert_eq!(fetches.load(Ordering::SeqCst), 1);
        // Only the first refresh tried the store; the others were served from the process.
        assert!(store.calls.load(Ordering::SeqCst) <= 2, "{:?}", store.calls);
    }

    #[tokio::test(start_paused = true)]
    async fn while_the_store_is_down_no_expired_token_and_back_to_the_store_after() {
        let (now, clock) = manual_clock(1_000);
        let store = Arc::new(Flaky::default());
        let fetches = Arc::new(AtomicUsize::new(0));
        let fails = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let source = {
            let (fetches, fails) = (Arc::clone(&fetches), Arc::clone(&fails));
            move |_: bool| {
                let n = fetches.fetch_add(1, Ordering::SeqCst);
                let fail = fails.load(Ordering::SeqCst);
                async move {
                    if fail {
                        return Err(ClientError::Timeout);
                    }
                    Ok(FetchedToken {
                        token: AccessToken::new(format!("t{n}")),
                        expires_in: 7200,
                    })
                }
            }
        };
        let tokens = TokenManager::new("k", Arc::clone(&store) as Arc<dyn Store>, source)
            .clock(clock)
            .store_retry(Duration::from_secs(5));
        assert_eq!(tokens.get().await.unwrap().expose(), "t0");

        // Down, inside refresh-ahead: the unexpired token, no fetch.
        store.down.store(true, Ordering::SeqCst);
        now.store(1_000 + 7200 - 10, Ordering::SeqCst);
        for _ in 0..5 {
            assert_eq!(tokens.get().await.unwrap().expose(), "t0");
        }
        assert_eq!(fetches.load(Ordering::SeqCst), 1);

        // Expired while down, and the source fails too: an error, never the expired token.
        now.store(1_000 + 7200, Ordering::SeqCst);
        fails.store(true, Ordering::SeqCst);
        assert!(matches!(tokens.get().await, Err(ClientError::Timeout)));
        // The source is back: one fetch in the process.
        fails.store(false, Ordering::SeqCst);
        for _ in 0..5 {
            assert_eq!(tokens.get().await.unwrap().expose(), "t2");
        }
        assert_eq!(fetches.load(Ordering::SeqCst), 3);

        // Back: after `store_retry`, the next call publishes the token it fetched on its own
        // (no new fetch), and a second manager on the store adopts it.
        store.down.store(false, Ordering::SeqCst);
        tokio::time::advance(Duration::from_secs(6)).await;
        assert_eq!(tokens.get().await.unwrap().expose(), "t2");
        assert_eq!(fetches.load(Ordering::SeqCst), 3);
        let raw = store.get("k").await.unwrap().unwrap();
        assert!(raw.ends_with(b":t2"), "{raw:?}");
        let other = TokenManager::new(
            "k",
            Arc::clone(&store) as Arc<dyn Store>,
            counting_source(&fetches, 7200),
        )
        .clock(move || 1_000 + 7200);
        assert_eq!(other.get().await.unwrap().expose(), "t2");
        assert_eq!(fetches.load(Ordering::SeqCst), 3);
    }

    #[tokio::test(start_paused = true)]
    async fn a_refused_token_is_replaced_while_the_store_is_down() {
        let store = Arc::new(Flaky::default());
        let fetches = Arc::new(AtomicUsize::new(0));
        let tokens = TokenManager::new(
            "k",
            Arc::clone(&store) as Arc<dyn Store>,
            counting_source(&fetches, 7200),
        );
        let t0 = tokens.get().await.unwrap();
        store.down.store(true, Ordering::SeqCst);
        assert!(tokens.invalidate(&t0).await.is_err());
        let t1 = tokens.replace(&t0).await.unwrap();
        assert_eq!(t1.expose(), "t1");
        assert_eq!(tokens.get().await.unwrap().expose(), "t1");
        assert_eq!(fetches.load(Ordering::SeqCst), 2);
    }

    /// A fetched token whose write to the store fails is served all the same (not fetched
    /// again by the next caller).
    #[tokio::test]
    async fn a_failed_store_write_does_not_waste_the_fetch() {
        struct ReadOnly(MemoryStore);
        #[async_trait]
        impl Store for ReadOnly {
            async fn get(&self, key: &str) -> Result<Option<Bytes>, StoreError> {
                self.0.get(key).await
            }
            async fn set(&self, _: &str, _: Bytes, _: Option<Duration>) -> Result<(), StoreError> {
                Err(StoreError::Timeout)
            }
            async fn set_if_absent(
                &self,
                key: &str,
                value: Bytes,
                ttl: Option<Duration>,
            ) -> Result<bool, StoreError> {
                self.0.set_if_absent(key, value, ttl).await
            }
            async fn replace_if_equals(
                &self,
                key: &str,
                expected: &[u8],
                value: Bytes,
                ttl: Option<Duration>,
            ) -> Result<bool, StoreError> {
                self.0.replace_if_equals(key, expected, value, ttl).await
            }
            async fn delete(&self, key: &str) -> Result<bool, StoreError> {
                self.0.delete(key).await
            }
            async fn delete_if_equals(
                &self,
                key: &str,
                expected: &[u8],
            ) -> Result<bool, StoreError> {
                self.0.delete_if_equals(key, expected).await
            }
        }
        let fetches = Arc::new(AtomicUsize::new(0));
        let tokens = TokenManager::new(
            "k",
            Arc::new(ReadOnly(MemoryStore::new())),
            counting_source(&fetches, 7200),
        );
        for _ in 0..10 {
            assert_eq!(tokens.get().await.unwrap().expose(), "t0");
        }
        assert_eq!(fetches.load(Ordering::SeqCst), 1);
    }

    /// A source that takes `took` to answer, counting its fetches.
    fn slow_source(fetches: &Arc<AtomicUsize>, took: Duration) -> impl TokenSource + use<> {
        let fetches = Arc::clone(fetches);
        move |_invalidated: bool| {
            let n = fetches.fetch_add(1, Ordering::SeqCst);
            async move {
                tokio::time::sleep(took).await;
                Ok(FetchedToken {
                    token: AccessToken::new(format!("t{n}")),
                    expires_in: 7200,
                })
            }
        }
    }

    /// Issue 16: the lock lived 10 s, never renewed, so an upstream fetch of 12 s let a second
    /// process take the lock and fetch a second token.
    #[tokio::test(start_paused = true)]
    async fn issue16_a_fetch_slower_than_the_lock_ttl_is_not_repeated_by_another_process() {
        let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
        let fetches = Arc::new(AtomicUsize::new(0));
        let manager = || {
            TokenManager::new(
                "k",
                Arc::clone(&store),
                slow_source(&fetches, Duration::from_secs(3)),
            )
            .lock_timing(Duration::from_secs(1), Duration::from_secs(10))
        };
        let (first, second) = (manager(), manager());
        let a = tokio::spawn(async move { first.get().await });
        tokio::time::sleep(Duration::from_millis(500)).await;
        let b = tokio::spawn(async move { second.get().await });
        assert_eq!(a.await.unwrap().unwrap().expose(), "t0");
        assert_eq!(b.await.unwrap().unwrap().expose(), "t0");
        assert_eq!(fetches.load(Ordering::SeqCst), 1);
        // The holder released its lock.
        assert_eq!(store.get("k:lock").await.unwrap(), None);
    }

    /// A [`MemoryStore`] that counts lock renewals.
    struct CountingRenewals {
        inner: MemoryStore,
        renewals: AtomicUsize,
    }

    #[async_trait]
    impl Store for CountingRenewals {
        async fn get(&self, key: &str) -> Result<Option<Bytes>, StoreError> {
            self.inner.get(key).await
        }
        async fn set(
            &self,
            key: &str,
            value: Bytes,
            ttl: Option<Duration>,
        ) -> Result<(), StoreError> {
            self.inner.set(key, value, ttl).await
        }
        async fn set_if_absent(
            &self,
            key: &str,
            value: Bytes,
            ttl: Option<Duration>,
        ) -> Result<bool, StoreError> {
            self.inner.set_if_absent(key, value, ttl).await
        }
        async fn replace_if_equals(
            &self,
            key: &str,
            expected: &[u8],
            value: Bytes,
            ttl: Option<Duration>,
        ) -> Result<bool, StoreError> {
            self.renewals.fetch_add(1, Ordering::SeqCst);
            self.inner
                .replace_if_equals(key, expected, value, ttl)
                .await
        }
        async fn delete(&self, key: &str) -> Result<bool, StoreError> {
            self.inner.delete(key).await
        }
        async fn delete_if_equals(&self, key: &str, expected: &[u8]) -> Result<bool, StoreError> {
            self.inner.delete_if_equals(key, expected).await
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_renewal_that_finds_the_lock_taken_stops_renewing() {
        let store = Arc::new(CountingRenewals {
            inner: MemoryStore::new(),
            renewals: AtomicUsize::new(0),
        });
        let thief = Arc::clone(&store);
        let tokens =
            TokenManager::new("k", Arc::clone(&store) as Arc<dyn Store>, move |_: bool| {
                let thief = Arc::clone(&thief);
                async move {
                    // The lock expired (say, the store stalled) and another process took it.
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    thief
                        .set(
                            "k:lock",
                            Bytes::from_static(b"other"),
                            Some(Duration::from_secs(60)),
                        )
                        .await?;
                    tokio::time::sleep(Duration::from_secs(3)).await;
                    Ok(FetchedToken {
                        token: AccessToken::new("t"),
                        expires_in: 7200,
                    })
                }
            })
            .lock_timing(Duration::from_secs(1), Duration::from_secs(10));
        assert_eq!(tokens.get().await.unwrap().expose(), "t");
        // One renewal found the lock taken (at 1/3 s); none followed in the 3 s of fetch left.
        assert_eq!(store.renewals.load(Ordering::SeqCst), 1);
        assert_eq!(
            store.get("k:lock").await.unwrap(),
            Some(Bytes::from_static(b"other"))
        );
    }

    #[tokio::test(start_paused = true)]
    async fn the_lock_is_renewed_while_the_fetch_runs() {
        let store = Arc::new(CountingRenewals {
            inner: MemoryStore::new(),
            renewals: AtomicUsize::new(0),
        });
        let fetches = Arc::new(AtomicUsize::new(0));
        let tokens = TokenManager::new(
            "k",
            Arc::clone(&store) as Arc<dyn Store>,
            slow_source(&fetches, Duration::from_millis(3_100)),
        )
        .lock_timing(Duration::from_secs(3), Duration::from_secs(10));
        assert_eq!(tokens.get().await.unwrap().expose(), "t0");
        // Every second for 3.1 s, then the renewal stopped with the fetch.
        assert_eq!(store.renewals.load(Ordering::SeqCst), 3);
        tokio::time::sleep(Duration::from_secs(10)).await;
        assert_eq!(store.renewals.load(Ordering::SeqCst), 3);
    }

    #[test]
    fn stored_form_round_trips_and_rejects_garbage() {
        let c = Cached::new(AccessToken::new("a:b"), 0, 7200, 300);
        let back = Cached::decode(&c.encode()).unwrap();
        assert_eq!(
            (back.token.expose(), back.expires_at, back.refresh_at),
            ("a:b", 7200, 6900)
        );
        assert!(Cached::decode(b"nope").is_none());
        assert!(Cached::decode(b"x:y").is_none());
        assert!(Cached::decode(b"1:x:y").is_none());
    }
}
