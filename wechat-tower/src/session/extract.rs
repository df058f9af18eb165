//! `UserSession` as an axum extractor (feature `axum`).

use std::convert::Infallible;

use axum::extract::{FromRequestParts, OptionalFromRequestParts};
use axum::response::{IntoResponse, Response};
use http::StatusCode;
use http::request::Parts;

use super::user::UserSession;

/// The rejection of the [`UserSession`] extractor when no [`SessionLayer`](super::SessionLayer)
/// ran before the handler: a server bug, answered 500 (as `axum::Extension` does).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct MissingSessionLayer;

impl MissingSessionLayer {
    const TEXT: &'static str = "`UserSession` not found. Did you add `SessionLayer`?";
}

impl std::fmt::Display for MissingSessionLayer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(Self::TEXT)
    }
}

impl std::error::Error for MissingSessionLayer {}

impl IntoResponse for MissingSessionLayer {
    fn into_response(self) -> Response {
        tracing::error!("{}", Self::TEXT);
        (StatusCode::INTERNAL_SERVER_ERROR, Self::TEXT).into_response()
    }
}

/// `async fn handler(user: UserSession)` behind a [`SessionLayer`](super::SessionLayer)
/// (`Router::route_layer`).
impl<S: Send + Sync> FromRequestParts<S> for UserSession {
    type Rejection = MissingSessionLayer;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<Self>()
            .cloned()
            .ok_or(MissingSessionLayer)
    }
}

/// `Option<UserSession>`: `None` when no session was loaded.
impl<S: Send + Sync> OptionalFromRequestParts<S> for UserSession {
    type Rejection = Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        _state: &S,
    ) -> Result<Option<Self>, Self::Rejection> {
        Ok(parts.extensions.get::<Self>().cloned())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use axum::Router;
    use axum::body::Body;
    use axum::routing::get;
    use http::{Request, header};
    use http_body_util::BodyExt;
    use tower::ServiceExt;
    use wechat_core::secret::SessionKey;

    use super::*;
    use crate::session::{SessionLayer, SessionStore};
    use crate::store::MemoryStore;

    async fn me(user: UserSession) -> String {
        user.openid().to_owned()
    }

    async fn maybe(user: Option<UserSession>) -> String {
        user.map_or_else(|| "anonymous".to_owned(), |u| u.openid().to_owned())
    }

    async fn body(res: Response) -> String {
        let bytes = res.into_body().collect().await.unwrap().to_bytes();
        String::from_utf8(bytes.to_vec()).unwrap()
    }

    #[tokio::test]
    async fn extracts_the_session_behind_the_layer() {
        let sessions = SessionStore::new(Arc::new(MemoryStore::new()));
        let token = sessions
            .create("oUser", None, &SessionKey::new("k"))
            .await
            .unwrap();
        let app = Router::new()
            .route("/me", get(me))
            .route_layer(SessionLayer::new(sessions))
            .route("/open", get(maybe))
            .route("/broken", get(me));
        let authed = |uri: &str| {
            Request::get(uri)
                .header(header::AUTHORIZATION, format!("Bearer {}", token.expose()))
                .body(Body::empty())
                .unwrap()
        };

        let res = app.clone().oneshot(authed("/me")).await.unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        assert_eq!(body(res).await, "oUser");

        let res = app
            .clone()
            .oneshot(Request::get("/me").body(Body::empty()).unwrap())
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(
            body(res).await,
            r#"{"errcode":10001,"errmsg":"session token missing"}"#
        );

        let res = app.clone().oneshot(authed("/open")).await.unwrap();
        assert_eq!(body(res).await, "anonymous");

        let res = app.oneshot(authed("/broken")).await.unwrap();
        assert_eq!(res.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(body(res).await, MissingSessionLayer::TEXT);
    }
}
