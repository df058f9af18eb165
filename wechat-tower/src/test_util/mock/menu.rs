//! The custom menu (自定义菜单): `menu/create`, `menu/get`, `menu/delete`.

use serde_json::{Value, json};

use super::RecordedRequest;
use super::server::{Answer, Outcome, State, fail, json_body};

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
        Ok(Answer::Json(json!({ "menu": menu })))
    }

    pub(super) fn menu_delete(&mut self) -> Outcome {
        self.menu = None;
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
