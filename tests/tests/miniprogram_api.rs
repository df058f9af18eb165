//! The Mini Program API families end to end against `MockWechat` on 127.0.0.1: codes
//! (小程序码, images or JSON errors), links (schemes, URL Links, Short Links), content security (text and media checks) and
//! subscribe-message templates. Each call: a success, WeChat's typed error, and a token refused
//! in the middle (40001: one refresh, one retry, the answer).

#![allow(
    clippy::unwrap_used,
    reason = "test helpers: a failure is a test failure"
)]

use std::time::Duration;

use wechat_tower::client::{
    AddTemplate, ClientError, EnvVersion, Label, MediaCheck, MediaKind, MsgSecCheck, SchemeRequest,
    SecScene, ShortLinkRequest, Suggest, TemplateKind, TitlesQuery, UnlimitedCodeRequest,
    UrlLinkRequest, WechatClient, WxaCodeRequest, WxaQrCodeRequest,
};
use wechat_tower::test_util::mock::MockWechat;

async fn setup() -> (MockWechat, WechatClient) {
    let wechat = MockWechat::builder()
        .token_overlap(Duration::ZERO)
        .start()
        .await
        .unwrap();
    let client = WechatClient::builder(wechat.app_id(), wechat.app_secret())
        .api_base(wechat.base_url())
        .build()
        .unwrap();
    (wechat, client)
}

/// WeChat refuses the token of the next call of `path`: the client fetched a second token and
/// sent the call twice.
fn assert_refreshed_once(wechat: &MockWechat, path: &str) {
    assert_eq!(wechat.calls(path), 2, "{path}");
    assert_eq!(wechat.token_fetches(), 2, "{path}");
    let requests = wechat.requests(path);
    assert_ne!(
        requests[0].query("access_token"),
        requests[1].query("access_token"),
        "the retry carries the new token"
    );
}

fn assert_code(err: &ClientError, code: i64) {
    assert_eq!(err.errcode(), Some(code), "{err:?}");
    let meaning = err.wechat().unwrap().meaning();
    assert!(meaning.is_some(), "{code} has no meaning");
}

// ---------------------------------------------------------------------------------------------
// Codes
// ---------------------------------------------------------------------------------------------

/// The width and height a PNG's IHDR declares.
fn png_size(png: &[u8]) -> (u32, u32) {
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"), "not a PNG");
    let word = |at: usize| u32::from_be_bytes(png[at..at + 4].try_into().unwrap());
    (word(16), word(20))
}

#[tokio::test]
async fn a_poster_code_is_an_image_with_its_scene() {
    let (wechat, client) = setup().await;
    let request = UnlimitedCodeRequest::new("shop=42")
        .unwrap()
        .page("pages/shop/index")
        .width(280)
        .env_version(EnvVersion::Trial);
    let code = client.wxacode().unlimited(&request).await.unwrap();
    assert_eq!(code.content_type, "image/png");
    assert_eq!(png_size(&code.body), (280, 280));
    let sent = wechat
        .last_request("/wxa/getwxacodeunlimit")
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(sent["scene"], "shop=42");
    assert_eq!(sent["page"], "pages/shop/index");
    assert_eq!(sent["env_version"], "trial");

    let code = client
        .wxacode()
        .code(&WxaCodeRequest::new("pages/goods/detail?sku=9"))
        .await
        .unwrap();
    assert_eq!(png_size(&code.body), (430, 430), "WeChat's default width");
    let code = client
        .wxacode()
        .qrcode(&WxaQrCodeRequest::new("pages/index/index").width(300))
        .await
        .unwrap();
    assert_eq!(png_size(&code.body), (300, 300));
}

#[tokio::test]
async fn a_json_error_in_place_of_the_image_is_a_typed_error() {
    let (wechat, client) = setup().await;
    // WeChat answers these with HTTP 200 and a JSON body: an error, never "image bytes".
    let err = client
        .wxacode()
        .unlimited(
            &UnlimitedCodeRequest::new("s=1")
                .unwrap()
                .page("pages/unpublished"),
        )
        .await
        .unwrap_err();
    assert_code(&err, 41030);
    let err = client
        .wxacode()
        .code(&WxaCodeRequest::new("pages/nope/index"))
        .await
        .unwrap_err();
    assert_code(&err, 41030);
    wechat.fail_next("/cgi-bin/wxaapp/createwxaqrcode", 1, 45029);
    let err = client
        .wxacode()
        .qrcode(&WxaQrCodeRequest::new("pages/index/index"))
        .await
        .unwrap_err();
    assert_code(&err, 45029);
    // An unpublished page is fine when the path is not checked (a code for a trial version).
    client
        .wxacode()
        .unlimited(
            &UnlimitedCodeRequest::new("s=1")
                .unwrap()
                .page("pages/unpublished")
                .check_path(false),
        )
        .await
        .unwrap();
}

#[tokio::test]
async fn every_code_call_survives_a_refused_token() {
    let (wechat, client) = setup().await;
    let mut fetches = 1;
    for path in [
        "/wxa/getwxacode",
        "/wxa/getwxacodeunlimit",
        "/cgi-bin/wxaapp/createwxaqrcode",
    ] {
        wechat.fail_next(path, 1, 40001);
        let code = match path {
            "/wxa/getwxacode" => {
                client
                    .wxacode()
                    .code(&WxaCodeRequest::new("pages/index/index"))
                    .await
            }
            "/wxa/getwxacodeunlimit" => {
                client
                    .wxacode()
                    .unlimited(&UnlimitedCodeRequest::new("a=1").unwrap())
                    .await
            }
            _ => {
                client
                    .wxacode()
                    .qrcode(&WxaQrCodeRequest::new("pages/index/index"))
                    .await
            }
        }
        .unwrap();
        assert_eq!(code.content_type, "image/png", "{path}");
        fetches += 1;
        assert_eq!(wechat.calls(path), 2, "{path}");
        assert_eq!(wechat.token_fetches(), fetches, "{path}");
    }
}

#[tokio::test]
async fn a_large_code_streams_and_the_cap_holds() {
    let (_wechat, client) = setup().await;
    let request = UnlimitedCodeRequest::new("big=1").unwrap().width(1280);
    let mut stream = client.wxacode().unlimited_stream(&request).await.unwrap();
    let declared = stream.content_length.unwrap();
    assert!(declared > 1_600_000, "{declared}");
    let (mut read, mut chunks, mut first) = (0u64, 0usize, Vec::new());
    while let Some(chunk) = stream.chunk().await {
        let chunk = chunk.unwrap();
        if first.len() < 24 {
            first.extend_from_slice(&chunk);
        }
        read += chunk.len() as u64;
        chunks += 1;
    }
    assert_eq!(read, declared);
    assert!(chunks > 1, "the image arrived in pieces, not as one buffer");
    assert_eq!(png_size(&first), (1280, 1280));

    // A caller's own cap refuses the image by its Content-Length, before reading it.
    let stream = client.wxacode().unlimited_stream(&request).await.unwrap();
    let err = stream.collect(1024 * 1024).await.unwrap_err();
    assert!(matches!(err, ClientError::Decode(_)), "{err:?}");
}

#[tokio::test]
async fn malformed_code_requests_are_refused_before_anything_is_sent() {
    let (wechat, client) = setup().await;
    for scene in ["", "场景", "a b", &"x".repeat(33)] {
        let err = UnlimitedCodeRequest::new(scene).unwrap_err();
        assert!(matches!(err, ClientError::Request(_)), "{scene:?}: {err:?}");
    }
    let err = client
        .wxacode()
        .unlimited(&UnlimitedCodeRequest::new("s").unwrap().width(2000))
        .await
        .unwrap_err();
    assert!(matches!(err, ClientError::Request(_)), "{err:?}");
    let err = client
        .wxacode()
        .qrcode(&WxaQrCodeRequest::new("p".repeat(129)))
        .await
        .unwrap_err();
    assert!(matches!(err, ClientError::Request(_)), "{err:?}");
    assert_eq!(wechat.calls("/wxa/getwxacodeunlimit"), 0);
    assert_eq!(wechat.calls("/cgi-bin/wxaapp/createwxaqrcode"), 0);
}

// ---------------------------------------------------------------------------------------------
// Links
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_scheme_is_generated_and_queried() {
    let (wechat, client) = setup().await;
    let request = SchemeRequest::new()
        .page("pages/shop/index", "id=42")
        .env_version(EnvVersion::Trial)
        .expire_after_days(7)
        .unwrap();
    let scheme = client.links().generate_scheme(&request).await.unwrap();
    assert!(scheme.starts_with("weixin://dl/business/?t="), "{scheme}");
    let sent = wechat
        .last_request("/wxa/generatescheme")
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(sent["jump_wxa"]["query"], "id=42");
    assert_eq!(sent["expire_type"], 1);
    assert_eq!(sent["expire_interval"], 7);

    let info = client.links().query_scheme(&scheme).await.unwrap();
    assert_eq!(info.scheme_info.path, "pages/shop/index");
    assert_eq!(info.scheme_info.query, "id=42");
    assert_eq!(info.scheme_info.env_version, "trial");
    assert_eq!(info.scheme_info.appid, wechat.app_id());
    let lifetime = info.scheme_info.expire_time - info.scheme_info.create_time;
    assert!(
        (7 * 86400 - 5..=7 * 86400 + 5).contains(&lifetime),
        "{lifetime}"
    );
}

#[tokio::test]
async fn scheme_errors_are_typed() {
    let (_wechat, client) = setup().await;
    let err = client
        .links()
        .generate_scheme(&SchemeRequest::new().page("pages/unpublished/index", ""))
        .await
        .unwrap_err();
    assert_code(&err, 40165);
    // An expiry in the past: WeChat's range check, not ours.
    let err = client
        .links()
        .generate_scheme(&SchemeRequest::new().expire_at(1_000))
        .await
        .unwrap_err();
    assert_code(&err, 85401);
    let err = client
        .links()
        .query_scheme("weixin://dl/business/?t=forged")
        .await
        .unwrap_err();
    assert_code(&err, 40097);
}

#[tokio::test]
async fn a_scheme_survives_a_refused_token() {
    let (wechat, client) = setup().await;
    wechat.fail_next("/wxa/generatescheme", 1, 40001);
    let scheme = client
        .links()
        .generate_scheme(&SchemeRequest::new())
        .await
        .unwrap();
    assert!(scheme.starts_with("weixin://"));
    assert_refreshed_once(&wechat, "/wxa/generatescheme");
    wechat.fail_next("/wxa/queryscheme", 1, 40001);
    client.links().query_scheme(&scheme).await.unwrap();
    assert_eq!(wechat.calls("/wxa/queryscheme"), 2);
    assert_eq!(wechat.token_fetches(), 3);
}

#[tokio::test]
async fn a_url_link_is_generated_and_queried() {
    let (wechat, client) = setup().await;
    let link = client
        .links()
        .generate_urllink(
            &UrlLinkRequest::new()
                .path("pages/goods/detail")
                .query("sku=9"),
        )
        .await
        .unwrap();
    assert!(link.starts_with("https://wxaurl.cn/"), "{link}");
    let info = client.links().query_urllink(&link).await.unwrap();
    assert_eq!(info.url_link_info.path, "pages/goods/detail");
    assert_eq!(info.url_link_info.query, "sku=9");
    assert!(info.quota_info.is_some());

    let err = client
        .links()
        .generate_urllink(&UrlLinkRequest::new().path("pages/nope"))
        .await
        .unwrap_err();
    assert_code(&err, 40165);
    let err = client
        .links()
        .query_urllink("https://wxaurl.cn/unknown")
        .await
        .unwrap_err();
    assert_code(&err, 40097);

    wechat.fail_next("/wxa/generate_urllink", 1, 40001);
    client
        .links()
        .generate_urllink(&UrlLinkRequest::new())
        .await
        .unwrap();
    // Two calls above, then the refused one and its retry.
    assert_eq!(wechat.calls("/wxa/generate_urllink"), 4);
    assert_eq!(wechat.token_fetches(), 2);
    wechat.fail_next("/wxa/query_urllink", 1, 40001);
    client.links().query_urllink(&link).await.unwrap();
    assert_eq!(wechat.token_fetches(), 3);
}

#[tokio::test]
async fn a_short_link_is_generated() {
    let (wechat, client) = setup().await;
    let link = client
        .links()
        .short_link(
            &ShortLinkRequest::new("pages/goods/detail?sku=9")
                .page_title("Coffee")
                .permanent(false),
        )
        .await
        .unwrap();
    assert!(link.starts_with("#小程序://"), "{link}");
    assert!(link.contains("Coffee"));
    let err = client
        .links()
        .short_link(&ShortLinkRequest::new("pages/nope?x=1"))
        .await
        .unwrap_err();
    assert_code(&err, 40066);
    wechat.fail_next("/wxa/genwxashortlink", 1, 40001);
    client
        .links()
        .short_link(&ShortLinkRequest::new("pages/index/index"))
        .await
        .unwrap();
    assert_eq!(wechat.calls("/wxa/genwxashortlink"), 4);
    assert_eq!(wechat.token_fetches(), 2);
}

#[tokio::test]
async fn malformed_links_are_refused_before_anything_is_sent() {
    let (wechat, client) = setup().await;
    let err = client
        .links()
        .short_link(&ShortLinkRequest::new("/pages/index/index"))
        .await
        .unwrap_err();
    assert!(matches!(err, ClientError::Request(_)), "{err:?}");
    let err = client
        .links()
        .generate_scheme(&SchemeRequest::new().page("pages/a\r\nX-Injected: 1", ""))
        .await
        .unwrap_err();
    assert!(matches!(err, ClientError::Request(_)), "{err:?}");
    assert_eq!(wechat.calls("/wxa/genwxashortlink"), 0);
    assert_eq!(wechat.calls("/wxa/generatescheme"), 0);
    assert_eq!(wechat.token_fetches(), 0);
}

// ---------------------------------------------------------------------------------------------
// Content security
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn text_is_checked_with_a_typed_verdict() {
    let (wechat, client) = setup().await;
    let clean = client
        .security()
        .msg_sec_check(&MsgSecCheck::new("oUser1", SecScene::Comment, "Nice shop!"))
        .await
        .unwrap();
    assert_eq!(clean.result.suggest, Suggest::Pass);
    assert_eq!(clean.result.label, Label::Normal);
    assert!(!clean.trace_id.is_empty());
    let sent = wechat
        .last_request("/wxa/msg_sec_check")
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(sent["version"], 2);
    assert_eq!(sent["scene"], 2);
    assert_eq!(sent["openid"], "oUser1");

    let risky = client
        .security()
        .msg_sec_check(
            &MsgSecCheck::new("oUser2", SecScene::Forum, "come and gamble").title("Weekend"),
        )
        .await
        .unwrap();
    assert_eq!(risky.result.suggest, Suggest::Risky);
    assert_eq!(risky.result.label, Label::Illegal);
    let keyword = risky
        .detail
        .iter()
        .find(|d| d.strategy == "keyword")
        .unwrap();
    assert_eq!(keyword.keyword.as_deref(), Some("gamble"));

    let review = client
        .security()
        .msg_sec_check(&MsgSecCheck::new("oUser1", SecScene::Profile, "x").nickname("广告君"))
        .await
        .unwrap();
    assert_eq!(review.result.suggest, Suggest::Review);
    assert_eq!(review.result.label, Label::Ad);
}

#[tokio::test]
async fn text_check_errors_are_typed_and_survive_a_refused_token() {
    let (wechat, client) = setup().await;
    let err = client
        .security()
        .msg_sec_check(&MsgSecCheck::new("oStranger", SecScene::Comment, "hi"))
        .await
        .unwrap_err();
    assert_code(&err, 40003);
    wechat.fail_next("/wxa/msg_sec_check", 1, 61010);
    let err = client
        .security()
        .msg_sec_check(&MsgSecCheck::new("oUser1", SecScene::Comment, "hi"))
        .await
        .unwrap_err();
    assert_code(&err, 61010);
    assert!(err.to_string().contains("two hours"), "{err}");

    wechat.fail_next("/wxa/msg_sec_check", 1, 40001);
    let verdict = client
        .security()
        .msg_sec_check(&MsgSecCheck::new("oUser1", SecScene::Comment, "hi"))
        .await
        .unwrap();
    assert_eq!(verdict.result.suggest, Suggest::Pass);
    assert_eq!(wechat.calls("/wxa/msg_sec_check"), 4);
    assert_eq!(wechat.token_fetches(), 2);
}

#[tokio::test]
async fn a_media_check_answers_its_trace_id() {
    let (wechat, client) = setup().await;
    let check = MediaCheck::new(
        "oUser1",
        SecScene::SocialLog,
        MediaKind::Image,
        "https://cdn.example.com/u/1.png",
    );
    let trace = client.security().media_check_async(&check).await.unwrap();
    let checks = wechat.media_checks();
    assert_eq!(checks.len(), 1);
    assert_eq!(checks[0].0, trace.as_str());
    assert_eq!(checks[0].1, "https://cdn.example.com/u/1.png");
    let sent = wechat
        .last_request("/wxa/media_check_async")
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(sent["media_type"], 2);
    assert_eq!(sent["scene"], 4);

    let err = client
        .security()
        .media_check_async(&MediaCheck::new(
            "oNobody",
            SecScene::Comment,
            MediaKind::Audio,
            "https://cdn.example.com/a.mp3",
        ))
        .await
        .unwrap_err();
    assert_code(&err, 40003);

    wechat.fail_next("/wxa/media_check_async", 1, 40001);
    let again = client.security().media_check_async(&check).await.unwrap();
    assert_ne!(again, trace);
    assert_eq!(wechat.calls("/wxa/media_check_async"), 4);
    assert_eq!(wechat.token_fetches(), 2);
}

#[tokio::test]
async fn oversized_or_local_content_is_refused_before_sending() {
    let (wechat, client) = setup().await;
    let long = "字".repeat(2501);
    let err = client
        .security()
        .msg_sec_check(&MsgSecCheck::new("oUser1", SecScene::Comment, long))
        .await
        .unwrap_err();
    assert!(matches!(err, ClientError::Request(_)), "{err:?}");
    // WeChat fetches the media itself: a URL it cannot fetch (or a local file) never leaves.
    let err = client
        .security()
        .media_check_async(&MediaCheck::new(
            "oUser1",
            SecScene::Comment,
            MediaKind::Image,
            "file:///etc/passwd",
        ))
        .await
        .unwrap_err();
    assert!(matches!(err, ClientError::Request(_)), "{err:?}");
    assert_eq!(wechat.calls("/wxa/msg_sec_check"), 0);
    assert_eq!(wechat.calls("/wxa/media_check_async"), 0);
}

// ---------------------------------------------------------------------------------------------
// Subscribe-message templates
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn templates_are_chosen_added_listed_and_deleted() {
    let (wechat, client) = setup().await;
    let api = client.subscribe();
    let categories = api.categories().await.unwrap();
    assert_eq!(categories.len(), 2);
    let ids: Vec<u32> = categories.iter().map(|c| c.id).collect();
    let titles = api
        .pub_template_titles(&TitlesQuery::new(ids.clone(), 0, 2).unwrap())
        .await
        .unwrap();
    assert_eq!(titles.count, 3);
    assert_eq!(titles.data.len(), 2);
    let second_page = api
        .pub_template_titles(&TitlesQuery::new(ids, 2, 2).unwrap())
        .await
        .unwrap();
    assert_eq!(second_page.data.len(), 1);
    assert_eq!(second_page.data[0].kind, TemplateKind::LongTerm);
    let query = wechat
        .last_request("/wxaapi/newtmpl/getpubtemplatetitles")
        .unwrap();
    assert_eq!(query.query("ids"), Some("616,307"));
    assert_eq!(query.query("start"), Some("2"));

    let coffee = api
        .pub_template_titles(&TitlesQuery::new([307], 0, 30).unwrap().keyword("发货"))
        .await
        .unwrap();
    assert_eq!(coffee.data.len(), 1);
    let tid = coffee.data[0].tid;
    assert_eq!(coffee.data[0].category_id, "307");
    let keywords = api.pub_template_keywords(tid).await.unwrap();
    assert_eq!(keywords.count, 5);
    let kids = [keywords.data[3].kid, keywords.data[0].kid];
    let id = api
        .add_template(&AddTemplate::new(tid, kids).unwrap().scene_desc("发货提醒"))
        .await
        .unwrap();
    let sent = wechat
        .last_request("/wxaapi/newtmpl/addtemplate")
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(sent["tid"], tid.to_string());
    assert_eq!(sent["kidList"], serde_json::json!([4, 1]));

    let list = api.list().await.unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0].pri_tmpl_id, id);
    assert_eq!(list[0].kind, TemplateKind::OneTime);
    assert!(
        list[0].content.contains("{{thing1.DATA}}"),
        "{}",
        list[0].content
    );

    api.delete_template(&id).await.unwrap();
    assert!(api.list().await.unwrap().is_empty());
}

#[tokio::test]
async fn template_errors_are_typed() {
    let (_wechat, client) = setup().await;
    let api = client.subscribe();
    let err = api
        .add_template(&AddTemplate::new(424_242, [1, 2]).unwrap())
        .await
        .unwrap_err();
    assert_code(&err, 200014);
    let err = api
        .add_template(&AddTemplate::new(99, [1, 77]).unwrap())
        .await
        .unwrap_err();
    assert_code(&err, 200020);
    let err = api.delete_template("never-added").await.unwrap_err();
    assert_code(&err, 20002);
    let err = api
        .pub_template_titles(&TitlesQuery::new([1], 0, 10).unwrap())
        .await
        .unwrap_err();
    assert_code(&err, 200019);
    let err = api.pub_template_keywords(5).await.unwrap_err();
    assert_code(&err, 200014);
    let err = api
        .add_template(
            &AddTemplate::new(99, [1, 2])
                .unwrap()
                .scene_desc("x".repeat(16)),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, ClientError::Request(_)), "{err:?}");
}

#[tokio::test]
async fn every_template_call_survives_a_refused_token() {
    let (wechat, client) = setup().await;
    let api = client.subscribe();
    let mut fetches = 1;
    // The first call fetches the first token.
    api.categories().await.unwrap();
    for path in [
        "/wxaapi/newtmpl/getcategory",
        "/wxaapi/newtmpl/getpubtemplatetitles",
        "/wxaapi/newtmpl/getpubtemplatekeywords",
        "/wxaapi/newtmpl/addtemplate",
        "/wxaapi/newtmpl/gettemplate",
        "/wxaapi/newtmpl/deltemplate",
    ] {
        wechat.fail_next(path, 1, 40001);
        let before = wechat.calls(path);
        match path {
            "/wxaapi/newtmpl/getcategory" => drop(api.categories().await.unwrap()),
            "/wxaapi/newtmpl/getpubtemplatetitles" => drop(
                api.pub_template_titles(&TitlesQuery::new([616], 0, 5).unwrap())
                    .await
                    .unwrap(),
            ),
            "/wxaapi/newtmpl/getpubtemplatekeywords" => {
                drop(api.pub_template_keywords(99).await.unwrap());
            }
            "/wxaapi/newtmpl/addtemplate" => drop(
                api.add_template(&AddTemplate::new(99, [1, 2, 3]).unwrap())
                    .await
                    .unwrap(),
            ),
            "/wxaapi/newtmpl/gettemplate" => assert_eq!(api.list().await.unwrap().len(), 1),
            _ => {
                let id = api.list().await.unwrap()[0].pri_tmpl_id.clone();
                fetches -= 0;
                api.delete_template(&id).await.unwrap();
            }
        }
        fetches += 1;
        assert_eq!(wechat.calls(path) - before, 2, "{path}");
        assert_eq!(wechat.token_fetches(), fetches, "{path}");
    }
}
