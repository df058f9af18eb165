//! Permanent material (永久素材): `material/add_material` (multipart, videos with their
//! `description` part), `media/uploadimg`, `material/get_material`, `material/del_material`,
//! `material/get_materialcount`, `material/batchget_material`. WeChat's type, extension and
//! size limits are checked; materials are kept until deleted.

use bytes::Bytes;
use serde_json::{Value, json};

use super::RecordedRequest;
use super::media::{multipart_file, multipart_text};
use super::server::{Answer, Outcome, State, fail, json_body, non_empty_str, unix_now};

/// The permanent materials of a mock, oldest first.
#[derive(Default)]
pub(super) struct Materials {
    items: Vec<(String, Material)>,
    article_images: u64,
}

struct Material {
    kind: String,
    filename: String,
    content_type: String,
    data: Bytes,
    /// Title and introduction of a video.
    description: Option<(String, String)>,
    update_time: u64,
}

impl Materials {
    /// Whether `media_id` is an image (or thumbnail) material: what covers and `newspic`
    /// pictures must be.
    pub(super) fn is_image(&self, media_id: &str) -> bool {
        self.get(media_id)
            .is_some_and(|m| matches!(m.kind.as_str(), "image" | "thumb"))
    }

    fn get(&self, media_id: &str) -> Option<&Material> {
        self.items
            .iter()
            .find(|(id, _)| id == media_id)
            .map(|(_, m)| m)
    }
}

/// The extensions and the size limit of each kind, and the code of a file over it.
fn limits(kind: &str) -> (&'static [&'static str], usize, i64) {
    match kind {
        "image" => (&["bmp", "png", "jpeg", "jpg", "gif"], 10 << 20, 40009),
        "voice" => (&["mp3", "wma", "wav", "amr"], 2 << 20, 40010),
        "video" => (&["mp4"], 10 << 20, 40011),
        _ => (&["jpg", "jpeg"], 64 << 10, 40012),
    }
}

fn extension(filename: &str) -> String {
    filename
        .rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase())
        .unwrap_or_default()
}

/// `offset` and `count` (1 to 20) of a batchget body.
pub(super) fn page(body: &serde_json::Map<String, Value>) -> Result<(usize, usize), Answer> {
    let number = |key: &str| body.get(key).and_then(Value::as_u64);
    let offset = number("offset").ok_or_else(|| fail(47001))?;
    let count = number("count").ok_or_else(|| fail(47001))?;
    if !(1..=20).contains(&count) {
        return Err(fail(47001));
    }
    Ok((
        usize::try_from(offset).unwrap_or(usize::MAX),
        usize::try_from(count).unwrap_or(20),
    ))
}

impl State {
    pub(super) fn material_add(&mut self, req: &RecordedRequest) -> Outcome {
        let kind = req.query("type").unwrap_or_default().to_owned();
        if !matches!(kind.as_str(), "image" | "voice" | "video" | "thumb") {
            return Err(fail(40004));
        }
        let part = multipart_file(req, "media").ok_or_else(|| fail(41005))?;
        let (extensions, max, too_big) = limits(&kind);
        if !extensions.contains(&extension(&part.filename).as_str()) {
            return Err(fail(40005));
        }
        if part.data.is_empty() || part.data.len() > max {
            return Err(fail(too_big));
        }
        let description = if kind == "video" {
            let text = multipart_text(req, "description").ok_or_else(|| fail(47001))?;
            let value: Value = serde_json::from_str(&text).map_err(|_| fail(47001))?;
            let field = |key: &str| value.get(key).and_then(Value::as_str).map(str::to_owned);
            match (field("title"), field("introduction")) {
                (Some(title), Some(intro)) if !title.is_empty() => Some((title, intro)),
                _ => return Err(fail(47001)),
            }
        } else {
            None
        };
        let media_id = format!("mock-material-{}", self.next());
        let url = (kind == "image").then(|| format!("http://mmbiz.qpic.cn/mock/{media_id}"));
        self.material.items.push((
            media_id.clone(),
            Material {
                kind,
                filename: part.filename,
                content_type: part.content_type,
                data: part.data,
                description,
                update_time: unix_now(),
            },
        ));
        let mut answer = json!({ "media_id": media_id });
        if let Some(url) = url {
            answer["url"] = json!(url);
        }
        Ok(Answer::Json(answer))
    }

    pub(super) fn material_uploadimg(&mut self, req: &RecordedRequest) -> Outcome {
        let part = multipart_file(req, "media").ok_or_else(|| fail(41005))?;
        if !matches!(extension(&part.filename).as_str(), "jpg" | "jpeg" | "png") {
            return Err(fail(40005));
        }
        if part.data.is_empty() || part.data.len() > 1 << 20 {
            return Err(fail(40009));
        }
        self.material.article_images += 1;
        let n = self.next();
        Ok(Answer::Json(
            json!({ "url": format!("http://mmbiz.qpic.cn/mock/article-image-{n}") }),
        ))
    }

    pub(super) fn material_get(&self, req: &RecordedRequest) -> Outcome {
        let body = json_body(req)?;
        let media_id = non_empty_str(&body, "media_id")?;
        let material = self.material.get(media_id).ok_or_else(|| fail(40007))?;
        if let Some((title, intro)) = &material.description {
            return Ok(Answer::Json(json!({
                "title": title,
                "description": intro,
                "down_url": format!("http://mock.weixin.qq.com/material/{media_id}"),
            })));
        }
        Ok(Answer::File {
            content_type: material.content_type.clone(),
            filename: material.filename.clone(),
            data: material.data.clone(),
        })
    }

    pub(super) fn material_delete(&mut self, req: &RecordedRequest) -> Outcome {
        let body = json_body(req)?;
        let media_id = non_empty_str(&body, "media_id")?;
        let before = self.material.items.len();
        self.material.items.retain(|(id, _)| id != media_id);
        if self.material.items.len() == before {
            return Err(fail(40007));
        }
        Ok(Answer::ok())
    }

    pub(super) fn material_count(&self) -> Outcome {
        let count = |kinds: &[&str]| {
            self.material
                .items
                .iter()
                .filter(|(_, m)| kinds.contains(&m.kind.as_str()))
                .count()
        };
        Ok(Answer::Json(json!({
            "voice_count": count(&["voice"]),
            "video_count": count(&["video"]),
            "image_count": count(&["image", "thumb"]),
            "news_count": 0,
        })))
    }

    pub(super) fn material_batchget(&self, req: &RecordedRequest) -> Outcome {
        let body = json_body(req)?;
        let kinds: &[&str] = match body.get("type").and_then(Value::as_str) {
            Some("image") => &["image", "thumb"],
            Some("video") => &["video"],
            Some("voice") => &["voice"],
            // News materials come from the retired `add_news`: the mock has none.
            Some("news") => &[],
            _ => return Err(fail(40004)),
        };
        let (offset, count) = page(&body)?;
        let matching: Vec<_> = self
            .material
            .items
            .iter()
            .rev()
            .filter(|(_, m)| kinds.contains(&m.kind.as_str()))
            .collect();
        let item: Vec<Value> = matching
            .iter()
            .skip(offset)
            .take(count)
            .map(|(id, m)| {
                let mut item =
                    json!({ "media_id": id, "name": m.filename, "update_time": m.update_time });
                if m.kind == "image" {
                    item["url"] = json!(format!("http://mmbiz.qpic.cn/mock/{id}"));
                }
                item
            })
            .collect();
        Ok(Answer::Json(json!({
            "total_count": matching.len(),
            "item_count": item.len(),
            "item": item,
        })))
    }
}
