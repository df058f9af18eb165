//! Playing WeChat in tests (feature `test-util`): signed and encrypted requests as WeChat sends
//! them, and replies read back as WeChat reads them. The `wechat-sim` command-line simulator is
//! built on this module.
//!
//! For the outbound side, [`mock::MockWechat`] is a mock of WeChat's server API on loopback for
//! a [`WechatClient`](crate::client::WechatClient) to call.
//! [`mock_pay::MockPay`] is a mock of WeChat Pay: the v2 API for a
//! [`PayClient`](crate::pay::PayClient), the APIv3 for a `PayV3Client` (requests' signatures
//! checked, answers signed, platform certificates with rotation), and signed (and encrypted)
//! notifications sent to a notify URL. [`tls::TlsFront`] puts any mock behind mutual TLS, as
//! WeChat Pay's `secapi` calls (refunds) require.
//!
//! ```
//! use wechat_tower::test_util::{Simulator, messages};
//!
//! let sim = Simulator::safe("token", "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG", "wx0123456789abcdef")?;
//! let req = sim.push("/wechat", &messages::text("gh_account", "oUser", "hello", 1));
//! assert_eq!(req.method(), http::Method::POST);
//! assert!(req.uri().query().unwrap().contains("msg_signature="));
//! # Ok::<(), wechat_tower::core::Error>(())
//! ```
//!
//! To test a bot, [`Simulator::send`] does a whole exchange in one call (push, call the service,
//! collect the body, verify and decrypt the reply):
//! `let reply = sim.send(&bot, "/wechat", &xml).await?;`.

mod loopback;
pub mod mock;
#[cfg(feature = "pay")]
#[cfg_attr(docsrs, doc(cfg(feature = "pay")))]
pub mod mock_pay;
pub mod tls;

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};

use bytes::Bytes;
use http::{Method, Request, header};
use http_body_util::Full;
use wechat_core::xml::{Document, push_cdata};
use wechat_core::{MsgCrypt, signature};

use crate::config::{Clock, SystemClock};

/// What went wrong reading a reply as WeChat would.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SimError {
    /// The reply is not UTF-8 XML.
    Malformed,
    /// The encrypted reply lacks `Encrypt`, `MsgSignature`, `TimeStamp` or `Nonce`.
    MissingField(&'static str),
    /// `MsgSignature` of the reply is wrong.
    BadSignature,
    /// The reply does not decrypt for this app id.
    DecryptFailed,
    /// [`Simulator::send`]: the service answered with another status than 200 (a rejection:
    /// bad signature, replay, body too large, ...).
    Status(http::StatusCode),
    /// [`Simulator::send`]: the service or its response body failed.
    Service(String),
}

impl std::fmt::Display for SimError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Malformed => f.write_str("reply is not well-formed XML"),
            Self::MissingField(name) => write!(f, "encrypted reply without {name}"),
            Self::BadSignature => f.write_str("reply MsgSignature does not verify"),
            Self::DecryptFailed => f.write_str("reply does not decrypt for this app id"),
            Self::Status(status) => write!(f, "the service answered {status}"),
            Self::Service(reason) => write!(f, "the service failed: {reason}"),
        }
    }
}

impl std::error::Error for SimError {}

/// The WeChat side of one account: signs (and in safe mode encrypts) pushes, reads replies.
pub struct Simulator {
    token: String,
    crypt: Option<MsgCrypt>,
    clock: Box<dyn Clock>,
    json: bool,
}

impl std::fmt::Debug for Simulator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Simulator")
            .field("crypt", &self.crypt)
            .field("json", &self.json)
            .finish_non_exhaustive()
    }
}

impl Simulator {
    /// An account in plaintext mode.
    #[must_use]
    pub fn plaintext(token: &str) -> Self {
        Self {
            token: token.to_owned(),
            crypt: None,
            clock: Box::new(SystemClock),
            json: false,
        }
    }

    /// An account in safe mode (安全模式); pushes are encrypted.
    ///
    /// # Errors
    ///
    /// When the EncodingAESKey is not 43 base64 characters.
    pub fn safe(token: &str, encoding_aes_key: &str, appid: &str) -> wechat_core::Result<Self> {
        Ok(Self {
            crypt: Some(MsgCrypt::new(token, encoding_aes_key, appid)?),
            ..Self::plaintext(token)
        })
    }

    /// Use this clock for the `timestamp` of requests.
    #[must_use]
    pub fn clock(mut self, clock: impl Clock) -> Self {
        self.clock = Box::new(clock);
        self
    }

    /// Send encrypted envelopes as JSON (Mini Program message push with data format JSON).
    #[must_use]
    pub fn json(mut self, json: bool) -> Self {
        self.json = json;
        self
    }

    /// The query WeChat appends for a push or a handshake at `timestamp` with `nonce`.
    #[must_use]
    pub fn query(&self, timestamp: &str, nonce: &str) -> String {
        let sig = signature::sign(&[&self.token, timestamp, nonce]);
        format!("signature={sig}&timestamp={timestamp}&nonce={nonce}")
    }

    /// The GET handshake of the console's server configuration, with `echostr`.
    #[must_use]
    pub fn handshake(&self, path: &str, echostr: &str) -> Request<Full<Bytes>> {
        let (timestamp, nonce) = (self.clock.now_secs().to_string(), next_nonce());
        let echostr: String = form_urlencoded::byte_serialize(echostr.as_bytes()).collect();
        let uri = format!(
            "{path}?{}&echostr={echostr}",
            self.query(&timestamp, &nonce)
        );
        build(Method::GET, &uri, Bytes::new(), false)
    }

    /// A push of `xml` (a plaintext message, see [`messages`], or a JSON message of Mini Program
    /// message push) signed now with a fresh nonce, encrypted in safe mode.
    #[must_use]
    pub fn push(&self, path: &str, xml: &str) -> Request<Full<Bytes>> {
        self.push_at(path, xml, &self.clock.now_secs().to_string(), &next_nonce())
    }

    /// [`Simulator::push`] with a given timestamp and nonce.
    #[must_use]
    pub fn push_at(
        &self,
        path: &str,
        xml: &str,
        timestamp: &str,
        nonce: &str,
    ) -> Request<Full<Bytes>> {
        let mut uri = format!("{path}?{}", self.query(timestamp, nonce));
        let Some(crypt) = &self.crypt else {
            return build(Method::POST, &uri, Bytes::from(xml.to_owned()), false);
        };
        let encrypt = crypt.encrypt(xml);
        let msg_signature = crypt.signature(timestamp, nonce, &encrypt);
        let _ = write!(uri, "&encrypt_type=aes&msg_signature={msg_signature}");
        let to_user = if xml.trim_start().starts_with('{') {
            serde_json::from_str::<serde_json::Value>(xml)
                .ok()
                .and_then(|v| v.get("ToUserName")?.as_str().map(str::to_owned))
        } else {
            Document::parse(xml)
                .ok()
                .and_then(|d| d.root().child_text("ToUserName").map(str::to_owned))
        }
        .unwrap_or_default();
        let body = if self.json {
            serde_json::json!({ "ToUserName": to_user, "Encrypt": encrypt }).to_string()
        } else {
            let mut body = String::from("<xml><ToUserName>");
            push_cdata(&mut body, &to_user);
            body.push_str("</ToUserName><Encrypt>");
            push_cdata(&mut body, &encrypt);
            body.push_str("</Encrypt></xml>");
            body
        };
        build(Method::POST, &uri, Bytes::from(body), self.json)
    }

    /// One exchange in one call, as axum users test with `oneshot`: [`Simulator::push`] of `xml`
    /// to `path`, the service called once (a clone of it), the body collected and read with
    /// [`Simulator::read_reply`]. Returns the reply as WeChat reads it (`success`, or the reply
    /// XML, decrypted in safe mode).
    ///
    /// ```
    /// use std::convert::Infallible;
    /// use tower::{Layer, service_fn};
    /// use wechat_tower::test_util::{Simulator, messages};
    /// use wechat_tower::{Message, Reply, WechatConfig, WechatLayer};
    ///
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let echo = service_fn(|msg: Message| async move {
    ///     Ok::<_, Infallible>(match msg {
    ///         Message::Text(text) => Reply::text(text.content),
    ///         _ => Reply::Success,
    ///     })
    /// });
    /// let bot = WechatLayer::new(WechatConfig::plaintext("token")).layer(echo);
    /// let wechat = Simulator::plaintext("token");
    /// let reply = wechat.send(&bot, "/wechat", &messages::text("gh_account", "oUser", "hi", 1)).await?;
    /// assert!(reply.contains("<Content><![CDATA[hi]]></Content>"));
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// [`SimError::Status`] when the service answers another status than 200 (test rejections
    /// with [`Simulator::push`] and `oneshot`), [`SimError::Service`] when the service or the
    /// body fails, and the errors of [`Simulator::read_reply`].
    pub async fn send<S, B>(&self, service: &S, path: &str, xml: &str) -> Result<String, SimError>
    where
        S: tower_service::Service<Request<Full<Bytes>>, Response = http::Response<B>> + Clone,
        S::Error: Into<tower::BoxError>,
        B: http_body::Body,
        B::Error: Into<tower::BoxError>,
    {
        use http_body_util::BodyExt as _;
        use tower::ServiceExt as _;

        let res = service
            .clone()
            .oneshot(self.push(path, xml))
            .await
            .map_err(|e| SimError::Service(e.into().to_string()))?;
        if res.status() != http::StatusCode::OK {
            return Err(SimError::Status(res.status()));
        }
        let body = res
            .into_body()
            .collect()
            .await
            .map_err(|e| SimError::Service(e.into().to_string()))?
            .to_bytes();
        self.read_reply(&body)
    }

    /// Reads a reply body as WeChat does: `success` and plaintext replies as they are; in safe
    /// mode an encrypted envelope (XML or JSON) is verified and decrypted.
    ///
    /// # Errors
    ///
    /// A [`SimError`] when the reply is malformed, mis-signed or does not decrypt.
    pub fn read_reply(&self, body: &[u8]) -> Result<String, SimError> {
        let text = std::str::from_utf8(body).map_err(|_| SimError::Malformed)?;
        let Some(crypt) = &self.crypt else {
            return Ok(text.to_owned());
        };
        if text.is_empty() || text == "success" {
            return Ok(text.to_owned());
        }
        let (encrypt, sig, timestamp, nonce) = if text.trim_start().starts_with('{') {
            let v: serde_json::Value =
                serde_json::from_str(text).map_err(|_| SimError::Malformed)?;
            let field = |name: &'static str| -> Result<String, SimError> {
                match v.get(name) {
                    Some(serde_json::Value::String(s)) => Ok(s.clone()),
                    Some(serde_json::Value::Number(n)) => Ok(n.to_string()),
                    _ => Err(SimError::MissingField(name)),
                }
            };
            (
                field("Encrypt")?,
                field("MsgSignature")?,
                field("TimeStamp")?,
                field("Nonce")?,
            )
        } else {
            let doc = Document::parse(text).map_err(|_| SimError::Malformed)?;
            let root = doc.root();
            let field = |name: &'static str| {
                root.child_text(name)
                    .map(str::to_owned)
                    .ok_or(SimError::MissingField(name))
            };
            if root.child("Encrypt").is_none() {
                // A plaintext reply (compatible mode may answer plain).
                return Ok(text.to_owned());
            }
            (
                field("Encrypt")?,
                field("MsgSignature")?,
                field("TimeStamp")?,
                field("Nonce")?,
            )
        };
        if !signature::verify(&sig, &[&self.token, &timestamp, &nonce, &encrypt]) {
            return Err(SimError::BadSignature);
        }
        crypt.decrypt(&encrypt).map_err(|_| SimError::DecryptFailed)
    }
}

fn build(method: Method, uri: &str, body: Bytes, json: bool) -> Request<Full<Bytes>> {
    let content_type = if json { "application/json" } else { "text/xml" };
    let mut req = Request::new(Full::new(body));
    *req.method_mut() = method;
    // Every URI built here is a path plus an encoded query.
    *req.uri_mut() = uri.parse().unwrap_or_default();
    req.headers_mut().insert(
        header::CONTENT_TYPE,
        http::HeaderValue::from_static(content_type),
    );
    req
}

/// A nonce distinct for every request of this process (WeChat's are random digits).
fn next_nonce() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    format!("{}{n}", wechat_core::crypt::nonce())
}

/// Plaintext messages and events as WeChat writes them, to feed [`Simulator::push`].
pub mod messages {
    use std::fmt::Write as _;

    use wechat_core::xml::push_cdata;

    fn head(to: &str, from: &str, create_time: u64, msg_type: &str) -> String {
        let mut xml = String::from("<xml><ToUserName>");
        push_cdata(&mut xml, to);
        xml.push_str("</ToUserName><FromUserName>");
        push_cdata(&mut xml, from);
        let _ = write!(
            xml,
            "</FromUserName><CreateTime>{create_time}</CreateTime><MsgType>"
        );
        push_cdata(&mut xml, msg_type);
        xml.push_str("</MsgType>");
        xml
    }

    fn field(xml: &mut String, name: &str, value: &str) {
        let _ = write!(xml, "<{name}>");
        push_cdata(xml, value);
        let _ = write!(xml, "</{name}>");
    }

    fn finish(mut xml: String, msg_id: Option<u64>) -> String {
        if let Some(id) = msg_id {
            let _ = write!(xml, "<MsgId>{id}</MsgId>");
        }
        xml.push_str("</xml>");
        xml
    }

    fn now() -> u64 {
        crate::config::Clock::now_secs(&crate::config::SystemClock)
    }

    /// A text message from `from` (an OpenID) to the account `to`, with `msg_id`.
    #[must_use]
    pub fn text(to: &str, from: &str, content: &str, msg_id: u64) -> String {
        let mut xml = head(to, from, now(), "text");
        field(&mut xml, "Content", content);
        finish(xml, Some(msg_id))
    }

    /// An image message.
    #[must_use]
    pub fn image(to: &str, from: &str, pic_url: &str, media_id: &str, msg_id: u64) -> String {
        let mut xml = head(to, from, now(), "image");
        field(&mut xml, "PicUrl", pic_url);
        field(&mut xml, "MediaId", media_id);
        finish(xml, Some(msg_id))
    }

    /// A voice message, with speech recognition when `recognition` is given.
    #[must_use]
    pub fn voice(
        to: &str,
        from: &str,
        media_id: &str,
        recognition: Option<&str>,
        msg_id: u64,
    ) -> String {
        let mut xml = head(to, from, now(), "voice");
        field(&mut xml, "MediaId", media_id);
        field(&mut xml, "Format", "amr");
        if let Some(text) = recognition {
            field(&mut xml, "Recognition", text);
        }
        finish(xml, Some(msg_id))
    }

    /// A video (or, with `short`, shortvideo) message.
    #[must_use]
    pub fn video(to: &str, from: &str, media_id: &str, short: bool, msg_id: u64) -> String {
        let mut xml = head(to, from, now(), if short { "shortvideo" } else { "video" });
        field(&mut xml, "MediaId", media_id);
        field(&mut xml, "ThumbMediaId", "thumb");
        finish(xml, Some(msg_id))
    }

    /// A location message.
    #[must_use]
    pub fn location(
        to: &str,
        from: &str,
        latitude: f64,
        longitude: f64,
        label: &str,
        msg_id: u64,
    ) -> String {
        let mut xml = head(to, from, now(), "location");
        let _ = write!(
            xml,
            "<Location_X>{latitude}</Location_X><Location_Y>{longitude}</Location_Y><Scale>15</Scale>"
        );
        field(&mut xml, "Label", label);
        finish(xml, Some(msg_id))
    }

    /// A link message.
    #[must_use]
    pub fn link(to: &str, from: &str, title: &str, url: &str, msg_id: u64) -> String {
        let mut xml = head(to, from, now(), "link");
        field(&mut xml, "Title", title);
        field(&mut xml, "Description", title);
        field(&mut xml, "Url", url);
        finish(xml, Some(msg_id))
    }

    /// An event with an optional `EventKey` (subscribe, unsubscribe, SCAN, CLICK, VIEW, ...).
    #[must_use]
    pub fn event(to: &str, from: &str, event: &str, event_key: Option<&str>) -> String {
        let mut xml = head(to, from, now(), "event");
        field(&mut xml, "Event", event);
        if let Some(key) = event_key {
            field(&mut xml, "EventKey", key);
        }
        if event == "SCAN" || event_key.is_some_and(|k| k.starts_with("qrscene_")) {
            field(&mut xml, "Ticket", "TICKET");
        }
        finish(xml, None)
    }

    /// A `LOCATION` event (reported location).
    #[must_use]
    pub fn location_event(to: &str, from: &str, latitude: f64, longitude: f64) -> String {
        let mut xml = head(to, from, now(), "event");
        field(&mut xml, "Event", "LOCATION");
        let _ = write!(
            xml,
            "<Latitude>{latitude}</Latitude><Longitude>{longitude}</Longitude><Precision>10</Precision>"
        );
        finish(xml, None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_message_builder_parses() {
        use wechat_core::Message;
        let all = [
            messages::text("gh", "o", "hi ]]> there", 1),
            messages::image("gh", "o", "http://p", "m", 2),
            messages::voice("gh", "o", "m", Some("你好"), 3),
            messages::video("gh", "o", "m", false, 4),
            messages::video("gh", "o", "m", true, 5),
            messages::location("gh", "o", 23.1, 113.3, "here", 6),
            messages::link("gh", "o", "t", "http://u", 7),
            messages::event("gh", "o", "subscribe", Some("qrscene_1")),
            messages::event("gh", "o", "unsubscribe", None),
            messages::event("gh", "o", "SCAN", Some("1")),
            messages::event("gh", "o", "CLICK", Some("K")),
            messages::event("gh", "o", "VIEW", Some("http://v")),
            messages::location_event("gh", "o", 1.5, 2.5),
        ];
        for xml in all {
            let msg = Message::from_xml(&xml).unwrap();
            assert!(!matches!(msg, Message::Unknown(_)), "{xml}");
        }
    }

    fn echo_bot(
        config: crate::WechatConfig,
    ) -> impl tower_service::Service<
        Request<Full<Bytes>>,
        Response = http::Response<Full<Bytes>>,
        Error = std::convert::Infallible,
    > + Clone {
        use tower::Layer as _;
        let echo = tower::service_fn(|msg: wechat_core::Message| async move {
            Ok::<_, std::convert::Infallible>(match msg {
                wechat_core::Message::Text(t) => wechat_core::Reply::text(t.content),
                _ => wechat_core::Reply::Success,
            })
        });
        crate::WechatLayer::new(config).layer(echo)
    }

    #[tokio::test]
    async fn send_is_one_exchange_in_plaintext_and_safe_mode() {
        const KEY: &str = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG";
        let text = messages::text("gh", "oUser", "hi", 1);
        let plain = echo_bot(crate::WechatConfig::plaintext("t"));
        let reply = Simulator::plaintext("t")
            .send(&plain, "/wechat", &text)
            .await
            .unwrap();
        assert!(
            reply.contains("<Content><![CDATA[hi]]></Content>"),
            "{reply}"
        );

        let safe = echo_bot(crate::WechatConfig::safe("t", KEY, "wx1").unwrap());
        let sim = Simulator::safe("t", KEY, "wx1").unwrap();
        let reply = sim.send(&safe, "/wechat", &text).await.unwrap();
        assert!(
            reply.contains("<Content><![CDATA[hi]]></Content>"),
            "{reply}"
        );
        let quiet = messages::event("gh", "oUser", "unsubscribe", None);
        assert_eq!(sim.send(&safe, "/wechat", &quiet).await.unwrap(), "success");
    }

    #[tokio::test]
    async fn send_reports_a_rejection_by_its_status() {
        let bot = echo_bot(crate::WechatConfig::plaintext("right"));
        let err = Simulator::plaintext("wrong")
            .send(&bot, "/wechat", &messages::text("gh", "oUser", "hi", 1))
            .await
            .unwrap_err();
        assert!(
            matches!(err, SimError::Status(status) if status.is_client_error()),
            "{err:?}"
        );
    }

    #[test]
    fn reads_back_its_own_encryption() {
        let sim =
            Simulator::safe("t", "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG", "wx1").unwrap();
        let crypt =
            MsgCrypt::new("t", "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG", "wx1").unwrap();
        let envelope = crypt.encrypt_message("<xml>r</xml>", "1", "2").unwrap();
        assert_eq!(sim.read_reply(envelope.as_bytes()).unwrap(), "<xml>r</xml>");
        assert_eq!(sim.read_reply(b"success").unwrap(), "success");
        let tampered = envelope.replace("<TimeStamp>1<", "<TimeStamp>9<");
        assert_eq!(
            sim.read_reply(tampered.as_bytes()).unwrap_err(),
            SimError::BadSignature
        );
    }
}
