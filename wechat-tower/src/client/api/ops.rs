//! Operator tools: short keys (短 key, `cgi-bin/shorten/gen`, `shorten/fetch`), resetting the
//! daily API quota (`cgi-bin/clear_quota` with the token, `clear_quota/v2` with the AppSecret
//! when the token itself can no longer be fetched), the quota of one API
//! (`openapi/quota/get`) and what WeChat recorded of a failed call by its `rid`
//! (`openapi/rid/get`).
//!
//! Each account may reset its quota 10 times a month (both calls count); 48006 after that.
//!
//! ```
//! use wechat_tower::client::WechatClient;
//! use wechat_tower::test_util::mock::MockWechat;
//!
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let wechat = MockWechat::start().await?;
//! let client = WechatClient::builder(wechat.app_id(), wechat.app_secret())
//!     .api_base(wechat.base_url())
//!     .build()?;
//!
//! let key = client.ops().shorten("page=7&from=poster", None).await?;
//! assert_eq!(client.ops().fetch_short_key(&key).await?.long_data, "page=7&from=poster");
//!
//! let quota = client.ops().quota("/cgi-bin/shorten/gen").await?;
//! assert_eq!(quota.quota.used, 1);
//! client.ops().clear_quota().await?;
//! # Ok(()) }
//! ```

use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::client::error::ClientError;
use crate::client::wechat_client::{WechatClient, decode};

/// `long_data` of a short key is at most this many bytes.
pub const MAX_LONG_DATA_BYTES: usize = 4096;
/// A short key lives at most this long (30 days); WeChat's default is 2 days.
pub const MAX_SHORT_KEY_SECONDS: u32 = 30 * 24 * 3600;

/// The codes WeChat's documentation lists for these calls (besides the common ones).
pub(crate) fn meaning(code: i64) -> Option<&'static str> {
    Some(match code {
        41002 => "appid missing",
        41004 => "appsecret missing",
        48006 => "quota resets used up for this month (10)",
        76001 => "rid not found (or older than 7 days)",
        76002 => "rid empty or malformed",
        76003 => "the rid belongs to another account",
        76021 => "cgi_path not found",
        76022 => "the token is not of the account this API belongs to (or a /sns/ API)",
        _ => return None,
    })
}

/// What a short key stands for (`shorten/fetch`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ShortKeyData {
    /// The data stored.
    pub long_data: String,
    /// When the key was made (Unix seconds).
    #[serde(default)]
    pub create_time: u64,
    /// Seconds left before it expires.
    #[serde(default)]
    pub expire_seconds: u64,
}

/// The quota of one API (`openapi/quota/get`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ApiQuota {
    /// Calls per day.
    pub quota: DailyQuota,
    /// The per-interval limit of the API, when it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_limit: Option<RateLimit>,
    /// The limit of third-party platforms calling for the account, when any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub component_rate_limit: Option<RateLimit>,
}

/// `quota` of an [`ApiQuota`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct DailyQuota {
    /// Calls allowed today.
    #[serde(default)]
    pub daily_limit: u64,
    /// Calls made today.
    #[serde(default)]
    pub used: u64,
    /// Calls left today.
    #[serde(default)]
    pub remain: u64,
}

/// `rate_limit` of an [`ApiQuota`]: `call_count` calls per `refresh_second` seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct RateLimit {
    /// Calls allowed per interval.
    #[serde(default)]
    pub call_count: u64,
    /// The interval, in seconds.
    #[serde(default)]
    pub refresh_second: u64,
}

/// What WeChat recorded of a call by its `rid` (`openapi/rid/get`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct RidInfo {
    /// The request.
    pub request: RidRequest,
}

/// `request` of a [`RidInfo`]. Its `Debug` hides the `access_token` in `request_url`.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct RidRequest {
    /// When the call was made (Unix seconds).
    #[serde(default)]
    pub invoke_time: u64,
    /// How long it took, in milliseconds.
    #[serde(default)]
    pub cost_in_ms: u64,
    /// The query of the call, `access_token` included: do not log it.
    #[serde(default)]
    pub request_url: String,
    /// The body of the call.
    #[serde(default)]
    pub request_body: String,
    /// WeChat's answer.
    #[serde(default)]
    pub response_body: String,
    /// The caller's IP address.
    #[serde(default)]
    pub client_ip: String,
}

impl std::fmt::Debug for RidRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RidRequest")
            .field("invoke_time", &self.invoke_time)
            .field("cost_in_ms", &self.cost_in_ms)
            .field("request_url", &redact_token(&self.request_url))
            .field("request_body", &self.request_body)
            .field("response_body", &self.response_body)
            .field("client_ip", &self.client_ip)
            .finish()
    }
}

/// `request_url` with the value of every `access_token` parameter replaced.
fn redact_token(query: &str) -> String {
    query
        .split('&')
        .map(|pair| match pair.split_once('=') {
            Some((key, _)) if key.ends_with("access_token") => format!("{key}=[redacted]"),
            _ => pair.to_owned(),
        })
        .collect::<Vec<_>>()
        .join("&")
}

#[derive(Deserialize)]
struct ShortKeyAnswer {
    short_key: String,
}

/// The body of `clear_quota/v2`. No `Debug`: it carries the AppSecret.
#[derive(Serialize)]
struct ClearQuotaV2<'a> {
    appid: &'a str,
    appsecret: &'a str,
}

/// Operator tools of a [`WechatClient`]: `client.ops()`. See the [module docs](self).
#[derive(Debug, Clone, Copy)]
pub struct OpsApi<'a> {
    client: &'a WechatClient,
}

impl WechatClient {
    /// Operator tools: short keys, quota reset and query, rid lookup.
    #[must_use]
    pub fn ops(&self) -> OpsApi<'_> {
        OpsApi { client: self }
    }
}

impl OpsApi<'_> {
    /// Stores `long_data` (at most 4 KiB) under a short key (`shorten/gen`), for links and QR
    /// codes that must stay short; it lives `expire_seconds` (at most 30 days; WeChat's default
    /// 2 days).
    ///
    /// # Errors
    ///
    /// [`ClientError::Request`] for empty or oversized data or a lifetime over 30 days; the
    /// usual errors.
    pub async fn shorten(
        &self,
        long_data: &str,
        expire_seconds: Option<u32>,
    ) -> Result<String, ClientError> {
        if long_data.is_empty() || long_data.len() > MAX_LONG_DATA_BYTES {
            return Err(ClientError::Request(format!(
                "shorten/gen: long_data has {} bytes, WeChat takes 1 to {MAX_LONG_DATA_BYTES}",
                long_data.len()
            )));
        }
        if expire_seconds.is_some_and(|s| s > MAX_SHORT_KEY_SECONDS) {
            return Err(ClientError::Request(format!(
                "shorten/gen: expire_seconds over {MAX_SHORT_KEY_SECONDS}"
            )));
        }
        let mut body = json!({ "long_data": long_data });
        if let Some(secs) = expire_seconds {
            body["expire_seconds"] = json!(secs);
        }
        let answer: ShortKeyAnswer = self
            .client
            .post_json("/cgi-bin/shorten/gen", &[], &body)
            .await?;
        Ok(answer.short_key)
    }

    /// What a short key stands for (`shorten/fetch`).
    ///
    /// # Errors
    ///
    /// [`ClientError::Request`] for an empty key; an unknown or expired key, the usual errors.
    pub async fn fetch_short_key(&self, short_key: &str) -> Result<ShortKeyData, ClientError> {
        if short_key.is_empty() {
            return Err(ClientError::Request("shorten/fetch: empty key".to_owned()));
        }
        self.client
            .post_json(
                "/cgi-bin/shorten/fetch",
                &[],
                &json!({ "short_key": short_key }),
            )
            .await
    }

    /// Resets today's call counts of this app's APIs (`clear_quota`, with the token).
    ///
    /// # Errors
    ///
    /// 48006 no reset left this month, 40013 invalid appid, the usual errors.
    pub async fn clear_quota(&self) -> Result<(), ClientError> {
        self.client
            .post_json::<_, serde::de::IgnoredAny>(
                "/cgi-bin/clear_quota",
                &[],
                &json!({ "appid": self.client.app_id() }),
            )
            .await
            .map(drop)
    }

    /// Resets today's call counts with the AppSecret instead of a token (`clear_quota/v2`): the
    /// way out when `cgi-bin/token` itself has run out of quota (45009). The secret travels in
    /// the POST body, not the URL, so it stays out of access logs.
    ///
    /// # Errors
    ///
    /// 48006 no reset left this month, 40013 invalid appid, 40125 invalid secret, transport
    /// errors.
    pub async fn clear_quota_with_secret(&self) -> Result<(), ClientError> {
        let path = "/cgi-bin/clear_quota/v2";
        let body = ClearQuotaV2 {
            appid: self.client.app_id(),
            appsecret: self.client.secret().expose(),
        };
        let req = self
            .client
            .json_request(&self.client.api_url(path, &[]), &body)?;
        let res = self.client.send(req, false).await?;
        decode::<serde::de::IgnoredAny>(path, res).map(drop)
    }

    /// Today's quota of one API, by its path (`/cgi-bin/message/custom/send`;
    /// `openapi/quota/get`).
    ///
    /// # Errors
    ///
    /// [`ClientError::Request`] for a path not starting with `/`; 76021 unknown path, 76022 an
    /// API of another account, the usual errors.
    pub async fn quota(&self, cgi_path: &str) -> Result<ApiQuota, ClientError> {
        if !cgi_path.starts_with('/') {
            return Err(ClientError::Request(
                "openapi/quota/get: cgi_path starts with /".to_owned(),
            ));
        }
        self.client
            .post_json(
                "/cgi-bin/openapi/quota/get",
                &[],
                &json!({ "cgi_path": cgi_path }),
            )
            .await
    }

    /// What WeChat recorded of a failed call of the last 7 days, by the `rid` of its `errmsg`
    /// (`openapi/rid/get`).
    ///
    /// # Errors
    ///
    /// [`ClientError::Request`] for an empty rid; 76001 not found, 76002 malformed, 76003 of
    /// another account, the usual errors.
    pub async fn rid(&self, rid: &str) -> Result<RidInfo, ClientError> {
        if rid.is_empty() {
            return Err(ClientError::Request(
                "openapi/rid/get: empty rid".to_owned(),
            ));
        }
        self.client
            .post_json("/cgi-bin/openapi/rid/get", &[], &json!({ "rid": rid }))
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::api::user::tests::{refreshed_once, refused_locally, setup};

    #[tokio::test]
    async fn short_keys_store_data_for_their_lifetime() {
        let (wechat, client) = setup().await;
        let ops = client.ops();
        let key = ops.shorten("scene=poster&id=7", Some(3600)).await.unwrap();
        let data = ops.fetch_short_key(&key).await.unwrap();
        assert_eq!(data.long_data, "scene=poster&id=7");
        assert!(data.expire_seconds <= 3600 && data.expire_seconds > 3500);
        assert!(
            ops.fetch_short_key("nope")
                .await
                .unwrap_err()
                .errcode()
                .is_some()
        );
        let gen_path = "/cgi-bin/shorten/gen";
        let before = wechat.calls(gen_path);
        for result in [
            ops.shorten("", None).await,
            ops.shorten(&"x".repeat(MAX_LONG_DATA_BYTES + 1), None)
                .await,
            ops.shorten("x", Some(MAX_SHORT_KEY_SECONDS + 1)).await,
        ] {
            assert!(matches!(result, Err(ClientError::Request(_))), "{result:?}");
        }
        assert_eq!(wechat.calls(gen_path), before);
        // The limits themselves pass.
        ops.shorten(
            &"x".repeat(MAX_LONG_DATA_BYTES),
            Some(MAX_SHORT_KEY_SECONDS),
        )
        .await
        .unwrap();
    }

    #[tokio::test]
    async fn quota_counts_calls_until_a_reset_and_resets_are_limited() {
        let (wechat, client) = setup().await;
        let ops = client.ops();
        for _ in 0..3 {
            client.tag().list().await.unwrap();
        }
        let quota = ops.quota("/cgi-bin/tags/get").await.unwrap();
        assert_eq!(quota.quota.used, 3);
        assert_eq!(quota.quota.remain, quota.quota.daily_limit - 3);
        assert!(quota.rate_limit.is_some());
        ops.clear_quota().await.unwrap();
        let body = wechat
            .last_request("/cgi-bin/clear_quota")
            .unwrap()
            .json()
            .unwrap();
        assert_eq!(body["appid"], wechat.app_id());
        assert_eq!(ops.quota("/cgi-bin/tags/get").await.unwrap().quota.used, 0);
        assert_eq!(
            ops.quota("/cgi-bin/nope").await.unwrap_err().errcode(),
            Some(76021)
        );
        refused_locally(
            &wechat,
            "/cgi-bin/openapi/quota/get-never",
            ops.quota("cgi-bin/tags/get").await,
        );
        // Ten resets a month, both kinds together.
        for _ in 0..4 {
            ops.clear_quota().await.unwrap();
        }
        for _ in 0..5 {
            ops.clear_quota_with_secret().await.unwrap();
        }
        let err = ops.clear_quota_with_secret().await.unwrap_err();
        assert_eq!(err.errcode(), Some(48006));
        assert!(err.to_string().contains("used up"), "{err}");
        assert_eq!(ops.clear_quota().await.unwrap_err().errcode(), Some(48006));
    }

    #[tokio::test]
    async fn the_secret_reset_needs_no_token_and_keeps_the_secret_out_of_the_url() {
        let (wechat, client) = setup().await;
        client.ops().clear_quota_with_secret().await.unwrap();
        assert_eq!(wechat.token_fetches(), 0, "no token needed");
        let req = wechat.last_request("/cgi-bin/clear_quota/v2").unwrap();
        assert!(req.query.is_empty(), "{:?}", req.query);
        let body = req.json().unwrap();
        assert_eq!(body["appsecret"], wechat.app_secret());
        // A wrong secret is WeChat's 40125, and the error does not carry the secret.
        let stranger = WechatClient::builder(wechat.app_id(), "not-the-secret")
            .api_base(wechat.base_url())
            .build()
            .unwrap();
        let err = stranger.ops().clear_quota_with_secret().await.unwrap_err();
        assert_eq!(err.errcode(), Some(40125));
        assert!(!format!("{err:?} {err}").contains("not-the-secret"));
        // Even when token fetches are refused (45009), the reset still gets through.
        wechat.fail_next("/cgi-bin/token", 1, 45009);
        wechat.fail_next("/cgi-bin/stable_token", 1, 45009);
        client.ops().clear_quota_with_secret().await.unwrap();
    }

    #[tokio::test]
    async fn a_rid_tells_what_wechat_saw_and_its_debug_hides_the_token() {
        let (wechat, client) = setup().await;
        let err = client.tag().delete(2).await.unwrap_err();
        assert_eq!(err.errcode(), Some(45058));
        let rid = wechat.issue_rid("/cgi-bin/tags/delete").unwrap();
        let info = client.ops().rid(&rid).await.unwrap();
        assert!(info.request.request_body.contains("\"id\":2"));
        let token = wechat.current_token().unwrap();
        assert!(info.request.request_url.contains(&token));
        let debug = format!("{info:?}");
        assert!(!debug.contains(&token), "{debug}");
        assert!(debug.contains("access_token=[redacted]"), "{debug}");
        assert_eq!(
            client.ops().rid("not a rid").await.unwrap_err().errcode(),
            Some(76002)
        );
        assert_eq!(
            client
                .ops()
                .rid("00000000-00000000-00000000")
                .await
                .unwrap_err()
                .errcode(),
            Some(76001)
        );
    }

    #[tokio::test]
    async fn ops_refusals_are_typed_with_their_meaning() {
        let (wechat, client) = setup().await;
        let ops = client.ops();
        for (path, code) in [
            ("/cgi-bin/shorten/gen", 45009),
            ("/cgi-bin/shorten/fetch", 45011),
            ("/cgi-bin/clear_quota", 40013),
            ("/cgi-bin/clear_quota/v2", 41004),
            ("/cgi-bin/openapi/quota/get", 76022),
            ("/cgi-bin/openapi/rid/get", 76003),
        ] {
            wechat.fail_next(path, 1, code);
            let result = match path {
                "/cgi-bin/shorten/gen" => ops.shorten("x", None).await.map(drop),
                "/cgi-bin/shorten/fetch" => ops.fetch_short_key("k").await.map(drop),
                "/cgi-bin/clear_quota" => ops.clear_quota().await,
                "/cgi-bin/clear_quota/v2" => ops.clear_quota_with_secret().await,
                "/cgi-bin/openapi/quota/get" => ops.quota("/cgi-bin/tags/get").await.map(drop),
                _ => ops.rid("00000000-00000000-00000000").await.map(drop),
            };
            let err = result.unwrap_err();
            assert_eq!(err.errcode(), Some(code), "{path}");
            assert!(err.wechat().unwrap().meaning().is_some(), "{path}: {err}");
        }
    }

    #[tokio::test]
    async fn every_ops_call_with_a_token_survives_a_refused_token() {
        let (wechat, client) = setup().await;
        let ops = client.ops();
        let key = ops.shorten("data", None).await.unwrap();
        client.tag().list().await.unwrap();
        let rid = wechat.issue_rid("/cgi-bin/tags/get").unwrap();
        for path in [
            "/cgi-bin/shorten/fetch",
            "/cgi-bin/clear_quota",
            "/cgi-bin/openapi/quota/get",
            "/cgi-bin/openapi/rid/get",
        ] {
            let fetches = wechat.token_fetches();
            wechat.fail_next(path, 1, 40001);
            match path {
                "/cgi-bin/shorten/fetch" => drop(ops.fetch_short_key(&key).await.unwrap()),
                "/cgi-bin/clear_quota" => ops.clear_quota().await.unwrap(),
                "/cgi-bin/openapi/quota/get" => {
                    // The reset just before zeroed the count of the one call.
                    assert_eq!(ops.quota("/cgi-bin/tags/get").await.unwrap().quota.used, 0);
                }
                _ => drop(ops.rid(&rid).await.unwrap()),
            }
            refreshed_once(&wechat, path, fetches);
        }
        // clear_quota/v2 takes no token: a 40001 is WeChat's answer, not retried.
        wechat.fail_next("/cgi-bin/clear_quota/v2", 1, 40001);
        assert_eq!(
            ops.clear_quota_with_secret().await.unwrap_err().errcode(),
            Some(40001)
        );
        assert_eq!(wechat.calls("/cgi-bin/clear_quota/v2"), 1);
    }
}
