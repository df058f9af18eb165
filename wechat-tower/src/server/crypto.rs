//! `CryptoLayer`: the three encryption modes of a callback (消息加解密方式).
//!
//! - plaintext (明文模式): the body passes through;
//! - compatible (兼容模式): a request with `encrypt_type=aes` is handled as in safe mode, others
//!   pass through;
//! - safe (安全模式): `msg_signature` is checked over the `Encrypt` value (401 otherwise), the
//!   payload is decrypted and its app id checked (400 otherwise), the inner service sees the
//!   plaintext, and its reply goes back encrypted and signed with a fresh nonce and timestamp
//!   (`success` and empty bodies go back as they are, as WeChat expects).
//!
//! Envelopes may be XML (`<xml><Encrypt/></xml>`) or, for Mini Program message push configured
//! with JSON (消息推送 数据格式 JSON), JSON (`{"ToUserName":…,"Encrypt":…}`); a JSON request gets a
//! JSON reply envelope.
//!
//! The layer reads the [`VerifiedQuery`] that [`SignatureLayer`](super::SignatureLayer) leaves in
//! the extensions, or parses the query itself when used alone.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Request, Response, StatusCode, header};
use http_body::Body;
use http_body_util::Full;
use tower_layer::Layer;
use tower_service::Service;
use wechat_core::xml::Document;
use wechat_core::{ErrorKind, MsgCrypt};

use super::signature::{CallbackQuery, VerifiedQuery};
use crate::body::{BoxError, read_limited};
use crate::config::{Mode, WechatConfig};
use crate::rejection::Rejection;

/// Decrypts requests and encrypts replies; see the [module docs](self).
#[derive(Debug, Clone)]
pub struct CryptoLayer {
    config: Arc<WechatConfig>,
}

impl CryptoLayer {
    /// A layer for this configuration's mode, key and app id.
    #[must_use]
    pub fn new(config: impl Into<Arc<WechatConfig>>) -> Self {
        Self {
            config: config.into(),
        }
    }
}

impl<S> Layer<S> for CryptoLayer {
    type Service = Crypto<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Crypto {
            inner,
            config: Arc::clone(&self.config),
        }
    }
}

/// The service of [`CryptoLayer`].
#[derive(Debug, Clone)]
pub struct Crypto<S> {
    inner: S,
    config: Arc<WechatConfig>,
}

/// The response future of [`Crypto`].
pub type ResponseFuture<R, E> = Pin<Box<dyn Future<Output = Result<R, E>> + Send>>;

/// The shape of an encrypted envelope, so the reply goes back in the same one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Envelope {
    Xml,
    Json,
}

/// Whether a body is JSON: its first non-blank byte is `{`.
pub(crate) fn is_json(body: &[u8]) -> bool {
    body.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{')
}

/// A request body after [`open`]: as it came, or decrypted (and then its reply is sealed).
pub(crate) enum Opened<'c> {
    /// Plaintext mode, or a plaintext request in compatible mode.
    Plain(Bytes),
    /// A safe-mode request, decrypted.
    Decrypted {
        /// The message inside, as the decryption made it (the fused `WechatLayer` only reads
        /// it; `CryptoLayer` makes it the inner request's body).
        plaintext: String,
        /// The envelope it came in, for the reply.
        envelope: Envelope,
        /// The crypt of the account, borrowed from the configuration.
        crypt: &'c MsgCrypt,
    },
}

impl Opened<'_> {
    /// The message bytes.
    pub(crate) fn message(&self) -> &[u8] {
        match self {
            Self::Plain(bytes) => bytes,
            Self::Decrypted { plaintext, .. } => plaintext.as_bytes(),
        }
    }
}

/// The request side of [`CryptoLayer`]: passes a plaintext body through, or checks
/// `msg_signature` and decrypts, as the mode and `encrypt_type` ask.
pub(crate) fn open<'c>(
    config: &'c WechatConfig,
    query: &VerifiedQuery,
    body: Bytes,
) -> Result<Opened<'c>, Rejection> {
    let crypt = match (config.mode, &config.crypt, query.is_encrypted()) {
        (Mode::Plaintext, _, _) | (Mode::Compatible, _, false) | (_, None, _) => {
            return Ok(Opened::Plain(body));
        }
        (Mode::Safe, Some(_), false) => return Err(Rejection::MissingMsgSignature),
        (_, Some(crypt), true) => crypt,
    };
    let envelope = if is_json(&body) {
        Envelope::Json
    } else {
        Envelope::Xml
    };
    let plaintext = decrypt(crypt, query, &body, envelope)?;
    Ok(Opened::Decrypted {
        plaintext,
        envelope,
        crypt,
    })
}

fn decrypt(
    crypt: &MsgCrypt,
    query: &VerifiedQuery,
    body: &[u8],
    envelope: Envelope,
) -> Result<String, Rejection> {
    let Some(msg_signature) = query.msg_signature() else {
        return Err(Rejection::MissingMsgSignature);
    };
    let (timestamp, nonce) = (query.timestamp(), query.nonce());
    let result = match envelope {
        Envelope::Xml => {
            let doc = Document::parse_bytes(body).map_err(|_| Rejection::BadMessage)?;
            let encrypt = doc
                .root()
                .child_text("Encrypt")
                .ok_or(Rejection::MissingMsgSignature)?;
            crypt.verify_and_decrypt(msg_signature, timestamp, nonce, encrypt)
        }
        Envelope::Json => {
            let value: serde_json::Value =
                serde_json::from_slice(body).map_err(|_| Rejection::BadMessage)?;
            let encrypt = value
                .get("Encrypt")
                .and_then(serde_json::Value::as_str)
                .ok_or(Rejection::MissingMsgSignature)?;
            crypt.verify_and_decrypt(msg_signature, timestamp, nonce, encrypt)
        }
    };
    result.map_err(|err| match err.kind() {
        ErrorKind::InvalidSignature => Rejection::InvalidMsgSignature,
        _ => Rejection::DecryptFailed,
    })
}

/// Whether a reply body goes back as it is: empty and `success` are never encrypted, as WeChat
/// expects.
pub(crate) fn passes_unsealed(reply: &[u8]) -> bool {
    reply.is_empty() || reply == b"success"
}

/// The response side of [`CryptoLayer`]: encrypts and signs a reply with a fresh nonce and
/// timestamp, in the envelope the request came in. Returns the body and its content type.
pub(crate) fn seal(
    crypt: &MsgCrypt,
    config: &WechatConfig,
    envelope: Envelope,
    reply: &[u8],
) -> Result<(Bytes, &'static str), Rejection> {
    let reply = std::str::from_utf8(reply).map_err(|_| Rejection::HandlerFailed)?;
    let timestamp = config.now().to_string();
    let nonce = wechat_core::crypt::nonce();
    match envelope {
        Envelope::Xml => crypt
            .encrypt_message(reply, &timestamp, &nonce)
            .map(|xml| (Bytes::from(xml), "application/xml; charset=utf-8"))
            .map_err(|_| Rejection::HandlerFailed),
        Envelope::Json => {
            let encrypt = crypt.encrypt(reply);
            let signature = crypt.signature(&timestamp, &nonce, &encrypt);
            let json = serde_json::json!({
                "Encrypt": encrypt,
                "MsgSignature": signature,
                "TimeStamp": timestamp.parse::<u64>().unwrap_or_default(),
                "Nonce": nonce,
            });
            Ok((Bytes::from(json.to_string()), "application/json"))
        }
    }
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for Crypto<S>
where
    S: Service<Request<Full<Bytes>>, Response = Response<ResBody>> + Clone + Send + 'static,
    S::Future: Send,
    S::Error: Send,
    ReqBody: Body + Send + 'static,
    ReqBody::Data: Send,
    ReqBody::Error: Into<BoxError>,
    ResBody: Body + From<Bytes> + Send + 'static,
    ResBody::Data: Send,
    ResBody::Error: Into<BoxError>,
{
    type Response = Response<ResBody>;
    type Error = S::Error;
    type Future = ResponseFuture<Self::Response, Self::Error>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<ReqBody>) -> Self::Future {
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let config = Arc::clone(&self.config);
        Box::pin(async move {
            let (mut parts, body) = req.into_parts();
            let bytes = match read_limited(&parts.headers, body, config.body_limit).await {
                Ok(bytes) => bytes,
                Err(rejection) => return Ok(rejection.into_response()),
            };
            // Borrow what SignatureLayer verified; parse the query only when used alone.
            let parsed;
            let query = match parts.extensions.get::<VerifiedQuery>() {
                Some(query) => query,
                None => {
                    parsed = CallbackQuery::parse(parts.uri.query()).fields;
                    &parsed
                }
            };
            let (plaintext, envelope, crypt) = match open(&config, query, bytes) {
                Ok(Opened::Plain(bytes)) => {
                    return inner
                        .call(Request::from_parts(parts, Full::new(bytes)))
                        .await;
                }
                Ok(Opened::Decrypted {
                    plaintext,
                    envelope,
                    crypt,
                }) => (plaintext, envelope, crypt),
                Err(rejection) => return Ok(rejection.into_response()),
            };
            parts.headers.remove(header::CONTENT_LENGTH);
            let res = inner
                .call(Request::from_parts(
                    parts,
                    Full::new(Bytes::from(plaintext)),
                ))
                .await?;
            if res.status() != StatusCode::OK {
                return Ok(res);
            }
            let (mut parts, body) = res.into_parts();
            let Ok(reply) = read_limited(&HeaderMap::new(), body, usize::MAX).await else {
                return Ok(Rejection::HandlerFailed.into_response());
            };
            if passes_unsealed(&reply) {
                return Ok(Response::from_parts(parts, ResBody::from(reply)));
            }
            Ok(match seal(crypt, &config, envelope, &reply) {
                Ok((body, content_type)) => {
                    parts.headers.remove(header::CONTENT_LENGTH);
                    parts
                        .headers
                        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
                    Response::from_parts(parts, ResBody::from(body))
                }
                Err(rejection) => rejection.into_response(),
            })
        })
    }
}
