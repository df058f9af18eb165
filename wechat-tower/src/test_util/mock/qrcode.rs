//! QR codes with a scene (带参数二维码): `qrcode/create`.

use serde_json::{Value, json};

use super::RecordedRequest;
use super::server::{Answer, Outcome, State, fail, json_body, non_empty_str};

impl State {
    pub(super) fn qrcode_create(&mut self, req: &RecordedRequest) -> Outcome {
        let body = json_body(req)?;
        let action = non_empty_str(&body, "action_name")?;
        let scene = body
            .get("action_info")
            .and_then(|i| i.get("scene"))
            .ok_or_else(|| fail(47001))?;
        let temporary = match action {
            "QR_SCENE" | "QR_LIMIT_SCENE" => {
                if scene
                    .get("scene_id")
                    .and_then(Value::as_u64)
                    .is_none_or(|id| id == 0)
                {
                    return Err(fail(47001));
                }
                action == "QR_SCENE"
            }
            "QR_STR_SCENE" | "QR_LIMIT_STR_SCENE" => {
                match scene.get("scene_str").and_then(Value::as_str) {
                    Some(s) if !s.is_empty() && s.chars().count() <= 64 => {}
                    _ => return Err(fail(47001)),
                }
                action == "QR_STR_SCENE"
            }
            _ => return Err(fail(40097)),
        };
        let n = self.next();
        let mut answer = json!({
            "ticket": format!("gQmock+ticket/{n}=="),
            "url": format!("http://weixin.qq.com/q/mock{n}"),
        });
        if temporary {
            let expire = body
                .get("expire_seconds")
                .and_then(Value::as_u64)
                .unwrap_or(60)
                .min(2_592_000);
            answer["expire_seconds"] = json!(expire);
        }
        Ok(Answer::Json(answer))
    }
}
