//! Three tools of the API layer an account's owners reach for, on the command line:
//!
//! ```text
//! mp-tools code --scene shop=42 --page pages/shop/index [--width 430] [--env release] [--out code.png]
//! mp-tools code --path 'pages/goods/detail?id=7' [--width 430] [--env release] [--out code.png]
//! mp-tools check "some user text" --openid oUser1 [--scene comment]
//! mp-tools publish --title T --author A --content-file article.html --cover cover.png
//! ```
//!
//! - `code`: a Mini Program code (小程序码), written to its file as it downloads
//!   ([`WxaCodeApi::unlimited_stream`](wechat_tower::client::WxaCodeApi::unlimited_stream)).
//! - `check`: content security (内容安全) of a user's text, `msg_sec_check` version 2; exits 0
//!   for `pass` and 2 for `review` or `risky`.
//! - `publish`: the cover as a permanent material, a draft (草稿箱), then publishing (发布能力),
//!   polled until the job ends.
//!
//! Every failure exits 1 with its reason; WeChat's errors with their code and meaning.
//!
//! Settings (environment), as menu-client: `WECHAT_APPID`, `WECHAT_APPSECRET` (required),
//! `WECHAT_API_BASE` (default `https://api.weixin.qq.com`; `http://127.0.0.1:3100` for
//! `mock-wechat`), `REDIS_URL` (the token store your servers share; unset means a token of this
//! process's own, fetched with `stable_token`, which does not disturb theirs).

mod args;
mod check;
mod code;
mod publish;

use std::process::ExitCode;
use std::sync::Arc;

use wechat_tower::client::WechatClient;
use wechat_tower::store::RedisStore;

use crate::args::Args;

const USAGE: &str = "\
usage: mp-tools code (--scene SCENE [--page PAGE] | --path PAGE?QUERY) [--width PX]
                     [--env release|trial|develop] [--out FILE]
       mp-tools check TEXT --openid OPENID [--scene comment|profile|forum|social]
       mp-tools publish --title TITLE --content-file FILE.html --cover IMAGE [--author NAME]
                        [--digest TEXT] [--poll-secs 5] [--deadline-secs 120]

code     a Mini Program code (小程序码) written to FILE (default code.png or code.jpg)
check    content security (内容安全) of TEXT: exit 0 pass, 2 review or risky
publish  cover, draft (草稿箱), publish (发布能力), then wait for the job's end

settings: WECHAT_APPID, WECHAT_APPSECRET (required), WECHAT_API_BASE, REDIS_URL";

/// A subcommand, its arguments read and checked before anything is sent.
enum Command {
    Code(code::Code),
    Check(check::Check),
    Publish(publish::Publish),
}

#[tokio::main]
async fn main() -> ExitCode {
    // What the library logs (a refused token, a retry) goes to stderr; without a subscriber it
    // is lost. `RUST_LOG` overrides the `info` default.
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
    match run().await {
        Ok(code) => code,
        Err(message) => {
            eprintln!("mp-tools: {message}");
            ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<ExitCode, String> {
    let argv: Vec<String> = std::env::args().skip(1).collect();
    // `help`, or `-h` anywhere before a `--` (after it, it is text to check).
    let help = argv.first().is_some_and(|a| a == "help")
        || argv
            .iter()
            .take_while(|a| *a != "--")
            .any(|a| matches!(a.as_str(), "-h" | "--help"));
    if help {
        println!("{USAGE}");
        return Ok(ExitCode::SUCCESS);
    }
    let mut argv = argv.into_iter();
    let command = match argv.next() {
        None => return Err(format!("no command given\n\n{USAGE}")),
        Some(name) => command(&name, argv).map_err(|e| format!("{e}\n\n{USAGE}"))?,
    };
    let client = client().await?;
    match command {
        Command::Code(code) => code.run(&client).await,
        Command::Check(check) => check.run(&client).await,
        Command::Publish(publish) => publish.run(&client).await,
    }
}

/// The subcommand `name` with its arguments.
fn command(name: &str, argv: impl Iterator<Item = String>) -> Result<Command, String> {
    let mut args = Args::parse(argv)?;
    let command = match name {
        "code" => Command::Code(code::Code::from_args(&mut args)?),
        "check" => Command::Check(check::Check::from_args(&mut args)?),
        "publish" => Command::Publish(publish::Publish::from_args(&mut args)?),
        other => return Err(format!("unknown command `{other}`")),
    };
    args.finish()?;
    Ok(command)
}

/// The client of the settings in the environment.
async fn client() -> Result<WechatClient, String> {
    let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    let app_id = var("WECHAT_APPID").ok_or("WECHAT_APPID is not set")?;
    let secret = var("WECHAT_APPSECRET").ok_or("WECHAT_APPSECRET is not set")?;
    let mut builder = WechatClient::builder(app_id, secret);
    if let Some(base) = var("WECHAT_API_BASE") {
        builder = builder.api_base(base);
    }
    if let Some(url) = var("REDIS_URL") {
        let store = RedisStore::connect(&url)
            .await
            .map_err(|e| format!("REDIS_URL: {e}"))?;
        builder = builder.store(Arc::new(store));
    }
    builder.build().map_err(|e| e.to_string())
}
