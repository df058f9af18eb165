//! The custom menu (自定义菜单): `cgi-bin/menu/create`, `…/get`, `…/delete`.
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

/// A conditional menu (个性化菜单) as `menu/get` returns it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ConditionalMenu {
    /// Its buttons.
    pub button: Vec<Button>,
    /// Who sees it (`tag_id`, `client_platform_type`, …), as WeChat wrote it.
    #[serde(default)]
    pub matchrule: Value,
    /// Its id.
    #[serde(default)]
    pub menuid: Option<u64>,
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
