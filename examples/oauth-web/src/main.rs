//! Web authorization (网页授权) and the JS-SDK on axum.
//!
//! ```text
//! WECHAT_APPID=wx… WECHAT_APPSECRET=… PUBLIC_URL=https://your.domain cargo run -p oauth-web
//! ```
//!
//! - `/`: a link to log in with WeChat, and one to the JS-SDK page;
//! - `/login`: redirects to WeChat's consent page (`snsapi_userinfo`), with a random `state` kept
//!   in a cookie against CSRF;
//! - `/callback?code=…&state=…`: checks `state`, exchanges the code, shows the user's profile;
//! - `/jssdk`: a page that asks `/jssdk-config?url=<its own URL>` for its signed `wx.config`;
//! - `/jssdk-config?url=…`: that configuration as JSON.
//!
//! The routes are the library's ([`oauth_web::app`]); this binary reads the settings and serves
//! them.
//!
//! Settings (environment): `WECHAT_APPID`, `WECHAT_APPSECRET` (required), `WECHAT_API_BASE`
//! (default `https://api.weixin.qq.com`), `WECHAT_OPEN_BASE` (the consent page's domain, default
//! `https://open.weixin.qq.com`), `ADDR` (default `127.0.0.1:3000`), `PUBLIC_URL` (how browsers
//! reach this server, default `http://<ADDR>`), `REDIS_URL` (token store shared by your
//! processes; unset means memory). The mock's published AppSecret (`mock-secret`) is accepted
//! only in demo mode: a loopback `ADDR`, or `--demo`. Against `mock-wechat`, see the README.
//!
//! It serves through `wechat_tower::serve::Server`, which bounds slow and idle clients and the
//! number of connections.

use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;

use wechat_tower::client::WechatClient;
use wechat_tower::core::secret::AppSecret;
use wechat_tower::serve::Server;
use wechat_tower::signature::constant_time_eq;
use wechat_tower::store::RedisStore;

/// The AppSecret that `mock-wechat` accepts by default. Its README prints it, so it is no
/// secret: accepted in demo mode only.
const MOCK_SECRET: &str = "mock-secret";

#[tokio::main]
async fn main() -> ExitCode {
    // What the library logs (a handler's `Err`, a refused request) goes to stderr; without a
    // subscriber it is lost. `RUST_LOG` overrides the `info` default.
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
    let var = |name: &str| std::env::var(name).ok();
    let settings = match Settings::from_vars(var, std::env::args().skip(1)) {
        Ok(settings) => settings,
        Err(err) => {
            eprintln!("oauth-web: {err}");
            return ExitCode::FAILURE;
        }
    };
    let addr = settings.addr;
    let public_url = settings.public_url.clone();
    let client = match settings.client().await {
        Ok(client) => client,
        Err(err) => {
            eprintln!("oauth-web: {err}");
            return ExitCode::FAILURE;
        }
    };
    let api_base = client.api_base().to_owned();
    let router = oauth_web::app(client, &public_url);
    let listener = match tokio::net::TcpListener::bind(addr).await {
        Ok(listener) => listener,
        Err(err) => {
            eprintln!("oauth-web: cannot listen on {addr}: {err}");
            return ExitCode::FAILURE;
        }
    };
    println!("oauth-web on http://{addr} (public URL {public_url}), WeChat API {api_base}");
    let shutdown = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    match Server::new(listener)
        .serve_with_shutdown(router, shutdown)
        .await
    {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("oauth-web: {err}");
            ExitCode::FAILURE
        }
    }
}

/// The settings of the crate docs.
#[derive(Debug)]
struct Settings {
    addr: SocketAddr,
    app_id: String,
    secret: AppSecret,
    public_url: String,
    api_base: Option<String>,
    open_base: Option<String>,
    redis_url: Option<String>,
}

impl Settings {
    /// Reads the settings through `var` (a variable's value by name) and `args` (the command
    /// line after the program's name; `--demo` is its only option).
    ///
    /// The demo rule (issue 16): the mock's public AppSecret only in demo mode, a loopback
    /// `ADDR` or `--demo`.
    fn from_vars(
        var: impl Fn(&str) -> Option<String>,
        args: impl IntoIterator<Item = String>,
    ) -> Result<Self, String> {
        let mut demo_flag = false;
        for arg in args {
            if arg == "--demo" {
                demo_flag = true;
            } else {
                return Err(format!(
                    "unknown argument `{arg}`: the only option is --demo (settings come from the \
                     environment, see the README)"
                ));
            }
        }
        let var = |name: &str| var(name).filter(|v| !v.is_empty());
        let app_id = var("WECHAT_APPID").ok_or("WECHAT_APPID is not set")?;
        let secret = AppSecret::new(var("WECHAT_APPSECRET").ok_or("WECHAT_APPSECRET is not set")?);
        let addr: SocketAddr = var("ADDR")
            .as_deref()
            .unwrap_or("127.0.0.1:3000")
            .parse()
            .map_err(|e| format!("ADDR: {e}"))?;
        let demo_mode = demo_flag || addr.ip().to_canonical().is_loopback();
        if constant_time_eq(secret.expose().as_bytes(), MOCK_SECRET.as_bytes()) && !demo_mode {
            return Err(format!(
                "WECHAT_APPSECRET is the mock's public AppSecret and ADDR {addr} is not a \
                 loopback address: set WECHAT_APPID and WECHAT_APPSECRET to your Official \
                 Account's (and unset WECHAT_API_BASE, WECHAT_OPEN_BASE), or pass --demo to serve \
                 the demo settings anyway"
            ));
        }
        let public_url = var("PUBLIC_URL").unwrap_or_else(|| format!("http://{addr}"));
        Ok(Self {
            addr,
            app_id,
            secret,
            public_url: public_url.trim_end_matches('/').to_owned(),
            api_base: var("WECHAT_API_BASE"),
            open_base: var("WECHAT_OPEN_BASE"),
            redis_url: var("REDIS_URL"),
        })
    }

    /// Builds the WeChat client: connects to Redis when `REDIS_URL` is set.
    async fn client(self) -> Result<WechatClient, String> {
        let mut builder = WechatClient::builder(self.app_id, self.secret.expose());
        if let Some(base) = self.api_base {
            builder = builder.api_base(base);
        }
        if let Some(base) = self.open_base {
            builder = builder.open_base(base);
        }
        if let Some(url) = self.redis_url {
            let store = RedisStore::connect(&url)
                .await
                .map_err(|e| format!("REDIS_URL: {e}"))?;
            builder = builder.store(Arc::new(store));
        }
        builder.build().map_err(|e| e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `Settings::from_vars` over these variables and arguments.
    fn load(vars: &[(&str, &str)], args: &[&str]) -> Result<Settings, String> {
        let vars: Vec<(String, String)> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        Settings::from_vars(
            |name| vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()),
            args.iter().map(|a| (*a).to_owned()),
        )
    }

    const MOCK: [(&str, &str); 2] = [
        ("WECHAT_APPID", "wxmock0000000001"),
        ("WECHAT_APPSECRET", MOCK_SECRET),
    ];

    #[test]
    fn issue16_the_mock_secret_is_refused_on_a_public_address() {
        let err = load(&[MOCK[0], MOCK[1], ("ADDR", "0.0.0.0:3000")], &[]).unwrap_err();
        assert!(err.contains("WECHAT_APPSECRET"), "{err}");
        assert!(err.contains("--demo"), "{err}");
    }

    #[test]
    fn issue16_the_mock_secret_is_accepted_on_loopback_or_with_demo() {
        let settings = load(&MOCK, &[]).unwrap();
        assert_eq!(settings.public_url, "http://127.0.0.1:3000");
        load(&[MOCK[0], MOCK[1], ("ADDR", "[::1]:3000")], &[]).unwrap();
        load(&[MOCK[0], MOCK[1], ("ADDR", "0.0.0.0:3000")], &["--demo"]).unwrap();
    }

    #[test]
    fn a_real_secret_serves_any_address_and_the_secret_stays_out_of_debug() {
        let settings = load(
            &[
                ("WECHAT_APPID", "wx1"),
                ("WECHAT_APPSECRET", "a-real-secret"),
                ("ADDR", "0.0.0.0:3000"),
                ("PUBLIC_URL", "https://example.com/"),
            ],
            &[],
        )
        .unwrap();
        assert_eq!(settings.public_url, "https://example.com");
        assert!(!format!("{settings:?}").contains("a-real-secret"));
        let err = load(&MOCK, &["--dmeo"]).unwrap_err();
        assert!(err.contains("--dmeo"), "{err}");
    }
}
