//! Web authorization (网页授权) and the JS-SDK on axum: the routes of the `oauth-web` example,
//! as a library so that tests build the same router in-process.
//!
//! - `/`: a link to log in with WeChat, and one to the JS-SDK page;
//! - `/login`: redirects to WeChat's consent page (`snsapi_userinfo`), with a random `state` kept
//!   in a cookie against CSRF;
//! - `/callback?code=…&state=…`: checks `state`, exchanges the code, shows the user's profile;
//! - `/jssdk`: a page that asks `/jssdk-config?url=<its own URL>` for its signed `wx.config`;
//! - `/jssdk-config?url=…`: that configuration as JSON.
//!
//! The binary (`src/main.rs`) reads the settings and serves [`app`]; see the README.

use std::sync::Arc;

use axum::Router;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use serde::Deserialize;
use wechat_tower::client::{ClientError, Lang, OAuthScope, WechatClient};
use wechat_tower::signature::constant_time_eq;

/// The cookie that keeps the `state` of a login in progress.
const STATE_COOKIE: &str = "oauth_state";

struct App {
    client: WechatClient,
    public_url: String,
}

/// The router: the routes of the crate docs, answering through `client`. `public_url` is how
/// browsers reach this server (the `redirect_uri` is `{public_url}/callback`); a trailing `/`
/// is dropped.
pub fn app(client: WechatClient, public_url: &str) -> Router {
    let app = App {
        client,
        public_url: public_url.trim_end_matches('/').to_owned(),
    };
    Router::new()
        .route("/", get(index))
        .route("/login", get(login))
        .route("/callback", get(callback))
        .route("/jssdk", get(jssdk_page))
        .route("/jssdk-config", get(jssdk_config))
        .with_state(Arc::new(app))
}

async fn index() -> Html<&'static str> {
    Html(include_str!("index.html"))
}

/// A login's `state`: 128 bits from the OS CSPRNG as 32 hex digits (WeChat passes back up to 128
/// characters of `[a-zA-Z0-9]`), so that no one can guess the one a browser's login started with.
fn new_state() -> Result<String, getrandom::Error> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes)?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

async fn login(State(app): State<Arc<App>>) -> Response {
    let Ok(state) = new_state() else {
        return (
            StatusCode::INTERNAL_SERVER_ERROR,
            "no random numbers from the operating system",
        )
            .into_response();
    };
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
    // The state must be the one this browser's login started with (CSRF: an attacker's
    // callback URL carries the attacker's code).
    let state_matches = match (cookie(&headers, STATE_COOKIE), query.state.as_deref()) {
        (Some(expected), Some(got)) => constant_time_eq(expected.as_bytes(), got.as_bytes()),
        _ => false,
    };
    if !state_matches {
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
                "{avatar}<p id=\"hello\">Hello, <b>{}</b>.</p><table>\
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

#[cfg(test)]
mod tests {
    use super::new_state;

    #[test]
    fn a_state_is_128_random_bits_in_hex() {
        let (a, b) = (new_state().unwrap(), new_state().unwrap());
        assert_eq!(a.len(), 32);
        assert!(
            a.bytes()
                .all(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(&c)),
            "{a}"
        );
        assert_ne!(a, b);
    }
}
