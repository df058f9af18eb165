//! Mini Program `encryptedData` decryption (`wechat_core::miniprogram`) with the app id of the
//! official sample (`wx4f4bc4dec97d474b`), on three paths per input:
//!
//! - **A** the input is `key(16) ‖ iv(16) ‖ ciphertext`: base64-encoded and decrypted; the result
//!   is compared with a reference (AES-128-CBC here, then PKCS#7, UTF-8, JSON, watermark);
//! - **B** the input is `mode(1) ‖ plaintext`, encrypted here under the official sample's key and
//!   IV (bit 0 of `mode`: PKCS#7-pad it, else zero-extend to a whole block and let the fuzzer own
//!   the padding bytes), so the padding, UTF-8, JSON and watermark checks are reached with chosen
//!   values (random ciphertext hardly ever gets past the padding); compared with the reference,
//!   and a padded plaintext must survive `encrypt` → `decrypt_raw` unchanged;
//! - **C** the input, as lossy UTF-8, is split at `\n` into `session_key`, `iv`, `encryptedData`,
//!   `appid` and `rawData` strings: nothing panics, a success carries that app id, and
//!   `rawData` signatures verify exactly.
//!
//! Whatever decrypts also has its identity checked (issue 16): `open_id()`/`union_id()` are the
//! JSON's top-level strings and `verify_identity` follows its documented rule.

#![no_main]

use aes::Aes128;
use aes::cipher::block_padding::NoPadding;
use aes::cipher::{BlockDecryptMut, BlockEncryptMut, KeyIvInit};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use libfuzzer_sys::fuzz_target;
use serde::de::IgnoredAny;
use serde_json::Value;
use wechat_core::ErrorKind;
use wechat_core::miniprogram::{self, SessionAesKey};
use wechat_core::secret::SessionKey;

const APPID: &str = "wx4f4bc4dec97d474b";
/// The official sample's session key and IV (`miniprogram_decrypt.json`).
const KEY_B64: &str = "tiihtNczf5v6AKRyjwEUhQ==";
const IV_B64: &str = "r7BXXKkLb8qrSNn05n0qiA==";
const BLOCK: usize = 16;

fuzz_target!(|data: &[u8]| {
    path_a_ciphertext(data);
    path_b_plaintext(data);
    path_c_strings(data);
});

fn path_a_ciphertext(data: &[u8]) {
    if data.len() < 32 {
        return;
    }
    let key: [u8; 16] = data[..16].try_into().expect("16 bytes");
    let iv: [u8; 16] = data[16..32].try_into().expect("16 bytes");
    let ciphertext = &data[32..];
    let aes = SessionAesKey::from_bytes(key);
    let session_key = SessionKey::new(STANDARD.encode(key));
    let (data_b64, iv_b64) = (STANDARD.encode(ciphertext), STANDARD.encode(iv));
    let result = miniprogram::decrypt(&session_key, &data_b64, &iv_b64, APPID);
    assert_eq!(
        format!("{result:?}"),
        format!("{:?}", aes.decrypt(&data_b64, &iv_b64, APPID)),
        "decrypt and SessionAesKey::decrypt differ"
    );
    let expected = if ciphertext.is_empty() || !ciphertext.len().is_multiple_of(BLOCK) {
        Err(Verdict::Exactly(ErrorKind::InvalidCiphertext))
    } else {
        reference(&cbc(&key, &iv, ciphertext, false))
    };
    compare(result, expected);
}

fn path_b_plaintext(data: &[u8]) {
    let Some((&mode, plaintext)) = data.split_first() else {
        return;
    };
    let (key, iv) = (decode_16(KEY_B64), decode_16(IV_B64));
    let mut payload = plaintext.to_vec();
    if mode & 1 != 0 {
        let n = BLOCK - payload.len() % BLOCK;
        payload.resize(payload.len() + n, n as u8);
    } else {
        payload.resize(payload.len().div_ceil(BLOCK).max(1) * BLOCK, 0);
    }
    let encrypted = STANDARD.encode(cbc(&key, &iv, &payload, true));
    let aes = SessionAesKey::from_bytes(key);
    compare(aes.decrypt(&encrypted, IV_B64, APPID), reference(&payload));

    // The library's own encryption is the reference's (PKCS#7) and comes back unchanged.
    let own = aes.encrypt(IV_B64, plaintext).expect("valid IV");
    if mode & 1 != 0 {
        assert_eq!(own, encrypted, "encrypt differs from AES-128-CBC + PKCS#7");
    }
    assert_eq!(
        aes.decrypt_raw(&own, IV_B64)
            .expect("own ciphertext decrypts"),
        plaintext,
        "round trip"
    );
}

fn path_c_strings(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let mut parts = text.split('\n');
    let mut next = || parts.next().unwrap_or_default();
    let (session_key, iv, encrypted, appid, raw_data) = (next(), next(), next(), next(), next());
    let session_key = SessionKey::new(session_key);
    match miniprogram::decrypt(&session_key, encrypted, iv, appid) {
        Ok(data) => {
            assert_eq!(data.watermark().appid, appid);
            match serde_json::from_str::<Value>(data.json()) {
                Ok(value) => assert_eq!(value["watermark"]["appid"].as_str(), Some(appid)),
                // A lone surrogate escape in a skipped field (see `reference`): still JSON.
                Err(_) => {
                    serde_json::from_str::<IgnoredAny>(data.json()).expect("success means JSON");
                }
            }
            check_identity(&data);
        }
        Err(err) => {
            // A bad key is reported first, whatever the other inputs.
            if session_key.aes_key().is_err() {
                assert_eq!(err.kind(), &ErrorKind::InvalidSessionKey);
            }
        }
    }
    let signature = miniprogram::sign_raw_data(raw_data, &session_key);
    assert!(miniprogram::verify_raw_data(
        raw_data,
        &session_key,
        &signature
    ));
    assert!(!miniprogram::verify_raw_data(
        raw_data,
        &session_key,
        &signature[1..]
    ));
    let upper = signature.to_ascii_uppercase();
    if upper != signature {
        assert!(!miniprogram::verify_raw_data(
            raw_data,
            &session_key,
            &upper
        ));
    }
}

/// Checks the library's result against the reference: the same success, or an error the
/// reference allows.
fn compare(
    result: Result<miniprogram::DecryptedData, wechat_core::Error>,
    expected: Result<(String, u64), Verdict>,
) {
    match (result, expected) {
        (Ok(data), Ok((json, timestamp))) => {
            assert_eq!(data.json(), json);
            assert_eq!(data.timestamp(), timestamp);
            assert_eq!(data.watermark().appid, APPID);
            check_identity(&data);
        }
        (Err(err), Err(Verdict::Exactly(kind))) => assert_eq!(err.kind(), &kind),
        // The JSON checks: the reference (serde_json::Value, which keeps the last of duplicate
        // keys) is laxer than the library (which refuses a repeated `openId`, `unionId` or
        // `watermark`), so a JSON-level refusal is fine whenever the text is UTF-8 with valid
        // padding.
        (Err(err), Err(Verdict::JsonLevel) | Ok(_)) => assert!(
            matches!(
                err.kind(),
                ErrorKind::InvalidJson
                    | ErrorKind::MissingField("watermark")
                    | ErrorKind::InvalidField("watermark" | "openId" | "unionId")
                    | ErrorKind::AppIdMismatch
            ),
            "{err:?}"
        ),
        (Ok(data), Err(Verdict::Either)) => assert_eq!(data.watermark().appid, APPID),
        (Err(err), Err(Verdict::Either)) => assert!(
            matches!(
                err.kind(),
                ErrorKind::InvalidJson
                    | ErrorKind::MissingField("watermark")
                    | ErrorKind::InvalidField("watermark" | "openId" | "unionId")
                    | ErrorKind::AppIdMismatch
            ),
            "{err:?}"
        ),
        (Ok(data), Err(verdict)) => {
            panic!("accepted {:?}, reference says {verdict:?}", data.json())
        }
    }
}

#[derive(Debug)]
enum Verdict {
    Exactly(ErrorKind),
    /// Refused at the JSON level (which error depends on what the library reads first).
    JsonLevel,
    /// Valid JSON grammar that `Value` refuses: accepted, or refused at the JSON level.
    Either,
}

impl From<ErrorKind> for Verdict {
    fn from(kind: ErrorKind) -> Self {
        Self::Exactly(kind)
    }
}

/// The reference reading of a decrypted buffer (whole blocks), from the protocol description:
/// PKCS#7 (1..=16, all bytes equal) → UTF-8 → a JSON object → `watermark.appid` == APPID with an
/// integer `watermark.timestamp`.
fn reference(plain: &[u8]) -> Result<(String, u64), Verdict> {
    let Some(&last) = plain.last() else {
        return Err(ErrorKind::InvalidCiphertext.into());
    };
    let pad = usize::from(last);
    if pad == 0 || pad > BLOCK || plain[plain.len() - pad..].iter().any(|&b| b != last) {
        return Err(ErrorKind::InvalidPadding.into());
    }
    let text = std::str::from_utf8(&plain[..plain.len() - pad])
        .map_err(|_| Verdict::Exactly(ErrorKind::InvalidUtf8))?;
    let object = match serde_json::from_str::<Value>(text) {
        Ok(Value::Object(object)) => object,
        // `Value` refuses a lone surrogate escape (`"\uD95F"`), which the JSON grammar allows
        // and serde skips unchecked in the fields the library does not read: no verdict.
        Err(_)
            if text.trim_start().starts_with('{')
                && serde_json::from_str::<IgnoredAny>(text).is_ok() =>
        {
            return Err(Verdict::Either);
        }
        _ => return Err(Verdict::JsonLevel),
    };
    // The user the data names, when present, is a string (issue 16: no parser may read another).
    for id in ["openId", "unionId"] {
        if object.get(id).is_some_and(|v| !v.is_string()) {
            return Err(Verdict::JsonLevel);
        }
    }
    let watermark = object.get("watermark").ok_or(Verdict::JsonLevel)?;
    match (watermark["appid"].as_str(), watermark["timestamp"].as_u64()) {
        (Some(APPID), Some(timestamp)) => Ok((text.to_owned(), timestamp)),
        _ => Err(Verdict::JsonLevel),
    }
}

/// The identity of accepted data: `open_id()`/`union_id()` are the top-level strings (a repeat
/// would have been refused, so `Value`'s reading is the only one), and `verify_identity` follows
/// its documented rule: an `openId` must be the session's; a `unionId` must be the session's, or,
/// when the session has none, stand next to an `openId`; data naming no user passes.
fn check_identity(data: &miniprogram::DecryptedData) {
    let Ok(value) = serde_json::from_str::<Value>(data.json()) else {
        // A lone surrogate escape in a field the library skips (see `reference`).
        serde_json::from_str::<IgnoredAny>(data.json()).expect("accepted data is JSON");
        return;
    };
    let (open, union) = (value["openId"].as_str(), value["unionId"].as_str());
    assert_eq!(data.open_id(), open);
    assert_eq!(data.union_id(), union);
    let own_open = open.unwrap_or("oSession");
    for (openid, unionid) in [
        (own_open, union),
        (own_open, None),
        (own_open, Some("uOther")),
        ("oOther", union),
        ("oOther", None),
    ] {
        let open_ok = open.is_none_or(|id| id == openid);
        let union_ok = match (union, unionid) {
            (None, _) => true,
            (Some(id), Some(session)) => id == session,
            (Some(_), None) => open.is_some(),
        };
        match data.verify_identity(openid, unionid) {
            Ok(()) => assert!(open_ok && union_ok, "{openid} {unionid:?} accepted"),
            Err(err) => {
                assert!(!(open_ok && union_ok), "{openid} {unionid:?} refused");
                assert_eq!(err.kind(), &ErrorKind::IdentityMismatch);
            }
        }
    }
}

/// AES-128-CBC without padding; `data` is whole blocks.
fn cbc(key: &[u8; 16], iv: &[u8; 16], data: &[u8], encrypt: bool) -> Vec<u8> {
    let mut buf = data.to_vec();
    let len = buf.len();
    if encrypt {
        cbc::Encryptor::<Aes128>::new(key.into(), iv.into())
            .encrypt_padded_mut::<NoPadding>(&mut buf, len)
            .expect("whole blocks");
    } else {
        cbc::Decryptor::<Aes128>::new(key.into(), iv.into())
            .decrypt_padded_mut::<NoPadding>(&mut buf)
            .expect("whole blocks");
    }
    buf
}

fn decode_16(b64: &str) -> [u8; 16] {
    STANDARD
        .decode(b64)
        .expect("sample base64")
        .try_into()
        .expect("16 bytes")
}
