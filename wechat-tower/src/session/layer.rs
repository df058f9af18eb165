//! `SessionLayer`: requires a live session token and puts the [`UserSession`] in the request.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};

use bytes::Bytes;
use http::{HeaderMap, HeaderName, Request, Response, header};
use pin_project_lite::pin_project;
use tower_layer::Layer;
use tower_service::Service;

use super::rejection::SessionRejection;
use super::store::{SessionError, SessionStore};
use super::token::SessionToken;
use super::user::UserSession;

/// Requires a session token on every request: reads it from `Authorization: Bearer <token>`
/// (or from another [`header`](Self::header)), loads the session from the [`SessionStore`]
/// and hands the inner service the request with the [`UserSession`] in its extensions.
/// A missing, invalid or expired token is answered 401 with a JSON body (and a store failure
/// 503) without calling the inner service; see [`SessionRejection`].
///
/// See the [module docs](super) for an example.
#[derive(Debug, Clone)]
pub struct SessionLayer {
    sessions: Arc<SessionStore>,
    header: HeaderName,
}

impl SessionLayer {
    /// A layer loading sessions from `sessions`, with the token in `Authorization: Bearer …`.
    #[must_use]
    pub fn new(sessions: impl Into<Arc<SessionStore>>) -> Self {
        Self {
            sessions: sessions.into(),
            header: header::AUTHORIZATION,
        }
    }

    /// Reads the token from another header, e.g. `x-session-token`: its value is the token
    /// (a `Bearer ` prefix is accepted too).
    #[must_use]
    pub fn header(mut self, name: HeaderName) -> Self {
        self.header = name;
        self
    }
}

impl<S> Layer<S> for SessionLayer {
    type Service = Session<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Session {
            inner,
            sessions: Arc::clone(&self.sessions),
            header: self.header.clone(),
        }
    }
}

/// The service of [`SessionLayer`].
#[derive(Debug, Clone)]
pub struct Session<S> {
    inner: S,
    sessions: Arc<SessionStore>,
    header: HeaderName,
}

/// Reads the token from `name`: `Bearer <token>` in `Authorization` (scheme case-insensitive),
/// the bare token (or `Bearer <token>`) in another header.
fn token_from(headers: &HeaderMap, name: &HeaderName) -> Result<SessionToken, SessionRejection> {
    let value = headers
        .get(name)
        .ok_or(SessionRejection::MissingToken)?
        .to_str()
        .map_err(|_| SessionRejection::InvalidToken)?
        .trim();
    let bearer = value
        .split_once(' ')
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim());
    let token = match bearer {
        Some(token) => token,
        // Another scheme (`Basic …`) carries no session token.
        None if name == header::AUTHORIZATION => return Err(SessionRejection::MissingToken),
        None => value,
    };
    if token.is_empty() {
        return Err(SessionRejection::MissingToken);
    }
    SessionToken::parse(token).ok_or(SessionRejection::InvalidToken)
}

type LoadFuture = Pin<Box<dyn Future<Output = Result<UserSession, SessionError>> + Send>>;

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for Session<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>> + Clone,
    ResBody: From<Bytes>,
{
    type Response = Response<ResBody>;
    type Error = S::Error;
    type Future = ResponseFuture<S, ReqBody>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<ReqBody>) -> Self::Future {
        let token = match token_from(req.headers(), &self.header) {
            Ok(token) => token,
            Err(rejection) => return ResponseFuture::reject(rejection),
        };
        // Call the service that poll_ready made ready; leave a fresh clone in its place.
        let clone = self.inner.clone();
        let inner = std::mem::replace(&mut self.inner, clone);
        let sessions = Arc::clone(&self.sessions);
        let load: LoadFuture = Box::pin(async move { sessions.load(&token).await });
        ResponseFuture {
            state: State::Load {
                load,
                inner: Some(inner),
                req: Some(req),
            },
        }
    }
}

pin_project! {
    /// The response future of [`Session`]: loads the session, then runs the inner service.
    pub struct ResponseFuture<S, ReqBody>
    where
        S: Service<Request<ReqBody>>,
    {
        #[pin]
        state: State<S, ReqBody>,
    }
}

pin_project! {
    #[project = StateProj]
    enum State<S, ReqBody>
    where
        S: Service<Request<ReqBody>>,
    {
        Reject {
            rejection: Option<SessionRejection>,
        },
        Load {
            load: LoadFuture,
            inner: Option<S>,
            req: Option<Request<ReqBody>>,
        },
        Inner {
            #[pin]
            future: S::Future,
        },
    }
}

impl<S, ReqBody> ResponseFuture<S, ReqBody>
where
    S: Service<Request<ReqBody>>,
{
    fn reject(rejection: SessionRejection) -> Self {
        log_rejection(rejection, None);
        Self {
            state: State::Reject {
                rejection: Some(rejection),
            },
        }
    }
}

impl<S, ReqBody> std::fmt::Debug for ResponseFuture<S, ReqBody>
where
    S: Service<Request<ReqBody>>,
{
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let state = match &self.state {
            State::Reject { .. } => "Reject",
            State::Load { .. } => "Load",
            State::Inner { .. } => "Inner",
        };
        f.debug_struct("ResponseFuture")
            .field("state", &state)
            .finish()
    }
}

/// Logs why a request was refused: the reason and the store error, never the token.
fn log_rejection(rejection: SessionRejection, err: Option<&SessionError>) {
    match err {
        Some(err @ (SessionError::Store(_) | SessionError::Busy | SessionError::Random)) => {
            tracing::warn!(%err, errcode = rejection.errcode(), "session not loaded");
        }
        _ => tracing::debug!(
            errcode = rejection.errcode(),
            reason = rejection.errmsg(),
            "request without a live session refused"
        ),
    }
}

impl<S, ReqBody, ResBody> Future for ResponseFuture<S, ReqBody>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
    ResBody: From<Bytes>,
{
    type Output = Result<Response<ResBody>, S::Error>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        loop {
            match this.state.as_mut().project() {
                StateProj::Reject { rejection } => {
                    let rejection = rejection
                        .take()
                        .expect("ResponseFuture polled after completion");
                    return Poll::Ready(Ok(rejection.into_response()));
                }
                StateProj::Load { load, inner, req } => {
                    let loaded = ready!(load.as_mut().poll(cx));
                    let (Some(mut inner), Some(mut req)) = (inner.take(), req.take()) else {
                        panic!("ResponseFuture polled after completion");
                    };
                    match loaded {
                        Ok(session) => {
                            req.extensions_mut().insert(session);
                            let future = inner.call(req);
                            this.state.set(State::Inner { future });
                        }
                        Err(err) => {
                            let rejection = SessionRejection::from(&err);
                            log_rejection(rejection, Some(&err));
                            this.state.set(State::Reject { rejection: None });
                            return Poll::Ready(Ok(rejection.into_response()));
                        }
                    }
                }
                StateProj::Inner { future } => return future.poll(cx),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::convert::Infallible;

    use http::{HeaderValue, StatusCode};
    use http_body_util::{BodyExt, Full};
    use tower::{ServiceBuilder, ServiceExt, service_fn};
    use wechat_core::secret::SessionKey;

    use super::*;
    use crate::store::MemoryStore;

    async fn setup() -> (SessionStore, SessionToken) {
        let sessions = SessionStore::new(Arc::new(MemoryStore::new()));
        let token = sessions
            .create("oUser", Some("uUser"), &SessionKey::new("k"))
            .await
            .unwrap();
        (sessions, token)
    }

    /// Echoes the openid of the loaded session.
    fn echo_openid(
        req: Request<Full<Bytes>>,
    ) -> std::future::Ready<Result<Response<Full<Bytes>>, Infallible>> {
        let openid = UserSession::from_request(&req)
            .map(|s| s.openid().to_owned())
            .unwrap_or_default();
        std::future::ready(Ok(Response::new(Full::new(Bytes::from(openid)))))
    }

    async fn send(
        layer: SessionLayer,
        header: Option<(&str, String)>,
    ) -> (StatusCode, String, Option<SessionRejection>) {
        let svc = ServiceBuilder::new()
            .layer(layer)
            .service(service_fn(echo_openid));
        let mut req = Request::get("/me").body(Full::default()).unwrap();
        if let Some((name, value)) = header {
            req.headers_mut().insert(
                HeaderName::from_bytes(name.as_bytes()).unwrap(),
                HeaderValue::from_str(&value).unwrap(),
            );
        }
        let res = svc.oneshot(req).await.unwrap();
        let status = res.status();
        let rejection = res.extensions().get::<SessionRejection>().copied();
        let body = res.into_body().collect().await.unwrap().to_bytes();
        (status, String::from_utf8(body.to_vec()).unwrap(), rejection)
    }

    #[tokio::test]
    async fn a_live_token_reaches_the_inner_service_with_its_session() {
        let (sessions, token) = setup().await;
        let layer = SessionLayer::new(sessions);
        for value in [
            format!("Bearer {}", token.expose()),
            format!("bearer  {} ", token.expose()),
        ] {
            let (status, body, _) = send(layer.clone(), Some(("authorization", value))).await;
            assert_eq!((status, body.as_str()), (StatusCode::OK, "oUser"));
        }
    }

    #[tokio::test]
    async fn missing_malformed_and_unknown_tokens_are_refused() {
        let (sessions, token) = setup().await;
        let layer = SessionLayer::new(sessions);
        let forged = SessionToken::generate().unwrap();
        let cases = [
            (None, SessionRejection::MissingToken),
            (
                Some("Basic dXNlcjpwYXNz".to_owned()),
                SessionRejection::MissingToken,
            ),
            (Some("Bearer".to_owned()), SessionRejection::MissingToken),
            (Some("Bearer ".to_owned()), SessionRejection::MissingToken),
            (
                Some(token.expose().to_owned()),
                SessionRejection::MissingToken,
            ),
            (
                Some("Bearer abc".to_owned()),
                SessionRejection::InvalidToken,
            ),
            (
                Some(format!("Bearer {}x", token.expose())),
                SessionRejection::InvalidToken,
            ),
            (
                Some(format!("Bearer {}", forged.expose())),
                SessionRejection::InvalidToken,
            ),
        ];
        for (value, expected) in cases {
            let header = value.clone().map(|v| ("authorization", v));
            let (status, body, rejection) = send(layer.clone(), header).await;
            assert_eq!(status, StatusCode::UNAUTHORIZED, "{value:?}");
            assert_eq!(rejection, Some(expected), "{value:?}");
            let json: serde_json::Value = serde_json::from_str(&body).unwrap();
            assert_eq!(json["errcode"], expected.errcode(), "{value:?}");
            assert_eq!(json["errmsg"], expected.errmsg(), "{value:?}");
        }
    }

    #[tokio::test]
    async fn the_header_is_configurable() {
        let (sessions, token) = setup().await;
        let layer = SessionLayer::new(sessions).header(HeaderName::from_static("x-session"));
        let (status, body, _) = send(
            layer.clone(),
            Some(("x-session", token.expose().to_owned())),
        )
        .await;
        assert_eq!((status, body.as_str()), (StatusCode::OK, "oUser"));
        let bearer = format!("Bearer {}", token.expose());
        let (status, _, _) = send(layer.clone(), Some(("x-session", bearer.clone()))).await;
        assert_eq!(status, StatusCode::OK);
        // The default header no longer counts.
        let (status, _, rejection) = send(layer, Some(("authorization", bearer))).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert_eq!(rejection, Some(SessionRejection::MissingToken));
    }

    /// Issue 13: a store that fails (Redis down) or does not answer in time is an outage, not a
    /// logout: 503 JSON without a `WWW-Authenticate` challenge, and the inner service is not
    /// called.
    #[tokio::test]
    async fn a_failing_store_is_503_not_401() {
        use crate::store::{Store, StoreError};

        /// Answers every call with the error it was given.
        struct Failing(StoreError);
        #[async_trait::async_trait]
        impl Store for Failing {
            async fn get(&self, _: &str) -> Result<Option<Bytes>, StoreError> {
                Err(self.0.clone())
            }
            async fn set(
                &self,
                _: &str,
                _: Bytes,
                _: Option<std::time::Duration>,
            ) -> Result<(), StoreError> {
                Err(self.0.clone())
            }
            async fn set_if_absent(
                &self,
                _: &str,
                _: Bytes,
                _: Option<std::time::Duration>,
            ) -> Result<bool, StoreError> {
                Err(self.0.clone())
            }
            async fn replace_if_equals(
                &self,
                _: &str,
                _: &[u8],
                _: Bytes,
                _: Option<std::time::Duration>,
            ) -> Result<bool, StoreError> {
                Err(self.0.clone())
            }
            async fn delete(&self, _: &str) -> Result<bool, StoreError> {
                Err(self.0.clone())
            }
            async fn delete_if_equals(&self, _: &str, _: &[u8]) -> Result<bool, StoreError> {
                Err(self.0.clone())
            }
        }

        let token = SessionToken::generate().unwrap();
        for err in [
            StoreError::Timeout,
            StoreError::Unavailable("connection refused".to_owned()),
        ] {
            let sessions = SessionStore::new(Arc::new(Failing(err.clone())));
            // The inner service would answer 200: a 503 means it was not called.
            let svc = SessionLayer::new(sessions).layer(service_fn(echo_openid));
            let req = Request::get("/me")
                .header(header::AUTHORIZATION, format!("Bearer {}", token.expose()))
                .body(Full::default())
                .unwrap();
            let res = svc.oneshot(req).await.unwrap();
            assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE, "{err:?}");
            assert!(!res.headers().contains_key(header::WWW_AUTHENTICATE));
            assert_eq!(res.headers()[header::CONTENT_TYPE], "application/json");
            let body = res.into_body().collect().await.unwrap().to_bytes();
            assert_eq!(
                &body[..],
                br#"{"errcode":10004,"errmsg":"session store unavailable"}"#
            );
        }
    }

    /// A service that panics unless `poll_ready` was called on the very instance called.
    #[derive(Clone, Default)]
    struct MustBeReady {
        ready: bool,
    }

    impl Service<Request<Full<Bytes>>> for MustBeReady {
        type Response = Response<Full<Bytes>>;
        type Error = Infallible;
        type Future = std::future::Ready<Result<Self::Response, Infallible>>;

        fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
            self.ready = true;
            Poll::Ready(Ok(()))
        }

        fn call(&mut self, req: Request<Full<Bytes>>) -> Self::Future {
            assert!(self.ready, "called without poll_ready");
            self.ready = false;
            echo_openid(req)
        }
    }

    #[tokio::test]
    async fn calls_the_service_that_poll_ready_prepared() {
        let (sessions, token) = setup().await;
        let mut svc = SessionLayer::new(sessions).layer(MustBeReady::default());
        for _ in 0..3 {
            let req = Request::get("/")
                .header(header::AUTHORIZATION, format!("Bearer {}", token.expose()))
                .body(Full::default())
                .unwrap();
            let res = svc.ready().await.unwrap().call(req).await.unwrap();
            assert_eq!(res.status(), StatusCode::OK);
        }
    }
}
