//! Links into the Mini Program: `wxa/generatescheme`, `wxa/queryscheme`,
//! `wxa/generate_urllink`, `wxa/query_urllink`, `wxa/genwxashortlink`; and the Mini Program
//! state the code, link, content-check and template endpoints share ([`MpApis`]).

use std::collections::HashMap;

use serde_json::{Map, Value, json};

use super::server::{Answer, Outcome, Shared, State, fail, json_body, non_empty_str, unix_now};
use super::{MockWechat, RecordedRequest};

/// The pages a mock Mini Program has published, unless [`MockWechat::publish_page`] adds more.
pub const DEFAULT_PAGES: [&str; 3] = [
    "pages/index/index",
    "pages/shop/index",
    "pages/goods/detail",
];

/// The longest a scheme or URL Link lives: 30 days.
const MAX_LIFETIME: u64 = 30 * 24 * 3600;

/// The Mini Program state of the mock: published pages, generated links, templates, content
/// checks.
pub(super) struct MpApis {
    pub(super) pages: Vec<String>,
    /// Generated schemes and URL Links: their `*_info` answer.
    links: HashMap<String, Value>,
    /// The app's subscribe templates, oldest first.
    pub(super) templates: Vec<Value>,
    /// `media_check_async` calls: trace id, media URL.
    pub(super) media_checks: Vec<(String, String)>,
}

impl Default for MpApis {
    fn default() -> Self {
        Self {
            pages: DEFAULT_PAGES.map(str::to_owned).to_vec(),
            links: HashMap::new(),
            templates: Vec::new(),
            media_checks: Vec::new(),
        }
    }
}

impl MpApis {
    pub(super) fn is_published(&self, page: &str) -> bool {
        self.pages.iter().any(|p| p == page)
    }
}

impl MockWechat {
    /// Publishes `page` (`pages/x/y`, no leading `/`): codes and links may lead there.
    /// [`DEFAULT_PAGES`] are published from the start.
    pub fn publish_page(&self, page: &str) {
        self.state().mp.pages.push(page.to_owned());
    }

    /// The `trace_id`s `media_check_async` answered, with the media URL of each, oldest first
    /// (to build the `wxa_media_check` push of a check).
    #[must_use]
    pub fn media_checks(&self) -> Vec<(String, String)> {
        self.state().mp.media_checks.clone()
    }
}

/// 24 random hex digits, for link and trace ids.
pub(super) fn random_id() -> String {
    use std::fmt::Write as _;
    let mut bytes = [0u8; 12];
    // Ids of a test double need not be secret; digits of a nonce if the OS has no generator.
    if getrandom::fill(&mut bytes).is_err() {
        let digits = format!(
            "{}{}",
            wechat_core::crypt::nonce(),
            wechat_core::crypt::nonce()
        );
        bytes.copy_from_slice(&digits.as_bytes()[..12]);
    }
    bytes.iter().fold(String::with_capacity(24), |mut id, b| {
        let _ = write!(id, "{b:02x}");
        id
    })
}

impl State {
    pub(super) fn generate_scheme(&mut self, shared: &Shared, req: &RecordedRequest) -> Outcome {
        let body = json_body(req)?;
        let (path, query, env) = match body.get("jump_wxa") {
            None => (String::new(), String::new(), "release".to_owned()),
            Some(Value::Object(jump)) => self.target(jump, "path", 40165)?,
            Some(_) => return Err(fail(47001)),
        };
        let expire_time = expiry(&body)?;
        let scheme = format!("weixin://dl/business/?t={}", random_id());
        self.mp.links.insert(
            scheme.clone(),
            link_info(shared, &path, &query, &env, expire_time),
        );
        Ok(Answer::Json(
            json!({ "errcode": 0, "errmsg": "ok", "openlink": scheme }),
        ))
    }

    pub(super) fn query_scheme(&mut self, req: &RecordedRequest) -> Outcome {
        let body = json_body(req)?;
        let scheme = non_empty_str(&body, "scheme")?;
        let info = self.mp.links.get(scheme).ok_or_else(|| fail(40097))?;
        Ok(Answer::Json(json!({
            "errcode": 0,
            "errmsg": "ok",
            "scheme_info": info,
            "quota_info": { "remain_visit_quota": 1000 },
        })))
    }

    pub(super) fn generate_urllink(&mut self, shared: &Shared, req: &RecordedRequest) -> Outcome {
        let body = json_body(req)?;
        let (path, query, env) = self.target(&body, "path", 40165)?;
        if let Some(cloud) = body.get("cloud_base")
            && cloud
                .get("env")
                .and_then(Value::as_str)
                .is_none_or(str::is_empty)
        {
            return Err(fail(47001));
        }
        let expire_time = expiry(&body)?;
        let link = format!("https://wxaurl.cn/{}", random_id());
        self.mp.links.insert(
            link.clone(),
            link_info(shared, &path, &query, &env, expire_time),
        );
        Ok(Answer::Json(
            json!({ "errcode": 0, "errmsg": "ok", "url_link": link }),
        ))
    }

    pub(super) fn query_urllink(&mut self, req: &RecordedRequest) -> Outcome {
        let body = json_body(req)?;
        let link = non_empty_str(&body, "url_link")?;
        let info = self.mp.links.get(link).ok_or_else(|| fail(40097))?;
        Ok(Answer::Json(json!({
            "errcode": 0,
            "errmsg": "ok",
            "url_link_info": info,
            "quota_info": { "remain_visit_quota": 1000 },
        })))
    }

    pub(super) fn short_link(&mut self, req: &RecordedRequest) -> Outcome {
        let body = json_body(req)?;
        let page_url = non_empty_str(&body, "page_url")?;
        let page = page_url.split_once('?').map_or(page_url, |(page, _)| page);
        if page.starts_with('/') || !self.mp.is_published(page) {
            return Err(fail(40066));
        }
        if body.get("is_permanent").is_some_and(|v| !v.is_boolean()) {
            return Err(fail(47001));
        }
        let title = match body.get("page_title") {
            None => "页面",
            Some(Value::String(title)) => title.as_str(),
            Some(_) => return Err(fail(47001)),
        };
        let title: String = title.chars().take(20).collect();
        Ok(Answer::Json(json!({
            "errcode": 0,
            "errmsg": "ok",
            "link": format!("#小程序://Mock小程序/{title}/{}", &random_id()[..8]),
        })))
    }

    /// The page, query and version a link leads to, checked: a page must be published (else
    /// `bad_page`), the query at most 1024 characters (else 40212).
    fn target(
        &self,
        object: &Map<String, Value>,
        path_key: &str,
        bad_page: i64,
    ) -> Result<(String, String, String), Answer> {
        let text = |key: &str| match object.get(key) {
            None => Ok(String::new()),
            Some(Value::String(s)) => Ok(s.clone()),
            Some(_) => Err(fail(47001)),
        };
        let path = text(path_key)?;
        if !path.is_empty() && !self.mp.is_published(&path) {
            return Err(fail(bad_page));
        }
        let query = text("query")?;
        if query.chars().count() > 1024 || query.chars().any(char::is_control) {
            return Err(fail(40212));
        }
        let env = match object.get("env_version") {
            None => "release".to_owned(),
            Some(Value::String(v)) if matches!(v.as_str(), "release" | "trial" | "develop") => {
                v.clone()
            }
            Some(_) => return Err(fail(40097)),
        };
        Ok((path, query, env))
    }
}

/// When a link expires, checked as WeChat does: at `expire_time` (type 0; within 30 days, else
/// 85401) or after `expire_interval` days (type 1; 1–30, else 85402); 30 days when unset.
fn expiry(body: &Map<String, Value>) -> Result<u64, Answer> {
    let now = unix_now();
    let number = |key: &str| match body.get(key) {
        None => Ok(None),
        Some(v) => v.as_u64().map(Some).ok_or_else(|| fail(47001)),
    };
    match number("expire_type")? {
        None | Some(0) => match number("expire_time")? {
            None => Ok(now + MAX_LIFETIME),
            Some(at) if at > now + 60 && at <= now + MAX_LIFETIME => Ok(at),
            Some(_) => Err(fail(85401)),
        },
        Some(1) => match number("expire_interval")? {
            Some(days @ 1..=30) => Ok(now + days * 24 * 3600),
            _ => Err(fail(85402)),
        },
        Some(_) => Err(fail(40097)),
    }
}

fn link_info(shared: &Shared, path: &str, query: &str, env: &str, expire_time: u64) -> Value {
    json!({
        "appid": shared.app_id,
        "path": path,
        "query": query,
        "create_time": unix_now(),
        "expire_time": expire_time,
        "env_version": env,
    })
}
