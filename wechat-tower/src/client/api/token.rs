//! Fetching the `access_token` (`cgi-bin/token`, `cgi-bin/stable_token`) and the JS-SDK
//! `jsapi_ticket` (`cgi-bin/ticket/getticket`): the sources of the client's two
//! [`TokenManager`](crate::client::TokenManager)s.

use std::sync::Arc;

use http::Method;
use serde::{Deserialize, Serialize};
use tower::ServiceExt as _;
use wechat_core::secret::{AccessToken, AppSecret};

use crate::client::error::ClientError;
use crate::client::stack::{Authed, Plain};
use crate::client::token::{FetchedToken, TokenSource};
use crate::client::wechat_client::{TokenKind, build_request, decode, json_request, url};

#[derive(Deserialize)]
struct TokenAnswer {
    access_token: String,
    expires_in: u64,
}

#[derive(Serialize)]
struct StableTokenRequest<'a> {
    grant_type: &'static str,
    appid: &'a str,
    secret: &'a str,
    force_refresh: bool,
}

#[derive(Deserialize)]
struct TicketAnswer {
    ticket: String,
    expires_in: u64,
}

struct AccessTokenSource {
    kind: TokenKind,
    api_base: String,
    app_id: String,
    secret: AppSecret,
    plain: Plain,
}

/// The source of the app's `access_token`: WeChat, with the app's id and secret.
pub(crate) fn access_token_source(
    kind: TokenKind,
    api_base: &str,
    app_id: &str,
    secret: AppSecret,
    plain: Plain,
) -> impl TokenSource {
    let source = Arc::new(AccessTokenSource {
        kind,
        api_base: api_base.to_owned(),
        app_id: app_id.to_owned(),
        secret,
        plain,
    });
    move |invalidated: bool| {
        let source = Arc::clone(&source);
        async move { source.fetch(invalidated).await }
    }
}

impl AccessTokenSource {
    async fn fetch(&self, invalidated: bool) -> Result<FetchedToken, ClientError> {
        let (path, req) = match self.kind {
            TokenKind::Normal => {
                let path = "/cgi-bin/token";
                let query = [
                    ("grant_type", "client_credential"),
                    ("appid", self.app_id.as_str()),
                    ("secret", self.secret.expose()),
                ];
                (
                    path,
                    build_request(Method::GET, &url(&self.api_base, path, &query), None)?,
                )
            }
            TokenKind::Stable => {
                let path = "/cgi-bin/stable_token";
                let body = StableTokenRequest {
                    grant_type: "client_credential",
                    appid: &self.app_id,
                    secret: self.secret.expose(),
                    force_refresh: invalidated,
                };
                (path, json_request(&url(&self.api_base, path, &[]), &body)?)
            }
        };
        tracing::debug!(path, invalidated, "fetching access_token");
        let res = self.plain.clone().oneshot(req).await?;
        let answer: TokenAnswer = decode(path, res)?;
        Ok(FetchedToken {
            token: AccessToken::new(answer.access_token),
            expires_in: answer.expires_in,
        })
    }
}

/// The source of the JS-SDK `jsapi_ticket`: `getticket` through the client's stack (so it is
/// fetched with the `access_token`, retried once on a refused token).
pub(crate) fn jsapi_ticket_source(api_base: &str, authed: Authed) -> impl TokenSource {
    let endpoint: Arc<str> =
        url(api_base, "/cgi-bin/ticket/getticket", &[("type", "jsapi")]).into();
    move |_invalidated: bool| {
        let endpoint = Arc::clone(&endpoint);
        let authed = authed.clone();
        async move {
            tracing::debug!("fetching jsapi_ticket");
            let req = build_request(Method::GET, &endpoint, None)?;
            let res = authed.oneshot(req).await?;
            let answer: TicketAnswer = decode("/cgi-bin/ticket/getticket", res)?;
            Ok(FetchedToken {
                token: AccessToken::new(answer.ticket),
                expires_in: answer.expires_in,
            })
        }
    }
}
