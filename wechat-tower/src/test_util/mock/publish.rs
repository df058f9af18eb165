//! Publishing (发布能力): `freepublish/submit`, `get`, `batchget`, `delete`, `getarticle`.
//!
//! A submitted draft leaves the draft box and becomes a job that is still publishing (`1`) at
//! its first `freepublish/get` and published (`0`, with its `article_id`) from the second on;
//! only then is it listed. [`MockWechat::fail_next_publish`](super::MockWechat::fail_next_publish)
//! makes the next submitted job end otherwise (originality check failed, refused by the review,
//! ...), with its `fail_idx`; such a job is never listed. The mock does not push the
//! `PUBLISHJOBFINISH` event (it does not know the bot's URL).

use serde_json::{Value, json};
use wechat_core::message::PublishStatus;

use super::RecordedRequest;
use super::draft::strip_content;
use super::material::page;
use super::server::{Answer, Outcome, State, fail, json_body, non_empty_str, unix_now};

/// The publishing jobs and published messages of a mock.
#[derive(Default)]
pub(super) struct Publishing {
    jobs: Vec<Job>,
    /// Published messages, oldest first.
    published: Vec<Published>,
    /// How the next submitted job ends, when not published: its status and `fail_idx`.
    pub(super) next_failure: Option<(PublishStatus, Vec<u32>)>,
}

struct Job {
    publish_id: String,
    article_id: String,
    articles: Vec<Value>,
    polls: u32,
    done: bool,
    /// Set: the job ends with this status and `fail_idx` instead of being published.
    failure: Option<(PublishStatus, Vec<u32>)>,
}

struct Published {
    article_id: String,
    articles: Vec<Value>,
    update_time: u64,
}

impl Publishing {
    fn published_mut(&mut self, article_id: &str) -> Option<&mut Published> {
        self.published
            .iter_mut()
            .find(|p| p.article_id == article_id)
    }
}

impl State {
    pub(super) fn publish_submit(&mut self, req: &RecordedRequest) -> Outcome {
        let body = json_body(req)?;
        let media_id = non_empty_str(&body, "media_id")?.to_owned();
        let draft = self.drafts.take(&media_id).ok_or_else(|| fail(40007))?;
        let n = self.next();
        let publish_id = format!("{}", 100_000_000 + n);
        let article_id = format!("mock-article-{n}");
        self.publishing.jobs.push(Job {
            publish_id: publish_id.clone(),
            article_id,
            articles: draft.articles,
            polls: 0,
            done: false,
            failure: self.publishing.next_failure.take(),
        });
        Ok(Answer::Json(json!({
            "errcode": 0,
            "errmsg": "ok",
            "publish_id": publish_id,
            "msg_data_id": 2_247_483_000_u64 + n,
        })))
    }

    pub(super) fn publish_get(&mut self, req: &RecordedRequest) -> Outcome {
        let body = json_body(req)?;
        let publish_id = non_empty_str(&body, "publish_id")?;
        let job = self
            .publishing
            .jobs
            .iter_mut()
            .find(|j| j.publish_id == publish_id)
            .ok_or_else(|| fail(53600))?;
        job.polls += 1;
        if job.polls < 2 {
            return Ok(Answer::Json(json!({
                "publish_id": job.publish_id,
                "publish_status": 1,
                "fail_idx": [],
            })));
        }
        if let Some((status, fail_idx)) = &job.failure {
            return Ok(Answer::Json(json!({
                "publish_id": job.publish_id,
                "publish_status": status.code(),
                "fail_idx": fail_idx,
            })));
        }
        let answer = json!({
            "publish_id": job.publish_id,
            "publish_status": 0,
            "article_id": job.article_id,
            "article_detail": {
                "count": job.articles.len(),
                "item": (1..=job.articles.len()).map(|idx| json!({
                    "idx": idx,
                    "article_url": format!("http://mp.weixin.qq.com/s/{}-{idx}", job.article_id),
                })).collect::<Vec<_>>(),
            },
            "fail_idx": [],
        });
        if !job.done {
            job.done = true;
            let articles = job
                .articles
                .iter()
                .map(|a| {
                    let mut a = a.clone();
                    a["is_deleted"] = json!(false);
                    a
                })
                .collect();
            let article_id = job.article_id.clone();
            self.publishing.published.push(Published {
                article_id,
                articles,
                update_time: unix_now(),
            });
        }
        Ok(Answer::Json(answer))
    }

    pub(super) fn publish_batchget(&self, req: &RecordedRequest) -> Outcome {
        let body = json_body(req)?;
        let (offset, count) = page(&body)?;
        let no_content = body.get("no_content").and_then(Value::as_u64) == Some(1);
        let item: Vec<Value> = self
            .publishing
            .published
            .iter()
            .rev()
            .skip(offset)
            .take(count)
            .map(|p| {
                json!({
                    "article_id": p.article_id,
                    "content": {
                        "news_item": strip_content(&p.articles, no_content),
                        "create_time": p.update_time,
                        "update_time": p.update_time,
                    },
                    "update_time": p.update_time,
                })
            })
            .collect();
        Ok(Answer::Json(json!({
            "total_count": self.publishing.published.len(),
            "item_count": item.len(),
            "item": item,
        })))
    }

    pub(super) fn publish_delete(&mut self, req: &RecordedRequest) -> Outcome {
        let body = json_body(req)?;
        let article_id = non_empty_str(&body, "article_id")?.to_owned();
        let index = match body.get("index") {
            None => 0,
            Some(v) => v.as_u64().ok_or_else(|| fail(47001))?,
        };
        let published = self
            .publishing
            .published_mut(&article_id)
            .ok_or_else(|| fail(53600))?;
        if index == 0 {
            for article in &mut published.articles {
                article["is_deleted"] = json!(true);
            }
        } else {
            let article = usize::try_from(index - 1)
                .ok()
                .and_then(|i| published.articles.get_mut(i))
                .ok_or_else(|| fail(47001))?;
            article["is_deleted"] = json!(true);
        }
        published.update_time = unix_now();
        Ok(Answer::ok())
    }

    pub(super) fn publish_getarticle(&self, req: &RecordedRequest) -> Outcome {
        let body = json_body(req)?;
        let article_id = non_empty_str(&body, "article_id")?;
        let published = self
            .publishing
            .published
            .iter()
            .find(|p| p.article_id == article_id)
            .ok_or_else(|| fail(53600))?;
        Ok(Answer::Json(json!({ "news_item": published.articles })))
    }
}
