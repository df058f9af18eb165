//! The pay demo on axum. Against the mock (two terminals):
//!
//! ```text
//! cargo run -p pay-demo --bin mock-pay                                   # WeChat Pay on 127.0.0.1:3001
//! WECHAT_PAY_API_BASE=http://127.0.0.1:3001 cargo run -p pay-demo       # the shop on 127.0.0.1:3000
//! ```
//!
//! Against WeChat Pay: `WECHAT_APPID`, `WECHAT_PAY_MCH_ID`, `WECHAT_PAY_KEY`,
//! `WECHAT_PAY_SIGN_TYPE`, `PUBLIC_URL` (the HTTPS address WeChat Pay sends notifications to);
//! or, with `WECHAT_PAY_VERSION=v3`, `WECHAT_PAY_API_V3_KEY`, `WECHAT_PAY_PRIVATE_KEY_FILE`,
//! `WECHAT_PAY_CERT_SERIAL` and optionally `WECHAT_PAY_PUBLIC_KEY_ID` +
//! `WECHAT_PAY_PUBLIC_KEY_FILE`; see the README. With the mock merchant's public values it serves on loopback only, unless
//! given `--demo`. Orders are kept in `pay-demo.db` in the working directory (SQLite, created
//! on first start) unless `DATABASE_URL` names another SQLite file or a PostgreSQL database.

use std::process::ExitCode;

use tracing_subscriber::fmt::FmtContext;
use tracing_subscriber::fmt::format::{self, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;
use wechat_tower::serve::Server;

const USAGE: &str = "usage: pay-demo [--demo]\n\n  --demo  serve with the mock merchant's public values on a non-loopback address\n\nSettings come from the environment: see README.md.";

/// Log lines on standard error (`WARN pay_demo: payment not applied; answering FAIL order="…"
/// err=…`), INFO and above unless `RUST_LOG` says otherwise: what the shop refused and why.
fn install_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(false)
        .event_format(LevelFirst)
        .with_writer(|| OneLine(std::io::stderr()))
        .try_init();
}

/// `LEVEL target: message field=value…`, one event a line, starting with the level (as the
/// shop's logs always did; the default format leads with a timestamp and a padded level).
struct LevelFirst;

impl<S, N> FormatEvent<S, N> for LevelFirst
where
    S: tracing::Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: format::Writer<'_>,
        event: &tracing::Event<'_>,
    ) -> std::fmt::Result {
        let metadata = event.metadata();
        write!(writer, "{} {}: ", metadata.level(), metadata.target())?;
        ctx.field_format().format_fields(writer.by_ref(), event)?;
        writeln!(writer)
    }
}

/// A log writer that keeps one event on one line. `tracing-subscriber`'s own escaping covers
/// terminal escapes (ESC, BEL, C1) but not a newline in a `Display` value (`err = %e`), which
/// would start a forged log line; this escapes every control character but the line's end. The
/// formatter hands over each event whole, in one `write_all`, and `write` takes it whole.
struct OneLine<W>(W);

impl<W: std::io::Write> std::io::Write for OneLine<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let text = String::from_utf8_lossy(buf);
        let body = text.strip_suffix('\n').unwrap_or(&text);
        let mut line = String::with_capacity(text.len());
        for c in body.chars() {
            if c.is_control() {
                line.extend(c.escape_default());
            } else {
                line.push(c);
            }
        }
        line.push('\n');
        self.0.write_all(line.as_bytes())?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.0.flush()
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    install_logging();
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
        "pay-demo on http://{addr} (notify URL {}), merchant {} for {}, WeChat Pay API {} ({}), top-ups {}..={} fen, notification records in {}, orders in {}",
        settings.notify_url(),
        settings.mch_id,
        settings.appid,
        settings.api_base,
        match &settings.pay_v3 {
            None => "v2",
            Some(v3) if v3.public_key.is_some() => "v3, WeChat Pay public key",
            Some(_) => "v3, platform certificates",
        },
        settings.topup_min_fee,
        settings.topup_max_fee,
        if settings.redis_url.is_some() {
            "Redis"
        } else {
            "memory"
        },
        settings.database_location(),
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

#[cfg(test)]
mod tests {
    use std::io::Write as _;
    use std::sync::{Arc, Mutex};

    use super::OneLine;

    /// A writer the test reads back.
    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Captured {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_newline_in_a_logged_value_cannot_forge_a_log_line() {
        let out = Captured::default();
        let writer = out.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_ansi(false)
            .event_format(super::LevelFirst)
            .with_writer(move || OneLine(writer.clone()))
            .finish();
        let forged = "db down\nINFO pay_demo: payment applied order=\"o-1\"\r\u{1b}[2K";
        tracing::subscriber::with_default(subscriber, || {
            tracing::warn!(order = "o-1", err = %forged, "payment not applied; answering FAIL");
        });
        let text = String::from_utf8(out.0.lock().unwrap().clone()).unwrap();
        assert_eq!(text.lines().count(), 1, "{text}");
        assert!(
            text.starts_with("WARN pay_demo::tests: payment not applied; answering FAIL order=\"o-1\" err=db down"),
            "{text}"
        );
        assert!(text.ends_with('\n'));
        assert!(text.contains(r"db down\nINFO pay_demo"), "{text}");
        assert!(!text.contains('\u{1b}') && !text.contains('\r'), "{text}");
    }

    #[test]
    fn one_line_escapes_control_characters_but_the_line_end() {
        let mut out = Vec::new();
        OneLine(&mut out).write_all(b"a\tb\nc\n").unwrap();
        assert_eq!(out, b"a\\tb\\nc\n");
    }
}
