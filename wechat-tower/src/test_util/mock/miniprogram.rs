//! Mini Program: `jscode2session`, `getuserphonenumber`, and the encrypted open data WeChat hands
//! the Mini Program.

use serde_json::{Value, json};

use super::RecordedRequest;
use super::server::{Answer, Outcome, Shared, State, fail, json_body, non_empty_str, unix_now};

impl State {
    pub(super) fn jscode2session(&mut self, shared: &Shared, req: &RecordedRequest) -> Outcome {
        self.check_app(shared, req.query("appid"), req.query("secret"))?;
        if req.query("grant_type") != Some("authorization_code") {
            return Err(fail(40002));
        }
        let code = req.query("js_code").unwrap_or_default();
        let openid = self.take_code(code, |s| s.js_codes.remove(code))?;
        let session_key = self.js_session_keys.remove(code).unwrap_or_else(|| {
            // 21 digits and `A`: valid base64 of 16 bytes, like a real session_key.
            let digits = format!(
                "{}{}{}",
                wechat_core::crypt::nonce(),
                wechat_core::crypt::nonce(),
                wechat_core::crypt::nonce()
            );
            format!("{}A==", &digits[..21])
        });
        self.session_keys
            .insert(openid.clone(), session_key.clone());
        Ok(Answer::Json(json!({
            "openid": openid,
            "session_key": session_key,
            "unionid": format!("mock-union-{openid}"),
        })))
    }

    pub(super) fn phone_number(&mut self, shared: &Shared, req: &RecordedRequest) -> Outcome {
        let body = json_body(req)?;
        let code = non_empty_str(&body, "code")?;
        let phone = self.phone_codes.remove(code).ok_or_else(|| fail(40029))?;
        Ok(Answer::Json(json!({
            "errcode": 0,
            "errmsg": "ok",
            "phone_info": {
                "phoneNumber": phone,
                "purePhoneNumber": phone,
                "countryCode": "86",
                "watermark": { "timestamp": unix_now(), "appid": shared.app_id },
            },
        })))
    }
}

/// Encrypted open data (开放数据) as the Mini Program receives it and sends it to its server.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct EncryptedData {
    /// `encryptedData`: base64 of the AES-128-CBC ciphertext.
    pub encrypted_data: String,
    /// `iv`: base64 of the 16-byte IV.
    pub iv: String,
}

/// Encrypts open data as WeChat does: `data` (a JSON object; anything else is wrapped as
/// `{"data": …}`) with `watermark: {timestamp, appid}` set, AES-128-CBC with the user's
/// `session_key` and a random IV. With another app id, key or timestamp, it builds the forged
/// or stale data a server must refuse.
///
/// # Errors
///
/// [`ErrorKind::InvalidSessionKey`](wechat_core::ErrorKind::InvalidSessionKey) when
/// `session_key` is not base64 of 16 bytes.
pub fn encrypt_open_data(
    session_key: &str,
    appid: &str,
    timestamp: u64,
    data: Value,
) -> wechat_core::Result<EncryptedData> {
    use base64::Engine as _;

    let key = wechat_core::miniprogram::SessionAesKey::parse(session_key)?;
    let mut object = match data {
        Value::Object(object) => object,
        other => serde_json::Map::from_iter([("data".to_owned(), other)]),
    };
    object.insert(
        "watermark".to_owned(),
        json!({ "timestamp": timestamp, "appid": appid }),
    );
    let mut iv = [0u8; 16];
    // The IV need not be secret; a fixed one only if the OS cannot provide randomness.
    let _ = getrandom::fill(&mut iv);
    let iv = base64::engine::general_purpose::STANDARD.encode(iv);
    let encrypted_data = key.encrypt(&iv, Value::Object(object).to_string().as_bytes())?;
    Ok(EncryptedData { encrypted_data, iv })
}
