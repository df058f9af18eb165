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

    /// Decrypts open data (`encryptedData` + `iv`) of this user and checks that its watermark
    /// names `appid`: [`miniprogram::decrypt`] with the session key.
    ///
    /// # Errors
    ///
    /// Those of [`miniprogram::decrypt`]. Answer them all alike to the client (see the
    /// [security note](wechat_core::miniprogram#security)).
    pub fn decrypt(
        &self,
        encrypted_data: &str,
        iv: &str,
        appid: &str,
    ) -> wechat_core::Result<DecryptedData> {
        miniprogram::decrypt(&self.session_key, encrypted_data, iv, appid)
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
}
