//! The embedded store: a map in this process's memory.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use tokio::time::Instant;

use super::{Store, StoreError};

/// Sweep expired entries once the map has grown by this many insertions.
const SWEEP_EVERY: usize = 1024;

/// A [`Store`] in this process's memory: the default for a single process. Expiry follows
/// `tokio::time`, so tests can pause and advance time. Its operations never fail and never
/// wait on I/O, so none of the store-failure handling of the other parts applies to it (see
/// [When the store fails](super#when-the-store-fails)).
#[derive(Debug, Default)]
pub struct MemoryStore {
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    entries: HashMap<String, Entry>,
    inserts_since_sweep: usize,
}

#[derive(Debug)]
struct Entry {
    value: Bytes,
    expires_at: Option<Instant>,
}

impl Entry {
    fn live(&self, now: Instant) -> bool {
        self.expires_at.is_none_or(|at| now < at)
    }
}

impl MemoryStore {
    /// An empty store.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    fn with<T>(&self, f: impl FnOnce(&mut Inner, Instant) -> T) -> T {
        // A poisoned lock only means another thread panicked mid-operation; every operation
        // leaves the map consistent, so carry on with it.
        let mut inner = self
            .inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        f(&mut inner, Instant::now())
    }
}

impl Inner {
    fn insert(&mut self, key: &str, value: Bytes, ttl: Option<Duration>, now: Instant) {
        self.inserts_since_sweep += 1;
        if self.inserts_since_sweep >= SWEEP_EVERY {
            self.entries.retain(|_, e| e.live(now));
            self.inserts_since_sweep = 0;
        }
        let expires_at = ttl.map(|ttl| now + ttl);
        self.entries
            .insert(key.to_owned(), Entry { value, expires_at });
    }

    fn live(&self, key: &str, now: Instant) -> Option<&Entry> {
        self.entries.get(key).filter(|e| e.live(now))
    }

    /// Whether `key` is live and holds `expected`: the check of a holder-checked operation.
    fn holds(&self, key: &str, expected: &[u8], now: Instant) -> bool {
        self.live(key, now)
            .is_some_and(|e| e.value.as_ref() == expected)
    }
}

#[async_trait]
impl Store for MemoryStore {
    async fn get(&self, key: &str) -> Result<Option<Bytes>, StoreError> {
        Ok(self.with(|inner, now| inner.live(key, now).map(|e| e.value.clone())))
    }

    async fn set(&self, key: &str, value: Bytes, ttl: Option<Duration>) -> Result<(), StoreError> {
        self.with(|inner, now| inner.insert(key, value, ttl, now));
        Ok(())
    }

    async fn set_if_absent(
        &self,
        key: &str,
        value: Bytes,
        ttl: Option<Duration>,
    ) -> Result<bool, StoreError> {
        Ok(self.with(|inner, now| {
            if inner.live(key, now).is_some() {
                return false;
            }
            inner.insert(key, value, ttl, now);
            true
        }))
    }

    async fn replace_if_equals(
        &self,
        key: &str,
        expected: &[u8],
        value: Bytes,
        ttl: Option<Duration>,
    ) -> Result<bool, StoreError> {
        Ok(self.with(|inner, now| {
            let holds = inner.holds(key, expected, now);
            if holds {
                inner.insert(key, value, ttl, now);
            }
            holds
        }))
    }

    async fn delete(&self, key: &str) -> Result<bool, StoreError> {
        Ok(self.with(|inner, now| {
            inner
                .entries
                .remove(key)
                .is_some_and(|entry| entry.live(now))
        }))
    }

    async fn delete_if_equals(&self, key: &str, expected: &[u8]) -> Result<bool, StoreError> {
        Ok(self.with(|inner, now| {
            let holds = inner.holds(key, expected, now);
            if holds {
                inner.entries.remove(key);
            }
            holds
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn entries_expire() {
        let store = MemoryStore::new();
        store
            .set("k", Bytes::from_static(b"v"), Some(Duration::from_secs(10)))
            .await
            .unwrap();
        assert_eq!(
            store.get("k").await.unwrap(),
            Some(Bytes::from_static(b"v"))
        );
        tokio::time::advance(Duration::from_secs(10)).await;
        assert_eq!(store.get("k").await.unwrap(), None);
        assert!(
            store
                .set_if_absent("k", Bytes::from_static(b"w"), None)
                .await
                .unwrap()
        );
    }

    #[tokio::test]
    async fn lock_semantics() {
        let store = MemoryStore::new();
        assert!(
            store
                .set_if_absent("l", Bytes::from_static(b"a"), None)
                .await
                .unwrap()
        );
        assert!(
            !store
                .set_if_absent("l", Bytes::from_static(b"b"), None)
                .await
                .unwrap()
        );
        assert!(
            !store
                .replace_if_equals("l", b"b", Bytes::from_static(b"b"), None)
                .await
                .unwrap()
        );
        assert!(!store.delete_if_equals("l", b"b").await.unwrap());
        assert!(store.delete_if_equals("l", b"a").await.unwrap());
        assert!(!store.delete("l").await.unwrap());
        // Nothing to renew once released.
        assert!(
            !store
                .replace_if_equals("l", b"a", Bytes::from_static(b"a"), None)
                .await
                .unwrap()
        );
    }

    #[tokio::test(start_paused = true)]
    async fn renewal_extends_only_the_holders_lock() {
        let store = MemoryStore::new();
        let ttl = Some(Duration::from_secs(3));
        assert!(
            store
                .set_if_absent("l", Bytes::from_static(b"a"), ttl)
                .await
                .unwrap()
        );
        tokio::time::advance(Duration::from_secs(2)).await;
        assert!(
            store
                .replace_if_equals("l", b"a", Bytes::from_static(b"a"), ttl)
                .await
                .unwrap()
        );
        tokio::time::advance(Duration::from_secs(2)).await;
        assert_eq!(
            store.get("l").await.unwrap(),
            Some(Bytes::from_static(b"a")),
            "renewed for another 3 s"
        );
        tokio::time::advance(Duration::from_secs(2)).await;
        assert_eq!(store.get("l").await.unwrap(), None);
        // An expired lock is not renewed: its holder has lost it.
        assert!(
            !store
                .replace_if_equals("l", b"a", Bytes::from_static(b"a"), ttl)
                .await
                .unwrap()
        );
    }

    #[tokio::test(start_paused = true)]
    async fn sweeps_expired_entries() {
        let store = MemoryStore::new();
        for i in 0..SWEEP_EVERY - 1 {
            let key = format!("k{i}");
            store
                .set(&key, Bytes::new(), Some(Duration::from_secs(1)))
                .await
                .unwrap();
        }
        tokio::time::advance(Duration::from_secs(2)).await;
        store.set("last", Bytes::new(), None).await.unwrap();
        let len = store.with(|inner, _| inner.entries.len());
        assert!(len <= 2, "{len} entries left");
    }
}
