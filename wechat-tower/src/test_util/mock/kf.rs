//! Customer-service accounts (客服帐号): `customservice/kfaccount/add|update|del`,
//! `cgi-bin/customservice/getkflist|getonlinekflist`, `message/custom/typing`. Every account
//! counts as online on the web client; at most 100 accounts.

use std::collections::HashSet;

use serde_json::{Value, json};

use super::RecordedRequest;
use super::server::{Answer, Outcome, State, fail, json_body, non_empty_str};
use super::user::refuse;

const MAX_ACCOUNTS: usize = 100;

#[derive(Debug)]
struct Account {
    account: String,
    nick: String,
    id: u64,
}

/// The mock's customer-service accounts and who sees "typing…".
#[derive(Debug, Default)]
pub(super) struct KfBook {
    accounts: Vec<Account>,
    typing: HashSet<String>,
}

fn valid_account(account: &str) -> bool {
    account.split_once('@').is_some_and(|(prefix, id)| {
        (1..=10).contains(&prefix.len())
            && prefix
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_')
            && !id.is_empty()
            && !id.contains('@')
    })
}

fn nickname(body: &serde_json::Map<String, Value>) -> Result<String, Answer> {
    let nick = body
        .get("nickname")
        .and_then(Value::as_str)
        .ok_or_else(|| fail(47001))?;
    if (1..=16).contains(&nick.chars().count()) {
        Ok(nick.to_owned())
    } else {
        Err(refuse(65403))
    }
}

impl KfBook {
    fn find(&mut self, account: &str) -> Result<&mut Account, Answer> {
        self.accounts
            .iter_mut()
            .find(|a| a.account == account)
            .ok_or_else(|| refuse(65401))
    }
}

impl State {
    pub(super) fn kf_add(&mut self, req: &RecordedRequest) -> Outcome {
        let body = json_body(req)?;
        let account = non_empty_str(&body, "kf_account")?;
        if !valid_account(account) {
            return Err(refuse(65404));
        }
        let nick = nickname(&body)?;
        if self.kf.accounts.iter().any(|a| a.account == account) {
            return Err(refuse(65406));
        }
        if self.kf.accounts.len() >= MAX_ACCOUNTS {
            return Err(refuse(65405));
        }
        let id = 1000 + self.next();
        self.kf.accounts.push(Account {
            account: account.to_owned(),
            nick,
            id,
        });
        Ok(Answer::ok())
    }

    pub(super) fn kf_update(&mut self, req: &RecordedRequest) -> Outcome {
        let body = json_body(req)?;
        let account = non_empty_str(&body, "kf_account")?;
        let nick = nickname(&body)?;
        self.kf.find(account)?.nick = nick;
        Ok(Answer::ok())
    }

    pub(super) fn kf_del(&mut self, req: &RecordedRequest) -> Outcome {
        let account = req
            .query("kf_account")
            .filter(|a| !a.is_empty())
            .ok_or_else(|| fail(47001))?;
        self.kf.find(account)?;
        self.kf.accounts.retain(|a| a.account != account);
        Ok(Answer::ok())
    }

    pub(super) fn kf_list(&self) -> Outcome {
        let list: Vec<Value> = self
            .kf
            .accounts
            .iter()
            .map(|a| {
                json!({
                    "kf_account": a.account,
                    "kf_nick": a.nick,
                    "kf_id": a.id.to_string(),
                    "kf_headimgurl": format!("http://mock/kf/{}.png", a.id),
                })
            })
            .collect();
        Ok(Answer::Json(json!({ "kf_list": list })))
    }

    pub(super) fn kf_online(&self) -> Outcome {
        let list: Vec<Value> = self
            .kf
            .accounts
            .iter()
            .map(|a| {
                json!({
                    "kf_account": a.account,
                    "status": 1,
                    "kf_id": a.id.to_string(),
                    "accepted_case": 0,
                })
            })
            .collect();
        Ok(Answer::Json(json!({ "kf_online_list": list })))
    }

    pub(super) fn kf_typing(&mut self, req: &RecordedRequest) -> Outcome {
        let body = json_body(req)?;
        let openid = non_empty_str(&body, "touser")?;
        self.check_user(openid)?;
        match body.get("command").and_then(Value::as_str) {
            Some("Typing") => {
                if !self.kf.typing.insert(openid.to_owned()) {
                    return Err(refuse(45081));
                }
            }
            Some("CancelTyping") => {
                self.kf.typing.remove(openid);
            }
            _ => return Err(refuse(45072)),
        }
        Ok(Answer::ok())
    }
}
