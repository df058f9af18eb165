//! The pay demo on axum. Against the mock (two terminals):
//!
//! ```text
//! cargo run -p pay-demo --bin mock-pay                                   # WeChat Pay on 127.0.0.1:3001
//! WECHAT_PAY_API_BASE=http://127.0.0.1:3001 cargo run -p pay-demo       # the shop on 127.0.0.1:3000
//! ```
//!
//! Against WeChat Pay: `WECHAT_APPID`, `WECHAT_PAY_MCH_ID`, `WECHAT_PAY_KEY`,
//! `WECHAT_PAY_SIGN_TYPE`, `PUBLIC_URL` (the HTTPS address WeChat Pay sends notifications to);
//! see the README.

use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    let settings = match pay_demo::Settings::from_env() {
        Ok(settings) => settings,
        Err(err) => {
            eprintln!("pay-demo: {err}");
            return ExitCode::FAILURE;
        }
    };
    let app = match pay_demo::app(&settings).await {
        Ok(app) => app,
        Err(err) => {
            eprintln!("pay-demo: {err}");
            return ExitCode::FAILURE;
        }
    };
    let listener = match tokio::net::TcpListener::bind(settings.addr).await {
        Ok(listener) => listener,
        Err(err) => {
            eprintln!("pay-demo: cannot listen on {}: {err}", settings.addr);
            return ExitCode::FAILURE;
        }
    };
    println!(
        "pay-demo on http://{} (notify URL {}), merchant {} for {}, WeChat Pay API {}, notification records in {}",
        settings.addr,
        settings.notify_url(),
        settings.mch_id,
        settings.appid,
        settings.api_base,
        if settings.redis_url.is_some() {
            "Redis"
        } else {
            "memory"
        },
    );
    let shutdown = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    match axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
    {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("pay-demo: {err}");
            ExitCode::FAILURE
        }
    }
}
