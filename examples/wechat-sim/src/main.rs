//! `wechat-sim`: plays the WeChat server against any URL.
//!
//! It builds a message the way WeChat does, signs it with the token (and in safe mode encrypts
//! it and adds `msg_signature`), POSTs it, then verifies and decrypts the answer and prints it.
//!
//! ```text
//! wechat-sim [--url URL] [--token T] [--aes-key KEY --appid APPID] [--json] [--from OPENID] [--to GH_ID] COMMAND
//!
//! commands:
//!   handshake [ECHOSTR]            the GET of the console's server configuration
//!   text CONTENT                   a text message
//!   image MEDIA_ID                 an image message
//!   voice MEDIA_ID [RECOGNITION]   a voice message
//!   location LAT LNG [LABEL]       a location message
//!   link TITLE URL                 a link message
//!   subscribe [SCENE]              follow (by QR scene when given)
//!   unsubscribe                    unfollow
//!   scan SCENE                     scan a parametric QR code as a follower
//!   click KEY                      a menu click
//!   view URL                       a menu link
//!   location-event LAT LNG         a reported location
//!   interactive                    read commands line by line from stdin
//! ```
//!
//! Defaults: `--url http://127.0.0.1:3000/wechat`, `--token wechat-demo-token` (the echo bot's
//! default), `--from oUser1` (a follower `mock-wechat` knows), `--to gh_simulator`, plaintext
//! mode unless `--aes-key` is given. Only `http://` URLs (it is a test tool for
//! local and tunnelled endpoints).

use std::process::ExitCode;

use bytes::Bytes;
use http::Request;
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use tokio::io::AsyncBufReadExt;
use wechat_tower::test_util::mock::DEFAULT_USERS;
use wechat_tower::test_util::{Simulator, messages};

const USAGE: &str = "usage: wechat-sim [--url URL] [--token T] [--aes-key KEY --appid APPID] [--json] [--from OPENID] [--to GH_ID] \
COMMAND (handshake, text, image, voice, location, link, subscribe, unsubscribe, scan, click, view, location-event, interactive)";

/// Command-line options.
#[derive(Debug)]
struct Options {
    url: http::Uri,
    token: String,
    aes_key: Option<String>,
    appid: Option<String>,
    json: bool,
    from: String,
    to: String,
    command: Vec<String>,
}

fn parse_args(args: impl IntoIterator<Item = String>) -> Result<Options, String> {
    let mut opts = Options {
        url: http::Uri::from_static("http://127.0.0.1:3000/wechat"),
        token: "wechat-demo-token".to_owned(),
        aes_key: None,
        appid: None,
        json: false,
        // A follower the mock WeChat API knows, so a bot's `user/info` of the sender works.
        from: DEFAULT_USERS[0].to_owned(),
        to: "gh_simulator".to_owned(),
        command: Vec::new(),
    };
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        let mut value = |name: &str| args.next().ok_or(format!("{name} needs a value"));
        match arg.as_str() {
            "--url" => opts.url = value("--url")?.parse().map_err(|e| format!("--url: {e}"))?,
            "--token" => opts.token = value("--token")?,
            "--aes-key" => opts.aes_key = Some(value("--aes-key")?),
            "--appid" => opts.appid = Some(value("--appid")?),
            "--from" => opts.from = value("--from")?,
            "--to" => opts.to = value("--to")?,
            "--json" => opts.json = true,
            "-h" | "--help" => return Err(USAGE.to_owned()),
            _ => {
                opts.command.push(arg);
                opts.command.extend(args.by_ref());
            }
        }
    }
    if opts.url.scheme_str() != Some("http") {
        return Err("--url must be an http:// URL".to_owned());
    }
    Ok(opts)
}

fn simulator(opts: &Options) -> Result<Simulator, String> {
    let sim = match (&opts.aes_key, &opts.appid) {
        (None, _) => Simulator::plaintext(&opts.token),
        (Some(key), Some(appid)) => {
            Simulator::safe(&opts.token, key, appid).map_err(|e| format!("--aes-key: {e}"))?
        }
        (Some(_), None) => return Err("--aes-key needs --appid".to_owned()),
    };
    Ok(sim.json(opts.json))
}

/// Builds the plaintext message of a command.
fn message(opts: &Options, command: &[String]) -> Result<String, String> {
    // WeChat's MsgIds are 64-bit and unique per account; random ones keep separate runs of the
    // simulator from looking like retries of each other.
    let id = || {
        let digits = format!(
            "{}{}",
            wechat_tower::core::crypt::nonce(),
            wechat_tower::core::crypt::nonce()
        );
        digits[..18].parse::<u64>().unwrap_or_default()
    };
    let (to, from) = (opts.to.as_str(), opts.from.as_str());
    let arg = |i: usize, name: &str| {
        command
            .get(i)
            .map(String::as_str)
            .ok_or(format!("{} needs {name}", command[0]))
    };
    let number = |i: usize, name: &str| -> Result<f64, String> {
        arg(i, name)?.parse().map_err(|e| format!("{name}: {e}"))
    };
    Ok(match command[0].as_str() {
        "text" => messages::text(to, from, &command[1..].join(" "), id()),
        "image" => messages::image(
            to,
            from,
            "http://mmbiz.qpic.cn/sim.jpg",
            arg(1, "a MEDIA_ID")?,
            id(),
        ),
        "voice" => messages::voice(
            to,
            from,
            arg(1, "a MEDIA_ID")?,
            command.get(2).map(String::as_str),
            id(),
        ),
        "location" => {
            let label = command.get(3).map_or("", String::as_str);
            messages::location(to, from, number(1, "LAT")?, number(2, "LNG")?, label, id())
        }
        "link" => messages::link(to, from, arg(1, "a TITLE")?, arg(2, "a URL")?, id()),
        "subscribe" => {
            let scene = command.get(1).map(|s| format!("qrscene_{s}"));
            messages::event(to, from, "subscribe", scene.as_deref())
        }
        "unsubscribe" => messages::event(to, from, "unsubscribe", None),
        "scan" => messages::event(to, from, "SCAN", Some(arg(1, "a SCENE")?)),
        "click" => messages::event(to, from, "CLICK", Some(arg(1, "a KEY")?)),
        "view" => messages::event(to, from, "VIEW", Some(arg(1, "a URL")?)),
        "location-event" => {
            messages::location_event(to, from, number(1, "LAT")?, number(2, "LNG")?)
        }
        other => return Err(format!("unknown command `{other}`\n{USAGE}")),
    })
}

async fn send(
    url: &http::Uri,
    req: Request<Full<Bytes>>,
) -> Result<(http::StatusCode, Bytes), String> {
    let host = url.host().ok_or("--url has no host")?;
    let port = url.port_u16().unwrap_or(80);
    let stream = tokio::net::TcpStream::connect((host, port))
        .await
        .map_err(|e| format!("cannot connect to {host}:{port}: {e}"))?;
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| format!("HTTP handshake: {e}"))?;
    tokio::spawn(conn);
    let (mut parts, body) = req.into_parts();
    parts.headers.insert(
        http::header::HOST,
        http::HeaderValue::from_str(host).map_err(|e| e.to_string())?,
    );
    let res = sender
        .send_request(Request::from_parts(parts, body))
        .await
        .map_err(|e| format!("request failed: {e}"))?;
    let status = res.status();
    let body = res
        .into_body()
        .collect()
        .await
        .map_err(|e| format!("reading the answer: {e}"))?
        .to_bytes();
    Ok((status, body))
}

/// Runs one command and prints what WeChat would receive.
async fn run(opts: &Options, sim: &Simulator, command: &[String]) -> Result<(), String> {
    let path = opts.url.path_and_query().map_or("/", |p| p.path());
    let base = format!(
        "http://{}{path}",
        opts.url.authority().map_or("", |a| a.as_str())
    );
    let req = if command[0] == "handshake" {
        sim.handshake(
            &base,
            command.get(1).map_or("wechat-sim-echostr", String::as_str),
        )
    } else {
        let xml = message(opts, command)?;
        println!("→ {xml}");
        sim.push(&base, &xml)
    };
    let (status, body) = send(&opts.url, req).await?;
    if !status.is_success() {
        return Err(format!("← {status}: {}", String::from_utf8_lossy(&body)));
    }
    let reply = sim
        .read_reply(&body)
        .map_err(|e| format!("← {status} but the answer is wrong: {e}"))?;
    println!("← {status} {reply}");
    Ok(())
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    // What the library logs (a handler's `Err`, a refused request) goes to stderr; without a
    // subscriber it is lost. `RUST_LOG` overrides the `info` default.
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
    let opts = match parse_args(std::env::args().skip(1)) {
        Ok(opts) if !opts.command.is_empty() => opts,
        Ok(_) => {
            eprintln!("{USAGE}");
            return ExitCode::FAILURE;
        }
        Err(err) => {
            eprintln!("{err}");
            return ExitCode::FAILURE;
        }
    };
    let sim = match simulator(&opts) {
        Ok(sim) => sim,
        Err(err) => {
            eprintln!("{err}");
            return ExitCode::FAILURE;
        }
    };
    if opts.command[0] != "interactive" {
        return match run(&opts, &sim, &opts.command).await {
            Ok(()) => ExitCode::SUCCESS,
            Err(err) => {
                eprintln!("{err}");
                ExitCode::FAILURE
            }
        };
    }
    println!(
        "wechat-sim: one command per line (e.g. `text hello`, `click V1001_HELLO`), Ctrl-D to quit"
    );
    let mut lines = tokio::io::BufReader::new(tokio::io::stdin()).lines();
    while let Ok(Some(line)) = lines.next_line().await {
        let command: Vec<String> = line.split_whitespace().map(str::to_owned).collect();
        if command.is_empty() {
            continue;
        }
        if let Err(err) = run(&opts, &sim, &command).await {
            eprintln!("{err}");
        }
    }
    ExitCode::SUCCESS
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(args: &[&str]) -> Options {
        parse_args(args.iter().map(|s| (*s).to_owned())).unwrap()
    }

    #[test]
    fn parses_options_and_command() {
        let o = opts(&[
            "--token",
            "t",
            "--url",
            "http://127.0.0.1:9/w",
            "text",
            "hello",
            "there",
        ]);
        assert_eq!(o.token, "t");
        assert_eq!(o.command, ["text", "hello", "there"]);
        assert!(parse_args(["--url".to_owned(), "https://x".to_owned()]).is_err());
    }

    #[test]
    fn every_command_builds_a_message() {
        let o = opts(&["x"]);
        for cmd in [
            "text hi",
            "image m",
            "voice m words",
            "location 1 2 here",
            "link t http://u",
            "subscribe 7",
            "subscribe",
            "unsubscribe",
            "scan 7",
            "click K",
            "view http://v",
            "location-event 1 2",
        ] {
            let command: Vec<String> = cmd.split(' ').map(str::to_owned).collect();
            let xml = message(&o, &command).unwrap();
            assert!(
                wechat_tower::Message::from_xml(&xml).is_ok(),
                "{cmd}: {xml}"
            );
        }
        assert!(message(&o, &["nope".to_owned()]).is_err());
        assert!(message(&o, &["click".to_owned()]).is_err());
    }

    /// Issue 17: the default sender was `oSimulatorUser…`, unknown to the mock WeChat API, so a
    /// bot's `user/info` of the sender failed with 40003 out of the box.
    #[tokio::test]
    async fn issue17_the_default_sender_is_a_follower_of_the_mock() {
        use wechat_tower::client::WechatClient;
        use wechat_tower::test_util::mock::MockWechat;

        let wechat = MockWechat::start().await.unwrap();
        let client = WechatClient::builder(wechat.app_id(), wechat.app_secret())
            .api_base(wechat.base_url())
            .build()
            .unwrap();
        let from = opts(&["text", "hi"]).from;
        let user = client.user().info(&from, Default::default()).await;
        assert!(user.is_ok(), "{user:?}");
    }
}
