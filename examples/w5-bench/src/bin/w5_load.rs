//! `w5-load`: a load generator for W5 that plays WeChat. Unlike `wrk` with `post.lua`, which
//! replays the fixture's one request, it sends **distinct, freshly signed and encrypted**
//! messages (a new `MsgId`, the current timestamp, a fresh nonce, its own content), so that a bot
//! can be measured in its default configuration: retry cache on, timestamp window on. Every
//! reply is checked (status 2xx, body read); every Nth reply (`--verify-every`) is also verified
//! and decrypted as WeChat would, and must be a text reply to the sender echoing the content.
//!
//! ```text
//! w5-load --url http://127.0.0.1:3000/wechat -c 64 -d 10 --warmup 3
//! w5-load --url http://127.0.0.1:3000/wechat --requests 1            # a correctness check
//! w5-load --url http://127.0.0.1:3000/wechat --fixture --requests 1  # the fixture's exact request
//! ```
//!
//! It prints one JSON line: `req_per_sec`, `p50_ms`, `p99_ms`, `max_ms`, `errors` (transport
//! errors, timeouts, non-2xx and bad replies) and their breakdown. The exit status is 1 when there
//! was any error or nothing was verified. Options: `--url` (required), `-c`/`--connections` (64),
//! `-d`/`--duration` seconds (10), `--warmup` seconds (3), `--timeout` seconds (2), `--threads`
//! (2), `--verify-every` N (1: every reply), `--requests` N (send N requests in all, then stop;
//! no warm-up), `--fixture` (send the fixture's exact query and body instead of fresh messages),
//! `--token`, `--aes-key`, `--appid` (default: the fixture's).

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http::{HeaderValue, Request, Uri, header};
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use w5_bench::{BoxError, Fixture, connect};
use wechat_tower::Message;
use wechat_tower::test_util::{Simulator, messages};

/// The account's original id (`ToUserName` of the fixture's message).
const ACCOUNT: &str = "gh_0123456789ab";

/// The command line.
#[derive(Debug)]
struct Options {
    url: Uri,
    connections: usize,
    duration: Duration,
    warmup: Duration,
    timeout: Duration,
    threads: usize,
    verify_every: u64,
    requests: Option<u64>,
    fixture: bool,
    token: String,
    aes_key: String,
    appid: String,
}

impl Options {
    fn parse(fx: &Fixture) -> Result<Self, BoxError> {
        let mut o = Self {
            url: Uri::default(),
            connections: 64,
            duration: Duration::from_secs(10),
            warmup: Duration::from_secs(3),
            timeout: Duration::from_secs(2),
            threads: 2,
            verify_every: 1,
            requests: None,
            fixture: false,
            token: fx.token.clone(),
            aes_key: fx.encoding_aes_key.clone(),
            appid: fx.appid.clone(),
        };
        let mut url = None;
        let mut args = std::env::args().skip(1);
        let secs = |v: String| -> Result<Duration, BoxError> {
            Ok(Duration::from_secs_f64(v.parse::<f64>()?))
        };
        while let Some(arg) = args.next() {
            let mut value = || {
                args.next()
                    .ok_or_else(|| BoxError::from(format!("{arg} needs a value")))
            };
            match arg.as_str() {
                "--url" => url = Some(value()?),
                "-c" | "--connections" => o.connections = value()?.parse()?,
                "-d" | "--duration" => o.duration = secs(value()?)?,
                "--warmup" => o.warmup = secs(value()?)?,
                "--timeout" => o.timeout = secs(value()?)?,
                "--threads" => o.threads = value()?.parse()?,
                "--verify-every" => o.verify_every = value()?.parse::<u64>()?.max(1),
                "--requests" => o.requests = Some(value()?.parse()?),
                "--token" => o.token = value()?,
                "--aes-key" => o.aes_key = value()?,
                "--appid" => o.appid = value()?,
                "--fixture" => o.fixture = true,
                "-h" | "--help" => {
                    println!(
                        "usage: w5-load --url http://127.0.0.1:3000/wechat [-c 64] [-d 10] \
                         [--warmup 3] [--timeout 2] [--threads 2] [--verify-every 1] \
                         [--requests N] [--fixture] [--token T --aes-key K --appid A]"
                    );
                    std::process::exit(0);
                }
                other => return Err(format!("unknown argument {other} (try --help)").into()),
            }
        }
        o.url = url.ok_or("--url is required")?.parse()?;
        if o.url.scheme_str() != Some("http") || o.url.authority().is_none() {
            return Err("--url must be http://host:port/path".into());
        }
        if o.requests.is_some() {
            o.warmup = Duration::ZERO;
        }
        o.connections = o.connections.max(1);
        Ok(o)
    }
}

/// What every connection shares.
struct Shared {
    sim: Simulator,
    /// `host:port` to connect to and to send as `Host`.
    authority: String,
    host: HeaderValue,
    path: String,
    fixture: Option<FixtureRequest>,
    openid: String,
    verify_every: u64,
    timeout: Duration,
    next_msg_id: AtomicU64,
    /// With `--requests`: how many requests are left to send.
    tickets: Option<AtomicU64>,
    measure_from: Instant,
    end: Option<Instant>,
}

/// The fixture's exact request, replayed with `--fixture`.
struct FixtureRequest {
    uri: Uri,
    body: Bytes,
    content: String,
}

/// What one connection measured.
#[derive(Default)]
struct Stats {
    latencies_us: Vec<u32>,
    non_2xx: u64,
    bad_replies: u64,
    timeouts: u64,
    io_errors: u64,
    warmup_errors: u64,
    /// Every request answered or failed, warm-up included (for CPU per request).
    sent: u64,
    verified: u64,
    first_error: Option<String>,
}

impl Stats {
    fn merge(&mut self, other: Self) {
        self.latencies_us.extend(other.latencies_us);
        self.non_2xx += other.non_2xx;
        self.bad_replies += other.bad_replies;
        self.timeouts += other.timeouts;
        self.io_errors += other.io_errors;
        self.warmup_errors += other.warmup_errors;
        self.sent += other.sent;
        self.verified += other.verified;
        if self.first_error.is_none() {
            self.first_error = other.first_error;
        }
    }

    fn errors(&self) -> u64 {
        self.non_2xx + self.bad_replies + self.timeouts + self.io_errors
    }
}

/// How one request failed.
enum Failure {
    Io(String),
    Timeout,
    Status(u16, String),
    BadReply(String),
}

impl Shared {
    /// A request and the content its reply must echo.
    fn next_request(&self) -> (Request<Full<Bytes>>, String) {
        let (mut req, content) = if let Some(fx) = &self.fixture {
            let mut req = Request::new(Full::new(fx.body.clone()));
            *req.method_mut() = http::Method::POST;
            *req.uri_mut() = fx.uri.clone();
            req.headers_mut()
                .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/xml"));
            (req, fx.content.clone())
        } else {
            let msg_id = self.next_msg_id.fetch_add(1, Ordering::Relaxed);
            let content = format!("Hello WeChat benchmark! 你好，微信。 #{msg_id}");
            let xml = messages::text(ACCOUNT, &self.openid, &content, msg_id);
            (self.sim.push(&self.path, &xml), content)
        };
        req.headers_mut().insert(header::HOST, self.host.clone());
        (req, content)
    }

    /// Checks a reply as WeChat reads it: an encrypted envelope whose `MsgSignature` verifies,
    /// that decrypts for the app id into a text reply to the sender echoing `content`.
    fn verify(&self, body: &[u8], content: &str) -> Result<(), String> {
        let text = String::from_utf8_lossy(body);
        if !text.contains("<Encrypt>") {
            return Err(format!("not an encrypted envelope: {text}"));
        }
        let xml = self
            .sim
            .read_reply(body)
            .map_err(|e| format!("{e}: {text}"))?;
        match Message::from_xml(&xml) {
            Ok(Message::Text(reply))
                if reply.content == content && reply.header.to_user_name == self.openid =>
            {
                Ok(())
            }
            _ => Err(format!(
                "not the echo of {content:?} to {}: {xml}",
                self.openid
            )),
        }
    }

    /// Takes the right to send one more request.
    fn take_ticket(&self, now: Instant) -> bool {
        if let Some(end) = self.end
            && now >= end
        {
            return false;
        }
        match &self.tickets {
            None => true,
            Some(left) => left
                .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1))
                .is_ok(),
        }
    }
}

/// One request on `sender`: sends, reads the whole body, checks the status.
async fn exchange(
    sender: &mut SendRequest<Full<Bytes>>,
    req: Request<Full<Bytes>>,
) -> Result<Bytes, Failure> {
    sender
        .ready()
        .await
        .map_err(|e| Failure::Io(format!("connection: {e}")))?;
    let res = sender
        .send_request(req)
        .await
        .map_err(|e| Failure::Io(format!("send: {e}")))?;
    let status = res.status();
    let body = res
        .into_body()
        .collect()
        .await
        .map_err(|e| Failure::Io(format!("body: {e}")))?
        .to_bytes();
    if !status.is_success() {
        return Err(Failure::Status(
            status.as_u16(),
            String::from_utf8_lossy(&body).into_owned(),
        ));
    }
    Ok(body)
}

/// One connection's loop: until the end (or the tickets run out), send, time, check.
async fn run_connection(shared: Arc<Shared>) -> Stats {
    let mut stats = Stats::default();
    let mut sender: Option<SendRequest<Full<Bytes>>> = None;
    let mut n: u64 = 0;
    loop {
        if !shared.take_ticket(Instant::now()) {
            return stats;
        }
        let (req, content) = shared.next_request();
        let sent = Instant::now();
        let measured = sent >= shared.measure_from;
        let outcome = tokio::time::timeout(shared.timeout, async {
            if sender.is_none() {
                sender = Some(connect(&shared.authority).await.map_err(Failure::Io)?);
            }
            let Some(s) = sender.as_mut() else {
                return Err(Failure::Io("no connection".to_owned()));
            };
            exchange(s, req).await
        })
        .await
        .unwrap_or(Err(Failure::Timeout));
        let elapsed = sent.elapsed();
        let outcome = outcome.and_then(|body| {
            if n.is_multiple_of(shared.verify_every) {
                shared.verify(&body, &content).map_err(Failure::BadReply)?;
                Ok(true)
            } else {
                Ok(false)
            }
        });
        n += 1;
        stats.sent += 1;
        match outcome {
            Ok(verified) => {
                if measured {
                    let us = u32::try_from(elapsed.as_micros()).unwrap_or(u32::MAX);
                    stats.latencies_us.push(us);
                }
                stats.verified += u64::from(verified);
            }
            Err(failure) => {
                let why = match failure {
                    Failure::Io(why) => {
                        if measured {
                            stats.io_errors += 1;
                        }
                        // Start over on a new connection, after a pause if it cannot connect.
                        sender = None;
                        tokio::time::sleep(Duration::from_millis(10)).await;
                        why
                    }
                    Failure::Timeout => {
                        if measured {
                            stats.timeouts += 1;
                        }
                        sender = None;
                        format!("no answer within {:?}", shared.timeout)
                    }
                    Failure::Status(status, body) => {
                        if measured {
                            stats.non_2xx += 1;
                        }
                        format!("status {status}: {body}")
                    }
                    Failure::BadReply(why) => {
                        if measured {
                            stats.bad_replies += 1;
                        }
                        why
                    }
                };
                if !measured {
                    stats.warmup_errors += 1;
                }
                if stats.first_error.is_none() {
                    stats.first_error = Some(why);
                }
            }
        }
    }
}

/// The `q` quantile (0..=1) of sorted microseconds, in milliseconds.
fn quantile_ms(sorted_us: &[u32], q: f64) -> f64 {
    if sorted_us.is_empty() {
        return 0.0;
    }
    // Nearest rank; the index is within the slice.
    let rank = ((sorted_us.len() as f64) * q).ceil() as usize;
    let idx = rank.clamp(1, sorted_us.len()) - 1;
    f64::from(sorted_us[idx]) / 1000.0
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn run(o: &Options, fx: &Fixture) -> Result<bool, BoxError> {
    let authority = o
        .url
        .authority()
        .ok_or("--url has no host:port")?
        .to_string();
    authority
        .parse::<SocketAddr>()
        .map_err(|e| format!("--url must name an ip:port ({authority}): {e}"))?;
    let path = o.url.path().to_owned();
    let fixture = if o.fixture {
        Some(FixtureRequest {
            uri: format!("{path}?{}", fx.query).parse()?,
            body: Bytes::from(fx.encrypted_body.clone()),
            content: fx.reply_content.clone(),
        })
    } else {
        None
    };
    let start = Instant::now();
    let measure_from = start + o.warmup;
    let end = o.requests.is_none().then(|| measure_from + o.duration);
    let connections = match o.requests {
        Some(n) => o
            .connections
            .min(usize::try_from(n.max(1)).unwrap_or(usize::MAX)),
        None => o.connections,
    };
    let shared = Arc::new(Shared {
        sim: Simulator::safe(&o.token, &o.aes_key, &o.appid)?,
        host: HeaderValue::from_str(&authority)?,
        authority,
        path,
        fixture,
        openid: fx.openid.clone(),
        verify_every: o.verify_every,
        timeout: o.timeout,
        // Distinct across runs too: a long-running bot remembers the MsgIds it has seen.
        next_msg_id: AtomicU64::new(now_secs() * 1_000_000),
        tickets: o.requests.map(AtomicU64::new),
        measure_from,
        end,
    });

    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(o.threads.max(1))
        .enable_all()
        .build()?;
    let (stats, finished) = rt.block_on(async {
        let tasks: Vec<_> = (0..connections)
            .map(|_| tokio::spawn(run_connection(Arc::clone(&shared))))
            .collect();
        let mut stats = Stats::default();
        for task in tasks {
            match task.await {
                Ok(s) => stats.merge(s),
                Err(e) => {
                    stats.io_errors += 1;
                    stats
                        .first_error
                        .get_or_insert_with(|| format!("task: {e}"));
                }
            }
        }
        (stats, Instant::now())
    });

    let mut stats = stats;
    stats.latencies_us.sort_unstable();
    let window = finished
        .saturating_duration_since(measure_from)
        .as_secs_f64();
    let ok = stats.latencies_us.len() as u64;
    let report = serde_json::json!({
        "tool": "w5-load",
        "url": o.url.to_string(),
        "mode": if o.fixture { "fixture" } else { "fresh" },
        "connections": connections,
        "duration_s": (window * 1000.0).round() / 1000.0,
        "requests": ok + stats.errors(),
        "ok": ok,
        "req_per_sec": if window > 0.0 { (ok as f64 / window).round() } else { 0.0 },
        "p50_ms": quantile_ms(&stats.latencies_us, 0.50),
        "p99_ms": quantile_ms(&stats.latencies_us, 0.99),
        "max_ms": quantile_ms(&stats.latencies_us, 1.0),
        "errors": stats.errors(),
        "non_2xx": stats.non_2xx,
        "bad_replies": stats.bad_replies,
        "timeouts": stats.timeouts,
        "io_errors": stats.io_errors,
        "warmup_errors": stats.warmup_errors,
        "sent_with_warmup": stats.sent,
        "verified": stats.verified,
        "verify_every": o.verify_every,
    });
    println!("{report}");
    if let Some(why) = &stats.first_error {
        eprintln!("w5-load: first error: {why}");
    }
    Ok(stats.errors() == 0 && stats.verified > 0)
}

fn main() -> std::process::ExitCode {
    let result = Fixture::embedded().and_then(|fx| {
        let options = Options::parse(&fx)?;
        run(&options, &fx)
    });
    match result {
        Ok(true) => std::process::ExitCode::SUCCESS,
        Ok(false) => std::process::ExitCode::FAILURE,
        Err(err) => {
            eprintln!("w5-load: {err}");
            std::process::ExitCode::from(2)
        }
    }
}
