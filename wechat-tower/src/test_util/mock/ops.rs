//! Operator tools: short keys (`shorten/gen|fetch`), quota resets (`clear_quota`, and
//! `clear_quota/v2` with the AppSecret in the body, no token), the quota of an API
//! (`openapi/quota/get`, counted from the calls the mock saw since the last reset) and rid
//! lookups (`openapi/rid/get`, for rids made with [`MockWechat::issue_rid`]).

use std::collections::HashMap;

use serde_json::{Map, Value, json};

use super::server::{Answer, Outcome, Shared, State, fail, json_body, non_empty_str, unix_now};
use super::user::refuse;
use super::{MockWechat, ROUTES, RecordedRequest};

/// Quota resets allowed per month.
const MAX_CLEARS: u32 = 10;
/// The mock's daily limit of every API.
const DAILY_LIMIT: usize = 100_000;

#[derive(Debug)]
struct ShortKey {
    long_data: String,
    created: u64,
    expire_seconds: u64,
}

/// Short keys, quota resets and rids of the mock.
#[derive(Debug, Default)]
pub(super) struct OpsBook {
    short_keys: HashMap<String, ShortKey>,
    clears: u32,
    /// Calls per path at the last reset.
    calls_at_reset: HashMap<String, usize>,
    rids: HashMap<String, Value>,
}

impl State {
    pub(super) fn shorten_gen(&mut self, req: &RecordedRequest) -> Outcome {
        let body = json_body(req)?;
        let long_data = non_empty_str(&body, "long_data")?;
        if long_data.len() > 4096 {
            return Err(fail(40097));
        }
        let expire_seconds = match body.get("expire_seconds") {
            None => 2 * 24 * 3600,
            Some(v) => v
                .as_u64()
                .filter(|s| *s <= 30 * 24 * 3600)
                .ok_or_else(|| fail(40097))?,
        };
        let key = format!("mockkey{:08}", self.next());
        self.ops.short_keys.insert(
            key.clone(),
            ShortKey {
                long_data: long_data.to_owned(),
                created: unix_now(),
                expire_seconds,
            },
        );
        Ok(Answer::Json(
            json!({ "errcode": 0, "errmsg": "ok", "short_key": key }),
        ))
    }

    pub(super) fn shorten_fetch(&self, req: &RecordedRequest) -> Outcome {
        let body = json_body(req)?;
        let key = non_empty_str(&body, "short_key")?;
        let found = self.ops.short_keys.get(key).ok_or_else(|| fail(40097))?;
        let age = unix_now().saturating_sub(found.created);
        let left = found
            .expire_seconds
            .checked_sub(age)
            .ok_or_else(|| fail(40097))?;
        Ok(Answer::Json(json!({
            "errcode": 0,
            "errmsg": "ok",
            "long_data": found.long_data,
            "create_time": found.created,
            "expire_seconds": left,
        })))
    }

    fn reset_quota(&mut self) -> Outcome {
        if self.ops.clears >= MAX_CLEARS {
            return Err(refuse(48006));
        }
        self.ops.clears += 1;
        self.ops.calls_at_reset = self.calls.clone();
        Ok(Answer::ok())
    }

    pub(super) fn clear_quota(&mut self, shared: &Shared, req: &RecordedRequest) -> Outcome {
        let body = json_body(req)?;
        match body.get("appid").and_then(Value::as_str) {
            None | Some("") => return Err(refuse(41002)),
            Some(appid) if appid != shared.app_id => return Err(fail(40013)),
            Some(_) => {}
        }
        self.reset_quota()
    }

    pub(super) fn clear_quota_v2(&mut self, shared: &Shared, req: &RecordedRequest) -> Outcome {
        let body = json_body(req)?;
        let field = |map: &Map<String, Value>, key: &str| {
            map.get(key)
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
        };
        let appid = field(&body, "appid").ok_or_else(|| refuse(41002))?;
        let secret = field(&body, "appsecret").ok_or_else(|| refuse(41004))?;
        self.check_app(shared, Some(&appid), Some(&secret))?;
        self.reset_quota()
    }

    pub(super) fn quota_get(&self, req: &RecordedRequest) -> Outcome {
        let body = json_body(req)?;
        let path = non_empty_str(&body, "cgi_path")?;
        if !ROUTES.iter().any(|r| r.authed && r.path == path) {
            return Err(refuse(76021));
        }
        let calls = self.calls.get(path).copied().unwrap_or(0);
        let used = calls.saturating_sub(self.ops.calls_at_reset.get(path).copied().unwrap_or(0));
        Ok(Answer::Json(json!({
            "errcode": 0,
            "errmsg": "ok",
            "quota": {
                "daily_limit": DAILY_LIMIT,
                "used": used,
                "remain": DAILY_LIMIT.saturating_sub(used),
            },
            "rate_limit": { "call_count": 5000, "refresh_second": 60 },
        })))
    }

    pub(super) fn rid_get(&self, req: &RecordedRequest) -> Outcome {
        let body = json_body(req)?;
        let rid = body.get("rid").and_then(Value::as_str).unwrap_or_default();
        let well_formed = rid.split('-').count() == 3
            && rid
                .split('-')
                .all(|part| part.len() == 8 && part.bytes().all(|b| b.is_ascii_hexdigit()));
        if !well_formed {
            return Err(refuse(76002));
        }
        let request = self.ops.rids.get(rid).ok_or_else(|| refuse(76001))?;
        Ok(Answer::Json(
            json!({ "errcode": 0, "errmsg": "ok", "request": request }),
        ))
    }
}

impl MockWechat {
    /// A `rid` (as WeChat writes in `errmsg`) for the latest request to `path`, which
    /// `openapi/rid/get` then describes: its query (token included, as at WeChat), body and
    /// time. `None` before any request to `path`.
    #[must_use]
    pub fn issue_rid(&self, path: &str) -> Option<String> {
        let request = self.last_request(path)?;
        let mut state = self.state();
        let n = state.next();
        let rid = format!(
            "{n:08x}-{:08x}-{:08x}",
            unix_now() & 0xffff_ffff,
            0x6d6f_636b
        );
        let query = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(&request.query)
            .finish();
        state.ops.rids.insert(
            rid.clone(),
            json!({
                "invoke_time": unix_now(),
                "cost_in_ms": 1,
                "request_url": query,
                "request_body": String::from_utf8_lossy(&request.body),
                "response_body": "",
                "client_ip": "127.0.0.1",
            }),
        );
        Some(rid)
    }
}
