//! The echo bot's handlers and settings, shared by the package's two binaries: `echo-bot` (axum)
//! and `hyper-bot`, which mounts the same bot on bare hyper.
//!
//! | message | answer |
//! |---|---|
//! | text | the same text |
//! | text `help` | what the bot can do |
//! | text `lucky` | a lucky number, drawn at random once per message (a retry gets the same) |
//! | image | the same image (by `MediaId`) |
//! | location | its coordinates |
//! | subscribe | a welcome, naming the QR scene when there is one |
//! | CLICK `V1001_HELLO` | its own answer; other CLICK keys name the key |
//! | anything else | `success` (no reply) |
//!
//! Every handler is an `async fn` marked `#[wechat_handler(..)]`, which names the messages it
//! answers; [`router`] mounts them by name with `Router::handler`.
//!
//! Settings come from the environment (see [`Settings::from_env`]); the public demo token is
//! accepted only in [`demo_mode`] (a loopback `ADDR`, or `--demo`). With `REDIS_URL` set, the
//! router's retry record lives in Redis ([`connect_store`], [`router_with_store`]), so several
//! echo-bots behind one load balancer answer each message once: `lucky` shows it, since only the
//! stored reply can repeat a random number.

use std::env;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use wechat_tower::message::{
    ClickEvent, ImageMessage, LocationMessage, SubscribeEvent, TextMessage,
};
use wechat_tower::router::{Router, RouterService};
use wechat_tower::signature::constant_time_eq;
use wechat_tower::store::{RedisStore, Store};
use wechat_tower::{MessageContext, Reply, WechatConfig, wechat_handler};

/// What the bot answers to `help`.
pub const HELP: &str = "I echo what you write. Try an image, your location, or the menu.";

/// The token used when `WECHAT_TOKEN` is unset. It is printed in this README, so anyone can
/// sign messages with it: [`Settings`] accepts it only in demo mode.
pub const DEMO_TOKEN: &str = "wechat-demo-token";

/// Demo mode: `addr` is a loopback address (only this machine can connect), or `--demo` was
/// passed. Public defaults such as [`DEMO_TOKEN`] are refused outside it.
#[must_use]
pub fn demo_mode(addr: SocketAddr, demo_flag: bool) -> bool {
    demo_flag || addr.ip().to_canonical().is_loopback()
}

/// The bot's settings, from the environment variables (the table in this example's README).
#[derive(Debug)]
pub struct Settings {
    /// `ADDR`, default `127.0.0.1:3000`.
    pub addr: SocketAddr,
    /// The endpoint configuration: plaintext when `WECHAT_ENCODING_AES_KEY` is unset, safe mode
    /// (安全模式) otherwise; `WECHAT_TIMESTAMP_WINDOW` seconds (default 300, 0 = off).
    pub config: WechatConfig,
    /// `WECHAT_DEDUP` (`on` by default; `off` for benchmarks that replay one fixed message).
    pub dedup: bool,
    /// `WECHAT_APPID`.
    pub appid: Option<String>,
    /// The token is the public [`DEMO_TOKEN`] (allowed in demo mode only).
    pub demo_token: bool,
    /// `REDIS_URL` (`redis://host:port/db`): keep the retry record in this Redis, shared with
    /// every echo-bot pointed at it. Unset: in memory, for this process only.
    pub redis_url: Option<String>,
}

impl Settings {
    /// Reads `WECHAT_TOKEN` (default [`DEMO_TOKEN`], in demo mode only), `WECHAT_APPID`,
    /// `WECHAT_ENCODING_AES_KEY`, `WECHAT_TIMESTAMP_WINDOW`, `WECHAT_DEDUP`, `REDIS_URL` and
    /// `ADDR` from the environment, and `--demo` from the command line.
    ///
    /// # Errors
    ///
    /// A message naming the variable that is wrong or missing.
    pub fn from_env() -> Result<Self, String> {
        Self::from_vars(|name| env::var(name).ok(), env::args().skip(1))
    }

    /// [`from_env`](Self::from_env) over `var` (a variable's value by name) and `args` (the
    /// command line after the program's name), so that the rules can be tested.
    ///
    /// The demo rule: a token left at [`DEMO_TOKEN`] (unset, or set to it) is accepted only in
    /// [`demo_mode`]; elsewhere anyone could sign messages to the bot.
    ///
    /// # Errors
    ///
    /// A message naming the variable that is wrong or missing, or the unknown argument.
    pub fn from_vars<I>(var: impl Fn(&str) -> Option<String>, args: I) -> Result<Self, String>
    where
        I: IntoIterator<Item = String>,
    {
        let mut demo_flag = false;
        for arg in args {
            match arg.as_str() {
                "--demo" => demo_flag = true,
                other => {
                    return Err(format!(
                        "unknown argument `{other}`: the only option is --demo (settings come \
                         from the environment, see the README)"
                    ));
                }
            }
        }
        let var = |name: &str| var(name).filter(|v| !v.is_empty());
        let token = var("WECHAT_TOKEN").unwrap_or_else(|| DEMO_TOKEN.to_owned());
        let appid = var("WECHAT_APPID");
        let addr: SocketAddr = var("ADDR")
            .unwrap_or_else(|| "127.0.0.1:3000".to_owned())
            .parse()
            .map_err(|e| format!("ADDR: {e}"))?;
        let demo_token = constant_time_eq(token.as_bytes(), DEMO_TOKEN.as_bytes());
        if demo_token && !demo_mode(addr, demo_flag) {
            return Err(format!(
                "WECHAT_TOKEN is unset or the public demo token, and ADDR {addr} is not a \
                 loopback address: set WECHAT_TOKEN to the token (令牌) of your account's server \
                 configuration (and WECHAT_ENCODING_AES_KEY + WECHAT_APPID for safe mode), or pass \
                 --demo to serve the demo token anyway"
            ));
        }
        let config = match var("WECHAT_ENCODING_AES_KEY") {
            None => WechatConfig::plaintext(token),
            Some(key) => {
                let appid = appid
                    .as_deref()
                    .ok_or("WECHAT_APPID is required with WECHAT_ENCODING_AES_KEY")?;
                WechatConfig::safe(&token, &key, appid)
                    .map_err(|e| format!("WECHAT_ENCODING_AES_KEY: {e}"))?
            }
        };
        let config = match var("WECHAT_TIMESTAMP_WINDOW") {
            None => config,
            Some(secs) => config.timestamp_window_secs(
                secs.parse()
                    .map_err(|e| format!("WECHAT_TIMESTAMP_WINDOW: {e}"))?,
            ),
        };
        let dedup = match var("WECHAT_DEDUP").as_deref() {
            None | Some("on" | "1" | "true") => true,
            Some("off" | "0" | "false") => false,
            Some(other) => return Err(format!("WECHAT_DEDUP: expected on or off, not {other}")),
        };
        Ok(Self {
            addr,
            config,
            dedup,
            appid,
            demo_token,
            redis_url: var("REDIS_URL"),
        })
    }

    /// How to talk to the bot with the simulator, printed at start.
    #[must_use]
    pub fn banner(&self) -> String {
        let mode = match self.config.mode() {
            wechat_tower::Mode::Plaintext => "plaintext mode".to_owned(),
            _ => format!(
                "safe mode (安全模式), appid {}",
                self.appid.as_deref().unwrap_or("?")
            ),
        };
        let demo = if self.demo_token {
            format!(
                "\nDemo mode: the token is the public {DEMO_TOKEN:?}, so anyone can sign messages \
                 to this bot; set WECHAT_TOKEN to serve a real account."
            )
        } else {
            String::new()
        };
        let record = match (&self.redis_url, self.dedup) {
            (_, false) => "retry record off",
            (Some(_), true) => "retry record shared in Redis (REDIS_URL)",
            (None, true) => "retry record in memory",
        };
        format!(
            "echo-bot listening on http://{addr}/wechat ({mode}; {record})\n\
             Talk to it as WeChat would:\n  \
             cargo run -p wechat-sim -- --url http://{addr}/wechat text 'hello'\n  \
             cargo run -p wechat-sim -- --url http://{addr}/wechat interactive\n\
             (pass the same --token/--aes-key/--appid as WECHAT_TOKEN/WECHAT_ENCODING_AES_KEY/WECHAT_APPID){demo}",
            addr = self.addr
        )
    }
}

/// Says the text back.
#[wechat_handler(msg = "text")]
async fn echo(msg: TextMessage) -> String {
    msg.content
}

/// Answers `help` with [`HELP`].
#[wechat_handler(msg = "text", keyword = "help")]
async fn help(_: TextMessage) -> &'static str {
    HELP
}

/// Answers a number drawn from the OS random generator: the handler runs once per message, so
/// every delivery of one message (WeChat's retries, on any instance sharing the record) gets the
/// same number, while each new message draws anew.
#[wechat_handler(msg = "text", keyword = "lucky")]
async fn lucky(_: TextMessage) -> String {
    let mut draw = [0u8; 4];
    match getrandom::fill(&mut draw) {
        Ok(()) => format!(
            "Your lucky number: {}",
            u32::from_le_bytes(draw) % 1_000_000 + 1
        ),
        Err(_) => "No luck today: the random generator failed.".to_owned(),
    }
}

/// Sends the image back, by its `MediaId`.
#[wechat_handler(msg = "image")]
async fn image(msg: ImageMessage) -> Reply {
    Reply::image(msg.media_id)
}

/// Names the coordinates of a location.
#[wechat_handler(msg = "location")]
async fn location(msg: LocationMessage) -> String {
    format!(
        "You are at {:.6}, {:.6} ({})",
        msg.latitude, msg.longitude, msg.label
    )
}

/// Welcomes a new follower, naming the QR scene they came from.
#[wechat_handler(event = "subscribe")]
async fn welcome(ev: SubscribeEvent, ctx: MessageContext) -> String {
    match ev.scene() {
        Some(scene) => format!("Welcome, {}! You came from scene {scene}.", ctx.open_id()),
        None => format!("Welcome, {}!", ctx.open_id()),
    }
}

/// The menu's hello button.
#[wechat_handler(event = "CLICK", key = "V1001_HELLO")]
async fn hello(_: ClickEvent) -> &'static str {
    "Hello from the menu!"
}

/// Any other menu button: names its key.
#[wechat_handler(event = "CLICK")]
async fn click(ev: ClickEvent) -> String {
    format!("You clicked {}", ev.event_key)
}

/// Connects to `REDIS_URL` when it is set, for [`router_with_store`]; `None` without it.
///
/// # Errors
///
/// A message naming `REDIS_URL` when Redis cannot be reached.
pub async fn connect_store(settings: &Settings) -> Result<Option<Arc<dyn Store>>, String> {
    let Some(url) = &settings.redis_url else {
        return Ok(None);
    };
    let store = RedisStore::connect(url)
        .await
        .map_err(|e| format!("REDIS_URL: {e}"))?
        .prefix("echo-bot:");
    Ok(Some(Arc::new(store)))
}

/// The bot's router: the handlers of the table in the crate docs, its retry record in memory.
///
/// # Panics
///
/// Never: the routes are distinct (a test builds it).
#[must_use]
pub fn router(settings: &Settings) -> RouterService {
    router_with_store(settings, None)
}

/// [`router`], with its retry record in `store` as well (from [`connect_store`]), shared with
/// every echo-bot using the same store: a retry that reaches another instance gets the first
/// reply. The store failing, the bot answers anyway (fail-open, the default).
///
/// # Panics
///
/// Never: the routes are distinct (a test builds it).
#[must_use]
pub fn router_with_store(settings: &Settings, store: Option<Arc<dyn Store>>) -> RouterService {
    let mut router = Router::new()
        .handler(echo)
        .handler(help)
        .handler(lucky)
        .handler(image)
        .handler(location)
        .handler(welcome)
        .handler(hello)
        .handler(click)
        .dedup(settings.dedup)
        .deadline(Duration::from_millis(4500));
    if let Some(appid) = &settings.appid {
        router = router.app_id(appid.clone());
    }
    if let Some(store) = store
        && settings.dedup
    {
        router = router.dedup_store(store);
    }
    router.build().expect("the echo bot's routes are distinct")
}

#[cfg(test)]
mod tests {
    use wechat_tower::Message;

    use super::*;

    fn settings() -> Settings {
        Settings {
            addr: "127.0.0.1:0".parse().unwrap(),
            config: WechatConfig::plaintext("token"),
            dedup: true,
            appid: Some("wx_app".to_owned()),
            demo_token: false,
            redis_url: None,
        }
    }

    /// `Settings::from_vars` over these variables and arguments.
    fn load(vars: &[(&str, &str)], args: &[&str]) -> Result<Settings, String> {
        let vars: Vec<(String, String)> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        Settings::from_vars(
            |name| vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()),
            args.iter().map(|a| (*a).to_owned()),
        )
    }

    #[test]
    fn issue16_the_demo_token_is_refused_on_a_public_address() {
        for addr in ["0.0.0.0:3000", "192.0.2.7:80", "[::]:3000"] {
            let err = load(&[("ADDR", addr)], &[]).unwrap_err();
            assert!(err.contains("WECHAT_TOKEN"), "{err}");
            assert!(err.contains("--demo"), "{err}");
            // Setting the demo token by hand is no better.
            let err = load(&[("ADDR", addr), ("WECHAT_TOKEN", DEMO_TOKEN)], &[]).unwrap_err();
            assert!(err.contains("WECHAT_TOKEN"), "{err}");
        }
    }

    #[test]
    fn issue16_the_demo_token_is_accepted_on_loopback_or_with_demo() {
        for addr in [
            "127.0.0.1:3000",
            "127.0.0.2:3000",
            "[::1]:3000",
            "[::ffff:127.0.0.1]:3000",
        ] {
            let settings = load(&[("ADDR", addr)], &[]).unwrap();
            assert!(settings.demo_token, "{addr}");
            assert!(settings.banner().contains("Demo mode"));
        }
        // The README's quick start: no variables at all.
        assert_eq!(load(&[], &[]).unwrap().addr.to_string(), "127.0.0.1:3000");
        let settings = load(&[("ADDR", "0.0.0.0:3000")], &["--demo"]).unwrap();
        assert!(settings.demo_token);
    }

    #[test]
    fn a_real_token_serves_any_address_without_the_demo_note() {
        let settings = load(&[("ADDR", "0.0.0.0:3000"), ("WECHAT_TOKEN", "real")], &[]).unwrap();
        assert!(!settings.demo_token);
        assert!(!settings.banner().contains("Demo mode"));
    }

    #[test]
    fn unknown_arguments_are_refused() {
        let err = load(&[], &["--dmeo"]).unwrap_err();
        assert!(err.contains("--dmeo"), "{err}");
    }

    fn msg(body: &str) -> Message {
        Message::from_xml(&format!(
            "<xml><ToUserName>gh</ToUserName><FromUserName>oUser</FromUserName>\
             <CreateTime>1</CreateTime>{body}</xml>"
        ))
        .unwrap()
    }

    #[test]
    fn router_builds_and_routes_the_table_of_the_crate_docs() {
        let router = router(&settings());
        let cases = [
            ("<MsgType>text</MsgType><Content>hi</Content>", "echo"),
            ("<MsgType>text</MsgType><Content> help </Content>", "help"),
            ("<MsgType>text</MsgType><Content>lucky</Content>", "lucky"),
            ("<MsgType>image</MsgType><MediaId>m</MediaId>", "image"),
            (
                "<MsgType>location</MsgType><Location_X>1</Location_X><Location_Y>2</Location_Y>",
                "location",
            ),
            (
                "<MsgType>event</MsgType><Event>subscribe</Event><EventKey>qrscene_7</EventKey>",
                "welcome",
            ),
            (
                "<MsgType>event</MsgType><Event>CLICK</Event><EventKey>V1001_HELLO</EventKey>",
                "hello",
            ),
            (
                "<MsgType>event</MsgType><Event>CLICK</Event><EventKey>OTHER</EventKey>",
                "click",
            ),
        ];
        for (body, handler) in cases {
            let name = router.handler_for(&msg(body)).unwrap();
            assert_eq!(name, format!("echo_bot::{handler}"), "{body}");
        }
        let voice = msg("<MsgType>voice</MsgType><MediaId>m</MediaId>");
        assert_eq!(router.handler_for(&voice), None);
    }

    #[tokio::test]
    async fn handler_bodies_are_callable_directly() {
        let Message::Event(wechat_tower::Event::Subscribe(ev)) =
            msg("<MsgType>event</MsgType><Event>subscribe</Event><EventKey>qrscene_7</EventKey>")
        else {
            unreachable!()
        };
        let ctx = MessageContext::new(ev.header.clone());
        assert_eq!(
            welcome::call(ev, ctx).await,
            "Welcome, oUser! You came from scene 7."
        );
        let Message::Text(text) = msg("<MsgType>text</MsgType><Content>help</Content>") else {
            unreachable!()
        };
        assert_eq!(help::call(text).await, HELP);
    }

    fn text(content: &str, msg_id: u64) -> Message {
        msg(&format!(
            "<MsgType>text</MsgType><Content>{content}</Content><MsgId>{msg_id}</MsgId>"
        ))
    }

    #[tokio::test]
    async fn lucky_draws_once_per_message_across_instances_sharing_a_store() {
        use tower::ServiceExt;
        use wechat_tower::store::MemoryStore;

        let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
        let a = router_with_store(&settings(), Some(Arc::clone(&store)));
        let b = router_with_store(&settings(), Some(store));
        let first = a.clone().oneshot(text("lucky", 1)).await.unwrap();
        let Reply::Text(number) = &first else {
            panic!("{first:?}")
        };
        assert!(number.starts_with("Your lucky number: "), "{number}");
        assert_eq!(b.clone().oneshot(text("lucky", 1)).await.unwrap(), first);
        assert_eq!(a.clone().oneshot(text("lucky", 1)).await.unwrap(), first);
        // New messages draw anew: ten draws from a million are not all the same.
        let mut numbers = std::collections::HashSet::new();
        for id in 2..12 {
            numbers.insert(format!(
                "{:?}",
                b.clone().oneshot(text("lucky", id)).await.unwrap()
            ));
        }
        assert!(numbers.len() > 1, "{numbers:?}");
    }

    #[test]
    fn redis_url_is_read_and_named_in_the_banner() {
        let settings = load(&[("REDIS_URL", "redis://127.0.0.1:6379/")], &[]).unwrap();
        assert_eq!(
            settings.redis_url.as_deref(),
            Some("redis://127.0.0.1:6379/")
        );
        assert!(
            settings.banner().contains("shared in Redis"),
            "{}",
            settings.banner()
        );
        assert!(load(&[], &[]).unwrap().banner().contains("in memory"));
    }
}
