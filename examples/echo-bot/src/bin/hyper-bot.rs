//! The echo bot without axum: `WechatLayer` around the router is a tower service with
//! `Error = Infallible` that answers every path, which `wechat_tower::serve::Server` (hyper 1's
//! HTTP/1.1 server with timeouts and a connection cap) serves as it is.
//!
//! ```text
//! cargo run -p echo-bot --bin hyper-bot
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
    // What the library logs (a handler's `Err`, a refused request) goes to stderr; without a
    // subscriber it is lost. `RUST_LOG` overrides the `info` default.
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
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
