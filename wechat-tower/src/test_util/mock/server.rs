//! The mock's server side: reading and recording a request, routing it through the endpoint
//! table, and WeChat's answer shapes and error codes.

use std::collections::{HashMap, VecDeque};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http::{HeaderValue, Request, Response, StatusCode, header};
use http_body_util::Full;
use hyper::body::Incoming;
use serde_json::{Value, json};
use tokio::time::Instant;

use super::links::MpApis;
use super::media::Media;
use super::{ROUTES, RecordedRequest};
use crate::test_util::loopback::read_body;

/// The largest request body the mock reads.
const MAX_BODY: usize = 20 * 1024 * 1024;

/// One row of the endpoint table.
pub(super) struct Route {
    pub(super) path: &'static str,
    pub(super) method: &'static str,
    /// Whether the endpoint takes the app's `access_token`.
    pub(super) authed: bool,
    pub(super) answer: fn(&mut State, &Shared, &RecordedRequest) -> Outcome,
}

pub(super) struct Shared {
    pub(super) app_id: String,
    pub(super) app_secret: String,
    pub(super) state: Mutex<State>,
}

impl Shared {
    pub(super) fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while answering cannot leave the state half-written in a way that matters
        // to a test double.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

pub(super) async fn handle(shared: &Shared, req: Request<Incoming>) -> Response<Full<Bytes>> {
    let (parts, body) = req.into_parts();
    let Some(body) = read_body(body, MAX_BODY).await else {
        return respond(
            StatusCode::PAYLOAD_TOO_LARGE,
            Answer::error(-1, "body too large"),
        );
    };
    let request = RecordedRequest {
        method: parts.method,
        path: parts.uri.path().to_owned(),
        query: form_urlencoded::parse(parts.uri.query().unwrap_or("").as_bytes())
            .into_owned()
            .collect(),
        headers: parts.headers,
        body,
    };
    let latency = {
        let mut state = shared.lock();
        *state.calls.entry(request.path.clone()).or_default() += 1;
        state.requests.push(request.clone());
        state
            .endpoint_latency
            .get(&request.path)
            .copied()
            .unwrap_or(state.latency)
    };
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    let answer = shared.lock().answer(shared, &request);
    respond(StatusCode::OK, answer)
}

pub(super) enum Answer {
    Json(Value),
    NotFound(Value),
    Redirect(String),
    File {
        content_type: String,
        filename: String,
        data: Bytes,
    },
}

impl Answer {
    pub(super) fn error(errcode: i64, errmsg: &str) -> Self {
        Self::Json(json!({ "errcode": errcode, "errmsg": format!("{errmsg} rid: mock") }))
    }

    pub(super) fn ok() -> Self {
        Self::Json(json!({ "errcode": 0, "errmsg": "ok" }))
    }
}

fn respond(status: StatusCode, answer: Answer) -> Response<Full<Bytes>> {
    let (status, content_type, extra, body) = match answer {
        Answer::Json(value) => (
            status,
            "application/json; encoding=utf-8".to_owned(),
            None,
            Bytes::from(value.to_string()),
        ),
        Answer::NotFound(value) => (
            StatusCode::NOT_FOUND,
            "application/json; encoding=utf-8".to_owned(),
            None,
            Bytes::from(value.to_string()),
        ),
        Answer::Redirect(location) => (
            StatusCode::FOUND,
            "text/plain".to_owned(),
            Some((header::LOCATION, location)),
            Bytes::new(),
        ),
        Answer::File {
            content_type,
            filename,
            data,
        } => (
            status,
            content_type,
            Some((
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{filename}\""),
            )),
            data,
        ),
    };
    let mut res = Response::new(Full::new(body));
    *res.status_mut() = status;
    if let Ok(value) = HeaderValue::from_str(&content_type) {
        res.headers_mut().insert(header::CONTENT_TYPE, value);
    }
    if let Some((name, value)) = extra
        && let Ok(value) = HeaderValue::from_str(&value)
    {
        res.headers_mut().insert(name, value);
    }
    res
}

// ------------------------------------------------------------------------------------------
// State and endpoints
// ------------------------------------------------------------------------------------------

#[derive(Default)]
pub(super) struct State {
    pub(super) counter: u64,
    pub(super) token_expires_in: u64,
    pub(super) token_overlap: Duration,
    pub(super) latency: Duration,
    pub(super) endpoint_latency: HashMap<String, Duration>,
    pub(super) failures: HashMap<String, VecDeque<i64>>,
    pub(super) calls: HashMap<String, usize>,
    pub(super) requests: Vec<RecordedRequest>,
    pub(super) tokens: HashMap<String, Issued>,
    pub(super) current: Option<String>,
    pub(super) issued: Vec<String>,
    pub(super) tickets: HashMap<String, Issued>,
    pub(super) users: Vec<String>,
    pub(super) user_page_size: usize,
    pub(super) menu: Option<Value>,
    pub(super) authorize_user: String,
    pub(super) oauth_codes: HashMap<String, String>,
    pub(super) oauth_tokens: HashMap<String, (String, Instant)>,
    pub(super) refresh_tokens: HashMap<String, String>,
    pub(super) js_codes: HashMap<String, String>,
    /// The session key chosen for a js code (`issue_js_code_with_session_key`).
    pub(super) js_session_keys: HashMap<String, String>,
    /// The latest session key given out per openid.
    pub(super) session_keys: HashMap<String, String>,
    pub(super) used_codes: Vec<String>,
    pub(super) phone_codes: HashMap<String, String>,
    pub(super) media: HashMap<String, Media>,
    /// Mini Program codes, links, content checks and templates (`links.rs`).
    pub(super) mp: MpApis,
    /// Conditional menus (`menu/addconditional`).
    pub(super) conditional_menus: super::menu::ConditionalMenus,
    /// Permanent material.
    pub(super) material: super::material::Materials,
    /// The draft box.
    pub(super) drafts: super::draft::Drafts,
    /// Publishing jobs and published messages.
    pub(super) publishing: super::publish::Publishing,
    /// Remarks and the blacklist (`user.rs`).
    pub(super) followers: super::user::UserBook,
    /// User tags (`tag.rs`).
    pub(super) tags: super::tag::TagBook,
    /// Mass-send jobs (`mass.rs`).
    pub(super) mass: super::mass::MassBook,
    /// Customer-service accounts (`kf.rs`).
    pub(super) kf: super::kf::KfBook,
    /// Short keys, quota resets, rids (`ops.rs`).
    pub(super) ops: super::ops::OpsBook,
}

pub(super) struct Issued {
    pub(super) valid_until: Instant,
    pub(super) revoked: bool,
}

/// The checks of an endpoint, in order; each returns the answer that ends the call early.
pub(super) type Outcome = Result<Answer, Answer>;

pub(super) fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

pub(super) fn errmsg_of(errcode: i64) -> &'static str {
    match errcode {
        -1 => "system error",
        40001 => "invalid credential, access_token is invalid or not latest",
        40002 => "invalid grant_type",
        40003 => "invalid openid",
        40004 => "invalid media type",
        40007 => "invalid media_id",
        40008 => "invalid message type",
        40013 => "invalid appid",
        40014 => "invalid access_token",
        40016 => "invalid button size",
        40017 => "invalid button type",
        40018 => "invalid button name size",
        40019 => "invalid button key size",
        40023 => "invalid sub button size",
        40029 => "invalid code",
        40030 => "invalid refresh_token",
        40055 => "invalid button url domain",
        40097 => "invalid args",
        40125 => "invalid appsecret",
        40163 => "code been used",
        40226 => "high risk user",
        41001 => "access_token missing",
        41005 => "media data missing",
        42001 => "access_token expired",
        43001 => "require GET method",
        43002 => "require POST method",
        45009 => "reach max api daily quota limit",
        45011 => "api minute-quota reach limit  mustslower  retry next minute",
        46003 => "menu no exist",
        47001 => "data format error",
        48001 => "api unauthorized",
        40129 => "invalid scene",
        40159 => "invalid length for path, or the data is not json string",
        40165 => "invalid weapp pagepath",
        40169 => "invalid length for scene, or the data is not json string",
        41030 => "invalid page",
        45029 => "max code count",
        85096 => "not allow include scancode_time field",
        87014 => "risky content",
        // Codes injected with `fail_next` and codes without an errmsg here: WeChat's own
        // errmsg varies; the client's error names the code's meaning anyway.
        _ => "request refused",
    }
}

pub(super) fn fail(errcode: i64) -> Answer {
    Answer::error(errcode, errmsg_of(errcode))
}

pub(super) fn json_body(req: &RecordedRequest) -> Result<serde_json::Map<String, Value>, Answer> {
    match req.json() {
        Some(Value::Object(map)) => Ok(map),
        _ => Err(fail(47001)),
    }
}

pub(super) fn non_empty_str<'a>(
    map: &'a serde_json::Map<String, Value>,
    key: &str,
) -> Result<&'a str, Answer> {
    match map.get(key).and_then(Value::as_str) {
        Some(s) if !s.is_empty() => Ok(s),
        _ => Err(fail(47001)),
    }
}

impl State {
    pub(super) fn next(&mut self) -> u64 {
        self.counter += 1;
        self.counter
    }

    pub(super) fn answer(&mut self, shared: &Shared, req: &RecordedRequest) -> Answer {
        let path = req.path.as_str();
        if let Some(errcode) = self.failures.get_mut(path).and_then(VecDeque::pop_front) {
            return fail(errcode);
        }
        let Some(route) = ROUTES.iter().find(|r| r.path == path) else {
            return Answer::NotFound(json!({
                "errcode": 404,
                "errmsg": format!("mock: no such endpoint {path}"),
            }));
        };
        if req.method.as_str() != route.method {
            return fail(if route.method == "GET" { 43001 } else { 43002 });
        }
        if route.authed
            && let Err(answer) = self.check_token(req)
        {
            return answer;
        }
        let outcome = (route.answer)(self, shared, req);
        outcome.unwrap_or_else(|answer| answer)
    }

    pub(super) fn check_token(&self, req: &RecordedRequest) -> Result<(), Answer> {
        let token = req.query("access_token").unwrap_or_default();
        if token.is_empty() {
            return Err(fail(41001));
        }
        match self.tokens.get(token) {
            None => Err(fail(40001)),
            Some(issued) if issued.revoked => Err(fail(40001)),
            Some(issued) if Instant::now() >= issued.valid_until => {
                // A token past its lifetime is "expired"; one retired early by a newer token
                // is "not latest".
                if self.current.as_deref() == Some(token) {
                    Err(fail(42001))
                } else {
                    Err(fail(40001))
                }
            }
            Some(_) => Ok(()),
        }
    }

    pub(super) fn check_app(
        &self,
        shared: &Shared,
        appid: Option<&str>,
        secret: Option<&str>,
    ) -> Result<(), Answer> {
        if appid != Some(shared.app_id.as_str()) {
            return Err(fail(40013));
        }
        if secret != Some(shared.app_secret.as_str()) {
            return Err(fail(40125));
        }
        Ok(())
    }

    /// Consumes a one-time code: 40163 when already used, 40029 when unknown.
    pub(super) fn take_code(
        &mut self,
        code: &str,
        take: impl FnOnce(&mut Self) -> Option<String>,
    ) -> Result<String, Answer> {
        if self.used_codes.iter().any(|c| c == code) {
            return Err(fail(40163));
        }
        let openid = take(self).ok_or_else(|| fail(40029))?;
        self.used_codes.push(code.to_owned());
        Ok(openid)
    }
}
