//! [`PayConfig`]: the merchant's settings, shared by the notify service and the pay client.

use std::sync::Arc;
use std::time::Duration;

use wechat_core::pay::v3::Verifier;
use wechat_core::pay::{Merchant, PayError, SignType};
use wechat_core::replay;
use wechat_core::secret::{ApiV3Key, PayKey};

use super::v3::V3Certificates;
use crate::config::{Clock, DEFAULT_BODY_LIMIT, SystemClock};

/// How long a notification's claim lives without a heartbeat (default): a process that crashed
/// while its handler ran leaves a claim that expires after this long, so WeChat's next retry
/// runs the handler again.
pub const DEFAULT_CLAIM_TTL: Duration = Duration::from_secs(30);

/// How long a handled notification is remembered (default): WeChat retries a notification for
/// 24 h 4 min (15 s, 15 s, 30 s, 3 min, 10 min, 20 min, 30 min, 30 min, 30 min, 60 min, 3 h, 3 h,
/// 3 h, 6 h, 6 h), so a week covers every retry with days to spare.
///
/// It also bounds the replay of a v2 refund notification, whose `req_info` has no timestamp of
/// its own: one whose `success_time` is older than this (less the timestamp window, for clock
/// skew) is refused, since its record may be gone. See [`PayConfig::record_ttl`].
pub const DEFAULT_RECORD_TTL: Duration = Duration::from_secs(7 * 24 * 3600);

/// Shortest [`PayConfig::record_ttl`] that outlives WeChat's retries (24 h 4 min) with an hour to
/// spare; `PayNotifyBuilder::build` warns below it.
pub(crate) const MIN_RECORD_TTL: Duration = Duration::from_secs(25 * 3600 + 4 * 60);

/// How long a duplicate waits for the first delivery's outcome before it is answered FAIL (so
/// that WeChat retries it later) (default).
pub const DEFAULT_DUPLICATE_WAIT: Duration = Duration::from_secs(3);

/// The merchant's WeChat Pay settings (商户配置): `appid`, merchant id (`mch_id`, 商户号), API
/// key and sign type for v2; the APIv3 key and the keys that sign v3 notifications; the
/// timestamp window, the body cap and the clock; the lifetimes of the once-per-notification
/// record. Cheap to clone. Its `Debug` shows no secret.
///
/// ```
/// use wechat_tower::pay::PayConfig;
/// use wechat_tower::core::pay::SignType;
///
/// # let pem = include_str!("../test_util/mock_pay_pub.pem");
/// let config = PayConfig::new("wxd930ea5d5a258f4f", "10000100", "192006250b4c09247ec02edce69f6a2d")
///     .sign_type(SignType::HmacSha256)
///     .api_v3_key("0123456789abcdefghijABCDEFGHIJ01")
///     .wechatpay_public_key("PUB_KEY_ID_0114232134912410000000000000", pem)?;
/// assert!(!format!("{config:?}").contains("192006250b4c"));
/// # Ok::<(), wechat_tower::core::pay::PayError>(())
/// ```
#[derive(Clone)]
#[must_use]
pub struct PayConfig {
    pub(crate) merchant: Merchant,
    pub(crate) api_v3_key: Option<ApiV3Key>,
    pub(crate) verifier: Arc<Verifier>,
    /// The v3 client's shared, refreshed certificate set (see [`PayConfig::v3_certificates`]).
    pub(crate) v3_certificates: Option<V3Certificates>,
    pub(crate) window_secs: u64,
    pub(crate) body_limit: usize,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) claim_ttl: Duration,
    pub(crate) record_ttl: Duration,
    pub(crate) duplicate_wait: Duration,
    pub(crate) key_prefix: String,
}

impl PayConfig {
    /// The merchant `mch_id` (商户号) taking payments for `appid`, with its API key (API密钥);
    /// v2 sign type MD5 until [`PayConfig::sign_type`] says otherwise.
    pub fn new(
        appid: impl Into<String>,
        mch_id: impl Into<String>,
        key: impl Into<String>,
    ) -> Self {
        Self {
            merchant: Merchant::new(appid, mch_id, key),
            api_v3_key: None,
            verifier: Arc::new(Verifier::new()),
            v3_certificates: None,
            window_secs: replay::DEFAULT_WINDOW_SECS,
            body_limit: DEFAULT_BODY_LIMIT,
            clock: Arc::new(SystemClock),
            claim_ttl: DEFAULT_CLAIM_TTL,
            record_ttl: DEFAULT_RECORD_TTL,
            duplicate_wait: DEFAULT_DUPLICATE_WAIT,
            key_prefix: "wechat:pay:".to_owned(),
        }
    }

    /// The sign type of the merchant's v2 orders (default MD5). Notifications are verified with
    /// it even when they do not say so (WeChat often leaves `sign_type` out of HMAC-SHA256
    /// notifications).
    pub fn sign_type(mut self, sign_type: SignType) -> Self {
        self.merchant = self.merchant.with_sign_type(sign_type);
        self
    }

    /// The APIv3 key (APIv3密钥, 32 characters), to decrypt v3 notifications.
    pub fn api_v3_key(mut self, key: impl Into<String>) -> Self {
        self.api_v3_key = Some(ApiV3Key::new(key));
        self
    }

    /// Trust a platform certificate (平台证书, PEM) to sign v3 notifications; `Wechatpay-Serial`
    /// names it by its serial number.
    ///
    /// # Errors
    ///
    /// When the PEM is not an X.509 certificate with an RSA key.
    pub fn platform_certificate(mut self, pem: &str) -> Result<Self, PayError> {
        Arc::make_mut(&mut self.verifier).add_certificate_pem(pem)?;
        Ok(self)
    }

    /// Trust the WeChat Pay public key (微信支付公钥, PEM) with id `PUB_KEY_ID_…` to sign v3
    /// notifications: what merchants registered since 2024 get instead of platform
    /// certificates.
    ///
    /// # Errors
    ///
    /// When the PEM is not an RSA public key.
    pub fn wechatpay_public_key(mut self, key_id: &str, pem: &str) -> Result<Self, PayError> {
        Arc::make_mut(&mut self.verifier).add_public_key_pem(key_id, pem)?;
        Ok(self)
    }

    /// Verify v3 notifications with the v3 client's keys ([`PayV3Client::certificates`]): the
    /// WeChat Pay public key, or the platform certificates it downloads. A notification signed
    /// by a certificate the set does not know yet (a rotation) makes it download the set once
    /// (at most once a minute for notifications, see
    /// [`DEFAULT_UNKNOWN_SERIAL_INTERVAL`](super::v3::DEFAULT_UNKNOWN_SERIAL_INTERVAL)) and
    /// verifies with the new one, instead of failing. Keys given with
    /// [`PayConfig::platform_certificate`] / [`PayConfig::wechatpay_public_key`] still count.
    ///
    /// [`PayV3Client::certificates`]: super::v3::PayV3Client::certificates
    pub fn v3_certificates(mut self, certificates: V3Certificates) -> Self {
        self.v3_certificates = Some(certificates);
        self
    }

    /// Accept v3 `Wechatpay-Timestamp`s within this many seconds of now (default 300).
    pub fn timestamp_window_secs(mut self, secs: u64) -> Self {
        self.window_secs = secs;
        self
    }

    /// Cap notification bodies at this many bytes (default 64 KiB); larger ones get 413.
    pub fn body_limit(mut self, bytes: usize) -> Self {
        self.body_limit = bytes;
        self
    }

    /// Replace the clock (tests).
    pub fn clock(mut self, clock: impl Clock) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// How long a claim on a notification lives without its heartbeat (default
    /// [`DEFAULT_CLAIM_TTL`]). See the [module docs](super) on delivery once.
    pub fn claim_ttl(mut self, ttl: Duration) -> Self {
        self.claim_ttl = ttl.max(Duration::from_millis(100));
        self
    }

    /// How long a handled notification is remembered (default [`DEFAULT_RECORD_TTL`], a week):
    /// a duplicate or a replay within it is answered SUCCESS without running the handler.
    ///
    /// v2 refund notifications (退款结果通知) carry no timestamp, only the `success_time` of the
    /// refund inside `req_info`: one whose `success_time` is older than this lifetime, less the
    /// [timestamp window](PayConfig::timestamp_window_secs) (clock skew), or later than now plus
    /// that window, is refused (401), so that a replay after its record expired cannot run the
    /// handler again. Keep it above 25 hours (WeChat retries for 24 h 4 min), or WeChat's late
    /// retries of a refund are refused too; [`PayNotifyBuilder::build`](super::PayNotifyBuilder::build)
    /// warns below that.
    pub fn record_ttl(mut self, ttl: Duration) -> Self {
        self.record_ttl = ttl;
        self
    }

    /// How long a duplicate delivered while the first still runs waits for its outcome (default
    /// [`DEFAULT_DUPLICATE_WAIT`]) before it is answered FAIL, to be retried later.
    pub fn duplicate_wait(mut self, wait: Duration) -> Self {
        self.duplicate_wait = wait;
        self
    }

    /// Prefix of the store keys of the notification records (default `wechat:pay:`).
    pub fn key_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.key_prefix = prefix.into();
        self
    }

    /// The merchant: `appid`, `mch_id`, key, sign type.
    #[must_use]
    pub fn merchant(&self) -> &Merchant {
        &self.merchant
    }

    /// The app id.
    #[must_use]
    pub fn app_id(&self) -> &str {
        self.merchant.app_id()
    }

    /// The merchant id (`mch_id`, 商户号).
    #[must_use]
    pub fn mch_id(&self) -> &str {
        self.merchant.mch_id()
    }

    /// The v2 API key.
    #[must_use]
    pub fn key(&self) -> &PayKey {
        self.merchant.key()
    }

    /// The v2 sign type.
    #[must_use]
    pub fn sign_type_of_orders(&self) -> SignType {
        self.merchant.sign_type()
    }

    /// Whether v3 notifications can be read: an APIv3 key and at least one verifying key (or
    /// the v3 client's certificate set).
    #[must_use]
    pub fn accepts_v3(&self) -> bool {
        self.api_v3_key.is_some() && (!self.verifier.is_empty() || self.v3_certificates.is_some())
    }

    pub(crate) fn now(&self) -> u64 {
        self.clock.now_secs()
    }

    /// The oldest `success_time` of a v2 refund accepted, in seconds before now: the record's
    /// lifetime less the timestamp window, so that the record of a refund handled when WeChat
    /// sent it (by a clock up to the window behind) still exists. See [`PayConfig::record_ttl`].
    pub(crate) fn refund_max_age_secs(&self) -> u64 {
        self.record_ttl.as_secs().saturating_sub(self.window_secs)
    }
}

impl std::fmt::Debug for PayConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PayConfig")
            .field("merchant", &self.merchant)
            .field("api_v3_key", &self.api_v3_key)
            .field("verifier", &self.verifier)
            .field("v3_certificates", &self.v3_certificates)
            .field("window_secs", &self.window_secs)
            .field("body_limit", &self.body_limit)
            .field("claim_ttl", &self.claim_ttl)
            .field("record_ttl", &self.record_ttl)
            .finish_non_exhaustive()
    }
}
