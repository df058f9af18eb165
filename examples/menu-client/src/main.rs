//! Creates an Official Account's custom menu from a file of WeChat's own menu JSON.
//!
//! ```text
//! WECHAT_APPID=wx… WECHAT_APPSECRET=… cargo run -p menu-client -- menu.json
//! cargo run -p menu-client -- --show      # prints the current menu
//! cargo run -p menu-client -- --delete    # deletes it
//! ```
//!
//! Settings (environment): `WECHAT_APPID`, `WECHAT_APPSECRET` (required), `WECHAT_API_BASE`
//! (default `https://api.weixin.qq.com`; e.g. `http://127.0.0.1:3100` for `mock-wechat`),
//! `REDIS_URL` (the token store your servers share; unset means a token of this process's own,
//! fetched with `stable_token`, which does not disturb theirs).

use std::process::ExitCode;
use std::sync::Arc;

use serde_json::Value;
use wechat_tower::client::{ClientError, Menu, WechatClient};
use wechat_tower::store::RedisStore;

const USAGE: &str = "usage: menu-client <menu.json> | --show | --delete";

enum Command {
    Create(String),
    Show,
    Delete,
}

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
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("menu-client: {message}");
            ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<(), String> {
    let command = match std::env::args().nth(1).as_deref() {
        None | Some("-h" | "--help") => return Err(USAGE.to_owned()),
        Some("--show") => Command::Show,
        Some("--delete") => Command::Delete,
        Some(path) => Command::Create(path.to_owned()),
    };
    let client = client().await?;
    let answer = match command {
        Command::Create(path) => {
            let json = std::fs::read_to_string(&path).map_err(|e| format!("{path}: {e}"))?;
            // Reading it as a `Menu` checks every button before WeChat sees it.
            let menu: Menu = serde_json::from_str(&json).map_err(|e| format!("{path}: {e}"))?;
            eprintln!(
                "creating a menu of {} buttons from {path} for {}",
                menu.button.len(),
                client.app_id()
            );
            client
                .post_json::<_, Value>("/cgi-bin/menu/create", &[], &menu)
                .await
        }
        Command::Show => client.get_json::<Value>("/cgi-bin/menu/get", &[]).await,
        Command::Delete => client.get_json::<Value>("/cgi-bin/menu/delete", &[]).await,
    };
    match answer {
        Ok(answer) => {
            println!(
                "{}",
                serde_json::to_string_pretty(&answer).unwrap_or_default()
            );
            Ok(())
        }
        Err(ClientError::Wechat(err)) => {
            // WeChat's answer as it wrote it, then what the code means.
            println!(
                "{}",
                serde_json::json!({ "errcode": err.errcode, "errmsg": err.errmsg })
            );
            Err(err.to_string())
        }
        Err(err) => Err(err.to_string()),
    }
}

async fn client() -> Result<WechatClient, String> {
    let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    let app_id = var("WECHAT_APPID").ok_or("WECHAT_APPID is not set")?;
    let secret = var("WECHAT_APPSECRET").ok_or("WECHAT_APPSECRET is not set")?;
    let mut builder = WechatClient::builder(app_id, secret);
    if let Some(base) = var("WECHAT_API_BASE") {
        builder = builder.api_base(base);
    }
    if let Some(url) = var("REDIS_URL") {
        let store = RedisStore::connect(&url)
            .await
            .map_err(|e| format!("REDIS_URL: {e}"))?;
        builder = builder.store(Arc::new(store));
    }
    builder.build().map_err(|e| e.to_string())
}
