//! [`V3Certificates`]: the keys that verify WeChat Pay's answers and notifications, shared by
//! the client and the notify service, refreshed in one flight.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use bytes::Bytes;
use http::Method;
use wechat_core::pay::v3::{self, NotifyHeaders, Verifier};

use super::client::Core;
use super::error::PayV3Error;
use crate::store::Store;
use crate::store::lock::Lock;

/// How often the platform certificates are downloaded again (default): twelve hours, as
/// WeChat Pay advises.
pub const DEFAULT_CERTIFICATE_REFRESH: Duration = Duration::from_secs(12 * 3600);

/// At most one download per this long is triggered by an unknown `Wechatpay-Serial` in a
/// *notification* (default): anyone can post to the notify URL, and must not make every process
/// download certificates for each made-up serial. The first unknown serial always triggers one
/// (a rotation is seen at once); answers to the client's own requests are not throttled.
pub const DEFAULT_UNKNOWN_SERIAL_INTERVAL: Duration = Duration::from_secs(60);

/// How long the downloaded set lives in the [`Store`] for the other processes (default).
pub const DEFAULT_CERTIFICATE_STORE_TTL: Duration = Duration::from_secs(600);

/// Download again when the newest certificate expires within this long.
const EXPIRY_MARGIN_SECS: u64 = 7 * 24 * 3600;

/// After a failed refresh of a set that still works, wait this long before trying again.
const RETRY_AFTER_SECS: u64 = 60;

/// The platform certificates (平台证书) or WeChat Pay public key (微信支付公钥) that verify WeChat
/// Pay's answers and notifications: a shared, cheap-to-clone handle. Get it from
/// [`PayV3Client::certificates`](super::PayV3Client::certificates) and give it to
/// [`PayConfig::v3_certificates`](crate::pay::PayConfig::v3_certificates), so that the notify
/// service verifies v3 notifications with the same set, refreshed when a notification names a
/// certificate it does not know yet (a rotation).
///
/// In certificates mode the set is downloaded from `/v3/certificates` at first use, every
/// [12 hours](DEFAULT_CERTIFICATE_REFRESH), when the newest certificate expires within a week,
/// and when an answer or a notification names an unknown serial; one download at a time per
/// process (single flight), and shared between processes through the [`Store`] (the encrypted
/// answer, under one key with a [short TTL](DEFAULT_CERTIFICATE_STORE_TTL), guarded by
/// [`crate::store::lock`]): a set read from the store is trusted because it decrypts under
/// the APIv3 key (AEAD), which a writer of the store does not have. In public-key mode nothing is
/// downloaded.
#[derive(Clone)]
pub struct V3Certificates {
    inner: Arc<Inner>,
}

struct Inner {
    current: RwLock<Arc<Verifier>>,
    /// Keys that are always trusted (the WeChat Pay public key).
    fixed: Verifier,
    source: Option<Source>,
    flight: tokio::sync::Mutex<()>,
    /// When the set was last installed (seconds; 0 = never).
    loaded_at: AtomicU64,
    /// How many times a set was installed.
    generation: AtomicU64,
    /// Not before this (seconds) try a periodic refresh again after one failed.
    retry_at: AtomicU64,
    /// When a notification's unknown serial last triggered a refresh (seconds; 0 = never).
    unknown_at: AtomicU64,
    refresh_secs: u64,
    unknown_interval_secs: u64,
}

struct Source {
    core: Arc<Core>,
    store: Arc<dyn Store>,
    key: String,
    lock_key: String,
    store_ttl: Duration,
}

impl std::fmt::Debug for V3Certificates {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("V3Certificates")
            .field("serials", &self.serials())
            .field("downloads", &self.inner.source.is_some())
            .finish_non_exhaustive()
    }
}

/// Who presents the serial: an answer to our own request (over TLS from the API base), or a
/// notification (anyone can post one).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Origin {
    Answer,
    Notification,
}

/// What a download is for.
#[derive(Clone, Copy)]
enum Want<'a> {
    /// Any valid set (first load, periodic refresh).
    Any,
    /// A set that knows this serial.
    Serial(&'a str),
    /// A fresh download (forced).
    Fresh,
}

pub(crate) struct Settings {
    pub(crate) refresh: Duration,
    pub(crate) unknown_interval: Duration,
    pub(crate) store_ttl: Duration,
    pub(crate) key_prefix: String,
}

impl V3Certificates {
    /// A fixed set (public-key mode): nothing is downloaded.
    pub(crate) fn fixed(fixed: Verifier) -> Self {
        Self::build(fixed, None, &default_settings())
    }

    pub(crate) fn downloading(
        fixed: Verifier,
        core: Arc<Core>,
        store: Arc<dyn Store>,
        settings: &Settings,
    ) -> Self {
        let key = format!(
            "{}v3:certificates:{}",
            settings.key_prefix,
            core.merchant.mch_id()
        );
        let source = Source {
            core,
            store,
            lock_key: format!("{key}:lock"),
            key,
            store_ttl: settings.store_ttl,
        };
        Self::build(fixed, Some(source), settings)
    }

    fn build(fixed: Verifier, source: Option<Source>, settings: &Settings) -> Self {
        Self {
            inner: Arc::new(Inner {
                current: RwLock::new(Arc::new(fixed.clone())),
                fixed,
                source,
                flight: tokio::sync::Mutex::new(()),
                loaded_at: AtomicU64::new(0),
                generation: AtomicU64::new(0),
                retry_at: AtomicU64::new(0),
                unknown_at: AtomicU64::new(0),
                refresh_secs: settings.refresh.as_secs().max(60),
                unknown_interval_secs: settings.unknown_interval.as_secs(),
            }),
        }
    }

    /// The current set.
    #[must_use]
    pub fn verifier(&self) -> Arc<Verifier> {
        match self.inner.current.read() {
            Ok(guard) => Arc::clone(&guard),
            Err(poisoned) => Arc::clone(&poisoned.into_inner()),
        }
    }

    /// The serials of the current set, upper-case, sorted.
    #[must_use]
    pub fn serials(&self) -> Vec<String> {
        self.verifier().serials()
    }

    /// Whether the set is downloaded from `/v3/certificates` (certificates mode) rather than
    /// fixed (public-key mode).
    #[must_use]
    pub fn downloads(&self) -> bool {
        self.inner.source.is_some()
    }

    /// Downloads the certificates now (certificates mode; in public-key mode nothing happens)
    /// and returns the serials of the set. Concurrent callers share one download.
    ///
    /// # Errors
    ///
    /// The download failed or did not verify; the set in use stays.
    pub async fn refresh(&self) -> Result<Vec<String>, PayV3Error> {
        let Some(source) = &self.inner.source else {
            return Ok(self.serials());
        };
        let before = self.inner.generation.load(Ordering::Acquire);
        let _flight = self.inner.flight.lock().await;
        // Another caller downloaded while this one waited: that download is this one's.
        if self.inner.generation.load(Ordering::Acquire) == before {
            self.download(source, Want::Fresh).await?;
        }
        Ok(self.serials())
    }

    /// Downloads or loads the set when it is missing or due (certificates mode).
    pub(crate) async fn ensure_fresh(&self) -> Result<(), PayV3Error> {
        let Some(source) = &self.inner.source else {
            return Ok(());
        };
        let now = source.core.now();
        if !self.is_due(now) {
            return Ok(());
        }
        let _flight = self.inner.flight.lock().await;
        if !self.is_due(now) {
            return Ok(());
        }
        let first = self.inner.loaded_at.load(Ordering::Acquire) == 0;
        let result = match self.load_from_store(source, None).await {
            Ok(true) => Ok(()),
            Ok(false) | Err(_) => self.download(source, Want::Any).await,
        };
        match result {
            Err(err) if !first => {
                // The set in use still verifies: keep it, try again in a minute.
                tracing::warn!(error = %err, "refreshing the WeChat Pay platform certificates failed; keeping the current set");
                self.inner
                    .retry_at
                    .store(now + RETRY_AFTER_SECS, Ordering::Release);
                Ok(())
            }
            other => other,
        }
    }

    fn is_due(&self, now: u64) -> bool {
        let loaded = self.inner.loaded_at.load(Ordering::Acquire);
        if loaded == 0 {
            return true;
        }
        if now < self.inner.retry_at.load(Ordering::Acquire) {
            return false;
        }
        let expiring = self
            .verifier()
            .newest_not_after()
            .is_none_or(|not_after| not_after <= now.saturating_add(EXPIRY_MARGIN_SECS));
        now >= loaded.saturating_add(self.inner.refresh_secs)
            || (expiring && now >= loaded.saturating_add(3600))
    }

    /// A set that knows `serial`, refreshed once (single flight) when the current one does not
    /// and a refresh is allowed; else the current set (whose verification then fails with
    /// `UnknownSerial`).
    pub(crate) async fn verifier_for(
        &self,
        serial: &str,
        origin: Origin,
    ) -> Result<Arc<Verifier>, PayV3Error> {
        let current = self.verifier();
        let Some(source) = &self.inner.source else {
            return Ok(current);
        };
        if serial.is_empty() || serial.len() > 128 || current.contains(serial) {
            return Ok(current);
        }
        let now = source.core.now();
        let _flight = self.inner.flight.lock().await;
        let current = self.verifier();
        if current.contains(serial) {
            return Ok(current);
        }
        if origin == Origin::Notification {
            let last = self.inner.unknown_at.load(Ordering::Acquire);
            if last != 0 && now < last.saturating_add(self.inner.unknown_interval_secs) {
                return Ok(current);
            }
            self.inner.unknown_at.store(now.max(1), Ordering::Release);
        }
        // Another process may have the new set already.
        if !self
            .load_from_store(source, Some(serial))
            .await
            .unwrap_or(false)
        {
            self.download(source, Want::Serial(serial)).await?;
        }
        Ok(self.verifier())
    }

    /// Verifies the headers of an answer or notification for `body`, refreshing the set once
    /// for an unknown serial (see [`V3Certificates::verifier_for`]).
    pub(crate) async fn verify(
        &self,
        headers: &NotifyHeaders<'_>,
        body: &[u8],
        now: u64,
        window_secs: u64,
        origin: Origin,
    ) -> Result<(), PayV3Error> {
        let verifier = self.verifier_for(headers.serial, origin).await?;
        verifier.verify_notify(headers, body, now, window_secs)?;
        Ok(())
    }

    /// Installs the set of the store, if there is one (and it knows `serial`, when given).
    async fn load_from_store(
        &self,
        source: &Source,
        serial: Option<&str>,
    ) -> Result<bool, PayV3Error> {
        let Some(body) = source.store.get(&source.key).await? else {
            return Ok(false);
        };
        let now = source.core.now();
        let Ok(certificates) =
            v3::decrypt_certificates(&body, source.core.merchant.api_v3_key(), now)
        else {
            // Not ours (another APIv3 key) or damaged: ignore it, download.
            return Ok(false);
        };
        let fresh = v3::certificates_verifier(&certificates)?;
        if serial.is_some_and(|s| !fresh.contains(s)) {
            return Ok(false);
        }
        self.install(&fresh, now);
        Ok(true)
    }

    /// Downloads `/v3/certificates`, verifies the answer with the certificates it carries,
    /// installs them and shares them through the store. Processes take turns (a store lock);
    /// one that waited first looks whether the set it needs arrived in the store meanwhile
    /// (`want`: any set, one that knows a serial, or none: a forced download).
    async fn download(&self, source: &Source, want: Want<'_>) -> Result<(), PayV3Error> {
        let lock = Lock::new(
            Arc::clone(&source.store),
            source.lock_key.clone(),
            Duration::from_secs(30),
        )
        .wait(Duration::from_secs(3));
        let guard = lock.acquire().await.ok();
        let from_store = match want {
            Want::Any => self.load_from_store(source, None).await.unwrap_or(false),
            Want::Serial(serial) => self
                .load_from_store(source, Some(serial))
                .await
                .unwrap_or(false),
            Want::Fresh => false,
        };
        let result = if from_store {
            Ok(())
        } else {
            match self.fetch(&source.core).await {
                Ok(body) => {
                    if let Err(err) = source
                        .store
                        .set(&source.key, body, Some(source.store_ttl))
                        .await
                    {
                        tracing::warn!(error = %err, "could not share the WeChat Pay platform certificates through the store");
                    }
                    Ok(())
                }
                Err(err) => Err(err),
            }
        };
        if let Some(guard) = guard {
            let _ = guard.release().await;
        }
        result
    }

    async fn fetch(&self, core: &Core) -> Result<Bytes, PayV3Error> {
        let req = core.signed_request(&Method::GET, v3::CERTIFICATES_PATH, Bytes::new(), None)?;
        let res = core.send(req).await?;
        let (parts, body) = res.into_parts();
        core.check_size(&body)?;
        let header = |name: &str| {
            parts
                .headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
        };
        let headers = NotifyHeaders {
            timestamp: header("wechatpay-timestamp"),
            nonce: header("wechatpay-nonce"),
            signature: header("wechatpay-signature"),
            serial: header("wechatpay-serial"),
        };
        let now = core.now();
        if !parts.status.is_success() {
            return Err(core.error_answer(parts.status, &headers, &body, &self.verifier()));
        }
        let (_, fresh) = v3::verify_certificates_answer(
            &headers,
            &body,
            core.merchant.api_v3_key(),
            &self.verifier(),
            now,
            core.window_secs,
        )?;
        self.install(&fresh, now);
        Ok(body)
    }

    fn install(&self, fresh: &Verifier, now: u64) {
        let mut set = self.inner.fixed.clone();
        set.extend(fresh);
        set.remove_expired(now);
        match self.inner.current.write() {
            Ok(mut guard) => *guard = Arc::new(set),
            Err(poisoned) => *poisoned.into_inner() = Arc::new(set),
        }
        self.inner.loaded_at.store(now.max(1), Ordering::Release);
        self.inner.retry_at.store(0, Ordering::Release);
        self.inner.generation.fetch_add(1, Ordering::AcqRel);
    }
}

fn default_settings() -> Settings {
    Settings {
        refresh: DEFAULT_CERTIFICATE_REFRESH,
        unknown_interval: DEFAULT_UNKNOWN_SERIAL_INTERVAL,
        store_ttl: DEFAULT_CERTIFICATE_STORE_TTL,
        key_prefix: "wechat:pay:".to_owned(),
    }
}
