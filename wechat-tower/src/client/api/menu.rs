//! The custom menu (自定义菜单): `cgi-bin/menu/create`, `…/get`, `…/delete`; conditional
//! (personalised) menus (个性化菜单): `menu/addconditional`, `menu/delconditional`,
//! `menu/trymatch`; and the menu as the account's settings show it,
//! `get_current_selfmenu_info`.
//!
//! [`Menu`] reads and writes WeChat's own menu JSON, every button type included, so a menu file
//! written for WeChat's docs or exported from another tool works as it is.
//!
//! ```
//! use wechat_tower::client::{Button, ButtonAction, Menu};
//!
//! let menu: Menu = serde_json::from_str(r#"{"button":[
//!     {"type":"click","name":"今日歌曲","key":"V1001_TODAY_MUSIC"},
//!     {"name":"菜单","sub_button":[
//!         {"type":"view","name":"搜索","url":"http://www.soso.com/"},
//!         {"type":"miniprogram","name":"wxa","url":"http://mp.weixin.qq.com","appid":"wx286b93c14bbf93aa","pagepath":"pages/lunar/index"}
//!     ]}
//! ]}"#)?;
//! assert_eq!(menu.button[0], Button::click("今日歌曲", "V1001_TODAY_MUSIC"));
//! let ButtonAction::SubMenu(sub) = &menu.button[1].action else { panic!() };
//! assert_eq!(sub.len(), 2);
//! # Ok::<(), serde_json::Error>(())
//! ```

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::client::error::ClientError;
use crate::client::wechat_client::WechatClient;

/// A menu: at most 3 top-level buttons, each with at most 5 sub-buttons.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Menu {
    /// The top-level buttons.
    pub button: Vec<Button>,
    /// The menu's id, in answers of `menu/get`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub menuid: Option<u64>,
}

impl Menu {
    /// A menu of these buttons.
    #[must_use]
    pub fn new(button: Vec<Button>) -> Self {
        Self {
            button,
            menuid: None,
        }
    }
}

/// One button: its label and what it does.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "RawButton", into = "RawButton")]
pub struct Button {
    /// The label (at most 16 bytes at the top level, 60 in a sub-menu).
    pub name: String,
    /// What pressing it does.
    pub action: ButtonAction,
}

/// What a button does (its `type`, or a sub-menu).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum ButtonAction {
    /// `click`: pushes a `CLICK` event with `key`.
    Click {
        /// `key` of the event.
        key: String,
    },
    /// `view`: opens `url`.
    View {
        /// The page.
        url: String,
    },
    /// `scancode_push`: opens the scanner, shows the result, pushes an event.
    ScancodePush {
        /// `key` of the event.
        key: String,
    },
    /// `scancode_waitmsg`: opens the scanner, pushes an event, shows "receiving".
    ScancodeWaitmsg {
        /// `key` of the event.
        key: String,
    },
    /// `pic_sysphoto`: takes a photo with the camera.
    PicSysphoto {
        /// `key` of the event.
        key: String,
    },
    /// `pic_photo_or_album`: a photo from the camera or the album.
    PicPhotoOrAlbum {
        /// `key` of the event.
        key: String,
    },
    /// `pic_weixin`: a photo from the WeChat album.
    PicWeixin {
        /// `key` of the event.
        key: String,
    },
    /// `location_select`: picks a location.
    LocationSelect {
        /// `key` of the event.
        key: String,
    },
    /// `media_id`: sends a permanent material.
    MediaId {
        /// The material.
        media_id: String,
    },
    /// `article_id`: sends a published article (as a card).
    ArticleId {
        /// The article.
        article_id: String,
    },
    /// `article_view_limited`: opens a published article (as a page).
    ArticleViewLimited {
        /// The article.
        article_id: String,
    },
    /// `miniprogram`: opens a page of a Mini Program; `url` for clients without Mini Programs.
    Miniprogram {
        /// Fallback page.
        url: String,
        /// The Mini Program's app id.
        appid: String,
        /// Its page path.
        pagepath: String,
    },
    /// A sub-menu (`sub_button`), no `type`.
    SubMenu(Vec<Button>),
    /// A type this crate does not know, kept as WeChat wrote it so it is sent back unchanged.
    Other {
        /// `type`.
        kind: String,
        /// The other fields, except `name`.
        fields: Map<String, Value>,
    },
}

impl Button {
    /// A button doing `action`.
    #[must_use]
    pub fn new(name: impl Into<String>, action: ButtonAction) -> Self {
        Self {
            name: name.into(),
            action,
        }
    }

    /// A `click` button.
    #[must_use]
    pub fn click(name: impl Into<String>, key: impl Into<String>) -> Self {
        Self::new(name, ButtonAction::Click { key: key.into() })
    }

    /// A `view` button.
    #[must_use]
    pub fn view(name: impl Into<String>, url: impl Into<String>) -> Self {
        Self::new(name, ButtonAction::View { url: url.into() })
    }

    /// A `miniprogram` button.
    #[must_use]
    pub fn miniprogram(
        name: impl Into<String>,
        url: impl Into<String>,
        appid: impl Into<String>,
        pagepath: impl Into<String>,
    ) -> Self {
        Self::new(
            name,
            ButtonAction::Miniprogram {
                url: url.into(),
                appid: appid.into(),
                pagepath: pagepath.into(),
            },
        )
    }

    /// A sub-menu.
    #[must_use]
    pub fn sub_menu(name: impl Into<String>, buttons: Vec<Self>) -> Self {
        Self::new(name, ButtonAction::SubMenu(buttons))
    }
}

/// A button as WeChat writes it: every field flat, `type` absent for sub-menus.
#[derive(Serialize, Deserialize, Default)]
struct RawButton {
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    kind: Option<String>,
    name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    key: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    media_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    article_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    appid: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pagepath: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    sub_button: Option<Vec<Button>>,
    #[serde(flatten)]
    extra: Map<String, Value>,
}

impl TryFrom<RawButton> for Button {
    type Error = String;

    fn try_from(mut raw: RawButton) -> Result<Self, String> {
        let name = std::mem::take(&mut raw.name);
        let Some(kind) = raw.kind.take() else {
            let sub = raw
                .sub_button
                .ok_or_else(|| format!("button `{name}` has neither `type` nor `sub_button`"))?;
            return Ok(Self::new(name, ButtonAction::SubMenu(sub)));
        };
        let need = |field: Option<String>, what: &str| {
            field.ok_or_else(|| format!("`{kind}` button `{name}` lacks `{what}`"))
        };
        let action = match kind.as_str() {
            "click" => ButtonAction::Click {
                key: need(raw.key, "key")?,
            },
            "view" => ButtonAction::View {
                url: need(raw.url, "url")?,
            },
            "scancode_push" => ButtonAction::ScancodePush {
                key: need(raw.key, "key")?,
            },
            "scancode_waitmsg" => ButtonAction::ScancodeWaitmsg {
                key: need(raw.key, "key")?,
            },
            "pic_sysphoto" => ButtonAction::PicSysphoto {
                key: need(raw.key, "key")?,
            },
            "pic_photo_or_album" => ButtonAction::PicPhotoOrAlbum {
                key: need(raw.key, "key")?,
            },
            "pic_weixin" => ButtonAction::PicWeixin {
                key: need(raw.key, "key")?,
            },
            "location_select" => ButtonAction::LocationSelect {
                key: need(raw.key, "key")?,
            },
            "media_id" => ButtonAction::MediaId {
                media_id: need(raw.media_id, "media_id")?,
            },
            "article_id" => ButtonAction::ArticleId {
                article_id: need(raw.article_id, "article_id")?,
            },
            "article_view_limited" => ButtonAction::ArticleViewLimited {
                article_id: need(raw.article_id, "article_id")?,
            },
            "miniprogram" => ButtonAction::Miniprogram {
                url: need(raw.url, "url")?,
                appid: need(raw.appid, "appid")?,
                pagepath: need(raw.pagepath, "pagepath")?,
            },
            _ => {
                let mut fields = raw.extra;
                let known = [
                    ("key", raw.key),
                    ("url", raw.url),
                    ("media_id", raw.media_id),
                    ("article_id", raw.article_id),
                    ("appid", raw.appid),
                    ("pagepath", raw.pagepath),
                ];
                for (field, value) in known {
                    if let Some(value) = value {
                        fields.insert(field.to_owned(), Value::String(value));
                    }
                }
                if let Some(sub) = raw.sub_button {
                    let sub = serde_json::to_value(sub).map_err(|e| e.to_string())?;
                    fields.insert("sub_button".to_owned(), sub);
                }
                return Ok(Self::new(name, ButtonAction::Other { kind, fields }));
            }
        };
        Ok(Self::new(name, action))
    }
}

impl From<Button> for RawButton {
    fn from(button: Button) -> Self {
        let mut raw = Self {
            name: button.name,
            ..Self::default()
        };
        fn typed<'a>(raw: &'a mut RawButton, kind: &str) -> &'a mut RawButton {
            raw.kind = Some(kind.to_owned());
            raw
        }
        match button.action {
            ButtonAction::Click { key } => typed(&mut raw, "click").key = Some(key),
            ButtonAction::View { url } => typed(&mut raw, "view").url = Some(url),
            ButtonAction::ScancodePush { key } => typed(&mut raw, "scancode_push").key = Some(key),
            ButtonAction::ScancodeWaitmsg { key } => {
                typed(&mut raw, "scancode_waitmsg").key = Some(key);
            }
            ButtonAction::PicSysphoto { key } => typed(&mut raw, "pic_sysphoto").key = Some(key),
            ButtonAction::PicPhotoOrAlbum { key } => {
                typed(&mut raw, "pic_photo_or_album").key = Some(key);
            }
            ButtonAction::PicWeixin { key } => typed(&mut raw, "pic_weixin").key = Some(key),
            ButtonAction::LocationSelect { key } => {
                typed(&mut raw, "location_select").key = Some(key);
            }
            ButtonAction::MediaId { media_id } => {
                typed(&mut raw, "media_id").media_id = Some(media_id);
            }
            ButtonAction::ArticleId { article_id } => {
                typed(&mut raw, "article_id").article_id = Some(article_id);
            }
            ButtonAction::ArticleViewLimited { article_id } => {
                typed(&mut raw, "article_view_limited").article_id = Some(article_id);
            }
            ButtonAction::Miniprogram {
                url,
                appid,
                pagepath,
            } => {
                typed(&mut raw, "miniprogram");
                raw.url = Some(url);
                raw.appid = Some(appid);
                raw.pagepath = Some(pagepath);
            }
            ButtonAction::SubMenu(sub) => raw.sub_button = Some(sub),
            ButtonAction::Other { kind, fields } => {
                raw.kind = Some(kind);
                raw.extra = fields;
            }
        }
        raw
    }
}

/// The answer of `menu/get`: the default menu and the conditional (personalised) ones.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct MenuInfo {
    /// The default menu.
    pub menu: Menu,
    /// Conditional menus, for users matching their rule.
    #[serde(default)]
    pub conditionalmenu: Vec<ConditionalMenu>,
}

/// A conditional menu (个性化菜单): buttons shown to the users its rule matches. What
/// `menu/addconditional` takes and `menu/get` returns.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ConditionalMenu {
    /// Its buttons.
    pub button: Vec<Button>,
    /// Who sees it.
    #[serde(default)]
    pub matchrule: MatchRule,
    /// Its id (answers only; WeChat writes it as a number or a string).
    #[serde(
        default,
        deserialize_with = "menuid_number_or_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub menuid: Option<u64>,
}

impl ConditionalMenu {
    /// A conditional menu of `button` for the users `matchrule` matches.
    #[must_use]
    pub fn new(button: Vec<Button>, matchrule: MatchRule) -> Self {
        Self {
            button,
            matchrule,
            menuid: None,
        }
    }
}

/// Who sees a conditional menu: every field given must match (at least one is needed).
/// WeChat writes each as a string.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct MatchRule {
    /// The user tag (标签) id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tag_id: Option<String>,
    /// `1` male, `2` female (no longer matched by WeChat since 2021; kept for old menus).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sex: Option<String>,
    /// The country, as the user's profile writes it (`中国`); needed with `province`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
    /// The province (`广东`); needed with `city`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub province: Option<String>,
    /// The city (`广州`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub city: Option<String>,
    /// `1` iOS, `2` Android, `3` others.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_platform_type: Option<String>,
    /// The client's language (`zh_CN`, `en`, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
    /// Fields this crate does not know (`group_id` of old menus), kept to be sent back.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl MatchRule {
    /// The users of tag `tag_id`.
    #[must_use]
    pub fn tag(tag_id: impl Into<String>) -> Self {
        Self {
            tag_id: Some(tag_id.into()),
            ..Self::default()
        }
    }

    /// The users of a client platform: `1` iOS, `2` Android, `3` others.
    #[must_use]
    pub fn platform(client_platform_type: impl Into<String>) -> Self {
        Self {
            client_platform_type: Some(client_platform_type.into()),
            ..Self::default()
        }
    }
}

/// A menu id written as a number (`menu/get`) or a string (`menu/addconditional`).
fn menuid_number_or_string<'de, D>(deserializer: D) -> Result<Option<u64>, D::Error>
where
    D: serde::Deserializer<'de>,
{
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Id {
        Number(u64),
        Text(String),
    }
    match Option::<Id>::deserialize(deserializer)? {
        None => Ok(None),
        Some(Id::Number(n)) => Ok(Some(n)),
        Some(Id::Text(t)) => t.trim().parse().map(Some).map_err(serde::de::Error::custom),
    }
}

/// The menu as the account's settings show it (`get_current_selfmenu_info`): set through the
/// API or by hand on the platform's site.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct SelfMenuInfo {
    /// Whether the menu is on (`1`) or off (`0`).
    pub is_menu_open: u8,
    /// The menu, absent when there is none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub selfmenu_info: Option<SelfMenu>,
}

/// The buttons of a [`SelfMenuInfo`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct SelfMenu {
    /// The top-level buttons.
    #[serde(default)]
    pub button: Vec<SelfMenuButton>,
}

/// One button of a [`SelfMenuInfo`]. Menus set by hand have types the API does not create:
/// `text` / `img` / `voice` / `video` (with `value`) and `news` (with `news_info`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct SelfMenuButton {
    /// `click`, `view`, `text`, `img`, `voice`, `video`, `news`, …; absent for a sub-menu.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// The label.
    #[serde(default)]
    pub name: String,
    /// `key` of `click` buttons and the like.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    /// `url` of `view` buttons.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// The text, or a media id, of buttons set by hand.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    /// The articles of a `news` button.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub news_info: Option<SelfMenuNewsInfo>,
    /// The sub-menu.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sub_button: Option<SelfMenuSubButtons>,
    /// Fields this crate does not know (`appid`, `pagepath`, …).
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `sub_button` of a [`SelfMenuButton`]: `{"list": [...]}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct SelfMenuSubButtons {
    /// The buttons.
    #[serde(default)]
    pub list: Vec<SelfMenuButton>,
}

/// `news_info` of a `news` button: `{"list": [...]}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct SelfMenuNewsInfo {
    /// The articles.
    #[serde(default)]
    pub list: Vec<SelfMenuNews>,
}

/// One article of a `news` button.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct SelfMenuNews {
    /// Title.
    #[serde(default)]
    pub title: String,
    /// Author.
    #[serde(default)]
    pub author: String,
    /// Summary.
    #[serde(default)]
    pub digest: String,
    /// Whether the cover shows in the text (`1`) or not (`0`).
    #[serde(default)]
    pub show_cover: u8,
    /// The cover's URL.
    #[serde(default)]
    pub cover_url: String,
    /// The article's URL.
    #[serde(default)]
    pub content_url: String,
    /// "Read more" URL.
    #[serde(default)]
    pub source_url: String,
}

/// The custom menu of a [`WechatClient`]: `client.menu()`.
#[derive(Debug, Clone, Copy)]
pub struct MenuApi<'a> {
    client: &'a WechatClient,
}

impl WechatClient {
    /// The custom menu.
    #[must_use]
    pub fn menu(&self) -> MenuApi<'_> {
        MenuApi { client: self }
    }
}

impl MenuApi<'_> {
    /// Creates (replaces) the menu (`menu/create`).
    ///
    /// # Errors
    ///
    /// WeChat's errors (40016 wrong number of buttons, 40018 name too long, 40054 bad URL, …).
    pub async fn create(&self, menu: &Menu) -> Result<(), ClientError> {
        let body = Menu {
            button: menu.button.clone(),
            menuid: None,
        };
        self.client
            .post_json::<_, serde::de::IgnoredAny>("/cgi-bin/menu/create", &[], &body)
            .await
            .map(drop)
    }

    /// Creates the menu from WeChat's own menu JSON as it is, and returns WeChat's answer.
    ///
    /// # Errors
    ///
    /// [`ClientError::Request`] when `json` is not JSON (nothing is sent); WeChat's errors.
    pub async fn create_json(&self, json: &str) -> Result<Value, ClientError> {
        let menu: Value = serde_json::from_str(json)
            .map_err(|e| ClientError::Request(format!("menu JSON: {e}")))?;
        self.client
            .post_json("/cgi-bin/menu/create", &[], &menu)
            .await
    }

    /// The current menus (`menu/get`).
    ///
    /// # Errors
    ///
    /// 46003 when there is no menu; the usual errors.
    pub async fn get(&self) -> Result<MenuInfo, ClientError> {
        self.client.get_json("/cgi-bin/menu/get", &[]).await
    }

    /// Adds a conditional menu (`menu/addconditional`) and returns its id. The default menu
    /// must exist first (65303).
    ///
    /// # Errors
    ///
    /// 65303 no default menu, 65304 empty rule, 65305 too many conditional menus, 65310 to
    /// 65314 bad region, the button codes of [`create`](Self::create), the usual errors.
    pub async fn add_conditional(&self, menu: &ConditionalMenu) -> Result<u64, ClientError> {
        #[derive(Deserialize)]
        struct Added {
            #[serde(deserialize_with = "menuid_number_or_string")]
            menuid: Option<u64>,
        }
        let body = ConditionalMenu::new(menu.button.clone(), menu.matchrule.clone());
        let added: Added = self
            .client
            .post_json("/cgi-bin/menu/addconditional", &[], &body)
            .await?;
        added.menuid.ok_or_else(|| {
            ClientError::Decode("/cgi-bin/menu/addconditional: no menuid".to_owned())
        })
    }

    /// Deletes a conditional menu (`menu/delconditional`).
    ///
    /// # Errors
    ///
    /// 65301 no conditional menu of that id, the usual errors.
    pub async fn delete_conditional(&self, menuid: u64) -> Result<(), ClientError> {
        self.client
            .post_json::<_, serde::de::IgnoredAny>(
                "/cgi-bin/menu/delconditional",
                &[],
                &serde_json::json!({ "menuid": menuid.to_string() }),
            )
            .await
            .map(drop)
    }

    /// The menu a user sees (`menu/trymatch`): `user_id` is an openid or a WeChat id (微信号).
    ///
    /// # Errors
    ///
    /// 65302 no such user, 46003 no menu, the usual errors.
    pub async fn try_match(&self, user_id: &str) -> Result<Vec<Button>, ClientError> {
        #[derive(Deserialize)]
        struct Matched {
            button: Vec<Button>,
        }
        let matched: Matched = self
            .client
            .post_json(
                "/cgi-bin/menu/trymatch",
                &[],
                &serde_json::json!({ "user_id": user_id }),
            )
            .await?;
        Ok(matched.button)
    }

    /// The menu as the account's settings show it (`get_current_selfmenu_info`), whether set
    /// through the API or by hand.
    ///
    /// # Errors
    ///
    /// The usual errors.
    pub async fn current_selfmenu_info(&self) -> Result<SelfMenuInfo, ClientError> {
        self.client
            .get_json("/cgi-bin/get_current_selfmenu_info", &[])
            .await
    }

    /// Deletes the menu, conditional menus included (`menu/delete`).
    ///
    /// # Errors
    ///
    /// WeChat's errors.
    pub async fn delete(&self) -> Result<(), ClientError> {
        self.client
            .get_json::<serde::de::IgnoredAny>("/cgi-bin/menu/delete", &[])
            .await
            .map(drop)
    }
}

/// The codes WeChat's documentation lists for the menu calls.
pub(crate) fn meaning(code: i64) -> Option<&'static str> {
    Some(match code {
        40016 => "invalid number of buttons (1 to 3 at the top level)",
        40017 => "invalid button type",
        40018 => "button name too long",
        40019 => "button key too long",
        40020 => "button URL too long",
        40021 => "invalid menu version",
        40022 => "invalid sub-menu level",
        40023 => "invalid number of sub-buttons (1 to 5)",
        40024 => "invalid sub-button type",
        40025 => "sub-button name too long",
        40026 => "sub-button key too long",
        40027 => "sub-button URL too long",
        40054 => "invalid sub-button URL domain",
        40055 => "invalid button URL domain",
        46003 => "no menu exists",
        65301 => "no conditional menu of this menuid",
        65302 => "no such user",
        65303 => "no default menu: create one before a conditional menu",
        65304 => "the match rule is empty",
        65305 => "too many conditional menus",
        65306 => "this account cannot have conditional menus",
        65307 => "the conditional menu is empty",
        65308 => "a button has no action",
        65309 => "conditional menus are switched off",
        65310 => "a province or city needs a country",
        65311 => "a city needs a province",
        65312 => "invalid country",
        65313 => "invalid province",
        65314 => "invalid city",
        65316 => "the menu links to too many domains (at most 3)",
        65317 => "invalid URL",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every button type, as WeChat's documentation writes them.
    pub(crate) const EVERY_BUTTON: &str = r#"{"button":[
        {"type":"click","name":"今日歌曲","key":"V1001_TODAY_MUSIC"},
        {"name":"扫码","sub_button":[
            {"type":"scancode_waitmsg","name":"扫码带提示","key":"rselfmenu_0_0"},
            {"type":"scancode_push","name":"扫码推事件","key":"rselfmenu_0_1"},
            {"type":"pic_sysphoto","name":"系统拍照发图","key":"rselfmenu_1_0"},
            {"type":"pic_photo_or_album","name":"拍照或者相册发图","key":"rselfmenu_1_1"},
            {"type":"pic_weixin","name":"微信相册发图","key":"rselfmenu_1_2"}
        ]},
        {"name":"其他","sub_button":[
            {"type":"location_select","name":"发送位置","key":"rselfmenu_2_0"},
            {"type":"media_id","name":"图片","media_id":"MEDIA_ID1"},
            {"type":"article_id","name":"文章","article_id":"ARTICLE_ID1"},
            {"type":"article_view_limited","name":"图文","article_id":"ARTICLE_ID2"},
            {"type":"view","name":"搜索","url":"http://www.soso.com/"},
            {"type":"miniprogram","name":"wxa","url":"http://mp.weixin.qq.com","appid":"wx286b93c14bbf93aa","pagepath":"pages/lunar/index"}
        ]}
    ]}"#;

    #[test]
    fn every_button_type_round_trips() {
        let menu: Menu = serde_json::from_str(EVERY_BUTTON).unwrap();
        let again: Menu = serde_json::from_value(serde_json::to_value(&menu).unwrap()).unwrap();
        assert_eq!(menu, again);
        let original: Value = serde_json::from_str(EVERY_BUTTON).unwrap();
        assert_eq!(serde_json::to_value(&menu).unwrap(), original);
        let ButtonAction::SubMenu(other) = &menu.button[2].action else {
            panic!("{:?}", menu.button[2])
        };
        assert_eq!(
            other[5],
            Button::miniprogram(
                "wxa",
                "http://mp.weixin.qq.com",
                "wx286b93c14bbf93aa",
                "pages/lunar/index"
            )
        );
    }

    #[test]
    fn get_answers_with_empty_sub_buttons_and_unknown_types_are_read() {
        let menu: Menu = serde_json::from_str(
            r#"{"button":[{"type":"click","name":"a","key":"k","sub_button":[]},
                {"type":"view_limited","name":"old","media_id":"M","sub_button":[]}],"menuid":208396938}"#,
        )
        .unwrap();
        assert_eq!(menu.button[0], Button::click("a", "k"));
        assert_eq!(menu.menuid, Some(208_396_938));
        let ButtonAction::Other { kind, fields } = &menu.button[1].action else {
            panic!()
        };
        assert_eq!(kind, "view_limited");
        assert_eq!(fields["media_id"], "M");
        let back = serde_json::to_value(&menu.button[1]).unwrap();
        assert_eq!(back["type"], "view_limited");
        assert_eq!(back["media_id"], "M");
    }

    #[test]
    fn incomplete_buttons_are_refused_with_their_name() {
        let err = serde_json::from_str::<Menu>(r#"{"button":[{"type":"view","name":"x"}]}"#)
            .unwrap_err()
            .to_string();
        assert!(err.contains("`view` button `x` lacks `url`"), "{err}");
        assert!(serde_json::from_str::<Menu>(r#"{"button":[{"name":"y"}]}"#).is_err());
    }
}
