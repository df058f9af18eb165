//! Pages in a real browser: headless Chromium driven over WebDriver (`chromedriver`), with
//! nothing leaving loopback.
//!
//! [`run`] starts `chromedriver` on a free loopback port, opens a Chromium session with a fresh
//! profile and host resolution limited to `127.0.0.1` (a page's `res.wx.qq.com` script is
//! never fetched), and runs the test body with a [`Page`]. When the body fails (a panic, or
//! the time limit) a screenshot of the page goes to
//! `target/browser-screenshots/<test>-<step>.png` and the failure names it.
//!
//! Without Chromium or chromedriver the test prints `skipped: chromium not installed` and
//! passes, unless `WECHAT_REQUIRE_BROWSER=1` (CI), where it fails.

use std::future::Future;
use std::net::{SocketAddr, TcpListener as StdListener, TcpStream as StdStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use fantoccini::wd::WebDriverCompatibleCommand;
use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::{Value, json};

/// How long a test body may run before it fails with a screenshot.
pub const TEST_TIMEOUT: Duration = Duration::from_secs(120);

/// How long [`Page::wait_until`] waits by default.
pub const WAIT: Duration = Duration::from_secs(15);

/// The environment variable that turns a skip into a failure (CI sets it to `1`).
pub const REQUIRE_VAR: &str = "WECHAT_REQUIRE_BROWSER";

/// Where the browser binaries are.
#[derive(Debug, Clone)]
struct Binaries {
    driver: PathBuf,
    chromium: PathBuf,
}

/// `chromedriver` from `CHROMEDRIVER` or `PATH`, Chromium from `CHROME` or the usual places
/// (Debian's `chromium` package puts the real binary under `/usr/lib/chromium`, behind a shell
/// launcher in `/usr/bin`).
fn binaries() -> Option<Binaries> {
    let from_env = |name: &str| {
        std::env::var_os(name)
            .map(PathBuf::from)
            .filter(|p| p.is_file())
    };
    let in_path = |name: &str| {
        std::env::var_os("PATH").and_then(|paths| {
            std::env::split_paths(&paths)
                .map(|dir| dir.join(name))
                .find(|p| p.is_file())
        })
    };
    let driver = from_env("CHROMEDRIVER").or_else(|| in_path("chromedriver"))?;
    let chromium = from_env("CHROME")
        .or_else(|| {
            [
                "/usr/lib/chromium/chromium",
                "/usr/lib/chromium-browser/chromium-browser",
            ]
            .iter()
            .map(PathBuf::from)
            .find(|p| p.is_file())
        })
        .or_else(|| in_path("chromium"))
        .or_else(|| in_path("chromium-browser"))
        .or_else(|| in_path("google-chrome"))?;
    Some(Binaries { driver, chromium })
}

/// The target directory: `CARGO_TARGET_DIR`, else the workspace's `target/`.
#[must_use]
pub fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"),
        PathBuf::from,
    )
}

/// A free loopback port (bound, then released for `chromedriver` to take).
fn free_port() -> std::io::Result<u16> {
    Ok(StdListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// A random hex string from the OS CSPRNG.
fn random_hex() -> String {
    let mut bytes = [0u8; 8];
    getrandom::fill(&mut bytes).expect("OS random numbers");
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A `chromedriver` process, killed on drop.
#[derive(Debug)]
struct Driver {
    child: Child,
    addr: SocketAddr,
}

impl Driver {
    fn start(binary: &Path) -> std::io::Result<Self> {
        let port = free_port()?;
        let child = Command::new(binary)
            .arg(format!("--port={port}"))
            .arg("--allowed-ips=127.0.0.1")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()?;
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        let mut driver = Self { child, addr };
        // Ready once it accepts connections; it prints nothing we need.
        for _ in 0..100 {
            if StdStream::connect_timeout(&addr, Duration::from_millis(100)).is_ok() {
                return Ok(driver);
            }
            if let Some(status) = driver.child.try_wait()? {
                return Err(std::io::Error::other(format!(
                    "chromedriver exited with {status}"
                )));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        driver.stop();
        Err(std::io::Error::other(
            "chromedriver did not listen within 10 s",
        ))
    }

    fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A fresh Chromium profile directory, removed on drop.
#[derive(Debug)]
struct Profile(PathBuf);

impl Profile {
    fn new() -> std::io::Result<Self> {
        let dir = std::env::temp_dir().join(format!("wechat-e2e-chromium-{}", random_hex()));
        std::fs::create_dir_all(&dir)?;
        Ok(Self(dir))
    }
}

impl Drop for Profile {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The Chromium switches: headless, a fresh profile, no background traffic, and every host
/// name but `127.0.0.1` unresolvable, so nothing leaves loopback.
fn chromium_args(profile: &Path) -> Vec<String> {
    [
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        "--window-size=800,1000",
        "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .chain([format!("--user-data-dir={}", profile.display())])
    .collect()
}

/// A ChromeDriver DevTools command (`POST /session/{id}/goog/cdp/execute`).
#[derive(Debug)]
struct Cdp {
    cmd: &'static str,
    params: Value,
}

impl WebDriverCompatibleCommand for Cdp {
    fn endpoint(
        &self,
        base_url: &url::Url,
        session_id: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base_url.join(&format!(
            "session/{}/goog/cdp/execute",
            session_id.unwrap_or_default()
        ))
    }

    fn method_and_body(&self, _request_url: &url::Url) -> (http::Method, Option<String>) {
        let body = json!({ "cmd": self.cmd, "params": self.params });
        (http::Method::POST, Some(body.to_string()))
    }
}

/// A handle on the browser's page for a test body: navigation, scripts, waits. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Page {
    client: Client,
    test: Arc<str>,
    step: Arc<Mutex<String>>,
}

impl Page {
    /// The WebDriver client, for what the helpers below do not cover.
    #[must_use]
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Names the step the test is at; a failure's screenshot carries it in its file name.
    pub fn step(&self, step: &str) {
        step.clone_into(&mut self.step.lock().expect("step lock"));
    }

    /// Runs `source` in every document this tab loads from now on, before the page's own
    /// scripts (DevTools `Page.addScriptToEvaluateOnNewDocument`): how a test plants a stub
    /// `WeixinJSBridge` or `wx`.
    ///
    /// # Panics
    ///
    /// When ChromeDriver refuses the command.
    pub async fn inject(&self, source: &str) {
        self.client
            .issue_cmd(Cdp {
                cmd: "Page.addScriptToEvaluateOnNewDocument",
                params: json!({ "source": source }),
            })
            .await
            .expect("Page.addScriptToEvaluateOnNewDocument");
    }

    /// Sets the user agent of this tab (DevTools `Emulation.setUserAgentOverride`).
    ///
    /// # Panics
    ///
    /// When ChromeDriver refuses the command.
    pub async fn set_user_agent(&self, user_agent: &str) {
        self.client
            .issue_cmd(Cdp {
                cmd: "Emulation.setUserAgentOverride",
                params: json!({ "userAgent": user_agent }),
            })
            .await
            .expect("Emulation.setUserAgentOverride");
    }

    /// Opens `url` and waits for it to load.
    ///
    /// # Panics
    ///
    /// When the browser cannot navigate.
    pub async fn goto(&self, url: &str) {
        self.client
            .goto(url)
            .await
            .unwrap_or_else(|e| panic!("open {url}: {e}"));
    }

    /// The page's current URL.
    ///
    /// # Panics
    ///
    /// When the browser does not answer.
    pub async fn url(&self) -> String {
        self.client.current_url().await.expect("current URL").into()
    }

    /// Runs `script` (a function body: `return …;`) in the page and returns its value.
    ///
    /// # Panics
    ///
    /// When the script throws.
    pub async fn eval(&self, script: &str) -> Value {
        self.client
            .execute(script, Vec::new())
            .await
            .unwrap_or_else(|e| panic!("script {script:?}: {e}"))
    }

    /// Runs `script` with WebDriver's async callback (`arguments[arguments.length - 1]`) and
    /// returns what it passed to it.
    ///
    /// # Panics
    ///
    /// When the script throws.
    pub async fn eval_async(&self, script: &str) -> Value {
        self.client
            .execute_async(script, Vec::new())
            .await
            .unwrap_or_else(|e| panic!("async script {script:?}: {e}"))
    }

    /// The first element matching `css`, now.
    async fn element(&self, css: &str) -> fantoccini::elements::Element {
        self.client
            .find(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("find {css}: {e}"))
    }

    /// The visible text of the first element matching `css`.
    ///
    /// # Panics
    ///
    /// When no element matches.
    pub async fn text(&self, css: &str) -> String {
        self.element(css)
            .await
            .text()
            .await
            .unwrap_or_else(|e| panic!("text of {css}: {e}"))
    }

    /// Whether the first element matching `css` is displayed.
    ///
    /// # Panics
    ///
    /// When no element matches.
    pub async fn is_displayed(&self, css: &str) -> bool {
        self.element(css)
            .await
            .is_displayed()
            .await
            .unwrap_or_else(|e| panic!("is {css} displayed: {e}"))
    }

    /// Clicks the first element matching `css`, waiting up to [`WAIT`] for it to exist.
    ///
    /// # Panics
    ///
    /// When none appears, or the click fails.
    pub async fn click(&self, css: &str) {
        let element = self
            .client
            .wait()
            .at_most(WAIT)
            .for_element(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("wait for {css}: {e}"));
        element
            .click()
            .await
            .unwrap_or_else(|e| panic!("click {css}: {e}"));
    }

    /// Polls `script` (a function body: `return …;`) until it returns something truthy (not
    /// `null`, `false`, `0` or `""`), for at most `timeout`; returns that value.
    ///
    /// # Panics
    ///
    /// After `timeout`, naming `what` and the last value seen.
    pub async fn wait_until(&self, what: &str, script: &str, timeout: Duration) -> Value {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let value = self.eval(script).await;
            let truthy = match &value {
                Value::Null | Value::Bool(false) => false,
                Value::String(s) => !s.is_empty(),
                Value::Number(n) => n.as_f64() != Some(0.0),
                _ => true,
            };
            if truthy {
                return value;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "waited {timeout:?} for {what}; last value {value}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Saves a screenshot of the page to `target/browser-screenshots/<test>-<step>.png`;
    /// returns its path, or why there is none.
    ///
    /// # Errors
    ///
    /// When the browser or the disk fails.
    pub async fn screenshot(&self, step: &str) -> Result<PathBuf, String> {
        let png = self
            .client
            .screenshot()
            .await
            .map_err(|e| format!("no screenshot: {e}"))?;
        let dir = target_dir().join("browser-screenshots");
        std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        let name: String = format!("{}-{step}", self.test)
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        let path = dir.join(format!("{name}.png"));
        std::fs::write(&path, png).map_err(|e| format!("{}: {e}", path.display()))?;
        Ok(path)
    }

    fn current_step(&self) -> String {
        self.step
            .lock()
            .map_or_else(|_| "unknown".into(), |s| s.clone())
    }
}

/// Skips the test (says so), or fails it when [`REQUIRE_VAR`] is `1`.
fn skip(test: &str, why: &str) {
    let required = std::env::var(REQUIRE_VAR).is_ok_and(|v| v == "1");
    assert!(!required, "{test}: {why}, and {REQUIRE_VAR}=1");
    println!("{test}: skipped: chromium not installed ({why})");
}

/// Runs `body` against a fresh headless Chromium, then closes it. Skips (prints `skipped:
/// chromium not installed`, returns) without Chromium or chromedriver, unless
/// `WECHAT_REQUIRE_BROWSER=1`.
///
/// On a failure of `body` (a panic, or [`TEST_TIMEOUT`]) the page's screenshot is saved (see
/// [`Page::screenshot`], named by the last [`Page::step`]) and the failure names its path.
///
/// # Panics
///
/// When `body` fails, or the browser cannot start although it is installed.
pub async fn run<F, Fut>(test: &str, body: F)
where
    F: FnOnce(Page) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let Some(binaries) = binaries() else {
        skip(test, "no chromedriver or chromium binary found");
        return;
    };
    let driver = Driver::start(&binaries.driver)
        .unwrap_or_else(|e| panic!("{test}: cannot start chromedriver: {e}"));
    let profile = Profile::new().unwrap_or_else(|e| panic!("{test}: profile directory: {e}"));
    let mut capabilities = serde_json::Map::new();
    capabilities.insert("browserName".into(), json!("chrome"));
    capabilities.insert(
        "goog:chromeOptions".into(),
        json!({
            "binary": binaries.chromium,
            "args": chromium_args(&profile.0),
        }),
    );
    let client = ClientBuilder::new(HttpConnector::new())
        .capabilities(capabilities)
        .connect(&format!("http://{}", driver.addr))
        .await
        .unwrap_or_else(|e| panic!("{test}: cannot open a Chromium session: {e}"));
    let page = Page {
        client: client.clone(),
        test: test.into(),
        step: Arc::new(Mutex::new("start".to_owned())),
    };
    let task = tokio::spawn(body(page.clone()));
    let abort = task.abort_handle();
    let failure = match tokio::time::timeout(TEST_TIMEOUT, task).await {
        Ok(Ok(())) => None,
        Ok(Err(join)) => Some(match join.try_into_panic() {
            Ok(payload) => payload
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| payload.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                .unwrap_or_else(|| "panicked".to_owned()),
            Err(join) => join.to_string(),
        }),
        Err(_) => {
            abort.abort();
            Some(format!("did not finish within {TEST_TIMEOUT:?}"))
        }
    };
    let shot = match &failure {
        Some(_) => Some(page.screenshot(&page.current_step()).await),
        None => None,
    };
    // Ends the session: Chromium quits, then the driver is killed (on drop).
    let _ = client.close().await;
    drop(driver);
    drop(profile);
    if let Some(message) = failure {
        let shot = match shot {
            Some(Ok(path)) => format!("screenshot of the page: {}", path.display()),
            Some(Err(why)) => why,
            None => String::new(),
        };
        panic!(
            "{test} failed at step `{}`: {message}\n{shot}",
            page.current_step()
        );
    }
}
