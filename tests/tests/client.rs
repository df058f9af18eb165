//! The outbound client end to end against `MockWechat`, a mock of WeChat's API speaking HTTP on
//! 127.0.0.1: token central control (one fetch for a thousand cold callers, one refresh per
//! expiry, one retry on a refused token and no loop), every API family (the mock checks the
//! request's shape, the client decodes the answer), typed errors and timeouts.

#![allow(
    clippy::unwrap_used,
    reason = "test helpers: a failure is a test failure"
)]

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use bytes::Bytes;
use serde_json::{Value, json};
use tower::ServiceExt as _;
use wechat_tower::client::{
    Button, ButtonAction, ClientError, CustomMessage, FetchedToken, HttpTransport, Lang, MediaFile,
    MediaType, Menu, MiniProgramPage, NewsArticle, OAuthScope, QrCodeRequest, Scene,
    SubscribeMessage, TemplateMessage, TokenKind, WechatClient, WechatClientBuilder,
};
use wechat_tower::core::jssdk;
use wechat_tower::core::secret::{AccessToken, OAuthAccessToken};
use wechat_tower::test_util::mock::MockWechat;

async fn mock() -> MockWechat {
    MockWechat::builder()
        .token_overlap(Duration::ZERO)
        .start()
        .await
        .unwrap()
}

fn builder(wechat: &MockWechat) -> WechatClientBuilder {
    WechatClient::builder(wechat.app_id(), wechat.app_secret())
        .api_base(wechat.base_url())
        .open_base(wechat.base_url())
}

fn client(wechat: &MockWechat) -> WechatClient {
    builder(wechat).build().unwrap()
}

// ---------------------------------------------------------------------------------------------
// Token central control
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_cold_callers_cause_one_token_fetch() {
    for kind in [TokenKind::Normal, TokenKind::Stable] {
        let wechat = mock().await;
        // WeChat takes a while to answer: every caller arrives before the token does.
        wechat.set_endpoint_latency("/cgi-bin/token", Duration::from_millis(100));
        wechat.set_endpoint_latency("/cgi-bin/stable_token", Duration::from_millis(100));
        let client = builder(&wechat).token_kind(kind).build().unwrap();
        let calls: Vec<_> = (0..1000)
            .map(|_| {
                let client = client.clone();
                tokio::spawn(async move { client.user().info("oUser1", Lang::ZhCn).await })
            })
            .collect();
        for call in calls {
            assert_eq!(call.await.unwrap().unwrap().openid, "oUser1");
        }
        assert_eq!(wechat.token_fetches(), 1, "{kind:?}");
        assert_eq!(wechat.calls("/cgi-bin/user/info"), 1000);
        assert_eq!(wechat.issued_tokens().len(), 1);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expiry_causes_one_refresh() {
    let wechat = mock().await;
    let now = Arc::new(AtomicU64::new(1_700_000_000));
    let clock = {
        let now = Arc::clone(&now);
        move || now.load(Ordering::SeqCst)
    };
    let client = builder(&wechat)
        .token_kind(TokenKind::Normal)
        .clock(clock)
        .build()
        .unwrap();
    client.user().info("oUser1", Lang::ZhCn).await.unwrap();
    assert_eq!(wechat.token_fetches(), 1);

    // Still fresh: no fetch.
    now.fetch_add(7200 - 301, Ordering::SeqCst);
    client.user().info("oUser1", Lang::ZhCn).await.unwrap();
    assert_eq!(wechat.token_fetches(), 1);

    // Within the refresh-ahead window: a hundred callers, one refresh.
    now.fetch_add(2, Ordering::SeqCst);
    let calls: Vec<_> = (0..100)
        .map(|_| {
            let client = client.clone();
            tokio::spawn(async move { client.user().list(None).await })
        })
        .collect();
    for call in calls {
        call.await.unwrap().unwrap();
    }
    assert_eq!(wechat.token_fetches(), 2);
    let tokens = wechat.issued_tokens();
    let last = wechat.last_request("/cgi-bin/user/get").unwrap();
    assert_eq!(last.query("access_token"), Some(tokens[1].as_str()));
}

#[tokio::test]
async fn a_token_expired_at_wechat_is_refetched_once() {
    // The client's clock stands still, so only WeChat knows the token expired (clock skew).
    let wechat = MockWechat::builder()
        .token_expires_in(1)
        .token_overlap(Duration::ZERO)
        .start()
        .await
        .unwrap();
    let client = builder(&wechat)
        .token_kind(TokenKind::Normal)
        .clock(|| 1_700_000_000)
        .refresh_ahead(0)
        .build()
        .unwrap();
    client.user().info("oUser1", Lang::ZhCn).await.unwrap();
    tokio::time::sleep(Duration::from_millis(1100)).await;
    wechat.set_token_expires_in(7200);
    client.user().info("oUser2", Lang::ZhCn).await.unwrap();
    assert_eq!(wechat.token_fetches(), 2);
    // 1 + the call answered 42001 + its retry.
    assert_eq!(wechat.calls("/cgi-bin/user/info"), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_token_is_replaced_once_for_all_callers() {
    let wechat = mock().await;
    let client = builder(&wechat)
        .token_kind(TokenKind::Normal)
        .build()
        .unwrap();
    client.user().info("oUser1", Lang::ZhCn).await.unwrap();
    let first = wechat.current_token().unwrap();

    // Another system rotated the token: every caller is refused once, one of them refetches.
    wechat.revoke_token(&first);
    let calls: Vec<_> = (0..50)
        .map(|_| {
            let client = client.clone();
            tokio::spawn(async move { client.user().info("oUser1", Lang::ZhCn).await })
        })
        .collect();
    for call in calls {
        call.await.unwrap().unwrap();
    }
    assert_eq!(wechat.token_fetches(), 2);
    assert_eq!(wechat.issued_tokens().len(), 2);
    let second = wechat.current_token().unwrap();
    assert_eq!(
        client.access_token().await.unwrap().expose(),
        second.as_str()
    );
}

#[tokio::test]
async fn no_loop_when_the_new_token_is_refused_too() {
    let wechat = mock().await;
    let client = builder(&wechat)
        .token_kind(TokenKind::Normal)
        .build()
        .unwrap();
    wechat.fail_next("/cgi-bin/menu/get", 10, 40001);
    let err = client.menu().get().await.unwrap_err();
    assert_eq!(err.errcode(), Some(40001));
    assert!(err.wechat().unwrap().is_token_invalid());
    // The call and its one retry; the first token and its one replacement.
    assert_eq!(wechat.calls("/cgi-bin/menu/get"), 2);
    assert_eq!(wechat.token_fetches(), 2);
}

#[tokio::test]
async fn other_errors_are_not_retried() {
    let wechat = mock().await;
    let client = client(&wechat);
    wechat.fail_next("/cgi-bin/user/get", 1, 45009);
    let err = client.user().list(None).await.unwrap_err();
    assert_eq!(err.errcode(), Some(45009));
    assert_eq!(
        err.wechat().unwrap().meaning(),
        Some("daily API quota reached")
    );
    assert_eq!(wechat.calls("/cgi-bin/user/get"), 1);
    assert_eq!(wechat.token_fetches(), 1);
}

#[tokio::test]
async fn stable_tokens_are_shared_and_forced_only_after_a_refusal() {
    let wechat = mock().await;
    // Two systems with their own stores, one AppSecret: stable_token does not rotate.
    let a = builder(&wechat)
        .token_kind(TokenKind::Stable)
        .build()
        .unwrap();
    let b = builder(&wechat)
        .token_kind(TokenKind::Stable)
        .build()
        .unwrap();
    a.user().info("oUser1", Lang::ZhCn).await.unwrap();
    b.user().info("oUser1", Lang::ZhCn).await.unwrap();
    assert_eq!(wechat.token_fetches(), 2);
    assert_eq!(wechat.issued_tokens().len(), 1);
    let body = wechat
        .last_request("/cgi-bin/stable_token")
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(body["force_refresh"], false);
    assert_eq!(body["grant_type"], "client_credential");
    assert_eq!(body["appid"], wechat.app_id());

    wechat.revoke_token(&wechat.current_token().unwrap());
    a.user().info("oUser1", Lang::ZhCn).await.unwrap();
    let body = wechat
        .last_request("/cgi-bin/stable_token")
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(body["force_refresh"], true);
    assert_eq!(wechat.issued_tokens().len(), 2);
}

#[tokio::test]
async fn token_fetch_errors_are_typed() {
    let wechat = mock().await;
    for kind in [TokenKind::Normal, TokenKind::Stable] {
        let client = WechatClient::builder(wechat.app_id(), "wrong-secret")
            .api_base(wechat.base_url())
            .token_kind(kind)
            .build()
            .unwrap();
        let err = client.menu().get().await.unwrap_err();
        assert_eq!(err.errcode(), Some(40125), "{kind:?}");
        assert!(err.to_string().contains("invalid appsecret"), "{err}");
    }
    let request = wechat.last_request("/cgi-bin/token").unwrap();
    assert_eq!(request.query("grant_type"), Some("client_credential"));
    assert_eq!(request.query("appid"), Some(wechat.app_id()));
}

#[tokio::test]
async fn a_token_source_of_your_own_is_asked_again_after_a_refusal() {
    let wechat = mock().await;
    let asked = Arc::new(AtomicUsize::new(0));
    let invalidated = Arc::new(AtomicUsize::new(0));
    let source = {
        let (asked, invalidated) = (Arc::clone(&asked), Arc::clone(&invalidated));
        move |was_invalidated: bool| {
            asked.fetch_add(1, Ordering::SeqCst);
            invalidated.fetch_add(usize::from(was_invalidated), Ordering::SeqCst);
            async {
                Ok(FetchedToken {
                    token: AccessToken::new("from-our-token-service"),
                    expires_in: 7200,
                })
            }
        }
    };
    let client = builder(&wechat).token_source(source).build().unwrap();
    // The mock never issued this token: refused, replaced, refused again, given up.
    let err = client.user().list(None).await.unwrap_err();
    assert_eq!(err.errcode(), Some(40001));
    assert_eq!(asked.load(Ordering::SeqCst), 2);
    assert_eq!(invalidated.load(Ordering::SeqCst), 1);
    assert_eq!(wechat.token_fetches(), 0);
    assert_eq!(
        wechat
            .last_request("/cgi-bin/user/get")
            .unwrap()
            .query("access_token"),
        Some("from-our-token-service")
    );
}

// ---------------------------------------------------------------------------------------------
// Timeouts and transport failures
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn slow_answers_are_timeouts() {
    let wechat = mock().await;
    let client = builder(&wechat)
        .timeout(Duration::from_millis(200))
        .build()
        .unwrap();
    client.access_token().await.unwrap();
    wechat.set_endpoint_latency("/cgi-bin/menu/get", Duration::from_secs(2));
    let started = std::time::Instant::now();
    let err = client.menu().get().await.unwrap_err();
    assert!(matches!(err, ClientError::Timeout), "{err:?}");
    assert!(started.elapsed() < Duration::from_secs(1));

    // A slow token endpoint too.
    let cold = builder(&wechat)
        .timeout(Duration::from_millis(200))
        .build()
        .unwrap();
    wechat.set_latency(Duration::from_secs(2));
    assert!(matches!(
        cold.access_token().await,
        Err(ClientError::Timeout)
    ));
}

#[tokio::test]
async fn an_unreachable_server_is_a_transport_error() {
    let addr = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap()
    };
    let client = WechatClient::builder("wx1", "s")
        .api_base(format!("http://{addr}"))
        .build()
        .unwrap();
    let err = client.access_token().await.unwrap_err();
    assert!(matches!(err, ClientError::Transport(_)), "{err:?}");
}

// ---------------------------------------------------------------------------------------------
// API families
// ---------------------------------------------------------------------------------------------

/// Every button type, as WeChat's documentation writes them.
const EVERY_BUTTON: &str = r#"{"button":[
    {"type":"click","name":"今日歌曲","key":"V1001_TODAY_MUSIC"},
    {"name":"扫码","sub_button":[
        {"type":"scancode_waitmsg","name":"扫码带提示","key":"rselfmenu_0_0"},
        {"type":"scancode_push","name":"扫码推事件","key":"rselfmenu_0_1"},
        {"type":"pic_sysphoto","name":"系统拍照发图","key":"rselfmenu_1_0"},
        {"type":"pic_photo_or_album","name":"拍照或者相册发图","key":"rselfmenu_1_1"},
        {"type":"pic_weixin","name":"微信相册发图","key":"rselfmenu_1_2"}
    ]},
    {"name":"其他","sub_button":[
        {"type":"location_select","name":"发送位置","key":"rselfmenu_2_0"},
        {"type":"media_id","name":"图片","media_id":"MEDIA_ID1"},
        {"type":"article_id","name":"文章","article_id":"ARTICLE_ID1"},
        {"type":"article_view_limited","name":"图文","article_id":"ARTICLE_ID2"},
        {"type":"miniprogram","name":"wxa","url":"http://mp.weixin.qq.com","appid":"wx286b93c14bbf93aa","pagepath":"pages/lunar/index"}
    ]}
]}"#;

#[tokio::test]
async fn menu_create_get_delete() {
    let wechat = mock().await;
    let client = client(&wechat);
    let menu: Menu = serde_json::from_str(EVERY_BUTTON).unwrap();
    client.menu().create(&menu).await.unwrap();
    // The mock checked each button and kept the body as sent.
    let sent: Value = serde_json::from_str(EVERY_BUTTON).unwrap();
    let mut stored = wechat.menu().unwrap();
    stored.as_object_mut().unwrap().remove("menuid");
    assert_eq!(stored, sent);

    // menu/get answers with `sub_button: []` on leaves and a menuid.
    let info = client.menu().get().await.unwrap();
    assert_eq!(info.menu.button, menu.button);
    assert!(info.menu.menuid.is_some());
    assert!(info.conditionalmenu.is_empty());

    client.menu().delete().await.unwrap();
    assert_eq!(
        client.menu().get().await.unwrap_err().errcode(),
        Some(46003)
    );

    // WeChat's own JSON, sent as it is.
    let answer = client
        .menu()
        .create_json(r#"{"button":[{"type":"view","name":"搜索","url":"http://www.soso.com/"}]}"#)
        .await
        .unwrap();
    assert_eq!(answer, json!({ "errcode": 0, "errmsg": "ok" }));
    assert_eq!(
        client.menu().get().await.unwrap().menu.button,
        vec![Button::view("搜索", "http://www.soso.com/")]
    );

    // Four top-level buttons: WeChat says 40016.
    let too_many = Menu::new(
        (0..4)
            .map(|i| Button::click(format!("b{i}"), "k"))
            .collect(),
    );
    let err = client.menu().create(&too_many).await.unwrap_err();
    assert_eq!(err.errcode(), Some(40016));
    let ButtonAction::SubMenu(sub) = &menu.button[1].action else {
        panic!()
    };
    assert_eq!(sub.len(), 5);
}

#[tokio::test]
async fn customer_service_messages() {
    let wechat = mock().await;
    let client = client(&wechat);
    let messages = [
        CustomMessage::text("oUser1", "你好 <a href=\"https://example.com\">link</a>"),
        CustomMessage::image("oUser1", "MEDIA_ID"),
        CustomMessage::news(
            "oUser1",
            NewsArticle {
                title: "Title".into(),
                description: "Description".into(),
                url: "https://example.com/a".into(),
                picurl: "https://example.com/a.png".into(),
            },
        ),
        CustomMessage::mini_program_page(
            "oUser1",
            MiniProgramPage {
                title: "Card".into(),
                appid: "wxa".into(),
                pagepath: "pages/index?x=1".into(),
                thumb_media_id: "THUMB".into(),
            },
        )
        .kf_account("kf1@gh_mock"),
    ];
    for message in &messages {
        client.message().send_custom(message).await.unwrap();
    }
    let sent: Vec<Value> = wechat
        .requests("/cgi-bin/message/custom/send")
        .iter()
        .map(|r| r.json().unwrap())
        .collect();
    assert_eq!(
        sent[0]["text"]["content"],
        "你好 <a href=\"https://example.com\">link</a>"
    );
    assert_eq!(
        sent[1],
        json!({"touser":"oUser1","msgtype":"image","image":{"media_id":"MEDIA_ID"}})
    );
    assert_eq!(
        sent[2]["news"]["articles"][0]["picurl"],
        "https://example.com/a.png"
    );
    assert_eq!(sent[3]["msgtype"], "miniprogrampage");
    assert_eq!(sent[3]["customservice"]["kf_account"], "kf1@gh_mock");
    // Not a follower.
    let err = client
        .message()
        .send_custom(&CustomMessage::text("oStranger", "hi"))
        .await
        .unwrap_err();
    assert_eq!(err.errcode(), Some(40003));
}

#[tokio::test]
async fn template_and_subscribe_messages() {
    let wechat = mock().await;
    let client = client(&wechat);
    let template = TemplateMessage::new("oUser2", "TPL")
        .url("https://example.com/order/1")
        .miniprogram("wxa", "pages/order?id=1")
        .client_msg_id("order-1-shipped")
        .field("thing1", "Parcel")
        .field("time2", "2024-05-01 10:00");
    let msgid = client.message().send_template(&template).await.unwrap();
    assert!(msgid > 0);
    let sent = wechat
        .last_request("/cgi-bin/message/template/send")
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(sent["data"]["time2"]["value"], "2024-05-01 10:00");
    assert_eq!(sent["miniprogram"]["pagepath"], "pages/order?id=1");
    assert_eq!(sent["client_msg_id"], "order-1-shipped");

    let oa = SubscribeMessage::new("oUser1", "SUB_TPL")
        .page("https://example.com")
        .field("thing1", "x");
    client.message().send_subscribe(&oa).await.unwrap();
    assert_eq!(wechat.calls("/cgi-bin/message/subscribe/bizsend"), 1);

    let mp = SubscribeMessage::new("oUser1", "SUB_TPL")
        .page("pages/index")
        .miniprogram_state("trial")
        .lang("zh_CN")
        .field("thing1", "x");
    client.miniprogram().send_subscribe(&mp).await.unwrap();
    let sent = wechat
        .last_request("/cgi-bin/message/subscribe/send")
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(sent["miniprogram_state"], "trial");

    let bad = SubscribeMessage::new("oUser1", "SUB_TPL").miniprogram_state("beta");
    let err = client.miniprogram().send_subscribe(&bad).await.unwrap_err();
    assert_eq!(err.errcode(), Some(47001));
}

#[tokio::test]
async fn user_info_and_paged_list() {
    let wechat = MockWechat::builder()
        .users(["o1", "o2", "o3", "o4", "o5"])
        .user_page_size(2)
        .start()
        .await
        .unwrap();
    let client = client(&wechat);
    let info = client.user().info("o3", Lang::En).await.unwrap();
    assert_eq!(
        (info.subscribe, info.openid.as_str(), info.language.as_str()),
        (1, "o3", "en")
    );
    assert_eq!(info.unionid.as_deref(), Some("mock-union-o3"));
    assert_eq!(
        client
            .user()
            .info("o9", Lang::ZhCn)
            .await
            .unwrap_err()
            .errcode(),
        Some(40003)
    );

    let mut all = Vec::new();
    let mut next: Option<String> = None;
    loop {
        let page = client.user().list(next.as_deref()).await.unwrap();
        assert_eq!(page.total, 5);
        if page.count == 0 {
            assert!(page.openids().is_empty());
            break;
        }
        all.extend(page.openids().iter().cloned());
        next = Some(page.next_openid);
    }
    assert_eq!(all, ["o1", "o2", "o3", "o4", "o5"]);
    let queries: Vec<Option<String>> = wechat
        .requests("/cgi-bin/user/get")
        .iter()
        .map(|r| r.query("next_openid").map(str::to_owned))
        .collect();
    assert_eq!(
        queries,
        [
            None,
            Some("o2".into()),
            Some("o4".into()),
            Some("o5".into())
        ]
    );
}

#[tokio::test]
async fn qr_codes_of_every_kind() {
    let wechat = mock().await;
    let client = client(&wechat);
    let requests = [
        QrCodeRequest::temporary(Scene::Id(123), 604_800),
        QrCodeRequest::temporary(Scene::Str("promo".into()), 3600),
        QrCodeRequest::permanent(Scene::Id(7)),
        QrCodeRequest::permanent(Scene::Str("shop-7".into())),
    ];
    let mut codes = Vec::new();
    for request in &requests {
        codes.push(client.qrcode().create(request).await.unwrap());
    }
    let sent: Vec<Value> = wechat
        .requests("/cgi-bin/qrcode/create")
        .iter()
        .map(|r| r.json().unwrap())
        .collect();
    assert_eq!(
        sent[0],
        json!({"expire_seconds":604800,"action_name":"QR_SCENE","action_info":{"scene":{"scene_id":123}}})
    );
    assert_eq!(sent[1]["action_info"]["scene"]["scene_str"], "promo");
    assert_eq!(
        sent[2],
        json!({"action_name":"QR_LIMIT_SCENE","action_info":{"scene":{"scene_id":7}}})
    );
    assert_eq!(sent[3]["action_name"], "QR_LIMIT_STR_SCENE");
    assert_eq!(codes[0].expire_seconds, Some(604_800));
    assert_eq!(codes[2].expire_seconds, None);
    // Tickets carry `+`, `/` and `=`: the show URL encodes them.
    let ticket = &codes[0].ticket;
    assert!(ticket.contains('+') && ticket.contains('/'));
    let url = codes[0].show_url();
    assert!(
        url.starts_with("https://mp.weixin.qq.com/cgi-bin/showqrcode?ticket=gQmock%2Bticket%2F"),
        "{url}"
    );
    assert!(url.ends_with("%3D%3D"), "{url}");
}

#[tokio::test]
async fn media_upload_and_download() {
    let wechat = mock().await;
    let client = client(&wechat);
    let png = Bytes::from_static(b"\x89PNG\r\n\x1a\n fake image with \r\n-- dashes");
    let uploaded = client
        .media()
        .upload(MediaType::Image, "qr code.png", "image/png", png.clone())
        .await
        .unwrap();
    assert_eq!(uploaded.media_type, MediaType::Image);
    let request = wechat.last_request("/cgi-bin/media/upload").unwrap();
    assert_eq!(request.query("type"), Some("image"));
    let content_type = request.headers["content-type"].to_str().unwrap();
    assert!(
        content_type.starts_with("multipart/form-data; boundary="),
        "{content_type}"
    );

    let MediaFile::File {
        content_type,
        filename,
        data,
    } = client.media().get(&uploaded.media_id).await.unwrap()
    else {
        panic!("not a file")
    };
    assert_eq!(data, png);
    assert_eq!(content_type.as_deref(), Some("image/png"));
    assert_eq!(filename.as_deref(), Some("qr code.png"));

    let thumb = client
        .media()
        .upload(
            MediaType::Thumb,
            "t.jpg",
            "image/jpeg",
            Bytes::from_static(b"jpg"),
        )
        .await
        .unwrap();
    assert!(thumb.media_id.starts_with("mock-media-"));

    let video = client
        .media()
        .upload(
            MediaType::Video,
            "v.mp4",
            "video/mp4",
            Bytes::from_static(b"mp4"),
        )
        .await
        .unwrap();
    let MediaFile::VideoUrl(url) = client.media().get(&video.media_id).await.unwrap() else {
        panic!("videos come as URLs")
    };
    assert!(url.contains(&video.media_id));

    // A JSON error instead of a file.
    let err = client.media().get("no-such-media").await.unwrap_err();
    assert_eq!(err.errcode(), Some(40007));
}

#[tokio::test]
async fn jssdk_ticket_and_config() {
    let wechat = mock().await;
    let client = client(&wechat);
    let url = "https://example.com/page?a=1#/route";
    let first = client.jssdk().config(url).await.unwrap();
    let second = client.jssdk().config(url).await.unwrap();
    assert_eq!(wechat.calls("/cgi-bin/ticket/getticket"), 1);
    assert_ne!(first.nonce_str, second.nonce_str);
    let ticket = client.jssdk().ticket().await.unwrap();
    assert!(ticket.expose().starts_with("mock-jsapi-ticket-"));
    assert_eq!(
        first.signature,
        jssdk::sign(
            ticket.expose(),
            &first.nonce_str,
            first.timestamp,
            "https://example.com/page?a=1"
        )
    );
    assert_eq!(first.app_id, wechat.app_id());
    let request = wechat.last_request("/cgi-bin/ticket/getticket").unwrap();
    assert_eq!(request.query("type"), Some("jsapi"));
    assert!(request.query("access_token").is_some());
}

#[tokio::test]
async fn web_authorization() {
    let wechat = mock().await;
    let client = client(&wechat);
    let url = client.oauth().authorize_url(
        "https://example.com/callback?from=menu",
        OAuthScope::UserInfo,
        "csrf123",
    );
    assert_eq!(
        url,
        format!(
            "{}/connect/oauth2/authorize?appid={}&redirect_uri=https%3A%2F%2Fexample.com%2Fcallback%3Ffrom%3Dmenu&response_type=code&scope=snsapi_userinfo&state=csrf123#wechat_redirect",
            wechat.base_url(),
            wechat.app_id()
        )
    );

    // The browser goes there (without the fragment) and is sent back with a code.
    wechat.set_authorize_user("oWebUser");
    let page = url.split_once('#').unwrap().0;
    let res = HttpTransport::new()
        .unwrap()
        .oneshot(http::Request::get(page).body(Bytes::new()).unwrap())
        .await
        .unwrap();
    assert_eq!(res.status(), http::StatusCode::FOUND);
    let location = res.headers()["location"].to_str().unwrap().to_owned();
    assert!(
        location.starts_with("https://example.com/callback?from=menu&code="),
        "{location}"
    );
    assert!(location.ends_with("&state=csrf123"), "{location}");
    let code = location
        .split("code=")
        .nth(1)
        .unwrap()
        .split('&')
        .next()
        .unwrap();

    let token = client.oauth().exchange_code(code).await.unwrap();
    assert_eq!(token.openid, "oWebUser");
    assert!(format!("{token:?}").contains("OAuthAccessToken([redacted])"));
    let request = wechat.last_request("/sns/oauth2/access_token").unwrap();
    assert_eq!(request.query("grant_type"), Some("authorization_code"));
    assert_eq!(request.query("secret"), Some(wechat.app_secret()));

    let user = client
        .oauth()
        .user_info(&token.access_token, &token.openid, Lang::ZhCn)
        .await
        .unwrap();
    assert_eq!(user.openid, "oWebUser");
    assert_eq!(user.unionid.as_deref(), Some("mock-union-oWebUser"));
    assert!(
        client
            .oauth()
            .check(&token.access_token, &token.openid)
            .await
            .unwrap()
    );
    assert!(
        !client
            .oauth()
            .check(&OAuthAccessToken::new("forged"), &token.openid)
            .await
            .unwrap()
    );

    let renewed = client.oauth().refresh(&token.refresh_token).await.unwrap();
    assert_eq!(renewed.openid, "oWebUser");
    assert_ne!(renewed.access_token.expose(), token.access_token.expose());

    // A code works once.
    assert_eq!(
        client
            .oauth()
            .exchange_code(code)
            .await
            .unwrap_err()
            .errcode(),
        Some(40163)
    );
    assert_eq!(
        client
            .oauth()
            .exchange_code("bogus")
            .await
            .unwrap_err()
            .errcode(),
        Some(40029)
    );
    // None of this used the app's access_token.
    assert_eq!(wechat.token_fetches(), 0);
}

#[tokio::test]
async fn mini_program_login_and_its_errors() {
    let wechat = mock().await;
    let client = client(&wechat);
    let code = wechat.issue_js_code("oMiniUser");
    let session = client.miniprogram().code_to_session(&code).await.unwrap();
    assert_eq!(session.openid, "oMiniUser");
    assert_eq!(session.unionid.as_deref(), Some("mock-union-oMiniUser"));
    assert_eq!(session.session_key.expose().len(), 24);
    assert!(format!("{session:?}").contains("SessionKey([redacted])"));
    let request = wechat.last_request("/sns/jscode2session").unwrap();
    assert_eq!(request.query("js_code"), Some(code.as_str()));
    assert_eq!(request.query("appid"), Some(wechat.app_id()));
    assert_eq!(request.query("grant_type"), Some("authorization_code"));
    assert_eq!(request.query("access_token"), None);

    let err = client
        .miniprogram()
        .code_to_session("expired")
        .await
        .unwrap_err();
    assert_eq!(err.errcode(), Some(40029));
    assert_eq!(
        err.wechat().unwrap().meaning(),
        Some("invalid code (expired, or for another app)")
    );

    wechat.fail_next("/sns/jscode2session", 1, 45011);
    let err = client
        .miniprogram()
        .code_to_session(&wechat.issue_js_code("o"))
        .await
        .unwrap_err();
    assert_eq!(err.errcode(), Some(45011));
    assert_eq!(
        err.wechat().unwrap().meaning(),
        Some("API called too often, slow down")
    );

    wechat.fail_next("/sns/jscode2session", 1, 40226);
    let err = client
        .miniprogram()
        .code_to_session(&wechat.issue_js_code("o"))
        .await
        .unwrap_err();
    assert_eq!(err.errcode(), Some(40226));
    assert!(err.to_string().contains("risky user"), "{err}");

    assert_eq!(
        client
            .miniprogram()
            .code_to_session(&code)
            .await
            .unwrap_err()
            .errcode(),
        Some(40163)
    );
    assert_eq!(wechat.token_fetches(), 0);
}

#[tokio::test]
async fn mini_program_phone_number() {
    let wechat = mock().await;
    let client = client(&wechat);
    let code = wechat.issue_phone_code("13800138000");
    let phone = client.miniprogram().phone_number(&code).await.unwrap();
    assert_eq!(phone.phone_number, "13800138000");
    assert_eq!(phone.country_code, "86");
    assert_eq!(phone.watermark.appid, wechat.app_id());
    let request = wechat
        .last_request("/wxa/business/getuserphonenumber")
        .unwrap();
    assert_eq!(request.json().unwrap(), json!({ "code": code }));
    assert!(request.query("access_token").is_some());
    assert_eq!(
        client
            .miniprogram()
            .phone_number(&code)
            .await
            .unwrap_err()
            .errcode(),
        Some(40029)
    );
}

#[tokio::test]
async fn raw_calls_and_the_mocks_own_errors() {
    let wechat = mock().await;
    let client = client(&wechat);
    let followers: Value = client
        .get_json("/cgi-bin/user/get", &[("next_openid", "oUser1")])
        .await
        .unwrap();
    assert_eq!(followers["count"], 2);
    let answer: Value = client
        .post_json(
            "/cgi-bin/menu/create",
            &[],
            &json!({"button":[{"type":"click","name":"a","key":"k"}]}),
        )
        .await
        .unwrap();
    assert_eq!(answer["errcode"], 0);
    // Wrong method, unknown endpoint.
    let err = client
        .get_json::<Value>("/cgi-bin/menu/create", &[])
        .await
        .unwrap_err();
    assert_eq!(err.errcode(), Some(43002));
    let err = client
        .get_json::<Value>("/cgi-bin/nope", &[])
        .await
        .unwrap_err();
    assert_eq!(err.errcode(), Some(404));
    // Requests without a token are refused as WeChat does.
    let res = HttpTransport::new()
        .unwrap()
        .oneshot(
            http::Request::get(format!("{}/cgi-bin/menu/get", wechat.base_url()))
                .body(Bytes::new())
                .unwrap(),
        )
        .await
        .unwrap();
    let body: Value = serde_json::from_slice(res.body()).unwrap();
    assert_eq!(body["errcode"], 41001);
}
