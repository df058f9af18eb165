//! The `mp-tools` binary against `MockWechat` on 127.0.0.1: a code written as a PNG of the
//! requested width, a risky text exiting 2, an article published to its URL, WeChat's errors
//! exiting 1 with their code and meaning, a missing setting named.

#![allow(
    clippy::unwrap_used,
    reason = "test helpers: a failure is a test failure"
)]

use std::path::{Path, PathBuf};
use std::time::Duration;

use wechat_tower::client::PublishStatus;
use wechat_tower::test_util::mock::MockWechat;

/// What a run of the binary left: its exit code and what it printed.
struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

/// Runs `mp-tools args` with only the settings of `wechat` in its environment (none with
/// `None`), in the package directory, so `cover.png` and `article.html` are at hand.
async fn mp_tools(wechat: Option<&MockWechat>, args: &[&str]) -> Run {
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_mp-tools"));
    command
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env_clear()
        .env("RUST_LOG", "warn")
        .kill_on_drop(true);
    if let Some(wechat) = wechat {
        command
            .env("WECHAT_APPID", wechat.app_id())
            .env("WECHAT_APPSECRET", wechat.app_secret())
            .env("WECHAT_API_BASE", wechat.base_url());
    }
    let output = tokio::time::timeout(Duration::from_secs(60), command.output())
        .await
        .expect("mp-tools still running after 60 s")
        .unwrap();
    Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8(output.stdout).unwrap(),
        stderr: String::from_utf8(output.stderr).unwrap(),
    }
}

/// A fresh directory under the target directory's temporary space, removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> Self {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
            .join(format!("mp-tools-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Width and height of a PNG, from its IHDR chunk (which must come first).
fn png_size(png: &[u8]) -> (u32, u32) {
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"), "not a PNG");
    assert_eq!(&png[12..16], b"IHDR", "IHDR is not the first chunk");
    let be = |at: usize| u32::from_be_bytes(png[at..at + 4].try_into().unwrap());
    (be(16), be(20))
}

/// `publish` of the sample article with title `T` and the sample cover, then `extra`.
fn publish_args<'a>(extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec![
        "publish",
        "--title",
        "T",
        "--content-file",
        "article.html",
        "--cover",
        "cover.png",
    ];
    args.extend_from_slice(extra);
    args
}

#[tokio::test(flavor = "multi_thread")]
async fn a_poster_code_is_written_as_a_png_of_the_requested_width() {
    let wechat = MockWechat::start().await.unwrap();
    let dir = TempDir::new("code");
    let out = dir.0.join("shop.png");
    let run = mp_tools(
        Some(&wechat),
        &[
            "code",
            "--scene",
            "shop=42",
            "--page",
            "pages/shop/index",
            "--width",
            "280",
            "--env",
            "trial",
            "--out",
            out.to_str().unwrap(),
        ],
    )
    .await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    let png = std::fs::read(&out).unwrap();
    assert_eq!(png_size(&png), (280, 280));
    assert_eq!(
        run.stdout.trim(),
        format!("{}: {} bytes, image/png", out.display(), png.len())
    );
    assert!(
        !dir.0.join("shop.png.part").exists(),
        "the partial file is left"
    );
    let sent = wechat
        .last_request("/wxa/getwxacodeunlimit")
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(sent["scene"], "shop=42");
    assert_eq!(sent["page"], "pages/shop/index");
    assert_eq!(sent["env_version"], "trial");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_limited_code_of_a_path_defaults_to_code_png() {
    let wechat = MockWechat::start().await.unwrap();
    let dir = TempDir::new("path");
    let out = dir.0.join("code.png");
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_mp-tools"));
    let output = command
        .args(["code", "--path", "pages/goods/detail?id=7"])
        .current_dir(&dir.0)
        .env_clear()
        .env("WECHAT_APPID", wechat.app_id())
        .env("WECHAT_APPSECRET", wechat.app_secret())
        .env("WECHAT_API_BASE", wechat.base_url())
        .output()
        .await
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    // WeChat's default width.
    assert_eq!(png_size(&std::fs::read(out).unwrap()), (430, 430));
    assert_eq!(wechat.calls("/wxa/getwxacode"), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_code_of_an_unpublished_page_fails_with_the_meaning_and_leaves_no_file() {
    let wechat = MockWechat::start().await.unwrap();
    let dir = TempDir::new("unpublished");
    let out = dir.0.join("code.png");
    let run = mp_tools(
        Some(&wechat),
        &[
            "code",
            "--scene",
            "x=1",
            "--page",
            "pages/nowhere/index",
            "--out",
            out.to_str().unwrap(),
        ],
    )
    .await;
    assert_eq!(run.code, 1);
    assert!(run.stderr.contains("WeChat error 41030"), "{}", run.stderr);
    assert!(run.stderr.contains("not published"), "{}", run.stderr);
    assert!(!out.exists());
    assert_eq!(std::fs::read_dir(&dir.0).unwrap().count(), 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_verdict_of_a_text_is_its_exit_code() {
    let wechat = MockWechat::start().await.unwrap();
    let check = |text: &'static str| {
        let wechat = &wechat;
        async move { mp_tools(Some(wechat), &["check", text, "--openid", "oUser1"]).await }
    };

    let pass = check("Nice shop, fast delivery!").await;
    assert_eq!(pass.code, 0, "{}", pass.stderr);
    assert!(
        pass.stdout
            .starts_with("suggest  pass\nlabel    100 normal\n")
    );

    let risky = check("come gamble with us").await;
    assert_eq!(risky.code, 2, "{}", risky.stderr);
    assert!(
        risky.stdout.starts_with(
            "suggest  risky\nlabel    20006 illegal acts (违法犯罪)\nkeyword  gamble (keyword)\n"
        ),
        "{}",
        risky.stdout
    );

    let review = check("buy now, half price").await;
    assert_eq!(review.code, 2);
    assert!(review.stdout.starts_with("suggest  review\nlabel    10001"));

    let sent = wechat.last_request("/wxa/msg_sec_check").unwrap();
    let sent = sent.json().unwrap();
    assert_eq!(
        (sent["version"].as_u64(), sent["scene"].as_u64()),
        (Some(2), Some(2))
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_article_is_published_and_its_url_printed() {
    let wechat = MockWechat::start().await.unwrap();
    let run = mp_tools(
        Some(&wechat),
        &[
            "publish",
            "--title",
            "Our shop is open",
            "--author",
            "The shop",
            "--content-file",
            "article.html",
            "--cover",
            "cover.png",
            "--poll-secs",
            "1",
        ],
    )
    .await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    let mut lines = run.stdout.lines();
    assert!(
        lines
            .next()
            .unwrap()
            .starts_with("published: article_id mock-article-")
    );
    let url = lines.next().unwrap();
    assert!(
        url.starts_with("article 1: http://mp.weixin.qq.com/s/mock-article-"),
        "{url}"
    );
    // The mock's job ends at its second poll.
    assert_eq!(wechat.calls("/cgi-bin/freepublish/get"), 2);
    assert!(run.stderr.contains("publishing; asking again in 1 s"));

    let upload = wechat
        .last_request("/cgi-bin/material/add_material")
        .unwrap();
    assert_eq!(upload.query("type"), Some("image"));
    let cover = std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("cover.png")).unwrap();
    assert!(
        upload
            .body
            .windows(cover.len())
            .any(|w| w == cover.as_slice()),
        "the cover's bytes are not in the upload"
    );
    let draft = wechat.last_request("/cgi-bin/draft/add").unwrap();
    let article = &draft.json().unwrap()["articles"][0];
    assert_eq!(article["title"], "Our shop is open");
    assert_eq!(article["author"], "The shop");
    assert!(
        article["content"]
            .as_str()
            .unwrap()
            .contains("<h2>Our shop is open</h2>")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_job_refused_by_the_review_exits_1_naming_its_status_and_articles() {
    let wechat = MockWechat::start().await.unwrap();
    wechat.fail_next_publish(PublishStatus::ReviewRefused, &[1]);
    let run = mp_tools(Some(&wechat), &publish_args(&["--poll-secs", "1"])).await;
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stderr.contains(
            "publishing failed: refused by the platform's review (平台审核不通过) (publish_status 4); failed articles: 1"
        ),
        "{}",
        run.stderr
    );
    assert!(!run.stdout.contains("published:"), "{}", run.stdout);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_job_still_publishing_at_the_deadline_is_reported_with_its_id() {
    let wechat = MockWechat::start().await.unwrap();
    let run = mp_tools(
        Some(&wechat),
        &publish_args(&["--poll-secs", "1", "--deadline-secs", "1"]),
    )
    .await;
    assert_eq!(run.code, 1);
    assert!(
        run.stderr.contains("still publishing at the 1 s deadline"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("publish_id 1000000"), "{}", run.stderr);
    assert_eq!(wechat.calls("/cgi-bin/freepublish/get"), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_wechat_error_exits_1_with_its_code_and_meaning() {
    let wechat = MockWechat::start().await.unwrap();
    wechat.fail_next("/wxa/msg_sec_check", 1, 61010);
    let run = mp_tools(Some(&wechat), &["check", "hello", "--openid", "oUser1"]).await;
    assert_eq!(run.code, 1);
    assert!(
        run.stderr.contains(
            "mp-tools: wxa/msg_sec_check: WeChat error 61010 (the user has not opened the Mini \
             Program in the last two hours (用户访问记录超时))"
        ),
        "{}",
        run.stderr
    );
    assert_eq!(run.stdout, "");

    wechat.fail_next("/cgi-bin/freepublish/submit", 1, 53503);
    let run = mp_tools(Some(&wechat), &publish_args(&[])).await;
    assert_eq!(run.code, 1);
    assert!(
        run.stderr.contains(
            "freepublish/submit: WeChat error 53503 (the draft did not pass the publishing check)"
        ),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("stays in the draft box"));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_missing_setting_is_named() {
    let run = mp_tools(None, &["check", "hello", "--openid", "oUser1"]).await;
    assert_eq!(run.code, 1);
    assert_eq!(run.stderr.trim(), "mp-tools: WECHAT_APPID is not set");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_bad_command_line_is_named_before_anything_is_sent() {
    let wechat = MockWechat::start().await.unwrap();
    for (args, message) in [
        (
            &["code", "--page", "pages/shop/index"][..],
            "--scene (or --path) is required",
        ),
        (
            &["code", "--scene", "a", "--path", "b"],
            "give --scene or --path, not both",
        ),
        (&["code", "--scene", "a", "--env", "beta"], "--env: `beta`"),
        (
            &["check", "a", "b", "--openid", "o"],
            "2 arguments where one",
        ),
        (
            &["check", "a", "--openid", "o", "--scene", "chat"],
            "--scene: `chat`",
        ),
        (&["publish", "--title", "T"], "--content-file is required"),
        (&["frobnicate"], "unknown command `frobnicate`"),
        (
            &["code", "--scene", "a", "--colour", "red"],
            "unknown option --colour",
        ),
    ] {
        let run = mp_tools(Some(&wechat), args).await;
        assert_eq!(run.code, 1, "{args:?}");
        assert!(run.stderr.contains(message), "{args:?}: {}", run.stderr);
        assert!(run.stderr.contains("usage: mp-tools"), "{args:?}");
    }
    assert_eq!(wechat.token_fetches(), 0);
}
