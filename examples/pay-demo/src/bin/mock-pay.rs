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

use std::net::SocketAddr;
use std::process::ExitCode;

use tokio::io::{AsyncBufReadExt, BufReader};
use wechat_tower::test_util::mock_pay::{MockPay, NotifyAnswer, SigningMode};

const COMMANDS: &str = "commands: pay <out_trade_no> | refund <out_trade_no> <fen> | refund <out_refund_no> | rotate | orders | refunds";

fn print_answer(url: &str, answer: std::io::Result<NotifyAnswer>) {
    match answer {
        Ok(answer) => println!("{url} answered {}: {}", answer.status, answer.body),
        Err(err) => println!("cannot notify {url}: {err}"),
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let addr: SocketAddr = match std::env::var("ADDR")
        .unwrap_or_else(|_| "127.0.0.1:3001".to_owned())
        .parse()
    {
        Ok(addr) => addr,
        Err(err) => {
            eprintln!("mock-pay: ADDR: {err}");
            return ExitCode::FAILURE;
        }
    };
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
    println!(
        "mock WeChat Pay on {} (merchant {} for {}); {COMMANDS}",
        mock.base_url(),
        mock.mch_id(),
        mock.app_id()
    );
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
            // Standard input closed: keep serving until Ctrl-C.
            let _ = tokio::signal::ctrl_c().await;
            return ExitCode::SUCCESS;
        };
        let words: Vec<&str> = line.split_whitespace().collect();
        match words.as_slice() {
            ["pay", no] => match mock.order(no) {
                Some(order) if order.api == "v3" => {
                    print_answer(
                        &order.notify_url,
                        mock.send_v3_notify(&order.notify_url, no).await,
                    );
                }
                Some(order) => print_answer(
                    &order.notify_url,
                    mock.send_v2_notify(&order.notify_url, no).await,
                ),
                None => println!("no order {no}"),
            },
            ["refund", no, fen] => match (mock.order(no), fen.parse::<u64>()) {
                (Some(order), Ok(fen)) => {
                    let refund_no = format!("R{no}");
                    print_answer(
                        &order.notify_url,
                        mock.send_refund_notify(&order.notify_url, no, &refund_no, fen)
                            .await,
                    );
                }
                _ => println!("usage: refund <paid out_trade_no> <fen>"),
            },
            ["refund", refund_no] => match mock.refund(refund_no) {
                Some(refund) => {
                    let url = refund.notify_url.clone().unwrap_or_else(|| {
                        mock.order(&refund.out_trade_no)
                            .map(|o| o.notify_url)
                            .unwrap_or_default()
                    });
                    print_answer(
                        &url,
                        mock.send_v3_refund_notify(
                            &url,
                            &refund.out_trade_no,
                            refund_no,
                            refund.refund_fee,
                        )
                        .await,
                    );
                }
                None => println!("no refund {refund_no} was asked"),
            },
            ["rotate"] => {
                mock.rotate_platform_certificate();
                println!(
                    "platform certificate {} signs from now on",
                    mock.platform_certificate_serial()
                );
            }
            ["orders"] => {
                for o in mock.orders() {
                    println!(
                        "{} {} {} fen {} {}",
                        o.api,
                        o.out_trade_no,
                        o.total_fee,
                        o.state.as_str(),
                        o.transaction_id.unwrap_or_default()
                    );
                }
            }
            ["refunds"] => {
                for r in mock.refunds() {
                    println!(
                        "{} {} of {} fen {} {}",
                        r.out_refund_no, r.refund_fee, r.out_trade_no, r.status, r.refund_id
                    );
                }
            }
            [] => {}
            _ => println!("{COMMANDS}"),
        }
    }
}
