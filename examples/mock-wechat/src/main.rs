//! WeChat's server API mocked on loopback: `wechat_tower::test_util::mock::MockWechat` as a
//! process, for running the client examples without an account.
//!
//! ```text
//! cargo run -p mock-wechat
//! ```
//!
//! Settings (environment): `ADDR` (default `127.0.0.1:3100`, beside an example on 3000),
//! `WECHAT_APPID` and `WECHAT_APPSECRET` (the app it accepts; defaults `wxmock0000000001` and
//! `mock-secret`), `CONTROL_ADDR` (default `127.0.0.1:3101`, loopback only). On Ctrl-C it prints
//! how often each endpoint was called.
//!
//! The control address takes one command per `POST /command` (the body), so that a script or a
//! README can make WeChat fail on purpose, as `MockWechat` does in tests:
//!
//! ```text
//! curl -s 127.0.0.1:3101/command -d "fail /wxa/msg_sec_check 45009"   # the next call answers 45009
//! curl -s 127.0.0.1:3101/command -d "revoke-tokens"                    # every token answers 40001
//! ```

use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;

use axum::routing::post;
use wechat_tower::client::PublishStatus;
use wechat_tower::test_util::mock::{DEFAULT_USERS, ENDPOINTS, MockWechat};

const COMMANDS: &str = "commands: fail <path> <errcode> [times] | publish-fail <publish_status> [<failed article>...] | revoke-tokens | calls";

/// The most a control request may carry: one command line.
const MAX_COMMAND_BYTES: usize = 1024;

/// Runs one command line of the control address; what it answers.
fn run(wechat: &MockWechat, line: &str) -> String {
    let words: Vec<&str> = line.split_whitespace().collect();
    match words.as_slice() {
        ["fail", path, errcode, rest @ ..] if rest.len() <= 1 => {
            if !ENDPOINTS.iter().any(|(known, _, _)| known == path) {
                return format!("fail: no endpoint {path} (the paths are those of `calls`)\n");
            }
            let (Ok(errcode), Ok(times)) = (
                errcode.parse::<i64>(),
                rest.first().map_or(Ok(1), |t| t.parse::<usize>()),
            ) else {
                return format!("fail: errcode and times are numbers; {COMMANDS}\n");
            };
            wechat.fail_next(path, times, errcode);
            format!("the next {times} call(s) of {path} answer {errcode}\n")
        }
        ["publish-fail", status, failed @ ..] => {
            let Ok(status) = status.parse::<i64>() else {
                return format!("publish-fail: publish_status is a number; {COMMANDS}\n");
            };
            let Ok(failed) = failed
                .iter()
                .map(|i| i.parse::<u32>())
                .collect::<Result<Vec<_>, _>>()
            else {
                return format!("publish-fail: failed articles are numbers from 1; {COMMANDS}\n");
            };
            let status = PublishStatus::from_code(status);
            wechat.fail_next_publish(status, &failed);
            format!(
                "the next publishing job ends {status:?} (publish_status {}), failed articles {failed:?}\n",
                status.code()
            )
        }
        ["revoke-tokens"] => {
            wechat.revoke_all_tokens();
            "every access token issued so far now answers 40001\n".to_owned()
        }
        ["calls"] => {
            let mut out = String::new();
            for (path, _, _) in ENDPOINTS {
                let calls = wechat.calls(path);
                if calls > 0 {
                    out.push_str(&format!("{calls:>6}  {path}\n"));
                }
            }
            if out.is_empty() {
                out.push_str("no calls yet\n");
            }
            out
        }
        _ => format!("{COMMANDS}\n"),
    }
}

/// Serves `POST /command` (the body: one command line) on `listener`.
async fn serve_control(listener: tokio::net::TcpListener, wechat: Arc<MockWechat>) {
    let app = axum::Router::new()
        .route(
            "/command",
            post(move |body: axum::body::Bytes| {
                let wechat = Arc::clone(&wechat);
                async move { run(&wechat, &String::from_utf8_lossy(&body)) }
            }),
        )
        .layer(axum::extract::DefaultBodyLimit::max(MAX_COMMAND_BYTES));
    if let Err(err) = axum::serve(listener, app).await {
        eprintln!("mock-wechat: control address: {err}");
    }
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
    let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    let addr: SocketAddr = match var("ADDR").as_deref().unwrap_or("127.0.0.1:3100").parse() {
        Ok(addr) => addr,
        Err(err) => {
            eprintln!("mock-wechat: ADDR: {err}");
            return ExitCode::FAILURE;
        }
    };
    let control: SocketAddr = match var("CONTROL_ADDR")
        .as_deref()
        .unwrap_or("127.0.0.1:3101")
        .parse()
    {
        Ok(control) => control,
        Err(err) => {
            eprintln!("mock-wechat: CONTROL_ADDR: {err}");
            return ExitCode::FAILURE;
        }
    };
    if !control.ip().is_loopback() {
        // Anyone reaching it could make the mock fail or revoke tokens.
        eprintln!("mock-wechat: CONTROL_ADDR must be a loopback address, not {control}");
        return ExitCode::FAILURE;
    }
    let control = match tokio::net::TcpListener::bind(control).await {
        Ok(listener) => listener,
        Err(err) => {
            eprintln!("mock-wechat: cannot listen on {control} (CONTROL_ADDR): {err}");
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
    let wechat = Arc::new(wechat);
    let control_addr = control
        .local_addr()
        .map_or_else(|_| "?".to_owned(), |a| a.to_string());
    tokio::spawn(serve_control(control, Arc::clone(&wechat)));
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
    println!("control: curl -s {control_addr}/command -d '<command>'; {COMMANDS}");
    let _ = tokio::signal::ctrl_c().await;
    print!("\ncalls:\n{}", run(&wechat, "calls"));
    ExitCode::SUCCESS
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn commands_make_the_mock_fail_on_purpose() {
        let wechat = MockWechat::start().await.unwrap();
        assert_eq!(run(&wechat, "calls"), "no calls yet\n");
        assert!(run(&wechat, "fail /wxa/msg_sec_check 45009 2").contains("next 2 call(s)"));
        assert!(run(&wechat, "fail /nowhere 1").starts_with("fail: no endpoint /nowhere"));
        assert!(run(&wechat, "fail /wxa/msg_sec_check x").starts_with("fail: errcode"));
        assert!(run(&wechat, "publish-fail 4 2").contains("ReviewRefused (publish_status 4)"));
        assert!(run(&wechat, "publish-fail 4 0x").starts_with("publish-fail: failed"));
        assert!(run(&wechat, "revoke-tokens").contains("40001"));
        assert!(run(&wechat, "bogus").starts_with("commands:"));

        let client =
            wechat_tower::client::WechatClient::builder(wechat.app_id(), wechat.app_secret())
                .api_base(wechat.base_url())
                .build()
                .unwrap();
        let check = wechat_tower::client::MsgSecCheck::new(
            "oUser1",
            wechat_tower::client::SecScene::Comment,
            "hello",
        );
        for _ in 0..2 {
            let err = client.security().msg_sec_check(&check).await.unwrap_err();
            assert_eq!(err.errcode(), Some(45009));
        }
        client.security().msg_sec_check(&check).await.unwrap();
        assert!(run(&wechat, "calls").contains("     3  /wxa/msg_sec_check"));
    }
}
