//! Mini Program open data (开放数据): `encryptedData` decryption with its watermark checked, and
//! the `rawData` signature.
//!
//! APIs such as `wx.getUserInfo`, `wx.getWeRunData` or `wx.getShareInfo` hand the Mini Program
//! data it cannot read: `encryptedData` and `iv`, encrypted by WeChat with the user's
//! `session_key`, which only the server knows (from `jscode2session`). The server decrypts it:
//! AES-128-CBC, the key and IV base64-decoded from `session_key` and `iv` (16 bytes each),
//! PKCS#7 padding to 16-byte blocks. The plaintext is a UTF-8 JSON object whose
//! `watermark.appid` names the app the data was given to: [`decrypt`] checks it against yours
//! and exposes `watermark.timestamp`.
//!
//! ```
//! use wechat_core::miniprogram;
//! use wechat_core::secret::SessionKey;
//!
//! // The official sample (WXBizDataCrypt demo).
//! let session_key = SessionKey::new("tiihtNczf5v6AKRyjwEUhQ==");
//! let data = miniprogram::decrypt(&session_key, ENCRYPTED_DATA, "r7BXXKkLb8qrSNn05n0qiA==", "wx4f4bc4dec97d474b")?;
//! assert_eq!(data.watermark().timestamp, 1477314187);
//! assert!(data.json().starts_with(r#"{"openId":"oGZUI0egBJY1zhBYw2KhdUfwVJJE","nickName":"Band""#));
//!
//! // The same data is refused for another app.
//! let err = miniprogram::decrypt(&session_key, ENCRYPTED_DATA, "r7BXXKkLb8qrSNn05n0qiA==", "wx0000000000000000").unwrap_err();
//! assert_eq!(err.kind(), &wechat_core::ErrorKind::AppIdMismatch);
//!
//! // `rawData` comes with `signature` = sha1(rawData + session_key), the key as its base64 text.
//! let raw_data = r#"{"nickName":"Band","gender":1,"language":"zh_CN","city":"Guangzhou","province":"Guangdong","country":"CN","avatarUrl":"http://wx.qlogo.cn/mmopen/vi_32/1vZvI39NWFQ9XM4LtQpFrQJ1xlgZxx3w7bQxKARol6503Iuswjjn6nIGBiaycAjAtpujxyzYsrztuuICqIM5ibXQ/0"}"#;
//! let session_key = SessionKey::new("HyVFkGl5F5OQWJZZaNzBBg==");
//! assert!(miniprogram::verify_raw_data(raw_data, &session_key, "75e81ceda165f4ffa64f4068af58c64b8f54b88c"));
//! # const ENCRYPTED_DATA: &str = "CiyLU1Aw2KjvrjMdj8YKliAjtP4gsMZMQmRzooG2xrDcvSnxIMXFufNstNGTyaGS9uT5geRa0W4oTOb1WT7fJlAC+oNPdbB+3hVbJSRgv+4lGOETKUQz6OYStslQ142dNCuabNPGBzlooOmB231qMM85d2/fV6ChevvXvQP8Hkue1poOFtnEtpyxVLW1zAo6/1Xx1COxFvrc2d7UL/lmHInNlxuacJXwu0fjpXfz/YqYzBIBzD6WUfTIF9GRHpOn/Hz7saL8xz+W//FRAUid1OksQaQx4CMs8LOddcQhULW4ucetDf96JcR3g0gfRK4PC7E/r7Z6xNrXd2UIeorGj5Ef7b1pJAYB6Y5anaHqZ9J6nKEBvB4DnNLIVWSgARns/8wR2SiRS7MNACwTyrGvt9ts8p12PKFdlqYTopNHR1Vf7XjfhQlVsAJdNiKdYmYVoKlaRv85IfVunYzO0IKXsyl7JCUjCpoG20f0a04COwfneQAGGwd5oa+T8yO5hzuyDb/XcxxmK01EpqOyuxINew==";
//! # Ok::<(), wechat_core::Error>(())
//! ```
//!
//! # Security
//!
//! The scheme has no MAC: the watermark is the only integrity check. Errors are typed here so
//! that servers can log them, but a server should answer every decryption failure of
//! client-supplied data alike (same status, same body): telling a bad padding apart from a bad
//! JSON would be a padding oracle, with which a client could forge `encryptedData` that
//! decrypts to JSON of its choosing.

use aes::Aes128;
use aes::cipher::block_padding::Pkcs7;
use aes::cipher::{BlockDecryptMut, BlockEncryptMut, KeyIvInit};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize};
use sha1::{Digest, Sha1};
use zeroize::Zeroizing;

use crate::error::{Error, ErrorKind, Result};
use crate::secret::SessionKey;
use crate::signature::constant_time_eq;

/// Length of the AES-128 key decoded from a `session_key`, and of an `iv`.
pub const KEY_LEN: usize = 16;

/// The AES block size.
const BLOCK: usize = 16;

/// The 16-byte AES-128 key decoded from a user's `session_key`, ready to decrypt that user's
/// `encryptedData`.
///
/// Its `Debug` output is redacted and its bytes are zeroed on drop. See the
/// [module docs](self).
#[derive(Clone)]
pub struct SessionAesKey(Zeroizing<[u8; KEY_LEN]>);

impl SessionAesKey {
    /// Decodes a `session_key` as `jscode2session` returns it: base64 (with padding) of 16 bytes.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidSessionKey`] when it is not base64, or not of 16 bytes.
    pub fn parse(session_key: &str) -> Result<Self> {
        decode_16(session_key)
            .map(Self)
            .ok_or_else(|| ErrorKind::InvalidSessionKey.into())
    }

    /// A key from its 16 bytes.
    #[must_use]
    pub fn from_bytes(bytes: [u8; KEY_LEN]) -> Self {
        Self(Zeroizing::new(bytes))
    }

    /// The key bytes.
    ///
    /// # Security Warning
    ///
    /// Never log or send these bytes.
    #[must_use]
    pub fn expose(&self) -> &[u8; KEY_LEN] {
        &self.0
    }

    /// Decrypts `encryptedData` with `iv` (both base64, as the Mini Program sends them), checks
    /// that the plaintext is a JSON object whose `watermark.appid` is `appid`, and returns it.
    ///
    /// # Errors
    ///
    /// Those of [`SessionAesKey::decrypt_raw`], then [`ErrorKind::InvalidUtf8`],
    /// [`ErrorKind::InvalidJson`] (not a JSON object), [`ErrorKind::MissingField`]`("watermark")`,
    /// [`ErrorKind::InvalidField`]`("watermark")` (not `{appid: string, timestamp: integer}`),
    /// and [`ErrorKind::AppIdMismatch`].
    pub fn decrypt(&self, encrypted_data: &str, iv: &str, appid: &str) -> Result<DecryptedData> {
        let plaintext = self.decrypt_raw(encrypted_data, iv)?;
        let json = String::from_utf8(plaintext).map_err(|_| Error::from(ErrorKind::InvalidUtf8))?;
        let watermark = read_watermark(&json)?;
        if !constant_time_eq(watermark.appid.as_bytes(), appid.as_bytes()) {
            return Err(ErrorKind::AppIdMismatch.into());
        }
        Ok(DecryptedData { json, watermark })
    }

    /// Decrypts `encryptedData` with `iv` (both base64) and removes the padding; nothing about
    /// the plaintext is checked.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidIv`] when `iv` is not base64 of 16 bytes, [`ErrorKind::InvalidBase64`]
    /// when `encrypted_data` is not base64, [`ErrorKind::InvalidCiphertext`] when it is empty or
    /// not whole 16-byte blocks, [`ErrorKind::InvalidPadding`] when the PKCS#7 padding is wrong
    /// (the usual sign of a wrong key or a forged ciphertext).
    pub fn decrypt_raw(&self, encrypted_data: &str, iv: &str) -> Result<Vec<u8>> {
        let iv = decode_16(iv).ok_or(ErrorKind::InvalidIv)?;
        let mut buf = STANDARD
            .decode(encrypted_data)
            .map_err(|_| Error::from(ErrorKind::InvalidBase64))?;
        if buf.is_empty() || !buf.len().is_multiple_of(BLOCK) {
            return Err(ErrorKind::InvalidCiphertext.into());
        }
        let len = cbc::Decryptor::<Aes128>::new(self.expose().into(), iv.as_ref().into())
            .decrypt_padded_mut::<Pkcs7>(&mut buf)
            .map_err(|_| Error::from(ErrorKind::InvalidPadding))?
            .len();
        buf.truncate(len);
        Ok(buf)
    }

    /// Encrypts `plaintext` as WeChat does (AES-128-CBC, PKCS#7) and returns it as base64: the
    /// other side of [`SessionAesKey::decrypt_raw`], for tests and mock servers. A server never
    /// needs it.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidIv`] when `iv` is not base64 of 16 bytes.
    pub fn encrypt(&self, iv: &str, plaintext: &[u8]) -> Result<String> {
        let iv = decode_16(iv).ok_or(ErrorKind::InvalidIv)?;
        let len = plaintext.len();
        let mut buf = Vec::with_capacity(len + BLOCK);
        buf.extend_from_slice(plaintext);
        buf.resize(len + BLOCK - len % BLOCK, 0);
        // The buffer has room for the padding, so encryption cannot fail.
        let ciphertext = cbc::Encryptor::<Aes128>::new(self.expose().into(), iv.as_ref().into())
            .encrypt_padded_mut::<Pkcs7>(&mut buf, len)
            .map_err(|_| Error::from(ErrorKind::InvalidCiphertext))?;
        Ok(STANDARD.encode(ciphertext))
    }
}

impl std::fmt::Debug for SessionAesKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SessionAesKey([redacted])")
    }
}

impl SessionKey {
    /// The AES-128 key of this `session_key`, to decrypt the user's `encryptedData`.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidSessionKey`] when it is not base64 of 16 bytes.
    pub fn aes_key(&self) -> Result<SessionAesKey> {
        SessionAesKey::parse(self.expose())
    }
}

/// Which app a piece of open data was given to, and when (`watermark`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Watermark {
    /// Unix seconds at which WeChat produced the data.
    pub timestamp: u64,
    /// The app id the data is for.
    pub appid: String,
}

/// Decrypted open data whose watermark names your app: the JSON text exactly as WeChat wrote it,
/// and its [`Watermark`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecryptedData {
    json: String,
    watermark: Watermark,
}

impl DecryptedData {
    /// The JSON object as WeChat wrote it (watermark included).
    #[must_use]
    pub fn json(&self) -> &str {
        &self.json
    }

    /// The JSON text, owned.
    #[must_use]
    pub fn into_json(self) -> String {
        self.json
    }

    /// The checked watermark.
    #[must_use]
    pub fn watermark(&self) -> &Watermark {
        &self.watermark
    }

    /// `watermark.timestamp`: Unix seconds at which WeChat produced the data. Data older than
    /// your login session (or than a few minutes) may be a replay of an old `encryptedData`.
    #[must_use]
    pub fn timestamp(&self) -> u64 {
        self.watermark.timestamp
    }

    /// The JSON as a type of yours (unknown fields are ignored by serde's default).
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidJson`] when it does not fit `T`.
    pub fn deserialize<'de, T: Deserialize<'de>>(&'de self) -> Result<T> {
        serde_json::from_str(&self.json).map_err(|_| ErrorKind::InvalidJson.into())
    }
}

/// Decrypts a user's `encryptedData` with their `session_key` and checks its watermark against
/// `appid`: [`SessionKey::aes_key`] then [`SessionAesKey::decrypt`]. See the
/// [module docs](self).
///
/// # Errors
///
/// [`ErrorKind::InvalidSessionKey`], then those of [`SessionAesKey::decrypt`].
pub fn decrypt(
    session_key: &SessionKey,
    encrypted_data: &str,
    iv: &str,
    appid: &str,
) -> Result<DecryptedData> {
    session_key.aes_key()?.decrypt(encrypted_data, iv, appid)
}

/// The `signature` of `rawData`: lowercase hex SHA-1 of `rawData` followed by the `session_key`
/// as its base64 text (not decoded).
#[must_use]
pub fn sign_raw_data(raw_data: &str, session_key: &SessionKey) -> String {
    raw_data_hex(raw_data, session_key)
        .iter()
        .map(|&b| char::from(b))
        .collect()
}

/// Checks the `signature` that comes with `rawData`, in constant time (case-sensitive: WeChat
/// sends lowercase hex).
#[must_use]
pub fn verify_raw_data(raw_data: &str, session_key: &SessionKey, signature: &str) -> bool {
    constant_time_eq(signature.as_bytes(), &raw_data_hex(raw_data, session_key))
}

fn raw_data_hex(raw_data: &str, session_key: &SessionKey) -> [u8; 40] {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut hasher = Sha1::new();
    hasher.update(raw_data.as_bytes());
    hasher.update(session_key.expose().as_bytes());
    let digest: [u8; 20] = hasher.finalize().into();
    let mut out = [0u8; 40];
    for (i, byte) in digest.iter().enumerate() {
        out[2 * i] = DIGITS[usize::from(byte >> 4)];
        out[2 * i + 1] = DIGITS[usize::from(byte & 0x0f)];
    }
    out
}

/// Strict base64 of exactly 16 bytes (24 characters with `==`).
fn decode_16(b64: &str) -> Option<Zeroizing<[u8; KEY_LEN]>> {
    // Base64 of 16 bytes is 24 characters; anything longer cannot fit, and checking first keeps
    // the decoder from writing past the buffer.
    if b64.len() != 24 {
        return None;
    }
    let mut out = Zeroizing::new([0u8; KEY_LEN]);
    match STANDARD.decode_slice(b64, &mut out[..]) {
        Ok(KEY_LEN) => Some(out),
        _ => None,
    }
}

/// The first pass over the plaintext: only `watermark` is read; every other field is skipped.
#[derive(Deserialize)]
struct Envelope {
    watermark: Option<serde_json::Value>,
}

fn read_watermark(json: &str) -> Result<Watermark> {
    // serde would also read a struct from a JSON array; WeChat's data is always an object.
    if json.trim_start().as_bytes().first() != Some(&b'{') {
        return Err(ErrorKind::InvalidJson.into());
    }
    let envelope: Envelope =
        serde_json::from_str(json).map_err(|_| Error::from(ErrorKind::InvalidJson))?;
    let watermark = envelope
        .watermark
        .ok_or(ErrorKind::MissingField("watermark"))?;
    Watermark::deserialize(watermark).map_err(|_| ErrorKind::InvalidField("watermark").into())
}

#[cfg(test)]
mod tests {
    use super::*;

    const IV: &str = "r7BXXKkLb8qrSNn05n0qiA==";

    fn key() -> SessionAesKey {
        SessionAesKey::parse("tiihtNczf5v6AKRyjwEUhQ==").unwrap()
    }

    fn encrypt_json(json: &str) -> String {
        key().encrypt(IV, json.as_bytes()).unwrap()
    }

    fn kind(result: Result<DecryptedData>) -> ErrorKind {
        result.unwrap_err().into_kind()
    }

    #[test]
    fn round_trips_and_checks_the_watermark() {
        let json = r#"{"a":1,"watermark":{"timestamp":1700000000,"appid":"wxapp"}}"#;
        let data = key().decrypt(&encrypt_json(json), IV, "wxapp").unwrap();
        assert_eq!(data.json(), json);
        assert_eq!(data.timestamp(), 1_700_000_000);
        assert_eq!(data.watermark().appid, "wxapp");
        assert_eq!(
            kind(key().decrypt(&encrypt_json(json), IV, "wxother")),
            ErrorKind::AppIdMismatch
        );
    }

    #[test]
    fn refuses_plaintexts_that_are_not_watermarked_objects() {
        let cases = [
            ("[1,2]", ErrorKind::InvalidJson),
            (
                r#"[{"timestamp":1,"appid":"wxapp"}]"#,
                ErrorKind::InvalidJson,
            ),
            ("{", ErrorKind::InvalidJson),
            ("", ErrorKind::InvalidJson),
            ("{}", ErrorKind::MissingField("watermark")),
            (
                r#"{"watermark":{"appid":"wxapp"}}"#,
                ErrorKind::InvalidField("watermark"),
            ),
            (
                r#"{"watermark":{"appid":1,"timestamp":1}}"#,
                ErrorKind::InvalidField("watermark"),
            ),
            (
                r#"{"watermark":{"appid":"wxapp","timestamp":1},"watermark":{"appid":"wxapp","timestamp":2}}"#,
                ErrorKind::InvalidJson,
            ),
        ];
        for (json, expected) in cases {
            assert_eq!(
                kind(key().decrypt(&encrypt_json(json), IV, "wxapp")),
                expected,
                "{json}"
            );
        }
        let not_utf8 = key().encrypt(IV, &[b'{', 0xff, b'}']).unwrap();
        assert_eq!(
            kind(key().decrypt(&not_utf8, IV, "wxapp")),
            ErrorKind::InvalidUtf8
        );
    }

    #[test]
    fn typed_errors_for_bad_inputs() {
        assert_eq!(
            SessionAesKey::parse("not base64!!!!!!!!!!!!!!")
                .unwrap_err()
                .into_kind(),
            ErrorKind::InvalidSessionKey
        );
        // 15 bytes, 17 bytes, 16 bytes without padding, 18 bytes.
        for bad in [
            "AAAAAAAAAAAAAAAAAAAA",
            "AAAAAAAAAAAAAAAAAAAAAAA=",
            "AAAAAAAAAAAAAAAAAAAAAA",
            "AAAAAAAAAAAAAAAAAAAAAAAA",
        ] {
            assert_eq!(
                SessionAesKey::parse(bad).unwrap_err().into_kind(),
                ErrorKind::InvalidSessionKey,
                "{bad}"
            );
        }
        assert!(SessionAesKey::parse("AAAAAAAAAAAAAAAAAAAAAA==").is_ok());
        let k = key();
        let data = encrypt_json("{}");
        assert_eq!(kind(k.decrypt(&data, "short", "a")), ErrorKind::InvalidIv);
        assert_eq!(kind(k.decrypt("***", IV, "a")), ErrorKind::InvalidBase64);
        assert_eq!(kind(k.decrypt("", IV, "a")), ErrorKind::InvalidCiphertext);
        assert_eq!(
            kind(k.decrypt("AAAA", IV, "a")),
            ErrorKind::InvalidCiphertext
        );
        // The right ciphertext under another key: the padding does not check out (or, rarely,
        // the plaintext is garbage).
        let other = SessionAesKey::from_bytes([7; KEY_LEN]);
        let err = kind(other.decrypt(&data, IV, "a"));
        assert!(
            matches!(
                err,
                ErrorKind::InvalidPadding | ErrorKind::InvalidUtf8 | ErrorKind::InvalidJson
            ),
            "{err:?}"
        );
        assert!(k.encrypt("bad", b"x").is_err());
    }

    #[test]
    fn raw_data_signature_is_case_sensitive_and_exact() {
        let sk = SessionKey::new("HyVFkGl5F5OQWJZZaNzBBg==");
        let sig = sign_raw_data("{}", &sk);
        assert_eq!(sig.len(), 40);
        assert!(verify_raw_data("{}", &sk, &sig));
        assert!(!verify_raw_data("{} ", &sk, &sig));
        assert!(!verify_raw_data("{}", &sk, &sig.to_ascii_uppercase()));
        assert!(!verify_raw_data("{}", &sk, &sig[..39]));
        assert!(!verify_raw_data("{}", &SessionKey::new("x"), &sig));
    }

    #[test]
    fn key_debug_is_redacted() {
        assert_eq!(format!("{:?}", key()), "SessionAesKey([redacted])");
        assert_eq!(
            format!("{:?}", SessionKey::new("tiihtNczf5v6AKRyjwEUhQ==")),
            "SessionKey([redacted])"
        );
    }
}
