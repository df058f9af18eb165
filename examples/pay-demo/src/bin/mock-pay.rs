//! WeChat Pay mocked on loopback (wechat-tower's `MockPay` as a process), to try `pay-demo`
//! without a merchant account.
//!
//! ```text
//! cargo run -p pay-demo --bin mock-pay       # ADDR=127.0.0.1:3001 by default
//! ```
//!
//! It serves the v2 API (unified order, order query, close order, refunds) and the v3 API
//! (`/v3/…`, every request's signature checked, every answer signed) at its address, with the
//! merchant `pay-demo` uses by default; it prints the settings of `pay-demo`'s v3 mode. v3
//! answers and notifications are signed with the WeChat Pay public key, or with platform
//! certificates when `MOCK_PAY_SIGNING=certificate`. Then type, on its standard input:
//!
//! - `pay <out_trade_no>`: the user pays; the mock sends the signed notification (v2 or v3, as
//!   the order was placed) to the order's `notify_url` and prints the answer;
//! - `refund <out_trade_no> <fen>`: a v2 refund notification (`req_info` encrypted);
//! - `refund <out_refund_no>`: the v3 refund notification of a refund the shop asked for;
//! - `rotate`: the platform certificate rotates (certificate mode);
//! - `orders`, `refunds`: the orders and refunds it knows.
//!
//! The same commands work from another shell, as the body of a POST to its control address
//! (`CONTROL_ADDR`, default `127.0.0.1:3002`, loopback only), which answers what the command
//! printed:
//!
//! ```text
//! curl -s 127.0.0.1:3002/command -d "pay $ID"
//! ```

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;

use axum::routing::post;
use tokio::io::{AsyncBufReadExt, BufReader};
use wechat_tower::test_util::mock_pay::{MockPay, NotifyAnswer, SigningMode};

const COMMANDS: &str = "commands: pay <out_trade_no> | refund <out_trade_no> <fen> | refund <out_refund_no> | rotate | orders | refunds";

/// The most a control request may carry: one command line.
const MAX_COMMAND_BYTES: usize = 1024;

fn answer_line(url: &str, answer: std::io::Result<NotifyAnswer>) -> String {
    match answer {
        Ok(answer) => format!("{url} answered {}: {}\n", answer.status, answer.body),
        Err(err) => format!("cannot notify {url}: {err}\n"),
    }
}

/// Runs one command line, from standard input or the control address; what it prints.
async fn run(mock: &MockPay, line: &str) -> String {
    let words: Vec<&str> = line.split_whitespace().collect();
    match words.as_slice() {
        ["pay", no] => match mock.order(no) {
            Some(order) if order.api == "v3" => answer_line(
                &order.notify_url,
                mock.send_v3_notify(&order.notify_url, no).await,
            ),
            Some(order) => answer_line(
                &order.notify_url,
                mock.send_v2_notify(&order.notify_url, no).await,
            ),
            None => format!("no order {no}\n"),
        },
        ["refund", no, fen] => match (mock.order(no), fen.parse::<u64>()) {
            (Some(order), Ok(fen)) => {
                let refund_no = format!("R{no}");
                answer_line(
                    &order.notify_url,
                    mock.send_refund_notify(&order.notify_url, no, &refund_no, fen)
                        .await,
                )
            }
            _ => "usage: refund <paid out_trade_no> <fen>\n".to_owned(),
        },
        ["refund", refund_no] => match mock.refund(refund_no) {
            Some(refund) => {
                let url = refund.notify_url.clone().unwrap_or_else(|| {
                    mock.order(&refund.out_trade_no)
                        .map(|o| o.notify_url)
                        .unwrap_or_default()
                });
                answer_line(
                    &url,
                    mock.send_v3_refund_notify(
                        &url,
                        &refund.out_trade_no,
                        refund_no,
                        refund.refund_fee,
                    )
                    .await,
                )
            }
            None => format!("no refund {refund_no} was asked\n"),
        },
        ["rotate"] => {
            mock.rotate_platform_certificate();
            format!(
                "platform certificate {} signs from now on\n",
                mock.platform_certificate_serial()
            )
        }
        ["orders"] => {
            let mut out = String::new();
            for o in mock.orders() {
                let _ = writeln!(
                    out,
                    "{} {} {} fen {} {}",
                    o.api,
                    o.out_trade_no,
                    o.total_fee,
                    o.state.as_str(),
                    o.transaction_id.unwrap_or_default()
                );
            }
            out
        }
        ["refunds"] => {
            let mut out = String::new();
            for r in mock.refunds() {
                let _ = writeln!(
                    out,
                    "{} {} of {} fen {} {}",
                    r.out_refund_no, r.refund_fee, r.out_trade_no, r.status, r.refund_id
                );
            }
            out
        }
        [] => String::new(),
        _ => format!("{COMMANDS}\n"),
    }
}

/// Serves `POST /command` (the body: one command line) on `listener`, so a script or a README
/// can drive the mock without its terminal.
async fn serve_control(listener: tokio::net::TcpListener, mock: Arc<MockPay>) {
    let app = axum::Router::new()
        .route(
            "/command",
            post(move |body: axum::body::Bytes| {
                let mock = Arc::clone(&mock);
                async move {
                    if body.len() > MAX_COMMAND_BYTES {
                        return format!("at most {MAX_COMMAND_BYTES} bytes\n");
                    }
                    run(&mock, &String::from_utf8_lossy(&body)).await
                }
            }),
        )
        .layer(axum::extract::DefaultBodyLimit::max(MAX_COMMAND_BYTES));
    if let Err(err) = axum::serve(listener, app).await {
        eprintln!("mock-pay: control address: {err}");
    }
}

fn addr_var(name: &str, default: &str) -> Result<SocketAddr, String> {
    std::env::var(name)
        .unwrap_or_else(|_| default.to_owned())
        .parse()
        .map_err(|e| format!("{name}: {e}"))
}

#[tokio::main]
async fn main() -> ExitCode {
    let (addr, control) = match (
        addr_var("ADDR", "127.0.0.1:3001"),
        addr_var("CONTROL_ADDR", "127.0.0.1:3002"),
    ) {
        (Ok(addr), Ok(control)) => (addr, control),
        (Err(err), _) | (_, Err(err)) => {
            eprintln!("mock-pay: {err}");
            return ExitCode::FAILURE;
        }
    };
    if !control.ip().is_loopback() {
        // Anyone reaching it could mark orders paid.
        eprintln!("mock-pay: CONTROL_ADDR must be a loopback address, not {control}");
        return ExitCode::FAILURE;
    }
    let mode = match std::env::var("MOCK_PAY_SIGNING").as_deref() {
        Err(_) | Ok("public-key") => SigningMode::PublicKey,
        Ok("certificate") => SigningMode::PlatformCertificate,
        Ok(other) => {
            eprintln!(
                "mock-pay: MOCK_PAY_SIGNING: {other:?} is neither public-key nor certificate"
            );
            return ExitCode::FAILURE;
        }
    };
    let control = match tokio::net::TcpListener::bind(control).await {
        Ok(listener) => listener,
        Err(err) => {
            eprintln!("mock-pay: cannot listen on {control} (CONTROL_ADDR): {err}");
            return ExitCode::FAILURE;
        }
    };
    let mock = match MockPay::builder()
        .addr(addr)
        .signing_mode(mode)
        .start()
        .await
    {
        Ok(mock) => mock,
        Err(err) => {
            eprintln!("mock-pay: cannot listen on {addr}: {err}");
            return ExitCode::FAILURE;
        }
    };
    let mock = Arc::new(mock);
    println!(
        "mock WeChat Pay on {} (merchant {} for {}); {COMMANDS}; or from another shell: curl -s {}/command -d 'pay <out_trade_no>'",
        mock.base_url(),
        mock.mch_id(),
        mock.app_id(),
        control
            .local_addr()
            .map_or_else(|_| "?".to_owned(), |a| format!("http://{a}")),
    );
    tokio::spawn(serve_control(control, Arc::clone(&mock)));
    let public_key = if mode == SigningMode::PublicKey {
        format!(
            " WECHAT_PAY_PUBLIC_KEY_ID={} WECHAT_PAY_PUBLIC_KEY_FILE=wechat-tower/src/test_util/mock_pay_pub.pem",
            mock.public_key_id()
        )
    } else {
        String::new()
    };
    println!(
        "pay-demo in v3 mode, from the workspace root: WECHAT_PAY_VERSION=v3 WECHAT_PAY_API_BASE={} WECHAT_PAY_API_V3_KEY={} WECHAT_PAY_PRIVATE_KEY_FILE=wechat-tower/src/test_util/keys/merchant_key.pem WECHAT_PAY_CERT_SERIAL={}{public_key} cargo run -p pay-demo",
        mock.base_url(),
        mock.api_v3_key(),
        mock.merchant_serial(),
    );
    let mut lines = BufReader::new(tokio::io::stdin()).lines();
    loop {
        let line = tokio::select! {
            line = lines.next_line() => line,
            _ = tokio::signal::ctrl_c() => return ExitCode::SUCCESS,
        };
        let Ok(Some(line)) = line else {
            // Standard input closed (run in the background): keep serving until Ctrl-C.
            let _ = tokio::signal::ctrl_c().await;
            return ExitCode::SUCCESS;
        };
        print!("{}", run(&mock, &line).await);
    }
}
