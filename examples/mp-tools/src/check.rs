//! `mp-tools check`: content security (内容安全) of a user's text, `wxa/msg_sec_check`
//! version 2, with an exit code a shell script can branch on: 0 for `pass`, 2 for `review` or
//! `risky` (and for a suggestion this tool does not know, which WeChat's documentation says to
//! treat as `review`), 1 when the check itself failed.

use std::process::ExitCode;

use wechat_tower::client::{Label, MsgSecCheck, SecScene, Suggest, WechatClient};

use crate::args::Args;

/// The exit code of a text that is not plainly fine.
const NOT_PASSED: u8 = 2;

/// The arguments of `mp-tools check`.
pub(crate) struct Check {
    text: String,
    openid: String,
    scene: SecScene,
}

impl Check {
    /// Reads the text, `--openid` and `--scene` (default `comment`).
    pub(crate) fn from_args(args: &mut Args) -> Result<Self, String> {
        let scene = match args.take("scene").as_deref() {
            None | Some("comment") => SecScene::Comment,
            Some("profile") => SecScene::Profile,
            Some("forum") => SecScene::Forum,
            Some("social") => SecScene::SocialLog,
            Some(other) => {
                return Err(format!(
                    "--scene: `{other}`; expected comment, profile, forum or social"
                ));
            }
        };
        Ok(Self {
            openid: args.required("openid")?,
            text: args.single_positional("the text to check")?,
            scene,
        })
    }

    /// Checks the text and prints the verdict.
    pub(crate) async fn run(self, client: &WechatClient) -> Result<ExitCode, String> {
        let request = MsgSecCheck::new(self.openid, self.scene, self.text);
        let verdict = client
            .security()
            .msg_sec_check(&request)
            .await
            .map_err(|e| format!("wxa/msg_sec_check: {e}"))?;
        let result = &verdict.result;
        println!("suggest  {}", suggest_name(&result.suggest));
        println!(
            "label    {} {}",
            u32::from(result.label),
            label_name(result.label)
        );
        for detail in &verdict.detail {
            if let Some(keyword) = &detail.keyword {
                println!("keyword  {keyword} ({})", detail.strategy);
            }
        }
        if !verdict.trace_id.is_empty() {
            println!("trace_id {}", verdict.trace_id);
        }
        Ok(if result.suggest == Suggest::Pass {
            ExitCode::SUCCESS
        } else {
            ExitCode::from(NOT_PASSED)
        })
    }
}

fn suggest_name(suggest: &Suggest) -> &'static str {
    match suggest {
        Suggest::Pass => "pass",
        Suggest::Review => "review",
        Suggest::Risky => "risky",
        _ => "unknown to this tool (treated as review)",
    }
}

fn label_name(label: Label) -> &'static str {
    match label {
        Label::Normal => "normal",
        Label::Ad => "advertising (广告)",
        Label::Politics => "politics (时政)",
        Label::Porn => "pornography (色情)",
        Label::Abuse => "abuse (辱骂)",
        Label::Illegal => "illegal acts (违法犯罪)",
        Label::Fraud => "fraud (欺诈)",
        Label::Vulgar => "vulgarity (低俗)",
        Label::Copyright => "copyright (版权)",
        Label::OtherRisk => "other (其他)",
        _ => "unknown to this tool",
    }
}
