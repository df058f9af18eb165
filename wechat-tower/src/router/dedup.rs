//! The retry record (retry cache): the router runs the handler once per message and answers
//! every later delivery of it with the stored reply.
//!
//! # Why a message is remembered for five and a half minutes
//!
//! The same message reaches the router again in two ways:
//!
//! - **retries**: WeChat retries a message three times, 5 s apart, when it gets no answer in
//!   time (15 s in all);
//! - **replays**: a correctly signed request captured on the way (an access log, a proxy, a
//!   load balancer that ends TLS) and sent again. The signature layer refuses it once its signed
//!   `timestamp` is out of the window
//!   ([`WechatConfig::timestamp_window_secs`](crate::WechatConfig::timestamp_window_secs), 300 s
//!   either way by default), but inside the window only this record stops it.
//!
//! So the record keeps a message at least as long as the window: [`DedupConfig::DEFAULT_TTL`] is
//! the default window ([`DEFAULT_WINDOW_SECS`], 300 s) plus [`DedupConfig::CLOCK_SKEW_MARGIN`]
//! (30 s). A request signed at WeChat's time `T` is accepted until `T + 300` on this server's
//! clock, and first arrives at `T + d`, `d` being this clock's lead over WeChat's (plus transit);
//! it must be remembered for `300 − d` seconds, which 330 s covers while this clock lags WeChat's
//! by up to 30 s (NTP keeps servers within a second; 30 s is a wide margin). A retry or replay
//! inside the TTL gets the stored reply (encrypted afresh in safe mode) and never re-runs the
//! handler; after it, the signature layer refuses the request.
//!
//! The router does not see the [`WechatConfig`](crate::WechatConfig) (it is a
//! `Service<Message>`), so the two settings are kept consistent by their defaults: a TTL set
//! below [`DEFAULT_WINDOW_SECS`] is logged as a warning when the router is built, and a window
//! widened beyond 300 s needs a TTL widened with it ([`DedupConfig::ttl`]).
//!
//! # What identifies a delivery
//!
//! A delivery is recognised by `FromUserName` + `MsgId` for messages, and by `FromUserName` +
//! `CreateTime` + `Event` + `EventKey` for events (events carry no `MsgId`, and `MsgId` alone is
//! not unique across users). The `EventKey` only narrows WeChat's recommendation
//! (`FromUserName` + `CreateTime`): a retry repeats it byte for byte, while two different menu
//! buttons tapped within the same second are two messages. Messages without a `MsgId` (types
//! this crate does not know) fall back to `FromUserName` + `CreateTime` + `MsgType`.
//!
//! # Life of an entry
//!
//! [`RetryCache::join`] finds the entry of a delivery's key or creates it (the claim: this
//! delivery runs the handler, later ones join its [`Run`]); when the handler answers, the run's
//! completion [`Record::settle`]s the reply: counted against the budget and kept, or, when too
//! long, replaced by the mere fact that the message was handled. Entries leave by age (TTL) or,
//! oldest first, by the memory budget. With a shared store
//! ([`Router::dedup_store`](crate::router::Router::dedup_store), the `shared` module), the
//! first delivery in a process also claims the message there (`set_if_absent(key, claim, ttl)`)
//! before it runs the handler, and stores the reply (`set(key, reply, ttl)`), the TTL rule above
//! holding there too; see [Many instances](crate::router#many-instances). What is counted and
//! the defaults are documented on [`DedupConfig`].

use std::collections::{HashMap, VecDeque};
use std::mem::size_of;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use tokio::time::Instant;
use wechat_core::replay::DEFAULT_WINDOW_SECS;
use wechat_core::reply::Article;
use wechat_core::{Message, Reply};

use super::run::{Run, Waiter};

/// Settings of the retry record: how long and how much the router remembers of the messages it
/// handled. See [`Router::dedup_config`](crate::router::Router::dedup_config).
///
/// # How long
///
/// The router answers every later delivery of a message with its stored reply, without running
/// the handler again: WeChat's retries (three, 5 s apart) and replays of a captured, correctly
/// signed request alike. The signature layer refuses a replay once its signed `timestamp` leaves
/// the window ([`WechatConfig::timestamp_window_secs`](crate::WechatConfig::timestamp_window_secs),
/// 300 s either way by default); inside the window only this record stops it. So the record
/// must last at least as long as the window: [`Self::DEFAULT_TTL`] is the default window plus
/// [`Self::CLOCK_SKEW_MARGIN`], 330 s. A request signed at WeChat's time `T` is accepted until
/// `T + 300` on this server's clock and first arrives at `T + d`, `d` being how far this clock
/// is ahead of WeChat's (plus transit): it must be remembered for `300 − d` seconds, which 330 s
/// covers while this clock lags WeChat's by up to 30 s (NTP keeps servers within a second).
///
/// A message is recognised by `FromUserName` + `MsgId`, an event by `FromUserName` +
/// `CreateTime` + `Event` + `EventKey`.
///
/// # Memory
///
/// The record is bounded by age ([`ttl`](Self::ttl)) and by a memory budget
/// ([`max_memory`](Self::max_memory), 32 MiB by default), counted in bytes: about 500 bytes per
/// message for the record itself (its table slots with room to grow, the key, the run and its
/// inline reply, the heap blocks' overhead), plus the key's strings (the sender's OpenID, the
/// event and its key) and the stored reply (the lengths of its string fields). When the budget
/// is reached the oldest messages go first, still inside their TTL: a retry or replay of those
/// would run the handler again, so that is logged (`tracing::warn!`, at most once a minute).
/// With the defaults and short text replies (about 560 bytes a message) the budget holds about
/// 60 000 messages: every message of the TTL up to about 180 messages a second, and WeChat's
/// 15 s of retries up to about 4 000 a second.
///
/// A reply longer than [`max_reply_bytes`](Self::max_reply_bytes) (16 KiB by default) is not
/// stored: it answers the deliveries waiting for it when it is ready, and the record then keeps
/// only the fact that the message was handled, so a later retry or replay gets `success` and
/// still does not run the handler.
///
/// In plaintext mode the signature covers the URL, not the body, so one signed URL accepts any
/// body for the whole window: distinct forged messages are distinct entries, and the budget is
/// what bounds the memory they take (prefer safe mode, see
/// [`WechatConfig::plaintext`](crate::WechatConfig::plaintext)).
///
/// ```
/// use std::time::Duration;
/// use wechat_tower::router::{DedupConfig, Router};
///
/// // A timestamp window widened to 600 s needs a record that lasts as long.
/// let dedup = DedupConfig::new()
///     .ttl(Duration::from_secs(600) + DedupConfig::CLOCK_SKEW_MARGIN)
///     .max_memory(64 * 1024 * 1024)
///     .max_reply_bytes(8 * 1024);
/// let router = Router::new().dedup_config(dedup);
/// # let _: Router = router;
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use]
pub struct DedupConfig {
    pub(crate) ttl: Duration,
    max_memory: usize,
    pub(crate) max_reply_bytes: usize,
    pub(crate) fail_mode: FailMode,
    pub(crate) store_timeout: Duration,
}

/// What the router does with a new message when the shared store of its retry record
/// ([`Router::dedup_store`](crate::router::Router::dedup_store)) fails (unreachable, an error, or
/// no answer before the delivery's deadline). See [When the store fails](crate::router#when-the-store-fails).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FailMode {
    /// Run the handler anyway, deduplicated only within this process, and log (at most once a
    /// minute) that the shared record is off: a retry that reaches another instance meanwhile
    /// runs the handler again. The default, because a missed reply is worse than a rare
    /// duplicate.
    #[default]
    Open,
    /// Refuse the delivery: the router's service fails with [`Refused`](crate::router::Refused),
    /// which `XmlLayer` and `WechatLayer` answer with `503 Service Unavailable`, so WeChat
    /// retries (three times, 5 s apart) and the handler never runs without its claim.
    Closed,
}

impl DedupConfig {
    /// How much longer than the timestamp window the record lasts by default: how far this
    /// server's clock may lag WeChat's before a replay could outlive the record (see
    /// [How long](DedupConfig#how-long)).
    pub const CLOCK_SKEW_MARGIN: Duration = Duration::from_secs(30);
    /// How long a message is remembered by default: the default timestamp window
    /// ([`DEFAULT_WINDOW_SECS`], 300 s) plus [`Self::CLOCK_SKEW_MARGIN`], so that neither a
    /// retry nor a replay accepted by the signature layer runs the handler again.
    pub const DEFAULT_TTL: Duration =
        Duration::from_secs(DEFAULT_WINDOW_SECS + Self::CLOCK_SKEW_MARGIN.as_secs());
    /// The default memory budget of the record: 32 MiB.
    pub const DEFAULT_MAX_MEMORY: usize = 32 * 1024 * 1024;
    /// The longest reply stored by default: 16 KiB (a text reply is at most 2048 bytes of
    /// content on WeChat's side; only unusual replies come near).
    pub const DEFAULT_MAX_REPLY_BYTES: usize = 16 * 1024;

    /// How long one call to the shared store may take by default (see
    /// [`store_timeout`](Self::store_timeout)): 1 s.
    pub const DEFAULT_STORE_TIMEOUT: Duration = Duration::from_secs(1);

    /// The defaults: [`Self::DEFAULT_TTL`], [`Self::DEFAULT_MAX_MEMORY`],
    /// [`Self::DEFAULT_MAX_REPLY_BYTES`].
    pub const fn new() -> Self {
        Self {
            ttl: Self::DEFAULT_TTL,
            max_memory: Self::DEFAULT_MAX_MEMORY,
            max_reply_bytes: Self::DEFAULT_MAX_REPLY_BYTES,
            fail_mode: FailMode::Open,
            store_timeout: Self::DEFAULT_STORE_TIMEOUT,
        }
    }

    /// Remember each message for `ttl`, counted from its first delivery.
    ///
    /// Keep it at least as long as the timestamp window
    /// ([`WechatConfig::timestamp_window_secs`](crate::WechatConfig::timestamp_window_secs))
    /// plus a margin for clock skew: a replay of a captured request that arrives after the
    /// record forgot it, but inside the window, runs the handler again. A TTL below the default
    /// window (300 s) is logged as a warning when the router is built.
    pub const fn ttl(mut self, ttl: Duration) -> Self {
        self.ttl = ttl;
        self
    }

    /// Keep the record within about `bytes` of memory (see [Memory](DedupConfig#memory) for what is
    /// counted); the oldest messages are forgotten first, with a warning, since a retry or
    /// replay of them then runs the handler again. A budget smaller than one message keeps only
    /// the newest.
    pub const fn max_memory(mut self, bytes: usize) -> Self {
        self.max_memory = bytes;
        self
    }

    /// Store replies up to `bytes` long (the lengths of their string fields). A longer reply
    /// answers the deliveries waiting for it, and is then dropped: the record keeps only that the
    /// message was handled, so a later retry or replay gets `success` without running the
    /// handler.
    pub const fn max_reply_bytes(mut self, bytes: usize) -> Self {
        self.max_reply_bytes = bytes;
        self
    }

    /// What to do when the shared store of the record fails (default [`FailMode::Open`]).
    /// Without a store ([`Router::dedup_store`](crate::router::Router::dedup_store)) the record
    /// is in memory and cannot fail.
    pub const fn fail_mode(mut self, mode: FailMode) -> Self {
        self.fail_mode = mode;
        self
    }

    /// Gives up on a call to the shared store after `timeout` (default
    /// [`Self::DEFAULT_STORE_TIMEOUT`], 1 s), and always at the delivery's deadline; then the
    /// [`fail_mode`](Self::fail_mode) applies. Shorter than the deadline, it leaves a handler
    /// failing open the time to answer in time. After a failure the store is left alone for a
    /// second (deliveries follow the fail mode at once), so a stalled store delays one delivery
    /// a second, not every one.
    pub const fn store_timeout(mut self, timeout: Duration) -> Self {
        self.store_timeout = timeout;
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

    /// An unambiguous text of the key (every string length-prefixed), the same in every
    /// process and version: what the shared record hashes into its store key.
    pub(crate) fn canonical(&self) -> String {
        let from = &self.from;
        match &self.id {
            Id::Msg(msg_id) => format!("m:{}:{from}:{msg_id}", from.len()),
            Id::Event {
                create_time,
                event,
                key,
            } => {
                let key = key
                    .as_deref()
                    .map_or_else(|| "-".to_owned(), |k| format!("{}:{k}", k.len()));
                format!(
                    "e:{}:{from}:{create_time}:{}:{event}:{key}",
                    from.len(),
                    event.len()
                )
            }
            Id::Untracked {
                create_time,
                msg_type,
            } => format!(
                "u:{}:{from}:{create_time}:{}:{msg_type}",
                from.len(),
                msg_type.len()
            ),
        }
    }

    /// The bytes of its strings (in plaintext mode the sender decides how long they are).
    fn heap_bytes(&self) -> usize {
        self.from.len()
            + match &self.id {
                Id::Msg(_) => 0,
                Id::Event { event, key, .. } => event.len() + key.as_ref().map_or(0, String::len),
                Id::Untracked { msg_type, .. } => msg_type.len(),
            }
    }
}

/// The size of a reply as the record counts it: the lengths of its string fields.
pub(crate) fn reply_bytes(reply: &Reply) -> usize {
    fn opt(s: Option<&String>) -> usize {
        s.map_or(0, String::len)
    }
    match reply {
        Reply::Success => 0,
        Reply::Text(content) => content.len(),
        Reply::Image { media_id } | Reply::Voice { media_id } => media_id.len(),
        Reply::Video {
            media_id,
            title,
            description,
        } => media_id.len() + opt(title.as_ref()) + opt(description.as_ref()),
        Reply::Music(music) => {
            music.thumb_media_id.len()
                + opt(music.title.as_ref())
                + opt(music.description.as_ref())
                + opt(music.music_url.as_ref())
                + opt(music.hq_music_url.as_ref())
        }
        Reply::News(articles) => articles
            .iter()
            .map(|a| {
                size_of::<Article>()
                    + a.title.len()
                    + a.description.len()
                    + a.pic_url.len()
                    + a.url.len()
            })
            .sum(),
        Reply::TransferCustomerService { kf_account } => opt(kf_account.as_ref()),
        // A kind of reply added to wechat-core later: its rendered size.
        _ => reply.to_xml("", "", 0).map_or(usize::MAX, |xml| xml.len()),
    }
}

/// A heap block's bookkeeping and rounding, as glibc's and most allocators' cost it.
const ALLOC_OVERHEAD: usize = 16;

/// What one remembered message costs besides its key's strings and its reply: its slots in the
/// map and the queue (twice, for the room the tables keep to grow), the key's and the run's own
/// heap blocks, and the blocks of up to four key strings. 474 bytes on x86_64; measured with a
/// counting allocator, 50 000 messages with 40-byte replies took 442 heap bytes each (plus the
/// allocator's headers) where the record counted 541.
const ENTRY_OVERHEAD: usize = 2 * (size_of::<(Arc<DedupKey>, Entry)>() + 1)
    + 2 * size_of::<(Instant, Arc<DedupKey>)>()
    + (2 * size_of::<usize>() + size_of::<DedupKey>() + ALLOC_OVERHEAD)
    + (2 * size_of::<usize>() + size_of::<Run>() + ALLOC_OVERHEAD)
    + 4 * ALLOC_OVERHEAD;

/// How often the record may warn that its budget made it forget messages inside their TTL.
const WARN_EVERY: Duration = Duration::from_secs(60);

/// How a delivery joins the record.
#[derive(Debug)]
pub(crate) enum Join {
    /// A retry of a message already answered: the reply.
    Done(Reply),
    /// A retry of a message still being handled: wait for it.
    Wait(Waiter),
    /// A new message: start the handler on this run, wait, and [`Record::settle`] its reply.
    Start(Arc<Run>, Waiter, Record),
}

/// Runs by delivery key, bounded in age and bytes. Cheap to clone; clones share the record.
#[derive(Debug, Clone)]
pub(crate) struct RetryCache {
    shared: Arc<Shared>,
}

#[derive(Debug)]
struct Shared {
    config: DedupConfig,
    entries: Mutex<Entries>,
}

#[derive(Debug, Default)]
struct Entries {
    map: HashMap<Arc<DedupKey>, Entry>,
    /// Keys in insertion order with their insertion time; one per entry of `map`.
    order: VecDeque<(Instant, Arc<DedupKey>)>,
    /// The sum of the entries' `bytes`.
    bytes: usize,
    /// Messages forgotten inside their TTL since the last warning, and when that was.
    evicted_early: u64,
    warned_at: Option<Instant>,
}

#[derive(Debug)]
struct Entry {
    slot: Slot,
    /// What this entry is counted for: [`ENTRY_OVERHEAD`], the key's strings, the stored reply.
    bytes: usize,
}

#[derive(Debug)]
enum Slot {
    /// The run, running or done (then it holds the reply every later delivery gets).
    Run(Arc<Run>),
    /// Handled, with a reply too long to keep: later deliveries get `success`.
    Handled,
}

impl RetryCache {
    pub(crate) fn new(config: DedupConfig) -> Self {
        if config.ttl < Duration::from_secs(DEFAULT_WINDOW_SECS) {
            tracing::warn!(
                ttl = ?config.ttl,
                window_secs = DEFAULT_WINDOW_SECS,
                "the retry record forgets messages before the default timestamp window closes: a \
                 captured request replayed after its TTL runs the handler again; keep \
                 DedupConfig::ttl at least as long as WechatConfig::timestamp_window_secs",
            );
        }
        Self {
            shared: Arc::new(Shared {
                config,
                entries: Mutex::new(Entries::default()),
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Entries> {
        // Critical sections touch only the maps and counters: poisoning cannot leave them
        // inconsistent.
        self.shared
            .entries
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Finds the run of `key`, or starts one.
    pub(crate) fn join(&self, key: DedupKey, now: Instant) -> Join {
        let config = &self.shared.config;
        let mut entries = self.lock();
        entries.expire(now, config.ttl);
        if let Some(entry) = entries.map.get(&key) {
            return match &entry.slot {
                Slot::Run(run) => match run.join() {
                    Ok(waiter) => Join::Wait(waiter),
                    Err(reply) => Join::Done(reply),
                },
                Slot::Handled => Join::Done(Reply::Success),
            };
        }
        let (run, waiter) = Run::start();
        let key = Arc::new(key);
        let bytes = ENTRY_OVERHEAD + key.heap_bytes();
        entries.map.insert(
            Arc::clone(&key),
            Entry {
                slot: Slot::Run(Arc::clone(&run)),
                bytes,
            },
        );
        entries.order.push_back((now, Arc::clone(&key)));
        entries.bytes += bytes;
        let warn = entries.fit(config, now);
        drop(entries);
        warn_evicted(warn);
        let record = Record {
            cache: self.clone(),
            key,
        };
        Join::Start(run, waiter, record)
    }

    /// The bytes the record counts now.
    #[cfg(test)]
    pub(crate) fn bytes(&self) -> usize {
        self.lock().bytes
    }

    /// How many messages are remembered.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.lock().map.len()
    }
}

impl Entries {
    /// Forgets the messages older than `ttl`: `order` is oldest first, and `now` only grows
    /// under the lock.
    fn expire(&mut self, now: Instant, ttl: Duration) {
        let mut expired = false;
        while let Some((inserted, _)) = self.order.front() {
            if now.saturating_duration_since(*inserted) < ttl {
                break;
            }
            self.pop_oldest();
            expired = true;
        }
        // Give back the tables' room after a burst (amortised: they shrink to twice their use
        // only once they are four times too large).
        if expired && self.map.capacity() > 1024 && self.map.len() * 4 < self.map.capacity() {
            self.map.shrink_to(self.map.len() * 2);
            self.order.shrink_to(self.order.len() * 2);
        }
    }

    fn pop_oldest(&mut self) -> Option<Instant> {
        let (inserted, key) = self.order.pop_front()?;
        // The map's key is this very `Arc` unless the message was forgotten and has come
        // again since: then the entry is the newer one, with its own place in `order`.
        if self
            .map
            .get_key_value(&key)
            .is_some_and(|(k, _)| Arc::ptr_eq(k, &key))
            && let Some(entry) = self.map.remove(&key)
        {
            self.bytes -= entry.bytes;
        }
        Some(inserted)
    }

    /// Forgets the oldest messages (but never the last one) until the record fits its budget.
    /// Returns how many were forgotten inside their TTL when it is time to warn about it.
    fn fit(&mut self, config: &DedupConfig, now: Instant) -> Option<u64> {
        while self.bytes > config.max_memory && self.order.len() > 1 {
            if let Some(inserted) = self.pop_oldest()
                && now.saturating_duration_since(inserted) < config.ttl
            {
                self.evicted_early += 1;
            }
        }
        if self.evicted_early == 0
            || self
                .warned_at
                .is_some_and(|at| now.saturating_duration_since(at) < WARN_EVERY)
        {
            return None;
        }
        self.warned_at = Some(now);
        Some(std::mem::take(&mut self.evicted_early))
    }
}

fn warn_evicted(evicted: Option<u64>) {
    if let Some(evicted) = evicted {
        tracing::warn!(
            evicted,
            "the retry record reached DedupConfig::max_memory and forgot messages inside their \
             TTL: a retry or replay of those runs the handler again; raise max_memory",
        );
    }
}

/// The right to store the reply of a new message: held by the completion of its run.
/// (With the record in a shared store, this is the claim on the key.)
#[derive(Debug)]
pub(crate) struct Record {
    cache: RetryCache,
    key: Arc<DedupKey>,
}

impl Record {
    /// Forgets the message, if `run` is still its run: nothing ran, so the next delivery of it
    /// starts afresh (and consults the shared store again).
    pub(crate) fn forget(self, run: &Arc<Run>) {
        let mut entries = self.cache.lock();
        if matches!(entries.map.get(&*self.key), Some(Entry { slot: Slot::Run(current), .. }) if Arc::ptr_eq(current, run))
            && let Some(entry) = entries.map.remove(&*self.key)
        {
            entries.bytes -= entry.bytes;
            // Its place in `order` goes when it expires or is pushed out; popping it then
            // frees nothing (see `pop_oldest`).
        }
    }

    /// The key of the message.
    pub(crate) fn key(&self) -> &DedupKey {
        &self.key
    }

    /// Counts the reply `run` now holds (`reply_bytes` long) against the budget, or, when it is
    /// too long to keep, lets the record remember only that the message was handled. Nothing
    /// happens when the message was forgotten meanwhile.
    pub(crate) fn settle(self, run: &Arc<Run>, reply_bytes: usize) {
        let config = &self.cache.shared.config;
        let mut guard = self.cache.lock();
        let entries = &mut *guard;
        let Some(entry) = entries.map.get_mut(&*self.key) else {
            return;
        };
        if !matches!(&entry.slot, Slot::Run(current) if Arc::ptr_eq(current, run)) {
            return;
        }
        if reply_bytes > config.max_reply_bytes
            || entry.bytes.saturating_add(reply_bytes) > config.max_memory
        {
            tracing::debug!(
                reply_bytes,
                "reply too long to keep; later deliveries of the message get `success`"
            );
            entry.slot = Slot::Handled;
            return;
        }
        entry.bytes += reply_bytes;
        entries.bytes += reply_bytes;
        let warn = entries.fit(config, Instant::now());
        drop(guard);
        warn_evicted(warn);
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use tower::ServiceExt;

    use super::*;
    use crate::router::run::Completion;
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

    /// A router whose every handler counts its runs, sleeps `delay`, and answers
    /// `reply(count)`.
    fn answering(
        delay: Duration,
        reply: impl Fn(usize) -> String + Send + Sync + 'static,
        router: impl FnOnce(Router) -> Router,
    ) -> (RouterService, Arc<AtomicUsize>) {
        let runs = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&runs);
        let reply = Arc::new(reply);
        let service = router(Router::new().fallback(move |_: Message| {
            let n = counter.fetch_add(1, Ordering::SeqCst) + 1;
            let reply = reply(n);
            async move {
                tokio::time::sleep(delay).await;
                reply
            }
        }))
        .build()
        .unwrap();
        (service, runs)
    }

    /// A router whose every handler counts its runs, sleeps `delay`, and answers the count.
    fn counting(
        delay: Duration,
        router: impl FnOnce(Router) -> Router,
    ) -> (RouterService, Arc<AtomicUsize>) {
        answering(delay, |n| format!("run {n}"), router)
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

    /// Issue 16: the record forgot a message after 30 s while the signature layer accepts it
    /// for 300 s, so one captured request ran its handler every 31 s.
    #[tokio::test(start_paused = true)]
    async fn issue16_replays_inside_the_window_get_the_stored_reply() {
        let (router, runs) = counting(Duration::ZERO, |r| r);
        let first = router.clone().oneshot(text("oA", 1)).await.unwrap();
        assert_eq!(first, Reply::text("run 1"));
        let start = Instant::now();
        for at in [31, 62, 299] {
            tokio::time::advance((start + Duration::from_secs(at)) - Instant::now()).await;
            let replay = router.clone().oneshot(text("oA", 1)).await.unwrap();
            assert_eq!(replay, first, "replay at {at} s");
        }
        assert_eq!(runs.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn default_ttl_covers_the_default_window_with_a_margin() {
        assert_eq!(DedupConfig::DEFAULT_TTL, Duration::from_secs(330));
        assert!(DedupConfig::new().ttl > Duration::from_secs(DEFAULT_WINDOW_SECS));
        assert_eq!(DedupConfig::default(), DedupConfig::new());
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
    async fn expiry_gives_back_every_counted_byte() {
        let cache = RetryCache::new(DedupConfig::new());
        let start = Instant::now();
        for id in 1..=3000 {
            let Join::Start(run, waiter, record) = cache.join(DedupKey::of(&text("oA", id)), start)
            else {
                panic!("a new message starts a run");
            };
            let completion = Completion::new(run, Some(record));
            assert_eq!(completion.finish(Reply::text("x".repeat(100))), None);
            drop(waiter);
        }
        assert_eq!(cache.len(), 3000);
        assert!(cache.bytes() >= 3000 * (ENTRY_OVERHEAD + 100));
        let later = start + DedupConfig::DEFAULT_TTL;
        assert!(matches!(
            cache.join(DedupKey::of(&text("oB", 1)), later),
            Join::Start(..)
        ));
        assert_eq!(cache.len(), 1);
        assert_eq!(
            cache.bytes(),
            ENTRY_OVERHEAD + DedupKey::of(&text("oB", 1)).heap_bytes()
        );
    }

    #[tokio::test(start_paused = true)]
    async fn the_budget_forgets_the_oldest_first() {
        let one = ENTRY_OVERHEAD + DedupKey::of(&text("oA", 1)).heap_bytes();
        let cache = RetryCache::new(DedupConfig::new().max_memory(2 * one));
        let now = Instant::now();
        for id in 1..=3 {
            assert!(matches!(
                cache.join(DedupKey::of(&text("oA", id)), now),
                Join::Start(..)
            ));
        }
        assert_eq!(cache.len(), 2);
        assert_eq!(cache.bytes(), 2 * one);
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
    async fn a_budget_below_one_message_keeps_the_newest() {
        let (router, runs) = counting(Duration::ZERO, |r| {
            r.dedup_config(DedupConfig::new().max_memory(0))
        });
        for id in [1, 1, 2, 1] {
            router.clone().oneshot(text("oA", id)).await.unwrap();
        }
        assert_eq!(runs.load(Ordering::SeqCst), 3);
    }

    /// Issue 16: forged plaintext messages with 64 KiB replies grew echo-bot to 638 MB.
    #[tokio::test(start_paused = true)]
    async fn issue16_a_flood_stays_within_the_memory_budget() {
        const BUDGET: usize = 256 * 1024;
        // Replies of 500 to 1499 bytes, in no order, so that replies as well as new keys
        // push the record over its budget.
        let (router, runs) =
            counting_with_cache(BUDGET, 2048, |n| "r".repeat(500 + n * 7919 % 1000));
        let cache = router.dedup_cache().unwrap().clone();
        let mut peak = 0;
        for id in 0..5_000 {
            let reply = router.clone().oneshot(text("oFlood", id)).await.unwrap();
            assert!(matches!(reply, Reply::Text(ref s) if s.len() >= 500));
            peak = peak.max(cache.bytes());
        }
        assert!(peak <= BUDGET, "{peak} bytes counted, budget {BUDGET}");
        assert!(peak > BUDGET - 2 * (ENTRY_OVERHEAD + 1500), "{peak}");
        let kept = cache.len();
        assert!((100..500).contains(&kept), "{kept} messages kept");
        assert_eq!(runs.load(Ordering::SeqCst), 5_000);
        // The newest are answered from the record.
        let retry = router.clone().oneshot(text("oFlood", 4_999)).await.unwrap();
        assert!(matches!(retry, Reply::Text(ref s) if s.len() >= 500));
        assert_eq!(runs.load(Ordering::SeqCst), 5_000);
    }

    fn counting_with_cache(
        max_memory: usize,
        max_reply_bytes: usize,
        reply: impl Fn(usize) -> String + Send + Sync + 'static,
    ) -> (RouterService, Arc<AtomicUsize>) {
        answering(Duration::ZERO, reply, |r| {
            r.dedup_config(
                DedupConfig::new()
                    .max_memory(max_memory)
                    .max_reply_bytes(max_reply_bytes),
            )
        })
    }

    /// Issue 16: a reply over `max_reply_bytes` is not stored, and its retries do not run the
    /// handler again.
    #[tokio::test(start_paused = true)]
    async fn issue16_oversized_replies_are_not_stored_but_still_deduplicated() {
        let (router, runs) = counting_with_cache(DedupConfig::DEFAULT_MAX_MEMORY, 1024, |n| {
            if n % 2 == 1 {
                "big".repeat(1000)
            } else {
                "small".to_owned()
            }
        });
        let cache = router.dedup_cache().unwrap().clone();
        let before = cache.bytes();
        let first = router.clone().oneshot(text("oA", 1)).await.unwrap();
        assert_eq!(first, Reply::text("big".repeat(1000)));
        let counted = cache.bytes() - before;
        assert!(
            counted < 3000,
            "{counted} bytes counted for an oversized reply"
        );
        for _ in 0..3 {
            let retry = router.clone().oneshot(text("oA", 1)).await.unwrap();
            assert_eq!(retry, Reply::Success);
        }
        tokio::time::advance(Duration::from_secs(200)).await;
        assert_eq!(
            router.clone().oneshot(text("oA", 1)).await.unwrap(),
            Reply::Success
        );
        assert_eq!(runs.load(Ordering::SeqCst), 1);
        // A small reply is stored and repeated.
        let small = router.clone().oneshot(text("oA", 2)).await.unwrap();
        assert_eq!(small, Reply::text("small"));
        assert_eq!(router.clone().oneshot(text("oA", 2)).await.unwrap(), small);
        assert_eq!(runs.load(Ordering::SeqCst), 2);
    }

    #[tokio::test(start_paused = true)]
    async fn oversized_reply_still_answers_a_retry_waiting_for_it() {
        let (router, runs) = answering(
            Duration::from_secs(2),
            |_| "x".repeat(5000),
            |r| r.dedup_config(DedupConfig::new().max_reply_bytes(1024)),
        );
        let first = tokio::spawn(router.clone().oneshot(text("oA", 1)));
        tokio::time::sleep(Duration::from_secs(1)).await;
        let retry = tokio::spawn(router.clone().oneshot(text("oA", 1)));
        assert_eq!(first.await.unwrap().unwrap(), Reply::text("x".repeat(5000)));
        assert_eq!(retry.await.unwrap().unwrap(), Reply::text("x".repeat(5000)));
        assert_eq!(
            router.clone().oneshot(text("oA", 1)).await.unwrap(),
            Reply::Success
        );
        assert_eq!(runs.load(Ordering::SeqCst), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn long_keys_are_counted() {
        let cache = RetryCache::new(DedupConfig::new());
        let long = "o".repeat(10_000);
        let _ = cache.join(DedupKey::of(&text(&long, 1)), Instant::now());
        assert!(cache.bytes() >= ENTRY_OVERHEAD + 10_000);
    }

    #[test]
    fn reply_bytes_add_up_the_string_fields() {
        assert_eq!(reply_bytes(&Reply::Success), 0);
        assert_eq!(reply_bytes(&Reply::text("héllo")), 6);
        assert_eq!(reply_bytes(&Reply::image("m1")), 2);
        let news = Reply::news(vec![Article {
            title: "t".into(),
            description: "dd".into(),
            pic_url: "ppp".into(),
            url: "uuuu".into(),
        }])
        .unwrap();
        assert_eq!(reply_bytes(&news), size_of::<Article>() + 10);
    }

    #[test]
    fn entry_overhead_matches_the_module_docs() {
        // The module docs say "about 500 bytes per message" (474 on x86_64).
        assert!((400..=600).contains(&ENTRY_OVERHEAD), "{ENTRY_OVERHEAD}");
    }

    #[tokio::test(start_paused = true)]
    async fn forgetting_inside_the_ttl_warns_at_most_once_a_minute() {
        let mut entries = Entries::default();
        let config = DedupConfig::new().max_memory(0);
        let start = Instant::now();
        fn insert(entries: &mut Entries, id: u64, at: Instant) {
            let key = Arc::new(DedupKey::of(&text("oA", id)));
            entries.map.insert(
                Arc::clone(&key),
                Entry {
                    slot: Slot::Handled,
                    bytes: 1,
                },
            );
            entries.order.push_back((at, key));
            entries.bytes += 1;
        }
        insert(&mut entries, 1, start);
        insert(&mut entries, 2, start);
        assert_eq!(entries.fit(&config, start), Some(1));
        insert(&mut entries, 3, start);
        assert_eq!(entries.fit(&config, start + Duration::from_secs(59)), None);
        insert(&mut entries, 4, start);
        assert_eq!(
            entries.fit(&config, start + Duration::from_secs(60)),
            Some(2)
        );
        // An expired entry forgotten for the budget weakens nothing.
        let late = start + Duration::from_secs(400);
        insert(&mut entries, 5, late);
        assert_eq!(entries.fit(&config, late + Duration::from_secs(60)), None);
        assert_eq!(entries.map.len(), 1);
    }

    /// Issue 13: the record used to hold 10 000 entries, so above about 330 messages a second
    /// a retry could miss on the very instance that answered. It expires by age: 20 000
    /// messages inside WeChat's retry span (15 s, about 1 300 a second) all keep their reply.
    #[tokio::test(start_paused = true)]
    async fn issue13_a_busy_instance_remembers_every_message_of_the_retry_span() {
        let (router, runs) = counting(Duration::ZERO, |r| r);
        let cache = router.dedup_cache().unwrap().clone();
        for id in 0..20_000 {
            router.clone().oneshot(text("oBusy", id)).await.unwrap();
            if id % 1_000 == 999 {
                tokio::time::advance(Duration::from_millis(700)).await;
            }
        }
        assert_eq!(cache.len(), 20_000);
        assert!(
            cache.bytes() < DedupConfig::DEFAULT_MAX_MEMORY,
            "{}",
            cache.bytes()
        );
        for id in [0, 1, 10_000, 19_999] {
            let retry = router.clone().oneshot(text("oBusy", id)).await.unwrap();
            assert_eq!(
                retry,
                Reply::text(format!("run {}", id + 1)),
                "message {id}"
            );
        }
        assert_eq!(runs.load(Ordering::SeqCst), 20_000);
    }

    #[tokio::test(start_paused = true)]
    async fn a_forgotten_message_does_not_lose_its_next_entry_to_the_old_place_in_line() {
        let cache = RetryCache::new(DedupConfig::new().ttl(Duration::from_secs(10)));
        let start = Instant::now();
        let Join::Start(run, _waiter, record) = cache.join(DedupKey::of(&text("oA", 1)), start)
        else {
            panic!("a new message starts a run");
        };
        record.forget(&run);
        assert_eq!((cache.len(), cache.bytes()), (0, 0));
        // It comes again at 5 s; its first place in line expires at 10 s, the new one at 15 s.
        let again = start + Duration::from_secs(5);
        assert!(matches!(
            cache.join(DedupKey::of(&text("oA", 1)), again),
            Join::Start(..)
        ));
        let later = start + Duration::from_secs(11);
        assert!(matches!(
            cache.join(DedupKey::of(&text("oA", 1)), later),
            Join::Wait(_)
        ));
        assert_eq!(cache.len(), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn dedup_off_runs_every_delivery() {
        let (router, runs) = counting(Duration::ZERO, |r| r.dedup(false));
        router.clone().oneshot(text("oA", 1)).await.unwrap();
        let retry = router.clone().oneshot(text("oA", 1)).await.unwrap();
        assert_eq!(retry, Reply::text("run 2"));
        assert_eq!(runs.load(Ordering::SeqCst), 2);
    }
}
