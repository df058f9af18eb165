//! The demo's settings, from the environment, and the rule that keeps the mock merchant's
//! public values off the internet.

use std::env;
use std::net::{IpAddr, SocketAddr};
use std::str::FromStr;

use wechat_tower::core::pay::SignType;
use wechat_tower::core::pay::v3::SigningKey;
use wechat_tower::core::signature::constant_time_eq;
use wechat_tower::pay::PayConfig;
use wechat_tower::pay::v3::{PayV3Client, V3Merchant};

use crate::catalogue::Product;

/// The mock merchant's app id (`MockPay`'s default): public, it is in this repository.
pub const MOCK_APPID: &str = "wxmock0000000001";
/// The mock merchant's `mch_id`.
pub const MOCK_MCH_ID: &str = "1900000109";
/// The mock merchant's API key: public, so anyone can sign a notification with it.
pub const MOCK_KEY: &str = "mockpaykey0123456789abcdefghijkl";

/// The mock merchant's APIv3 key (`MockPay`'s default): public.
pub const MOCK_API_V3_KEY: &str = "mockapiv3key0123456789abcdefghij";
/// The serial of the mock merchant's API certificate, whose private key is public
/// (`wechat-tower/src/test_util/keys/merchant_key.pem`).
pub const MOCK_CERT_SERIAL: &str = "444F4E545553455448495345524941";

/// Default smallest top-up: 1 fen (分).
pub const DEFAULT_TOPUP_MIN_FEE: u64 = 1;
/// Default largest top-up: 500 000 fen (5 000 yuan).
pub const DEFAULT_TOPUP_MAX_FEE: u64 = 500_000;
/// Default cap on the unpaid orders kept in the database.
pub const DEFAULT_MAX_UNPAID_ORDERS: usize = 10_000;

/// The APIv3 merchant of `WECHAT_PAY_VERSION=v3`.
#[derive(Clone)]
pub struct V3Settings {
    /// `WECHAT_PAY_API_V3_KEY` (APIv3密钥, 32 characters). Never in `Debug`.
    pub api_v3_key: String,
    /// The PEM of `WECHAT_PAY_PRIVATE_KEY_FILE` (`apiclient_key.pem`). Never in `Debug`.
    pub private_key_pem: String,
    /// `WECHAT_PAY_CERT_SERIAL`: the serial of the merchant API certificate.
    pub cert_serial: String,
    /// `WECHAT_PAY_PUBLIC_KEY_ID` and the PEM of `WECHAT_PAY_PUBLIC_KEY_FILE`: public-key mode
    /// (微信支付公钥); unset, the platform certificates (平台证书) are downloaded from the API.
    pub public_key: Option<(String, String)>,
}

impl std::fmt::Debug for V3Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("V3Settings")
            .field("api_v3_key", &"[redacted]")
            .field("private_key_pem", &"[redacted]")
            .field("cert_serial", &self.cert_serial)
            .field("public_key_id", &self.public_key.as_ref().map(|(id, _)| id))
            .finish()
    }
}

/// The demo's settings, from the environment variables this example's README lists.
#[derive(Clone)]
pub struct Settings {
    /// `ADDR`, default `127.0.0.1:3000`.
    pub addr: SocketAddr,
    /// `PUBLIC_URL`: how WeChat Pay and browsers reach this server, default `http://<ADDR>`. The
    /// notify URL registered with each order is `PUBLIC_URL` + `/pay/notify`.
    pub public_url: String,
    /// `WECHAT_APPID` (default: the mock's, [`MOCK_APPID`]).
    pub appid: String,
    /// `WECHAT_PAY_MCH_ID` (商户号; default: the mock's, [`MOCK_MCH_ID`]).
    pub mch_id: String,
    /// `WECHAT_PAY_KEY` (API密钥; default: the mock's, [`MOCK_KEY`]). Never in `Debug`.
    pub key: String,
    /// `WECHAT_PAY_SIGN_TYPE`: `MD5` (default) or `HMAC-SHA256`.
    pub sign_type: SignType,
    /// `WECHAT_PAY_API_BASE`, default `https://api.mch.weixin.qq.com`.
    pub api_base: String,
    /// `REDIS_URL`: where the records of handled notifications live, shared by every process
    /// of the demo; unset means memory.
    pub redis_url: Option<String>,
    /// In v2 mode, `WECHAT_PAY_API_V3_KEY`, `WECHAT_PAY_PUBLIC_KEY_ID` and
    /// `WECHAT_PAY_PUBLIC_KEY_FILE` (PEM): accept v3 notifications too. The key is never in
    /// `Debug`.
    pub v3: Option<(String, String, String)>,
    /// `WECHAT_PAY_VERSION=v3`: orders, pay parameters and refunds through APIv3 with this
    /// merchant (`WECHAT_PAY_KEY`, `WECHAT_PAY_SIGN_TYPE` and `v3` are then unused).
    pub pay_v3: Option<V3Settings>,
    /// `TOPUP_MIN_FEE`: the smallest top-up (充值) in fen, default 1.
    pub topup_min_fee: u64,
    /// `TOPUP_MAX_FEE`: the largest top-up in fen, default 500 000.
    pub topup_max_fee: u64,
    /// `MAX_UNPAID_ORDERS`: how many unpaid orders the database keeps at most, default
    /// 10 000; beyond, new orders are refused (503) until some expire.
    pub max_unpaid_orders: usize,
    /// `DATABASE_URL`: where orders, balances and refunds live. Unset:
    /// [`DEFAULT_DATABASE_URL`](crate::DEFAULT_DATABASE_URL), the file `pay-demo.db` in the
    /// working directory; `sqlite:…` or `postgres://user:password@host/db` as given.
    /// [`Settings::new`] uses an SQLite database in memory. Its password is never in `Debug`.
    pub database_url: String,
    /// The catalogue of fixed-price goods (not from the environment; [`Product::demo_catalogue`]
    /// by default).
    pub products: Vec<Product>,
}

impl std::fmt::Debug for Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Settings")
            .field("addr", &self.addr)
            .field("public_url", &self.public_url)
            .field("appid", &self.appid)
            .field("mch_id", &self.mch_id)
            .field("key", &"[redacted]")
            .field("sign_type", &self.sign_type)
            .field("api_base", &self.api_base)
            .field("redis_url", &self.redis_url.as_ref().map(|_| "[redacted]"))
            .field("v3", &self.v3.as_ref().map(|(_, id, _)| ("[redacted]", id)))
            .field("pay_v3", &self.pay_v3)
            .field("topup_min_fee", &self.topup_min_fee)
            .field("topup_max_fee", &self.topup_max_fee)
            .field("max_unpaid_orders", &self.max_unpaid_orders)
            .field("database_url", &redact_password(&self.database_url))
            .field("products", &self.products)
            .finish()
    }
}

/// `url` with the password of its `user:password@` part replaced by `[redacted]`.
fn redact_password(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let (authority, path) = rest.find('/').map_or((rest, ""), |at| rest.split_at(at));
    match authority.rsplit_once('@') {
        Some((userinfo, host)) => {
            let user = userinfo.split(':').next().unwrap_or_default();
            let password = if userinfo.contains(':') {
                ":[redacted]"
            } else {
                ""
            };
            format!("{scheme}://{user}{password}@{host}{path}")
        }
        None => url.to_owned(),
    }
}

fn parse<T: FromStr>(name: &str, value: Option<String>, default: T) -> Result<T, String>
where
    T::Err: std::fmt::Display,
{
    match value {
        Some(v) => v.parse().map_err(|e| format!("{name}: {e}")),
        None => Ok(default),
    }
}

impl Settings {
    /// Reads `ADDR`, `PUBLIC_URL`, `WECHAT_APPID`, `WECHAT_PAY_MCH_ID`, `WECHAT_PAY_KEY`,
    /// `WECHAT_PAY_SIGN_TYPE`, `WECHAT_PAY_API_BASE`, `REDIS_URL`, `TOPUP_MIN_FEE`,
    /// `TOPUP_MAX_FEE`, `MAX_UNPAID_ORDERS`, `DATABASE_URL`, and the optional v3 ones; with
    /// `WECHAT_PAY_VERSION=v3`, `WECHAT_PAY_API_V3_KEY`, `WECHAT_PAY_PRIVATE_KEY_FILE`,
    /// `WECHAT_PAY_CERT_SERIAL` and optionally `WECHAT_PAY_PUBLIC_KEY_ID` +
    /// `WECHAT_PAY_PUBLIC_KEY_FILE`.
    ///
    /// Unset merchant variables fall back to the mock's public values: see
    /// [`Settings::check_demo_mode`] before serving.
    ///
    /// # Errors
    ///
    /// A message naming the variable that is wrong.
    pub fn from_env() -> Result<Self, String> {
        let var = |name: &str| env::var(name).ok().filter(|v| !v.is_empty());
        let addr: SocketAddr = parse(
            "ADDR",
            var("ADDR"),
            SocketAddr::from(([127, 0, 0, 1], 3000)),
        )?;
        let sign_type = match var("WECHAT_PAY_SIGN_TYPE") {
            Some(t) => t
                .parse()
                .map_err(|e| format!("WECHAT_PAY_SIGN_TYPE: {e}"))?,
            None => SignType::Md5,
        };
        let pay_v3 = match var("WECHAT_PAY_VERSION").as_deref() {
            None | Some("v2" | "V2") => None,
            Some("v3" | "V3") => Some(v3_from_env(&var)?),
            Some(other) => {
                return Err(format!(
                    "WECHAT_PAY_VERSION: {other:?} is neither v2 nor v3"
                ));
            }
        };
        let v3 = match (
            var("WECHAT_PAY_API_V3_KEY").filter(|_| pay_v3.is_none()),
            var("WECHAT_PAY_PUBLIC_KEY_ID").filter(|_| pay_v3.is_none()),
            var("WECHAT_PAY_PUBLIC_KEY_FILE").filter(|_| pay_v3.is_none()),
        ) {
            (Some(key), Some(id), Some(file)) => {
                let pem = std::fs::read_to_string(&file)
                    .map_err(|e| format!("WECHAT_PAY_PUBLIC_KEY_FILE {file}: {e}"))?;
                Some((key, id, pem))
            }
            (None, None, None) => None,
            _ => {
                return Err("v3 notifications need WECHAT_PAY_API_V3_KEY, WECHAT_PAY_PUBLIC_KEY_ID and WECHAT_PAY_PUBLIC_KEY_FILE together".into());
            }
        };
        let settings = Self {
            addr,
            public_url: var("PUBLIC_URL")
                .unwrap_or_else(|| format!("http://{addr}"))
                .trim_end_matches('/')
                .to_owned(),
            appid: var("WECHAT_APPID").unwrap_or_else(|| MOCK_APPID.to_owned()),
            mch_id: var("WECHAT_PAY_MCH_ID").unwrap_or_else(|| MOCK_MCH_ID.to_owned()),
            key: var("WECHAT_PAY_KEY").unwrap_or_else(|| MOCK_KEY.to_owned()),
            sign_type,
            api_base: var("WECHAT_PAY_API_BASE")
                .unwrap_or_else(|| wechat_tower::pay::DEFAULT_PAY_API_BASE.to_owned()),
            redis_url: var("REDIS_URL"),
            v3,
            pay_v3,
            topup_min_fee: parse("TOPUP_MIN_FEE", var("TOPUP_MIN_FEE"), DEFAULT_TOPUP_MIN_FEE)?,
            topup_max_fee: parse("TOPUP_MAX_FEE", var("TOPUP_MAX_FEE"), DEFAULT_TOPUP_MAX_FEE)?,
            max_unpaid_orders: parse(
                "MAX_UNPAID_ORDERS",
                var("MAX_UNPAID_ORDERS"),
                DEFAULT_MAX_UNPAID_ORDERS,
            )?,
            database_url: var("DATABASE_URL")
                .unwrap_or_else(|| crate::DEFAULT_DATABASE_URL.to_owned()),
            products: Product::demo_catalogue(),
        };
        settings.validate()?;
        Ok(settings)
    }

    /// The settings for a merchant, with the other settings at their defaults (tests).
    #[must_use]
    pub fn new(appid: &str, mch_id: &str, key: &str, api_base: &str, addr: SocketAddr) -> Self {
        Self {
            addr,
            public_url: format!("http://{addr}"),
            appid: appid.to_owned(),
            mch_id: mch_id.to_owned(),
            key: key.to_owned(),
            sign_type: SignType::Md5,
            api_base: api_base.to_owned(),
            redis_url: None,
            v3: None,
            pay_v3: None,
            topup_min_fee: DEFAULT_TOPUP_MIN_FEE,
            topup_max_fee: DEFAULT_TOPUP_MAX_FEE,
            max_unpaid_orders: DEFAULT_MAX_UNPAID_ORDERS,
            database_url: crate::MEMORY_DATABASE_URL.to_owned(),
            products: Product::demo_catalogue(),
        }
    }

    /// Where the orders are, to print at start: an SQLite file's absolute path, "memory", or
    /// the PostgreSQL URL with its password redacted.
    #[must_use]
    pub fn database_location(&self) -> String {
        let url = self.database_url.as_str();
        if url.starts_with("sqlite:") {
            if url.contains(":memory:") || url.contains("mode=memory") {
                return format!("SQLite in memory ({url}), gone at exit");
            }
            let path = url
                .trim_start_matches("sqlite:")
                .trim_start_matches("//")
                .split('?')
                .next()
                .unwrap_or_default();
            let absolute = std::env::current_dir()
                .map(|dir| dir.join(path))
                .unwrap_or_else(|_| path.into());
            return format!("SQLite file {}", absolute.display());
        }
        format!("PostgreSQL {}", redact_password(url))
    }

    /// The same settings in v3 mode (`WECHAT_PAY_VERSION=v3`) with this merchant.
    #[must_use]
    pub fn with_v3(mut self, v3: V3Settings) -> Self {
        self.pay_v3 = Some(v3);
        self
    }

    /// Checks the settings that do not depend on each other's parsing: top-up bounds, the
    /// unpaid-order cap, the catalogue.
    ///
    /// # Errors
    ///
    /// A message naming the setting that is wrong.
    pub fn validate(&self) -> Result<(), String> {
        if self.topup_min_fee == 0 {
            return Err("TOPUP_MIN_FEE: at least 1 fen (分)".into());
        }
        if self.topup_max_fee < self.topup_min_fee {
            return Err(format!(
                "TOPUP_MAX_FEE ({}) is below TOPUP_MIN_FEE ({})",
                self.topup_max_fee, self.topup_min_fee
            ));
        }
        crate::Backend::of_url(&self.database_url)?;
        if self.max_unpaid_orders == 0 {
            return Err("MAX_UNPAID_ORDERS: at least 1".into());
        }
        if let Some(v3) = &self.pay_v3
            && v3.api_v3_key.len() != 32
        {
            return Err("WECHAT_PAY_API_V3_KEY: 32 characters".into());
        }
        crate::catalogue::validate(&self.products)
    }

    /// The notify URL registered with each order: `PUBLIC_URL` + `/pay/notify`.
    #[must_use]
    pub fn notify_url(&self) -> String {
        format!("{}/pay/notify", self.public_url)
    }

    /// The pay configuration of these settings.
    ///
    /// # Errors
    ///
    /// When the v3 public key is not a PEM RSA public key.
    pub fn pay_config(&self) -> Result<PayConfig, String> {
        if let Some(v3) = &self.pay_v3 {
            // v3 mode takes no v2 notification: the v2 key is random (from the OS CSPRNG) and
            // never leaves this process, so nothing can sign one.
            let mut config = PayConfig::new(
                &self.appid,
                &self.mch_id,
                wechat_tower::core::pay::nonce_str(),
            )
            .api_v3_key(&v3.api_v3_key);
            if let Some((id, pem)) = &v3.public_key {
                config = config
                    .wechatpay_public_key(id, pem)
                    .map_err(|e| format!("WECHAT_PAY_PUBLIC_KEY_FILE: {e}"))?;
            }
            return Ok(config);
        }
        let mut config =
            PayConfig::new(&self.appid, &self.mch_id, &self.key).sign_type(self.sign_type);
        if let Some((key, id, pem)) = &self.v3 {
            config = config
                .api_v3_key(key)
                .wechatpay_public_key(id, pem)
                .map_err(|e| format!("WECHAT_PAY_PUBLIC_KEY_FILE: {e}"))?;
        }
        Ok(config)
    }

    /// The APIv3 client of v3 mode (`None` in v2 mode).
    ///
    /// # Errors
    ///
    /// A message naming the variable that is wrong (a private key that does not parse, a bad
    /// API base, ...).
    pub fn v3_client(&self) -> Result<Option<PayV3Client>, String> {
        let Some(v3) = &self.pay_v3 else {
            return Ok(None);
        };
        let key = SigningKey::from_pkcs8_pem(&v3.private_key_pem)
            .map_err(|e| format!("WECHAT_PAY_PRIVATE_KEY_FILE: {e}"))?;
        let merchant = V3Merchant::new(
            &self.appid,
            &self.mch_id,
            &v3.cert_serial,
            key,
            &v3.api_v3_key,
        );
        let mut builder = PayV3Client::builder(merchant)
            .api_base(&self.api_base)
            .notify_url(self.notify_url());
        if let Some((id, pem)) = &v3.public_key {
            builder = builder
                .wechatpay_public_key(id, pem)
                .map_err(|e| format!("WECHAT_PAY_PUBLIC_KEY_FILE: {e}"))?;
        }
        builder
            .build()
            .map(Some)
            .map_err(|e| format!("WECHAT_PAY_API_BASE: {e}"))
    }

    /// The variables that hold the mock merchant's values, which this repository publishes:
    /// with [`MOCK_KEY`] anyone can sign a notification that marks an order paid.
    #[must_use]
    pub fn public_values(&self) -> Vec<&'static str> {
        let mut names = Vec::new();
        if self.appid == MOCK_APPID {
            names.push("WECHAT_APPID");
        }
        if self.mch_id == MOCK_MCH_ID {
            names.push("WECHAT_PAY_MCH_ID");
        }
        match &self.pay_v3 {
            None => {
                if constant_time_eq(self.key.as_bytes(), MOCK_KEY.as_bytes()) {
                    names.push("WECHAT_PAY_KEY");
                }
            }
            Some(v3) => {
                if constant_time_eq(v3.api_v3_key.as_bytes(), MOCK_API_V3_KEY.as_bytes()) {
                    names.push("WECHAT_PAY_API_V3_KEY");
                }
                if v3.cert_serial.eq_ignore_ascii_case(MOCK_CERT_SERIAL) {
                    // The mock merchant's private key is in this repository.
                    names.push("WECHAT_PAY_PRIVATE_KEY_FILE");
                }
            }
        }
        names
    }

    /// Whether only this machine can reach the shop: `ADDR` is a loopback address and
    /// `PUBLIC_URL` names a loopback host (a `PUBLIC_URL` elsewhere means a proxy forwards
    /// the internet to it).
    #[must_use]
    pub fn is_loopback(&self) -> bool {
        self.addr.ip().is_loopback() && url_host_is_loopback(&self.public_url)
    }

    /// The demo-mode rule: settings that hold the mock merchant's public values
    /// ([`Settings::public_values`]) serve only on loopback ([`Settings::is_loopback`]) or when
    /// the operator passed `--demo` (`demo_flag`).
    ///
    /// # Errors
    ///
    /// A message naming the variables to set.
    pub fn check_demo_mode(&self, demo_flag: bool) -> Result<(), String> {
        let names = self.public_values();
        if names.is_empty() || demo_flag || self.is_loopback() {
            return Ok(());
        }
        Err(format!(
            "{} still hold the mock merchant's public values (published in this repository: \
             anyone could sign a payment notification), and the shop is not on loopback \
             (ADDR {}, PUBLIC_URL {}); set {} to your merchant's, or listen on 127.0.0.1, or \
             pass --demo to serve the demo publicly on purpose",
            names.join(", "),
            self.addr,
            self.public_url,
            names.join(", "),
        ))
    }
}

/// The v3 merchant from `WECHAT_PAY_API_V3_KEY`, `WECHAT_PAY_PRIVATE_KEY_FILE`,
/// `WECHAT_PAY_CERT_SERIAL`, and `WECHAT_PAY_PUBLIC_KEY_ID` + `WECHAT_PAY_PUBLIC_KEY_FILE`
/// (both or neither).
fn v3_from_env(var: &dyn Fn(&str) -> Option<String>) -> Result<V3Settings, String> {
    let required =
        |name: &str| var(name).ok_or_else(|| format!("WECHAT_PAY_VERSION=v3 needs {name}"));
    let read = |name: &str, file: &str| {
        std::fs::read_to_string(file).map_err(|e| format!("{name} {file}: {e}"))
    };
    let api_v3_key = required("WECHAT_PAY_API_V3_KEY")?;
    let key_file = required("WECHAT_PAY_PRIVATE_KEY_FILE")?;
    let private_key_pem = read("WECHAT_PAY_PRIVATE_KEY_FILE", &key_file)?;
    let cert_serial = required("WECHAT_PAY_CERT_SERIAL")?;
    let public_key = match (
        var("WECHAT_PAY_PUBLIC_KEY_ID"),
        var("WECHAT_PAY_PUBLIC_KEY_FILE"),
    ) {
        (Some(id), Some(file)) => Some((id, read("WECHAT_PAY_PUBLIC_KEY_FILE", &file)?)),
        (None, None) => None,
        _ => {
            return Err(
                "WECHAT_PAY_PUBLIC_KEY_ID and WECHAT_PAY_PUBLIC_KEY_FILE go together (or neither: platform certificates)"
                    .into(),
            );
        }
    };
    Ok(V3Settings {
        api_v3_key,
        private_key_pem,
        cert_serial,
        public_key,
    })
}

/// Whether an `http(s)://` URL's host is `localhost` or a loopback IP; anything unparsable
/// counts as public.
fn url_host_is_loopback(url: &str) -> bool {
    let Some(rest) = url
        .strip_prefix("http://")
        .or_else(|| url.strip_prefix("https://"))
    else {
        return false;
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    if authority.contains('@') {
        return false;
    }
    let host = if let Some(v6) = authority.strip_prefix('[') {
        match v6.split_once(']') {
            Some((host, _)) => host,
            None => return false,
        }
    } else {
        authority.split(':').next().unwrap_or("")
    };
    host.eq_ignore_ascii_case("localhost")
        || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mock_settings(addr: &str) -> Settings {
        Settings::new(
            MOCK_APPID,
            MOCK_MCH_ID,
            MOCK_KEY,
            "http://127.0.0.1:3001",
            addr.parse().unwrap_or_else(|e| panic!("{addr}: {e}")),
        )
    }

    #[test]
    fn loopback_hosts() {
        for url in [
            "http://127.0.0.1:3000",
            "http://localhost",
            "https://LOCALHOST:8443/x",
            "http://[::1]:3000/pay",
            "http://127.1.2.3",
        ] {
            assert!(url_host_is_loopback(url), "{url}");
        }
        for url in [
            "https://shop.example",
            "http://0.0.0.0:3000",
            "http://10.0.0.1",
            "http://127.0.0.1.example.com",
            "http://localhost@evil.example",
            "ftp://127.0.0.1",
            "http://[::1",
            "",
        ] {
            assert!(!url_host_is_loopback(url), "{url}");
        }
    }

    #[test]
    fn the_mock_merchant_serves_on_loopback_only_unless_demo() {
        let local = mock_settings("127.0.0.1:3000");
        assert_eq!(
            local.public_values(),
            ["WECHAT_APPID", "WECHAT_PAY_MCH_ID", "WECHAT_PAY_KEY"]
        );
        assert!(local.check_demo_mode(false).is_ok());

        let public = mock_settings("0.0.0.0:3000");
        let err = public.check_demo_mode(false).unwrap_err();
        assert!(err.contains("WECHAT_PAY_KEY"), "{err}");
        assert!(public.check_demo_mode(true).is_ok());

        // Loopback behind a public PUBLIC_URL: a proxy forwards the internet to it.
        let mut proxied = mock_settings("127.0.0.1:3000");
        proxied.public_url = "https://shop.example".into();
        assert!(proxied.check_demo_mode(false).is_err());

        // Only the key left at the mock's: still refused, and named alone.
        let mut keyless = mock_settings("0.0.0.0:3000");
        keyless.appid = "wx1234567890abcdef".into();
        keyless.mch_id = "1230000109".into();
        let err = keyless.check_demo_mode(false).unwrap_err();
        assert!(err.starts_with("WECHAT_PAY_KEY still"), "{err}");

        let mut real = keyless;
        real.key = "0123456789abcdef0123456789abcdef".into();
        assert!(real.public_values().is_empty());
        assert!(real.check_demo_mode(false).is_ok());
    }

    #[test]
    fn debug_hides_the_keys() {
        let mut settings = mock_settings("127.0.0.1:3000");
        settings.v3 = Some((
            "v3secretv3secretv3secretv3secret".into(),
            "PUB_KEY_ID_1".into(),
            "pem".into(),
        ));
        let debug = format!("{settings:?}");
        assert!(!debug.contains(MOCK_KEY), "{debug}");
        assert!(!debug.contains("v3secret"), "{debug}");
        assert!(debug.contains("PUB_KEY_ID_1"), "{debug}");
    }

    fn mock_v3() -> V3Settings {
        V3Settings {
            api_v3_key: MOCK_API_V3_KEY.into(),
            private_key_pem: "-----BEGIN PRIVATE KEY-----secret".into(),
            cert_serial: MOCK_CERT_SERIAL.into(),
            public_key: None,
        }
    }

    #[test]
    fn v3_mode_names_its_own_public_values_and_hides_its_keys() {
        let settings = mock_settings("0.0.0.0:3000").with_v3(mock_v3());
        assert_eq!(
            settings.public_values(),
            [
                "WECHAT_APPID",
                "WECHAT_PAY_MCH_ID",
                "WECHAT_PAY_API_V3_KEY",
                "WECHAT_PAY_PRIVATE_KEY_FILE"
            ]
        );
        assert!(settings.check_demo_mode(false).is_err());
        let debug = format!("{settings:?}");
        assert!(!debug.contains(MOCK_API_V3_KEY), "{debug}");
        assert!(!debug.contains("secret"), "{debug}");
        let mut real = settings;
        real.appid = "wx1234567890abcdef".into();
        real.mch_id = "1230000109".into();
        real.pay_v3 = Some(V3Settings {
            api_v3_key: "0123456789abcdef0123456789abcdef".into(),
            cert_serial: "1DDE55AD98ED71D6EDD4A4A16996DE7B47773A8C".into(),
            ..mock_v3()
        });
        assert!(
            real.public_values().is_empty(),
            "{:?}",
            real.public_values()
        );
        real.pay_v3 = Some(V3Settings {
            api_v3_key: "short".into(),
            ..mock_v3()
        });
        assert!(
            real.validate()
                .unwrap_err()
                .contains("WECHAT_PAY_API_V3_KEY")
        );
        // A private key that does not parse is named.
        let err = mock_settings("127.0.0.1:3000")
            .with_v3(mock_v3())
            .v3_client()
            .unwrap_err();
        assert!(err.starts_with("WECHAT_PAY_PRIVATE_KEY_FILE"), "{err}");
    }

    fn lookup(pairs: &[(&str, &str)], name: &str) -> Option<String> {
        pairs
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| (*v).to_owned())
    }

    #[test]
    fn v3_variables_are_read_together() {
        let key_file = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../wechat-tower/src/test_util/keys/merchant_key.pem"
        );
        let pub_file = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../wechat-tower/src/test_util/mock_pay_pub.pem"
        );
        let base: &[(&str, &str)] = &[
            ("WECHAT_PAY_API_V3_KEY", MOCK_API_V3_KEY),
            ("WECHAT_PAY_PRIVATE_KEY_FILE", key_file),
            ("WECHAT_PAY_CERT_SERIAL", MOCK_CERT_SERIAL),
        ];
        let v3 = v3_from_env(&|n| lookup(base, n)).unwrap();
        assert!(
            v3.private_key_pem
                .starts_with("-----BEGIN PRIVATE KEY-----")
        );
        assert!(v3.public_key.is_none(), "certificate mode");
        let with_key: &[(&str, &str)] = &[
            ("WECHAT_PAY_API_V3_KEY", MOCK_API_V3_KEY),
            ("WECHAT_PAY_PRIVATE_KEY_FILE", key_file),
            ("WECHAT_PAY_CERT_SERIAL", MOCK_CERT_SERIAL),
            ("WECHAT_PAY_PUBLIC_KEY_ID", "PUB_KEY_ID_1"),
            ("WECHAT_PAY_PUBLIC_KEY_FILE", pub_file),
        ];
        let v3 = v3_from_env(&|n| lookup(with_key, n)).unwrap();
        assert_eq!(v3.public_key.unwrap().0, "PUB_KEY_ID_1");
        let half: &[(&str, &str)] = &[
            ("WECHAT_PAY_API_V3_KEY", MOCK_API_V3_KEY),
            ("WECHAT_PAY_PRIVATE_KEY_FILE", key_file),
            ("WECHAT_PAY_CERT_SERIAL", MOCK_CERT_SERIAL),
            ("WECHAT_PAY_PUBLIC_KEY_ID", "PUB_KEY_ID_1"),
        ];
        assert!(
            v3_from_env(&|n| lookup(half, n))
                .unwrap_err()
                .contains("go together")
        );
        let no_serial: &[(&str, &str)] = &[
            ("WECHAT_PAY_API_V3_KEY", MOCK_API_V3_KEY),
            ("WECHAT_PAY_PRIVATE_KEY_FILE", key_file),
        ];
        assert!(
            v3_from_env(&|n| lookup(no_serial, n))
                .unwrap_err()
                .contains("WECHAT_PAY_CERT_SERIAL")
        );
        let missing_file: &[(&str, &str)] = &[
            ("WECHAT_PAY_API_V3_KEY", MOCK_API_V3_KEY),
            (
                "WECHAT_PAY_PRIVATE_KEY_FILE",
                "/nonexistent/apiclient_key.pem",
            ),
            ("WECHAT_PAY_CERT_SERIAL", MOCK_CERT_SERIAL),
        ];
        assert!(
            v3_from_env(&|n| lookup(missing_file, n))
                .unwrap_err()
                .starts_with("WECHAT_PAY_PRIVATE_KEY_FILE")
        );
    }

    #[test]
    fn the_v3_mode_takes_no_v2_notification() {
        let settings = mock_settings("127.0.0.1:3000").with_v3(mock_v3());
        let a = settings.pay_config().unwrap();
        let b = settings.pay_config().unwrap();
        assert_ne!(a.key().expose(), MOCK_KEY);
        assert_ne!(a.key().expose(), b.key().expose(), "random per process");
    }

    #[test]
    fn bounds_are_checked() {
        let mut settings = mock_settings("127.0.0.1:3000");
        assert!(settings.validate().is_ok());
        settings.topup_min_fee = 0;
        assert!(settings.validate().unwrap_err().contains("TOPUP_MIN_FEE"));
        settings.topup_min_fee = 100;
        settings.topup_max_fee = 99;
        assert!(settings.validate().unwrap_err().contains("TOPUP_MAX_FEE"));
        settings.topup_max_fee = 100;
        settings.max_unpaid_orders = 0;
        assert!(
            settings
                .validate()
                .unwrap_err()
                .contains("MAX_UNPAID_ORDERS")
        );
    }

    #[test]
    fn the_database_password_is_never_shown() {
        let mut settings = mock_settings("127.0.0.1:3000");
        settings.database_url = "postgres://shop:s3cr%40t:x@127.0.0.1:5432/pay".into();
        let shown = format!("{settings:?} {}", settings.database_location());
        assert!(!shown.contains("s3cr"), "{shown}");
        assert!(
            shown.contains("postgres://shop:[redacted]@127.0.0.1:5432/pay"),
            "{shown}"
        );
        assert_eq!(
            redact_password("postgres://127.0.0.1/pay?user=a"),
            "postgres://127.0.0.1/pay?user=a"
        );
        settings.database_url = "sqlite://pay-demo.db?mode=rwc".into();
        let location = settings.database_location();
        assert!(
            location.starts_with("SQLite file /") && location.ends_with("/pay-demo.db"),
            "{location}"
        );
        settings.database_url = "mysql://127.0.0.1/pay".into();
        assert!(settings.validate().unwrap_err().contains("DATABASE_URL"));
    }
}
