//! User tags: `tags/create|get|update|delete`, `tags/members/batchtagging|batchuntagging`,
//! `user/tag/get`, `tags/getidlist`. Tags 0, 1 and 2 are WeChat's own (2, 星标组, exists from
//! the start); at most 100 tags, 20 per follower, names of at most 30 bytes.

use std::collections::{BTreeMap, HashMap};

use serde_json::{Map, Value, json};

use super::RecordedRequest;
use super::server::{Answer, Outcome, State, fail, json_body};
use super::user::{openid_list, refuse};

const MAX_TAGS: usize = 100;
const MAX_TAGS_PER_USER: usize = 20;
const MAX_NAME_BYTES: usize = 30;
const FIRST_ID: i64 = 100;

/// The tags of the mock and who carries them.
#[derive(Debug)]
pub(super) struct TagBook {
    names: BTreeMap<i64, String>,
    next_id: i64,
    /// Tag ids per openid, in tagging order.
    members: HashMap<String, Vec<i64>>,
}

impl Default for TagBook {
    fn default() -> Self {
        Self {
            names: BTreeMap::from([(2, "星标组".to_owned())]),
            next_id: FIRST_ID,
            members: HashMap::new(),
        }
    }
}

impl TagBook {
    pub(super) fn tags_of(&self, openid: &str) -> Vec<i64> {
        self.members.get(openid).cloned().unwrap_or_default()
    }

    fn count(&self, tag: i64) -> usize {
        self.members.values().filter(|t| t.contains(&tag)).count()
    }

    fn check_name(&self, name: &str, except: Option<i64>) -> Result<(), Answer> {
        if name.len() > MAX_NAME_BYTES {
            return Err(refuse(45158));
        }
        let taken = self
            .names
            .iter()
            .any(|(id, n)| n == name && Some(*id) != except);
        if name.is_empty() || taken {
            return Err(refuse(45157));
        }
        Ok(())
    }

    /// The tag id of a changeable tag: 45058 for WeChat's own, 45159 for an unknown one.
    fn own_tag(&self, id: i64) -> Result<i64, Answer> {
        if (0..=2).contains(&id) {
            return Err(refuse(45058));
        }
        if self.names.contains_key(&id) {
            Ok(id)
        } else {
            Err(refuse(45159))
        }
    }
}

/// `{"tag": {...}}` of a request.
fn tag_object(body: &Map<String, Value>) -> Result<&Map<String, Value>, Answer> {
    body.get("tag")
        .and_then(Value::as_object)
        .ok_or_else(|| fail(47001))
}

fn int(map: &Map<String, Value>, key: &str) -> Result<i64, Answer> {
    map.get(key)
        .and_then(Value::as_i64)
        .ok_or_else(|| fail(47001))
}

fn string<'a>(map: &'a Map<String, Value>, key: &str) -> Result<&'a str, Answer> {
    map.get(key)
        .and_then(Value::as_str)
        .ok_or_else(|| fail(47001))
}

impl State {
    pub(super) fn tags_exists(&self, id: i64) -> bool {
        self.tags.names.contains_key(&id)
    }

    pub(super) fn tags_create(&mut self, req: &RecordedRequest) -> Outcome {
        let body = json_body(req)?;
        let name = string(tag_object(&body)?, "name")?;
        self.tags.check_name(name, None)?;
        if self.tags.names.len() >= MAX_TAGS {
            return Err(refuse(45056));
        }
        let id = self.tags.next_id;
        self.tags.next_id += 1;
        self.tags.names.insert(id, name.to_owned());
        Ok(Answer::Json(json!({ "tag": { "id": id, "name": name } })))
    }

    pub(super) fn tags_get(&self) -> Outcome {
        let tags: Vec<Value> = self
            .tags
            .names
            .iter()
            .map(|(id, name)| json!({ "id": id, "name": name, "count": self.tags.count(*id) }))
            .collect();
        Ok(Answer::Json(json!({ "tags": tags })))
    }

    pub(super) fn tags_update(&mut self, req: &RecordedRequest) -> Outcome {
        let body = json_body(req)?;
        let tag = tag_object(&body)?;
        let id = self.tags.own_tag(int(tag, "id")?)?;
        let name = string(tag, "name")?;
        self.tags.check_name(name, Some(id))?;
        self.tags.names.insert(id, name.to_owned());
        Ok(Answer::ok())
    }

    pub(super) fn tags_delete(&mut self, req: &RecordedRequest) -> Outcome {
        let body = json_body(req)?;
        let id = self.tags.own_tag(int(tag_object(&body)?, "id")?)?;
        if self.tags.count(id) > 100_000 {
            return Err(refuse(45057));
        }
        self.tags.names.remove(&id);
        for tags in self.tags.members.values_mut() {
            tags.retain(|t| *t != id);
        }
        Ok(Answer::ok())
    }

    pub(super) fn tags_tagging(&mut self, req: &RecordedRequest, tag: bool) -> Outcome {
        let body = json_body(req)?;
        let openids = openid_list(&body, "openid_list", 1, 50, 40032)?;
        let id = int(&body, "tagid")?;
        if !self.tags.names.contains_key(&id) {
            return Err(refuse(45159));
        }
        for openid in &openids {
            self.check_user(openid)?;
            let tags = self.tags.tags_of(openid);
            if tag && !tags.contains(&id) && tags.len() >= MAX_TAGS_PER_USER {
                return Err(refuse(45059));
            }
        }
        // Every openid checked: the change applies to all or none.
        for openid in openids {
            let tags = self.tags.members.entry(openid).or_default();
            if tag && !tags.contains(&id) {
                tags.push(id);
            } else if !tag {
                tags.retain(|t| *t != id);
            }
        }
        Ok(Answer::ok())
    }

    pub(super) fn tag_users(&self, req: &RecordedRequest) -> Outcome {
        let body = json_body(req)?;
        let id = int(&body, "tagid")?;
        if !self.tags.names.contains_key(&id) {
            return Err(refuse(45159));
        }
        let carriers: Vec<&String> = self
            .users
            .iter()
            .filter(|u| self.tags.tags_of(u).contains(&id))
            .collect();
        let start = match body.get("next_openid").and_then(Value::as_str) {
            None | Some("") => 0,
            Some(next) => {
                carriers
                    .iter()
                    .position(|u| *u == next)
                    .ok_or_else(|| fail(40003))?
                    + 1
            }
        };
        let page: Vec<&String> = carriers
            .into_iter()
            .skip(start)
            .take(self.user_page_size)
            .collect();
        let mut answer = json!({
            "count": page.len(),
            "next_openid": page.last().map_or("", |s| s.as_str()),
        });
        if !page.is_empty() {
            answer["data"] = json!({ "openid": page });
        }
        Ok(Answer::Json(answer))
    }

    pub(super) fn tags_of_user(&self, req: &RecordedRequest) -> Outcome {
        let body = json_body(req)?;
        let openid = string(&body, "openid")?;
        self.check_user(openid)?;
        Ok(Answer::Json(
            json!({ "tagid_list": self.tags.tags_of(openid) }),
        ))
    }
}
