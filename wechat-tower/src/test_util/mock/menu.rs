//! The custom menu (自定义菜单): `menu/create`, `menu/get`, `menu/delete`; conditional menus
//! (`menu/addconditional`, `menu/delconditional`, `menu/trymatch`) and
//! `get_current_selfmenu_info`.
//!
//! `trymatch` knows no user attributes: mock followers have no tags, so a conditional menu
//! whose rule names a `tag_id` matches nobody and any other rule matches every follower (the
//! newest matching menu wins, as at WeChat).

use serde_json::{Value, json};

use super::RecordedRequest;
use super::server::{Answer, Outcome, State, fail, json_body, non_empty_str};

/// The conditional menus of a mock, oldest first, each as added with its `menuid`.
#[derive(Default)]
pub(super) struct ConditionalMenus {
    menus: Vec<Value>,
}

/// A button of `menu/create` as `get_current_selfmenu_info` shows it: sub-menus as
/// `{"list": [...]}`.
fn selfmenu_button(button: &Value) -> Value {
    let mut shown = button.clone();
    if let Some(sub) = button.get("sub_button").and_then(Value::as_array) {
        shown["sub_button"] = json!({ "list": sub });
    }
    shown
}

impl State {
    pub(super) fn menu_create(&mut self, req: &RecordedRequest) -> Outcome {
        let body = json_body(req)?;
        let buttons = body
            .get("button")
            .and_then(Value::as_array)
            .ok_or_else(|| fail(47001))?;
        if buttons.is_empty() || buttons.len() > 3 {
            return Err(fail(40016));
        }
        for button in buttons {
            check_button(button, true)?;
        }
        let mut menu = Value::Object(body);
        menu["menuid"] = json!(self.next());
        self.menu = Some(menu);
        Ok(Answer::ok())
    }

    pub(super) fn menu_addconditional(&mut self, req: &RecordedRequest) -> Outcome {
        let body = json_body(req)?;
        if self.menu.is_none() {
            return Err(fail(65303));
        }
        let buttons = body
            .get("button")
            .and_then(Value::as_array)
            .ok_or_else(|| fail(65307))?;
        if buttons.is_empty() || buttons.len() > 3 {
            return Err(fail(40016));
        }
        for button in buttons {
            check_button(button, true)?;
        }
        let rule = body
            .get("matchrule")
            .and_then(Value::as_object)
            .filter(|r| {
                r.values()
                    .any(|v| v.as_str().is_some_and(|s| !s.is_empty()))
            })
            .ok_or_else(|| fail(65304))?;
        let given = |key: &str| {
            rule.get(key)
                .and_then(Value::as_str)
                .is_some_and(|s| !s.is_empty())
        };
        if (given("province") || given("city")) && !given("country") {
            return Err(fail(65310));
        }
        if given("city") && !given("province") {
            return Err(fail(65311));
        }
        if self.conditional_menus.menus.len() >= 100 {
            return Err(fail(65305));
        }
        let menuid = self.next();
        let mut menu = Value::Object(body);
        menu["menuid"] = json!(menuid);
        self.conditional_menus.menus.push(menu);
        Ok(Answer::Json(json!({ "menuid": menuid.to_string() })))
    }

    pub(super) fn menu_delconditional(&mut self, req: &RecordedRequest) -> Outcome {
        let body = json_body(req)?;
        let menuid = match body.get("menuid") {
            Some(Value::String(s)) => s.parse::<u64>().map_err(|_| fail(47001))?,
            Some(Value::Number(n)) => n.as_u64().ok_or_else(|| fail(47001))?,
            _ => return Err(fail(47001)),
        };
        let menus = &mut self.conditional_menus.menus;
        let before = menus.len();
        menus.retain(|m| m.get("menuid").and_then(Value::as_u64) != Some(menuid));
        if menus.len() == before {
            return Err(fail(65301));
        }
        Ok(Answer::ok())
    }

    pub(super) fn menu_trymatch(&self, req: &RecordedRequest) -> Outcome {
        let body = json_body(req)?;
        let user = non_empty_str(&body, "user_id")?;
        if !self.users.iter().any(|u| u == user) {
            return Err(fail(65302));
        }
        let matched = self.conditional_menus.menus.iter().rev().find(|m| {
            m.get("matchrule")
                .and_then(|r| r.get("tag_id"))
                .and_then(Value::as_str)
                .is_none_or(str::is_empty)
        });
        let menu = matched.or(self.menu.as_ref()).ok_or_else(|| fail(46003))?;
        Ok(Answer::Json(json!({ "button": menu["button"] })))
    }

    pub(super) fn menu_selfmenu_info(&self) -> Outcome {
        let Some(menu) = &self.menu else {
            return Ok(Answer::Json(json!({ "is_menu_open": 0 })));
        };
        let buttons: Vec<Value> = menu["button"]
            .as_array()
            .map(|buttons| buttons.iter().map(selfmenu_button).collect())
            .unwrap_or_default();
        Ok(Answer::Json(json!({
            "is_menu_open": 1,
            "selfmenu_info": { "button": buttons },
        })))
    }

    pub(super) fn menu_get(&self) -> Outcome {
        let menu = self.menu.clone().ok_or_else(|| fail(46003))?;
        // WeChat writes an empty `sub_button` on every leaf button.
        let mut menu = menu;
        if let Some(buttons) = menu.get_mut("button").and_then(Value::as_array_mut) {
            for button in buttons {
                if button.get("type").is_some() {
                    button["sub_button"] = json!([]);
                } else if let Some(sub) = button.get_mut("sub_button").and_then(Value::as_array_mut)
                {
                    for leaf in sub {
                        leaf["sub_button"] = json!([]);
                    }
                }
            }
        }
        Ok(Answer::Json(json!({
            "menu": menu,
            "conditionalmenu": self.conditional_menus.menus,
        })))
    }

    pub(super) fn menu_delete(&mut self) -> Outcome {
        self.menu = None;
        self.conditional_menus.menus.clear();
        Ok(Answer::ok())
    }
}

/// Checks one button of `menu/create` as WeChat does (roughly: types, required fields,
/// sub-menu sizes).
fn check_button(button: &Value, top: bool) -> Result<(), Answer> {
    let button = button.as_object().ok_or_else(|| fail(47001))?;
    match button.get("name").and_then(Value::as_str) {
        Some(name) if !name.is_empty() => {}
        _ => return Err(fail(40018)),
    }
    let Some(kind) = button.get("type").and_then(Value::as_str) else {
        let sub = button
            .get("sub_button")
            .and_then(Value::as_array)
            .ok_or_else(|| fail(40017))?;
        if !top || sub.is_empty() || sub.len() > 5 {
            return Err(fail(40023));
        }
        return sub.iter().try_for_each(|b| check_button(b, false));
    };
    let required: &[(&str, i64)] = match kind {
        "click" | "scancode_push" | "scancode_waitmsg" | "pic_sysphoto" | "pic_photo_or_album"
        | "pic_weixin" | "location_select" => &[("key", 40019)],
        "view" => &[("url", 40055)],
        "media_id" | "view_limited" => &[("media_id", 40007)],
        "article_id" | "article_view_limited" => &[("article_id", 47001)],
        "miniprogram" => &[("url", 40055), ("appid", 47001), ("pagepath", 47001)],
        _ => return Err(fail(40017)),
    };
    for (field, errcode) in required {
        match button.get(*field).and_then(Value::as_str) {
            Some(v) if !v.is_empty() => {}
            _ => return Err(fail(*errcode)),
        }
    }
    Ok(())
}
