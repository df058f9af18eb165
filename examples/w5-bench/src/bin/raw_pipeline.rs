//! `raw-pipeline`: the reference pipeline of W5, written on the crates alone (hyper 1, sha1,
//! aes + cbc, base64, a quick-xml event walk, rand), with no framework: neither wechat-core nor
//! wechat-tower. For a safe-mode push it checks `signature`, reads the body (capped at 64 KiB),
//! extracts `Encrypt`, checks `msg_signature`, decrypts, checks the trailing app id, parses the
//! text message, echoes its `Content` in a text reply, encrypts and signs the reply and answers
//! the envelope. A bad signature is 401; anything malformed is 400; a message that is not text is
//! answered `success`. There is no timestamp window and no retry cache (the fixture repeats one
//! request). The reply's `TimeStamp` and `Nonce` are the request's, which W5 allows.
//!
//! ```text
//! WECHAT_TOKEN=test_token WECHAT_ENCODING_AES_KEY=abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG \
//! WECHAT_APPID=wx0123456789abcdef ADDR=127.0.0.1:3002 \
//!     cargo run --release -p w5-bench --bin raw-pipeline
//! ```

use std::borrow::Cow;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use aes::Aes256;
use aes::cipher::block_padding::NoPadding;
use aes::cipher::{BlockDecryptMut, BlockEncryptMut, KeyIvInit};
use base64::Engine;
use base64::alphabet;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, STANDARD};
use bytes::Bytes;
use http::{HeaderValue, Method, StatusCode, header};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper::{Request, Response};
use quick_xml::events::Event;
use quick_xml::reader::Reader;
use rand::RngCore;
use sha1::{Digest, Sha1};
use w5_bench::{BoxError, addr_from_env, env_or, serve};

/// The cap on request bodies, as the framework's default.
const BODY_LIMIT: usize = 64 * 1024;

/// The account: token, AES key (the IV is its first 16 bytes) and app id.
struct Raw {
    token: String,
    key: [u8; 32],
    appid: String,
}

/// Why a request is refused.
struct Refusal(StatusCode, &'static str);

/// The fields of a message the text handler needs, borrowed from the decrypted XML when possible.
#[derive(Default)]
struct Msg<'a> {
    to: Cow<'a, str>,
    from: Cow<'a, str>,
    msg_type: Cow<'a, str>,
    content: Cow<'a, str>,
    create_time: u64,
    msg_id: u64,
}

/// `hex(sha1(concat(sort(parts))))` into a stack buffer.
fn sha1_hex(parts: &mut [&str]) -> [u8; 40] {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    parts.sort_unstable();
    let mut h = Sha1::new();
    for p in parts.iter() {
        h.update(p.as_bytes());
    }
    let mut hex = [0u8; 40];
    for (i, b) in h.finalize().iter().enumerate() {
        hex[2 * i] = DIGITS[usize::from(b >> 4)];
        hex[2 * i + 1] = DIGITS[usize::from(b & 15)];
    }
    hex
}

/// Seconds since the Unix epoch.
fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Appends `text` as CDATA, splitting any `]]>` it contains.
fn push_cdata(out: &mut String, text: &str) {
    out.push_str("<![CDATA[");
    out.push_str(&text.replace("]]>", "]]]]><![CDATA[>"));
    out.push_str("]]>");
}

impl Raw {
    fn from_env() -> Result<Self, BoxError> {
        let token = env_or("WECHAT_TOKEN", "");
        let aes_key = env_or("WECHAT_ENCODING_AES_KEY", "");
        let appid = env_or("WECHAT_APPID", "");
        if token.is_empty() || aes_key.len() != 43 || appid.is_empty() {
            return Err(
                "raw-pipeline needs WECHAT_TOKEN, WECHAT_ENCODING_AES_KEY (43 chars) and \
                        WECHAT_APPID: it serves safe mode only"
                    .into(),
            );
        }
        // The last character carries non-zero trailing bits: decode leniently.
        let lenient = GeneralPurpose::new(
            &alphabet::STANDARD,
            GeneralPurposeConfig::new().with_decode_allow_trailing_bits(true),
        );
        let key: [u8; 32] = lenient
            .decode(format!("{aes_key}="))?
            .try_into()
            .map_err(|_| "the EncodingAESKey does not decode to 32 bytes")?;
        Ok(Self { token, key, appid })
    }

    /// Base64, AES-256-CBC, PKCS#7 (32-byte blocks), length prefix, app id check.
    fn decrypt(&self, encrypt: &str) -> Result<String, Refusal> {
        let bad = |why| Refusal(StatusCode::BAD_REQUEST, why);
        let mut buf = STANDARD
            .decode(encrypt)
            .map_err(|_| bad("Encrypt is not base64"))?;
        if buf.len() < 32 || !buf.len().is_multiple_of(16) {
            return Err(bad("Encrypt has a bad length"));
        }
        let plain = cbc::Decryptor::<Aes256>::new(&self.key.into(), self.key[..16].into())
            .decrypt_padded_mut::<NoPadding>(&mut buf)
            .map_err(|_| bad("Encrypt does not decrypt"))?;
        let pad = usize::from(plain[plain.len() - 1]);
        if !(1..=32).contains(&pad) || pad > plain.len() - 20 {
            return Err(bad("bad padding"));
        }
        let content = &plain[..plain.len() - pad];
        let len_bytes: [u8; 4] = content[16..20].try_into().map_err(|_| bad("bad length"))?;
        let len = u32::from_be_bytes(len_bytes) as usize;
        if 20 + len > content.len() {
            return Err(bad("bad length"));
        }
        if &content[20 + len..] != self.appid.as_bytes() {
            return Err(Refusal(StatusCode::UNAUTHORIZED, "wrong appid"));
        }
        String::from_utf8(content[20..20 + len].to_vec()).map_err(|_| bad("not UTF-8"))
    }

    /// The reply envelope: 16 random bytes, length, XML, app id, PKCS#7 to 32, AES-256-CBC,
    /// base64, `MsgSignature` over token, timestamp, nonce and `Encrypt`.
    fn encrypt_envelope(&self, xml: &str, timestamp: &str, nonce: &str) -> String {
        let mut buf = Vec::with_capacity(xml.len() + self.appid.len() + 52);
        let mut random = [0u8; 16];
        rand::rng().fill_bytes(&mut random);
        buf.extend_from_slice(&random);
        buf.extend_from_slice(&u32::try_from(xml.len()).unwrap_or(u32::MAX).to_be_bytes());
        buf.extend_from_slice(xml.as_bytes());
        buf.extend_from_slice(self.appid.as_bytes());
        let pad = 32 - buf.len() % 32;
        // `pad` is in 1..=32: it fits a byte.
        buf.resize(buf.len() + pad, pad as u8);
        let len = buf.len();
        let cipher = cbc::Encryptor::<Aes256>::new(&self.key.into(), self.key[..16].into());
        let encrypt = match cipher.encrypt_padded_mut::<NoPadding>(&mut buf, len) {
            Ok(ciphertext) => STANDARD.encode(ciphertext),
            // Unreachable: the buffer is a whole number of blocks.
            Err(_) => String::new(),
        };
        let sig = sha1_hex(&mut [&self.token, timestamp, nonce, &encrypt]);
        let sig = std::str::from_utf8(&sig).unwrap_or_default();
        format!(
            "<xml><Encrypt><![CDATA[{encrypt}]]></Encrypt><MsgSignature><![CDATA[{sig}]]></MsgSignature><TimeStamp>{timestamp}</TimeStamp><Nonce><![CDATA[{nonce}]]></Nonce></xml>"
        )
    }

    /// The whole pipeline of one request.
    async fn handle(&self, req: Request<Incoming>) -> Result<Response<Full<Bytes>>, Refusal> {
        let unauthorized = |why| Refusal(StatusCode::UNAUTHORIZED, why);
        let bad = |why| Refusal(StatusCode::BAD_REQUEST, why);

        // 1. The query and `signature`.
        let (mut signature, mut timestamp, mut nonce) = (None, None, None);
        let (mut msg_signature, mut encrypt_type, mut echostr) = (None, None, None);
        let (parts, body) = req.into_parts();
        let query = parts.uri.query().unwrap_or_default();
        for (k, v) in form_urlencoded::parse(query.as_bytes()) {
            match &*k {
                "signature" => signature = Some(v),
                "timestamp" => timestamp = Some(v),
                "nonce" => nonce = Some(v),
                "msg_signature" => msg_signature = Some(v),
                "encrypt_type" => encrypt_type = Some(v),
                "echostr" => echostr = Some(v),
                _ => {}
            }
        }
        let (Some(signature), Some(timestamp), Some(nonce)) = (signature, timestamp, nonce) else {
            return Err(unauthorized("missing signature, timestamp or nonce"));
        };
        if sha1_hex(&mut [&self.token, &timestamp, &nonce]) != signature.as_bytes() {
            return Err(unauthorized("bad signature"));
        }
        if parts.method == Method::GET {
            let echo = echostr.map(Cow::into_owned).unwrap_or_default();
            return Ok(Response::new(Full::new(Bytes::from(echo))));
        }
        if parts.method != Method::POST {
            return Err(Refusal(StatusCode::METHOD_NOT_ALLOWED, "POST only"));
        }
        if encrypt_type.as_deref() != Some("aes") {
            return Err(bad("safe mode only: encrypt_type=aes expected"));
        }
        let Some(msg_signature) = msg_signature else {
            return Err(unauthorized("missing msg_signature"));
        };

        // 2. The body.
        let body = Limited::new(body, BODY_LIMIT)
            .collect()
            .await
            .map_err(|_| {
                Refusal(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "body unreadable or too large",
                )
            })?
            .to_bytes();

        // 3. The envelope's `Encrypt` and `msg_signature`.
        let envelope = std::str::from_utf8(&body).map_err(|_| bad("body is not UTF-8"))?;
        let encrypt = envelope_encrypt(envelope).ok_or_else(|| bad("no Encrypt"))?;
        if sha1_hex(&mut [&self.token, &timestamp, &nonce, &encrypt]) != msg_signature.as_bytes() {
            return Err(unauthorized("bad msg_signature"));
        }

        // 4. Decrypt, check the app id, parse.
        let xml = self.decrypt(&encrypt)?;
        let msg = parse_message(&xml).ok_or_else(|| bad("malformed message"))?;
        if msg.to.is_empty() || msg.from.is_empty() || msg.create_time == 0 {
            return Err(bad("message without its header"));
        }

        // 5. Dispatch: the text handler echoes; anything else is `success`.
        if msg.msg_type != "text" {
            return Ok(Response::new(Full::new(Bytes::from_static(b"success"))));
        }
        if msg.msg_id == 0 {
            return Err(bad("text message without MsgId"));
        }
        let mut reply = String::with_capacity(msg.content.len() + 200);
        reply.push_str("<xml><ToUserName>");
        push_cdata(&mut reply, &msg.from);
        reply.push_str("</ToUserName><FromUserName>");
        push_cdata(&mut reply, &msg.to);
        reply.push_str("</FromUserName><CreateTime>");
        reply.push_str(&now().to_string());
        reply.push_str("</CreateTime><MsgType><![CDATA[text]]></MsgType><Content>");
        push_cdata(&mut reply, &msg.content);
        reply.push_str("</Content></xml>");

        // 6. Encrypt, sign, envelope.
        let envelope = self.encrypt_envelope(&reply, &timestamp, &nonce);
        let mut res = Response::new(Full::new(Bytes::from(envelope)));
        res.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/xml"),
        );
        Ok(res)
    }
}

/// The text of the envelope's `Encrypt` element (CDATA or escaped text).
fn envelope_encrypt(envelope: &str) -> Option<String> {
    let mut reader = Reader::from_str(envelope);
    let mut in_encrypt = false;
    loop {
        match reader.read_event().ok()? {
            Event::Start(e) => in_encrypt = e.name().as_ref() == b"Encrypt",
            Event::End(_) => in_encrypt = false,
            Event::CData(t) if in_encrypt => {
                return std::str::from_utf8(&t).ok().map(str::to_owned);
            }
            Event::Text(t) if in_encrypt => return t.unescape().ok().map(Cow::into_owned),
            Event::Eof => return None,
            _ => {}
        }
    }
}

/// The elements of a message the pipeline keeps.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Field {
    None,
    To,
    From,
    MsgType,
    Content,
    CreateTime,
    MsgId,
}

/// An event walk over the message, keeping the fields of the header and of a text message.
fn parse_message(xml: &str) -> Option<Msg<'_>> {
    let mut reader = Reader::from_str(xml);
    let mut msg = Msg::default();
    let mut field = Field::None;
    loop {
        let value: Cow<'_, str> = match reader.read_event().ok()? {
            Event::Start(e) => {
                field = match e.name().as_ref() {
                    b"ToUserName" => Field::To,
                    b"FromUserName" => Field::From,
                    b"MsgType" => Field::MsgType,
                    b"Content" => Field::Content,
                    b"CreateTime" => Field::CreateTime,
                    b"MsgId" => Field::MsgId,
                    _ => Field::None,
                };
                continue;
            }
            Event::End(_) => {
                field = Field::None;
                continue;
            }
            Event::CData(t) => match t.into_inner() {
                Cow::Borrowed(b) => Cow::Borrowed(std::str::from_utf8(b).ok()?),
                Cow::Owned(b) => Cow::Owned(String::from_utf8(b).ok()?),
            },
            Event::Text(t) => t.unescape().ok()?,
            Event::Eof => return Some(msg),
            _ => continue,
        };
        match field {
            Field::None => {}
            Field::To => msg.to = value,
            Field::From => msg.from = value,
            Field::MsgType => msg.msg_type = value,
            Field::Content => msg.content = value,
            Field::CreateTime => msg.create_time = value.trim().parse().ok()?,
            Field::MsgId => msg.msg_id = value.trim().parse().ok()?,
        }
    }
}

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let raw = Arc::new(Raw::from_env()?);
    let addr = addr_from_env()?;
    let service = service_fn(move |req: Request<Incoming>| {
        let raw = Arc::clone(&raw);
        async move {
            Ok::<_, Infallible>(match raw.handle(req).await {
                Ok(res) => res,
                Err(Refusal(status, why)) => {
                    let mut res = Response::new(Full::new(Bytes::from_static(why.as_bytes())));
                    *res.status_mut() = status;
                    res
                }
            })
        }
    });
    serve("raw-pipeline", addr, service).await?;
    Ok(())
}
