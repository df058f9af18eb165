//! `SessionStore`: session tokens mapped to `{openid, unionid, session_key}` in a [`Store`].

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use serde::{Deserialize, Serialize};
use wechat_core::secret::SessionKey;

use super::token::SessionToken;
use super::user::UserSession;
use crate::config::{Clock, SystemClock};
use crate::store::lock::{Lock, LockError, LockGuard};
use crate::store::{Store, StoreError};

/// Default lifetime of a session: 7 days.
pub const DEFAULT_TTL: Duration = Duration::from_secs(7 * 24 * 3600);

/// Default absolute lifetime of a sliding session: 30 days.
pub const DEFAULT_MAX_LIFETIME: Duration = Duration::from_secs(30 * 24 * 3600);

/// Default number of sessions one openid may hold at once (devices); a login beyond it revokes
/// the oldest.
pub const DEFAULT_MAX_SESSIONS_PER_USER: usize = 10;

/// Default prefix of every key the session store writes.
pub const DEFAULT_PREFIX: &str = "wechat:session:";

/// How long an expired session is still kept, so that its token is answered "expired" rather
/// than "invalid"; after that it is gone.
pub const EXPIRED_GRACE: Duration = Duration::from_secs(24 * 3600);

/// How long the per-user lock of logins and revocations may be held (a crashed holder frees it
/// after this).
const LOCK_TTL: Duration = Duration::from_secs(5);

/// How long a login or revocation waits for the per-user lock.
const LOCK_WAIT: Duration = Duration::from_secs(2);

/// Pause between attempts to take the lock.
const LOCK_RETRY: Duration = Duration::from_millis(10);

/// Why a session could not be created, loaded or revoked.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SessionError {
    /// No such session: the token was never issued (or forged), was revoked, or expired long ago.
    Unknown,
    /// The session expired.
    Expired,
    /// The store failed.
    Store(StoreError),
    /// Another login or revocation of the same user held the lock for too long.
    Busy,
    /// The operating system could not provide random bytes for a token.
    Random,
}

impl std::fmt::Display for SessionError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Unknown => f.write_str("unknown session token"),
            Self::Expired => f.write_str("session expired"),
            Self::Store(err) => write!(f, "session store: {err}"),
            Self::Busy => f.write_str("session store busy: the user's lock was not released"),
            Self::Random => f.write_str("the OS random number generator failed"),
        }
    }
}

impl std::error::Error for SessionError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Store(err) => Some(err),
            _ => None,
        }
    }
}

impl From<StoreError> for SessionError {
    fn from(err: StoreError) -> Self {
        Self::Store(err)
    }
}

/// Sessions of Mini Program users (自定义登录态) in a [`Store`]: a random [`SessionToken`] for
/// the client, `{openid, unionid, session_key}` on the server.
///
/// - **Lifetime**: [`ttl`](Self::ttl) (default 7 days) from login; with
///   [`sliding`](Self::sliding), from the last use instead (renewed at most once per given
///   interval, so a busy client does not cost a store write per request), but never beyond
///   [`max_lifetime`](Self::max_lifetime) (default 30 days) after login.
/// - **Re-login**: WeChat issues a new `session_key` at each `wx.login`, and data it encrypts
///   from then on uses the new key; [`create`](Self::create) therefore gives every live session
///   of the same openid the new key. A user holds at most
///   [`max_sessions_per_user`](Self::max_sessions_per_user) sessions (default 10).
/// - **Logout**: [`revoke`](Self::revoke) one token, or [`revoke_all`](Self::revoke_all) of an
///   openid (log out everywhere).
/// - **Store layout** (under [`prefix`](Self::prefix), default `wechat:session:`): `<sha256 of
///   the token>` → the session as JSON; `user:<openid>` → the digests of the user's sessions;
///   `lock:<openid>` → a short lock serialising the user's logins, renewals and revocations.
///   The token itself is never stored, so a dump of the store yields no usable token; the
///   `session_key`s are, so protect the store as you would a database of credentials.
///
/// Cheap to clone. See the [module docs](super) for an example.
#[derive(Clone)]
#[must_use]
pub struct SessionStore {
    store: Arc<dyn Store>,
    prefix: String,
    ttl: Duration,
    renew_after: Option<Duration>,
    max_lifetime: Duration,
    max_per_user: usize,
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for SessionStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionStore")
            .field("prefix", &self.prefix)
            .field("ttl", &self.ttl)
            .field("renew_after", &self.renew_after)
            .field("max_lifetime", &self.max_lifetime)
            .field("max_per_user", &self.max_per_user)
            .finish_non_exhaustive()
    }
}

/// A session as stored. Not `Debug`: it holds the session key.
#[derive(Serialize, Deserialize)]
pub(crate) struct SessionRecord {
    pub(crate) openid: String,
    pub(crate) unionid: Option<String>,
    pub(crate) session_key: String,
    /// Unix seconds, as the other times.
    pub(crate) created_at: u64,
    pub(crate) expires_at: u64,
    pub(crate) renewed_at: u64,
}

/// The sessions of one openid.
#[derive(Serialize, Deserialize, Default)]
struct UserIndex {
    /// Digests of the user's session tokens, oldest first.
    sessions: Vec<String>,
}

impl SessionStore {
    /// Sessions in `store` with the defaults: 7 days from login, no sliding expiry, 10
    /// sessions per user, keys under `wechat:session:`, the system clock.
    pub fn new(store: Arc<dyn Store>) -> Self {
        Self {
            store,
            prefix: DEFAULT_PREFIX.to_owned(),
            ttl: DEFAULT_TTL,
            renew_after: None,
            max_lifetime: DEFAULT_MAX_LIFETIME,
            max_per_user: DEFAULT_MAX_SESSIONS_PER_USER,
            clock: Arc::new(SystemClock),
        }
    }

    /// How long a session lasts (from login, or with [`sliding`](Self::sliding) from its last
    /// use); at least one second.
    pub fn ttl(mut self, ttl: Duration) -> Self {
        self.ttl = ttl.max(Duration::from_secs(1));
        self
    }

    /// Sliding expiry: a session used at least `renew_after` after its last renewal lasts
    /// [`ttl`](Self::ttl) from that use (one store write per session per `renew_after` at
    /// most), up to [`max_lifetime`](Self::max_lifetime) after login.
    pub fn sliding(mut self, renew_after: Duration) -> Self {
        self.renew_after = Some(renew_after);
        self
    }

    /// The absolute lifetime of a sliding session, counted from login (default 30 days; never
    /// less than [`ttl`](Self::ttl)).
    pub fn max_lifetime(mut self, max_lifetime: Duration) -> Self {
        self.max_lifetime = max_lifetime;
        self
    }

    /// How many sessions one openid may hold (at least 1); a login beyond it revokes the
    /// oldest.
    pub fn max_sessions_per_user(mut self, max: usize) -> Self {
        self.max_per_user = max.max(1);
        self
    }

    /// The prefix of every key (default `wechat:session:`).
    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// The clock of expiry (Unix seconds; default the system clock), for tests.
    pub fn clock(mut self, clock: impl Clock) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// Opens a session for a user that just logged in (`jscode2session`'s answer; see
    /// [`SessionStore::login`] for the whole exchange) and returns its fresh token. Every live
    /// session of the same openid gets this `session_key` too.
    ///
    /// # Errors
    ///
    /// [`SessionError::Store`], [`SessionError::Busy`] or [`SessionError::Random`].
    pub async fn create(
        &self,
        openid: &str,
        unionid: Option<&str>,
        session_key: &SessionKey,
    ) -> Result<SessionToken, SessionError> {
        let token = SessionToken::generate().map_err(|_| SessionError::Random)?;
        let now = self.now();
        let record = SessionRecord {
            openid: openid.to_owned(),
            unionid: unionid.map(str::to_owned),
            session_key: session_key.expose().to_owned(),
            created_at: now,
            expires_at: now.saturating_add(self.ttl.as_secs()),
            renewed_at: now,
        };
        let lock = self.lock(openid).await?;
        let result = self.create_locked(&token.digest(), &record, now).await;
        release(lock).await;
        result.map(|()| token)
    }

    async fn create_locked(
        &self,
        digest: &str,
        record: &SessionRecord,
        now: u64,
    ) -> Result<(), SessionError> {
        let index = self.index(&record.openid).await?;
        let mut live = Vec::with_capacity(index.sessions.len() + 1);
        for other in index.sessions {
            match self.read(&other).await? {
                Some(mut old) if old.openid == record.openid && now < old.expires_at => {
                    // The new session_key replaces the old one: WeChat encrypts with it now.
                    old.session_key.clone_from(&record.session_key);
                    old.unionid.clone_from(&record.unionid);
                    self.write(&other, &old, now).await?;
                    live.push(other);
                }
                // Expired sessions stay until their grace ends, answered "expired".
                _ => {}
            }
        }
        self.write(digest, record, now).await?;
        live.push(digest.to_owned());
        let excess = live.len().saturating_sub(self.max_per_user);
        for oldest in live.drain(..excess) {
            self.store.delete(&self.session_key(&oldest)).await?;
        }
        self.write_index(&record.openid, &UserIndex { sessions: live })
            .await
    }

    /// The session of `token`, if it is live. With sliding expiry, renews it when due (a
    /// failed renewal does not fail the load).
    ///
    /// # Errors
    ///
    /// [`SessionError::Unknown`] (never issued, forged, revoked, or expired more than
    /// [`EXPIRED_GRACE`] ago), [`SessionError::Expired`], [`SessionError::Store`].
    pub async fn load(&self, token: &SessionToken) -> Result<UserSession, SessionError> {
        let digest = token.digest();
        let record = self.read(&digest).await?.ok_or(SessionError::Unknown)?;
        let now = self.now();
        if now >= record.expires_at {
            return Err(SessionError::Expired);
        }
        if let Some(renew_after) = self.renew_after
            && now.saturating_sub(record.renewed_at) >= renew_after.as_secs()
            && record.expires_at < self.hard_end(&record)
        {
            match self.renew(&digest, &record.openid, now).await {
                Ok(Some(renewed)) => return Ok(UserSession::new(token.clone(), renewed)),
                Ok(None) => {}
                Err(err) => tracing::debug!(%err, "session renewal skipped"),
            }
        }
        Ok(UserSession::new(token.clone(), record))
    }

    /// Renews a session under the user's lock, re-reading it first so that a revocation or a
    /// re-login in between wins. `None` when the lock is busy (another request renews it) or
    /// the session went away.
    async fn renew(
        &self,
        digest: &str,
        openid: &str,
        now: u64,
    ) -> Result<Option<SessionRecord>, SessionError> {
        let Some(lock) = self.try_lock(openid).await? else {
            return Ok(None);
        };
        let result = async {
            let Some(mut record) = self.read(digest).await? else {
                return Ok(None);
            };
            if now >= record.expires_at {
                return Ok(None);
            }
            record.expires_at = now
                .saturating_add(self.ttl.as_secs())
                .min(self.hard_end(&record));
            record.renewed_at = now;
            self.write(digest, &record, now).await?;
            Ok(Some(record))
        }
        .await;
        release(lock).await;
        result
    }

    /// Ends the session of `token` (logout); returns whether there was one.
    ///
    /// # Errors
    ///
    /// [`SessionError::Store`] or [`SessionError::Busy`].
    pub async fn revoke(&self, token: &SessionToken) -> Result<bool, SessionError> {
        let digest = token.digest();
        let Some(record) = self.read(&digest).await? else {
            return Ok(false);
        };
        let lock = self.lock(&record.openid).await?;
        let result = async {
            let removed = self.store.delete(&self.session_key(&digest)).await?;
            let mut index = self.index(&record.openid).await?;
            index.sessions.retain(|d| *d != digest);
            self.write_index(&record.openid, &index).await?;
            Ok(removed)
        }
        .await;
        release(lock).await;
        result
    }

    /// Ends every session of `openid` (log out everywhere, or a banned user); returns how many
    /// there were.
    ///
    /// # Errors
    ///
    /// [`SessionError::Store`] or [`SessionError::Busy`].
    pub async fn revoke_all(&self, openid: &str) -> Result<usize, SessionError> {
        let lock = self.lock(openid).await?;
        let result = async {
            let index = self.index(openid).await?;
            let mut removed = 0;
            for digest in &index.sessions {
                if self.store.delete(&self.session_key(digest)).await? {
                    removed += 1;
                }
            }
            self.store.delete(&self.index_key(openid)).await?;
            Ok(removed)
        }
        .await;
        release(lock).await;
        result
    }

    fn now(&self) -> u64 {
        self.clock.now_secs()
    }

    /// The latest a session may live: its login plus the absolute lifetime (plain `ttl` without
    /// sliding expiry).
    fn hard_end(&self, record: &SessionRecord) -> u64 {
        record.created_at.saturating_add(self.lifetime_secs())
    }

    fn lifetime_secs(&self) -> u64 {
        if self.renew_after.is_some() {
            self.max_lifetime.max(self.ttl).as_secs()
        } else {
            self.ttl.as_secs()
        }
    }

    fn session_key(&self, digest: &str) -> String {
        format!("{}{digest}", self.prefix)
    }

    fn index_key(&self, openid: &str) -> String {
        format!("{}user:{openid}", self.prefix)
    }

    fn lock_key(&self, openid: &str) -> String {
        format!("{}lock:{openid}", self.prefix)
    }

    async fn read(&self, digest: &str) -> Result<Option<SessionRecord>, SessionError> {
        let Some(bytes) = self.store.get(&self.session_key(digest)).await? else {
            return Ok(None);
        };
        // An unreadable record (another version wrote it, or it was tampered with) is no
        // session.
        Ok(serde_json::from_slice(&bytes).ok().or_else(|| {
            tracing::warn!("unreadable session record ignored");
            None
        }))
    }

    /// Writes a session; the store keeps it until its expiry plus the grace.
    async fn write(
        &self,
        digest: &str,
        record: &SessionRecord,
        now: u64,
    ) -> Result<(), SessionError> {
        let ttl = Duration::from_secs(record.expires_at.saturating_sub(now)) + EXPIRED_GRACE;
        let bytes =
            serde_json::to_vec(record).map_err(|e| StoreError::Unavailable(e.to_string()))?;
        self.store
            .set(&self.session_key(digest), Bytes::from(bytes), Some(ttl))
            .await
            .map_err(Into::into)
    }

    async fn index(&self, openid: &str) -> Result<UserIndex, SessionError> {
        let bytes = self.store.get(&self.index_key(openid)).await?;
        Ok(bytes
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default())
    }

    /// Writes the index of a user; it outlives every session in it (each ends at most one
    /// lifetime plus the grace after its login, and the index is rewritten at every login).
    async fn write_index(&self, openid: &str, index: &UserIndex) -> Result<(), SessionError> {
        if index.sessions.is_empty() {
            self.store.delete(&self.index_key(openid)).await?;
            return Ok(());
        }
        let ttl = Duration::from_secs(self.lifetime_secs()) + EXPIRED_GRACE;
        let bytes =
            serde_json::to_vec(index).map_err(|e| StoreError::Unavailable(e.to_string()))?;
        self.store
            .set(&self.index_key(openid), Bytes::from(bytes), Some(ttl))
            .await
            .map_err(Into::into)
    }

    /// The user's lock: serialises the logins, renewals and revocations of one openid.
    fn user_lock(&self, openid: &str) -> Lock {
        Lock::new(Arc::clone(&self.store), self.lock_key(openid), LOCK_TTL)
            .wait(LOCK_WAIT)
            .poll_interval(LOCK_RETRY)
    }

    /// Takes the user's lock, waiting up to [`LOCK_WAIT`].
    async fn lock(&self, openid: &str) -> Result<LockGuard, SessionError> {
        self.user_lock(openid).acquire().await.map_err(lock_error)
    }

    async fn try_lock(&self, openid: &str) -> Result<Option<LockGuard>, SessionError> {
        self.user_lock(openid)
            .try_acquire()
            .await
            .map_err(lock_error)
    }
}

fn lock_error(err: LockError) -> SessionError {
    match err {
        LockError::Store(err) => SessionError::Store(err),
        LockError::Busy => SessionError::Busy,
        LockError::Random => SessionError::Random,
    }
}

/// Releases the user's lock; if that fails it expires on its own after [`LOCK_TTL`].
async fn release(lock: LockGuard) {
    if let Err(err) = lock.release().await {
        tracing::warn!(%err, "session lock not released");
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU64, Ordering};

    use super::*;
    use crate::store::MemoryStore;

    const T0: u64 = 1_700_000_000;

    fn sessions() -> (SessionStore, Arc<AtomicU64>, Arc<MemoryStore>) {
        let now = Arc::new(AtomicU64::new(T0));
        let clock = Arc::clone(&now);
        let store = Arc::new(MemoryStore::new());
        let sessions = SessionStore::new(Arc::clone(&store) as Arc<dyn Store>)
            .ttl(Duration::from_secs(3600))
            .clock(move || clock.load(Ordering::SeqCst));
        (sessions, now, store)
    }

    fn key(n: u8) -> SessionKey {
        SessionKey::new(format!("{n}AAAAAAAAAAAAAAAAAAAAA=="))
    }

    #[tokio::test]
    async fn create_then_load() {
        let (sessions, _, _) = sessions();
        let token = sessions
            .create("oUser", Some("uUser"), &key(1))
            .await
            .unwrap();
        let user = sessions.load(&token).await.unwrap();
        assert_eq!(user.openid(), "oUser");
        assert_eq!(user.unionid(), Some("uUser"));
        assert_eq!(user.session_key().expose(), key(1).expose());
        assert_eq!(user.expires_at(), T0 + 3600);
        assert_eq!(user.token().expose(), token.expose());
    }

    #[tokio::test]
    async fn the_store_holds_neither_the_token_nor_its_base64() {
        let (sessions, _, store) = sessions();
        let token = sessions.create("oUser", None, &key(1)).await.unwrap();
        let record_key = format!("{DEFAULT_PREFIX}{}", token.digest());
        assert!(store.get(&record_key).await.unwrap().is_some());
        assert!(
            store
                .get(&format!("{DEFAULT_PREFIX}{}", token.expose()))
                .await
                .unwrap()
                .is_none()
        );
        let index = store
            .get(&format!("{DEFAULT_PREFIX}user:oUser"))
            .await
            .unwrap()
            .unwrap();
        let index = std::str::from_utf8(&index).unwrap();
        assert!(index.contains(&token.digest()), "{index}");
        assert!(!index.contains(token.expose()), "{index}");
    }

    #[tokio::test]
    async fn unknown_and_expired_are_told_apart() {
        let (sessions, now, _) = sessions();
        let token = sessions.create("oUser", None, &key(1)).await.unwrap();
        let forged = SessionToken::generate().unwrap();
        assert_eq!(
            sessions.load(&forged).await.unwrap_err(),
            SessionError::Unknown
        );
        now.store(T0 + 3599, Ordering::SeqCst);
        assert!(sessions.load(&token).await.is_ok());
        now.store(T0 + 3600, Ordering::SeqCst);
        assert_eq!(
            sessions.load(&token).await.unwrap_err(),
            SessionError::Expired
        );
    }

    #[tokio::test(start_paused = true)]
    async fn expired_sessions_leave_the_store_after_the_grace() {
        let (sessions, now, _) = sessions();
        let token = sessions.create("oUser", None, &key(1)).await.unwrap();
        now.store(T0 + 3600, Ordering::SeqCst);
        tokio::time::advance(Duration::from_secs(3600)).await;
        assert_eq!(
            sessions.load(&token).await.unwrap_err(),
            SessionError::Expired
        );
        tokio::time::advance(EXPIRED_GRACE).await;
        assert_eq!(
            sessions.load(&token).await.unwrap_err(),
            SessionError::Unknown
        );
    }

    #[tokio::test]
    async fn relogin_gives_every_live_session_the_new_key() {
        let (sessions, _, _) = sessions();
        let phone = sessions.create("oUser", None, &key(1)).await.unwrap();
        let other_user = sessions.create("oOther", None, &key(2)).await.unwrap();
        let pc = sessions
            .create("oUser", Some("uUser"), &key(3))
            .await
            .unwrap();
        for token in [&phone, &pc] {
            let user = sessions.load(token).await.unwrap();
            assert_eq!(user.session_key().expose(), key(3).expose());
            assert_eq!(user.unionid(), Some("uUser"));
        }
        let other = sessions.load(&other_user).await.unwrap();
        assert_eq!(other.session_key().expose(), key(2).expose());
    }

    #[tokio::test]
    async fn revoke_one_and_revoke_all() {
        let (sessions, _, _) = sessions();
        let a = sessions.create("oUser", None, &key(1)).await.unwrap();
        let b = sessions.create("oUser", None, &key(1)).await.unwrap();
        let c = sessions.create("oUser", None, &key(1)).await.unwrap();
        let other = sessions.create("oOther", None, &key(2)).await.unwrap();
        assert!(sessions.revoke(&a).await.unwrap());
        assert!(!sessions.revoke(&a).await.unwrap());
        assert_eq!(sessions.load(&a).await.unwrap_err(), SessionError::Unknown);
        assert!(sessions.load(&b).await.is_ok());
        assert_eq!(sessions.revoke_all("oUser").await.unwrap(), 2);
        for token in [&b, &c] {
            assert_eq!(
                sessions.load(token).await.unwrap_err(),
                SessionError::Unknown
            );
        }
        assert!(sessions.load(&other).await.is_ok());
        assert_eq!(sessions.revoke_all("oUser").await.unwrap(), 0);
    }

    #[tokio::test]
    async fn a_login_beyond_the_limit_revokes_the_oldest() {
        let (sessions, _, _) = sessions();
        let sessions = sessions.max_sessions_per_user(2);
        let a = sessions.create("oUser", None, &key(1)).await.unwrap();
        let b = sessions.create("oUser", None, &key(1)).await.unwrap();
        let c = sessions.create("oUser", None, &key(1)).await.unwrap();
        assert_eq!(sessions.load(&a).await.unwrap_err(), SessionError::Unknown);
        assert!(sessions.load(&b).await.is_ok());
        assert!(sessions.load(&c).await.is_ok());
    }

    #[tokio::test]
    async fn sliding_expiry_renews_at_most_once_per_interval_and_stops_at_the_cap() {
        let (sessions, now, _) = sessions();
        let sessions = sessions
            .sliding(Duration::from_secs(600))
            .max_lifetime(Duration::from_secs(3 * 3600));
        let token = sessions.create("oUser", None, &key(1)).await.unwrap();

        // Before the interval: no renewal.
        now.store(T0 + 599, Ordering::SeqCst);
        assert_eq!(sessions.load(&token).await.unwrap().expires_at(), T0 + 3600);
        // After it: an hour from now.
        now.store(T0 + 600, Ordering::SeqCst);
        assert_eq!(
            sessions.load(&token).await.unwrap().expires_at(),
            T0 + 600 + 3600
        );
        // Used every 50 minutes, it lives on past its first hour...
        for step in 1..=3 {
            now.store(T0 + 600 + step * 3000, Ordering::SeqCst);
            assert!(sessions.load(&token).await.is_ok(), "step {step}");
        }
        // ...but not past the absolute lifetime.
        now.store(T0 + 3 * 3600 - 1, Ordering::SeqCst);
        assert_eq!(
            sessions.load(&token).await.unwrap().expires_at(),
            T0 + 3 * 3600
        );
        now.store(T0 + 3 * 3600, Ordering::SeqCst);
        assert_eq!(
            sessions.load(&token).await.unwrap_err(),
            SessionError::Expired
        );
    }

    #[tokio::test]
    async fn without_sliding_use_does_not_extend() {
        let (sessions, now, _) = sessions();
        let token = sessions.create("oUser", None, &key(1)).await.unwrap();
        now.store(T0 + 3000, Ordering::SeqCst);
        assert_eq!(sessions.load(&token).await.unwrap().expires_at(), T0 + 3600);
        now.store(T0 + 3600, Ordering::SeqCst);
        assert_eq!(
            sessions.load(&token).await.unwrap_err(),
            SessionError::Expired
        );
    }

    #[tokio::test]
    async fn a_revoked_session_is_not_brought_back_by_a_renewal() {
        let (sessions, now, _) = sessions();
        let sessions = sessions.sliding(Duration::from_secs(60));
        let token = sessions.create("oUser", None, &key(1)).await.unwrap();
        now.store(T0 + 120, Ordering::SeqCst);
        // The renewal re-reads under the lock: nothing to renew after a revocation.
        assert!(sessions.revoke(&token).await.unwrap());
        assert!(
            sessions
                .renew(&token.digest(), "oUser", T0 + 120)
                .await
                .unwrap()
                .is_none()
        );
        assert_eq!(
            sessions.load(&token).await.unwrap_err(),
            SessionError::Unknown
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_stuck_lock_makes_logins_busy_then_expires() {
        let (sessions, _, store) = sessions();
        store
            .set(
                &format!("{DEFAULT_PREFIX}lock:oUser"),
                Bytes::from_static(b"someone"),
                Some(LOCK_TTL),
            )
            .await
            .unwrap();
        assert_eq!(
            sessions.create("oUser", None, &key(1)).await.unwrap_err(),
            SessionError::Busy
        );
        tokio::time::advance(LOCK_TTL).await;
        assert!(sessions.create("oUser", None, &key(1)).await.is_ok());
    }

    #[test]
    fn debug_shows_no_store_contents() {
        let (sessions, _, _) = sessions();
        let debug = format!("{sessions:?}");
        assert!(
            debug.starts_with("SessionStore { prefix: \"wechat:session:\""),
            "{debug}"
        );
    }
}
