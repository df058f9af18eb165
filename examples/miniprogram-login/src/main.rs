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
//! means memory), `ADDR` (default `127.0.0.1:3000`). The end-to-end tests
//! (`tests/tests/miniprogram.rs`) run this app against `MockWechat` and a real Redis.

use std::process::ExitCode;

use miniprogram_login::{Settings, router};

#[tokio::main]
async fn main() -> ExitCode {
    let settings = match Settings::from_env() {
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
    match axum::serve(listener, router(app))
        .with_graceful_shutdown(shutdown)
        .await
    {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("miniprogram-login: {err}");
            ExitCode::FAILURE
        }
    }
}
