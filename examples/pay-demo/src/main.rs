//! The pay demo on axum. Against the mock (two terminals):
//!
//! ```text
//! cargo run -p pay-demo --bin mock-pay                                   # WeChat Pay on 127.0.0.1:3001
//! WECHAT_PAY_API_BASE=http://127.0.0.1:3001 cargo run -p pay-demo       # the shop on 127.0.0.1:3000
//! ```
//!
//! Against WeChat Pay: `WECHAT_APPID`, `WECHAT_PAY_MCH_ID`, `WECHAT_PAY_KEY`,
//! `WECHAT_PAY_SIGN_TYPE`, `PUBLIC_URL` (the HTTPS address WeChat Pay sends notifications to);
//! see the README. With the mock merchant's public values it serves on loopback only, unless
//! given `--demo`.

use std::fmt::Write as _;
use std::process::ExitCode;

use tracing::field::{Field, Visit};
use tracing::{Event, Level, Metadata, span};
use wechat_tower::serve::Server;

const USAGE: &str = "usage: pay-demo [--demo]\n\n  --demo  serve with the mock merchant's public values on a non-loopback address\n\nSettings come from the environment: see README.md.";

/// Log lines on standard error, INFO and above (`WARN pay_demo: payment not applied;
/// answering FAIL order="…" err=…`): the smallest `tracing` subscriber that shows what the shop
/// refused and why. Control characters are escaped, so a newline in a value cannot start a
/// forged log line.
struct StderrLog;

impl tracing::Subscriber for StderrLog {
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        *metadata.level() <= Level::INFO
    }

    fn new_span(&self, _: &span::Attributes<'_>) -> span::Id {
        span::Id::from_u64(1)
    }

    fn record(&self, _: &span::Id, _: &span::Record<'_>) {}

    fn record_follows_from(&self, _: &span::Id, _: &span::Id) {}

    fn event(&self, event: &Event<'_>) {
        let metadata = event.metadata();
        let mut line = format!("{} {}:", metadata.level(), metadata.target());
        event.record(&mut Line(&mut line));
        // One event, one line: control characters (a newline in an error text) are escaped.
        let mut safe = String::with_capacity(line.len());
        for c in line.chars() {
            if c.is_control() {
                safe.extend(c.escape_default());
            } else {
                safe.push(c);
            }
        }
        eprintln!("{safe}");
    }

    fn enter(&self, _: &span::Id) {}

    fn exit(&self, _: &span::Id) {}
}

struct Line<'a>(&'a mut String);

impl Visit for Line<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        let _ = if field.name() == "message" {
            write!(self.0, " {value:?}")
        } else {
            write!(self.0, " {}={value:?}", field.name())
        };
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let _ = tracing::subscriber::set_global_default(StderrLog);
    let mut demo = false;
    for arg in std::env::args().skip(1) {
        match arg.as_str() {
            "--demo" => demo = true,
            "-h" | "--help" => {
                println!("{USAGE}");
                return ExitCode::SUCCESS;
            }
            _ => {
                eprintln!("pay-demo: unknown argument {arg:?}\n{USAGE}");
                return ExitCode::from(2);
            }
        }
    }
    let settings = match pay_demo::Settings::from_env() {
        Ok(settings) => settings,
        Err(err) => {
            eprintln!("pay-demo: {err}");
            return ExitCode::FAILURE;
        }
    };
    if let Err(err) = settings.check_demo_mode(demo) {
        eprintln!("pay-demo: refusing to start: {err}");
        return ExitCode::FAILURE;
    }
    let public_values = settings.public_values();
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
    let addr = listener.local_addr().unwrap_or(settings.addr);
    if !public_values.is_empty() {
        eprintln!(
            "pay-demo: DEMO MODE: {} hold the mock merchant's public values; anyone who reaches this shop can forge payments. Never take real orders like this.",
            public_values.join(", ")
        );
    }
    println!(
        "pay-demo on http://{addr} (notify URL {}), merchant {} for {}, WeChat Pay API {}, top-ups {}..={} fen, notification records in {}",
        settings.notify_url(),
        settings.mch_id,
        settings.appid,
        settings.api_base,
        settings.topup_min_fee,
        settings.topup_max_fee,
        if settings.redis_url.is_some() {
            "Redis"
        } else {
            "memory"
        },
    );
    let shutdown = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    // Timeouts and a connection cap: a slow or idle client cannot hold the shop (defaults:
    // 10 s to send a request head, 30 s per request, 60 s idle, 10 000 connections).
    match Server::new(listener)
        .serve_with_shutdown(app, shutdown)
        .await
    {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("pay-demo: {err}");
            ExitCode::FAILURE
        }
    }
}
