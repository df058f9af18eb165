//! Mini Program open data (开放数据): `encryptedData` decryption with its watermark checked, and
//! the `rawData` signature.
//!
//! APIs such as `wx.getUserInfo`, `wx.getWeRunData` or `wx.getShareInfo` hand the Mini Program
//! data it cannot read: `encryptedData` and `iv`, encrypted by WeChat with the user's
//! `session_key`, which only the server knows (from `jscode2session`). The server decrypts it:
//! AES-128-CBC, the key and IV base64-decoded from `session_key` and `iv` (16 bytes each),
//! PKCS#7 padding to 16-byte blocks. The plaintext is a UTF-8 JSON object whose
//! `watermark.appid` names the app the data was given to: [`decrypt`] checks it against yours
//! and exposes `watermark.timestamp`, and the user it names, when it names one
//! ([`DecryptedData::open_id`], [`DecryptedData::union_id`]), which must be the session's user
//! (see [Security](#security)).
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
//! // Whose data it is: compare with the session's user (`UserSession::decrypt` does).
//! assert_eq!(data.open_id(), Some("oGZUI0egBJY1zhBYw2KhdUfwVJJE"));
//! assert_eq!(data.union_id(), Some("ocMvos6NjeKLIBqg5Mr9QjxrP1FA"));
//! data.verify_identity("oGZUI0egBJY1zhBYw2KhdUfwVJJE", Some("ocMvos6NjeKLIBqg5Mr9QjxrP1FA"))?;
//! let err = data.verify_identity("oAnotherUser", None).unwrap_err();
//! assert_eq!(err.kind(), &wechat_core::ErrorKind::IdentityMismatch);
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
//! The data has no integrity of its own: AES-CBC has no MAC, and the Mini Program (so whoever
//! holds a session) chooses the `iv`. A user who knows one block of the plaintext of their own
//! data (a block inside their own nickName will do; a server that shows the data back tells
//! them the rest) can drop the blocks before it and pick the IV that turns it into any 16 bytes
//! of their choice, every later block (the watermark included) decrypting as before: with
//! `C[-1] = IV` and `P[i] = D(C[i]) ^ C[i-1]`, sending `C[b], C[b+1], …` with
//! `IV' = C[b-1] ^ P[b] ^ P'` makes the first block `P'`. A nickName that ends with another
//! user's openid on a block boundary thus becomes `{"openId":"<victim>",…` under the
//! attacker's own session key, with valid padding and your app's watermark. All there is to
//! rely on:
//!
//! - the watermark: [`decrypt`] refuses data given to another app
//!   ([`ErrorKind::AppIdMismatch`]);
//! - the identity: the `openId` (and `unionId`) the data names must be the session's user.
//!   [`decrypt`] does **not** check it (it does not know the session): the session-level API,
//!   `wechat_tower::session::UserSession::decrypt`, does; without it, call
//!   [`DecryptedData::verify_identity`] with the session's ids. So that every JSON parser reads
//!   the same identity, data that repeats `openId`, `unionId` or `watermark` is refused
//!   ([`ErrorKind::InvalidJson`]), and so is an `openId` or `unionId` that is not a string
//!   ([`ErrorKind::InvalidField`]).
//!
//! Data that names no user (the legacy phone-number payload, WeRun steps, share info) passes
//! the identity check, and its own user can forge it the same way (a first block of their
//! choice, then any block-aligned tail of their own data): trust nothing in it that a user
//! gains by lying about. Phone numbers, for one, come from the server-side
//! `getuserphonenumber` call with the button's `code`.
//!
//! Errors are typed here so that servers can log them, but a server should answer every
//! decryption failure of client-supplied data alike (same status, same body): telling a bad
//! padding apart from a bad JSON would be a padding oracle, with which a client could forge
//! `encryptedData` that decrypts to JSON of its choosing, every block of it.

use aes::Aes128;
use aes::cipher::block_padding::Pkcs7;
use aes::cipher::{BlockDecryptMut, BlockEncryptMut, KeyIvInit};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::de::{self, IgnoredAny, MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;
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
    /// It does **not** check whose data it is: see [`decrypt`] and the
    /// [security note](self#security).
    ///
    /// # Errors
    ///
    /// Those of [`SessionAesKey::decrypt_raw`], then [`ErrorKind::InvalidUtf8`],
    /// [`ErrorKind::InvalidJson`] (not a JSON object, or a repeated `openId`, `unionId` or
    /// `watermark` key), [`ErrorKind::MissingField`]`("watermark")`,
    /// [`ErrorKind::InvalidField`]`("watermark")` (not `{appid: string, timestamp: integer}`),
    /// [`ErrorKind::InvalidField`]`("openId")` or `("unionId")` (present but not a string), and
    /// [`ErrorKind::AppIdMismatch`].
    pub fn decrypt(&self, encrypted_data: &str, iv: &str, appid: &str) -> Result<DecryptedData> {
        let plaintext = self.decrypt_raw(encrypted_data, iv)?;
        let json = String::from_utf8(plaintext).map_err(|_| Error::from(ErrorKind::InvalidUtf8))?;
        let Fields {
            watermark,
            open_id,
            union_id,
        } = read_fields(&json)?;
        if !constant_time_eq(watermark.appid.as_bytes(), appid.as_bytes()) {
            return Err(ErrorKind::AppIdMismatch.into());
        }
        Ok(DecryptedData {
            json,
            watermark,
            open_id,
            union_id,
        })
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
/// its [`Watermark`], and the user it names, if any.
///
/// Which payloads name a user: user info (`wx.getUserInfo`, `wx.getUserProfile`) carries
/// `openId`, and `unionId` when the Mini Program is bound to an Open Platform account; the
/// legacy phone-number payload (`{phoneNumber, purePhoneNumber, countryCode, watermark}`),
/// WeRun data (`{stepInfoList, watermark}`) and share info (`{openGId, watermark}`, a group)
/// carry none. See the [module docs](self#security) for why the ids must be checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecryptedData {
    json: String,
    watermark: Watermark,
    open_id: Option<String>,
    union_id: Option<String>,
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

    /// The top-level `openId`: the user the data names, when it names one. Not checked against
    /// anything by [`decrypt`]: see [`DecryptedData::verify_identity`].
    #[must_use]
    pub fn open_id(&self) -> Option<&str> {
        self.open_id.as_deref()
    }

    /// The top-level `unionId`, when the data carries one (Mini Programs bound to an Open
    /// Platform account). Not checked by [`decrypt`] either.
    #[must_use]
    pub fn union_id(&self) -> Option<&str> {
        self.union_id.as_deref()
    }

    /// Checks that the data is for the session's user (`openid`, and `unionid` when the session
    /// has one), in constant time:
    ///
    /// - an `openId` must be `openid`;
    /// - a `unionId` must be `unionid`; when the session has none, a `unionId` is accepted only
    ///   next to a matching `openId` (WeChat writes them together; alone, it is vouched for by
    ///   nothing a forger cannot choose).
    ///
    /// Data that names no user (see [`DecryptedData`]) passes: there is nothing to compare.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::IdentityMismatch`].
    pub fn verify_identity(&self, openid: &str, unionid: Option<&str>) -> Result<()> {
        let open_id_ok = self
            .open_id
            .as_deref()
            .is_none_or(|id| constant_time_eq(id.as_bytes(), openid.as_bytes()));
        let union_id_ok = match (self.union_id.as_deref(), unionid) {
            (None, _) => true,
            (Some(id), Some(unionid)) => constant_time_eq(id.as_bytes(), unionid.as_bytes()),
            (Some(_), None) => self.open_id.is_some(),
        };
        if open_id_ok && union_id_ok {
            Ok(())
        } else {
            Err(ErrorKind::IdentityMismatch.into())
        }
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
/// This is the low-level primitive: it does **not** check that the data is for the user whose
/// session key decrypted it, and a user can forge data naming another user that passes every
/// check here (see [Security](self#security)). Servers use
/// `wechat_tower::session::UserSession::decrypt`, which does, or call
/// [`DecryptedData::verify_identity`] with the session's ids before trusting
/// [`DecryptedData::open_id`].
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

/// What the first pass reads from the plaintext.
struct Fields {
    watermark: Watermark,
    open_id: Option<String>,
    union_id: Option<String>,
}

/// The first pass over the plaintext: `openId`, `unionId` and `watermark` are kept as they are
/// (each at most once), every other value is skipped without being built.
#[derive(Default)]
struct Envelope {
    open_id: Option<Value>,
    union_id: Option<Value>,
    watermark: Option<Value>,
}

/// The keys the first pass keeps (compared after JSON unescaping, as every parser reads them).
enum Key {
    OpenId,
    UnionId,
    Watermark,
    Other,
}

impl<'de> Deserialize<'de> for Key {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct KeyVisitor;

        impl Visitor<'_> for KeyVisitor {
            type Value = Key;

            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a key")
            }

            fn visit_str<E: de::Error>(self, key: &str) -> Result<Key, E> {
                Ok(match key {
                    "openId" => Key::OpenId,
                    "unionId" => Key::UnionId,
                    "watermark" => Key::Watermark,
                    _ => Key::Other,
                })
            }
        }

        deserializer.deserialize_identifier(KeyVisitor)
    }
}

impl<'de> Deserialize<'de> for Envelope {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct EnvelopeVisitor;

        impl<'de> Visitor<'de> for EnvelopeVisitor {
            type Value = Envelope;

            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a JSON object")
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Envelope, A::Error> {
                let mut envelope = Envelope::default();
                while let Some(key) = map.next_key()? {
                    let slot = match key {
                        Key::OpenId => &mut envelope.open_id,
                        Key::UnionId => &mut envelope.union_id,
                        Key::Watermark => &mut envelope.watermark,
                        Key::Other => {
                            map.next_value::<IgnoredAny>()?;
                            continue;
                        }
                    };
                    // A repeated key lets two parsers disagree on whose data it is
                    // (`serde_json::Value` keeps the last, others the first).
                    if slot.is_some() {
                        return Err(de::Error::custom("duplicate key"));
                    }
                    *slot = Some(map.next_value()?);
                }
                Ok(envelope)
            }
        }

        // A map, never a sequence: WeChat's data is always an object.
        deserializer.deserialize_map(EnvelopeVisitor)
    }
}

fn read_fields(json: &str) -> Result<Fields> {
    let envelope: Envelope =
        serde_json::from_str(json).map_err(|_| Error::from(ErrorKind::InvalidJson))?;
    let watermark = envelope
        .watermark
        .ok_or(ErrorKind::MissingField("watermark"))?;
    let watermark =
        Watermark::deserialize(watermark).map_err(|_| ErrorKind::InvalidField("watermark"))?;
    let text = |value: Option<Value>, name: &'static str| match value {
        None => Ok(None),
        Some(Value::String(text)) => Ok(Some(text)),
        Some(_) => Err(Error::from(ErrorKind::InvalidField(name))),
    };
    Ok(Fields {
        watermark,
        open_id: text(envelope.open_id, "openId")?,
        union_id: text(envelope.union_id, "unionId")?,
    })
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
        let wm = r#""watermark":{"appid":"wxapp","timestamp":1}"#;
        let identity_cases = [
            (
                format!(r#"{{"openId":"a","openId":"b",{wm}}}"#),
                ErrorKind::InvalidJson,
            ),
            (
                format!(r#"{{"unionId":"a",{wm},"unionId":"b"}}"#),
                ErrorKind::InvalidJson,
            ),
            // The same key spelt with an escape is the same key to every parser.
            (
                format!(r#"{{"openId":"a","open\u0049d":"b",{wm}}}"#),
                ErrorKind::InvalidJson,
            ),
            (
                format!(r#"{{"openId":null,"openId":"b",{wm}}}"#),
                ErrorKind::InvalidJson,
            ),
            (
                format!(r#"{{"openId":1,{wm}}}"#),
                ErrorKind::InvalidField("openId"),
            ),
            (
                format!(r#"{{"openId":null,{wm}}}"#),
                ErrorKind::InvalidField("openId"),
            ),
            (
                format!(r#"{{"unionId":["u"],{wm}}}"#),
                ErrorKind::InvalidField("unionId"),
            ),
        ];
        for (json, expected) in identity_cases {
            assert_eq!(
                kind(key().decrypt(&encrypt_json(&json), IV, "wxapp")),
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
    fn reads_the_identity_at_the_top_level_only() {
        let decrypt = |json: &str| key().decrypt(&encrypt_json(json), IV, "wxapp").unwrap();
        let data = decrypt(
            r#"{"open\u0049d":"oUser","nick":{"openId":"x","unionId":"y"},"unionId":"uUser","openid":"z","watermark":{"appid":"wxapp","timestamp":1}}"#,
        );
        assert_eq!(data.open_id(), Some("oUser"));
        assert_eq!(data.union_id(), Some("uUser"));
        let phone = decrypt(
            r#"{"phoneNumber":"13800138000","purePhoneNumber":"13800138000","countryCode":"86","watermark":{"appid":"wxapp","timestamp":1}}"#,
        );
        assert_eq!((phone.open_id(), phone.union_id()), (None, None));
    }

    #[test]
    fn verify_identity_compares_with_the_session() {
        let wm = r#""watermark":{"appid":"wxapp","timestamp":1}"#;
        let data = |ids: &str| {
            key()
                .decrypt(&encrypt_json(&format!("{{{ids}{wm}}}")), IV, "wxapp")
                .unwrap()
        };
        let ok = |d: &DecryptedData, openid, unionid| d.verify_identity(openid, unionid).is_ok();
        let both = data(r#""openId":"oUser","unionId":"uUser","#);
        assert!(ok(&both, "oUser", Some("uUser")));
        assert!(
            ok(&both, "oUser", None),
            "a session that never learnt its unionid"
        );
        assert!(!ok(&both, "oOther", Some("uUser")));
        assert!(!ok(&both, "oUser", Some("uOther")));
        assert!(!ok(&both, "oUse", Some("uUser")), "a prefix is another id");
        let open_only = data(r#""openId":"oUser","#);
        assert!(ok(&open_only, "oUser", Some("uUser")));
        assert!(!ok(&open_only, "oOther", None));
        // A unionId that no openId vouches for: only the session's own.
        let union_only = data(r#""unionId":"uUser","#);
        assert!(ok(&union_only, "oUser", Some("uUser")));
        assert!(!ok(&union_only, "oUser", Some("uOther")));
        assert!(!ok(&union_only, "oUser", None));
        // No identity at all (phone number, WeRun): nothing to compare.
        assert!(ok(&data(""), "oUser", None));
        assert_eq!(
            both.verify_identity("oOther", None)
                .unwrap_err()
                .into_kind(),
            ErrorKind::IdentityMismatch
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
