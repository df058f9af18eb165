//! The settings of an account's callback endpoint, shared by the inbound layers.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use wechat_core::secret::Token;
use wechat_core::{MsgCrypt, replay};

/// The message encryption mode chosen in the WeChat console (消息加解密方式).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Mode {
    /// Plaintext (明文模式): bodies are plain XML; replies go back plain.
    Plaintext,
    /// Compatible (兼容模式): bodies carry the plain fields and `Encrypt`; a request with
    /// `encrypt_type=aes` is decrypted and answered encrypted, others are plain.
    Compatible,
    /// Safe (安全模式): every body is encrypted and every reply is encrypted.
    Safe,
}

/// A source of the current time in seconds since the Unix epoch, replaceable in tests.
///
/// Any `Fn() -> u64` is a clock:
///
/// ```
/// use wechat_tower::WechatConfig;
///
/// let config = WechatConfig::plaintext("token").clock(|| 1_700_000_000);
/// # let _ = config;
/// ```
pub trait Clock: Send + Sync + 'static {
    /// Seconds since the Unix epoch.
    fn now_secs(&self) -> u64;
}

impl<F> Clock for F
where
    F: Fn() -> u64 + Send + Sync + 'static,
{
    fn now_secs(&self) -> u64 {
        self()
    }
}

/// The system clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_secs(&self) -> u64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs())
    }
}

/// Default cap on request bodies: WeChat's callbacks are a few KiB.
pub const DEFAULT_BODY_LIMIT: usize = 64 * 1024;

/// The settings of one callback endpoint (服务器配置): token, encryption mode and key, app id,
/// replay window, body cap, clock.
///
/// ```
/// use wechat_tower::WechatConfig;
///
/// let plain = WechatConfig::plaintext("my-token");
/// let safe = WechatConfig::safe("my-token", "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG", "wx0123456789abcdef")?
///     .timestamp_window_secs(120)
///     .body_limit(32 * 1024);
/// # let _ = (plain, safe);
/// # Ok::<(), wechat_tower::core::Error>(())
/// ```
#[derive(Clone)]
#[must_use]
pub struct WechatConfig {
    pub(crate) token: Token,
    pub(crate) mode: Mode,
    pub(crate) crypt: Option<Arc<MsgCrypt>>,
    pub(crate) window_secs: u64,
    pub(crate) body_limit: usize,
    pub(crate) clock: Arc<dyn Clock>,
}

impl WechatConfig {
    /// Plaintext mode (明文模式) with the console's token.
    ///
    /// # Security
    ///
    /// In plaintext mode WeChat signs the URL (`timestamp`, `nonce`), not the body: one signed
    /// URL accepts **any** body for the whole timestamp window (300 s either way by default).
    /// Signed URLs in access logs or proxies are therefore keys: whoever reads one can forge
    /// messages from any user for five minutes (the router's retry record bounds the memory such
    /// a flood takes, see [`DedupConfig`](crate::router::DedupConfig)). In production prefer
    /// safe mode (安全模式, [`WechatConfig::safe`]), where the body is encrypted and covered by
    /// `msg_signature`, so a captured request can only be replayed as it is, and the retry record
    /// answers such a replay without running the handler again.
    pub fn plaintext(token: impl Into<String>) -> Self {
        Self {
            token: Token::new(token),
            mode: Mode::Plaintext,
            crypt: None,
            window_secs: replay::DEFAULT_WINDOW_SECS,
            body_limit: DEFAULT_BODY_LIMIT,
            clock: Arc::new(SystemClock),
        }
    }

    /// Safe mode (安全模式) with the token, the EncodingAESKey and the app id.
    ///
    /// # Errors
    ///
    /// When the EncodingAESKey is not 43 base64 characters.
    pub fn safe(token: &str, encoding_aes_key: &str, appid: &str) -> wechat_core::Result<Self> {
        Self::with_key(Mode::Safe, token, encoding_aes_key, appid)
    }

    /// Compatible mode (兼容模式) with the token, the EncodingAESKey and the app id.
    ///
    /// # Errors
    ///
    /// When the EncodingAESKey is not 43 base64 characters.
    pub fn compatible(
        token: &str,
        encoding_aes_key: &str,
        appid: &str,
    ) -> wechat_core::Result<Self> {
        Self::with_key(Mode::Compatible, token, encoding_aes_key, appid)
    }

    fn with_key(
        mode: Mode,
        token: &str,
        encoding_aes_key: &str,
        appid: &str,
    ) -> wechat_core::Result<Self> {
        let crypt = MsgCrypt::new(token, encoding_aes_key, appid)?;
        Ok(Self {
            mode,
            crypt: Some(Arc::new(crypt)),
            ..Self::plaintext(token)
        })
    }

    /// Accept timestamps within this many seconds of now (default 300); 0 turns the check off,
    /// for benchmarks that replay one fixed request (never in production: a captured request
    /// then stays valid forever).
    ///
    /// Inside the window a captured, correctly signed request can be replayed; what stops it from
    /// running a handler twice is the router's retry record, which lasts
    /// [`DedupConfig::DEFAULT_TTL`](crate::router::DedupConfig::DEFAULT_TTL) (330 s: the default
    /// window plus a margin for clock skew). A window wider than 300 s needs a matching
    /// [`DedupConfig::ttl`](crate::router::DedupConfig::ttl) (the window plus
    /// [`DedupConfig::CLOCK_SKEW_MARGIN`](crate::router::DedupConfig::CLOCK_SKEW_MARGIN)) on the
    /// router behind this config.
    pub fn timestamp_window_secs(mut self, secs: u64) -> Self {
        self.window_secs = secs;
        self
    }

    /// [`WechatConfig::timestamp_window_secs`] from a `Duration`.
    pub fn timestamp_window(self, window: Duration) -> Self {
        self.timestamp_window_secs(window.as_secs())
    }

    /// Cap request bodies at this many bytes (default 64 KiB); larger ones get 413.
    pub fn body_limit(mut self, bytes: usize) -> Self {
        self.body_limit = bytes;
        self
    }

    /// Replace the clock (tests).
    pub fn clock(mut self, clock: impl Clock) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// The encryption mode.
    #[must_use]
    pub fn mode(&self) -> Mode {
        self.mode
    }

    /// The app id, in compatible and safe mode.
    #[must_use]
    pub fn app_id(&self) -> Option<&str> {
        self.crypt.as_deref().map(MsgCrypt::app_id)
    }

    pub(crate) fn now(&self) -> u64 {
        self.clock.now_secs()
    }
}

impl std::fmt::Debug for WechatConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WechatConfig")
            .field("token", &self.token)
            .field("mode", &self.mode)
            .field("crypt", &self.crypt)
            .field("window_secs", &self.window_secs)
            .field("body_limit", &self.body_limit)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_hides_secrets() {
        let config = WechatConfig::safe(
            "t0ken",
            "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG",
            "wx1",
        )
        .unwrap();
        let debug = format!("{config:?}");
        assert!(!debug.contains("t0ken"), "{debug}");
        assert!(!debug.contains("abcdefghij"), "{debug}");
        assert!(debug.contains("wx1"), "{debug}");
    }

    #[test]
    fn rejects_bad_keys() {
        assert!(WechatConfig::safe("t", "short", "wx").is_err());
    }

    #[test]
    fn closures_are_clocks() {
        let config = WechatConfig::plaintext("t").clock(|| 42);
        assert_eq!(config.now(), 42);
    }
}
