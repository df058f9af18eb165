//! A Mini Program (小程序) backend on axum: login with `wx.login()` codes, session tokens of its
//! own (自定义登录态), encrypted user data (开放数据) and phone numbers.
//!
//! ```text
//! WECHAT_APPID=wx… WECHAT_APPSECRET=… cargo run -p miniprogram-login
//! ```
//!
//! The Mini Program calls `wx.login()` and posts the code to `POST /login`; the server exchanges
//! it at WeChat (`jscode2session`), keeps the `session_key` and answers a token of its own,
//! which the Mini Program sends back as `Authorization: Bearer <token>`:
//!
//! - `POST /login {"code": …}` → `{"token": …, "openid": …}`;
//! - `GET /me` → `{"openid": …, "unionid": …}`;
//! - `POST /userinfo {"encryptedData": …, "iv": …}` → the decrypted user data as WeChat wrote
//!   it, its watermark checked against `WECHAT_APPID` (`rawData` + `signature` checked too when
//!   sent);
//! - `POST /phone {"code": …}` (the `getPhoneNumber` button's code) → `{"phoneNumber": …, …}`;
//! - `POST /logout` → the token no longer works.
//!
//! Errors are `{"errcode": …, "errmsg": …}` with 401 for a missing, invalid or expired token and
//! 400 for bad input; the codes are listed in the package's library docs.
//!
//! Settings (environment): `WECHAT_APPID`, `WECHAT_APPSECRET` (required), `WECHAT_API_BASE`
//! (default `https://api.weixin.qq.com`; a mock WeChat such as `cargo run -p mock-wechat` for
//! local runs), `REDIS_URL` (sessions and the access token shared by every process; unset
//! means memory), `ADDR` (default `127.0.0.1:3000`). The mock's published AppSecret
//! (`mock-secret`) is accepted only in demo mode: a loopback `ADDR`, or `--demo`. The end-to-end
//! tests (`tests/tests/miniprogram.rs`) run this app against `MockWechat` and a real Redis.
//!
//! It serves through `wechat_tower::serve::Server`, which bounds slow and idle clients and the
//! number of connections.

use std::net::SocketAddr;
use std::process::ExitCode;

use miniprogram_login::{Settings, router};
use wechat_tower::core::secret::AppSecret;
use wechat_tower::serve::Server;
use wechat_tower::signature::constant_time_eq;

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
    let settings = match Settings::from_env().and_then(|settings| {
        demo_rule(settings.addr, &settings.secret, std::env::args().skip(1)).map(|()| settings)
    }) {
        Ok(settings) => settings,
        Err(err) => {
            eprintln!("miniprogram-login: {err}");
            return ExitCode::FAILURE;
        }
    };
    let app = match settings.app().await {
        Ok(app) => app,
        Err(err) => {
            eprintln!("miniprogram-login: {err}");
            return ExitCode::FAILURE;
        }
    };
    let listener = match tokio::net::TcpListener::bind(settings.addr).await {
        Ok(listener) => listener,
        Err(err) => {
            eprintln!(
                "miniprogram-login: cannot listen on {}: {err}",
                settings.addr
            );
            return ExitCode::FAILURE;
        }
    };
    println!(
        "miniprogram-login on http://{} for {}, WeChat API {}, sessions in {}",
        settings.addr,
        settings.appid,
        settings
            .api_base
            .as_deref()
            .unwrap_or(wechat_tower::client::DEFAULT_API_BASE),
        if settings.redis_url.is_some() {
            "Redis"
        } else {
            "memory"
        },
    );
    let shutdown = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    match Server::new(listener)
        .serve_with_shutdown(router(app), shutdown)
        .await
    {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("miniprogram-login: {err}");
            ExitCode::FAILURE
        }
    }
}

/// Demo mode: `addr` is a loopback address (only this machine can connect), or `--demo` was
/// passed.
fn demo_mode(addr: SocketAddr, demo_flag: bool) -> bool {
    demo_flag || addr.ip().to_canonical().is_loopback()
}

/// The demo rule (issue 16): public demo settings (the mock's AppSecret) only in [`demo_mode`].
/// `args` is the command line after the program's name; `--demo` is its only option.
///
/// It lives here rather than in the library's `Settings` so that the library's users (the
/// end-to-end tests) are unaffected.
fn demo_rule(
    addr: SocketAddr,
    secret: &AppSecret,
    args: impl IntoIterator<Item = String>,
) -> Result<(), String> {
    let mut demo_flag = false;
    for arg in args {
        if arg == "--demo" {
            demo_flag = true;
        } else {
            return Err(format!(
                "unknown argument `{arg}`: the only option is --demo (settings come from the \
                 environment)"
            ));
        }
    }
    let mock_secret = constant_time_eq(secret.expose().as_bytes(), MOCK_SECRET.as_bytes());
    if mock_secret && !demo_mode(addr, demo_flag) {
        return Err(format!(
            "WECHAT_APPSECRET is the mock's public AppSecret and ADDR {addr} is not a loopback \
             address: set WECHAT_APPID, WECHAT_APPSECRET (and WECHAT_API_BASE) to your Mini \
             Program's, or pass --demo to serve the demo settings anyway"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The rule for these settings and arguments.
    fn rule(addr: &str, secret: &str, args: &[&str]) -> Result<(), String> {
        demo_rule(
            addr.parse().unwrap(),
            &AppSecret::new(secret.to_owned()),
            args.iter().map(|a| (*a).to_owned()),
        )
    }

    #[test]
    fn issue16_the_mock_secret_is_refused_on_a_public_address() {
        let err = rule("0.0.0.0:3000", MOCK_SECRET, &[]).unwrap_err();
        assert!(err.contains("WECHAT_APPSECRET"), "{err}");
        assert!(err.contains("--demo"), "{err}");
    }

    #[test]
    fn issue16_the_mock_secret_is_accepted_on_loopback_or_with_demo() {
        rule("127.0.0.1:3000", MOCK_SECRET, &[]).unwrap();
        rule("[::1]:3000", MOCK_SECRET, &[]).unwrap();
        rule("0.0.0.0:3000", MOCK_SECRET, &["--demo"]).unwrap();
    }

    #[test]
    fn a_real_secret_serves_any_address() {
        rule("0.0.0.0:3000", "a-real-secret", &[]).unwrap();
        let err = rule("0.0.0.0:3000", "x", &["--dmeo"]).unwrap_err();
        assert!(err.contains("--dmeo"), "{err}");
    }
}
