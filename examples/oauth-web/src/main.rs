//! Web authorization (网页授权) and the JS-SDK on axum.
//!
//! ```text
//! WECHAT_APPID=wx… WECHAT_APPSECRET=… PUBLIC_URL=https://your.domain cargo run -p oauth-web
//! ```
//!
//! - `/`: a link to log in with WeChat, and one to the JS-SDK page;
//! - `/login`: redirects to WeChat's consent page (`snsapi_userinfo`), with a random `state` kept
//!   in a cookie against CSRF;
//! - `/callback?code=…&state=…`: checks `state`, exchanges the code, shows the user's profile;
//! - `/jssdk`: a page that asks `/jssdk-config?url=<its own URL>` for its signed `wx.config`;
//! - `/jssdk-config?url=…`: that configuration as JSON.
//!
//! Settings (environment): `WECHAT_APPID`, `WECHAT_APPSECRET` (required), `WECHAT_API_BASE`
//! (default `https://api.weixin.qq.com`), `WECHAT_OPEN_BASE` (the consent page's domain, default
//! `https://open.weixin.qq.com`), `ADDR` (default `127.0.0.1:3000`), `PUBLIC_URL` (how browsers
//! reach this server, default `http://<ADDR>`), `REDIS_URL` (token store shared by your
//! processes; unset means memory). Against `mock-wechat`, see the README.

use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;

use axum::Router;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use serde::Deserialize;
use wechat_tower::client::{ClientError, Lang, OAuthScope, WechatClient};
use wechat_tower::store::RedisStore;

const STATE_COOKIE: &str = "oauth_state";

struct App {
    client: WechatClient,
    public_url: String,
}

#[tokio::main]
async fn main() -> ExitCode {
    let (app, addr) = match settings().await {
        Ok(settings) => settings,
        Err(err) => {
            eprintln!("oauth-web: {err}");
            return ExitCode::FAILURE;
        }
    };
    let public_url = app.public_url.clone();
    let api_base = app.client.api_base().to_owned();
    let router = Router::new()
        .route("/", get(index))
        .route("/login", get(login))
        .route("/callback", get(callback))
        .route("/jssdk", get(jssdk_page))
        .route("/jssdk-config", get(jssdk_config))
        .with_state(Arc::new(app));
    let listener = match tokio::net::TcpListener::bind(addr).await {
        Ok(listener) => listener,
        Err(err) => {
            eprintln!("oauth-web: cannot listen on {addr}: {err}");
            return ExitCode::FAILURE;
        }
    };
    println!("oauth-web on http://{addr} (public URL {public_url}), WeChat API {api_base}");
    let shutdown = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    match axum::serve(listener, router)
        .with_graceful_shutdown(shutdown)
        .await
    {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("oauth-web: {err}");
            ExitCode::FAILURE
        }
    }
}

async fn settings() -> Result<(App, SocketAddr), String> {
    let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    let app_id = var("WECHAT_APPID").ok_or("WECHAT_APPID is not set")?;
    let secret = var("WECHAT_APPSECRET").ok_or("WECHAT_APPSECRET is not set")?;
    let addr: SocketAddr = var("ADDR")
        .as_deref()
        .unwrap_or("127.0.0.1:3000")
        .parse()
        .map_err(|e| format!("ADDR: {e}"))?;
    let public_url = var("PUBLIC_URL").unwrap_or_else(|| format!("http://{addr}"));
    let mut builder = WechatClient::builder(app_id, secret);
    if let Some(base) = var("WECHAT_API_BASE") {
        builder = builder.api_base(base);
    }
    if let Some(base) = var("WECHAT_OPEN_BASE") {
        builder = builder.open_base(base);
    }
    if let Some(url) = var("REDIS_URL") {
        let store = RedisStore::connect(&url)
            .await
            .map_err(|e| format!("REDIS_URL: {e}"))?;
        builder = builder.store(Arc::new(store));
    }
    let client = builder.build().map_err(|e| e.to_string())?;
    let public_url = public_url.trim_end_matches('/').to_owned();
    Ok((App { client, public_url }, addr))
}

async fn index() -> Html<&'static str> {
    Html(include_str!("index.html"))
}

async fn login(State(app): State<Arc<App>>) -> Response {
    let state = format!(
        "{}{}",
        wechat_tower::core::crypt::nonce(),
        wechat_tower::core::crypt::nonce()
    );
    let redirect_uri = format!("{}/callback", app.public_url);
    let url = app
        .client
        .oauth()
        .authorize_url(&redirect_uri, OAuthScope::UserInfo, &state);
    let cookie = format!("{STATE_COOKIE}={state}; Path=/; HttpOnly; SameSite=Lax; Max-Age=600");
    ([(header::SET_COOKIE, cookie)], Redirect::to(&url)).into_response()
}

#[derive(Deserialize)]
struct CallbackQuery {
    code: Option<String>,
    state: Option<String>,
}

async fn callback(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Query(query): Query<CallbackQuery>,
) -> Response {
    let Some(code) = query.code else {
        // The user refused: WeChat redirects without a code.
        return page(
            StatusCode::OK,
            "Not logged in",
            "<p>You did not authorize the login.</p>",
        );
    };
    let expected = cookie(&headers, STATE_COOKIE);
    if expected.is_none() || expected != query.state.as_deref() {
        return page(
            StatusCode::BAD_REQUEST,
            "Login refused",
            "<p>The <code>state</code> does not match this browser's login: start again from <a href=\"/\">the home page</a>.</p>",
        );
    }
    let oauth = app.client.oauth();
    let profile = async {
        let token = oauth.exchange_code(&code).await?;
        oauth
            .user_info(&token.access_token, &token.openid, Lang::ZhCn)
            .await
    };
    match profile.await {
        Ok(user) => {
            let avatar = if user.headimgurl.is_empty() {
                String::new()
            } else {
                format!(
                    "<img src=\"{}\" width=\"64\" alt=\"\">",
                    escape(&user.headimgurl)
                )
            };
            let body = format!(
                "{avatar}<p>Hello, <b>{}</b>.</p><table>\
                 <tr><th>openid</th><td><code>{}</code></td></tr>\
                 <tr><th>unionid</th><td><code>{}</code></td></tr>\
                 <tr><th>place</th><td>{} {} {}</td></tr></table>\
                 <p><a href=\"/jssdk\">JS-SDK page</a> · <a href=\"/\">home</a></p>",
                escape(&user.nickname),
                escape(&user.openid),
                escape(user.unionid.as_deref().unwrap_or("-")),
                escape(&user.country),
                escape(&user.province),
                escape(&user.city),
            );
            page(StatusCode::OK, "Logged in", &body)
        }
        Err(err) => failure(&err),
    }
}

async fn jssdk_page() -> Html<&'static str> {
    Html(include_str!("jssdk.html"))
}

#[derive(Deserialize)]
struct ConfigQuery {
    url: String,
}

async fn jssdk_config(State(app): State<Arc<App>>, Query(query): Query<ConfigQuery>) -> Response {
    match app.client.jssdk().config(&query.url).await {
        Ok(config) => (
            [(header::CONTENT_TYPE, "application/json")],
            config.to_json(),
        )
            .into_response(),
        Err(err) => {
            eprintln!("oauth-web: jsapi_ticket: {err}");
            (StatusCode::BAD_GATEWAY, err.to_string()).into_response()
        }
    }
}

fn failure(err: &ClientError) -> Response {
    eprintln!("oauth-web: {err}");
    let body = format!(
        "<p>WeChat refused: {}</p><p><a href=\"/\">Try again</a></p>",
        escape(&err.to_string())
    );
    page(StatusCode::BAD_GATEWAY, "Login failed", &body)
}

fn page(status: StatusCode, title: &str, body: &str) -> Response {
    let html = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width\"><title>{title}</title></head>\
         <body><h1>{title}</h1>{body}</body></html>"
    );
    (status, Html(html)).into_response()
}

/// The value of cookie `name`.
fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|pair| {
            let (key, value) = pair.trim().split_once('=')?;
            (key == name).then_some(value)
        })
}

/// Text for HTML.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}
