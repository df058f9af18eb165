//! The echo bot on plain hyper 1 + hyper-util, without axum: `WechatLayer` around the router is a
//! tower service with `Error = Infallible`, which `TowerToHyperService` serves as it is.
//!
//! ```text
//! cargo run -p hyper-bot
//! ```
//!
//! Same settings as `echo-bot` (`ADDR`, `WECHAT_TOKEN`, `WECHAT_APPID`,
//! `WECHAT_ENCODING_AES_KEY`, ...). Every path answers as the WeChat endpoint.

use std::process::ExitCode;

use echo_bot::Settings;
use hyper::server::conn::http1;
use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use tower::Layer;
use wechat_tower::WechatLayer;

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
    loop {
        let (socket, _) = match listener.accept().await {
            Ok(conn) => conn,
            Err(err) => {
                eprintln!("hyper-bot: accept failed: {err}");
                continue;
            }
        };
        let service = TowerToHyperService::new(bot.clone());
        tokio::spawn(async move {
            if let Err(err) = http1::Builder::new()
                .serve_connection(TokioIo::new(socket), service)
                .await
            {
                eprintln!("hyper-bot: connection error: {err}");
            }
        });
    }
}
