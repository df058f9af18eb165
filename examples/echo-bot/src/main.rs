//! The main demo: an Official Account bot on axum.
//!
//! ```text
//! cargo run -p echo-bot
//! ```
//!
//! It serves `/wechat` on `ADDR` (default `127.0.0.1:3000`) in plaintext mode, or in safe mode
//! (安全模式) when `WECHAT_ENCODING_AES_KEY` and `WECHAT_APPID` are set; `WECHAT_TOKEN` is the
//! console's token; with `REDIS_URL` its retry record is shared in Redis with other instances. Without `WECHAT_TOKEN` it uses the public demo token, and then starts only on
//! a loopback `ADDR` or with `--demo`. It serves through `wechat_tower::serve::Server`, which
//! bounds slow and idle clients and the number of connections. See the package's README for what
//! it answers and how to talk to it.

use std::process::ExitCode;

use axum::Router;
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
            eprintln!("echo-bot: {err}");
            return ExitCode::FAILURE;
        }
    };
    // With REDIS_URL, the retry record is shared with every echo-bot on the same Redis.
    let store = match echo_bot::connect_store(&settings).await {
        Ok(store) => store,
        Err(err) => {
            eprintln!("echo-bot: {err}");
            return ExitCode::FAILURE;
        }
    };
    let router = echo_bot::router_with_store(&settings, store);
    let bot = WechatLayer::new(settings.config.clone()).layer(router);
    let app = Router::new().route_service("/wechat", bot);
    let listener = match tokio::net::TcpListener::bind(settings.addr).await {
        Ok(listener) => listener,
        Err(err) => {
            eprintln!("echo-bot: cannot listen on {}: {err}", settings.addr);
            return ExitCode::FAILURE;
        }
    };
    println!("{}", settings.banner());
    let shutdown = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    match Server::new(listener)
        .serve_with_shutdown(app, shutdown)
        .await
    {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("echo-bot: {err}");
            ExitCode::FAILURE
        }
    }
}
