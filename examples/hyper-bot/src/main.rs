//! The echo bot without axum: `WechatLayer` around the router is a tower service with
//! `Error = Infallible` that answers every path, which `wechat_tower::serve::Server` (hyper 1's
//! HTTP/1.1 server with timeouts and a connection cap) serves as it is.
//!
//! ```text
//! cargo run -p hyper-bot
//! ```
//!
//! Same settings as `echo-bot` (`ADDR`, `WECHAT_TOKEN`, `WECHAT_APPID`,
//! `WECHAT_ENCODING_AES_KEY`, ..., and `--demo`), with the same rule: the public demo token only
//! on a loopback `ADDR` or with `--demo`. Every path answers as the WeChat endpoint.

use std::process::ExitCode;

use echo_bot::Settings;
use tower::Layer;
use wechat_tower::WechatLayer;
use wechat_tower::serve::Server;

#[tokio::main]
async fn main() -> ExitCode {
    let settings = match Settings::from_env() {
        Ok(settings) => settings,
        Err(err) => {
            eprintln!("hyper-bot: {err}");
            return ExitCode::FAILURE;
        }
    };
    let bot = WechatLayer::new(settings.config.clone()).layer(echo_bot::router(&settings));
    let listener = match tokio::net::TcpListener::bind(settings.addr).await {
        Ok(listener) => listener,
        Err(err) => {
            eprintln!("hyper-bot: cannot listen on {}: {err}", settings.addr);
            return ExitCode::FAILURE;
        }
    };
    println!("{}", settings.banner().replace("echo-bot", "hyper-bot"));
    let shutdown = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    match Server::new(listener)
        .serve_with_shutdown(bot, shutdown)
        .await
    {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("hyper-bot: {err}");
            ExitCode::FAILURE
        }
    }
}
