//! Subscribe-message templates (订阅消息模板) of a Mini Program: the app's own templates
//! (`wxaapi/newtmpl/gettemplate`, `addtemplate`, `deltemplate`), its categories
//! (`getcategory`) and the public template library of a category (`getpubtemplatetitles`,
//! `getpubtemplatekeywords`). Sending is
//! [`MiniProgramApi::send_subscribe`](crate::client::MiniProgramApi::send_subscribe).
//!
//! ```
//! use wechat_tower::client::{AddTemplate, TitlesQuery, WechatClient};
//! use wechat_tower::test_util::mock::MockWechat;
//!
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let wechat = MockWechat::start().await?;
//! let client = WechatClient::builder(wechat.app_id(), wechat.app_secret())
//!     .api_base(wechat.base_url())
//!     .build()?;
//!
//! let templates = client.subscribe();
//! let category = &templates.categories().await?[0];
//! let titles = templates.pub_template_titles(&TitlesQuery::new([category.id], 0, 10)?).await?;
//! let tid = titles.data[0].tid;
//! let keywords = templates.pub_template_keywords(tid).await?;
//! let kids: Vec<u32> = keywords.data.iter().take(3).map(|k| k.kid).collect();
//! let id = templates.add_template(&AddTemplate::new(tid, kids)?.scene_desc("order updates")).await?;
//! assert!(templates.list().await?.iter().any(|t| t.pri_tmpl_id == id));
//! templates.delete_template(&id).await?;
//! # Ok(()) }
//! ```

use serde::{Deserialize, Deserializer, Serialize};

use crate::client::error::ClientError;
use crate::client::wechat_client::WechatClient;

/// Whether a template is sent once per subscription or long-term (`type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(from = "u32", into = "u32")]
#[non_exhaustive]
pub enum TemplateKind {
    /// 2: one-time (一次性订阅): one message per user consent.
    OneTime,
    /// 3: long-term (长期订阅), for some public-service categories.
    LongTerm,
    /// A number this crate does not know yet.
    Other(u32),
}

impl From<u32> for TemplateKind {
    fn from(code: u32) -> Self {
        match code {
            2 => Self::OneTime,
            3 => Self::LongTerm,
            other => Self::Other(other),
        }
    }
}

impl From<TemplateKind> for u32 {
    fn from(kind: TemplateKind) -> Self {
        match kind {
            TemplateKind::OneTime => 2,
            TemplateKind::LongTerm => 3,
            TemplateKind::Other(code) => code,
        }
    }
}

/// The allowed values of an enumerated keyword of a template (`keywordEnumValueList[]`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct KeywordEnumValues {
    /// The keyword (`phrase1`, …).
    #[serde(rename = "keywordCode", default)]
    pub keyword_code: String,
    /// Its values.
    #[serde(rename = "enumValueList", default)]
    pub enum_values: Vec<String>,
}

/// A template of the app (`gettemplate` `data[]`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct PrivateTemplate {
    /// The template id to send with (`priTmplId`).
    #[serde(rename = "priTmplId")]
    pub pri_tmpl_id: String,
    /// Its title.
    #[serde(default)]
    pub title: String,
    /// Its content, `{{thing1.DATA}}` placeholders.
    #[serde(default)]
    pub content: String,
    /// An example message.
    #[serde(default)]
    pub example: String,
    /// One-time or long-term.
    #[serde(rename = "type")]
    pub kind: TemplateKind,
    /// Enumerated keywords and their values.
    #[serde(rename = "keywordEnumValueList", default)]
    pub keyword_enum_values: Vec<KeywordEnumValues>,
}

/// A category of the app (`getcategory` `data[]`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Category {
    /// Its id, for [`TitlesQuery`].
    pub id: u32,
    /// Its name.
    #[serde(default)]
    pub name: String,
}

/// A template title of the public library (`getpubtemplatetitles` `data[]`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct PubTemplateTitle {
    /// The title's id, for [`AddTemplate`].
    #[serde(deserialize_with = "number_or_string")]
    pub tid: u64,
    /// The title.
    #[serde(default)]
    pub title: String,
    /// One-time or long-term.
    #[serde(rename = "type")]
    pub kind: TemplateKind,
    /// The category (WeChat writes it as a string).
    #[serde(rename = "categoryId", default, deserialize_with = "string_or_number")]
    pub category_id: String,
}

/// A page of public template titles.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct PubTemplateTitles {
    /// How many titles match in all.
    #[serde(default)]
    pub count: u64,
    /// This page.
    #[serde(default)]
    pub data: Vec<PubTemplateTitle>,
}

/// A keyword of a public template title (`getpubtemplatekeywords` `data[]`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct PubTemplateKeyword {
    /// Its id, for [`AddTemplate`].
    pub kid: u32,
    /// Its name.
    #[serde(default)]
    pub name: String,
    /// An example value.
    #[serde(default)]
    pub example: String,
    /// Its type (`thing`, `time`, `amount`, `phrase`, …), which limits its values.
    #[serde(default)]
    pub rule: String,
}

/// The keywords of a public template title.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct PubTemplateKeywords {
    /// How many.
    #[serde(default)]
    pub count: u64,
    /// The keywords.
    #[serde(default)]
    pub data: Vec<PubTemplateKeyword>,
}

/// A query of `getpubtemplatetitles`: titles of some categories, one page.
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use]
pub struct TitlesQuery {
    ids: String,
    start: u32,
    limit: u32,
    keyword: Option<String>,
}

/// The most titles `getpubtemplatetitles` answers per page.
pub const MAX_TITLES_PER_PAGE: u32 = 30;

impl TitlesQuery {
    /// Titles of the categories `ids`, from `start`, at most `limit` (1–30).
    ///
    /// # Errors
    ///
    /// [`ClientError::Request`] with no category, or `limit` outside 1–30.
    pub fn new(
        ids: impl IntoIterator<Item = u32>,
        start: u32,
        limit: u32,
    ) -> Result<Self, ClientError> {
        let ids: Vec<String> = ids.into_iter().map(|id| id.to_string()).collect();
        if ids.is_empty() {
            return Err(ClientError::Request("no category id".into()));
        }
        if !(1..=MAX_TITLES_PER_PAGE).contains(&limit) {
            return Err(ClientError::Request(format!(
                "limit {limit} is outside 1..={MAX_TITLES_PER_PAGE} (WeChat answers 200017)"
            )));
        }
        Ok(Self {
            ids: ids.join(","),
            start,
            limit,
            keyword: None,
        })
    }

    /// Only titles containing `keyword`.
    pub fn keyword(mut self, keyword: impl Into<String>) -> Self {
        self.keyword = Some(keyword.into());
        self
    }
}

/// A request of `addtemplate`: a public title with the keywords chosen, in order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[must_use]
pub struct AddTemplate {
    tid: String,
    #[serde(rename = "kidList")]
    kid_list: Vec<u32>,
    #[serde(rename = "sceneDesc", skip_serializing_if = "Option::is_none")]
    scene_desc: Option<String>,
}

/// The fewest and most keywords of a template.
const KEYWORDS: std::ops::RangeInclusive<usize> = 2..=5;
/// The most characters of `sceneDesc`.
const MAX_SCENE_DESC_CHARS: usize = 15;

impl AddTemplate {
    /// The title `tid` with the keywords `kid_list` (2–5, each once), in this order.
    ///
    /// # Errors
    ///
    /// [`ClientError::Request`] for fewer than 2 or more than 5 keywords, or one twice (WeChat
    /// answers 200020).
    pub fn new(tid: u64, kid_list: impl Into<Vec<u32>>) -> Result<Self, ClientError> {
        let kid_list = kid_list.into();
        if !KEYWORDS.contains(&kid_list.len()) {
            return Err(ClientError::Request(format!(
                "{} keywords; a template has 2 to 5",
                kid_list.len()
            )));
        }
        let mut seen = kid_list.clone();
        seen.sort_unstable();
        seen.dedup();
        if seen.len() != kid_list.len() {
            return Err(ClientError::Request("a keyword is listed twice".into()));
        }
        Ok(Self {
            tid: tid.to_string(),
            kid_list,
            scene_desc: None,
        })
    }

    /// What the template is for (at most 15 characters; checked when sent).
    pub fn scene_desc(mut self, desc: impl Into<String>) -> Self {
        self.scene_desc = Some(desc.into());
        self
    }

    fn check(&self) -> Result<(), ClientError> {
        if let Some(desc) = &self.scene_desc {
            let chars = desc.chars().count();
            if chars > MAX_SCENE_DESC_CHARS {
                return Err(ClientError::Request(format!(
                    "sceneDesc is {chars} characters, more than {MAX_SCENE_DESC_CHARS} (WeChat \
                     answers 200021)"
                )));
            }
        }
        Ok(())
    }
}

#[derive(Deserialize)]
struct Data<T> {
    #[serde(default = "Vec::new")]
    data: Vec<T>,
}

#[derive(Deserialize)]
struct Added {
    #[serde(rename = "priTmplId")]
    pri_tmpl_id: String,
}

#[derive(Serialize)]
struct Delete<'a> {
    #[serde(rename = "priTmplId")]
    pri_tmpl_id: &'a str,
}

/// Subscribe-message templates of a [`WechatClient`]: `client.subscribe()`. See the
/// [module docs](self).
#[derive(Debug, Clone, Copy)]
pub struct SubscribeApi<'a> {
    client: &'a WechatClient,
}

impl WechatClient {
    /// Subscribe-message templates (订阅消息模板) of a Mini Program.
    #[must_use]
    pub fn subscribe(&self) -> SubscribeApi<'_> {
        SubscribeApi { client: self }
    }
}

impl SubscribeApi<'_> {
    /// The app's templates (`wxaapi/newtmpl/gettemplate`).
    ///
    /// # Errors
    ///
    /// The usual errors.
    pub async fn list(&self) -> Result<Vec<PrivateTemplate>, ClientError> {
        let answer: Data<PrivateTemplate> = self
            .client
            .get_json("/wxaapi/newtmpl/gettemplate", &[])
            .await?;
        Ok(answer.data)
    }

    /// Adds a template from the public library (`wxaapi/newtmpl/addtemplate`); answers its
    /// `priTmplId`.
    ///
    /// # Errors
    ///
    /// [`ClientError::Request`] for a `sceneDesc` over 15 characters; [`ClientError::Wechat`]
    /// with 200014 (unknown tid), 200020 (invalid keywords), 200021 (invalid sceneDesc),
    /// 200012 (50 templates already), 200013 (template banned), 200011 (account banned), the
    /// usual errors.
    pub async fn add_template(&self, request: &AddTemplate) -> Result<String, ClientError> {
        request.check()?;
        let added: Added = self
            .client
            .post_json("/wxaapi/newtmpl/addtemplate", &[], request)
            .await?;
        Ok(added.pri_tmpl_id)
    }

    /// Deletes a template of the app (`wxaapi/newtmpl/deltemplate`).
    ///
    /// # Errors
    ///
    /// [`ClientError::Wechat`] with 20002 (unknown template), 20001, the usual errors.
    pub async fn delete_template(&self, pri_tmpl_id: &str) -> Result<(), ClientError> {
        self.client
            .post_json::<_, serde::de::IgnoredAny>(
                "/wxaapi/newtmpl/deltemplate",
                &[],
                &Delete { pri_tmpl_id },
            )
            .await
            .map(drop)
    }

    /// The app's categories (`wxaapi/newtmpl/getcategory`).
    ///
    /// # Errors
    ///
    /// The usual errors.
    pub async fn categories(&self) -> Result<Vec<Category>, ClientError> {
        let answer: Data<Category> = self
            .client
            .get_json("/wxaapi/newtmpl/getcategory", &[])
            .await?;
        Ok(answer.data)
    }

    /// A page of the public template titles of some categories
    /// (`wxaapi/newtmpl/getpubtemplatetitles`).
    ///
    /// # Errors
    ///
    /// [`ClientError::Wechat`] with 200016 (invalid start), 200017 (invalid limit), 200018
    /// (no category ids), 200019 (invalid category ids), the usual errors.
    pub async fn pub_template_titles(
        &self,
        query: &TitlesQuery,
    ) -> Result<PubTemplateTitles, ClientError> {
        let start = query.start.to_string();
        let limit = query.limit.to_string();
        let mut params = vec![
            ("ids", query.ids.as_str()),
            ("start", start.as_str()),
            ("limit", limit.as_str()),
        ];
        if let Some(keyword) = &query.keyword {
            params.push(("keyword", keyword.as_str()));
        }
        self.client
            .get_json("/wxaapi/newtmpl/getpubtemplatetitles", &params)
            .await
    }

    /// The keywords of a public template title (`wxaapi/newtmpl/getpubtemplatekeywords`).
    ///
    /// # Errors
    ///
    /// [`ClientError::Wechat`] with 200014 (unknown tid), the usual errors.
    pub async fn pub_template_keywords(
        &self,
        tid: u64,
    ) -> Result<PubTemplateKeywords, ClientError> {
        let tid = tid.to_string();
        self.client
            .get_json("/wxaapi/newtmpl/getpubtemplatekeywords", &[("tid", &tid)])
            .await
    }
}

/// A number WeChat may write as a string.
fn number_or_string<'de, D: Deserializer<'de>>(de: D) -> Result<u64, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Either {
        Number(u64),
        Text(String),
    }
    match Either::deserialize(de)? {
        Either::Number(n) => Ok(n),
        Either::Text(s) => s.trim().parse().map_err(serde::de::Error::custom),
    }
}

/// A string WeChat may write as a number.
fn string_or_number<'de, D: Deserializer<'de>>(de: D) -> Result<String, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Either {
        Number(u64),
        Text(String),
    }
    Ok(match Either::deserialize(de)? {
        Either::Number(n) => n.to_string(),
        Either::Text(s) => s,
    })
}

/// The errors the subscribe-template documentation lists (besides the common ones).
pub(crate) fn meaning(code: i64) -> Option<&'static str> {
    Some(match code {
        20001 => "system error of the template service (系统错误)",
        20002 => "invalid parameter, e.g. an unknown priTmplId (参数错误)",
        200011 => "the account is banned from templates (此账号已被封禁)",
        200012 => "private template limit reached: 50 (个人模板数已达上限)",
        200013 => "this template is banned (此模板已被封禁)",
        200014 => "invalid or missing tid (模板 tid 参数错误)",
        200016 => "invalid start (start 参数错误)",
        200017 => "invalid limit (limit 参数错误)",
        200018 => "category ids missing (类目 ids 缺失)",
        200019 => "invalid category ids (类目 ids 不合法)",
        200020 => "invalid kidList (关键词列表 kidList 参数错误)",
        200021 => "invalid sceneDesc (场景描述 sceneDesc 参数错误)",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_serialize_as_documented() {
        let add = AddTemplate::new(99, [5, 3, 4])
            .unwrap()
            .scene_desc("下单成功");
        assert_eq!(
            serde_json::to_value(&add).unwrap(),
            serde_json::json!({"tid": "99", "kidList": [5, 3, 4], "sceneDesc": "下单成功"})
        );
    }

    #[test]
    fn bad_requests_are_refused_before_sending() {
        assert!(AddTemplate::new(1, [1]).is_err());
        assert!(AddTemplate::new(1, [1, 2, 3, 4, 5, 6]).is_err());
        assert!(AddTemplate::new(1, [1, 1]).is_err());
        assert!(
            AddTemplate::new(1, [1, 2])
                .unwrap()
                .scene_desc("x".repeat(16))
                .check()
                .is_err()
        );
        assert!(TitlesQuery::new([], 0, 1).is_err());
        assert!(TitlesQuery::new([1], 0, 0).is_err());
        assert!(TitlesQuery::new([1], 0, 31).is_err());
        assert_eq!(TitlesQuery::new([2, 616], 0, 30).unwrap().ids, "2,616");
    }

    #[test]
    fn answers_tolerate_unknown_values_and_both_number_spellings() {
        let titles: PubTemplateTitles = serde_json::from_str(
            r#"{"errcode":0,"errmsg":"ok","count":2,"data":[
                {"tid":99,"title":"付款成功通知","type":2,"categoryId":"616"},
                {"tid":"100","title":"x","type":7,"categoryId":616,"new":true}]}"#,
        )
        .unwrap();
        assert_eq!(titles.data[0].kind, TemplateKind::OneTime);
        assert_eq!(titles.data[1].tid, 100);
        assert_eq!(titles.data[1].kind, TemplateKind::Other(7));
        assert_eq!(titles.data[1].category_id, "616");
        let templates: Data<PrivateTemplate> = serde_json::from_str(
            r#"{"data":[{"priTmplId":"id1","title":"t","content":"c","example":"e","type":3,
                "keywordEnumValueList":[{"enumValueList":["a","b"],"keywordCode":"phrase1"}]}]}"#,
        )
        .unwrap();
        assert_eq!(templates.data[0].kind, TemplateKind::LongTerm);
        assert_eq!(
            templates.data[0].keyword_enum_values[0].enum_values,
            ["a", "b"]
        );
    }
}
