//! `mp-tools publish`: an article from an HTML file, published.
//!
//! 1. the cover goes up as a permanent image material (`material/add_material`, the file
//!    streamed from disk);
//! 2. a draft (草稿箱) of one article is added (`draft/add`);
//! 3. the draft is submitted for publishing (发布能力, `freepublish/submit`);
//! 4. the job is polled (`freepublish/get`) every `--poll-secs` until it ends or
//!    `--deadline-secs` pass. WeChat also pushes the `PUBLISHJOBFINISH` event to the account's
//!    server; a tool without a server polls.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use tokio::time::Instant;
use wechat_tower::client::{
    Article, MediaType, PublishJobStatus, PublishStatus, Upload, WechatClient,
};

use crate::args::Args;

/// The arguments of `mp-tools publish`.
pub(crate) struct Publish {
    title: String,
    author: Option<String>,
    digest: Option<String>,
    content_file: PathBuf,
    cover: PathBuf,
    poll: Duration,
    deadline: Duration,
}

impl Publish {
    /// Reads `--title`, `--content-file`, `--cover`, `--author`, `--digest`, `--poll-secs`
    /// (default 5) and `--deadline-secs` (default 120).
    pub(crate) fn from_args(args: &mut Args) -> Result<Self, String> {
        let secs = |args: &mut Args, name: &str, default: u64| -> Result<Duration, String> {
            match args.parsed::<u64>(name)?.unwrap_or(default) {
                0 => Err(format!("--{name} must be at least 1")),
                secs => Ok(Duration::from_secs(secs)),
            }
        };
        Ok(Self {
            title: args.required("title")?,
            author: args.take("author"),
            digest: args.take("digest"),
            content_file: args.required("content-file")?.into(),
            cover: args.required("cover")?.into(),
            poll: secs(args, "poll-secs", 5)?,
            deadline: secs(args, "deadline-secs", 120)?,
        })
    }

    /// Uploads, drafts, submits and waits; prints the article URLs, or fails with the status.
    pub(crate) async fn run(self, client: &WechatClient) -> Result<ExitCode, String> {
        let content = tokio::fs::read_to_string(&self.content_file)
            .await
            .map_err(|e| format!("{}: {e}", self.content_file.display()))?;
        if content.trim().is_empty() {
            return Err(format!("{} is empty", self.content_file.display()));
        }
        match tokio::fs::metadata(&self.cover).await {
            Ok(meta) if meta.is_file() => {}
            Ok(_) => return Err(format!("{}: not a file", self.cover.display())),
            Err(e) => return Err(format!("{}: {e}", self.cover.display())),
        }

        let cover = client
            .material()
            .add(MediaType::Image, Upload::path(&self.cover))
            .await
            .map_err(|e| format!("material/add_material ({}): {e}", self.cover.display()))?;
        eprintln!("cover uploaded: media_id {}", cover.media_id);

        let mut article = Article::news(self.title, content, cover.media_id);
        article.author = self.author;
        article.digest = self.digest;
        let draft = client
            .draft()
            .add(&[article])
            .await
            .map_err(|e| format!("draft/add: {e}"))?;
        eprintln!("draft added: media_id {draft}");

        let job = client.publish().submit(&draft).await.map_err(|e| {
            format!("freepublish/submit: {e} (the draft {draft} stays in the draft box)")
        })?;
        eprintln!("submitted: publish_id {}", job.publish_id);

        let status = wait(client, &job.publish_id, self.poll, self.deadline).await?;
        report(&status)
    }
}

/// Polls the job every `poll` until its status is final, or fails when the next poll would
/// come after `limit`.
async fn wait(
    client: &WechatClient,
    publish_id: &str,
    poll: Duration,
    limit: Duration,
) -> Result<PublishJobStatus, String> {
    let deadline = Instant::now() + limit;
    loop {
        let status = client
            .publish()
            .get(publish_id)
            .await
            .map_err(|e| format!("freepublish/get: {e}"))?;
        if status.publish_status.is_final() {
            return Ok(status);
        }
        if Instant::now() + poll > deadline {
            return Err(format!(
                "still publishing at the {} s deadline; the job goes on at WeChat: its end comes \
                 as the PUBLISHJOBFINISH event, or ask freepublish/get for publish_id {publish_id}",
                limit.as_secs()
            ));
        }
        eprintln!("publishing; asking again in {} s", poll.as_secs());
        tokio::time::sleep(poll).await;
    }
}

/// Prints where the articles are; a job that ended otherwise is an error with its status.
fn report(status: &PublishJobStatus) -> Result<ExitCode, String> {
    if status.publish_status != PublishStatus::Published {
        let failed = if status.fail_idx.is_empty() {
            String::new()
        } else {
            let idx: Vec<String> = status.fail_idx.iter().map(u32::to_string).collect();
            format!("; failed articles: {}", idx.join(", "))
        };
        return Err(format!(
            "publishing failed: {} (publish_status {}){failed}",
            status_name(status.publish_status),
            status.publish_status.code()
        ));
    }
    println!(
        "published: article_id {}",
        status.article_id.as_deref().unwrap_or("(none given)")
    );
    let urls = status
        .article_detail
        .as_ref()
        .map(|detail| detail.item.as_slice())
        .unwrap_or_default();
    if urls.is_empty() {
        println!("(WeChat gave no article URL)");
    }
    for item in urls {
        println!("article {}: {}", item.idx, item.article_url);
    }
    Ok(ExitCode::SUCCESS)
}

fn status_name(status: PublishStatus) -> &'static str {
    match status {
        PublishStatus::Published => "published (发布成功)",
        PublishStatus::Publishing => "still publishing (发布中)",
        PublishStatus::OriginalityFailed => "the originality check failed (原创失败)",
        PublishStatus::Failed => "the job failed (常规失败)",
        PublishStatus::ReviewRefused => "refused by the platform's review (平台审核不通过)",
        PublishStatus::DeletedByUser => "published, then every article was deleted",
        PublishStatus::Banned => "published, then every article was banned (封禁)",
        _ => "a status this tool does not know",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(json: &str) -> PublishJobStatus {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn a_job_that_ended_otherwise_is_an_error_with_its_status() {
        let err = report(&status(
            r#"{"publish_id":"1","publish_status":2,"fail_idx":[1,3]}"#,
        ))
        .unwrap_err();
        assert_eq!(
            err,
            "publishing failed: the originality check failed (原创失败) (publish_status 2); \
             failed articles: 1, 3"
        );
        let err = report(&status(r#"{"publish_id":"1","publish_status":42}"#)).unwrap_err();
        assert_eq!(
            err,
            "publishing failed: a status this tool does not know (publish_status 42)"
        );
    }

    #[test]
    fn a_published_job_is_a_success() {
        let done = status(
            r#"{"publish_id":"1","publish_status":0,"article_id":"a",
                "article_detail":{"count":1,"item":[{"idx":1,"article_url":"http://x/1"}]}}"#,
        );
        assert_eq!(report(&done).unwrap(), ExitCode::SUCCESS);
    }
}
