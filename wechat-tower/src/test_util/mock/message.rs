//! Messages sent to users: customer service (客服消息), template and subscription messages.

use serde_json::{Value, json};

use super::RecordedRequest;
use super::server::{Answer, Outcome, State, fail, json_body, non_empty_str};

impl State {
    pub(super) fn custom_send(&mut self, req: &RecordedRequest) -> Outcome {
        let body = json_body(req)?;
        self.check_user(non_empty_str(&body, "touser")?)?;
        let msgtype = non_empty_str(&body, "msgtype")?;
        let content = body
            .get(msgtype)
            .and_then(Value::as_object)
            .ok_or_else(|| fail(47001))?;
        let required: &[&str] = match msgtype {
            "text" => &["content"],
            "image" | "voice" | "mpnews" => &["media_id"],
            "video" => &["media_id", "thumb_media_id"],
            "news" => {
                let articles = content
                    .get("articles")
                    .and_then(Value::as_array)
                    .ok_or_else(|| fail(47001))?;
                if articles.len() != 1 {
                    return Err(fail(47001));
                }
                for article in articles {
                    let article = article.as_object().ok_or_else(|| fail(47001))?;
                    non_empty_str(article, "title")?;
                    non_empty_str(article, "url")?;
                }
                &[]
            }
            "miniprogrampage" => &["title", "appid", "pagepath", "thumb_media_id"],
            "music" | "msgmenu" | "wxcard" | "mpnewsarticle" => &[],
            _ => return Err(fail(40008)),
        };
        for field in required {
            non_empty_str(content, field)?;
        }
        Ok(Answer::ok())
    }

    pub(super) fn check_data(body: &serde_json::Map<String, Value>) -> Result<(), Answer> {
        let data = body
            .get("data")
            .and_then(Value::as_object)
            .ok_or_else(|| fail(47001))?;
        for value in data.values() {
            if value.get("value").and_then(Value::as_str).is_none() {
                return Err(fail(47001));
            }
        }
        Ok(())
    }

    pub(super) fn template_send(&mut self, req: &RecordedRequest) -> Outcome {
        let body = json_body(req)?;
        self.check_user(non_empty_str(&body, "touser")?)?;
        non_empty_str(&body, "template_id")?;
        Self::check_data(&body)?;
        let msgid = self.next();
        Ok(Answer::Json(
            json!({ "errcode": 0, "errmsg": "ok", "msgid": msgid }),
        ))
    }

    pub(super) fn subscribe_send(&mut self, req: &RecordedRequest) -> Outcome {
        let body = json_body(req)?;
        self.check_user(non_empty_str(&body, "touser")?)?;
        non_empty_str(&body, "template_id")?;
        Self::check_data(&body)?;
        if let Some(state) = body.get("miniprogram_state")
            && !matches!(state.as_str(), Some("developer" | "trial" | "formal"))
        {
            return Err(fail(47001));
        }
        Ok(Answer::ok())
    }
}
