//! Followers: `user/info`, `user/get`.

use serde_json::json;

use super::RecordedRequest;
use super::server::{Answer, Outcome, State, fail};

impl State {
    pub(super) fn check_user(&self, openid: &str) -> Result<(), Answer> {
        if self.users.iter().any(|u| u == openid) {
            Ok(())
        } else {
            Err(fail(40003))
        }
    }

    pub(super) fn user_info(&self, req: &RecordedRequest) -> Outcome {
        let openid = req.query("openid").unwrap_or_default();
        self.check_user(openid)?;
        Ok(Answer::Json(json!({
            "subscribe": 1,
            "openid": openid,
            "language": req.query("lang").unwrap_or("zh_CN"),
            "subscribe_time": 1_700_000_000,
            "unionid": format!("mock-union-{openid}"),
            "remark": "",
            "groupid": 0,
            "tagid_list": [],
            "subscribe_scene": "ADD_SCENE_QR_CODE",
            "qr_scene": 0,
            "qr_scene_str": "",
        })))
    }

    pub(super) fn user_get(&self, req: &RecordedRequest) -> Outcome {
        let start = match req.query("next_openid").filter(|s| !s.is_empty()) {
            None => 0,
            Some(next) => {
                self.users
                    .iter()
                    .position(|u| u == next)
                    .ok_or_else(|| fail(40003))?
                    + 1
            }
        };
        let page: Vec<&String> = self
            .users
            .iter()
            .skip(start)
            .take(self.user_page_size)
            .collect();
        let mut answer = json!({
            "total": self.users.len(),
            "count": page.len(),
            "next_openid": page.last().map_or("", |s| s.as_str()),
        });
        if !page.is_empty() {
            answer["data"] = json!({ "openid": page });
        }
        Ok(Answer::Json(answer))
    }
}
