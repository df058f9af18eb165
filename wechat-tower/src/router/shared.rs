//! The retry record in a shared [`Store`], so that every instance of a bot behind one load
//! balancer answers a message once (see [the router's module docs](crate::router#many-instances)).
//!
//! One store key per message holds, in turn:
//!
//! - `C` + 32 hex digits: the claim of the instance that runs the handler (its random marker,
//!   from the OS CSPRNG), taken with [`Store::set_if_absent`] and the record's TTL;
//! - `R` + a JSON reply: handled, answer this reply (the reply before it is addressed and
//!   encrypted: every answer is written and encrypted afresh);
//! - `S`: handled, answer `success` (the reply was empty, too long to keep, or late and given to
//!   the late-reply sink).
//!
//! The claim's holder replaces it with the outcome by [`Store::set`] (see
//! [`SharedRecord::settle`] for why no holder check is needed), and releases a claim it could not
//! confirm with [`Store::delete_if_equals`]. Every store call is bounded by the store timeout
//! and the delivery's deadline.

use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use bytes::Bytes;
use serde_json::{Value, json};
use tokio::time::Instant;
use wechat_core::Reply;
use wechat_core::reply::{Article, Music};

use super::dedup::{DedupConfig, DedupKey, FailMode, reply_bytes};
use crate::store::{Store, StoreError};

/// The prefix of the record's keys in the store (a `RedisStore::prefix` goes before it).
pub(crate) const KEY_PREFIX: &str = "wechat:dedup:";

/// The first wait for another instance's reply; each later one doubles, up to [`POLL_MAX`].
const POLL_FIRST: Duration = Duration::from_millis(20);
/// The longest wait between two reads of a claimed key.
const POLL_MAX: Duration = Duration::from_millis(500);
/// How long the record is not asked after it failed: deliveries meanwhile follow the fail
/// mode at once, so a stalled store costs one delivery a second the store timeout, not each.
const BREAK_FOR: Duration = Duration::from_secs(1);
/// How long the release of a failed claim may take (it runs on a task of its own).
const RELEASE_TIMEOUT: Duration = Duration::from_secs(30);
/// How often the router may warn that the shared record is failing.
const WARN_EVERY: Duration = Duration::from_secs(60);

/// The shared record: the store, and the TTL, size and failure rules.
pub(crate) struct SharedRecord {
    store: Arc<dyn Store>,
    ttl: Duration,
    max_reply_bytes: usize,
    fail_mode: FailMode,
    store_timeout: Duration,
    warned_at: Mutex<Option<Instant>>,
    /// The last failure, and until when the store is not asked because of it.
    broken: Mutex<Option<(Instant, StoreError)>>,
}

impl fmt::Debug for SharedRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SharedRecord")
            .field("ttl", &self.ttl)
            .field("fail_mode", &self.fail_mode)
            .finish_non_exhaustive()
    }
}

/// What a delivery learns from the store about its message.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Claim {
    /// This delivery holds the claim (the marker): run the handler.
    Won(Bytes),
    /// Handled elsewhere: the reply.
    Answered(Reply),
    /// Another instance is running the handler.
    Running,
}

/// The store failed, or did not answer in time.
#[derive(Debug)]
pub(crate) struct Failed {
    pub(crate) error: StoreError,
    /// The marker of a claim that may still land (it timed out, or its answer was lost): its
    /// holder settles or releases it, since the store runs a connection's commands in order.
    pub(crate) marker: Option<Bytes>,
}

impl From<StoreError> for Failed {
    fn from(error: StoreError) -> Self {
        Self {
            error,
            marker: None,
        }
    }
}

impl SharedRecord {
    pub(crate) fn new(store: Arc<dyn Store>, config: &DedupConfig) -> Self {
        Self {
            store,
            ttl: config.ttl,
            max_reply_bytes: config.max_reply_bytes,
            fail_mode: config.fail_mode,
            store_timeout: config.store_timeout,
            warned_at: Mutex::new(None),
            broken: Mutex::new(None),
        }
    }

    pub(crate) fn fail_mode(&self) -> FailMode {
        self.fail_mode
    }

    /// The store key of a message: the prefix and the SHA-1 of the key's canonical text in a
    /// Redis Cluster hash tag (`wechat:dedup:{3f2a…}`), so the key has a bounded length
    /// whatever the sender's strings, and any key derived from it later lands on its slot.
    pub(crate) fn key(key: &DedupKey) -> String {
        let digest = wechat_core::signature::sign(&[key.canonical().as_str()]);
        let mut out = String::with_capacity(KEY_PREFIX.len() + digest.len() + 2);
        out.push_str(KEY_PREFIX);
        out.push('{');
        out.push_str(&digest);
        out.push('}');
        out
    }

    /// Runs one store call, bounded by the store timeout and by `deadline`.
    async fn call<T>(
        &self,
        deadline: Option<Instant>,
        call: impl Future<Output = Result<T, StoreError>>,
    ) -> Result<T, Failed> {
        let bound = Instant::now() + self.store_timeout;
        let at = deadline.map_or(bound, |deadline| deadline.min(bound));
        match tokio::time::timeout_at(at, call).await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(err)) => Err(err.into()),
            Err(_) => Err(StoreError::Timeout.into()),
        }
    }

    /// The failure that keeps the store from being asked now, if any.
    fn broken(&self) -> Option<StoreError> {
        let mut broken = self.broken.lock().unwrap_or_else(PoisonError::into_inner);
        match &*broken {
            Some((until, err)) if Instant::now() < *until => Some(err.clone()),
            Some(_) => {
                *broken = None;
                None
            }
            None => None,
        }
    }

    /// Notes a failure: the store is not asked for [`BREAK_FOR`].
    fn trip(&self, failed: Failed) -> Failed {
        *self.broken.lock().unwrap_or_else(PoisonError::into_inner) =
            Some((Instant::now() + BREAK_FOR, failed.error.clone()));
        failed
    }

    /// Claims the message with `marker` (from [`claim_marker`]), or reads what the store holds
    /// for it. Fails at once for a second after the store failed.
    pub(crate) async fn claim(
        &self,
        key: &str,
        marker: &Bytes,
        deadline: Option<Instant>,
    ) -> Result<Claim, Failed> {
        if let Some(error) = self.broken() {
            return Err(error.into());
        }
        self.try_claim(key, marker, deadline)
            .await
            .map_err(|failed| self.trip(failed))
    }

    async fn try_claim(
        &self,
        key: &str,
        marker: &Bytes,
        deadline: Option<Instant>,
    ) -> Result<Claim, Failed> {
        // A key that expires between the failed claim and the read is claimed again, once.
        for _ in 0..2 {
            let won = self
                .call(
                    deadline,
                    self.store
                        .set_if_absent(key, marker.clone(), Some(self.ttl)),
                )
                .await
                .map_err(|failed| Failed {
                    marker: Some(marker.clone()),
                    ..failed
                })?;
            if won {
                return Ok(Claim::Won(marker.clone()));
            }
            if let Some(value) = self.call(deadline, self.store.get(key)).await? {
                return Ok(decode(&value));
            }
        }
        Ok(Claim::Running)
    }

    /// Waits for another instance's reply: reads the key after 20 ms, then at doubling
    /// intervals up to 500 ms, until `deadline` (the TTL without one). `None` when the deadline
    /// passed first; [`Claim::Won`] when the claim went away (expired) and this delivery took
    /// it.
    pub(crate) async fn wait(
        &self,
        key: &str,
        deadline: Option<Instant>,
    ) -> Result<Option<Claim>, Failed> {
        self.try_wait(key, deadline)
            .await
            .map_err(|failed| self.trip(failed))
    }

    async fn try_wait(
        &self,
        key: &str,
        deadline: Option<Instant>,
    ) -> Result<Option<Claim>, Failed> {
        let until = deadline.unwrap_or_else(|| Instant::now() + self.ttl);
        let mut pause = POLL_FIRST;
        loop {
            let wake = Instant::now() + pause;
            if wake >= until {
                tokio::time::sleep_until(until).await;
                return Ok(None);
            }
            tokio::time::sleep_until(wake).await;
            pause = (pause * 2).min(POLL_MAX);
            match self.call(Some(until), self.store.get(key)).await? {
                Some(value) => match decode(&value) {
                    Claim::Running => {}
                    done => return Ok(Some(done)),
                },
                None => match self.try_claim(key, &claim_marker(), Some(until)).await? {
                    Claim::Running => {}
                    done => return Ok(Some(done)),
                },
            }
        }
    }

    /// What the record keeps for `reply`: the reply, or `success` when it is empty or too
    /// long to keep.
    pub(crate) fn encode(&self, reply: &Reply) -> Bytes {
        if reply_bytes(reply) > self.max_reply_bytes {
            return Bytes::from_static(b"S");
        }
        encode(reply)
    }

    /// Stores the outcome `value` (from [`Self::encode`]) over the claim. A plain `set`,
    /// not a holder-checked replace: it is half the work for the store (no script), and what
    /// it could overwrite is harmless: a claim taken after this one expired (a handler that
    /// ran longer than the TTL, whose message the signature layer now refuses anyway), or
    /// nothing (failing open, when the claim never landed: the reply is then kept all the
    /// same). A failure counts as the store's (see [`Self::trip`]): the claim then stays until
    /// its TTL, and retries elsewhere answer `success` at their deadline, without running the
    /// handler again.
    pub(crate) async fn settle(&self, key: &str, value: Bytes) {
        let stored = self
            .call(None, self.store.set(key, value, Some(self.ttl)))
            .await;
        if let Err(failed) = stored {
            tracing::debug!(err = %failed.error, "the shared retry record could not keep a reply");
            // Logged at most once a minute, with the fail mode.
            let failed = self.trip(failed);
            self.warn_failed(&failed.error);
        }
    }

    /// Releases a claim that failed (it may land later) so that WeChat's retry, wherever it
    /// lands, claims the message afresh. Best effort, on a task of its own.
    pub(crate) fn release(self: &Arc<Self>, key: String, marker: Bytes) {
        let record = Arc::clone(self);
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        runtime.spawn(async move {
            let released = tokio::time::timeout(
                RELEASE_TIMEOUT,
                record.store.delete_if_equals(&key, &marker),
            )
            .await;
            if !matches!(released, Ok(Ok(_))) {
                tracing::debug!("a failed claim could not be released; it expires with its TTL");
            }
        });
    }

    /// Logs a store failure, at most once a minute (each failure at debug level).
    pub(crate) fn warn_failed(&self, err: &StoreError) {
        let now = Instant::now();
        let warn = {
            let mut warned_at = self
                .warned_at
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            let due = warned_at.is_none_or(|at| now.saturating_duration_since(at) >= WARN_EVERY);
            if due {
                *warned_at = Some(now);
            }
            due
        };
        match (warn, self.fail_mode) {
            (true, FailMode::Open) => tracing::warn!(
                %err,
                "the shared retry record is unavailable: handlers run without it (fail-open), so \
                 a retry that reaches another instance runs its handler again"
            ),
            (true, FailMode::Closed) => tracing::warn!(
                %err,
                "the shared retry record is unavailable: deliveries are refused with 503 \
                 (fail-closed) until it is back"
            ),
            (false, _) => tracing::debug!(%err, "shared retry record unavailable"),
        }
    }
}

/// A fresh claim marker: `C` and 16 bytes from the OS CSPRNG in hex.
pub(crate) fn claim_marker() -> Bytes {
    let mut random = [0u8; 16];
    // Should the OS refuse, a marker of zeros still claims: the key is unique per message, and
    // the marker only keeps one instance from releasing another's claim.
    if getrandom::fill(&mut random).is_err() {
        tracing::error!("the OS random generator failed; the claim marker is not random");
    }
    let mut out = String::with_capacity(33);
    out.push('C');
    for b in random {
        out.push(char::from(b"0123456789abcdef"[usize::from(b >> 4)]));
        out.push(char::from(b"0123456789abcdef"[usize::from(b & 15)]));
    }
    Bytes::from(out)
}

/// A reply as the record keeps it (`S` for `success`).
pub(crate) fn encode(reply: &Reply) -> Bytes {
    let value = match reply {
        Reply::Success => return Bytes::from_static(b"S"),
        Reply::Text(content) => json!({ "t": "text", "c": content }),
        Reply::Image { media_id } => json!({ "t": "image", "m": media_id }),
        Reply::Voice { media_id } => json!({ "t": "voice", "m": media_id }),
        Reply::Video {
            media_id,
            title,
            description,
        } => json!({ "t": "video", "m": media_id, "ti": title, "d": description }),
        Reply::Music(music) => json!({
            "t": "music",
            "ti": music.title,
            "d": music.description,
            "u": music.music_url,
            "hq": music.hq_music_url,
            "th": music.thumb_media_id,
        }),
        Reply::News(articles) => json!({
            "t": "news",
            "a": articles
                .iter()
                .map(|a| json!([a.title, a.description, a.pic_url, a.url]))
                .collect::<Vec<_>>(),
        }),
        Reply::TransferCustomerService { kf_account } => json!({ "t": "kf", "k": kf_account }),
        // A kind of reply added to wechat-core later: kept as handled.
        _ => {
            tracing::debug!(
                ?reply,
                "reply kind not kept in the shared record; retries get `success`"
            );
            return Bytes::from_static(b"S");
        }
    };
    let mut out = b"R".to_vec();
    out.extend_from_slice(value.to_string().as_bytes());
    Bytes::from(out)
}

/// What a stored value says. A value this version cannot read (written by a newer one, or
/// not by the router) counts as handled: answering `success` is safe, running again is not.
pub(crate) fn decode(value: &[u8]) -> Claim {
    match value.split_first() {
        Some((b'C', _)) => Claim::Running,
        Some((b'S', [])) => Claim::Answered(Reply::Success),
        Some((b'R', json)) => Claim::Answered(decode_reply(json).unwrap_or_else(|| {
            tracing::warn!("unreadable reply in the shared retry record; answering `success`");
            Reply::Success
        })),
        _ => {
            tracing::warn!("unreadable value in the shared retry record; answering `success`");
            Claim::Answered(Reply::Success)
        }
    }
}

fn decode_reply(json: &[u8]) -> Option<Reply> {
    let value: Value = serde_json::from_slice(json).ok()?;
    let s = |field: &str| value.get(field).and_then(Value::as_str).map(str::to_owned);
    Some(match value.get("t")?.as_str()? {
        "text" => Reply::Text(s("c")?),
        "image" => Reply::Image { media_id: s("m")? },
        "voice" => Reply::Voice { media_id: s("m")? },
        "video" => Reply::Video {
            media_id: s("m")?,
            title: s("ti"),
            description: s("d"),
        },
        "music" => Reply::Music(Music {
            title: s("ti"),
            description: s("d"),
            music_url: s("u"),
            hq_music_url: s("hq"),
            thumb_media_id: s("th")?,
        }),
        "news" => Reply::News(
            value
                .get("a")?
                .as_array()?
                .iter()
                .map(|a| {
                    let field = |i: usize| a.get(i).and_then(Value::as_str).map(str::to_owned);
                    Some(Article {
                        title: field(0)?,
                        description: field(1)?,
                        pic_url: field(2)?,
                        url: field(3)?,
                    })
                })
                .collect::<Option<Vec<_>>>()?,
        ),
        "kf" => Reply::TransferCustomerService { kf_account: s("k") },
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::MemoryStore;

    fn every_reply() -> Vec<Reply> {
        vec![
            Reply::text("héllo <]]> \"quoted\""),
            Reply::image("m1"),
            Reply::voice("v1"),
            Reply::Video {
                media_id: "vid".into(),
                title: Some("t".into()),
                description: None,
            },
            Reply::Music(Music {
                title: Some("song".into()),
                description: None,
                music_url: Some("http://m".into()),
                hq_music_url: None,
                thumb_media_id: "th".into(),
            }),
            Reply::news(vec![Article {
                title: "a".into(),
                description: "b".into(),
                pic_url: "c".into(),
                url: "d".into(),
            }])
            .unwrap(),
            Reply::TransferCustomerService {
                kf_account: Some("kf@test".into()),
            },
            Reply::TransferCustomerService { kf_account: None },
            Reply::Success,
        ]
    }

    #[test]
    fn every_reply_kind_round_trips() {
        for reply in every_reply() {
            assert_eq!(
                decode(&encode(&reply)),
                Claim::Answered(reply.clone()),
                "{reply:?}"
            );
        }
    }

    #[test]
    fn claims_and_garbage_decode_safely() {
        assert_eq!(decode(&claim_marker()), Claim::Running);
        for garbage in [
            &b""[..],
            b"X",
            b"R",
            b"R{",
            b"R{\"t\":\"nope\"}",
            b"Sx",
            b"R[1]",
        ] {
            assert_eq!(
                decode(garbage),
                Claim::Answered(Reply::Success),
                "{garbage:?}"
            );
        }
    }

    #[test]
    fn claim_markers_are_random() {
        let a = claim_marker();
        assert_eq!(a.len(), 33);
        assert_ne!(a, claim_marker());
    }

    #[test]
    fn keys_are_hash_tagged_and_bounded() {
        let msg = |from: &str, id: u64| {
            wechat_core::Message::from_xml(&format!(
                "<xml><ToUserName>gh</ToUserName><FromUserName>{from}</FromUserName>\
                 <CreateTime>1</CreateTime><MsgType>text</MsgType><Content>x</Content>\
                 <MsgId>{id}</MsgId></xml>"
            ))
            .unwrap()
        };
        let key = SharedRecord::key(&DedupKey::of(&msg("oA", 1)));
        assert!(
            key.starts_with("wechat:dedup:{") && key.ends_with('}'),
            "{key}"
        );
        assert_eq!(key.len(), KEY_PREFIX.len() + 42);
        assert_eq!(key, SharedRecord::key(&DedupKey::of(&msg("oA", 1))));
        assert_ne!(key, SharedRecord::key(&DedupKey::of(&msg("oA", 2))));
        // Spliced strings: "oA1" + id 1 must not be "oA" + id 11.
        assert_ne!(
            SharedRecord::key(&DedupKey::of(&msg("oA1", 1))),
            SharedRecord::key(&DedupKey::of(&msg("oA", 11)))
        );
        let long = SharedRecord::key(&DedupKey::of(&msg(&"o".repeat(10_000), 1)));
        assert_eq!(long.len(), key.len());
    }

    #[tokio::test(start_paused = true)]
    async fn first_claim_wins_then_the_outcome_is_read() {
        let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
        let record = SharedRecord::new(Arc::clone(&store), &DedupConfig::new());
        let Claim::Won(marker) = record.claim("k", &claim_marker(), None).await.unwrap() else {
            panic!("the first claim wins");
        };
        assert_eq!(
            record.claim("k", &claim_marker(), None).await.unwrap(),
            Claim::Running
        );
        // Only its holder releases it.
        assert!(!store.delete_if_equals("k", b"Cstranger").await.unwrap());
        assert_eq!(
            record.claim("k", &claim_marker(), None).await.unwrap(),
            Claim::Running
        );
        record.settle("k", record.encode(&Reply::text("hi"))).await;
        assert!(!store.delete_if_equals("k", &marker).await.unwrap());
        assert_eq!(
            record.claim("k", &claim_marker(), None).await.unwrap(),
            Claim::Answered(Reply::text("hi"))
        );
    }

    #[tokio::test(start_paused = true)]
    async fn waiting_backs_off_and_stops_at_the_deadline() {
        struct Counting(MemoryStore, std::sync::atomic::AtomicUsize);
        #[async_trait::async_trait]
        impl Store for Counting {
            async fn get(&self, key: &str) -> Result<Option<Bytes>, StoreError> {
                self.1.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                self.0.get(key).await
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
        let store = Arc::new(Counting(MemoryStore::new(), 0.into()));
        let record = SharedRecord::new(Arc::clone(&store) as Arc<dyn Store>, &DedupConfig::new());
        assert!(matches!(
            record.claim("k", &claim_marker(), None).await.unwrap(),
            Claim::Won(_)
        ));
        let before = store.1.load(std::sync::atomic::Ordering::SeqCst);
        let start = Instant::now();
        let deadline = start + Duration::from_millis(4500);
        assert_eq!(record.wait("k", Some(deadline)).await.unwrap(), None);
        assert_eq!(Instant::now(), deadline);
        // 20, 40, 80, 160, 320, then every 500 ms: 12 reads in 4.5 s, not a storm.
        let reads = store.1.load(std::sync::atomic::Ordering::SeqCst) - before;
        assert!((10..=14).contains(&reads), "{reads} reads");
    }
}

/// Several routers sharing one store, as several instances share one Redis.
#[cfg(test)]
mod instances {
    use std::sync::atomic::{AtomicU8, AtomicUsize, Ordering};

    use async_trait::async_trait;
    use tokio::sync::mpsc;
    use tower::ServiceExt;
    use wechat_core::Message;

    use super::*;
    use crate::router::{DEFAULT_DEADLINE, LateReply, Refused, Router, RouterService};
    use crate::store::MemoryStore;

    const WORKING: u8 = 0;
    const FAILING: u8 = 1;
    const HANGING: u8 = 2;
    /// Does the operation, then never answers (its answer is lost on the way).
    const LANDING: u8 = 3;

    /// A memory store that can be made to fail or to never answer, like a Redis that is down
    /// or stuck.
    #[derive(Default)]
    struct Faulty {
        inner: MemoryStore,
        mode: AtomicU8,
    }

    impl Faulty {
        async fn check(&self) -> Result<(), StoreError> {
            match self.mode.load(Ordering::SeqCst) {
                FAILING => Err(StoreError::Unavailable("connection refused".into())),
                HANGING => std::future::pending().await,
                _ => Ok(()),
            }
        }
    }

    #[async_trait]
    impl Store for Faulty {
        async fn get(&self, key: &str) -> Result<Option<Bytes>, StoreError> {
            self.check().await?;
            self.inner.get(key).await
        }
        async fn set(&self, k: &str, v: Bytes, t: Option<Duration>) -> Result<(), StoreError> {
            self.check().await?;
            self.inner.set(k, v, t).await
        }
        async fn set_if_absent(
            &self,
            k: &str,
            v: Bytes,
            t: Option<Duration>,
        ) -> Result<bool, StoreError> {
            if self.mode.load(Ordering::SeqCst) == LANDING {
                self.inner.set_if_absent(k, v, t).await?;
                return std::future::pending().await;
            }
            self.check().await?;
            self.inner.set_if_absent(k, v, t).await
        }
        async fn replace_if_equals(
            &self,
            k: &str,
            e: &[u8],
            v: Bytes,
            t: Option<Duration>,
        ) -> Result<bool, StoreError> {
            self.check().await?;
            self.inner.replace_if_equals(k, e, v, t).await
        }
        async fn delete(&self, k: &str) -> Result<bool, StoreError> {
            self.check().await?;
            self.inner.delete(k).await
        }
        async fn delete_if_equals(&self, k: &str, e: &[u8]) -> Result<bool, StoreError> {
            self.check().await?;
            self.inner.delete_if_equals(k, e).await
        }
    }

    fn text(msg_id: u64) -> Message {
        Message::from_xml(&format!(
            "<xml><ToUserName>gh</ToUserName><FromUserName>oUser</FromUserName>\
             <CreateTime>7</CreateTime><MsgType>text</MsgType><Content>hi</Content>\
             <MsgId>{msg_id}</MsgId></xml>"
        ))
        .unwrap()
    }

    struct Cluster {
        store: Arc<Faulty>,
        runs: Arc<AtomicUsize>,
        late: mpsc::UnboundedReceiver<LateReply>,
        instances: Vec<RouterService>,
    }

    /// `n` routers on one store; the handler counts its runs, sleeps `delay` and answers
    /// `run <count>`.
    fn cluster(n: usize, delay: Duration, config: DedupConfig) -> Cluster {
        let store = Arc::new(Faulty::default());
        let runs = Arc::new(AtomicUsize::new(0));
        let (tx, late) = mpsc::unbounded_channel();
        let instances = (0..n)
            .map(|_| {
                let counter = Arc::clone(&runs);
                let tx = tx.clone();
                Router::new()
                    .fallback(move |_: Message| {
                        let n = counter.fetch_add(1, Ordering::SeqCst) + 1;
                        async move {
                            tokio::time::sleep(delay).await;
                            format!("run {n}")
                        }
                    })
                    .late_reply_sink(move |late| {
                        let _ = tx.send(late);
                    })
                    .dedup_config(config)
                    .dedup_store(Arc::clone(&store) as Arc<dyn Store>)
                    .build()
                    .unwrap()
            })
            .collect();
        Cluster {
            store,
            runs,
            late,
            instances,
        }
    }

    impl Cluster {
        async fn ask(&self, instance: usize, msg_id: u64) -> Result<Reply, Refused> {
            self.instances[instance].clone().oneshot(text(msg_id)).await
        }

        fn runs(&self) -> usize {
            self.runs.load(Ordering::SeqCst)
        }
    }

    #[tokio::test(start_paused = true)]
    async fn retries_on_other_instances_get_the_first_reply() {
        let c = cluster(3, Duration::ZERO, DedupConfig::new());
        assert_eq!(c.ask(0, 1).await.unwrap(), Reply::text("run 1"));
        for instance in [1, 2, 0, 1] {
            assert_eq!(c.ask(instance, 1).await.unwrap(), Reply::text("run 1"));
        }
        assert_eq!(c.runs(), 1);
        // The reply is kept in the store, not only in memory.
        let kept = c
            .store
            .inner
            .get(&SharedRecord::key(&DedupKey::of(&text(1))))
            .await;
        assert_eq!(kept.unwrap().unwrap(), encode(&Reply::text("run 1")));
    }

    #[tokio::test(start_paused = true)]
    async fn a_retry_elsewhere_waits_for_the_running_handler() {
        let c = Arc::new(cluster(2, Duration::from_secs(2), DedupConfig::new()));
        let first = tokio::spawn({
            let c = Arc::clone(&c);
            async move { c.ask(0, 1).await }
        });
        tokio::time::sleep(Duration::from_secs(1)).await;
        let retry = c.ask(1, 1).await.unwrap();
        assert_eq!(retry, Reply::text("run 1"));
        assert_eq!(first.await.unwrap().unwrap(), Reply::text("run 1"));
        assert_eq!(c.runs(), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn concurrent_retries_in_one_process_read_the_store_once() {
        let c = Arc::new(cluster(2, Duration::from_secs(3), DedupConfig::new()));
        let first = tokio::spawn({
            let c = Arc::clone(&c);
            async move { c.ask(0, 1).await }
        });
        tokio::time::sleep(Duration::from_millis(100)).await;
        let retries: Vec<_> = (0..5)
            .map(|_| {
                let c = Arc::clone(&c);
                tokio::spawn(async move { c.ask(1, 1).await })
            })
            .collect();
        for retry in retries {
            assert_eq!(retry.await.unwrap().unwrap(), Reply::text("run 1"));
        }
        assert_eq!(first.await.unwrap().unwrap(), Reply::text("run 1"));
        assert_eq!(c.runs(), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn a_late_reply_goes_to_the_sink_once_and_retries_anywhere_get_success() {
        let mut c = cluster(2, Duration::from_secs(10), DedupConfig::new());
        let start = Instant::now();
        assert_eq!(c.ask(0, 1).await.unwrap(), Reply::Success);
        assert_eq!(start.elapsed(), DEFAULT_DEADLINE);
        // WeChat's retry at 5 s reaches the other instance, which waits until its deadline.
        tokio::time::sleep(Duration::from_millis(500)).await;
        assert_eq!(c.ask(1, 1).await.unwrap(), Reply::Success);
        let late = c.late.recv().await.unwrap();
        assert_eq!(late.reply(), &Reply::text("run 1"));
        for instance in [0, 1] {
            assert_eq!(c.ask(instance, 1).await.unwrap(), Reply::Success);
        }
        assert_eq!(c.runs(), 1);
        assert!(c.late.try_recv().is_err());
    }

    #[tokio::test(start_paused = true)]
    async fn fail_open_runs_the_handler_and_recovers() {
        let c = cluster(2, Duration::ZERO, DedupConfig::new());
        c.store.mode.store(FAILING, Ordering::SeqCst);
        assert_eq!(c.ask(0, 1).await.unwrap(), Reply::text("run 1"));
        // Deduplicated in this process still; not across instances while the store is down.
        assert_eq!(c.ask(0, 1).await.unwrap(), Reply::text("run 1"));
        assert_eq!(c.ask(1, 1).await.unwrap(), Reply::text("run 2"));
        c.store.mode.store(WORKING, Ordering::SeqCst);
        // The store is left alone for a second after a failure.
        tokio::time::advance(BREAK_FOR).await;
        assert_eq!(c.ask(1, 2).await.unwrap(), Reply::text("run 3"));
        assert_eq!(c.ask(0, 2).await.unwrap(), Reply::text("run 3"));
        assert_eq!(c.runs(), 3);
    }

    #[tokio::test(start_paused = true)]
    async fn fail_closed_refuses_without_running_and_recovers() {
        let c = cluster(
            2,
            Duration::ZERO,
            DedupConfig::new().fail_mode(FailMode::Closed),
        );
        c.store.mode.store(FAILING, Ordering::SeqCst);
        let refused = c.ask(0, 1).await.unwrap_err();
        assert!(matches!(refused.cause(), StoreError::Unavailable(_)));
        assert_eq!(c.ask(0, 1).await.unwrap_err(), refused);
        assert_eq!(c.runs(), 0);
        c.store.mode.store(WORKING, Ordering::SeqCst);
        tokio::time::advance(BREAK_FOR).await;
        // WeChat's retry after the outage runs the handler once, wherever it lands.
        assert_eq!(c.ask(0, 1).await.unwrap(), Reply::text("run 1"));
        assert_eq!(c.ask(1, 1).await.unwrap(), Reply::text("run 1"));
        assert_eq!(c.runs(), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn xml_layer_answers_a_refusal_with_503_and_other_failures_with_500() {
        use http_body_util::{BodyExt, Full};
        use tower::Layer;

        let c = cluster(
            1,
            Duration::ZERO,
            DedupConfig::new().fail_mode(FailMode::Closed),
        );
        c.store.mode.store(FAILING, Ordering::SeqCst);
        let body = "<xml><ToUserName>gh</ToUserName><FromUserName>oUser</FromUserName>\
                    <CreateTime>7</CreateTime><MsgType>text</MsgType><Content>hi</Content>\
                    <MsgId>1</MsgId></xml>";
        let request = || {
            http::Request::post("/")
                .body(Full::new(Bytes::from(body)))
                .unwrap()
        };
        let svc = crate::server::XmlLayer::new().layer(c.instances[0].clone());
        let res = svc.clone().oneshot(request()).await.unwrap();
        assert_eq!(res.status(), http::StatusCode::SERVICE_UNAVAILABLE);
        let text = res.into_body().collect().await.unwrap().to_bytes();
        assert_eq!(&text[..], b"retry record unavailable");
        assert_eq!(c.runs(), 0);
        // Any other error of the message service stays a 500.
        let failing = tower::service_fn(|_: Message| async {
            Err::<Reply, _>(std::io::Error::other("db down"))
        });
        let res = crate::server::XmlLayer::new()
            .layer(failing)
            .oneshot(request())
            .await
            .unwrap();
        assert_eq!(res.status(), http::StatusCode::INTERNAL_SERVER_ERROR);
    }

    #[tokio::test(start_paused = true)]
    async fn a_hanging_store_does_not_hold_a_delivery_past_its_deadline() {
        for mode in [FailMode::Open, FailMode::Closed] {
            let c = cluster(1, Duration::ZERO, DedupConfig::new().fail_mode(mode));
            c.store.mode.store(HANGING, Ordering::SeqCst);
            let start = Instant::now();
            let answer = c.ask(0, 1).await;
            // Given up after the store timeout, well before the deadline...
            assert_eq!(start.elapsed(), DedupConfig::DEFAULT_STORE_TIMEOUT);
            match mode {
                // ...so failing open, the handler still answers in time.
                FailMode::Open => assert_eq!(answer.unwrap(), Reply::text("run 1")),
                FailMode::Closed => {
                    assert_eq!(answer.unwrap_err().cause(), &StoreError::Timeout);
                }
            }
            // For a second, the next deliveries do not wait for the stalled store at all.
            let start = Instant::now();
            let answer = c.ask(0, 2).await;
            assert_eq!(start.elapsed(), Duration::ZERO);
            match mode {
                FailMode::Open => assert_eq!(answer.unwrap(), Reply::text("run 2")),
                FailMode::Closed => assert!(answer.is_err()),
            }
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_delivery_dropped_while_claiming_releases_its_claim() {
        let c = Arc::new(cluster(2, Duration::ZERO, DedupConfig::new()));
        c.store.mode.store(LANDING, Ordering::SeqCst);
        let first = tokio::spawn({
            let c = Arc::clone(&c);
            async move { c.ask(0, 1).await }
        });
        tokio::time::sleep(Duration::from_millis(100)).await;
        let key = SharedRecord::key(&DedupKey::of(&text(1)));
        assert_eq!(
            decode(&c.store.inner.get(&key).await.unwrap().unwrap()),
            Claim::Running
        );
        // The connection closes: the delivery is dropped with its claim in the store.
        first.abort();
        assert!(first.await.unwrap_err().is_cancelled());
        tokio::task::yield_now().await;
        assert_eq!(c.store.inner.get(&key).await.unwrap(), None);
        c.store.mode.store(WORKING, Ordering::SeqCst);
        // WeChat's retry, on either instance, runs the handler instead of waiting in vain.
        assert_eq!(c.ask(0, 1).await.unwrap(), Reply::text("run 1"));
        assert_eq!(c.ask(1, 1).await.unwrap(), Reply::text("run 1"));
        assert_eq!(c.runs(), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn a_store_failing_while_waiting_for_another_instance_follows_the_fail_mode() {
        let c = Arc::new(cluster(
            2,
            Duration::from_secs(3),
            DedupConfig::new().fail_mode(FailMode::Closed),
        ));
        let first = tokio::spawn({
            let c = Arc::clone(&c);
            async move { c.ask(0, 1).await }
        });
        tokio::time::sleep(Duration::from_millis(100)).await;
        let retry = tokio::spawn({
            let c = Arc::clone(&c);
            async move { c.ask(1, 1).await }
        });
        tokio::time::sleep(Duration::from_millis(500)).await;
        c.store.mode.store(FAILING, Ordering::SeqCst);
        assert!(retry.await.unwrap().is_err());
        assert_eq!(first.await.unwrap().unwrap(), Reply::text("run 1"));
        assert_eq!(c.runs(), 1);
    }
}
