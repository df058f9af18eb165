//! Customer-service accounts (客服帐号) of an Official Account: add, update, delete
//! (`customservice/kfaccount/…`), list (`cgi-bin/customservice/getkflist`), who is online
//! (`getonlinekflist`), and the typing status shown to a user (`message/custom/typing`).
//! Messages as a customer-service account are sent with
//! [`MessageApi::send_custom`](crate::client::MessageApi::send_custom).
//!
//! An account is `prefix@wechat_id`: a prefix of at most 10 letters, digits or underscores, then
//! the Official Account's WeChat id; the client refuses other forms before sending.
//!
//! ```
//! use wechat_tower::client::{Typing, WechatClient};
//! use wechat_tower::test_util::mock::MockWechat;
//!
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let wechat = MockWechat::start().await?;
//! let client = WechatClient::builder(wechat.app_id(), wechat.app_secret())
//!     .api_base(wechat.base_url())
//!     .build()?;
//!
//! client.kf().add("alice@gh_mock", "Alice").await?;
//! assert_eq!(client.kf().list().await?[0].kf_nick, "Alice");
//! client.kf().typing("oUser1", Typing::Typing).await?;
//! # Ok(()) }
//! ```

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::json;

use crate::client::error::ClientError;
use crate::client::wechat_client::WechatClient;

/// The prefix of an account (before `@`) is at most this many characters.
pub const MAX_KF_PREFIX_CHARS: usize = 10;
/// The WeChat id after `@` is at most this many characters.
pub const MAX_KF_WECHAT_ID_CHARS: usize = 30;
/// A nickname is at most this many characters.
pub const MAX_KF_NICKNAME_CHARS: usize = 16;

/// The codes WeChat's documentation lists for the customer-service calls (besides the common
/// ones).
pub(crate) fn meaning(code: i64) -> Option<&'static str> {
    Some(match code {
        45072 => "invalid typing command",
        45080 => "typing status needs a message from the user in the last 30 seconds",
        45081 => "already typing",
        65400 => "the new customer service (新版客服) is not enabled for this account",
        65401 => "invalid customer-service account",
        65403 => "invalid customer-service nickname",
        65404 => "invalid customer-service account name",
        65405 => "too many customer-service accounts",
        65406 => "the customer-service account exists",
        65407 => "the invitee is already a customer-service agent of this account",
        65408 => "this WeChat user already has an invitation from this account",
        65409 => "invalid WeChat id",
        65410 => "the invitee is an agent of too many accounts",
        65411 => "the account already has a pending invitation",
        65412 => "the account is already bound to a WeChat user",
        65413 => "no session with this user",
        65414 => "the user is being served by another agent",
        65415 => "the agent is not online",
        65416 => "invalid query parameters",
        65417 => "query period too long",
        _ => return None,
    })
}

/// Checks `prefix@wechat_id`.
fn check_account(what: &str, account: &str) -> Result<(), ClientError> {
    let valid = account.split_once('@').is_some_and(|(prefix, id)| {
        (1..=MAX_KF_PREFIX_CHARS).contains(&prefix.chars().count())
            && prefix
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_')
            && (1..=MAX_KF_WECHAT_ID_CHARS).contains(&id.chars().count())
            && !id.contains('@')
            && !id.chars().any(char::is_whitespace)
    });
    if valid {
        Ok(())
    } else {
        Err(ClientError::Request(format!(
            "{what}: a customer-service account is prefix@wechat_id (prefix: 1 to \
             {MAX_KF_PREFIX_CHARS} letters, digits or _)"
        )))
    }
}

fn check_nickname(what: &str, nickname: &str) -> Result<(), ClientError> {
    let chars = nickname.chars().count();
    if (1..=MAX_KF_NICKNAME_CHARS).contains(&chars) {
        Ok(())
    } else {
        Err(ClientError::Request(format!(
            "{what}: the nickname has {chars} characters, WeChat takes 1 to {MAX_KF_NICKNAME_CHARS}"
        )))
    }
}

/// WeChat has sent `kf_id` both as a number and as a string.
fn string_or_number<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Id {
        S(String),
        N(i64),
    }
    Ok(match Option::<Id>::deserialize(d)? {
        Some(Id::S(s)) => s,
        Some(Id::N(n)) => n.to_string(),
        None => String::new(),
    })
}

/// A customer-service account (`getkflist`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct KfAccountInfo {
    /// `prefix@wechat_id`.
    pub kf_account: String,
    /// Nickname.
    #[serde(default)]
    pub kf_nick: String,
    /// Numeric id, as a string.
    #[serde(default, deserialize_with = "string_or_number")]
    pub kf_id: String,
    /// Avatar URL.
    #[serde(default)]
    pub kf_headimgurl: String,
    /// The WeChat id of the agent bound to the account, once bound.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kf_wx: Option<String>,
    /// The WeChat id invited to bind, while an invitation is pending.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invite_wx: Option<String>,
    /// When the invitation expires (Unix seconds).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invite_expire_time: Option<u64>,
    /// The invitation's status: `waiting`, `rejected`, `expired`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invite_status: Option<String>,
}

/// An online customer-service account (`getonlinekflist`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct KfOnline {
    /// `prefix@wechat_id`.
    pub kf_account: String,
    /// Online status: 1 on the web client (other values may come).
    #[serde(default)]
    pub status: u32,
    /// Numeric id, as a string.
    #[serde(default, deserialize_with = "string_or_number")]
    pub kf_id: String,
    /// Sessions the agent is serving now.
    #[serde(default)]
    pub accepted_case: u32,
}

/// The typing status shown to a user (`message/custom/typing`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Typing {
    /// "Typing…" is shown (for at most 15 seconds, or until the next message).
    Typing,
    /// Hides it.
    CancelTyping,
}

impl Typing {
    /// The command as WeChat spells it.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Typing => "Typing",
            Self::CancelTyping => "CancelTyping",
        }
    }
}

#[derive(Deserialize)]
struct KfListAnswer {
    #[serde(default)]
    kf_list: Vec<KfAccountInfo>,
}

#[derive(Deserialize)]
struct KfOnlineAnswer {
    #[serde(default)]
    kf_online_list: Vec<KfOnline>,
}

/// Customer-service accounts of a [`WechatClient`]: `client.kf()`. See the [module docs](self).
#[derive(Debug, Clone, Copy)]
pub struct KfApi<'a> {
    client: &'a WechatClient,
}

impl WechatClient {
    /// Customer-service accounts (客服帐号) and typing status.
    #[must_use]
    pub fn kf(&self) -> KfApi<'_> {
        KfApi { client: self }
    }
}

impl KfApi<'_> {
    async fn post_ok(&self, path: &str, body: &serde_json::Value) -> Result<(), ClientError> {
        self.client
            .post_json::<_, serde::de::IgnoredAny>(path, &[], body)
            .await
            .map(drop)
    }

    /// Adds an account (`customservice/kfaccount/add`); an agent then binds their WeChat to it.
    ///
    /// # Errors
    ///
    /// [`ClientError::Request`] for an account not `prefix@wechat_id` or a nickname not of 1 to
    /// 16 characters; 65406 exists, 65405 too many, 65400 not enabled, the usual errors.
    pub async fn add(&self, account: &str, nickname: &str) -> Result<(), ClientError> {
        check_account("kfaccount/add", account)?;
        check_nickname("kfaccount/add", nickname)?;
        self.post_ok(
            "/customservice/kfaccount/add",
            &json!({ "kf_account": account, "nickname": nickname }),
        )
        .await
    }

    /// Changes an account's nickname (`customservice/kfaccount/update`).
    ///
    /// # Errors
    ///
    /// As [`KfApi::add`]; 65401 unknown account.
    pub async fn update(&self, account: &str, nickname: &str) -> Result<(), ClientError> {
        check_account("kfaccount/update", account)?;
        check_nickname("kfaccount/update", nickname)?;
        self.post_ok(
            "/customservice/kfaccount/update",
            &json!({ "kf_account": account, "nickname": nickname }),
        )
        .await
    }

    /// Deletes an account (`customservice/kfaccount/del`).
    ///
    /// # Errors
    ///
    /// [`ClientError::Request`] for an account not `prefix@wechat_id`; 65401 unknown account,
    /// the usual errors.
    pub async fn delete(&self, account: &str) -> Result<(), ClientError> {
        check_account("kfaccount/del", account)?;
        self.client
            .get_json::<serde::de::IgnoredAny>(
                "/customservice/kfaccount/del",
                &[("kf_account", account)],
            )
            .await
            .map(drop)
    }

    /// Every account (`customservice/getkflist`).
    ///
    /// # Errors
    ///
    /// The usual errors.
    pub async fn list(&self) -> Result<Vec<KfAccountInfo>, ClientError> {
        let answer: KfListAnswer = self
            .client
            .get_json("/cgi-bin/customservice/getkflist", &[])
            .await?;
        Ok(answer.kf_list)
    }

    /// The accounts online now (`customservice/getonlinekflist`).
    ///
    /// # Errors
    ///
    /// The usual errors.
    pub async fn online(&self) -> Result<Vec<KfOnline>, ClientError> {
        let answer: KfOnlineAnswer = self
            .client
            .get_json("/cgi-bin/customservice/getonlinekflist", &[])
            .await?;
        Ok(answer.kf_online_list)
    }

    /// Shows or hides "typing…" to a user who wrote in the last 30 seconds
    /// (`message/custom/typing`).
    ///
    /// # Errors
    ///
    /// 45080 no message from the user in the last 30 s, 45081 already typing, 40003 not a
    /// follower, the usual errors.
    pub async fn typing(&self, openid: &str, command: Typing) -> Result<(), ClientError> {
        crate::client::api::user::check_openids("message/custom/typing", &[openid], 1, 1)?;
        self.post_ok(
            "/cgi-bin/message/custom/typing",
            &json!({ "touser": openid, "command": command.as_str() }),
        )
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::api::user::tests::{refused_locally, setup};

    #[tokio::test]
    async fn accounts_are_added_listed_renamed_and_deleted() {
        let (wechat, client) = setup().await;
        let kf = client.kf();
        kf.add("alice@gh_mock", "Alice").await.unwrap();
        kf.add("bob_2@gh_mock", "小明").await.unwrap();
        let list = kf.list().await.unwrap();
        assert_eq!(list.len(), 2);
        assert_eq!(list[1].kf_nick, "小明");
        assert!(!list[0].kf_id.is_empty());
        kf.update("alice@gh_mock", "Alice B").await.unwrap();
        assert_eq!(kf.list().await.unwrap()[0].kf_nick, "Alice B");
        let online = kf.online().await.unwrap();
        assert_eq!(online[0].kf_account, "alice@gh_mock");
        kf.delete("alice@gh_mock").await.unwrap();
        assert_eq!(
            wechat
                .last_request("/customservice/kfaccount/del")
                .unwrap()
                .query("kf_account"),
            Some("alice@gh_mock")
        );
        assert_eq!(kf.list().await.unwrap().len(), 1);
        assert_eq!(
            kf.delete("alice@gh_mock").await.unwrap_err().errcode(),
            Some(65401)
        );
        assert_eq!(
            kf.add("bob_2@gh_mock", "again")
                .await
                .unwrap_err()
                .errcode(),
            Some(65406)
        );
    }

    #[tokio::test]
    async fn malformed_accounts_and_nicknames_are_refused_before_sending() {
        let (wechat, client) = setup().await;
        let kf = client.kf();
        let add = "/customservice/kfaccount/add";
        for account in [
            "alice",
            "@gh",
            "alice@",
            "elevenchars@gh",
            "al ice@gh",
            "al-ice@gh",
            "a@b@c",
            "a@gh id",
        ] {
            refused_locally(&wechat, add, kf.add(account, "Alice").await);
        }
        refused_locally(&wechat, add, kf.add("alice@gh", "").await);
        let long: String = std::iter::repeat_n('名', MAX_KF_NICKNAME_CHARS + 1).collect();
        refused_locally(&wechat, add, kf.add("alice@gh", &long).await);
        refused_locally(
            &wechat,
            "/customservice/kfaccount/del",
            kf.delete("nope").await,
        );
        // 10 characters of prefix and a 16-character nickname pass.
        let nick: String = std::iter::repeat_n('名', MAX_KF_NICKNAME_CHARS).collect();
        kf.add("abcdefghij@gh", &nick).await.unwrap();
    }

    #[tokio::test]
    async fn an_account_cannot_splice_a_second_account_into_the_query() {
        let (wechat, client) = setup().await;
        let kf = client.kf();
        kf.add("alice@gh", "Alice").await.unwrap();
        kf.add("bob@gh", "Bob").await.unwrap();
        // Meant to read as kf_account=bob@gh once the query is parsed.
        let forged = "carol@gh&kf_account=bob";
        let err = kf.delete(forged).await.unwrap_err();
        assert_eq!(err.errcode(), Some(65401));
        let req = wechat.last_request("/customservice/kfaccount/del").unwrap();
        let accounts: Vec<&str> = req
            .query
            .iter()
            .filter(|(k, _)| k == "kf_account")
            .map(|(_, v)| v.as_str())
            .collect();
        assert_eq!(accounts, [forged]);
        assert_eq!(kf.list().await.unwrap().len(), 2);
    }

    #[tokio::test]
    async fn typing_is_shown_once_until_cancelled() {
        let (wechat, client) = setup().await;
        let kf = client.kf();
        kf.typing("oUser1", Typing::Typing).await.unwrap();
        let body = wechat
            .last_request("/cgi-bin/message/custom/typing")
            .unwrap()
            .json()
            .unwrap();
        assert_eq!(body["command"], "Typing");
        let err = kf.typing("oUser1", Typing::Typing).await.unwrap_err();
        assert_eq!(err.errcode(), Some(45081));
        assert!(err.to_string().contains("already typing"), "{err}");
        kf.typing("oUser1", Typing::CancelTyping).await.unwrap();
        kf.typing("oUser1", Typing::Typing).await.unwrap();
        assert_eq!(
            kf.typing("oStranger", Typing::Typing)
                .await
                .unwrap_err()
                .errcode(),
            Some(40003)
        );
    }

    #[test]
    fn kf_ids_come_as_numbers_or_strings() {
        let a: KfAccountInfo =
            serde_json::from_str(r#"{"kf_account":"a@g","kf_id":1001,"extra":true}"#).unwrap();
        let b: KfAccountInfo =
            serde_json::from_str(r#"{"kf_account":"a@g","kf_id":"1001"}"#).unwrap();
        assert_eq!(a.kf_id, "1001");
        assert_eq!(a, b);
    }

    #[tokio::test]
    async fn kf_refusals_are_typed_with_their_meaning() {
        let (wechat, client) = setup().await;
        let kf = client.kf();
        for (path, code) in [
            ("/customservice/kfaccount/add", 65405),
            ("/customservice/kfaccount/update", 65403),
            ("/customservice/kfaccount/del", 65401),
            ("/cgi-bin/customservice/getkflist", 65400),
            ("/cgi-bin/customservice/getonlinekflist", 65400),
            ("/cgi-bin/message/custom/typing", 45080),
        ] {
            wechat.fail_next(path, 1, code);
            let result = match path {
                "/customservice/kfaccount/add" => kf.add("a@gh", "A").await,
                "/customservice/kfaccount/update" => kf.update("a@gh", "A").await,
                "/customservice/kfaccount/del" => kf.delete("a@gh").await,
                "/cgi-bin/customservice/getkflist" => kf.list().await.map(drop),
                "/cgi-bin/customservice/getonlinekflist" => kf.online().await.map(drop),
                _ => kf.typing("oUser1", Typing::Typing).await,
            };
            let err = result.unwrap_err();
            assert_eq!(err.errcode(), Some(code), "{path}");
            assert!(err.wechat().unwrap().meaning().is_some(), "{path}: {err}");
        }
    }

    #[tokio::test]
    async fn every_kf_call_survives_a_refused_token() {
        let (wechat, client) = setup().await;
        let kf = client.kf();
        kf.list().await.unwrap(); // a token to refuse
        for path in [
            "/customservice/kfaccount/add",
            "/customservice/kfaccount/update",
            "/cgi-bin/customservice/getkflist",
            "/cgi-bin/customservice/getonlinekflist",
            "/cgi-bin/message/custom/typing",
            "/customservice/kfaccount/del",
        ] {
            let fetches = wechat.token_fetches();
            let calls = wechat.calls(path);
            wechat.fail_next(path, 1, 40001);
            match path {
                "/customservice/kfaccount/add" => kf.add("a@gh", "A").await.unwrap(),
                "/customservice/kfaccount/update" => kf.update("a@gh", "B").await.unwrap(),
                "/cgi-bin/customservice/getkflist" => drop(kf.list().await.unwrap()),
                "/cgi-bin/customservice/getonlinekflist" => drop(kf.online().await.unwrap()),
                "/cgi-bin/message/custom/typing" => {
                    kf.typing("oUser1", Typing::Typing).await.unwrap();
                }
                _ => kf.delete("a@gh").await.unwrap(),
            }
            assert_eq!(wechat.calls(path), calls + 2, "{path}");
            assert_eq!(wechat.token_fetches(), fetches + 1, "{path}");
        }
    }
}
