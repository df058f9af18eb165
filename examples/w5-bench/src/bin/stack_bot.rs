//! `stack-bot`: the framework's inbound stack alone on the same hyper 1 accept loop as
//! `bare-hyper` and `raw-pipeline`: [`WechatLayer`] (signature, safe mode, XML) around a
//! `service_fn` that echoes text, with no axum and no router. Between `raw-pipeline` and
//! `echo-bot` (axum + router) it tells which part of the cost is the layers'.
//!
//! Settings as echo-bot's: `WECHAT_TOKEN`, `WECHAT_ENCODING_AES_KEY` + `WECHAT_APPID` (safe mode;
//! plaintext when the key is unset), `WECHAT_TIMESTAMP_WINDOW` (seconds, default 300, 0 = off),
//! `ADDR`. There is no retry cache (that is the router's), so `WECHAT_DEDUP` is ignored.
//!
//! ```text
//! WECHAT_TOKEN=test_token WECHAT_ENCODING_AES_KEY=abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG \
//! WECHAT_APPID=wx0123456789abcdef WECHAT_TIMESTAMP_WINDOW=0 ADDR=127.0.0.1:3003 \
//!     cargo run --release -p w5-bench --bin stack-bot
//! ```

use std::convert::Infallible;

use hyper_util::service::TowerToHyperService;
use tower::{Layer, service_fn};
use w5_bench::{BoxError, addr_from_env, env_or, serve};
use wechat_tower::{Message, Reply, WechatConfig, WechatLayer};

/// The configuration from the environment.
fn config_from_env() -> Result<WechatConfig, BoxError> {
    let token = env_or("WECHAT_TOKEN", "wechat-demo-token");
    let key = env_or("WECHAT_ENCODING_AES_KEY", "");
    let config = if key.is_empty() {
        WechatConfig::plaintext(token)
    } else {
        let appid = env_or("WECHAT_APPID", "");
        if appid.is_empty() {
            return Err("WECHAT_APPID is required with WECHAT_ENCODING_AES_KEY".into());
        }
        WechatConfig::safe(&token, &key, &appid)
            .map_err(|e| format!("WECHAT_ENCODING_AES_KEY: {e}"))?
    };
    let window = env_or("WECHAT_TIMESTAMP_WINDOW", "300");
    let window = window
        .parse()
        .map_err(|e| format!("WECHAT_TIMESTAMP_WINDOW={window}: {e}"))?;
    Ok(config.timestamp_window_secs(window))
}

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let config = config_from_env()?;
    let addr = addr_from_env()?;
    let echo = service_fn(|msg: Message| async move {
        Ok::<_, Infallible>(match msg {
            Message::Text(text) => Reply::text(text.content),
            _ => Reply::Success,
        })
    });
    let stack = WechatLayer::new(config).layer(echo);
    serve("stack-bot", addr, TowerToHyperService::new(stack)).await?;
    Ok(())
}
