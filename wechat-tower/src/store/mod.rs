//! Where shared state lives: access tokens and their refresh lock, Mini Program sessions, and
//! the records that let a pay notification be handled once.
//!
//! A [`Store`] is a small async key-value interface with expiry and the three atomic operations a
//! lock needs: acquire, holder-checked renewal and holder-checked release; [`lock`] builds the
//! one lock every part of the framework uses on them. [`MemoryStore`] is the embedded default for
//! one process; `RedisStore` (feature `redis`) lets every process of a deployment share one
//! store, so that they share one `access_token` instead of overwriting each other's (the
//! 中控服务器 of WeChat's docs), and one set of sessions and pay records.
//!
//! ```
//! use std::time::Duration;
//! use bytes::Bytes;
//! use wechat_tower::store::{MemoryStore, Store};
//!
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), wechat_tower::store::StoreError> {
//! let store = MemoryStore::new();
//! assert!(store.set_if_absent("lock", Bytes::from_static(b"me"), Some(Duration::from_secs(5))).await?);
//! assert!(!store.set_if_absent("lock", Bytes::from_static(b"you"), None).await?);
//! assert!(!store.replace_if_equals("lock", b"you", Bytes::from_static(b"you"), None).await?);
//! assert!(store.replace_if_equals("lock", b"me", Bytes::from_static(b"me"), Some(Duration::from_secs(5))).await?);
//! assert!(!store.delete_if_equals("lock", b"you").await?); // only the holder renews or releases
//! assert!(store.delete_if_equals("lock", b"me").await?);
//! # Ok(()) }
//! ```
//!
//! # When the store fails
//!
//! A `RedisStore` bounds every call by its timeout ([`StoreError::Timeout`]), fails fast while
//! Redis is unreachable ([`StoreError::Unavailable`]), and reconnects by itself when Redis is
//! back (see `RedisStore`). What each part of the framework does meanwhile (issue 13):
//!
//! | part | while the store is unreachable or slow | when it is back |
//! |---|---|---|
//! | inbound dedup ([`Router`](crate::Router)'s retry record) | configurable: fail-open (default: answer, log that dedup is off) or fail-closed (503, so WeChat retries); see [the router docs](crate::router#when-the-store-fails) | claims and replies go through the store again |
//! | access token ([`TokenManager`](crate::client::TokenManager)) | serves its cached token while unexpired; else one fetch at a time per process (never one per request), never an expired token; keeps off the store for `store_retry` (5 s) after a failure | publishes the token it fetched alone, or adopts the stored one: one token again |
//! | sessions (`SessionLayer`, feature `session`) | 503 JSON, errcode 10004, no `WWW-Authenticate` (not 401: an outage must not log users out); logins 503 too | sessions load again (those a non-persistent Redis lost answer 401) |
//! | pay notifications (`PayNotify`, feature `pay`) | FAIL with 503 before the handler runs: no SUCCESS without a claim in the store, so WeChat Pay retries and nothing is lost | the retry claims, runs the handler once, answers SUCCESS |
//! | [`MemoryStore`] | cannot fail: nothing to decide | — |
//!
//! A Redis without persistence loses its keys when it restarts: sessions end (401), a handled
//! pay notification may run again if WeChat Pay retries it (keep the handler's update
//! conditional), a token is fetched again. Run Redis with AOF or RDB persistence in production.

pub mod lock;
mod memory;
#[cfg(feature = "redis")]
mod redis;

use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;

pub use memory::MemoryStore;
#[cfg(feature = "redis")]
pub use redis::RedisStore;

/// A store failure: the backend cannot be reached or did not answer in time.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum StoreError {
    /// The backend refused or failed the operation.
    Unavailable(String),
    /// The backend did not answer within the store's timeout.
    Timeout,
}

impl std::fmt::Display for StoreError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Unavailable(reason) => write!(f, "store unavailable: {reason}"),
            Self::Timeout => f.write_str("store did not answer in time"),
        }
    }
}

impl std::error::Error for StoreError {}

/// An async key-value store with expiry, shared by the parts of the framework that keep state.
///
/// Implementations must make [`Store::set_if_absent`], [`Store::replace_if_equals`] and
/// [`Store::delete_if_equals`] atomic: they are the acquire, the holder-checked renewal and the
/// holder-checked release of a lock.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// The value under `key`, if present and not expired.
    async fn get(&self, key: &str) -> Result<Option<Bytes>, StoreError>;

    /// Sets `key` to `value`, expiring after `ttl` (never when `None`).
    async fn set(&self, key: &str, value: Bytes, ttl: Option<Duration>) -> Result<(), StoreError>;

    /// Sets `key` only if it is absent (or expired); returns whether it was set.
    async fn set_if_absent(
        &self,
        key: &str,
        value: Bytes,
        ttl: Option<Duration>,
    ) -> Result<bool, StoreError>;

    /// Sets `key` to `value` (expiring after `ttl`) only if its current value equals `expected`;
    /// returns whether it did. A lock's holder renews it this way, so a holder that stalled past
    /// the TTL cannot overwrite the lock another has taken since.
    async fn replace_if_equals(
        &self,
        key: &str,
        expected: &[u8],
        value: Bytes,
        ttl: Option<Duration>,
    ) -> Result<bool, StoreError>;

    /// Deletes `key`; returns whether it was present.
    async fn delete(&self, key: &str) -> Result<bool, StoreError>;

    /// Deletes `key` only if its value equals `expected`; returns whether it did.
    async fn delete_if_equals(&self, key: &str, expected: &[u8]) -> Result<bool, StoreError>;
}
