//! `soak`: runs a bot under constant load for a long time and watches its memory (issue 13).
//!
//! The bot is echo-bot's (its router, in safe mode, dedup on, behind `WechatLayer`, served by
//! `wechat_tower::serve::Server` on a loopback port); the load comes from in-process clients
//! (`--connections` keep-alive connections, 32 by default) that send distinct, freshly signed
//! and encrypted text messages, as WeChat does, and check every reply (2xx, an encrypted
//! envelope; every 100th is decrypted and must echo its message). Both run in this one process,
//! so the resident memory printed is the bot's plus the clients' (which allocate nothing that
//! grows: latencies go into a fixed histogram).
//!
//! ```text
//! cargo run --release -p w5-bench --example soak -- --seconds 600
//! cargo run --release -p w5-bench --example soak -- --seconds 60 --every 10
//! ```
//!
//! Every `--every` seconds (30) it prints the interval's requests per second, its p99 latency,
//! its errors, and the resident memory (`VmRSS` of `/proc/self/status`). At the end it says
//! whether the memory stayed flat after warm-up, and exits 1 when it did not or when any
//! request failed.
//!
//! **Flat** means: no sample taken after the warm-up exceeds the resident memory at the end of
//! the warm-up by more than the tolerance, the larger of 10 % of it and 8 MiB. The warm-up
//! (`--warmup` seconds; by default a fifth of the run, at most 120 s) is when the bot's retry
//! record fills up to its memory budget (32 MiB by default; at a few thousand messages a
//! second that takes seconds, not minutes) and the allocator reaches its working set. A leak of
//! one allocation per request grows past the tolerance within minutes at these rates.
//!
//! Options: `--seconds` (600), `--every` (30), `--warmup` (see above), `--connections` (32),
//! `--dedup on|off` (on).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http::{HeaderValue, Request, header};
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use tokio::net::TcpListener;
use tower::Layer;
use w5_bench::{BoxError, Fixture, connect};
use wechat_tower::serve::Server;
use wechat_tower::test_util::{Simulator, messages};
use wechat_tower::{Message, WechatLayer};

/// The account's original id (`ToUserName` of the messages).
const ACCOUNT: &str = "gh_0123456789ab";

/// Every how many replies a client decrypts one and checks it echoes its message.
const VERIFY_EVERY: u64 = 100;

/// How long a client waits for one answer before counting it as an error.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);

/// The command line.
#[derive(Debug)]
struct Options {
    seconds: u64,
    every: u64,
    warmup: Option<u64>,
    connections: usize,
    dedup: bool,
}

impl Options {
    fn parse() -> Result<Self, BoxError> {
        let mut o = Self {
            seconds: 600,
            every: 30,
            warmup: None,
            connections: 32,
            dedup: true,
        };
        let mut args = std::env::args().skip(1);
        while let Some(arg) = args.next() {
            let mut value = || {
                args.next()
                    .ok_or_else(|| BoxError::from(format!("{arg} needs a value")))
            };
            match arg.as_str() {
                "--seconds" => o.seconds = value()?.parse()?,
                "--every" => o.every = value()?.parse()?,
                "--warmup" => o.warmup = Some(value()?.parse()?),
                "--connections" | "-c" => o.connections = value()?.parse()?,
                "--dedup" => {
                    o.dedup = match value()?.as_str() {
                        "on" => true,
                        "off" => false,
                        other => return Err(format!("--dedup on|off, not {other}").into()),
                    };
                }
                "-h" | "--help" => {
                    println!(
                        "usage: soak [--seconds 600] [--every 30] [--warmup S] \
                         [--connections 32] [--dedup on|off]"
                    );
                    std::process::exit(0);
                }
                other => return Err(format!("unknown argument {other} (try --help)").into()),
            }
        }
        o.seconds = o.seconds.max(1);
        o.every = o.every.clamp(1, o.seconds);
        o.connections = o.connections.max(1);
        Ok(o)
    }

    /// The warm-up: as given, else a fifth of the run, at most 120 s.
    fn warmup(&self) -> u64 {
        self.warmup
            .unwrap_or((self.seconds / 5).min(120))
            .min(self.seconds)
    }
}

/// Latencies of one interval: 10 µs buckets up to 10 ms, then 1 ms buckets up to 1 s, then one
/// overflow bucket. Fixed size, so measuring allocates nothing while the soak runs.
struct Histogram {
    buckets: Vec<AtomicU64>,
}

impl Histogram {
    const FINE: u64 = 1000;
    const COARSE: u64 = 990;

    fn new() -> Self {
        let len = usize::try_from(Self::FINE + Self::COARSE + 1).unwrap_or(1991);
        Self {
            buckets: (0..len).map(|_| AtomicU64::new(0)).collect(),
        }
    }

    fn index(us: u64) -> usize {
        let i = if us < 10 * Self::FINE {
            us / 10
        } else {
            (Self::FINE + (us - 10 * Self::FINE) / 1000).min(Self::FINE + Self::COARSE)
        };
        usize::try_from(i).unwrap_or(usize::MAX)
    }

    /// The upper bound of bucket `i`, in milliseconds.
    fn upper_ms(i: usize) -> f64 {
        let i = i as f64;
        let fine = Self::FINE as f64;
        if i < fine {
            (i + 1.0) * 0.01
        } else {
            10.0 + (i - fine + 1.0)
        }
    }

    fn record(&self, elapsed: Duration) {
        let us = u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX);
        if let Some(bucket) = self.buckets.get(Self::index(us)) {
            bucket.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Empties the histogram into `counts`; returns how many were recorded.
    fn take(&self, counts: &mut [u64]) -> u64 {
        let mut total = 0;
        for (bucket, count) in self.buckets.iter().zip(counts.iter_mut()) {
            *count = bucket.swap(0, Ordering::Relaxed);
            total += *count;
        }
        total
    }

    /// The `q` quantile of `counts` (from [`Histogram::take`]), in milliseconds (bucket upper
    /// bound).
    fn quantile_ms(counts: &[u64], total: u64, q: f64) -> f64 {
        if total == 0 {
            return 0.0;
        }
        let rank = ((total as f64) * q).ceil() as u64;
        let mut seen = 0;
        for (i, count) in counts.iter().enumerate() {
            seen += count;
            if seen >= rank.max(1) {
                return Self::upper_ms(i);
            }
        }
        Self::upper_ms(counts.len().saturating_sub(1))
    }
}

/// What the clients share.
struct Load {
    sim: Simulator,
    authority: String,
    host: HeaderValue,
    openid: String,
    next_msg_id: AtomicU64,
    latencies: Histogram,
    errors: AtomicU64,
    first_error: std::sync::Mutex<Option<String>>,
    stop: AtomicBool,
}

impl Load {
    fn error(&self, why: String) {
        self.errors.fetch_add(1, Ordering::Relaxed);
        let mut first = self
            .first_error
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        first.get_or_insert(why);
    }

    /// Checks a reply as WeChat reads it: it decrypts into a text echoing `content`.
    fn verify(&self, body: &[u8], content: &str) -> Result<(), String> {
        let xml = self
            .sim
            .read_reply(body)
            .map_err(|e| format!("{e}: {}", String::from_utf8_lossy(body)))?;
        match Message::from_xml(&xml) {
            Ok(Message::Text(reply)) if reply.content == content => Ok(()),
            _ => Err(format!("not the echo of {content:?}: {xml}")),
        }
    }
}

async fn exchange(
    sender: &mut SendRequest<Full<Bytes>>,
    req: Request<Full<Bytes>>,
) -> Result<Bytes, String> {
    sender
        .ready()
        .await
        .map_err(|e| format!("connection: {e}"))?;
    let res = sender
        .send_request(req)
        .await
        .map_err(|e| format!("send: {e}"))?;
    let status = res.status();
    let body = res
        .into_body()
        .collect()
        .await
        .map_err(|e| format!("body: {e}"))?
        .to_bytes();
    if !status.is_success() {
        return Err(format!(
            "status {status}: {}",
            String::from_utf8_lossy(&body)
        ));
    }
    Ok(body)
}

/// One client: a keep-alive connection sending messages back to back until told to stop.
async fn client(load: Arc<Load>) {
    let mut sender: Option<SendRequest<Full<Bytes>>> = None;
    let mut n: u64 = 0;
    while !load.stop.load(Ordering::Relaxed) {
        let msg_id = load.next_msg_id.fetch_add(1, Ordering::Relaxed);
        let content = format!("soak #{msg_id}");
        let xml = messages::text(ACCOUNT, &load.openid, &content, msg_id);
        let mut req = load.sim.push("/wechat", &xml);
        req.headers_mut().insert(header::HOST, load.host.clone());
        let sent = Instant::now();
        let outcome = tokio::time::timeout(REQUEST_TIMEOUT, async {
            if sender.is_none() {
                sender = Some(connect(&load.authority).await?);
            }
            match sender.as_mut() {
                Some(s) => exchange(s, req).await,
                None => Err("no connection".to_owned()),
            }
        })
        .await
        .unwrap_or_else(|_| Err(format!("no answer within {REQUEST_TIMEOUT:?}")));
        let elapsed = sent.elapsed();
        let outcome = outcome.and_then(|body| {
            if !body.windows(9).any(|w| w == b"<Encrypt>") {
                return Err(format!(
                    "not an encrypted reply: {}",
                    String::from_utf8_lossy(&body)
                ));
            }
            if n.is_multiple_of(VERIFY_EVERY) {
                load.verify(&body, &content)?;
            }
            Ok(())
        });
        n += 1;
        match outcome {
            Ok(()) => load.latencies.record(elapsed),
            Err(why) => {
                load.error(why);
                sender = None;
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
    }
}

/// Resident memory of this process in KiB (`VmRSS` of `/proc/self/status`), if readable.
fn rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let o = Options::parse()?;
    let fx = Fixture::embedded()?;
    let vars = |name: &str| match name {
        "WECHAT_TOKEN" => Some(fx.token.clone()),
        "WECHAT_ENCODING_AES_KEY" => Some(fx.encoding_aes_key.clone()),
        "WECHAT_APPID" => Some(fx.appid.clone()),
        "ADDR" => Some("127.0.0.1:0".to_owned()),
        "WECHAT_DEDUP" => Some(if o.dedup { "on" } else { "off" }.to_owned()),
        _ => None,
    };
    let settings = echo_bot::Settings::from_vars(vars, std::iter::empty())?;
    let bot = WechatLayer::new(settings.config.clone()).layer(echo_bot::router(&settings));
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let server = tokio::spawn(Server::new(listener).serve(bot));

    let authority = addr.to_string();
    let load = Arc::new(Load {
        sim: Simulator::safe(&fx.token, &fx.encoding_aes_key, &fx.appid)?,
        host: HeaderValue::from_str(&authority)?,
        authority,
        openid: fx.openid.clone(),
        // Distinct across runs too.
        next_msg_id: AtomicU64::new(now_secs() * 1_000_000),
        latencies: Histogram::new(),
        errors: AtomicU64::new(0),
        first_error: std::sync::Mutex::new(None),
        stop: AtomicBool::new(false),
    });
    let warmup = o.warmup();
    println!(
        "soak: echo-bot router on {addr} (safe mode, dedup {}), {} connections, {} s, \
         report every {} s, warm-up {} s",
        if o.dedup { "on" } else { "off" },
        o.connections,
        o.seconds,
        o.every,
        warmup
    );
    let clients: Vec<_> = (0..o.connections)
        .map(|_| tokio::spawn(client(Arc::clone(&load))))
        .collect();

    let start = Instant::now();
    let mut counts = vec![0; load.latencies.buckets.len()];
    let mut total: u64 = 0;
    let mut errors_seen: u64 = 0;
    let mut baseline: Option<u64> = None;
    let mut peak_after: Option<u64> = None;
    let mut last_report = start;
    // One tick a second: reports fall on multiples of `every`, the baseline on `warmup`.
    let mut ticks = tokio::time::interval_at(
        tokio::time::Instant::now() + Duration::from_secs(1),
        Duration::from_secs(1),
    );
    for second in 1..=o.seconds {
        ticks.tick().await;
        let rss = rss_kib();
        if second == warmup {
            baseline = rss;
            if let Some(kib) = rss {
                println!("t={second:>4}s warm-up over: rss={:.1} MiB", mib(kib));
            }
        } else if second > warmup
            && let Some(kib) = rss
        {
            peak_after = Some(peak_after.map_or(kib, |p: u64| p.max(kib)));
        }
        if second % o.every == 0 || second == o.seconds {
            let now = Instant::now();
            let n = load.latencies.take(&mut counts);
            total += n;
            let errors = load.errors.load(Ordering::Relaxed);
            let secs = now.duration_since(last_report).as_secs_f64();
            last_report = now;
            println!(
                "t={second:>4}s req/s={:>7.0} p99={:>6.2} ms errors={} rss={} MiB",
                n as f64 / secs,
                Histogram::quantile_ms(&counts, n, 0.99),
                errors - errors_seen,
                rss.map_or_else(|| "?".to_owned(), |kib| format!("{:.1}", mib(kib))),
            );
            errors_seen = errors;
        }
    }
    load.stop.store(true, Ordering::Relaxed);
    for c in clients {
        let _ = c.await;
    }
    server.abort();

    let elapsed = start.elapsed().as_secs_f64();
    let errors = load.errors.load(Ordering::Relaxed);
    println!(
        "total: {total} requests in {elapsed:.0} s ({:.0} req/s), {errors} errors",
        total as f64 / elapsed
    );
    if let Some(why) = load
        .first_error
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .as_ref()
    {
        println!("first error: {why}");
    }
    let flat = match (baseline, peak_after) {
        (Some(base), Some(peak)) => {
            let tolerance = (base / 10).max(8 * 1024);
            let flat = peak <= base + tolerance;
            println!(
                "rss after warm-up: {:.1} MiB at the end of warm-up, peak {:.1} MiB after it \
                 (+{:.1} MiB; tolerance {:.1} MiB = max(10 %, 8 MiB)): {}",
                mib(base),
                mib(peak),
                mib(peak.saturating_sub(base)),
                mib(tolerance),
                if flat { "FLAT" } else { "NOT FLAT" }
            );
            flat
        }
        _ => {
            println!("rss after warm-up: no sample after the warm-up (run longer than --warmup)");
            false
        }
    };
    if !flat || errors > 0 {
        return Err("the soak failed: see above".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_quantiles_land_in_the_right_bucket() {
        let h = Histogram::new();
        for _ in 0..98 {
            h.record(Duration::from_micros(250));
        }
        h.record(Duration::from_millis(42));
        h.record(Duration::from_secs(3));
        let mut counts = vec![0; h.buckets.len()];
        let total = h.take(&mut counts);
        assert_eq!(total, 100);
        assert!((Histogram::quantile_ms(&counts, total, 0.5) - 0.26).abs() < 1e-9);
        assert!((Histogram::quantile_ms(&counts, total, 0.99) - 43.0).abs() < 1e-9);
        assert!(Histogram::quantile_ms(&counts, total, 1.0) > 1000.0);
        // Taken: empty again.
        assert_eq!(h.take(&mut counts), 0);
    }
}
