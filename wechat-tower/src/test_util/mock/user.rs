//! Followers: `user/info`, `user/info/batchget`, `user/get`, remarks and the blacklist. Also the
//! checks and error messages the other follower families (tags, mass send, customer service,
//! operator tools) share.

use std::collections::HashMap;

use serde_json::{Map, Value, json};

use super::RecordedRequest;
use super::server::{Answer, Outcome, State, fail, json_body, non_empty_str};

/// Remarks and the blacklist of the mock's followers.
#[derive(Debug, Default)]
pub(super) struct UserBook {
    pub(super) remarks: HashMap<String, String>,
    pub(super) blacklist: Vec<String>,
}

/// WeChat's `errmsg` for the codes of the follower families, or the common one.
pub(super) fn refuse(errcode: i64) -> Answer {
    let errmsg = match errcode {
        40032 => "invalid openid list size",
        40130 => "invalid openid list size, at least two openid",
        41002 => "appid missing",
        41004 => "appsecret missing",
        45028 => "has no masssend quota",
        45056 => "too many tag now, no need to add new",
        45058 => "can't modify sys tag",
        45059 => "too many tag on user",
        45065 => "clientmsgid exist",
        45067 => "clientmsgid size out of limit",
        45072 => "command invalid",
        45081 => "already in typing status",
        45083 => "speed out of range",
        45084 => "no speed",
        45157 => "invalid tag name",
        45158 => "tag name too long",
        45159 => "invalid tag id",
        48006 => "forbid to clear quota because of reaching the limit",
        65401 => "invalid kf_account",
        65403 => "invalid nickname",
        65404 => "invalid kf_acount",
        65405 => "kf_account count exceed",
        65406 => "kf_account exsited",
        76001 => "rid not found",
        76002 => "rid is error",
        76021 => "cgi_path not found, please check",
        _ => return fail(errcode),
    };
    Answer::error(errcode, errmsg)
}

/// `key` of `body`: an array of `min..=max` non-empty strings (47001 when not an array of
/// strings, 40032 for a wrong size).
pub(super) fn openid_list(
    body: &Map<String, Value>,
    key: &str,
    min: usize,
    max: usize,
    size_code: i64,
) -> Result<Vec<String>, Answer> {
    let list = body
        .get(key)
        .and_then(Value::as_array)
        .ok_or_else(|| fail(47001))?;
    let openids: Vec<String> = list
        .iter()
        .map(|v| v.as_str().filter(|s| !s.is_empty()).map(str::to_owned))
        .collect::<Option<_>>()
        .ok_or_else(|| fail(47001))?;
    if openids.len() < min || openids.len() > max {
        return Err(refuse(size_code));
    }
    Ok(openids)
}

/// A page of `list` after `begin` (the shape of `user/get`).
fn page_after(list: &[String], begin: Option<&str>, page_size: usize) -> Outcome {
    let start = match begin.filter(|s| !s.is_empty()) {
        None => 0,
        Some(next) => {
            list.iter()
                .position(|u| u == next)
                .ok_or_else(|| fail(40003))?
                + 1
        }
    };
    let page: Vec<&String> = list.iter().skip(start).take(page_size).collect();
    let mut answer = json!({
        "total": list.len(),
        "count": page.len(),
        "next_openid": page.last().map_or("", |s| s.as_str()),
    });
    if !page.is_empty() {
        answer["data"] = json!({ "openid": page });
    }
    Ok(Answer::Json(answer))
}

impl State {
    pub(super) fn check_user(&self, openid: &str) -> Result<(), Answer> {
        if self.users.iter().any(|u| u == openid) {
            Ok(())
        } else {
            Err(fail(40003))
        }
    }

    fn user_json(&self, openid: &str, lang: &str) -> Value {
        json!({
            "subscribe": 1,
            "openid": openid,
            "language": lang,
            "subscribe_time": 1_700_000_000,
            "unionid": format!("mock-union-{openid}"),
            "remark": self.followers.remarks.get(openid).map_or("", String::as_str),
            "groupid": 0,
            "tagid_list": self.tags.tags_of(openid),
            "subscribe_scene": "ADD_SCENE_QR_CODE",
            "qr_scene": 0,
            "qr_scene_str": "",
        })
    }

    pub(super) fn user_info(&self, req: &RecordedRequest) -> Outcome {
        let openid = req.query("openid").unwrap_or_default();
        self.check_user(openid)?;
        Ok(Answer::Json(
            self.user_json(openid, req.query("lang").unwrap_or("zh_CN")),
        ))
    }

    pub(super) fn user_batchget(&self, req: &RecordedRequest) -> Outcome {
        let body = json_body(req)?;
        let list = body
            .get("user_list")
            .and_then(Value::as_array)
            .ok_or_else(|| fail(47001))?;
        if list.is_empty() || list.len() > 100 {
            return Err(refuse(40032));
        }
        let mut infos = Vec::with_capacity(list.len());
        for entry in list {
            let entry = entry.as_object().ok_or_else(|| fail(47001))?;
            let openid = non_empty_str(entry, "openid")?;
            self.check_user(openid)?;
            let lang = match entry.get("lang") {
                None => "zh_CN",
                Some(Value::String(lang)) if matches!(lang.as_str(), "zh_CN" | "zh_TW" | "en") => {
                    lang
                }
                Some(_) => return Err(fail(47001)),
            };
            infos.push(self.user_json(openid, lang));
        }
        Ok(Answer::Json(json!({ "user_info_list": infos })))
    }

    pub(super) fn user_get(&self, req: &RecordedRequest) -> Outcome {
        page_after(&self.users, req.query("next_openid"), self.user_page_size)
    }

    pub(super) fn user_update_remark(&mut self, req: &RecordedRequest) -> Outcome {
        let body = json_body(req)?;
        let openid = non_empty_str(&body, "openid")?;
        self.check_user(openid)?;
        let remark = body
            .get("remark")
            .and_then(Value::as_str)
            .ok_or_else(|| fail(47001))?;
        if remark.chars().count() > 30 {
            return Err(fail(40097));
        }
        if remark.is_empty() {
            self.followers.remarks.remove(openid);
        } else {
            self.followers
                .remarks
                .insert(openid.to_owned(), remark.to_owned());
        }
        Ok(Answer::ok())
    }

    pub(super) fn blacklist_get(&self, req: &RecordedRequest) -> Outcome {
        let body = json_body(req)?;
        let begin = match body.get("begin_openid") {
            None => None,
            Some(Value::String(s)) => Some(s.as_str()),
            Some(_) => return Err(fail(47001)),
        };
        page_after(&self.followers.blacklist, begin, self.user_page_size)
    }

    pub(super) fn blacklist_batch(&mut self, req: &RecordedRequest, block: bool) -> Outcome {
        let body = json_body(req)?;
        let openids = openid_list(&body, "openid_list", 1, 20, 40032)?;
        for openid in &openids {
            self.check_user(openid)?;
        }
        let blacklist = &mut self.followers.blacklist;
        for openid in openids {
            let listed = blacklist.contains(&openid);
            if block && !listed {
                blacklist.push(openid);
            } else if !block && listed {
                blacklist.retain(|o| *o != openid);
            }
        }
        Ok(Answer::ok())
    }
}
