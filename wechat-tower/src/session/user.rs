//! `UserSession`: who a request comes from, as `SessionLayer` loaded it.

use wechat_core::miniprogram::{self, DecryptedData};
use wechat_core::secret::SessionKey;

use super::store::SessionRecord;
use super::token::SessionToken;

/// The session behind a request's token: the user's `openid`, `unionid` and `session_key`.
///
/// [`SessionLayer`](super::SessionLayer) puts it in the request extensions; read it with
/// [`UserSession::from_request`] (any server) or as an axum extractor (feature `axum`). Its
/// `Debug` redacts the token and the session key. See the [module docs](super).
#[derive(Clone, Debug)]
pub struct UserSession {
    token: SessionToken,
    openid: String,
    unionid: Option<String>,
    session_key: SessionKey,
    created_at: u64,
    expires_at: u64,
}

impl UserSession {
    pub(crate) fn new(token: SessionToken, record: SessionRecord) -> Self {
        Self {
            token,
            openid: record.openid,
            unionid: record.unionid,
            session_key: SessionKey::new(record.session_key),
            created_at: record.created_at,
            expires_at: record.expires_at,
        }
    }

    /// The session that [`SessionLayer`](super::SessionLayer) loaded for this request, if any.
    #[must_use]
    pub fn from_request<B>(req: &http::Request<B>) -> Option<&Self> {
        Self::from_extensions(req.extensions())
    }

    /// The session in these request extensions, if any.
    #[must_use]
    pub fn from_extensions(extensions: &http::Extensions) -> Option<&Self> {
        extensions.get()
    }

    /// The user's openid in this Mini Program.
    #[must_use]
    pub fn openid(&self) -> &str {
        &self.openid
    }

    /// The user's unionid, when the Mini Program is bound to an Open Platform account.
    #[must_use]
    pub fn unionid(&self) -> Option<&str> {
        self.unionid.as_deref()
    }

    /// The user's `session_key`, for [`wechat_core::miniprogram`]; it must never leave the
    /// server.
    #[must_use]
    pub fn session_key(&self) -> &SessionKey {
        &self.session_key
    }

    /// The token the request carried (for a logout: [`SessionStore::revoke`](super::SessionStore::revoke)).
    #[must_use]
    pub fn token(&self) -> &SessionToken {
        &self.token
    }

    /// When the user logged in, Unix seconds.
    #[must_use]
    pub fn created_at(&self) -> u64 {
        self.created_at
    }

    /// When the session expires (unless renewed), Unix seconds.
    #[must_use]
    pub fn expires_at(&self) -> u64 {
        self.expires_at
    }

    /// Decrypts open data (`encryptedData` + `iv`) of this user, checks that its watermark
    /// names `appid`, and that it is this user's: [`miniprogram::decrypt`] with the session key,
    /// then [`DecryptedData::verify_identity`] with the session's openid and unionid.
    ///
    /// The identity check is what stops a forgery: the data has no integrity, and a user can
    /// turn their own genuine data into data that decrypts cleanly and names another user (see
    /// the [security note](wechat_core::miniprogram#security)). It refuses data whose top-level
    /// `openId` is not this session's openid, or whose `unionId` is not its unionid (when the
    /// session has none, a `unionId` passes only next to a matching `openId`).
    ///
    /// Which payloads carry which ids:
    ///
    /// | payload | ids | checked |
    /// |---|---|---|
    /// | user info (`wx.getUserInfo`, `wx.getUserProfile`) | `openId`; `unionId` when the app is bound to an Open Platform account | both |
    /// | phone number, legacy (`{phoneNumber, purePhoneNumber, countryCode, watermark}`) | none | passes |
    /// | WeRun (`wx.getWeRunData`: `{stepInfoList, watermark}`) | none | passes |
    /// | share info (`wx.getShareInfo`: `{openGId, watermark}`) | a group, not a user | passes |
    ///
    /// Data that names no user passes because there is nothing to compare, not because it is
    /// genuine: its own user can forge it the same way. Take nothing from it that a user gains
    /// by lying about (phone numbers come from `getuserphonenumber` with the button's `code`).
    ///
    /// # Errors
    ///
    /// Those of [`miniprogram::decrypt`], and
    /// [`IdentityMismatch`](wechat_core::ErrorKind::IdentityMismatch). Answer them all alike to
    /// the client (see the [security note](wechat_core::miniprogram#security)).
    pub fn decrypt(
        &self,
        encrypted_data: &str,
        iv: &str,
        appid: &str,
    ) -> wechat_core::Result<DecryptedData> {
        let data = miniprogram::decrypt(&self.session_key, encrypted_data, iv, appid)?;
        data.verify_identity(&self.openid, self.unionid.as_deref())?;
        Ok(data)
    }

    /// Checks the `signature` of `rawData` with the session key:
    /// [`miniprogram::verify_raw_data`].
    #[must_use]
    pub fn verify_raw_data(&self, raw_data: &str, signature: &str) -> bool {
        miniprogram::verify_raw_data(raw_data, &self.session_key, signature)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::session::LoggedIn;

    #[test]
    fn debug_redacts_the_token_and_the_session_key() {
        let token = SessionToken::generate().unwrap();
        let user = UserSession::new(
            token.clone(),
            SessionRecord {
                openid: "oUser".into(),
                unionid: None,
                session_key: "tiihtNczf5v6AKRyjwEUhQ==".into(),
                created_at: 1,
                expires_at: 2,
                renewed_at: 1,
            },
        );
        let login = LoggedIn {
            token: token.clone(),
            openid: "oUser".into(),
            unionid: None,
        };
        for debug in [format!("{user:?}"), format!("{login:?}")] {
            assert!(debug.contains("SessionToken([redacted])"), "{debug}");
            assert!(debug.contains("oUser"), "{debug}");
            assert!(!debug.contains(token.expose()), "{debug}");
            assert!(!debug.contains("tiihtNczf5v6AKRyjwEUhQ=="), "{debug}");
        }
        assert!(format!("{user:?}").contains("SessionKey([redacted])"));
    }

    // ---- issue 16: forged user data ----------------------------------------------------------

    use base64::Engine as _;
    use base64::engine::general_purpose::STANDARD;
    use wechat_core::ErrorKind;
    use wechat_core::miniprogram::SessionAesKey;

    const APPID: &str = "wx4f4bc4dec97d474b";
    const ATTACKER: &str = "oMalloryMalloryMalloryMa1234";
    const ATTACKER_UNION: &str = "uMalloryMalloryMalloryMa1234";
    const VICTIM: &str = "oGZUI0egBJY1zhBYw2KhdUfwVJJE";
    const VICTIM_UNION: &str = "ocMvos6NjeKLIBqg5Mr9QjxrP1FA";
    const KEY: &str = "MTExMTExMTExMTExMTExMQ==";
    const IV: &str = "r7BXXKkLb8qrSNn05n0qiA==";

    fn session(openid: &str, unionid: Option<&str>) -> UserSession {
        UserSession::new(
            SessionToken::generate().unwrap(),
            SessionRecord {
                openid: openid.into(),
                unionid: unionid.map(Into::into),
                session_key: KEY.into(),
                created_at: 1,
                expires_at: 2,
                renewed_at: 1,
            },
        )
    }

    fn encrypt(json: &str) -> String {
        SessionAesKey::parse(KEY)
            .unwrap()
            .encrypt(IV, json.as_bytes())
            .unwrap()
    }

    fn tail(unionid: Option<&str>) -> String {
        let unionid = unionid.map_or_else(String::new, |u| format!(r#","unionId":"{u}""#));
        format!(
            r#"","gender":1,"country":"CN"{unionid},"watermark":{{"timestamp":1700000000,"appid":"{APPID}"}}}}"#
        )
    }

    /// The attacker's genuine data (WeChat's key order, a nickName ending with `claimed` on a
    /// block boundary) forged by dropping the blocks before the nickName's end and choosing the
    /// IV that makes the new first block `replacement`: IV' = C[b−1] ⊕ P[b] ⊕ P'. Returns the
    /// forged `encryptedData`, `iv` and what they decrypt to (checked).
    fn forge(
        claimed: &str,
        unionid: Option<&str>,
        replacement: &[u8; 16],
    ) -> (String, String, String) {
        let before = format!(r#"{{"openId":"{ATTACKER}","nickName":""#);
        let filler = "M".repeat(16 - before.len() % 16);
        let genuine = format!("{before}{filler}{claimed}{}", tail(unionid));
        let start = before.len() + filler.len();
        let b = start / 16 - 1;
        let ciphertext = STANDARD.decode(encrypt(&genuine)).unwrap();
        let previous = if b == 0 {
            STANDARD.decode(IV).unwrap()
        } else {
            ciphertext[(b - 1) * 16..b * 16].to_vec()
        };
        let known = &genuine.as_bytes()[b * 16..(b + 1) * 16];
        let iv: Vec<u8> = (0..16)
            .map(|i| previous[i] ^ known[i] ^ replacement[i])
            .collect();
        let (data, iv) = (STANDARD.encode(&ciphertext[b * 16..]), STANDARD.encode(iv));
        let forged = format!(
            "{}{}",
            std::str::from_utf8(replacement).unwrap(),
            &genuine[start..]
        );
        let plain = SessionAesKey::parse(KEY)
            .unwrap()
            .decrypt_raw(&data, &iv)
            .unwrap();
        assert_eq!(
            plain,
            forged.as_bytes(),
            "the forgery decrypts, padding and all"
        );
        (data, iv, forged)
    }

    #[test]
    fn issue16_decrypt_refuses_data_naming_another_openid() {
        for unionid in [Some(ATTACKER_UNION), None] {
            let attacker = session(ATTACKER, unionid);
            let (data, iv, forged) = forge(VICTIM, unionid, b"{     \"openId\":\"");
            assert!(
                forged.starts_with(&format!(r#"{{     "openId":"{VICTIM}","#)),
                "{forged}"
            );
            // The primitive accepts it (no integrity); the session refuses it.
            let accepted = miniprogram::decrypt(attacker.session_key(), &data, &iv, APPID).unwrap();
            assert_eq!(accepted.json(), forged);
            let err = attacker.decrypt(&data, &iv, APPID).unwrap_err();
            assert_eq!(err.kind(), &ErrorKind::IdentityMismatch, "{forged}");
        }
    }

    #[test]
    fn decrypt_accepts_the_users_own_data_and_data_naming_no_user() {
        let own = format!(
            r#"{{"openId":"{ATTACKER}","nickName":"M{}"#,
            tail(Some(ATTACKER_UNION))
        );
        let phone = format!(
            r#"{{"phoneNumber":"13800138000","purePhoneNumber":"13800138000","countryCode":"86","watermark":{{"timestamp":1700000000,"appid":"{APPID}"}}}}"#
        );
        let werun = format!(
            r#"{{"stepInfoList":[{{"timestamp":1700000000,"step":100}}],"watermark":{{"timestamp":1700000000,"appid":"{APPID}"}}}}"#
        );
        // With or without the unionid in the session (WeChat's user info is how a session
        // that lacks it learns it).
        for unionid in [Some(ATTACKER_UNION), None] {
            let user = session(ATTACKER, unionid);
            for json in [&own, &phone, &werun] {
                let data = user.decrypt(&encrypt(json), IV, APPID).unwrap();
                assert_eq!(data.json(), json);
            }
            // Another user's openid, honestly encrypted (as a bug or a mix-up would): refused.
            let other = own.replace(ATTACKER, VICTIM);
            let err = user.decrypt(&encrypt(&other), IV, APPID).unwrap_err();
            assert_eq!(err.kind(), &ErrorKind::IdentityMismatch);
        }
    }

    #[test]
    fn issue16_decrypt_refuses_data_naming_another_unionid() {
        // The attacker's genuine data has no unionId here (else the forgery would carry two,
        // refused as InvalidJson): the forged one is the only one.
        let (data, iv, forged) = forge(VICTIM_UNION, None, b"{    \"unionId\":\"");
        assert!(
            forged.starts_with(&format!(r#"{{    "unionId":"{VICTIM_UNION}","#)),
            "{forged}"
        );
        // Against the session's unionid; and, when the session has none, a unionId without an
        // openId vouches for nothing.
        for unionid in [Some(ATTACKER_UNION), None] {
            let err = session(ATTACKER, unionid)
                .decrypt(&data, &iv, APPID)
                .unwrap_err();
            assert_eq!(err.kind(), &ErrorKind::IdentityMismatch, "{unionid:?}");
        }
    }
}
