//! Safe mode (安全模式): WeChat's message encryption, byte-compatible with its WXBizMsgCrypt
//! samples.
//!
//! A payload is `random(16) ‖ u32be(len) ‖ message ‖ appid`, padded with PKCS#7 to 32-byte
//! blocks, encrypted with AES-256-CBC (key from the EncodingAESKey, IV = its first 16 bytes) and
//! sent as base64 in `<Encrypt>`, signed by `msg_signature` = SHA-1 of the sorted token,
//! timestamp, nonce and `Encrypt`.
//!
//! ```
//! use wechat_core::MsgCrypt;
//!
//! // The official sample of WeChat's safe-mode docs.
//! let crypt = MsgCrypt::new("spamtest", "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG", "wx2c2769f8efd9abc2")?;
//! let body = "<xml><ToUserName><![CDATA[gh_10f6c3c3ac5a]]></ToUserName><FromUserName><![CDATA[oyORnuP8q7ou2gfYjqLzSIWZf0rs]]></FromUserName><CreateTime>1409735668</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[abcdteT]]></Content><MsgId>6054768590064713728</MsgId><Encrypt><![CDATA[hyzAe4OzmOMbd6TvGdIOO6uBmdJoD0Fk53REIHvxYtJlE2B655HuD0m8KUePWB3+LrPXo87wzQ1QLvbeUgmBM4x6F8PGHQHFVAFmOD2LdJF9FrXpbUAh0B5GIItb52sn896wVsMSHGuPE328HnRGBcrS7C41IzDWyWNlZkyyXwon8T332jisa+h6tEDYsVticbSnyU8dKOIbgU6ux5VTjg3yt+WGzjlpKn6NPhRjpA912xMezR4kw6KWwMrCVKSVCZciVGCgavjIQ6X8tCOp3yZbGpy0VxpAe+77TszTfRd5RJSVO/HTnifJpXgCSUdUue1v6h0EIBYYI1BD1DlD+C0CR8e6OewpusjZ4uBl9FyJvnhvQl+q5rv1ixrcpCumEPo5MJSgM9ehVsNPfUM669WuMyVWQLCzpu9GhglF2PE=]]></Encrypt></xml>";
//! let xml = crypt.decrypt_message("5d197aaffba7e9b25a30732f161a50dee96bd5fa", "1409735669", "1320562132", body.as_bytes())?;
//! assert!(xml.contains("<Content><![CDATA[abcdteT]]></Content>"));
//!
//! // A reply goes back encrypted and signed; WeChat (here: the same object) can read it.
//! let envelope = crypt.encrypt_message("<xml><Content>ok</Content></xml>", "1409735670", "42")?;
//! let sig = wechat_core::xml::Document::parse(&envelope)?.root().child_text("MsgSignature").unwrap().to_owned();
//! assert_eq!(crypt.decrypt_message(&sig, "1409735670", "42", envelope.as_bytes())?, "<xml><Content>ok</Content></xml>");
//! # Ok::<(), wechat_core::Error>(())
//! ```

mod key;
mod pkcs7;
mod random;

use aes::cipher::block_padding::NoPadding;
use aes::cipher::{BlockDecryptMut, BlockEncryptMut, InnerIvInit, KeyInit};
use aes::{Aes256Dec, Aes256Enc};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;

pub use key::{AesKey, ENCODING_AES_KEY_LEN};
pub use random::nonce;

use crate::error::{Error, ErrorKind, Result};
use crate::secret::Token;
use crate::signature;
use crate::xml::{Document, push_cdata_element};

/// The AES block size.
const AES_BLOCK: usize = 16;

/// Length of the random prefix of every payload.
pub const RANDOM_LEN: usize = 16;

/// The safe-mode codec of one app: token, AES key and app id (receive id), prepared once.
///
/// Cheap to share (`Arc`) and immutable; every method takes `&self`. Its `Debug` shows only the
/// app id.
#[derive(Clone)]
pub struct MsgCrypt {
    token: Token,
    key: AesKey,
    /// The key schedules, one per direction: a call clones only the one it needs (the cbc
    /// modes take their cipher by value).
    encryptor: Aes256Enc,
    decryptor: Aes256Dec,
    appid: String,
}

impl MsgCrypt {
    /// Prepares the codec for one app.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidAesKey`] when `encoding_aes_key` is not 43 base64 characters.
    pub fn new(token: &str, encoding_aes_key: &str, appid: &str) -> Result<Self> {
        let key = AesKey::parse(encoding_aes_key)?;
        let encryptor = Aes256Enc::new(key.expose().into());
        let decryptor = Aes256Dec::from(&encryptor);
        Ok(Self {
            token: Token::new(token),
            key,
            encryptor,
            decryptor,
            appid: appid.to_owned(),
        })
    }

    /// The app id (receive id) this codec checks and writes.
    #[must_use]
    pub fn app_id(&self) -> &str {
        &self.appid
    }

    /// The `msg_signature` of an `Encrypt` value.
    #[must_use]
    pub fn signature(&self, timestamp: &str, nonce: &str, encrypt: &str) -> String {
        signature::sign(&[self.token.expose(), timestamp, nonce, encrypt])
    }

    /// Reads the envelope WeChat POSTs (`<xml><ToUserName/><Encrypt/></xml>`), checks
    /// `msg_signature`, decrypts, checks the app id, and returns the inner XML.
    ///
    /// # Errors
    ///
    /// XML errors for a malformed envelope, [`ErrorKind::MissingField`] without `Encrypt`, and
    /// every error of [`MsgCrypt::verify_and_decrypt`].
    pub fn decrypt_message(
        &self,
        msg_signature: &str,
        timestamp: &str,
        nonce: &str,
        body: &[u8],
    ) -> Result<String> {
        let doc = Document::parse_bytes(body)?;
        let encrypt = doc
            .root()
            .child_text("Encrypt")
            .ok_or(ErrorKind::MissingField("Encrypt"))?;
        self.verify_and_decrypt(msg_signature, timestamp, nonce, encrypt)
    }

    /// Checks `msg_signature` over an `Encrypt` value taken from any envelope (XML or the JSON
    /// of Mini Program message push), then decrypts it and checks the app id.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidSignature`] first, then every error of [`MsgCrypt::decrypt`].
    pub fn verify_and_decrypt(
        &self,
        msg_signature: &str,
        timestamp: &str,
        nonce: &str,
        encrypt: &str,
    ) -> Result<String> {
        if !signature::verify(
            msg_signature,
            &[self.token.expose(), timestamp, nonce, encrypt],
        ) {
            return Err(ErrorKind::InvalidSignature.into());
        }
        self.decrypt(encrypt)
    }

    /// Encrypts a reply and wraps it in the envelope WeChat expects, with a fresh random prefix
    /// from the OS CSPRNG:
    /// `<xml><Encrypt/><MsgSignature/><TimeStamp/><Nonce/></xml>`.
    ///
    /// `timestamp` is in seconds (at most 10 digits: a millisecond timestamp breaks clients).
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidTimestamp`] for a timestamp that is not 1 to 10 digits.
    pub fn encrypt_message(&self, reply_xml: &str, timestamp: &str, nonce: &str) -> Result<String> {
        self.encrypt_message_with_random(reply_xml, timestamp, nonce, &random::prefix())
    }

    /// [`MsgCrypt::encrypt_message`] with a given random prefix, so tests are deterministic.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidTimestamp`] for a timestamp that is not 1 to 10 digits.
    pub fn encrypt_message_with_random(
        &self,
        reply_xml: &str,
        timestamp: &str,
        nonce: &str,
        random: &[u8; RANDOM_LEN],
    ) -> Result<String> {
        if timestamp.is_empty()
            || timestamp.len() > 10
            || !timestamp.bytes().all(|b| b.is_ascii_digit())
        {
            return Err(ErrorKind::InvalidTimestamp.into());
        }
        let ciphertext = self.encrypt_bytes(reply_xml.as_bytes(), random);
        let b64_len = ciphertext.len().div_ceil(3) * 4;
        let mut out = String::with_capacity(b64_len + nonce.len() + 160);
        out.push_str("<xml>\n<Encrypt><![CDATA[");
        let start = out.len();
        STANDARD.encode_string(&ciphertext, &mut out);
        let sig = signature::sign_hex(&[self.token.expose(), timestamp, nonce, &out[start..]]);
        out.push_str("]]></Encrypt>\n<MsgSignature><![CDATA[");
        // The signature is ASCII hex.
        out.extend(sig.iter().map(|&b| char::from(b)));
        out.push_str("]]></MsgSignature>\n<TimeStamp>");
        out.push_str(timestamp);
        out.push_str("</TimeStamp>\n");
        push_cdata_element(&mut out, "Nonce", nonce);
        out.push_str("</xml>");
        Ok(out)
    }

    /// Encrypts one payload to base64 (the `Encrypt` value) with a fresh random prefix.
    #[must_use]
    pub fn encrypt(&self, plaintext: &str) -> String {
        self.encrypt_with_random(plaintext, &random::prefix())
    }

    /// [`MsgCrypt::encrypt`] with a given random prefix, so tests are deterministic.
    #[must_use]
    pub fn encrypt_with_random(&self, plaintext: &str, random: &[u8; RANDOM_LEN]) -> String {
        STANDARD.encode(self.encrypt_bytes(plaintext.as_bytes(), random))
    }

    /// Decrypts one base64 payload (an `Encrypt` value, or an encrypted `echostr`) and checks that
    /// it names this app id. Does not check any signature.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidBase64`], [`ErrorKind::InvalidCiphertext`],
    /// [`ErrorKind::InvalidPadding`], [`ErrorKind::InvalidLength`],
    /// [`ErrorKind::AppIdMismatch`] or [`ErrorKind::InvalidUtf8`].
    pub fn decrypt(&self, encrypt: &str) -> Result<String> {
        let mut buf = STANDARD
            .decode(encrypt)
            .map_err(|_| Error::from(ErrorKind::InvalidBase64))?;
        // WeChat pads to 32 bytes, but the official decryptors accept any whole number of AES
        // blocks; so do we.
        if buf.is_empty() || !buf.len().is_multiple_of(AES_BLOCK) {
            return Err(ErrorKind::InvalidCiphertext.into());
        }
        cbc::Decryptor::<Aes256Dec>::inner_iv_init(self.decryptor.clone(), &self.key.iv().into())
            .decrypt_padded_mut::<NoPadding>(&mut buf)
            .map_err(|_| Error::from(ErrorKind::InvalidCiphertext))?;
        let content_len = pkcs7::unpadded_len(&buf)?;
        let content = &buf[..content_len];
        let Some(len_bytes) = content.get(RANDOM_LEN..RANDOM_LEN + 4) else {
            return Err(ErrorKind::InvalidLength.into());
        };
        let msg_len = u32::from_be_bytes([len_bytes[0], len_bytes[1], len_bytes[2], len_bytes[3]]);
        let msg_start = RANDOM_LEN + 4;
        let msg_end = usize::try_from(msg_len)
            .ok()
            .and_then(|len| msg_start.checked_add(len))
            .filter(|&end| end <= content_len)
            .ok_or(ErrorKind::InvalidLength)?;
        if !signature::constant_time_eq(&content[msg_end..], self.appid.as_bytes()) {
            return Err(ErrorKind::AppIdMismatch.into());
        }
        buf.truncate(msg_end);
        buf.drain(..msg_start);
        String::from_utf8(buf).map_err(|_| ErrorKind::InvalidUtf8.into())
    }

    fn encrypt_bytes(&self, msg: &[u8], random: &[u8; RANDOM_LEN]) -> Vec<u8> {
        let unpadded = RANDOM_LEN + 4 + msg.len() + self.appid.len();
        let mut buf = Vec::with_capacity(unpadded + pkcs7::BLOCK);
        buf.extend_from_slice(random);
        // A message longer than 4 GiB cannot reach here: bodies are capped far below that.
        let msg_len = u32::try_from(msg.len()).unwrap_or(u32::MAX);
        buf.extend_from_slice(&msg_len.to_be_bytes());
        buf.extend_from_slice(msg);
        buf.extend_from_slice(self.appid.as_bytes());
        pkcs7::pad(&mut buf);
        let len = buf.len();
        // The buffer is padded to whole blocks, so encryption without padding cannot fail.
        let _ = cbc::Encryptor::<Aes256Enc>::inner_iv_init(
            self.encryptor.clone(),
            &self.key.iv().into(),
        )
        .encrypt_padded_mut::<NoPadding>(&mut buf, len);
        buf
    }
}

impl std::fmt::Debug for MsgCrypt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MsgCrypt")
            .field("token", &self.token)
            .field("key", &self.key)
            .field("appid", &self.appid)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG";

    fn crypt() -> MsgCrypt {
        MsgCrypt::new("token", KEY, "wx0123456789abcdef").unwrap()
    }

    #[test]
    fn round_trips_a_payload() {
        let c = crypt();
        let enc = c.encrypt("<xml>你好</xml>");
        assert_eq!(c.decrypt(&enc).unwrap(), "<xml>你好</xml>");
    }

    #[test]
    fn fresh_random_differs_between_calls() {
        let c = crypt();
        assert_ne!(c.encrypt("x"), c.encrypt("x"));
    }

    #[test]
    fn rejects_another_appid() {
        let other = MsgCrypt::new("token", KEY, "wxother").unwrap();
        let enc = crypt().encrypt("hi");
        assert_eq!(
            other.decrypt(&enc).unwrap_err().kind(),
            &ErrorKind::AppIdMismatch
        );
    }

    #[test]
    fn rejects_garbage() {
        let c = crypt();
        assert_eq!(
            c.decrypt("!!!").unwrap_err().kind(),
            &ErrorKind::InvalidBase64
        );
        assert_eq!(
            c.decrypt("").unwrap_err().kind(),
            &ErrorKind::InvalidCiphertext
        );
        assert_eq!(
            c.decrypt("AAAA").unwrap_err().kind(),
            &ErrorKind::InvalidCiphertext
        );
        let zeros = STANDARD.encode([0u8; 32]);
        assert!(c.decrypt(&zeros).is_err());
    }

    #[test]
    fn refuses_millisecond_timestamps() {
        let err = crypt()
            .encrypt_message("<xml/>", "1700000000000", "n")
            .unwrap_err();
        assert_eq!(err.kind(), &ErrorKind::InvalidTimestamp);
    }

    #[test]
    fn debug_hides_token_and_key() {
        let debug = format!("{:?}", crypt());
        assert!(debug.contains("Token([redacted])"), "{debug}");
        assert!(debug.contains("AesKey([redacted])"), "{debug}");
        assert!(!debug.contains("token\""), "{debug}");
    }
}
