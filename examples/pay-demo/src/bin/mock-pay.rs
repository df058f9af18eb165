//! WeChat Pay mocked on loopback (wechat-tower's `MockPay` as a process), to try `pay-demo`
//! without a merchant account.
//!
//! ```text
//! cargo run -p pay-demo --bin mock-pay       # ADDR=127.0.0.1:3001 by default
//! ```
//!
//! It serves unified order, order query and close order at its address, with the merchant
//! `pay-demo` uses by default. Then type, on its standard input:
//!
//! - `pay <out_trade_no>`: the user pays; the mock sends the signed v2 notification to the
//!   order's `notify_url` and prints the answer;
//! - `refund <out_trade_no> <fen>`: a refund notification (`req_info` encrypted);
//! - `orders`: the orders it knows.

use std::net::SocketAddr;
use std::process::ExitCode;

use tokio::io::{AsyncBufReadExt, BufReader};
use wechat_tower::test_util::mock_pay::MockPay;

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
    let mock = match MockPay::builder().addr(addr).start().await {
        Ok(mock) => mock,
        Err(err) => {
            eprintln!("mock-pay: cannot listen on {addr}: {err}");
            return ExitCode::FAILURE;
        }
    };
    println!(
        "mock WeChat Pay on {} (merchant {} for {}); commands: pay <out_trade_no> | refund <out_trade_no> <fen> | orders",
        mock.base_url(),
        mock.mch_id(),
        mock.app_id()
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
                Some(order) => match mock.send_v2_notify(&order.notify_url, no).await {
                    Ok(answer) => println!(
                        "{} answered {}: {}",
                        order.notify_url, answer.status, answer.body
                    ),
                    Err(err) => println!("cannot notify {}: {err}", order.notify_url),
                },
                None => println!("no order {no}"),
            },
            ["refund", no, fen] => match (mock.order(no), fen.parse::<u64>()) {
                (Some(order), Ok(fen)) => {
                    let refund_no = format!("R{no}");
                    match mock
                        .send_refund_notify(&order.notify_url, no, &refund_no, fen)
                        .await
                    {
                        Ok(answer) => println!(
                            "{} answered {}: {}",
                            order.notify_url, answer.status, answer.body
                        ),
                        Err(err) => println!("cannot notify {}: {err}", order.notify_url),
                    }
                }
                _ => println!("usage: refund <paid out_trade_no> <fen>"),
            },
            ["orders"] => {
                for o in mock.orders() {
                    println!(
                        "{} {} fen {} {}",
                        o.out_trade_no,
                        o.total_fee,
                        o.state.as_str(),
                        o.transaction_id.unwrap_or_default()
                    );
                }
            }
            [] => {}
            _ => println!("commands: pay <out_trade_no> | refund <out_trade_no> <fen> | orders"),
        }
    }
}
