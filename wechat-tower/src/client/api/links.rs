//! Links into a Mini Program from outside WeChat's chats: URL Schemes (`wxa/generatescheme`,
//! `weixin://dl/business/?t=…`, opened from SMS or other apps), URL Links
//! (`wxa/generate_urllink`, `https://wxaurl.cn/…`, opened from a browser), their queries
//! (`wxa/queryscheme`, `wxa/query_urllink`) and Short Links (`wxa/genwxashortlink`,
//! `#小程序://…`, pasted into a WeChat chat).
//!
//! Schemes and URL Links expire after at most 30 days; set the expiry with
//! [`expire_at`](SchemeRequest::expire_at) (a Unix time) or
//! [`expire_after_days`](SchemeRequest::expire_after_days) (1–30).
//!
//! ```
//! use wechat_tower::client::{SchemeRequest, ShortLinkRequest, UrlLinkRequest, WechatClient};
//! use wechat_tower::test_util::mock::MockWechat;
//!
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let wechat = MockWechat::start().await?;
//! let client = WechatClient::builder(wechat.app_id(), wechat.app_secret())
//!     .api_base(wechat.base_url())
//!     .build()?;
//!
//! let scheme = client
//!     .links()
//!     .generate_scheme(&SchemeRequest::new().page("pages/shop/index", "id=42").expire_after_days(7)?)
//!     .await?;
//! assert!(scheme.starts_with("weixin://dl/business/?t="));
//! let info = client.links().query_scheme(&scheme).await?;
//! assert_eq!(info.scheme_info.path, "pages/shop/index");
//!
//! let link = client.links().generate_urllink(&UrlLinkRequest::new().path("pages/index/index")).await?;
//! assert!(link.starts_with("https://wxaurl.cn/"));
//!
//! let short = client.links().short_link(&ShortLinkRequest::new("pages/index/index?id=1")).await?;
//! assert!(short.starts_with("#小程序://"));
//! # Ok(()) }
//! ```

use serde::{Deserialize, Serialize};

use crate::client::error::ClientError;
use crate::client::wechat_client::WechatClient;

/// The version of the Mini Program a code, scheme or link opens (`env_version`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum EnvVersion {
    /// The published version (正式版), the default.
    #[default]
    Release,
    /// The trial version (体验版).
    Trial,
    /// The development version (开发版).
    Develop,
}

/// The longest a scheme or URL Link may live, in days.
pub const MAX_EXPIRE_DAYS: u32 = 30;

/// When a scheme or URL Link expires: the fields `expire_type`, `expire_time`,
/// `expire_interval` of the request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Default)]
struct Expiry {
    /// 0: at `expire_time`; 1: after `expire_interval` days.
    #[serde(skip_serializing_if = "Option::is_none")]
    expire_type: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    expire_time: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    expire_interval: Option<u32>,
}

impl Expiry {
    fn at(unix: u64) -> Self {
        Self {
            expire_type: Some(0),
            expire_time: Some(unix),
            expire_interval: None,
        }
    }

    fn after_days(days: u32) -> Result<Self, ClientError> {
        if !(1..=MAX_EXPIRE_DAYS).contains(&days) {
            return Err(ClientError::Request(format!(
                "expire_interval {days} is outside 1..={MAX_EXPIRE_DAYS} days (WeChat answers 85402)"
            )));
        }
        Ok(Self {
            expire_type: Some(1),
            expire_time: None,
            expire_interval: Some(days),
        })
    }
}

/// Where a scheme leads (`jump_wxa`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[non_exhaustive]
pub struct JumpWxa {
    /// A published page, without a leading `/` (empty: the home page).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// Its query, `a=1&b=2` (at most 512 characters).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub query: Option<String>,
    /// The version it opens (default release).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub env_version: Option<EnvVersion>,
}

/// A request of `generatescheme`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default)]
#[must_use]
pub struct SchemeRequest {
    #[serde(skip_serializing_if = "Option::is_none")]
    jump_wxa: Option<JumpWxa>,
    #[serde(skip_serializing_if = "Option::is_none")]
    is_expire: Option<bool>,
    #[serde(flatten)]
    expiry: Expiry,
}

impl SchemeRequest {
    /// A scheme to the home page, expiring after WeChat's default.
    pub fn new() -> Self {
        Self::default()
    }

    /// Lead to `path` (no leading `/`) with `query` (`a=1&b=2`, may be empty).
    pub fn page(mut self, path: impl Into<String>, query: impl Into<String>) -> Self {
        let jump = self.jump_wxa.get_or_insert_with(JumpWxa::default);
        jump.path = Some(path.into());
        let query = query.into();
        jump.query = (!query.is_empty()).then_some(query);
        self
    }

    /// Open this version of the Mini Program.
    pub fn env_version(mut self, version: EnvVersion) -> Self {
        self.jump_wxa
            .get_or_insert_with(JumpWxa::default)
            .env_version = Some(version);
        self
    }

    /// Expire at `unix` (seconds; within 30 days from now, else WeChat answers 85401).
    pub fn expire_at(mut self, unix: u64) -> Self {
        self.is_expire = Some(true);
        self.expiry = Expiry::at(unix);
        self
    }

    /// Expire `days` days after it is generated (1–30).
    ///
    /// # Errors
    ///
    /// [`ClientError::Request`] outside 1–30.
    pub fn expire_after_days(mut self, days: u32) -> Result<Self, ClientError> {
        self.is_expire = Some(true);
        self.expiry = Expiry::after_days(days)?;
        Ok(self)
    }

    fn check(&self) -> Result<(), ClientError> {
        if let Some(jump) = &self.jump_wxa {
            check_page(jump.path.as_deref(), jump.query.as_deref())?;
        }
        Ok(())
    }
}

/// A request of `generate_urllink`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default)]
#[must_use]
pub struct UrlLinkRequest {
    #[serde(skip_serializing_if = "Option::is_none")]
    path: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    query: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    env_version: Option<EnvVersion>,
    #[serde(skip_serializing_if = "Option::is_none")]
    is_expire: Option<bool>,
    #[serde(flatten)]
    expiry: Expiry,
    #[serde(skip_serializing_if = "Option::is_none")]
    cloud_base: Option<CloudBase>,
}

impl UrlLinkRequest {
    /// A link to the home page.
    pub fn new() -> Self {
        Self::default()
    }

    /// Lead to `path` (a published page, no leading `/`).
    pub fn path(mut self, path: impl Into<String>) -> Self {
        self.path = Some(path.into());
        self
    }

    /// With this query (`a=1&b=2`, at most 1024 characters).
    pub fn query(mut self, query: impl Into<String>) -> Self {
        self.query = Some(query.into());
        self
    }

    /// Open this version of the Mini Program.
    pub fn env_version(mut self, version: EnvVersion) -> Self {
        self.env_version = Some(version);
        self
    }

    /// Expire at `unix` (seconds; within 30 days from now).
    pub fn expire_at(mut self, unix: u64) -> Self {
        self.is_expire = Some(true);
        self.expiry = Expiry::at(unix);
        self
    }

    /// Expire `days` days after it is generated (1–30).
    ///
    /// # Errors
    ///
    /// [`ClientError::Request`] outside 1–30.
    pub fn expire_after_days(mut self, days: u32) -> Result<Self, ClientError> {
        self.is_expire = Some(true);
        self.expiry = Expiry::after_days(days)?;
        Ok(self)
    }

    /// Open a static page of Cloud Development (云开发静态网站) instead.
    pub fn cloud_base(mut self, cloud_base: CloudBase) -> Self {
        self.cloud_base = Some(cloud_base);
        self
    }

    fn check(&self) -> Result<(), ClientError> {
        check_page(self.path.as_deref(), self.query.as_deref())
    }
}

/// The Cloud Development static page of a URL Link (`cloud_base`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[non_exhaustive]
pub struct CloudBase {
    /// The cloud environment.
    pub env: String,
    /// The static site's domain (default: the environment's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub domain: Option<String>,
    /// The page path (default `/`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// Its query.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub query: Option<String>,
    /// The app whose resources it uses (third-party platforms).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_appid: Option<String>,
}

impl CloudBase {
    /// The static site of environment `env`.
    pub fn new(env: impl Into<String>) -> Self {
        Self {
            env: env.into(),
            ..Self::default()
        }
    }
}

/// A request of `genwxashortlink`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[must_use]
pub struct ShortLinkRequest {
    page_url: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    page_title: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    is_permanent: Option<bool>,
}

impl ShortLinkRequest {
    /// A link to `page_url`: a published page with its query, `pages/index/index?id=1`, no
    /// leading `/` (WeChat answers 40066 otherwise).
    pub fn new(page_url: impl Into<String>) -> Self {
        Self {
            page_url: page_url.into(),
            page_title: None,
            is_permanent: None,
        }
    }

    /// The title shown with the link (longer than 20 characters is cut by WeChat).
    pub fn page_title(mut self, title: impl Into<String>) -> Self {
        self.page_title = Some(title.into());
        self
    }

    /// A permanent link (at most 100 000 per app) instead of a temporary one (30 days).
    pub fn permanent(mut self, permanent: bool) -> Self {
        self.is_permanent = Some(permanent);
        self
    }

    fn check(&self) -> Result<(), ClientError> {
        let (page, query) = match self.page_url.split_once('?') {
            Some((page, query)) => (page, Some(query)),
            None => (self.page_url.as_str(), None),
        };
        if page.is_empty() {
            return Err(ClientError::Request("page_url is empty".into()));
        }
        check_page(Some(page), query)
    }
}

fn check_page(path: Option<&str>, query: Option<&str>) -> Result<(), ClientError> {
    if let Some(path) = path {
        if path.starts_with('/') {
            return Err(ClientError::Request(format!(
                "page `{path}` must not start with `/` (WeChat refuses it)"
            )));
        }
        if path.contains('?') {
            return Err(ClientError::Request(format!(
                "page `{path}` holds a query: give the query on its own"
            )));
        }
    }
    let any_control = |s: Option<&str>| s.is_some_and(|s| s.chars().any(char::is_control));
    if any_control(path) || any_control(query) {
        return Err(ClientError::Request(
            "page or query holds a control character".into(),
        ));
    }
    Ok(())
}

/// Where a scheme or URL Link leads and how long it lives (`scheme_info`, `url_link_info`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[non_exhaustive]
pub struct LinkInfo {
    /// The Mini Program.
    #[serde(default)]
    pub appid: String,
    /// The page.
    #[serde(default)]
    pub path: String,
    /// Its query.
    #[serde(default)]
    pub query: String,
    /// When it was generated (Unix seconds).
    #[serde(default)]
    pub create_time: u64,
    /// When it expires (Unix seconds; 0 for none).
    #[serde(default)]
    pub expire_time: u64,
    /// The version it opens, as WeChat spells it (`release`, `trial`, `develop`).
    #[serde(default)]
    pub env_version: String,
    /// The Cloud Development page of a URL Link, if any.
    #[serde(default)]
    pub cloud_base: Option<CloudBase>,
}

/// How many more visits a link may get (`quota_info`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[non_exhaustive]
pub struct VisitQuota {
    /// Visits left today (URL Scheme and URL Link share the quota).
    #[serde(default)]
    pub remain_visit_quota: u64,
}

/// The answer of `queryscheme`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[non_exhaustive]
pub struct SchemeQuery {
    /// Where it leads.
    pub scheme_info: LinkInfo,
    /// The visit quota left, when WeChat says.
    #[serde(default)]
    pub quota_info: Option<VisitQuota>,
    /// The openid of the user who opened it, once one did.
    #[serde(default)]
    pub visit_openid: Option<String>,
}

/// The answer of `query_urllink`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[non_exhaustive]
pub struct UrlLinkQuery {
    /// Where it leads.
    pub url_link_info: LinkInfo,
    /// The visit quota left, when WeChat says.
    #[serde(default)]
    pub quota_info: Option<VisitQuota>,
    /// The openid of the user who opened it, once one did.
    #[serde(default)]
    pub visit_openid: Option<String>,
}

#[derive(Deserialize)]
struct Openlink {
    openlink: String,
}

#[derive(Deserialize)]
struct UrlLinkAnswer {
    url_link: String,
}

#[derive(Deserialize)]
struct ShortLinkAnswer {
    link: String,
}

#[derive(Serialize)]
struct QueryScheme<'a> {
    scheme: &'a str,
}

#[derive(Serialize)]
struct QueryUrlLink<'a> {
    url_link: &'a str,
}

/// Links into the Mini Program of a [`WechatClient`]: `client.links()`. See the
/// [module docs](self).
#[derive(Debug, Clone, Copy)]
pub struct LinksApi<'a> {
    client: &'a WechatClient,
}

impl WechatClient {
    /// URL Schemes, URL Links and Short Links into the Mini Program.
    #[must_use]
    pub fn links(&self) -> LinksApi<'_> {
        LinksApi { client: self }
    }
}

impl LinksApi<'_> {
    /// A URL Scheme (`wxa/generatescheme`): `weixin://dl/business/?t=…`.
    ///
    /// # Errors
    ///
    /// [`ClientError::Request`] for a page WeChat would refuse (checked before sending);
    /// [`ClientError::Wechat`] with 85079 (no published version), 40165 (page not published),
    /// 40212 (invalid query), 85401 (`expire_time` out of range), 85402 (`expire_interval` out
    /// of range), 44990 (too frequent), 85400 (long-lived schemes used up), 45009, the usual
    /// errors.
    pub async fn generate_scheme(&self, request: &SchemeRequest) -> Result<String, ClientError> {
        request.check()?;
        let answer: Openlink = self
            .client
            .post_json("/wxa/generatescheme", &[], request)
            .await?;
        Ok(answer.openlink)
    }

    /// Where a URL Scheme leads, and whether it was opened (`wxa/queryscheme`).
    ///
    /// # Errors
    ///
    /// [`ClientError::Wechat`] with 40097 (not a scheme of this app), the usual errors.
    pub async fn query_scheme(&self, scheme: &str) -> Result<SchemeQuery, ClientError> {
        self.client
            .post_json("/wxa/queryscheme", &[], &QueryScheme { scheme })
            .await
    }

    /// A URL Link (`wxa/generate_urllink`): `https://wxaurl.cn/…`.
    ///
    /// # Errors
    ///
    /// As [`generate_scheme`](Self::generate_scheme).
    pub async fn generate_urllink(&self, request: &UrlLinkRequest) -> Result<String, ClientError> {
        request.check()?;
        let answer: UrlLinkAnswer = self
            .client
            .post_json("/wxa/generate_urllink", &[], request)
            .await?;
        Ok(answer.url_link)
    }

    /// Where a URL Link leads, and whether it was opened (`wxa/query_urllink`).
    ///
    /// # Errors
    ///
    /// [`ClientError::Wechat`] with 40097 (not a link of this app), the usual errors.
    pub async fn query_urllink(&self, url_link: &str) -> Result<UrlLinkQuery, ClientError> {
        self.client
            .post_json("/wxa/query_urllink", &[], &QueryUrlLink { url_link })
            .await
    }

    /// A Short Link (`wxa/genwxashortlink`): `#小程序://…`, opened when pasted into a chat.
    ///
    /// # Errors
    ///
    /// [`ClientError::Request`] for a page WeChat would refuse; [`ClientError::Wechat`] with
    /// 40066 (page not in the published version), 85400 (permanent links used up), 44990,
    /// the usual errors.
    pub async fn short_link(&self, request: &ShortLinkRequest) -> Result<String, ClientError> {
        request.check()?;
        let answer: ShortLinkAnswer = self
            .client
            .post_json("/wxa/genwxashortlink", &[], request)
            .await?;
        Ok(answer.link)
    }
}

/// The errors the link APIs' documentation lists (besides the common ones).
pub(crate) fn meaning(code: i64) -> Option<&'static str> {
    Some(match code {
        40066 => "invalid url: page_url is not a page of the published version",
        40165 => "invalid page path: not a page of the published version (页面路径不存在)",
        40212 => "invalid query: too long or malformed (query 参数错误)",
        44990 => "too many requests per second (生成频率过快)",
        85079 => "the Mini Program has no published version (小程序未发布)",
        85400 => "long-lived schemes or links used up (长期有效链接已达上限)",
        85401 => "expire_time out of range: more than a minute and at most 30 days from now",
        85402 => "expire_interval out of range: 1 to 30 days",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_serialize_as_documented() {
        let scheme = SchemeRequest::new()
            .page("pages/a/b", "id=1")
            .env_version(EnvVersion::Trial)
            .expire_after_days(7)
            .unwrap();
        assert_eq!(
            serde_json::to_value(&scheme).unwrap(),
            serde_json::json!({
                "jump_wxa": {"path": "pages/a/b", "query": "id=1", "env_version": "trial"},
                "is_expire": true,
                "expire_type": 1,
                "expire_interval": 7,
            })
        );
        let link = UrlLinkRequest::new()
            .path("pages/a/b")
            .expire_at(1_700_000_000);
        assert_eq!(
            serde_json::to_value(&link).unwrap(),
            serde_json::json!({
                "path": "pages/a/b",
                "is_expire": true,
                "expire_type": 0,
                "expire_time": 1_700_000_000,
            })
        );
        assert_eq!(
            serde_json::to_value(SchemeRequest::new()).unwrap(),
            serde_json::json!({})
        );
    }

    #[test]
    fn bad_expiries_and_pages_are_refused_before_sending() {
        assert!(SchemeRequest::new().expire_after_days(0).is_err());
        assert!(UrlLinkRequest::new().expire_after_days(31).is_err());
        assert!(SchemeRequest::new().page("/pages/a", "").check().is_err());
        assert!(UrlLinkRequest::new().path("pages/a?x=1").check().is_err());
        assert!(ShortLinkRequest::new("/pages/a?x=1").check().is_err());
        assert!(ShortLinkRequest::new("?x=1").check().is_err());
        assert!(ShortLinkRequest::new("pages/a?x=1").check().is_ok());
    }

    #[test]
    fn answers_tolerate_unknown_and_missing_fields() {
        let query: SchemeQuery = serde_json::from_str(
            r#"{"errcode":0,"errmsg":"ok","scheme_info":{"appid":"wx1","path":"pages/a",
                "query":"","create_time":1,"expire_time":2,"env_version":"release","new":1},
                "visit_openid":"oUser","quota_info":{"remain_visit_quota":10}}"#,
        )
        .unwrap();
        assert_eq!(query.scheme_info.path, "pages/a");
        assert_eq!(query.visit_openid.as_deref(), Some("oUser"));
        assert_eq!(query.quota_info.unwrap().remain_visit_quota, 10);
        let bare: UrlLinkQuery = serde_json::from_str(r#"{"url_link_info":{}}"#).unwrap();
        assert!(bare.visit_openid.is_none());
    }
}
