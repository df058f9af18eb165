//! Mass messages (群发): `message/mass/sendall|send|preview|delete|get|speed/get|speed/set`.
//! Jobs finish at once (`SEND_SUCCESS`); a `clientmsgid` seen before answers 45065 with the
//! first job's `msg_id`.

use std::collections::{BTreeMap, HashMap};

use serde_json::{Map, Value, json};

use super::RecordedRequest;
use super::server::{Answer, Outcome, State, fail, json_body, non_empty_str};
use super::user::{openid_list, refuse};

/// The mock's mass-send jobs.
#[derive(Debug, Default)]
pub(super) struct MassBook {
    /// Status per `msg_id`.
    jobs: BTreeMap<u64, &'static str>,
    /// `msg_id` per `clientmsgid`.
    client_ids: HashMap<String, u64>,
    speed: u8,
}

/// WeChat's speeds, in 10 000 messages per minute, by level 0..=4.
const REAL_SPEED: [u32; 5] = [80, 60, 45, 30, 10];

/// Checks `msgtype` and its content object.
fn check_content(body: &Map<String, Value>) -> Result<&str, Answer> {
    let msgtype = non_empty_str(body, "msgtype")?;
    let key = if msgtype == "image" {
        "images"
    } else {
        msgtype
    };
    let required: &[&str] = match msgtype {
        "mpnews" | "voice" | "mpvideo" => &["media_id"],
        "text" => &["content"],
        "wxcard" => &["card_id"],
        "image" => &[],
        _ => return Err(fail(40008)),
    };
    let content = body
        .get(key)
        .and_then(Value::as_object)
        .ok_or_else(|| fail(47001))?;
    for field in required {
        non_empty_str(content, field)?;
    }
    if msgtype == "image" {
        openid_list(content, "media_ids", 1, usize::MAX, 47001)?;
    }
    match body.get("send_ignore_reprint") {
        None => {}
        Some(v) if matches!(v.as_i64(), Some(0 | 1)) => {}
        Some(_) => return Err(fail(47001)),
    }
    Ok(msgtype)
}

/// `msg_id` as a number or a numeric string (WeChat's `get` sends a string).
fn msg_id(body: &Map<String, Value>) -> Result<u64, Answer> {
    match body.get("msg_id") {
        Some(Value::Number(n)) => n.as_u64(),
        Some(Value::String(s)) => s.parse().ok(),
        _ => None,
    }
    .ok_or_else(|| fail(47001))
}

impl State {
    /// Records a job after the checks of its endpoint.
    fn mass_job(&mut self, body: &Map<String, Value>) -> Outcome {
        let msgtype = check_content(body)?;
        let client_id = match body.get("clientmsgid") {
            None => None,
            Some(Value::String(id)) if id.len() > 64 => return Err(refuse(45067)),
            Some(Value::String(id)) => Some(id.clone()),
            Some(_) => return Err(fail(47001)),
        };
        if let Some(id) = &client_id
            && let Some(first) = self.mass.client_ids.get(id)
        {
            return Err(Answer::Json(json!({
                "errcode": 45065,
                "errmsg": "clientmsgid exist rid: mock",
                "msg_id": first,
            })));
        }
        let msg_id = self.next();
        self.mass.jobs.insert(msg_id, "SEND_SUCCESS");
        if let Some(id) = client_id {
            self.mass.client_ids.insert(id, msg_id);
        }
        let mut answer =
            json!({ "errcode": 0, "errmsg": "send job submission success", "msg_id": msg_id });
        if msgtype == "mpnews" {
            answer["msg_data_id"] = json!(msg_id.saturating_mul(10).saturating_add(1));
        }
        Ok(Answer::Json(answer))
    }

    pub(super) fn mass_sendall(&mut self, req: &RecordedRequest) -> Outcome {
        let body = json_body(req)?;
        let filter = body
            .get("filter")
            .and_then(Value::as_object)
            .ok_or_else(|| fail(47001))?;
        let to_all = filter
            .get("is_to_all")
            .and_then(Value::as_bool)
            .ok_or_else(|| fail(47001))?;
        if !to_all {
            let tag = filter
                .get("tag_id")
                .and_then(Value::as_i64)
                .ok_or_else(|| fail(47001))?;
            if !self.tags_exists(tag) {
                return Err(refuse(45159));
            }
        }
        self.mass_job(&body)
    }

    pub(super) fn mass_send(&mut self, req: &RecordedRequest) -> Outcome {
        let body = json_body(req)?;
        let openids = openid_list(&body, "touser", 2, 10_000, 40130)?;
        for openid in &openids {
            self.check_user(openid)?;
        }
        self.mass_job(&body)
    }

    pub(super) fn mass_preview(&mut self, req: &RecordedRequest) -> Outcome {
        let body = json_body(req)?;
        match (body.get("touser"), body.get("towxname")) {
            (_, Some(Value::String(name))) if !name.is_empty() => {}
            (Some(Value::String(openid)), None) => self.check_user(openid)?,
            _ => return Err(fail(47001)),
        }
        check_content(&body)?;
        let msg_id = self.next();
        Ok(Answer::Json(
            json!({ "errcode": 0, "errmsg": "preview success", "msg_id": msg_id }),
        ))
    }

    pub(super) fn mass_delete(&mut self, req: &RecordedRequest) -> Outcome {
        let body = json_body(req)?;
        let id = msg_id(&body)?;
        match body.get("article_idx") {
            None => {}
            Some(v) if v.as_u64().is_some() => {}
            Some(_) => return Err(fail(47001)),
        }
        let status = self.mass.jobs.get_mut(&id).ok_or_else(|| fail(40097))?;
        *status = "DELETE";
        Ok(Answer::ok())
    }

    pub(super) fn mass_get(&self, req: &RecordedRequest) -> Outcome {
        let body = json_body(req)?;
        let id = msg_id(&body)?;
        let status = self.mass.jobs.get(&id).ok_or_else(|| fail(40097))?;
        Ok(Answer::Json(json!({ "msg_id": id, "msg_status": status })))
    }

    pub(super) fn mass_speed_get(&self, req: &RecordedRequest) -> Outcome {
        json_body(req)?;
        Ok(Answer::Json(json!({
            "speed": self.mass.speed,
            "realspeed": REAL_SPEED[usize::from(self.mass.speed)],
        })))
    }

    pub(super) fn mass_speed_set(&mut self, req: &RecordedRequest) -> Outcome {
        let body = json_body(req)?;
        let speed = match body.get("speed") {
            None => return Err(refuse(45084)),
            Some(v) => v.as_u64().ok_or_else(|| fail(47001))?,
        };
        self.mass.speed = u8::try_from(speed)
            .ok()
            .filter(|s| usize::from(*s) < REAL_SPEED.len())
            .ok_or_else(|| refuse(45083))?;
        Ok(Answer::ok())
    }
}
