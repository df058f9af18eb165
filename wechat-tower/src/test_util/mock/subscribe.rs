//! Subscribe-message templates: `wxaapi/newtmpl/gettemplate`, `addtemplate`, `deltemplate`,
//! `getcategory`, `getpubtemplatetitles`, `getpubtemplatekeywords`, over a small public library
//! (two categories, three titles with five keywords each).

use serde_json::{Value, json};

use super::RecordedRequest;
use super::links::random_id;
use super::server::{Answer, Outcome, State, fail, json_body, non_empty_str};

/// The app's categories: id, name.
const CATEGORIES: [(u32, &str); 2] = [(616, "公交"), (307, "餐饮服务")];

/// The public library: tid, title, type (2 one-time, 3 long-term), category.
const TITLES: [(u64, &str, u32, u32); 3] = [
    (99, "付款成功通知", 2, 616),
    (1001, "订单发货提醒", 2, 307),
    (2001, "排队叫号提醒", 3, 307),
];

/// The keywords of every title: kid, name, example, rule.
const KEYWORDS: [(u32, &str, &str, &str); 5] = [
    (1, "订单号", "A20240501", "character_string"),
    (2, "金额", "¥12.50", "amount"),
    (3, "时间", "2024-05-01 12:00", "time"),
    (4, "商品", "拿铁咖啡", "thing"),
    (5, "状态", "已发货", "phrase"),
];

/// The most templates an app may have.
const MAX_TEMPLATES: usize = 50;

fn title(tid: u64) -> Option<(u64, &'static str, u32, u32)> {
    TITLES.into_iter().find(|t| t.0 == tid)
}

impl State {
    pub(super) fn templates_list(&self) -> Outcome {
        Ok(Answer::Json(json!({
            "errcode": 0,
            "errmsg": "ok",
            "data": self.mp.templates,
        })))
    }

    pub(super) fn template_add(&mut self, req: &RecordedRequest) -> Outcome {
        let body = json_body(req)?;
        let tid = match body.get("tid") {
            Some(Value::String(s)) => s.parse::<u64>().ok(),
            Some(Value::Number(n)) => n.as_u64(),
            _ => None,
        };
        let (tid, name, kind, _) = tid.and_then(title).ok_or_else(|| fail(200014))?;
        let kids: Option<Vec<u64>> = body
            .get("kidList")
            .and_then(Value::as_array)
            .map(|list| list.iter().map(Value::as_u64).collect::<Option<Vec<_>>>())
            .unwrap_or(None);
        let kids = kids.ok_or_else(|| fail(200020))?;
        let mut unique = kids.clone();
        unique.sort_unstable();
        unique.dedup();
        let known = kids
            .iter()
            .all(|kid| KEYWORDS.iter().any(|k| u64::from(k.0) == *kid));
        if !(2..=5).contains(&kids.len()) || unique.len() != kids.len() || !known {
            return Err(fail(200020));
        }
        match body.get("sceneDesc") {
            None => {}
            Some(Value::String(desc)) if desc.chars().count() <= 15 => {}
            Some(_) => return Err(fail(200021)),
        }
        if self.mp.templates.len() >= MAX_TEMPLATES {
            return Err(fail(200012));
        }
        let mut content = String::new();
        let mut example = String::new();
        for (i, kid) in kids.iter().enumerate() {
            if let Some((_, kname, kexample, rule)) =
                KEYWORDS.iter().find(|k| u64::from(k.0) == *kid)
            {
                content.push_str(&format!("{kname}:{{{{{rule}{}.DATA}}}}\n", i + 1));
                example.push_str(&format!("{kname}:{kexample}\n"));
            }
        }
        let id = format!("mock-tmpl-{tid}-{}", random_id());
        self.mp.templates.push(json!({
            "priTmplId": id,
            "title": name,
            "content": content,
            "example": example,
            "type": kind,
        }));
        Ok(Answer::Json(
            json!({ "errcode": 0, "errmsg": "ok", "priTmplId": id }),
        ))
    }

    pub(super) fn template_delete(&mut self, req: &RecordedRequest) -> Outcome {
        let body = json_body(req)?;
        let id = non_empty_str(&body, "priTmplId")?;
        let before = self.mp.templates.len();
        self.mp
            .templates
            .retain(|t| t.get("priTmplId").and_then(Value::as_str) != Some(id));
        if self.mp.templates.len() == before {
            return Err(fail(20002));
        }
        Ok(Answer::ok())
    }

    pub(super) fn template_categories(&self) -> Outcome {
        let data: Vec<Value> = CATEGORIES
            .iter()
            .map(|(id, name)| json!({ "id": id, "name": name }))
            .collect();
        Ok(Answer::Json(
            json!({ "errcode": 0, "errmsg": "ok", "data": data }),
        ))
    }

    pub(super) fn template_titles(&self, req: &RecordedRequest) -> Outcome {
        let ids = req.query("ids").filter(|s| !s.is_empty());
        let ids = ids.ok_or_else(|| fail(200018))?;
        let ids: Option<Vec<u32>> = ids.split(',').map(|id| id.trim().parse().ok()).collect();
        let ids = ids
            .filter(|ids| ids.iter().all(|id| CATEGORIES.iter().any(|c| c.0 == *id)))
            .ok_or_else(|| fail(200019))?;
        let start: usize = req
            .query("start")
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| fail(200016))?;
        let limit: usize = req
            .query("limit")
            .and_then(|s| s.parse().ok())
            .filter(|l| (1..=30).contains(l))
            .ok_or_else(|| fail(200017))?;
        let keyword = req.query("keyword").unwrap_or_default();
        let matching: Vec<Value> = TITLES
            .iter()
            .filter(|t| ids.contains(&t.3) && t.1.contains(keyword))
            .map(|(tid, name, kind, category)| {
                json!({ "tid": tid, "title": name, "type": kind, "categoryId": category.to_string() })
            })
            .collect();
        let count = matching.len();
        let page: Vec<Value> = matching.into_iter().skip(start).take(limit).collect();
        Ok(Answer::Json(
            json!({ "errcode": 0, "errmsg": "ok", "count": count, "data": page }),
        ))
    }

    pub(super) fn template_keywords(&self, req: &RecordedRequest) -> Outcome {
        req.query("tid")
            .and_then(|s| s.parse().ok())
            .and_then(title)
            .ok_or_else(|| fail(200014))?;
        let data: Vec<Value> = KEYWORDS
            .iter()
            .map(|(kid, name, example, rule)| {
                json!({ "kid": kid, "name": name, "example": example, "rule": rule })
            })
            .collect();
        Ok(Answer::Json(json!({
            "errcode": 0,
            "errmsg": "ok",
            "count": data.len(),
            "data": data,
        })))
    }
}
