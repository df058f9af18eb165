//! The draft box (草稿箱): `draft/add`, `draft/get`, `draft/update`, `draft/batchget`,
//! `draft/delete`, `draft/count`. Articles are checked as WeChat does (title and text, a cover
//! that is an image material, `newspic` pictures that are image materials) and kept as sent,
//! unknown fields included.

use serde_json::{Map, Value, json};

use super::RecordedRequest;
use super::material::page;
use super::server::{Answer, Outcome, State, fail, json_body, non_empty_str, unix_now};

/// The drafts of a mock, oldest first.
#[derive(Default)]
pub(super) struct Drafts {
    items: Vec<(String, Draft)>,
}

pub(super) struct Draft {
    pub(super) articles: Vec<Value>,
    create_time: u64,
    update_time: u64,
}

impl Drafts {
    /// Takes a draft out of the box (it is being published).
    pub(super) fn take(&mut self, media_id: &str) -> Option<Draft> {
        let at = self.items.iter().position(|(id, _)| id == media_id)?;
        Some(self.items.remove(at).1)
    }

    fn get_mut(&mut self, media_id: &str) -> Option<&mut Draft> {
        self.items
            .iter_mut()
            .find(|(id, _)| id == media_id)
            .map(|(_, d)| d)
    }
}

/// The articles of a list without their text (`no_content`).
pub(super) fn strip_content(articles: &[Value], no_content: bool) -> Vec<Value> {
    articles
        .iter()
        .map(|a| {
            let mut a = a.clone();
            if no_content && let Some(map) = a.as_object_mut() {
                map.insert("content".to_owned(), json!(""));
            }
            a
        })
        .collect()
}

impl State {
    /// One article as `draft/add` and `draft/update` check it, with the answer-only fields
    /// WeChat adds.
    fn check_article(&self, article: &Value) -> Result<Value, Answer> {
        let map: &Map<String, Value> = article.as_object().ok_or_else(|| fail(47001))?;
        non_empty_str(map, "title")?;
        non_empty_str(map, "content")?;
        match map.get("article_type").and_then(Value::as_str) {
            None | Some("news") => {
                let thumb = non_empty_str(map, "thumb_media_id").map_err(|_| fail(40007))?;
                if !self.material.is_image(thumb) {
                    return Err(fail(40007));
                }
            }
            Some("newspic") => {
                let images = map
                    .get("image_info")
                    .and_then(|i| i.get("image_list"))
                    .and_then(Value::as_array)
                    .filter(|l| !l.is_empty() && l.len() <= 20)
                    .ok_or_else(|| fail(47001))?;
                for image in images {
                    let id = image
                        .get("image_media_id")
                        .and_then(Value::as_str)
                        .unwrap_or_default();
                    if !self.material.is_image(id) {
                        return Err(fail(40007));
                    }
                }
            }
            Some(_) => return Err(fail(47001)),
        }
        let mut stored = map.clone();
        stored.insert(
            "url".to_owned(),
            json!("http://mp.weixin.qq.com/s?__biz=mock&tempkey=draft"),
        );
        Ok(Value::Object(stored))
    }

    pub(super) fn draft_add(&mut self, req: &RecordedRequest) -> Outcome {
        let body = json_body(req)?;
        let articles = body
            .get("articles")
            .and_then(Value::as_array)
            .filter(|a| !a.is_empty() && a.len() <= 8)
            .ok_or_else(|| fail(47001))?;
        let articles = articles
            .iter()
            .map(|a| self.check_article(a))
            .collect::<Result<Vec<_>, _>>()?;
        let media_id = format!("mock-draft-{}", self.next());
        let now = unix_now();
        self.drafts.items.push((
            media_id.clone(),
            Draft {
                articles,
                create_time: now,
                update_time: now,
            },
        ));
        Ok(Answer::Json(json!({ "media_id": media_id })))
    }

    pub(super) fn draft_get(&self, req: &RecordedRequest) -> Outcome {
        let body = json_body(req)?;
        let media_id = non_empty_str(&body, "media_id")?;
        let (_, draft) = self
            .drafts
            .items
            .iter()
            .find(|(id, _)| id == media_id)
            .ok_or_else(|| fail(40007))?;
        Ok(Answer::Json(json!({
            "news_item": draft.articles,
            "create_time": draft.create_time,
            "update_time": draft.update_time,
        })))
    }

    pub(super) fn draft_update(&mut self, req: &RecordedRequest) -> Outcome {
        let body = json_body(req)?;
        let media_id = non_empty_str(&body, "media_id")?.to_owned();
        let index = body
            .get("index")
            .and_then(Value::as_u64)
            .ok_or_else(|| fail(47001))?;
        let article = body.get("articles").ok_or_else(|| fail(47001))?;
        let article = self.check_article(article)?;
        let draft = self.drafts.get_mut(&media_id).ok_or_else(|| fail(40007))?;
        let slot = usize::try_from(index)
            .ok()
            .and_then(|i| draft.articles.get_mut(i))
            .ok_or_else(|| fail(47001))?;
        *slot = article;
        draft.update_time = unix_now();
        Ok(Answer::ok())
    }

    pub(super) fn draft_batchget(&self, req: &RecordedRequest) -> Outcome {
        let body = json_body(req)?;
        let (offset, count) = page(&body)?;
        let no_content = body.get("no_content").and_then(Value::as_u64) == Some(1);
        let item: Vec<Value> = self
            .drafts
            .items
            .iter()
            .rev()
            .skip(offset)
            .take(count)
            .map(|(id, d)| {
                json!({
                    "media_id": id,
                    "content": {
                        "news_item": strip_content(&d.articles, no_content),
                        "create_time": d.create_time,
                        "update_time": d.update_time,
                    },
                    "update_time": d.update_time,
                })
            })
            .collect();
        Ok(Answer::Json(json!({
            "total_count": self.drafts.items.len(),
            "item_count": item.len(),
            "item": item,
        })))
    }

    pub(super) fn draft_delete(&mut self, req: &RecordedRequest) -> Outcome {
        let body = json_body(req)?;
        let media_id = non_empty_str(&body, "media_id")?;
        self.drafts.take(media_id).ok_or_else(|| fail(40007))?;
        Ok(Answer::ok())
    }

    pub(super) fn draft_count(&self) -> Outcome {
        Ok(Answer::Json(
            json!({ "total_count": self.drafts.items.len() }),
        ))
    }
}
