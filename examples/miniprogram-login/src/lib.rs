//! The `miniprogram-login` app as a library: [`Settings`] from the environment, the [`App`]
//! (WeChat client, session store, app id) and its axum [`router`], so that the binary and the
//! end-to-end tests mount the same app.
//!
//! JSON in, JSON out:
//!
//! | route | session | body | answer |
//! |---|---|---|---|
//! | `POST /login` | – | `{"code": "<wx.login() code>"}` | `{"token": …, "openid": …}` |
//! | `GET /me` | `Authorization: Bearer <token>` | – | `{"openid": …, "unionid": …}` |
//! | `POST /userinfo` | yes | `{"encryptedData": …, "iv": …}`, optionally with `rawData` and `signature` (checked) | the decrypted object exactly as WeChat wrote it (watermark checked, and its `openId`/`unionId` are the session's: [`UserSession::decrypt`]) |
//! | `POST /phone` | yes | `{"code": "<getPhoneNumber code>"}` | `{"phoneNumber": …, "purePhoneNumber": …, "countryCode": …, "watermark": …}`, from WeChat's server (`getuserphonenumber`), never from `encryptedData` |
//! | `POST /logout` | yes | – | `{"errcode": 0, "errmsg": "ok"}` |
//!
//! Errors answer `{"errcode": …, "errmsg": …}`: the codes of
//! [`wechat_tower::session`](wechat_tower::session#error-codes) (401 for a missing, invalid or
//! expired token, the login's 400/403/429/502), and this app's own:
//!
//! | errcode | status | errmsg | when |
//! |---|---|---|---|
//! | 10201 | 400 | `bad request body` | not a JSON object of the expected fields |
//! | 10202 | 400 | `encryptedData does not decrypt` | any failure to decrypt (bad base64, key, IV, padding, not JSON), and data that names another user than the session's: one answer for all, so that the server is no padding oracle |
//! | 10203 | 400 | `data is for another app` | the watermark names another app id |
//! | 10204 | 400 | `rawData signature mismatch` | `signature` is not sha1(rawData + session_key) |
//! | 10205 | 400 | `invalid phone code` | WeChat refused the `getPhoneNumber` code (40029) |
//! | 10206 | 502 | `WeChat phone number API failed` | any other failure of that call |
//!
//! # Forged `encryptedData`
//!
//! `encryptedData` has no integrity: a user can turn their own genuine data into data that
//! decrypts cleanly, with this app's watermark, and names another user (see
//! [`wechat_core::miniprogram`](wechat_tower::core::miniprogram#security)). `/userinfo`
//! therefore decrypts through [`UserSession::decrypt`], which refuses data whose `openId` or
//! `unionId` is not the session's. That refusal answers 10202, like a bad padding, rather than
//! a code of its own: no genuine client ever meets it (WeChat encrypts a user's data with that
//! user's key), so a distinct answer would only tell a forger that their blob got past the
//! padding, the JSON and the watermark, a success signal to iterate on. The server logs it at
//! `warn` (a forgery attempt, not a client bug). Another app's watermark keeps 10203: that is
//! a configuration mistake a developer needs to see, and is reached by genuine data.
//!
//! `/phone` takes the number from WeChat's server with the button's `code`: the legacy
//! encrypted phone payload names no user, so no identity check can bind it to the session, and
//! its own user could forge it the same way.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use bytes::Bytes;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::json;
use wechat_tower::client::{ClientError, PhoneInfo, WechatClient};
use wechat_tower::core::ErrorKind;
use wechat_tower::core::secret::AppSecret;
use wechat_tower::session::{
    LoginError, SessionError, SessionLayer, SessionRejection, SessionStore, UserSession,
};
use wechat_tower::store::{MemoryStore, RedisStore, Store};

/// The settings, from the environment variables (the table in this example's README).
#[derive(Debug)]
pub struct Settings {
    /// `ADDR`, default `127.0.0.1:3000`.
    pub addr: SocketAddr,
    /// `WECHAT_APPID` (required): the Mini Program's app id.
    pub appid: String,
    /// `WECHAT_APPSECRET` (required).
    pub secret: AppSecret,
    /// `WECHAT_API_BASE`, default `https://api.weixin.qq.com` (a mock's URL in tests).
    pub api_base: Option<String>,
    /// `REDIS_URL`: sessions and the access token in Redis, shared by every process; unset
    /// means in memory.
    pub redis_url: Option<String>,
}

impl Settings {
    /// Reads `WECHAT_APPID`, `WECHAT_APPSECRET`, `WECHAT_API_BASE`, `REDIS_URL` and `ADDR`.
    ///
    /// # Errors
    ///
    /// A message naming the variable that is missing or wrong.
    pub fn from_env() -> Result<Self, String> {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        Ok(Self {
            addr: var("ADDR")
                .as_deref()
                .unwrap_or("127.0.0.1:3000")
                .parse()
                .map_err(|e| format!("ADDR: {e}"))?,
            appid: var("WECHAT_APPID").ok_or("WECHAT_APPID is not set")?,
            secret: AppSecret::new(var("WECHAT_APPSECRET").ok_or("WECHAT_APPSECRET is not set")?),
            api_base: var("WECHAT_API_BASE"),
            redis_url: var("REDIS_URL"),
        })
    }

    /// Builds the app: connects to Redis when `REDIS_URL` is set.
    ///
    /// # Errors
    ///
    /// A message when Redis cannot be reached or the client cannot be built.
    pub async fn app(&self) -> Result<App, String> {
        let store: Arc<dyn Store> = match &self.redis_url {
            Some(url) => Arc::new(
                RedisStore::connect(url)
                    .await
                    .map_err(|e| format!("REDIS_URL: {e}"))?,
            ),
            None => Arc::new(MemoryStore::new()),
        };
        let mut builder =
            WechatClient::builder(&self.appid, self.secret.expose()).store(Arc::clone(&store));
        if let Some(base) = &self.api_base {
            builder = builder.api_base(base);
        }
        let client = builder.build().map_err(|e| e.to_string())?;
        Ok(App::new(client, SessionStore::new(store)))
    }
}

/// What the handlers share: the WeChat client, the sessions and the app id that data
/// watermarks must name.
#[derive(Debug, Clone)]
pub struct App {
    client: WechatClient,
    sessions: SessionStore,
    appid: String,
}

impl App {
    /// The app over `client` (whose app id the watermarks must name) and `sessions`.
    #[must_use]
    pub fn new(client: WechatClient, sessions: SessionStore) -> Self {
        let appid = client.app_id().to_owned();
        Self {
            client,
            sessions,
            appid,
        }
    }

    /// The session store.
    pub fn sessions(&self) -> &SessionStore {
        &self.sessions
    }
}

/// The routes: `/login` open, the others behind a [`SessionLayer`].
pub fn router(app: App) -> Router {
    let sessions = SessionLayer::new(app.sessions.clone());
    Router::new()
        .route("/me", get(me))
        .route("/userinfo", post(userinfo))
        .route("/phone", post(phone))
        .route("/logout", post(logout))
        .route_layer(sessions)
        .route("/login", post(login))
        .with_state(Arc::new(app))
}

/// This app's error answers; see the [crate docs](crate).
#[derive(Debug)]
#[non_exhaustive]
pub enum ApiError {
    /// The body is not the expected JSON. 10201.
    BadBody,
    /// The login failed (the codes of `wechat_tower::session`).
    Login(LoginError),
    /// `encryptedData` does not decrypt for this session and app, or names another user. 10202,
    /// or 10203 for another app's data.
    Decrypt(wechat_tower::core::Error),
    /// `rawData` does not match its `signature`. 10204.
    RawDataSignature,
    /// The phone number call failed. 10205 for a refused code, else 10206.
    Phone(ClientError),
    /// The session store failed (logout).
    Session(SessionError),
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, errcode, errmsg) = match self {
            Self::Login(err) => return err.into_response(),
            Self::Session(err) => return SessionRejection::from(&err).into_response(),
            Self::BadBody => (StatusCode::BAD_REQUEST, 10201, "bad request body"),
            Self::Decrypt(err) => {
                // The kind is logged for the developer; the client learns nothing about it (a
                // forgery naming another user included: see the crate docs).
                let refused = (
                    StatusCode::BAD_REQUEST,
                    10202,
                    "encryptedData does not decrypt",
                );
                match err.kind() {
                    ErrorKind::AppIdMismatch => {
                        tracing::debug!(%err, "encryptedData refused");
                        (StatusCode::BAD_REQUEST, 10203, "data is for another app")
                    }
                    ErrorKind::IdentityMismatch => {
                        tracing::warn!(%err, "encryptedData naming another user refused");
                        refused
                    }
                    _ => {
                        tracing::debug!(%err, "encryptedData refused");
                        refused
                    }
                }
            }
            Self::RawDataSignature => {
                (StatusCode::BAD_REQUEST, 10204, "rawData signature mismatch")
            }
            Self::Phone(err) if err.errcode() == Some(40029) => {
                (StatusCode::BAD_REQUEST, 10205, "invalid phone code")
            }
            Self::Phone(err) => {
                tracing::warn!(%err, "getuserphonenumber failed");
                (
                    StatusCode::BAD_GATEWAY,
                    10206,
                    "WeChat phone number API failed",
                )
            }
        };
        (
            status,
            Json(json!({ "errcode": errcode, "errmsg": errmsg })),
        )
            .into_response()
    }
}

impl From<LoginError> for ApiError {
    fn from(err: LoginError) -> Self {
        Self::Login(err)
    }
}

/// The body as `T`, or 10201 (instead of axum's own rejections, which are not JSON).
fn parse<T: DeserializeOwned>(body: &Bytes) -> Result<T, ApiError> {
    serde_json::from_slice(body).map_err(|_| ApiError::BadBody)
}

#[derive(Deserialize)]
struct CodeBody {
    #[serde(default)]
    code: String,
}

async fn login(State(app): State<Arc<App>>, body: Bytes) -> Result<Response, ApiError> {
    let CodeBody { code } = parse(&body)?;
    let login = app.sessions.login(&app.client, &code).await?;
    Ok(Json(json!({ "token": login.token.expose(), "openid": login.openid })).into_response())
}

async fn me(user: UserSession) -> Response {
    Json(json!({ "openid": user.openid(), "unionid": user.unionid() })).into_response()
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct UserInfoBody {
    encrypted_data: String,
    iv: String,
    raw_data: Option<String>,
    signature: Option<String>,
}

async fn userinfo(
    State(app): State<Arc<App>>,
    user: UserSession,
    body: Bytes,
) -> Result<Response, ApiError> {
    let body: UserInfoBody = parse(&body)?;
    match (&body.raw_data, &body.signature) {
        (None, None) => {}
        (Some(raw_data), Some(signature)) => {
            if !user.verify_raw_data(raw_data, signature) {
                return Err(ApiError::RawDataSignature);
            }
        }
        _ => return Err(ApiError::BadBody),
    }
    // Through the session, never `miniprogram::decrypt`: the session checks whose data it is.
    let data = user
        .decrypt(&body.encrypted_data, &body.iv, &app.appid)
        .map_err(ApiError::Decrypt)?;
    // The object exactly as WeChat wrote it.
    Ok((
        [(header::CONTENT_TYPE, "application/json")],
        data.into_json(),
    )
        .into_response())
}

async fn phone(
    State(app): State<Arc<App>>,
    _user: UserSession,
    body: Bytes,
) -> Result<Json<PhoneInfo>, ApiError> {
    let CodeBody { code } = parse(&body)?;
    if code.is_empty() {
        return Err(ApiError::BadBody);
    }
    let info = app
        .client
        .miniprogram()
        .phone_number(&code)
        .await
        .map_err(ApiError::Phone)?;
    Ok(Json(info))
}

async fn logout(State(app): State<Arc<App>>, user: UserSession) -> Result<Response, ApiError> {
    app.sessions
        .revoke(user.token())
        .await
        .map_err(ApiError::Session)?;
    Ok(Json(json!({ "errcode": 0, "errmsg": "ok" })).into_response())
}

#[cfg(test)]
mod tests {
    use axum::body::Body;
    use axum::http::Request;
    use http_body_util::BodyExt;
    use serde_json::Value;
    use tower::ServiceExt;
    use wechat_tower::test_util::mock::MockWechat;

    use super::*;

    async fn app(wechat: &MockWechat) -> Router {
        let client = WechatClient::builder(wechat.app_id(), wechat.app_secret())
            .api_base(wechat.base_url())
            .build()
            .unwrap();
        router(App::new(
            client,
            SessionStore::new(Arc::new(MemoryStore::new())),
        ))
    }

    async fn call(app: &Router, req: Request<Body>) -> (StatusCode, Value) {
        let res = app.clone().oneshot(req).await.unwrap();
        let status = res.status();
        let body = res.into_body().collect().await.unwrap().to_bytes();
        (status, serde_json::from_slice(&body).unwrap())
    }

    fn post(uri: &str, token: Option<&str>, body: Value) -> Request<Body> {
        let mut req = Request::post(uri);
        if let Some(token) = token {
            req = req.header(header::AUTHORIZATION, format!("Bearer {token}"));
        }
        req.body(Body::from(body.to_string())).unwrap()
    }

    #[tokio::test]
    async fn login_then_me_then_logout() {
        let wechat = MockWechat::start().await.unwrap();
        let app = app(&wechat).await;
        let code = wechat.issue_js_code("oDemo");
        let (status, body) = call(&app, post("/login", None, json!({ "code": code }))).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["openid"], "oDemo");
        let token = body["token"].as_str().unwrap().to_owned();

        let me = || {
            Request::get("/me")
                .header(header::AUTHORIZATION, format!("Bearer {token}"))
                .body(Body::empty())
                .unwrap()
        };
        let (status, body) = call(&app, me()).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(
            body,
            json!({ "openid": "oDemo", "unionid": "mock-union-oDemo" })
        );

        let (status, body) = call(&app, post("/logout", Some(&token), json!({}))).await;
        assert_eq!((status, &body["errcode"]), (StatusCode::OK, &json!(0)));
        let (status, body) = call(&app, me()).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert_eq!(body["errcode"], 10002);
    }

    #[tokio::test]
    async fn bad_bodies_are_answered_in_json() {
        let wechat = MockWechat::start().await.unwrap();
        let app = app(&wechat).await;
        let req = Request::post("/login")
            .body(Body::from("not json"))
            .unwrap();
        assert_eq!(
            call(&app, req).await,
            (
                StatusCode::BAD_REQUEST,
                json!({ "errcode": 10201, "errmsg": "bad request body" })
            )
        );
        assert_eq!(
            call(&app, post("/login", None, json!({}))).await,
            (
                StatusCode::BAD_REQUEST,
                json!({ "errcode": 10101, "errmsg": "code missing" })
            )
        );
    }
}
