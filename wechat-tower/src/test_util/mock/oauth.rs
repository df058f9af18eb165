//! Web authorization (网页授权): the authorize page, `sns/oauth2/*`, `sns/userinfo`, `sns/auth`.

use std::time::Duration;

use serde_json::json;
use tokio::time::Instant;

use super::RecordedRequest;
use super::server::{Answer, Outcome, Shared, State, fail};

impl State {
    pub(super) fn issue_oauth_code(&mut self, openid: &str) -> String {
        let code = format!("mock-oauth-code-{}", self.next());
        self.oauth_codes.insert(code.clone(), openid.to_owned());
        code
    }

    pub(super) fn authorize(&mut self, shared: &Shared, req: &RecordedRequest) -> Outcome {
        let (Some(redirect), Some(scope)) = (req.query("redirect_uri"), req.query("scope")) else {
            return Err(fail(47001));
        };
        if req.query("appid") != Some(shared.app_id.as_str()) {
            return Err(fail(40013));
        }
        if req.query("response_type") != Some("code")
            || !matches!(scope, "snsapi_base" | "snsapi_userinfo")
        {
            return Err(fail(47001));
        }
        let user = self.authorize_user.clone();
        let code = self.issue_oauth_code(&user);
        let state = req.query("state").unwrap_or_default();
        let separator = if redirect.contains('?') { '&' } else { '?' };
        let query = form_urlencoded::Serializer::new(String::new())
            .append_pair("code", &code)
            .append_pair("state", state)
            .finish();
        Ok(Answer::Redirect(format!("{redirect}{separator}{query}")))
    }

    pub(super) fn oauth_answer(&mut self, openid: &str) -> Answer {
        let n = self.next();
        let token = format!("mock-oauth-token-{n}");
        let refresh = format!("mock-refresh-token-{n}");
        self.oauth_tokens.insert(
            token.clone(),
            (
                openid.to_owned(),
                Instant::now() + Duration::from_secs(7200),
            ),
        );
        self.refresh_tokens
            .insert(refresh.clone(), openid.to_owned());
        Answer::Json(json!({
            "access_token": token,
            "expires_in": 7200,
            "refresh_token": refresh,
            "openid": openid,
            "scope": "snsapi_userinfo",
            "is_snapshotuser": 0,
            "unionid": format!("mock-union-{openid}"),
        }))
    }

    pub(super) fn oauth_token(&mut self, shared: &Shared, req: &RecordedRequest) -> Outcome {
        self.check_app(shared, req.query("appid"), req.query("secret"))?;
        if req.query("grant_type") != Some("authorization_code") {
            return Err(fail(40002));
        }
        let code = req.query("code").unwrap_or_default();
        let openid = self.take_code(code, |s| s.oauth_codes.remove(code))?;
        Ok(self.oauth_answer(&openid))
    }

    pub(super) fn oauth_refresh(&mut self, shared: &Shared, req: &RecordedRequest) -> Outcome {
        if req.query("appid") != Some(shared.app_id.as_str()) {
            return Err(fail(40013));
        }
        if req.query("grant_type") != Some("refresh_token") {
            return Err(fail(40002));
        }
        let refresh = req.query("refresh_token").unwrap_or_default();
        let openid = self
            .refresh_tokens
            .get(refresh)
            .cloned()
            .ok_or_else(|| fail(40030))?;
        Ok(self.oauth_answer(&openid))
    }

    pub(super) fn oauth_user(&self, req: &RecordedRequest) -> Result<String, Answer> {
        let token = req.query("access_token").unwrap_or_default();
        if token.is_empty() {
            return Err(fail(41001));
        }
        let (openid, valid_until) = self.oauth_tokens.get(token).ok_or_else(|| fail(40001))?;
        if Instant::now() >= *valid_until {
            return Err(fail(42001));
        }
        if req.query("openid") != Some(openid.as_str()) {
            return Err(fail(40003));
        }
        Ok(openid.clone())
    }

    pub(super) fn oauth_userinfo(&self, req: &RecordedRequest) -> Outcome {
        let openid = self.oauth_user(req)?;
        Ok(Answer::Json(json!({
            "openid": openid,
            "nickname": format!("Mock {openid}"),
            "sex": 0,
            "province": "",
            "city": "",
            "country": "",
            "headimgurl": "",
            "privilege": [],
            "unionid": format!("mock-union-{openid}"),
        })))
    }

    pub(super) fn oauth_check(&self, req: &RecordedRequest) -> Outcome {
        self.oauth_user(req)?;
        Ok(Answer::ok())
    }
}
