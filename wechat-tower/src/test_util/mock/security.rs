//! Content security, version 2: `wxa/msg_sec_check` and `wxa/media_check_async`.
//!
//! The text check's verdict follows the content: text containing `赌博` or `gamble` is
//! `risky` (label 20006, illegal, found by the keyword strategy), text containing `广告` or
//! `buy now` is `review` (label 10001, advertising), anything else `pass` (100). The openid must
//! be one of the mock's users (else 40003).

use serde_json::{Map, Value, json};

use super::RecordedRequest;
use super::links::random_id;
use super::server::{Answer, Outcome, State, fail, json_body, non_empty_str};

impl State {
    pub(super) fn msg_sec_check(&mut self, req: &RecordedRequest) -> Outcome {
        let body = json_body(req)?;
        let content = non_empty_str(&body, "content")?;
        self.sec_common(&body)?;
        for key in ["title", "nickname", "signature"] {
            if body.get(key).is_some_and(|v| !v.is_string()) {
                return Err(fail(47001));
            }
        }
        let text = [Some(content), text(&body, "title"), text(&body, "nickname")]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join("\n")
            .to_lowercase();
        let (suggest, label, keyword) =
            if let Some(k) = ["赌博", "gamble"].into_iter().find(|k| text.contains(k)) {
                ("risky", 20006, Some(k))
            } else if ["广告", "buy now"].into_iter().any(|k| text.contains(k)) {
                ("review", 10001, None)
            } else {
                ("pass", 100, None)
            };
        let mut detail = vec![json!({
            "strategy": "content_model",
            "errcode": 0,
            "suggest": suggest,
            "label": label,
            "prob": if label == 100 { 0 } else { 90 },
        })];
        if let Some(keyword) = keyword {
            detail.push(json!({
                "strategy": "keyword",
                "errcode": 0,
                "suggest": "risky",
                "label": label,
                "keyword": keyword,
                "level": 20,
            }));
        }
        Ok(Answer::Json(json!({
            "errcode": 0,
            "errmsg": "ok",
            "result": { "suggest": suggest, "label": label },
            "detail": detail,
            "trace_id": trace_id(),
        })))
    }

    pub(super) fn media_check_async(&mut self, req: &RecordedRequest) -> Outcome {
        let body = json_body(req)?;
        let url = non_empty_str(&body, "media_url")?;
        let uri: http::Uri = url.parse().map_err(|_| fail(40097))?;
        if !matches!(uri.scheme_str(), Some("http" | "https")) || uri.host().is_none() {
            return Err(fail(40097));
        }
        match body.get("media_type").and_then(Value::as_u64) {
            Some(1 | 2) => {}
            Some(_) => return Err(fail(40097)),
            None => return Err(fail(47001)),
        }
        self.sec_common(&body)?;
        let trace_id = trace_id();
        self.mp
            .media_checks
            .push((trace_id.clone(), url.to_owned()));
        Ok(Answer::Json(json!({
            "errcode": 0,
            "errmsg": "ok",
            "trace_id": trace_id,
        })))
    }

    /// `version` 2, `scene` 1–4 (else 40129), a known `openid` (else 40003).
    fn sec_common(&self, body: &Map<String, Value>) -> Result<(), Answer> {
        if body.get("version").and_then(Value::as_u64) != Some(2) {
            return Err(fail(47001));
        }
        match body.get("scene").and_then(Value::as_u64) {
            Some(1..=4) => {}
            Some(_) => return Err(fail(40129)),
            None => return Err(fail(47001)),
        }
        let openid = non_empty_str(body, "openid")?;
        if !self.users.iter().any(|u| u == openid) {
            return Err(fail(40003));
        }
        Ok(())
    }
}

fn text<'a>(body: &'a Map<String, Value>, key: &str) -> Option<&'a str> {
    body.get(key).and_then(Value::as_str)
}

/// A trace id shaped like WeChat's (`60ae120f-371d5872-7941a05b`).
fn trace_id() -> String {
    let id = random_id();
    format!("{}-{}-{}", &id[..8], &id[8..16], &id[16..24])
}
