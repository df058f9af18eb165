//! Calls whose answer is read as it arrives (Mini Program codes), with the token rules of the
//! buffered stack (see `stack.rs`): the `access_token` in the query, and one retry with a fresh
//! token when WeChat refuses the one used (40001, 40014, 42001).
//!
//! The buffered stack reads every answer whole before it can look for an `errcode`; here only
//! answers that say they are JSON or text are read (they are small, and capped at
//! [`MAX_JSON_BYTES`]); any other answer comes back with its body unread, so an image of many
//! megabytes is never held in memory by the client.

use std::time::Duration;

use bytes::Bytes;
use http::{Request, Response, header};
use http_body_util::{BodyExt as _, Limited};
use wechat_core::secret::AccessToken;

use super::error::ClientError;
use super::stack::{set_access_token, transport_error, wechat_error};
use super::token::TokenManager;
use super::transport::{Transport, TransportBody};
use crate::body::{BoxError, content_length};

/// The most a JSON (or text) answer of a streamed call may hold: WeChat's errors are a few
/// hundred bytes.
pub(crate) const MAX_JSON_BYTES: usize = 64 * 1024;

/// What the answer of a streamed call turned out to be.
pub(crate) enum Streamed {
    /// A JSON or text answer without an `errcode` (or with `errcode` 0), read whole.
    Json(Response<Bytes>),
    /// Any other answer, its body not read yet.
    Body(Response<TransportBody>),
}

/// What a streamed call goes through: the client's transport, token manager and time limit.
#[derive(Clone, Copy)]
pub(crate) struct StreamedCall<'a> {
    pub(crate) transport: &'a Transport,
    pub(crate) tokens: &'a TokenManager,
    /// Bounds the wait for the headers, and the reading of a JSON answer.
    pub(crate) timeout: Duration,
}

impl StreamedCall<'_> {
    /// Sends `req` with the app's `access_token`; a refused token is replaced and the request
    /// sent once more. An answer with `errcode` != 0 is [`ClientError::Wechat`].
    pub(crate) async fn send(self, req: Request<Bytes>) -> Result<Streamed, ClientError> {
        let token = self.tokens.get().await?;
        let first = self.once(with_token(req.clone(), &token)?).await?;
        let Streamed::Json(res) = first else {
            return Ok(first);
        };
        match wechat_error(res.body()) {
            Some(err) if err.is_token_invalid() => {
                tracing::debug!(
                    errcode = err.errcode,
                    "access token refused (streamed call); retrying once"
                );
                let next = self.tokens.replace(&token).await?;
                // Once: a second refusal is the caller's answer, not another loop.
                match self.once(with_token(req, &next)?).await? {
                    Streamed::Json(res) => match wechat_error(res.body()) {
                        Some(err) => Err(ClientError::Wechat(err)),
                        None => Ok(Streamed::Json(res)),
                    },
                    body @ Streamed::Body(_) => Ok(body),
                }
            }
            Some(err) => Err(ClientError::Wechat(err)),
            None => Ok(Streamed::Json(res)),
        }
    }

    /// One request: headers within the time limit; a JSON or text body read (capped).
    async fn once(self, req: Request<Bytes>) -> Result<Streamed, ClientError> {
        let res = tokio::time::timeout(self.timeout, self.transport.stream(req))
            .await
            .map_err(|_| ClientError::Timeout)?
            .map_err(transport_error)?;
        if !is_json_or_text(&res) {
            return Ok(Streamed::Body(res));
        }
        let (parts, body) = res.into_parts();
        if content_length(&parts.headers).is_some_and(|len| len > MAX_JSON_BYTES as u64) {
            return Err(ClientError::Decode(format!(
                "a JSON answer over {MAX_JSON_BYTES} bytes"
            )));
        }
        let collected =
            tokio::time::timeout(self.timeout, Limited::new(body, MAX_JSON_BYTES).collect())
                .await
                .map_err(|_| ClientError::Timeout)?
                .map_err(|err| body_error(err, MAX_JSON_BYTES))?;
        Ok(Streamed::Json(Response::from_parts(
            parts,
            collected.to_bytes(),
        )))
    }
}

/// Whether the answer says it is JSON or text (what WeChat's errors come as).
fn is_json_or_text<B>(res: &Response<B>) -> bool {
    res.headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| {
            let ct = ct.trim_start().to_ascii_lowercase();
            ct.starts_with("application/json") || ct.starts_with("text/")
        })
}

/// A failure while a body was read: over `limit`, a timeout, or the connection's.
pub(crate) fn body_error(err: BoxError, limit: usize) -> ClientError {
    if err.is::<http_body_util::LengthLimitError>() {
        ClientError::Decode(format!("answer larger than {limit} bytes"))
    } else {
        transport_error(err)
    }
}

/// `req` with `access_token` set (or replaced) in its query.
fn with_token(mut req: Request<Bytes>, token: &AccessToken) -> Result<Request<Bytes>, ClientError> {
    set_access_token(&mut req, token)?;
    Ok(req)
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::{Arc, Mutex};

    use super::*;
    use crate::client::token::FetchedToken;
    use crate::store::MemoryStore;

    fn tokens() -> TokenManager {
        let n = Arc::new(AtomicUsize::new(0));
        TokenManager::new("k", Arc::new(MemoryStore::new()), move |_: bool| {
            let n = n.fetch_add(1, Ordering::SeqCst);
            async move {
                Ok(FetchedToken {
                    token: AccessToken::new(format!("t{n}")),
                    expires_in: 7200,
                })
            }
        })
    }

    /// A transport that refuses token `t0` with JSON and answers a PNG otherwise, logging the
    /// URIs it saw.
    fn scripted() -> (Transport, Arc<Mutex<Vec<String>>>) {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = Arc::clone(&seen);
        let transport = Transport::new(tower::service_fn(move |req: Request<Bytes>| {
            log.lock().unwrap().push(req.uri().to_string());
            let refused = req.uri().query().unwrap().contains("access_token=t0");
            let res = if refused {
                Response::builder()
                    .header(header::CONTENT_TYPE, "application/json; encoding=utf-8")
                    .body(Bytes::from_static(
                        br#"{"errcode":40001,"errmsg":"invalid credential"}"#,
                    ))
            } else {
                Response::builder()
                    .header(header::CONTENT_TYPE, "image/png")
                    .body(Bytes::from_static(b"\x89PNG\r\n\x1a\n"))
            };
            async move { Ok::<_, std::convert::Infallible>(res.unwrap()) }
        }));
        (transport, seen)
    }

    #[tokio::test]
    async fn a_refused_token_is_replaced_once_and_the_body_is_not_read() {
        let (transport, seen) = scripted();
        let tokens = tokens();
        let call = StreamedCall {
            transport: &transport,
            tokens: &tokens,
            timeout: Duration::from_secs(5),
        };
        let req = Request::builder()
            .uri("http://127.0.0.1/wxa/getwxacode?a=1")
            .body(Bytes::new())
            .unwrap();
        let Streamed::Body(res) = call.send(req).await.unwrap() else {
            panic!("expected the image");
        };
        assert_eq!(res.headers()[header::CONTENT_TYPE], "image/png");
        let body = res.into_body().collect().await.unwrap().to_bytes();
        assert_eq!(&body[..], b"\x89PNG\r\n\x1a\n");
        assert_eq!(
            *seen.lock().unwrap(),
            [
                "http://127.0.0.1/wxa/getwxacode?a=1&access_token=t0",
                "http://127.0.0.1/wxa/getwxacode?a=1&access_token=t1",
            ]
        );
    }

    /// Sends one request through a transport that always answers `content_type` and `body`;
    /// the result and how many requests reached the transport.
    async fn answered(
        content_type: &'static str,
        body: Bytes,
    ) -> (Result<Streamed, ClientError>, usize) {
        let sent = Arc::new(AtomicUsize::new(0));
        let count = Arc::clone(&sent);
        let transport = Transport::new(tower::service_fn(move |_req: Request<Bytes>| {
            count.fetch_add(1, Ordering::SeqCst);
            let res = Response::builder()
                .header(header::CONTENT_TYPE, content_type)
                .body(body.clone())
                .unwrap();
            async move { Ok::<_, std::convert::Infallible>(res) }
        }));
        let tokens = tokens();
        let call = StreamedCall {
            transport: &transport,
            tokens: &tokens,
            timeout: Duration::from_secs(5),
        };
        let req = Request::builder()
            .uri("http://127.0.0.1/x")
            .body(Bytes::new())
            .unwrap();
        (call.send(req).await, sent.load(Ordering::SeqCst))
    }

    #[tokio::test]
    async fn a_second_refusal_is_the_answer() {
        let body = Bytes::from_static(br#"{"errcode":42001,"errmsg":"expired"}"#);
        let (Err(err), sent) = answered("text/plain", body).await else {
            panic!("expected an error");
        };
        assert_eq!(err.errcode(), Some(42001));
        // Refused, replaced, sent once more, refused again: that refusal is the answer.
        assert_eq!(sent, 2);
    }

    #[tokio::test]
    async fn an_oversized_json_answer_is_refused() {
        let body = Bytes::from(vec![b' '; MAX_JSON_BYTES + 1]);
        let (Err(err), sent) = answered("application/json", body).await else {
            panic!("expected an error");
        };
        assert!(matches!(err, ClientError::Decode(_)), "{err:?}");
        assert_eq!(sent, 1);
    }
}
