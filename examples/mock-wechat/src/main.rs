//! WeChat's server API mocked on loopback: `wechat_tower::test_util::mock::MockWechat` as a
//! process, for running the client examples without an account.
//!
//! ```text
//! cargo run -p mock-wechat
//! ```
//!
//! Settings (environment): `ADDR` (default `127.0.0.1:3100`, beside an example on 3000),
//! `WECHAT_APPID` and `WECHAT_APPSECRET` (the app it accepts; defaults `wxmock0000000001` and
//! `mock-secret`). On Ctrl-C it prints how often each endpoint was called.

use std::net::SocketAddr;
use std::process::ExitCode;

use wechat_tower::test_util::mock::{DEFAULT_USERS, ENDPOINTS, MockWechat};

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
    let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    let addr: SocketAddr = match var("ADDR").as_deref().unwrap_or("127.0.0.1:3100").parse() {
        Ok(addr) => addr,
        Err(err) => {
            eprintln!("mock-wechat: ADDR: {err}");
            return ExitCode::FAILURE;
        }
    };
    let mut builder = MockWechat::builder().addr(addr);
    if let (Some(app_id), Some(secret)) = (var("WECHAT_APPID"), var("WECHAT_APPSECRET")) {
        builder = builder.app(app_id, secret);
    }
    let wechat = match builder.start().await {
        Ok(wechat) => wechat,
        Err(err) => {
            eprintln!("mock-wechat: cannot listen on {addr}: {err}");
            return ExitCode::FAILURE;
        }
    };
    println!("mock WeChat API on {}", wechat.base_url());
    println!("use it with:");
    println!("  export WECHAT_APPID={}", wechat.app_id());
    println!("  export WECHAT_APPSECRET={}", wechat.app_secret());
    println!("  export WECHAT_API_BASE={}", wechat.base_url());
    println!(
        "  export WECHAT_OPEN_BASE={}   # oauth-web: the authorize page",
        wechat.base_url()
    );
    println!(
        "followers: {} (wechat-sim sends as {} by default); the authorize page logs in oMockUser",
        DEFAULT_USERS.join(", "),
        DEFAULT_USERS[0]
    );
    let _ = tokio::signal::ctrl_c().await;
    println!("\ncalls:");
    for (path, _, _) in ENDPOINTS {
        let calls = wechat.calls(path);
        if calls > 0 {
            println!("  {calls:>6}  {path}");
        }
    }
    ExitCode::SUCCESS
}
