//! Issue 15, the Official Account's publishing layer end to end against `MockWechat` on
//! 127.0.0.1: conditional menus, permanent material (streamed uploads), drafts and publishing.
//! Each call: its success, its typed error, and a token refused in the middle (40001: one
//! refresh, one retry), uploads included — a path is reopened for the retry, a one-shot reader
//! is not retried. A 64 MiB upload goes through a counting transport to show it is never held
//! whole in memory.

#![allow(
    clippy::unwrap_used,
    reason = "test helpers: a failure is a test failure"
)]

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use bytes::Bytes;
use http::{Request, Response};
use http_body_util::BodyExt as _;
use serde_json::json;
use wechat_tower::client::{
    Article, Button, ClientError, ConditionalMenu, HttpTransport, MatchRule, MaterialFile,
    MaterialType, MediaFile, MediaType, Menu, PublishStatus, Transport, TransportBody, Upload,
    VideoDescription, WechatClient,
};
use wechat_tower::test_util::mock::MockWechat;

async fn mock() -> MockWechat {
    MockWechat::builder()
        .token_overlap(Duration::ZERO)
        .start()
        .await
        .unwrap()
}

fn client(wechat: &MockWechat) -> WechatClient {
    WechatClient::builder(wechat.app_id(), wechat.app_secret())
        .api_base(wechat.base_url())
        .build()
        .unwrap()
}

/// A file of `data` in a fresh temporary directory, removed when dropped.
struct TempFile(PathBuf);

impl TempFile {
    fn new(name: &str, data: &[u8]) -> Self {
        let mut random = [0u8; 8];
        getrandom::fill(&mut random).unwrap();
        let dir = std::env::temp_dir().join(format!("wechat-e2e-{}", u64::from_le_bytes(random)));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(name);
        std::fs::write(&path, data).unwrap();
        Self(path)
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        if let Some(dir) = self.0.parent() {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

fn errcode<T: std::fmt::Debug>(result: Result<T, ClientError>) -> i64 {
    result.unwrap_err().errcode().unwrap()
}

// ---------------------------------------------------------------------------------------------
// Conditional menus
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn conditional_menus_are_added_matched_listed_and_deleted() {
    let wechat = mock().await;
    let client = client(&wechat);
    client
        .menu()
        .create(&Menu::new(vec![
            Button::click("Default", "D"),
            Button::sub_menu("More", vec![Button::view("Site", "https://example.com/")]),
        ]))
        .await
        .unwrap();
    let ios = ConditionalMenu::new(vec![Button::click("iOS", "I")], MatchRule::platform("1"));
    let ios_id = client.menu().add_conditional(&ios).await.unwrap();
    let tagged = ConditionalMenu::new(vec![Button::click("VIP", "V")], MatchRule::tag("2"));
    let tagged_id = client.menu().add_conditional(&tagged).await.unwrap();
    assert_ne!(ios_id, tagged_id);
    // The rule went out typed, without unset fields.
    let sent = wechat
        .last_request("/cgi-bin/menu/addconditional")
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(sent["matchrule"], json!({ "tag_id": "2" }));

    let info = client.menu().get().await.unwrap();
    assert_eq!(info.conditionalmenu.len(), 2);
    assert_eq!(info.conditionalmenu[0].menuid, Some(ios_id));
    assert_eq!(
        info.conditionalmenu[0]
            .matchrule
            .client_platform_type
            .as_deref(),
        Some("1")
    );
    // Mock followers have no tags: the platform menu matches them.
    assert_eq!(
        client.menu().try_match("oUser1").await.unwrap(),
        [Button::click("iOS", "I")]
    );
    client.menu().delete_conditional(ios_id).await.unwrap();
    assert_eq!(
        client.menu().try_match("oUser1").await.unwrap()[0],
        Button::click("Default", "D")
    );

    let current = client.menu().current_selfmenu_info().await.unwrap();
    assert_eq!(current.is_menu_open, 1);
    let buttons = current.selfmenu_info.unwrap().button;
    assert_eq!(buttons[0].kind.as_deref(), Some("click"));
    assert_eq!(buttons[0].key.as_deref(), Some("D"));
    let sub = &buttons[1].sub_button.as_ref().unwrap().list[0];
    assert_eq!(sub.url.as_deref(), Some("https://example.com/"));

    client.menu().delete().await.unwrap();
    let current = client.menu().current_selfmenu_info().await.unwrap();
    assert_eq!((current.is_menu_open, current.selfmenu_info), (0, None));
}

#[tokio::test]
async fn conditional_menu_errors_are_typed() {
    let wechat = mock().await;
    let client = client(&wechat);
    let ios = ConditionalMenu::new(vec![Button::click("iOS", "I")], MatchRule::platform("1"));
    // No default menu yet.
    let err = client.menu().add_conditional(&ios).await.unwrap_err();
    assert_eq!(err.errcode(), Some(65303));
    assert!(err.to_string().contains("no default menu"), "{err}");
    client
        .menu()
        .create(&Menu::new(vec![Button::click("Default", "D")]))
        .await
        .unwrap();
    let empty = ConditionalMenu::new(vec![Button::click("x", "X")], MatchRule::default());
    assert_eq!(errcode(client.menu().add_conditional(&empty).await), 65304);
    let city_only = ConditionalMenu::new(
        vec![Button::click("x", "X")],
        serde_json::from_value(json!({ "city": "广州" })).unwrap(),
    );
    assert_eq!(
        errcode(client.menu().add_conditional(&city_only).await),
        65310
    );
    assert_eq!(errcode(client.menu().delete_conditional(999).await), 65301);
    let err = client.menu().try_match("oStranger").await.unwrap_err();
    assert_eq!(err.errcode(), Some(65302));
    assert_eq!(err.wechat().unwrap().meaning(), Some("no such user"));
    wechat.fail_next("/cgi-bin/get_current_selfmenu_info", 1, 48001);
    assert_eq!(errcode(client.menu().current_selfmenu_info().await), 48001);
}

#[tokio::test]
async fn conditional_menus_survive_a_refused_token() {
    let wechat = mock().await;
    let client = client(&wechat);
    client
        .menu()
        .create(&Menu::new(vec![Button::click("Default", "D")]))
        .await
        .unwrap();
    let ios = ConditionalMenu::new(vec![Button::click("iOS", "I")], MatchRule::platform("1"));
    for path in [
        "/cgi-bin/menu/addconditional",
        "/cgi-bin/menu/trymatch",
        "/cgi-bin/get_current_selfmenu_info",
    ] {
        wechat.fail_next(path, 1, 40001);
    }
    let id = client.menu().add_conditional(&ios).await.unwrap();
    assert_eq!(wechat.calls("/cgi-bin/menu/addconditional"), 2);
    assert_eq!(
        client.menu().try_match("oUser2").await.unwrap()[0].name,
        "iOS"
    );
    assert!(client.menu().current_selfmenu_info().await.is_ok());
    wechat.fail_next("/cgi-bin/menu/delconditional", 1, 42001);
    client.menu().delete_conditional(id).await.unwrap();
    assert_eq!(wechat.calls("/cgi-bin/menu/delconditional"), 2);
    assert_eq!(wechat.token_fetches(), 5);
}

// ---------------------------------------------------------------------------------------------
// Permanent material
// ---------------------------------------------------------------------------------------------

const JPEG: &[u8] = b"\xff\xd8\xff\xe0 a small jpeg";

#[tokio::test]
async fn materials_are_added_from_paths_bytes_and_readers_then_read_listed_and_deleted() {
    let wechat = mock().await;
    let client = client(&wechat);
    let poster = TempFile::new("poster.jpg", JPEG);
    let image = client
        .material()
        .add(MediaType::Image, Upload::path(&poster.0))
        .await
        .unwrap();
    assert!(image.url.as_deref().unwrap().contains(&image.media_id));
    let thumb = client
        .material()
        .add(
            MediaType::Thumb,
            Upload::bytes("t.jpg", "image/jpeg", Bytes::from_static(JPEG)),
        )
        .await
        .unwrap();
    assert_eq!(thumb.url, None);
    let voice = client
        .material()
        .add(
            MediaType::Voice,
            Upload::reader("v.amr", "audio/amr", &b"#!AMR voice"[..], Some(11)),
        )
        .await
        .unwrap();
    let clip = TempFile::new("clip.mp4", b"....ftypmp42 video");
    let video = client
        .material()
        .add_video(
            Upload::path(&clip.0),
            &VideoDescription::new("Launch", "Our launch day"),
        )
        .await
        .unwrap();
    let figure = client
        .material()
        .upload_article_image(Upload::bytes("f.png", "image/png", &b"\x89PNG figure"[..]))
        .await
        .unwrap();
    assert!(figure.starts_with("http://mmbiz.qpic.cn/"), "{figure}");

    // The path's name and content type went into the form.
    let upload = wechat.requests("/cgi-bin/material/add_material").remove(0);
    let body = String::from_utf8_lossy(&upload.body).into_owned();
    assert!(
        body.contains("filename=\"poster.jpg\"\r\nContent-Type: image/jpeg"),
        "{body}"
    );
    assert_eq!(
        upload.headers["content-length"].to_str().unwrap(),
        upload.body.len().to_string()
    );

    match client.material().get(&image.media_id).await.unwrap() {
        MaterialFile::File { data, filename, .. } => {
            assert_eq!(&data[..], JPEG);
            assert_eq!(filename.as_deref(), Some("poster.jpg"));
        }
        other => panic!("{other:?}"),
    }
    match client.material().get(&voice.media_id).await.unwrap() {
        MaterialFile::File { data, .. } => assert_eq!(&data[..], b"#!AMR voice"),
        other => panic!("{other:?}"),
    }
    match client.material().get(&video.media_id).await.unwrap() {
        MaterialFile::Video {
            title,
            description,
            down_url,
        } => {
            assert_eq!(
                (title.as_str(), description.as_str()),
                ("Launch", "Our launch day")
            );
            assert!(down_url.contains(&video.media_id));
        }
        other => panic!("{other:?}"),
    }

    let count = client.material().count().await.unwrap();
    assert_eq!(
        (
            count.image_count,
            count.voice_count,
            count.video_count,
            count.news_count
        ),
        (2, 1, 1, 0)
    );
    let images = client
        .material()
        .batch_get(MaterialType::Image, 0, 20)
        .await
        .unwrap();
    assert_eq!(images.total_count, 2);
    // Newest first.
    assert_eq!(images.item[0].media_id, thumb.media_id);
    assert_eq!(images.item[1].name.as_deref(), Some("poster.jpg"));
    let page = client
        .material()
        .batch_get(MaterialType::Image, 1, 1)
        .await
        .unwrap();
    assert_eq!((page.total_count, page.item_count), (2, 1));

    client.material().delete(&voice.media_id).await.unwrap();
    assert_eq!(errcode(client.material().get(&voice.media_id).await), 40007);
    assert_eq!(client.material().count().await.unwrap().voice_count, 0);
}

#[tokio::test]
async fn material_errors_are_typed_and_a_video_without_description_is_not_sent() {
    let wechat = mock().await;
    let client = client(&wechat);
    let err = client
        .material()
        .add(
            MediaType::Video,
            Upload::bytes("v.mp4", "video/mp4", &b"v"[..]),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, ClientError::Request(_)), "{err:?}");
    assert_eq!(wechat.calls("/cgi-bin/material/add_material"), 0);

    let err = client
        .material()
        .add(
            MediaType::Image,
            Upload::bytes("evil.exe", "image/jpeg", JPEG),
        )
        .await
        .unwrap_err();
    assert_eq!(err.errcode(), Some(40005));
    assert!(err.to_string().contains("invalid file type"), "{err}");
    // Oversized: a thumbnail is at most 64 KiB.
    let big = vec![0u8; 64 * 1024 + 1];
    let err = client
        .material()
        .add(MediaType::Thumb, Upload::bytes("t.jpg", "image/jpeg", big))
        .await
        .unwrap_err();
    assert_eq!(err.errcode(), Some(40012));
    assert!(err.to_string().contains("thumbnail size"), "{err}");
    assert_eq!(
        errcode(
            client
                .material()
                .upload_article_image(Upload::bytes("a.gif", "image/gif", &b"GIF89a"[..]))
                .await
        ),
        40005
    );
    let err = client
        .material()
        .add(
            MediaType::Image,
            Upload::path("/nonexistent/wechat/poster.jpg"),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, ClientError::Request(_)), "{err:?}");
    assert_eq!(errcode(client.material().get("nope").await), 40007);
    assert_eq!(errcode(client.material().delete("nope").await), 40007);
    assert_eq!(
        errcode(client.material().batch_get(MaterialType::Voice, 0, 0).await),
        47001
    );
    wechat.fail_next("/cgi-bin/material/get_materialcount", 1, 45009);
    let err = client.material().count().await.unwrap_err();
    assert_eq!(err.errcode(), Some(45009));
}

#[tokio::test]
async fn a_path_upload_is_reopened_for_the_token_retry() {
    let wechat = mock().await;
    let client = client(&wechat);
    let poster = TempFile::new("poster.jpg", JPEG);
    client.access_token().await.unwrap();
    wechat.fail_next("/cgi-bin/material/add_material", 1, 40001);
    let added = client
        .material()
        .add(MediaType::Image, Upload::path(&poster.0))
        .await
        .unwrap();
    assert!(!added.media_id.is_empty());
    let sent = wechat.requests("/cgi-bin/material/add_material");
    assert_eq!(sent.len(), 2);
    assert_eq!(wechat.token_fetches(), 2);
    // The second request carried the whole file again, with the fresh token.
    for request in &sent {
        assert!(
            memchr_find(&request.body, JPEG),
            "{:?}",
            String::from_utf8_lossy(&request.body)
        );
    }
    assert_ne!(sent[0].query("access_token"), sent[1].query("access_token"));
    // Bytes are replayed the same way, on temporary media too.
    wechat.fail_next("/cgi-bin/media/upload", 1, 42001);
    let media = client
        .media()
        .upload_from(MediaType::Image, Upload::path(&poster.0))
        .await
        .unwrap();
    assert_eq!(wechat.calls("/cgi-bin/media/upload"), 2);
    match client.media().get(&media.media_id).await.unwrap() {
        MediaFile::File { data, .. } => assert_eq!(&data[..], JPEG),
        other => panic!("{other:?}"),
    }
    wechat.fail_next("/cgi-bin/media/uploadimg", 1, 40014);
    client
        .material()
        .upload_article_image(Upload::bytes("f.png", "image/png", &b"\x89PNG"[..]))
        .await
        .unwrap();
    assert_eq!(wechat.calls("/cgi-bin/media/uploadimg"), 2);
}

#[tokio::test]
async fn a_one_shot_reader_is_not_retried_but_the_token_is_replaced() {
    let wechat = mock().await;
    let client = client(&wechat);
    client.access_token().await.unwrap();
    wechat.fail_next("/cgi-bin/material/add_material", 1, 40001);
    let upload = Upload::reader("v.amr", "audio/amr", &b"#!AMR"[..], None);
    assert!(!upload.is_replayable());
    let err = client
        .material()
        .add(MediaType::Voice, upload)
        .await
        .unwrap_err();
    assert_eq!(err.errcode(), Some(40001));
    assert_eq!(wechat.calls("/cgi-bin/material/add_material"), 1);
    // Chunked: the reader's length was not given.
    let sent = wechat
        .last_request("/cgi-bin/material/add_material")
        .unwrap();
    assert!(!sent.headers.contains_key("content-length"));
    // The refused token was replaced: the next upload goes through at once.
    assert_eq!(wechat.token_fetches(), 2);
    client
        .material()
        .add(
            MediaType::Voice,
            Upload::reader("v.amr", "audio/amr", &b"#!AMR"[..], None),
        )
        .await
        .unwrap();
    assert_eq!(wechat.calls("/cgi-bin/material/add_material"), 2);
    assert_eq!(wechat.token_fetches(), 2);
}

#[tokio::test]
async fn material_reads_survive_a_refused_token() {
    let wechat = mock().await;
    let client = client(&wechat);
    let added = client
        .material()
        .add(MediaType::Image, Upload::bytes("a.jpg", "image/jpeg", JPEG))
        .await
        .unwrap();
    for path in [
        "/cgi-bin/material/get_material",
        "/cgi-bin/material/get_materialcount",
        "/cgi-bin/material/batchget_material",
        "/cgi-bin/material/del_material",
    ] {
        wechat.fail_next(path, 1, 40001);
    }
    assert!(matches!(
        client.material().get(&added.media_id).await.unwrap(),
        MaterialFile::File { .. }
    ));
    assert_eq!(client.material().count().await.unwrap().image_count, 1);
    assert_eq!(
        client
            .material()
            .batch_get(MaterialType::Image, 0, 5)
            .await
            .unwrap()
            .item_count,
        1
    );
    client.material().delete(&added.media_id).await.unwrap();
    assert_eq!(wechat.token_fetches(), 5);
}

#[tokio::test]
async fn a_streamed_upload_keeps_the_client_time_limit() {
    let wechat = mock().await;
    let client = WechatClient::builder(wechat.app_id(), wechat.app_secret())
        .api_base(wechat.base_url())
        .timeout(Duration::from_millis(200))
        .build()
        .unwrap();
    wechat.set_endpoint_latency("/cgi-bin/material/add_material", Duration::from_secs(5));
    let err = client
        .material()
        .add(MediaType::Image, Upload::bytes("a.jpg", "image/jpeg", JPEG))
        .await
        .unwrap_err();
    assert!(matches!(err, ClientError::Timeout), "{err:?}");
}

fn memchr_find(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

// ---------------------------------------------------------------------------------------------
// 64 MiB: streamed, never whole in memory
// ---------------------------------------------------------------------------------------------

/// FNV-1a, 64 bits: a checksum computed as bytes stream by.
#[derive(Clone, Copy)]
struct Fnv(u64);

impl Fnv {
    const fn new() -> Self {
        Self(0xcbf2_9ce4_8422_2325)
    }

    fn update(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 ^= u64::from(b);
            self.0 = self.0.wrapping_mul(0x0100_0000_01b3);
        }
    }
}

/// What the loopback "WeChat" saw of the upload.
#[derive(Default)]
struct Received {
    bytes: AtomicU64,
    checksum: AtomicU64,
    frames: AtomicUsize,
    content_length: AtomicU64,
    boundary: std::sync::Mutex<String>,
}

/// A loopback server playing WeChat for one upload: tokens on `stable_token`, and for
/// `add_material` the body read frame by frame (never collected), counted and checksummed.
async fn hashing_wechat(
    received: Arc<Received>,
) -> (std::net::SocketAddr, tokio::task::JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let task = tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let received = Arc::clone(&received);
            tokio::spawn(async move {
                let service =
                    hyper::service::service_fn(move |req: Request<hyper::body::Incoming>| {
                        let received = Arc::clone(&received);
                        async move {
                            if req.uri().path() == "/cgi-bin/stable_token" {
                                let body = r#"{"access_token":"T","expires_in":7200}"#;
                                return Ok::<_, std::convert::Infallible>(Response::new(
                                    http_body_util::Full::new(Bytes::from_static(body.as_bytes())),
                                ));
                            }
                            let header = |name: &str| {
                                req.headers()
                                    .get(name)
                                    .and_then(|v| v.to_str().ok())
                                    .unwrap_or_default()
                                    .to_owned()
                            };
                            received.content_length.store(
                                header("content-length").parse().unwrap_or(0),
                                Ordering::SeqCst,
                            );
                            *received.boundary.lock().unwrap() = header("content-type")
                                .rsplit_once("boundary=")
                                .map(|(_, b)| b.to_owned())
                                .unwrap_or_default();
                            let mut body = req.into_body();
                            let mut fnv = Fnv::new();
                            while let Some(frame) = body.frame().await {
                                let Ok(frame) = frame else { break };
                                if let Some(data) = frame.data_ref() {
                                    fnv.update(data);
                                    received.frames.fetch_add(1, Ordering::SeqCst);
                                    received
                                        .bytes
                                        .fetch_add(data.len() as u64, Ordering::SeqCst);
                                }
                            }
                            received.checksum.store(fnv.0, Ordering::SeqCst);
                            let body = r#"{"media_id":"BIG","url":"http://mmbiz.qpic.cn/big"}"#;
                            Ok(Response::new(http_body_util::Full::new(
                                Bytes::from_static(body.as_bytes()),
                            )))
                        }
                    });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    (addr, task)
}

/// The 64 MiB file: pseudo-random bytes (xorshift), written 1 MiB at a time.
fn big_file(len: usize) -> (TempFile, Fnv) {
    let file = TempFile::new("big.jpg", b"");
    let mut out = std::io::BufWriter::new(std::fs::File::create(&file.0).unwrap());
    let mut state = 0x9e37_79b9_7f4a_7c15_u64;
    let mut fnv = Fnv::new();
    let mut block = vec![0u8; 1 << 20];
    for _ in 0..len / block.len() {
        for chunk in block.chunks_mut(8) {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            chunk.copy_from_slice(&state.to_le_bytes());
        }
        fnv.update(&block);
        std::io::Write::write_all(&mut out, &block).unwrap();
    }
    std::io::Write::flush(&mut out).unwrap();
    (file, fnv)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_64_mib_upload_streams_in_small_chunks_and_arrives_whole() {
    const LEN: usize = 64 << 20;
    let (file, _) = big_file(LEN);
    let received = Arc::new(Received::default());
    let (addr, _server) = hashing_wechat(Arc::clone(&received)).await;

    // The default transport's request-streaming face, with every frame it is handed measured.
    let http = HttpTransport::new().unwrap();
    let largest = Arc::new(AtomicUsize::new(0));
    let frames = Arc::new(AtomicUsize::new(0));
    let (seen_largest, seen_frames) = (Arc::clone(&largest), Arc::clone(&frames));
    let sender = http.clone();
    let transport = Transport::new(http).with_streaming_requests(tower::service_fn(
        move |req: Request<TransportBody>| {
            let (largest, frames) = (Arc::clone(&seen_largest), Arc::clone(&seen_frames));
            let req = req.map(|body| {
                body.map_frame(move |frame| {
                    if let Some(data) = frame.data_ref() {
                        largest.fetch_max(data.len(), Ordering::SeqCst);
                        frames.fetch_add(1, Ordering::SeqCst);
                    }
                    frame
                })
                .boxed_unsync()
            });
            sender.send_streaming(req)
        },
    ));
    assert!(transport.streams_requests());
    let client = WechatClient::builder("wxbig", "secret")
        .api_base(format!("http://{addr}"))
        .transport(transport)
        .timeout(Duration::from_secs(300))
        .build()
        .unwrap();
    let added = client
        .material()
        .add(MediaType::Image, Upload::path(&file.0))
        .await
        .unwrap();
    assert_eq!(added.media_id, "BIG");

    // The client never held more than one 64 KiB chunk of the file.
    let largest = largest.load(Ordering::SeqCst);
    assert!(largest <= 64 * 1024, "largest frame {largest} bytes");
    assert!(frames.load(Ordering::SeqCst) >= LEN / (64 * 1024));

    // What arrived is the form around the file, byte for byte, with its length announced.
    let boundary = received.boundary.lock().unwrap().clone();
    let head = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"media\"; filename=\"big.jpg\"\r\n\
         Content-Type: image/jpeg\r\n\r\n"
    );
    let tail = format!("\r\n--{boundary}--\r\n");
    let total = (head.len() + LEN + tail.len()) as u64;
    assert_eq!(received.bytes.load(Ordering::SeqCst), total);
    assert_eq!(received.content_length.load(Ordering::SeqCst), total);
    let mut expected = Fnv::new();
    expected.update(head.as_bytes());
    let mut reader = std::io::BufReader::new(std::fs::File::open(&file.0).unwrap());
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = std::io::Read::read(&mut reader, &mut buf).unwrap();
        if n == 0 {
            break;
        }
        expected.update(&buf[..n]);
    }
    expected.update(tail.as_bytes());
    assert_eq!(received.checksum.load(Ordering::SeqCst), expected.0);
    assert!(received.frames.load(Ordering::SeqCst) > 1);
}

#[tokio::test]
async fn a_transport_without_request_streaming_gets_the_collected_body() {
    let wechat = mock().await;
    // Buffered only: `send_streaming` collects the form and sends it whole.
    let transport = Transport::new(HttpTransport::new().unwrap());
    assert!(!transport.streams_requests());
    let client = WechatClient::builder(wechat.app_id(), wechat.app_secret())
        .api_base(wechat.base_url())
        .transport(transport)
        .build()
        .unwrap();
    let poster = TempFile::new("poster.jpg", JPEG);
    wechat.fail_next("/cgi-bin/material/add_material", 1, 40001);
    let added = client
        .material()
        .add(MediaType::Image, Upload::path(&poster.0))
        .await
        .unwrap();
    assert_eq!(wechat.calls("/cgi-bin/material/add_material"), 2);
    match client.material().get(&added.media_id).await.unwrap() {
        MaterialFile::File { data, .. } => assert_eq!(&data[..], JPEG),
        other => panic!("{other:?}"),
    }
}

// ---------------------------------------------------------------------------------------------
// Drafts and publishing
// ---------------------------------------------------------------------------------------------

/// A client, its mock and an image material for covers.
async fn with_cover() -> (MockWechat, WechatClient, String) {
    let wechat = mock().await;
    let client = client(&wechat);
    let cover = client
        .material()
        .add(
            MediaType::Image,
            Upload::bytes("cover.jpg", "image/jpeg", JPEG),
        )
        .await
        .unwrap();
    (wechat, client, cover.media_id)
}

#[tokio::test]
async fn drafts_are_added_read_updated_listed_counted_and_deleted() {
    let (wechat, client, cover) = with_cover().await;
    let mut first = Article::news("Release notes", "<p>What changed.</p>", &cover);
    first.author = Some("Ops".to_owned());
    first.need_open_comment = Some(1);
    // A field this crate does not know travels through untouched.
    first
        .extra
        .insert("future_field".to_owned(), json!({ "kept": true }));
    let pictures = Article::newspic("Pictures", "plain text", [cover.as_str()]);
    let draft = client
        .draft()
        .add(&[first.clone(), pictures])
        .await
        .unwrap();
    let sent = wechat
        .last_request("/cgi-bin/draft/add")
        .unwrap()
        .json()
        .unwrap();
    assert!(
        sent["articles"][0].get("digest").is_none(),
        "unset fields are not sent"
    );

    let articles = client.draft().get(&draft).await.unwrap();
    assert_eq!(articles.len(), 2);
    assert_eq!(articles[0].title, "Release notes");
    assert_eq!(articles[0].need_open_comment, Some(1));
    assert_eq!(articles[0].extra["future_field"], json!({ "kept": true }));
    assert_eq!(articles[1].article_type.as_deref(), Some("newspic"));
    assert_eq!(
        articles[1].image_info.as_ref().unwrap().image_list[0].image_media_id,
        cover
    );

    let mut changed = first;
    changed.title = "Release notes, v2".to_owned();
    client.draft().update(&draft, 0, &changed).await.unwrap();
    assert_eq!(
        client.draft().get(&draft).await.unwrap()[0].title,
        "Release notes, v2"
    );

    let second = client
        .draft()
        .add(&[Article::news("Second", "<p>2</p>", &cover)])
        .await
        .unwrap();
    assert_eq!(client.draft().count().await.unwrap(), 2);
    let page = client.draft().batch_get(0, 20, true).await.unwrap();
    assert_eq!((page.total_count, page.item_count), (2, 2));
    assert_eq!(page.item[0].media_id, second, "newest first");
    assert_eq!(page.item[1].content.news_item[0].content, "", "no_content");
    let page = client.draft().batch_get(1, 1, false).await.unwrap();
    assert_eq!(
        page.item[0].content.news_item[0].content,
        "<p>What changed.</p>"
    );

    client.draft().delete(&second).await.unwrap();
    assert_eq!(client.draft().count().await.unwrap(), 1);
}

#[tokio::test]
async fn draft_errors_are_typed() {
    let (wechat, client, cover) = with_cover().await;
    let err = client
        .draft()
        .add(&[Article::news("T", "<p>x</p>", "not-a-material")])
        .await
        .unwrap_err();
    assert_eq!(err.errcode(), Some(40007));
    assert!(err.to_string().contains("invalid media_id"), "{err}");
    assert_eq!(errcode(client.draft().add(&[]).await), 47001);
    assert_eq!(errcode(client.draft().get("nope").await), 40007);
    let draft = client
        .draft()
        .add(&[Article::news("T", "<p>x</p>", &cover)])
        .await
        .unwrap();
    let article = Article::news("T", "<p>y</p>", &cover);
    assert_eq!(
        errcode(client.draft().update(&draft, 5, &article).await),
        47001
    );
    assert_eq!(
        errcode(client.draft().update("nope", 0, &article).await),
        40007
    );
    assert_eq!(errcode(client.draft().batch_get(0, 21, false).await), 47001);
    assert_eq!(errcode(client.draft().delete("nope").await), 40007);
    wechat.fail_next("/cgi-bin/draft/count", 1, 48001);
    assert_eq!(errcode(client.draft().count().await), 48001);
    wechat.fail_next("/cgi-bin/draft/add", 1, 53404);
    let err = client.draft().add(&[article]).await.unwrap_err();
    assert!(err.to_string().contains("barred from selling"), "{err}");
}

#[tokio::test]
async fn drafts_survive_a_refused_token() {
    let (wechat, client, cover) = with_cover().await;
    let fetches = wechat.token_fetches();
    for path in [
        "/cgi-bin/draft/add",
        "/cgi-bin/draft/get",
        "/cgi-bin/draft/update",
        "/cgi-bin/draft/batchget",
        "/cgi-bin/draft/count",
        "/cgi-bin/draft/delete",
    ] {
        wechat.fail_next(path, 1, 40001);
    }
    let article = Article::news("T", "<p>x</p>", &cover);
    let draft = client
        .draft()
        .add(std::slice::from_ref(&article))
        .await
        .unwrap();
    assert_eq!(client.draft().get(&draft).await.unwrap().len(), 1);
    client.draft().update(&draft, 0, &article).await.unwrap();
    assert_eq!(
        client
            .draft()
            .batch_get(0, 1, true)
            .await
            .unwrap()
            .item_count,
        1
    );
    assert_eq!(client.draft().count().await.unwrap(), 1);
    client.draft().delete(&draft).await.unwrap();
    assert_eq!(wechat.calls("/cgi-bin/draft/add"), 2);
    assert_eq!(wechat.token_fetches(), fetches + 6);
}

/// A draft of two articles ("One", "Two") with `cover`; its media_id.
async fn two_article_draft(client: &WechatClient, cover: &str) -> String {
    client
        .draft()
        .add(&[
            Article::news("One", "<p>1</p>", cover),
            Article::news("Two", "<p>2</p>", cover),
        ])
        .await
        .unwrap()
}

#[tokio::test]
async fn a_draft_is_published_polled_listed_read_and_deleted() {
    let (_wechat, client, cover) = with_cover().await;
    let draft = two_article_draft(&client, &cover).await;
    let job = client.publish().submit(&draft).await.unwrap();
    assert!(job.msg_data_id.is_some());
    // The draft left the box.
    assert_eq!(client.draft().count().await.unwrap(), 0);
    let status = client.publish().get(&job.publish_id).await.unwrap();
    assert_eq!(status.publish_status, PublishStatus::Publishing);
    assert_eq!(status.article_id, None);
    assert_eq!(
        client
            .publish()
            .batch_get(0, 20, false)
            .await
            .unwrap()
            .total_count,
        0
    );
    let status = client.publish().get(&job.publish_id).await.unwrap();
    assert_eq!(status.publish_status, PublishStatus::Published);
    let article_id = status.article_id.unwrap();
    let detail = status.article_detail.unwrap();
    assert_eq!(detail.count, 2);
    assert_eq!(detail.item[1].idx, 2);

    let list = client.publish().batch_get(0, 20, true).await.unwrap();
    assert_eq!((list.total_count, list.item_count), (1, 1));
    assert_eq!(list.item[0].article_id, article_id);
    assert_eq!(list.item[0].content.news_item[0].content, "");

    let articles = client.publish().get_article(&article_id).await.unwrap();
    assert_eq!(articles[1].title, "Two");
    assert_eq!(articles[1].is_deleted, Some(false));
    client.publish().delete(&article_id, Some(2)).await.unwrap();
    let articles = client.publish().get_article(&article_id).await.unwrap();
    assert_eq!(
        (articles[0].is_deleted, articles[1].is_deleted),
        (Some(false), Some(true))
    );
    client.publish().delete(&article_id, None).await.unwrap();
    let articles = client.publish().get_article(&article_id).await.unwrap();
    assert!(articles.iter().all(|a| a.is_deleted == Some(true)));
}

#[tokio::test]
async fn a_job_refused_by_the_review_ends_with_its_status_and_failed_articles() {
    let (wechat, client, cover) = with_cover().await;
    let draft = two_article_draft(&client, &cover).await;
    wechat.fail_next_publish(PublishStatus::ReviewRefused, &[2]);
    let job = client.publish().submit(&draft).await.unwrap();
    let status = client.publish().get(&job.publish_id).await.unwrap();
    assert!(!status.publish_status.is_final());
    let status = client.publish().get(&job.publish_id).await.unwrap();
    assert_eq!(status.publish_status, PublishStatus::ReviewRefused);
    assert!(status.publish_status.is_final());
    assert_eq!(status.fail_idx, [2]);
    assert_eq!((status.article_id, status.article_detail), (None, None));
    // Nothing was published; the next job is published again.
    let list = client.publish().batch_get(0, 20, false).await.unwrap();
    assert_eq!(list.total_count, 0);
    let draft = client
        .draft()
        .add(&[Article::news("Three", "<p>3</p>", &cover)])
        .await
        .unwrap();
    let job = client.publish().submit(&draft).await.unwrap();
    client.publish().get(&job.publish_id).await.unwrap();
    let status = client.publish().get(&job.publish_id).await.unwrap();
    assert_eq!(status.publish_status, PublishStatus::Published);
}

#[tokio::test]
async fn publishing_errors_are_typed() {
    let (wechat, client, cover) = with_cover().await;
    assert_eq!(errcode(client.publish().submit("not-a-draft").await), 40007);
    let err = client.publish().get("123").await.unwrap_err();
    assert_eq!(err.errcode(), Some(53600));
    assert!(err.to_string().contains("invalid article_id"), "{err}");
    assert_eq!(errcode(client.publish().get_article("nope").await), 53600);
    assert_eq!(errcode(client.publish().delete("nope", None).await), 53600);
    assert_eq!(
        errcode(client.publish().batch_get(0, 0, false).await),
        47001
    );
    let draft = client
        .draft()
        .add(&[Article::news("T", "<p>x</p>", &cover)])
        .await
        .unwrap();
    wechat.fail_next("/cgi-bin/freepublish/submit", 1, 53503);
    let err = client.publish().submit(&draft).await.unwrap_err();
    assert_eq!(err.errcode(), Some(53503));
    assert!(err.to_string().contains("publishing check"), "{err}");
    // Refused, the draft is still there to fix and submit again.
    assert_eq!(client.draft().count().await.unwrap(), 1);
}

#[tokio::test]
async fn publishing_survives_a_refused_token() {
    let (wechat, client, cover) = with_cover().await;
    let draft = client
        .draft()
        .add(&[Article::news("T", "<p>x</p>", &cover)])
        .await
        .unwrap();
    let fetches = wechat.token_fetches();
    for path in [
        "/cgi-bin/freepublish/submit",
        "/cgi-bin/freepublish/get",
        "/cgi-bin/freepublish/batchget",
        "/cgi-bin/freepublish/getarticle",
        "/cgi-bin/freepublish/delete",
    ] {
        wechat.fail_next(path, 1, 40001);
    }
    let job = client.publish().submit(&draft).await.unwrap();
    assert_eq!(wechat.calls("/cgi-bin/freepublish/submit"), 2);
    // One draft, one job: the refused first call published nothing.
    client.publish().get(&job.publish_id).await.unwrap();
    let status = client.publish().get(&job.publish_id).await.unwrap();
    let article_id = status.article_id.unwrap();
    assert_eq!(
        client
            .publish()
            .batch_get(0, 5, false)
            .await
            .unwrap()
            .total_count,
        1
    );
    assert_eq!(
        client
            .publish()
            .get_article(&article_id)
            .await
            .unwrap()
            .len(),
        1
    );
    client.publish().delete(&article_id, None).await.unwrap();
    assert_eq!(wechat.token_fetches(), fetches + 5);
}
