//! The Mini Program backend end to end: the `miniprogram-login` example app served over TCP on
//! 127.0.0.1, a mock WeChat API (`MockWechat`) on loopback, and sessions in memory or in a real
//! Redis. Every endpoint; expired, revoked, forged and malformed tokens; forged `encryptedData`
//! and another app's watermark; WeChat's login refusals; re-login; two processes sharing
//! sessions through Redis; and neither tokens nor session keys in the logs, the store or `Debug`.

#![allow(
    clippy::unwrap_used,
    reason = "test helpers: a failure is a test failure"
)]

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http::{Request, StatusCode, header};
use http_body_util::Full;
use miniprogram_login::{App, router};
use serde_json::{Value, json};
use wechat_e2e::{RedisServer, send};
use wechat_tower::client::WechatClient;
use wechat_tower::core::secret::SessionKey;
use wechat_tower::session::SessionStore;
use wechat_tower::store::{MemoryStore, RedisStore, Store};
use wechat_tower::test_util::mock::{EncryptedData, MockWechat, encrypt_open_data};

/// The app id of the official `encryptedData` sample: the mock plays that app, so the sample
/// decrypts through the whole stack.
const APPID: &str = "wx4f4bc4dec97d474b";
const USER: &str = "oGZUI0egBJY1zhBYw2KhdUfwVJJE";
const T0: u64 = 1_700_000_000;

/// `wechat-core/tests/vectors/miniprogram_decrypt.json`, the in-repo copy of the shared suite.
fn vectors() -> Value {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../wechat-core/tests/vectors/miniprogram_decrypt.json"
    );
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn official_decrypt_vector() -> Value {
    vectors()["decrypt_vectors"][0].clone()
}

async fn mock() -> MockWechat {
    // Before anything logs: see `tokens_and_session_keys_never_reach_the_logs_or_debug`.
    capture_logs();
    MockWechat::builder()
        .app(APPID, "e2e-secret")
        .start()
        .await
        .unwrap()
}

fn client(wechat: &MockWechat, store: Arc<dyn Store>) -> WechatClient {
    WechatClient::builder(wechat.app_id(), wechat.app_secret())
        .api_base(wechat.base_url())
        .store(store)
        .build()
        .unwrap()
}

/// Serves the example app on a free loopback port.
async fn serve(app: App) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router(app)).await });
    addr
}

/// A manual clock for the sessions, starting at [`T0`].
fn manual_clock() -> (Arc<AtomicU64>, impl Fn() -> u64 + Send + Sync + 'static) {
    let now = Arc::new(AtomicU64::new(T0));
    let clock = Arc::clone(&now);
    (now, move || clock.load(Ordering::SeqCst))
}

/// The example app over `wechat`, sessions in memory.
async fn app_in_memory(wechat: &MockWechat) -> (SocketAddr, Arc<AtomicU64>) {
    let (addr, now, _) = app_in_memory_with_sessions(wechat).await;
    (addr, now)
}

/// [`app_in_memory`], and its sessions (to open one as `SessionStore::login` would).
async fn app_in_memory_with_sessions(
    wechat: &MockWechat,
) -> (SocketAddr, Arc<AtomicU64>, SessionStore) {
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    let (now, clock) = manual_clock();
    let sessions = SessionStore::new(Arc::clone(&store)).clock(clock);
    let addr = serve(App::new(client(wechat, store), sessions.clone())).await;
    (addr, now, sessions)
}

/// One HTTP call: method, path, optional bearer token, optional JSON body → status and JSON.
async fn call(
    addr: SocketAddr,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let (status, bytes) = call_raw(addr, method, path, token, body.map(|b| b.to_string())).await;
    let json = serde_json::from_slice(&bytes)
        .unwrap_or_else(|e| panic!("{path} answered {status} with non-JSON {bytes:?}: {e}"));
    (status, json)
}

async fn call_raw(
    addr: SocketAddr,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<String>,
) -> (StatusCode, Bytes) {
    let mut req = Request::builder().method(method).uri(path);
    if let Some(token) = token {
        req = req.header(header::AUTHORIZATION, format!("Bearer {token}"));
    }
    if body.is_some() {
        req = req.header(header::CONTENT_TYPE, "application/json");
    }
    let req = req
        .body(Full::new(Bytes::from(body.unwrap_or_default())))
        .unwrap();
    send(addr, req).await
}

fn error(errcode: i64, errmsg: &str) -> Value {
    json!({ "errcode": errcode, "errmsg": errmsg })
}

/// Logs `openid` in with a fresh code (and the given session key, if any); returns the token.
async fn login(
    addr: SocketAddr,
    wechat: &MockWechat,
    openid: &str,
    session_key: Option<&str>,
) -> String {
    let code = match session_key {
        Some(key) => wechat.issue_js_code_with_session_key(openid, key),
        None => wechat.issue_js_code(openid),
    };
    let (status, body) = call(addr, "POST", "/login", None, Some(json!({ "code": code }))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["openid"], openid);
    assert_eq!(body.as_object().unwrap().len(), 2, "{body}");
    body["token"].as_str().unwrap().to_owned()
}

fn userinfo_body(data: &EncryptedData) -> Value {
    json!({ "encryptedData": data.encrypted_data, "iv": data.iv })
}

/// Login, `/me`, `/userinfo` (the official sample, byte for byte, and `rawData` checked),
/// `/phone`, logout: the flow of a Mini Program, against any store (`sessions`: the app's).
async fn full_flow(addr: SocketAddr, wechat: &MockWechat, sessions: &SessionStore) {
    let sample = official_decrypt_vector();
    let token = login(
        addr,
        wechat,
        USER,
        Some(sample["session_key"].as_str().unwrap()),
    )
    .await;
    assert_eq!(token.len(), 43, "32 bytes in base64url: {token}");

    let (status, body) = call(addr, "GET", "/me", Some(&token), None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        body,
        json!({ "openid": USER, "unionid": format!("mock-union-{USER}") })
    );

    // The official sample names its user by openId and unionId. The mock's login gave this
    // session another unionid (`mock-union-…`): the data is not this session's, and is refused
    // like data that does not decrypt.
    let sample_body =
        json!({ "encryptedData": sample["encrypted_data"], "iv": sample["iv"] }).to_string();
    let (status, bytes) = call_raw(
        addr,
        "POST",
        "/userinfo",
        Some(&token),
        Some(sample_body.clone()),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{bytes:?}");
    assert_eq!(
        serde_json::from_slice::<Value>(&bytes).unwrap(),
        error(10202, "encryptedData does not decrypt")
    );
    // In a session of the sample's user (as `SessionStore::login` opens it from WeChat's
    // answer), it decrypts, and comes back exactly as WeChat wrote it.
    let sample_session = sessions
        .create(
            USER,
            sample["expected"]["unionId"].as_str(),
            &SessionKey::new(sample["session_key"].as_str().unwrap()),
        )
        .await
        .unwrap();
    let (status, bytes) = call_raw(
        addr,
        "POST",
        "/userinfo",
        Some(sample_session.expose()),
        Some(sample_body),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{bytes:?}");
    assert_eq!(bytes, sample["expected_plaintext"].as_str().unwrap());

    // Data the mock encrypts as WeChat would (watermark of this app, now), with rawData and
    // its signature over the same session key.
    let profile = json!({ "nickName": "测试😀", "gender": 1 });
    let data = wechat.encrypt_user_data(USER, profile.clone()).unwrap();
    let raw_data = profile.to_string();
    let session_key = SessionKey::new(wechat.session_key(USER).unwrap());
    let signature = wechat_tower::core::miniprogram::sign_raw_data(&raw_data, &session_key);
    let mut body = userinfo_body(&data);
    body["rawData"] = json!(raw_data);
    body["signature"] = json!(signature);
    let (status, decrypted) =
        call(addr, "POST", "/userinfo", Some(&token), Some(body.clone())).await;
    assert_eq!(status, StatusCode::OK, "{decrypted}");
    assert_eq!(decrypted["nickName"], "测试😀");
    assert_eq!(decrypted["watermark"]["appid"], APPID);
    body["signature"] = json!("0".repeat(40));
    assert_eq!(
        call(addr, "POST", "/userinfo", Some(&token), Some(body)).await,
        (
            StatusCode::BAD_REQUEST,
            error(10204, "rawData signature mismatch")
        )
    );

    let code = wechat.issue_phone_code("13800138000");
    let (status, phone) = call(
        addr,
        "POST",
        "/phone",
        Some(&token),
        Some(json!({ "code": code })),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{phone}");
    assert_eq!(phone["phoneNumber"], "13800138000");
    assert_eq!(phone["purePhoneNumber"], "13800138000");
    assert_eq!(phone["countryCode"], "86");
    assert_eq!(phone["watermark"]["appid"], APPID);
    // A phone code works once.
    assert_eq!(
        call(
            addr,
            "POST",
            "/phone",
            Some(&token),
            Some(json!({ "code": code }))
        )
        .await,
        (StatusCode::BAD_REQUEST, error(10205, "invalid phone code"))
    );

    let (status, body) = call(addr, "POST", "/logout", Some(&token), None).await;
    assert_eq!((status, body), (StatusCode::OK, error(0, "ok")));
    for (method, path) in [("GET", "/me"), ("POST", "/userinfo"), ("POST", "/phone")] {
        assert_eq!(
            call(addr, method, path, Some(&token), Some(json!({}))).await,
            (
                StatusCode::UNAUTHORIZED,
                error(10002, "session token invalid")
            ),
            "{path} after logout"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_endpoint_in_memory() {
    let wechat = mock().await;
    let (addr, _, sessions) = app_in_memory_with_sessions(&wechat).await;
    full_flow(addr, &wechat, &sessions).await;
    assert_eq!(wechat.calls("/sns/jscode2session"), 1);
}

#[tokio::test]
async fn missing_forged_and_malformed_tokens_are_401() {
    let wechat = mock().await;
    let (addr, _) = app_in_memory(&wechat).await;
    let token = login(addr, &wechat, USER, None).await;
    let forged = wechat_tower::session::SessionToken::generate().unwrap();
    let mut flipped = token.clone().into_bytes();
    flipped[20] = if flipped[20] == b'A' { b'B' } else { b'A' };
    let flipped = String::from_utf8(flipped).unwrap();

    let missing = error(10001, "session token missing");
    let invalid = error(10002, "session token invalid");
    for (authorization, expected) in [
        (None, &missing),
        (Some(format!("Basic {token}")), &missing),
        (Some(token.clone()), &missing),
        (Some(format!("Bearer {}", forged.expose())), &invalid),
        (Some(format!("Bearer {flipped}")), &invalid),
        (Some(format!("Bearer {token}=")), &invalid),
        (Some("Bearer ../../etc/passwd".to_owned()), &invalid),
    ] {
        let mut req = Request::get("/me");
        if let Some(value) = &authorization {
            req = req.header(header::AUTHORIZATION, value);
        }
        let (status, body) = send(addr, req.body(Full::default()).unwrap()).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{authorization:?}");
        let body: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(&body, expected, "{authorization:?}");
    }
    // The real token still works.
    assert_eq!(
        call(addr, "GET", "/me", Some(&token), None).await.0,
        StatusCode::OK
    );
}

#[tokio::test]
async fn an_expired_token_is_401_expired() {
    let wechat = mock().await;
    let (addr, now) = app_in_memory(&wechat).await;
    let token = login(addr, &wechat, USER, None).await;
    now.store(T0 + 7 * 24 * 3600 - 1, Ordering::SeqCst);
    assert_eq!(
        call(addr, "GET", "/me", Some(&token), None).await.0,
        StatusCode::OK
    );
    now.store(T0 + 7 * 24 * 3600, Ordering::SeqCst);
    for (method, path) in [("GET", "/me"), ("POST", "/userinfo"), ("POST", "/phone")] {
        assert_eq!(
            call(addr, method, path, Some(&token), Some(json!({}))).await,
            (StatusCode::UNAUTHORIZED, error(10003, "session expired")),
            "{path}"
        );
    }
}

#[tokio::test]
async fn forged_encrypted_data_is_refused_alike() {
    let wechat = mock().await;
    let (addr, _) = app_in_memory(&wechat).await;
    let token = login(addr, &wechat, USER, None).await;
    let session_key = wechat.session_key(USER).unwrap();
    let genuine = wechat
        .encrypt_user_data(USER, json!({ "nickName": "Band" }))
        .unwrap();
    assert_eq!(
        call(
            addr,
            "POST",
            "/userinfo",
            Some(&token),
            Some(userinfo_body(&genuine))
        )
        .await
        .0,
        StatusCode::OK
    );

    // Encrypted with another session key (what an attacker without ours can do).
    let other_key = encrypt_open_data(
        "AAAAAAAAAAAAAAAAAAAAAA==",
        APPID,
        T0,
        json!({ "nickName": "Mallory" }),
    )
    .unwrap();
    // The genuine ciphertext with one block changed, and with another IV.
    let mut tampered = genuine.clone();
    let mut chars: Vec<char> = tampered.encrypted_data.chars().collect();
    chars[5] = if chars[5] == 'A' { 'B' } else { 'A' };
    tampered.encrypted_data = chars.into_iter().collect();
    let mut other_iv = genuine.clone();
    other_iv.iv = "AAAAAAAAAAAAAAAAAAAAAA==".to_owned();
    let cases = [
        userinfo_body(&other_key),
        userinfo_body(&tampered),
        userinfo_body(&other_iv),
        json!({ "encryptedData": "not base64!", "iv": genuine.iv }),
        json!({ "encryptedData": genuine.encrypted_data, "iv": "short" }),
        json!({ "encryptedData": "", "iv": genuine.iv }),
        json!({ "encryptedData": "AAAA", "iv": genuine.iv }),
    ];
    for body in cases {
        // Whatever went wrong (padding, JSON, base64, length), the answer is the same: no
        // padding oracle.
        assert_eq!(
            call(addr, "POST", "/userinfo", Some(&token), Some(body.clone())).await,
            (
                StatusCode::BAD_REQUEST,
                error(10202, "encryptedData does not decrypt")
            ),
            "{body}"
        );
    }
    // The session key itself is fine: only the data was forged.
    assert!(SessionKey::new(session_key).aes_key().is_ok());
}

// ---------------------------------------------------------------------------------------------
// Issue 16: forged user data naming another user
// ---------------------------------------------------------------------------------------------

/// The attacker: a user of the same Mini Program, logged in with their own `wx.login()` code.
const ATTACKER: &str = "oMalloryMalloryMalloryMa1234";
/// The IV WeChat chose for the attacker's genuine data.
const GENUINE_IV: &str = "r7BXXKkLb8qrSNn05n0qiA==";

/// What the attacker does with their own genuine data, knowing its plaintext (`/userinfo`
/// echoes it) and nothing else: with C[−1] = IV and P[i] = D(C[i]) ⊕ C[i−1], drop the blocks
/// before b = `start` / 16 − 1 and send IV' = C[b−1] ⊕ P[b] ⊕ `replacement`, so that the
/// first block decrypts to `replacement` and the rest, from `start` on, as before.
fn forge(
    plaintext: &[u8],
    data: &EncryptedData,
    start: usize,
    replacement: &[u8; 16],
) -> EncryptedData {
    assert_eq!(start % 16, 0, "the claimed id starts a block");
    let b = start / 16 - 1;
    let ciphertext = b64_decode(&data.encrypted_data);
    let previous = if b == 0 {
        b64_decode(&data.iv)
    } else {
        ciphertext[(b - 1) * 16..b * 16].to_vec()
    };
    let iv: Vec<u8> = (0..16)
        .map(|i| previous[i] ^ plaintext[b * 16 + i] ^ replacement[i])
        .collect();
    let mut forged = data.clone();
    forged.encrypted_data = b64_encode(&ciphertext[b * 16..]);
    forged.iv = b64_encode(&iv);
    forged
}

/// Posts the attacker's genuine data to `/userinfo` (accepted: it is theirs) and returns the
/// plaintext the server echoes.
async fn genuine_echo(addr: SocketAddr, token: &str, data: &EncryptedData) -> Bytes {
    let (status, echoed) = call_raw(
        addr,
        "POST",
        "/userinfo",
        Some(token),
        Some(userinfo_body(data).to_string()),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{echoed:?}");
    let value: Value = serde_json::from_slice(&echoed).unwrap();
    assert_eq!(
        value["openId"], ATTACKER,
        "the genuine data names the attacker"
    );
    echoed
}

/// The attack of issue 16 through the example app: an attacker whose nickName ends with the
/// victim's openid forges, from their own genuine `encryptedData`, data that decrypts (valid
/// padding, valid JSON, this app's watermark) to `"openId": "<victim>"`. `/userinfo` must not
/// answer it with the victim's openid; it answers like any data that does not decrypt.
#[tokio::test]
async fn issue16_forged_user_data_naming_another_user_is_refused() {
    let wechat = mock().await;
    let (addr, _) = app_in_memory(&wechat).await;
    let victim = login(addr, &wechat, USER, None).await;
    let token = login(addr, &wechat, ATTACKER, None).await;
    let key = SessionKey::new(wechat.session_key(ATTACKER).unwrap())
        .aes_key()
        .unwrap();
    let refused = (
        StatusCode::BAD_REQUEST,
        error(10202, "encryptedData does not decrypt"),
    );

    // 1. WeChat's key order (`openId` first, `unionId` near the end), as in the official sample.
    let before = format!(r#"{{"openId":"{ATTACKER}","nickName":""#);
    let filler = "M".repeat(16 - before.len() % 16);
    let start = before.len() + filler.len();
    let plaintext = format!(
        r#"{before}{filler}{USER}","gender":1,"language":"zh_CN","city":"","province":"","country":"CN","avatarUrl":"","unionId":"mock-union-{ATTACKER}","watermark":{{"timestamp":{T0},"appid":"{APPID}"}}}}"#
    );
    // (`EncryptedData` is non-exhaustive: take one from the mock and put WeChat's bytes in it.)
    let mut genuine = wechat.encrypt_user_data(ATTACKER, json!({})).unwrap();
    genuine.encrypted_data = key.encrypt(GENUINE_IV, plaintext.as_bytes()).unwrap();
    GENUINE_IV.clone_into(&mut genuine.iv);
    assert_eq!(genuine_echo(addr, &token, &genuine).await, plaintext);
    let forged = forge(
        plaintext.as_bytes(),
        &genuine,
        start,
        b"{     \"openId\":\"",
    );
    let decrypted = key.decrypt_raw(&forged.encrypted_data, &forged.iv).unwrap();
    let decrypted = String::from_utf8(decrypted).unwrap();
    assert_eq!(
        decrypted,
        format!("{{     \"openId\":\"{}", &plaintext[start..])
    );
    let value: Value = serde_json::from_str(&decrypted).unwrap();
    assert_eq!(value["openId"], USER, "the forgery names the victim");
    assert_eq!(value["watermark"]["appid"], APPID);
    let (status, bytes) = call_raw(
        addr,
        "POST",
        "/userinfo",
        Some(&token),
        Some(userinfo_body(&forged).to_string()),
    )
    .await;
    assert!(
        !(status == StatusCode::OK || String::from_utf8_lossy(&bytes).contains(USER)),
        "{status} {bytes:?}"
    );
    let body: Value = serde_json::from_slice(&bytes).unwrap();
    assert_eq!((status, body), refused.clone());

    // 2. Sorted key order (the mock writes maps sorted, so `openId` follows `nickName`): the
    // forgery carries the victim's `openId` and then the attacker's. A parser that keeps the
    // last sees the attacker, one that keeps the first the victim: refused too.
    let filler = "M".repeat(16 - r#"{"gender":1,"nickName":""#.len() % 16);
    let genuine = wechat
        .encrypt_user_data(
            ATTACKER,
            json!({ "openId": ATTACKER, "nickName": format!("{filler}{USER}"), "gender": 1 }),
        )
        .unwrap();
    let plaintext = genuine_echo(addr, &token, &genuine).await;
    let start = plaintext
        .windows(USER.len())
        .position(|w| w == USER.as_bytes())
        .unwrap();
    let forged = forge(&plaintext, &genuine, start, b"{     \"openId\":\"");
    let decrypted = key.decrypt_raw(&forged.encrypted_data, &forged.iv).unwrap();
    assert!(
        decrypted
            .starts_with(format!(r#"{{     "openId":"{USER}","openId":"{ATTACKER}","#).as_bytes()),
        "{}",
        String::from_utf8_lossy(&decrypted)
    );
    assert_eq!(
        call(
            addr,
            "POST",
            "/userinfo",
            Some(&token),
            Some(userinfo_body(&forged))
        )
        .await,
        refused
    );

    // The victim's own session is untouched, and the attacker's genuine data still works.
    let (status, me) = call(addr, "GET", "/me", Some(&victim), None).await;
    assert_eq!((status, &me["openid"]), (StatusCode::OK, &json!(USER)));
    genuine_echo(addr, &token, &genuine).await;
}

/// Standard base64 with padding, as WeChat writes `encryptedData` and `iv`.
fn b64_encode(bytes: &[u8]) -> String {
    STANDARD.encode(bytes)
}

fn b64_decode(text: &str) -> Vec<u8> {
    STANDARD.decode(text).unwrap()
}

#[tokio::test]
async fn another_apps_watermark_is_refused() {
    let wechat = mock().await;
    let (addr, _) = app_in_memory(&wechat).await;
    let token = login(addr, &wechat, USER, None).await;
    let session_key = wechat.session_key(USER).unwrap();
    let foreign = encrypt_open_data(
        &session_key,
        "wx0000000000000000",
        T0,
        json!({ "nickName": "Band" }),
    )
    .unwrap();
    assert_eq!(
        call(
            addr,
            "POST",
            "/userinfo",
            Some(&token),
            Some(userinfo_body(&foreign))
        )
        .await,
        (
            StatusCode::BAD_REQUEST,
            error(10203, "data is for another app")
        )
    );
    // The shared suite's negative vector: the official sample checked against another app.
    let negative = &vectors()["negative_vectors"][0];
    assert_eq!(negative["id"], "watermark_appid_mismatch");
    let other_app = MockWechat::builder()
        .app(negative["check_appid"].as_str().unwrap(), "s")
        .start()
        .await
        .unwrap();
    let (addr, _) = app_in_memory(&other_app).await;
    let sample = official_decrypt_vector();
    let token = login(
        addr,
        &other_app,
        USER,
        Some(sample["session_key"].as_str().unwrap()),
    )
    .await;
    let body = json!({ "encryptedData": sample["encrypted_data"], "iv": sample["iv"] });
    assert_eq!(
        call(addr, "POST", "/userinfo", Some(&token), Some(body)).await,
        (
            StatusCode::BAD_REQUEST,
            error(10203, "data is for another app")
        )
    );
}

#[tokio::test]
async fn bad_input_is_400_in_json() {
    let wechat = mock().await;
    let (addr, _) = app_in_memory(&wechat).await;
    let token = login(addr, &wechat, USER, None).await;
    let bad_body = error(10201, "bad request body");
    for (path, token, body) in [
        ("/login", None, "not json"),
        ("/login", None, "[1]"),
        ("/userinfo", Some(&token), "{}"),
        ("/userinfo", Some(&token), r#"{"encryptedData": "x"}"#),
        (
            "/userinfo",
            Some(&token),
            r#"{"encryptedData": "x", "iv": "y", "rawData": "{}"}"#,
        ),
        ("/phone", Some(&token), r#"{"code": ""}"#),
        ("/phone", Some(&token), ""),
    ] {
        let (status, bytes) = call_raw(
            addr,
            "POST",
            path,
            token.map(String::as_str),
            Some(body.to_owned()),
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{path} {body}");
        let json: Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(json, bad_body, "{path} {body}");
    }
    assert_eq!(
        call(addr, "POST", "/login", None, Some(json!({ "code": "" }))).await,
        (StatusCode::BAD_REQUEST, error(10101, "code missing"))
    );
}

#[tokio::test]
async fn wechat_login_refusals_become_clear_answers() {
    let wechat = mock().await;
    let (addr, _) = app_in_memory(&wechat).await;
    let cases = [
        (40029, StatusCode::BAD_REQUEST, error(10102, "invalid code")),
        (
            45011,
            StatusCode::TOO_MANY_REQUESTS,
            error(10104, "too many login attempts"),
        ),
        (
            40226,
            StatusCode::FORBIDDEN,
            error(10105, "login refused: risky user"),
        ),
        (
            -1,
            StatusCode::BAD_GATEWAY,
            error(10106, "WeChat login failed"),
        ),
        (
            40125,
            StatusCode::BAD_GATEWAY,
            error(10106, "WeChat login failed"),
        ),
    ];
    for (errcode, status, body) in cases {
        wechat.fail_next("/sns/jscode2session", 1, errcode);
        let code = wechat.issue_js_code(USER);
        assert_eq!(
            call(addr, "POST", "/login", None, Some(json!({ "code": code }))).await,
            (status, body),
            "WeChat {errcode}"
        );
    }
    // An unknown code, then a used one, as WeChat itself answers them.
    assert_eq!(
        call(
            addr,
            "POST",
            "/login",
            None,
            Some(json!({ "code": "never-issued" }))
        )
        .await,
        (StatusCode::BAD_REQUEST, error(10102, "invalid code"))
    );
    let code = wechat.issue_js_code(USER);
    let first = call(addr, "POST", "/login", None, Some(json!({ "code": code }))).await;
    assert_eq!(first.0, StatusCode::OK);
    assert_eq!(
        call(addr, "POST", "/login", None, Some(json!({ "code": code }))).await,
        (StatusCode::BAD_REQUEST, error(10103, "code already used"))
    );
}

#[tokio::test]
async fn a_relogin_updates_the_session_key_of_every_session() {
    let wechat = mock().await;
    let (addr, _) = app_in_memory(&wechat).await;
    let phone = login(addr, &wechat, USER, Some("MTExMTExMTExMTExMTExMQ==")).await;
    let pc = login(addr, &wechat, USER, Some("MjIyMjIyMjIyMjIyMjIyMg==")).await;
    assert_ne!(phone, pc);
    // WeChat now encrypts with the newest key; both sessions can read it.
    let data = wechat.encrypt_user_data(USER, json!({ "n": 1 })).unwrap();
    for token in [&phone, &pc] {
        let (status, body) = call(
            addr,
            "POST",
            "/userinfo",
            Some(token),
            Some(userinfo_body(&data)),
        )
        .await;
        assert_eq!((status, &body["n"]), (StatusCode::OK, &json!(1)));
    }
}

// ---------------------------------------------------------------------------------------------
// Redis
// ---------------------------------------------------------------------------------------------

/// One "process": the example app with its own Redis connections and WeChat client.
async fn app_on_redis(wechat: &MockWechat, redis: &RedisServer) -> (SocketAddr, SessionStore) {
    let store: Arc<dyn Store> = Arc::new(RedisStore::connect(&redis.url()).await.unwrap());
    let sessions = SessionStore::new(Arc::clone(&store));
    let addr = serve(App::new(client(wechat, store), sessions.clone())).await;
    (addr, sessions)
}

async fn redis_dump(redis: &RedisServer) -> Vec<(String, String)> {
    let client = redis::Client::open(redis.url()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg("*")
        .query_async(&mut conn)
        .await
        .unwrap();
    let mut dump = Vec::new();
    for key in keys {
        let value: Option<Vec<u8>> = redis::cmd("GET")
            .arg(&key)
            .query_async(&mut conn)
            .await
            .unwrap();
        dump.push((
            key,
            String::from_utf8_lossy(&value.unwrap_or_default()).into_owned(),
        ));
    }
    dump
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_flow_on_redis_shared_by_two_processes() {
    let Some(redis) = RedisServer::start() else {
        return;
    };
    let wechat = mock().await;
    let (a, sessions_a) = app_on_redis(&wechat, &redis).await;
    let (b, _) = app_on_redis(&wechat, &redis).await;
    full_flow(a, &wechat, &sessions_a).await;

    // A session opened by one process works in the other, and a logout in one ends it in both.
    let token = login(a, &wechat, USER, None).await;
    let (status, me) = call(b, "GET", "/me", Some(&token), None).await;
    assert_eq!((status, &me["openid"]), (StatusCode::OK, &json!(USER)));
    let data = wechat.encrypt_user_data(USER, json!({ "x": "y" })).unwrap();
    let (status, body) = call(
        b,
        "POST",
        "/userinfo",
        Some(&token),
        Some(userinfo_body(&data)),
    )
    .await;
    assert_eq!((status, &body["x"]), (StatusCode::OK, &json!("y")));

    // The store holds the session (and the session key, which it must), but no token.
    let dump = redis_dump(&redis).await;
    let session_key = wechat.session_key(USER).unwrap();
    assert!(
        dump.iter()
            .any(|(k, v)| k.starts_with("wechat:session:") && v.contains(&session_key)),
        "{dump:?}"
    );
    for (key, value) in &dump {
        assert!(!key.contains(&token) && !value.contains(&token), "{key}");
    }

    assert_eq!(
        call(b, "POST", "/logout", Some(&token), None).await.0,
        StatusCode::OK
    );
    assert_eq!(
        call(a, "GET", "/me", Some(&token), None).await,
        (
            StatusCode::UNAUTHORIZED,
            error(10002, "session token invalid")
        )
    );
}

#[tokio::test]
async fn redis_going_away_is_503_not_a_hang() {
    let Some(mut redis) = RedisServer::start() else {
        return;
    };
    let wechat = mock().await;
    let (addr, _) = app_on_redis(&wechat, &redis).await;
    let token = login(addr, &wechat, USER, None).await;
    redis.stop();
    let started = std::time::Instant::now();
    assert_eq!(
        call(addr, "GET", "/me", Some(&token), None).await,
        (
            StatusCode::SERVICE_UNAVAILABLE,
            error(10004, "session store unavailable")
        )
    );
    assert!(started.elapsed() < std::time::Duration::from_secs(10));
}

// ---------------------------------------------------------------------------------------------
// Secrets in logs and Debug
// ---------------------------------------------------------------------------------------------

/// A `tracing` subscriber that writes every event and span field, at every level, of the events
/// on one thread to a string.
///
/// It is the global subscriber of this test binary, installed before any test logs (by
/// [`mock`]): a thread-local one (`set_default`) misses events whose callsite another test's
/// thread registered first, when only the no-op subscriber existed.
#[derive(Default)]
struct CaptureLogs {
    thread: Mutex<Option<std::thread::ThreadId>>,
    logs: Mutex<String>,
}

static LOGS: std::sync::OnceLock<&'static CaptureLogs> = std::sync::OnceLock::new();

fn capture_logs() -> &'static CaptureLogs {
    LOGS.get_or_init(|| {
        let capture: &'static CaptureLogs = Box::leak(Box::default());
        tracing::subscriber::set_global_default(Forward(capture)).unwrap();
        capture
    })
}

impl CaptureLogs {
    /// Records from now on the events of the calling thread (and no other).
    fn record_this_thread(&self) {
        *self.thread.lock().unwrap() = Some(std::thread::current().id());
    }

    fn with_logs(&self, write: impl FnOnce(&mut String)) {
        if *self.thread.lock().unwrap() == Some(std::thread::current().id()) {
            write(&mut self.logs.lock().unwrap());
        }
    }
}

/// The subscriber handed to `tracing` (which wants it owned).
struct Forward(&'static CaptureLogs);

struct Fields<'a>(&'a mut String);

impl tracing::field::Visit for Fields<'_> {
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        use std::fmt::Write as _;
        let _ = write!(self.0, " {}={value:?}", field.name());
    }
}

impl tracing::Subscriber for Forward {
    fn enabled(&self, _: &tracing::Metadata<'_>) -> bool {
        true
    }

    fn max_level_hint(&self) -> Option<tracing::level_filters::LevelFilter> {
        Some(tracing::level_filters::LevelFilter::TRACE)
    }

    fn new_span(&self, span: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        self.0.with_logs(|logs| {
            logs.push_str("\nspan ");
            logs.push_str(span.metadata().name());
            span.record(&mut Fields(logs));
        });
        tracing::span::Id::from_u64(1)
    }

    fn record(&self, _: &tracing::span::Id, values: &tracing::span::Record<'_>) {
        self.0.with_logs(|logs| values.record(&mut Fields(logs)));
    }

    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}

    fn event(&self, event: &tracing::Event<'_>) {
        self.0.with_logs(|logs| {
            logs.push('\n');
            logs.push_str(event.metadata().level().as_str());
            event.record(&mut Fields(logs));
        });
    }

    fn enter(&self, _: &tracing::span::Id) {}

    fn exit(&self, _: &tracing::span::Id) {}
}

/// Everything runs on this test's one thread (server, session layer, client, mock), whose
/// events the capture records.
#[tokio::test(flavor = "current_thread")]
async fn tokens_and_session_keys_never_reach_the_logs_or_debug() {
    let capture = capture_logs();
    capture.record_this_thread();

    let wechat = mock().await;
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    let (now, clock) = manual_clock();
    let sessions = SessionStore::new(Arc::clone(&store)).clock(clock);
    let addr = serve(App::new(client(&wechat, store), sessions.clone())).await;

    // Everything that logs: logins (good and refused), every endpoint, forged data, a wrong
    // token, an expired token, a logout.
    full_flow(addr, &wechat, &sessions).await;
    let token = login(addr, &wechat, USER, None).await;
    let session_key = wechat.session_key(USER).unwrap();
    wechat.fail_next("/sns/jscode2session", 1, -1);
    let code = wechat.issue_js_code(USER);
    call(addr, "POST", "/login", None, Some(json!({ "code": code }))).await;
    let forged =
        json!({ "encryptedData": "AAAAAAAAAAAAAAAAAAAAAA==", "iv": "AAAAAAAAAAAAAAAAAAAAAA==" });
    call(addr, "POST", "/userinfo", Some(&token), Some(forged)).await;
    call(addr, "GET", "/me", Some(&format!("{}x", &token[1..])), None).await;

    // Debug of everything that holds the token or the key.
    let parsed = wechat_tower::session::SessionToken::parse(&token).unwrap();
    let user = sessions.load(&parsed).await.unwrap();
    let debug = format!("{parsed:?} {user:?} {sessions:?}");
    assert!(debug.contains("SessionToken([redacted])"), "{debug}");
    assert!(debug.contains("SessionKey([redacted])"), "{debug}");

    now.store(T0 + 7 * 24 * 3600, Ordering::SeqCst);
    call(addr, "GET", "/me", Some(&token), None).await;
    now.store(T0, Ordering::SeqCst);
    call(addr, "POST", "/logout", Some(&token), None).await;

    let logs = capture.logs.lock().unwrap().clone();
    // The capture works: the refusals and WeChat's failure were logged...
    assert!(
        logs.contains("request without a live session refused"),
        "{logs}"
    );
    assert!(logs.contains("errcode=10003"), "{logs}");
    assert!(logs.contains("jscode2session failed"), "{logs}");
    // The official sample under the mock's unionid (in `full_flow`): logged as a forgery,
    // without the ids.
    assert!(
        logs.contains("encryptedData naming another user refused"),
        "{logs}"
    );
    assert!(!logs.contains("ocMvos6NjeKLIBqg5Mr9QjxrP1FA"), "{logs}");
    // ...but no token or session key, in logs or Debug.
    for secret in [
        token.as_str(),
        session_key.as_str(),
        "tiihtNczf5v6AKRyjwEUhQ==",
    ] {
        assert!(!logs.contains(secret), "{secret} in the logs:\n{logs}");
        assert!(!debug.contains(secret), "{secret} in Debug: {debug}");
    }
}
