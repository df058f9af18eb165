//! Tokens and tickets: `cgi-bin/token`, `cgi-bin/stable_token`, `ticket/getticket`.

use std::time::Duration;

use serde_json::{Value, json};
use tokio::time::Instant;

use super::RecordedRequest;
use super::server::{Answer, Issued, Outcome, Shared, State, fail, json_body};

impl State {
    pub(super) fn issue_token(&mut self) -> Answer {
        let now = Instant::now();
        if let Some(old) = self.current.take().and_then(|t| self.tokens.get_mut(&t)) {
            old.valid_until = old.valid_until.min(now + self.token_overlap);
        }
        let token = format!("mock-access-token-{}", self.next());
        self.tokens.insert(
            token.clone(),
            Issued {
                valid_until: now + Duration::from_secs(self.token_expires_in),
                revoked: false,
            },
        );
        self.current = Some(token.clone());
        self.issued.push(token.clone());
        Answer::Json(json!({ "access_token": token, "expires_in": self.token_expires_in }))
    }

    pub(super) fn token(&mut self, shared: &Shared, req: &RecordedRequest) -> Outcome {
        if req.query("grant_type") != Some("client_credential") {
            return Err(fail(40002));
        }
        self.check_app(shared, req.query("appid"), req.query("secret"))?;
        Ok(self.issue_token())
    }

    pub(super) fn stable_token(&mut self, shared: &Shared, req: &RecordedRequest) -> Outcome {
        let body = json_body(req)?;
        if body.get("grant_type").and_then(Value::as_str) != Some("client_credential") {
            return Err(fail(40002));
        }
        self.check_app(
            shared,
            body.get("appid").and_then(Value::as_str),
            body.get("secret").and_then(Value::as_str),
        )?;
        let force = body
            .get("force_refresh")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        // Normal mode returns the token still valid, with what is left of its lifetime.
        if !force {
            let now = Instant::now();
            let live = self.current.as_ref().and_then(|t| {
                let issued = self.tokens.get(t)?;
                (!issued.revoked && now < issued.valid_until)
                    .then(|| (t.clone(), (issued.valid_until - now).as_secs().max(1)))
            });
            if let Some((token, left)) = live {
                return Ok(Answer::Json(
                    json!({ "access_token": token, "expires_in": left }),
                ));
            }
        }
        Ok(self.issue_token())
    }

    pub(super) fn ticket(&mut self, req: &RecordedRequest) -> Outcome {
        if req.query("type") != Some("jsapi") {
            return Err(fail(40097));
        }
        let ticket = format!("mock-jsapi-ticket-{}", self.next());
        self.tickets.insert(
            ticket.clone(),
            Issued {
                valid_until: Instant::now() + Duration::from_secs(self.token_expires_in),
                revoked: false,
            },
        );
        Ok(Answer::Json(json!({
            "errcode": 0, "errmsg": "ok", "ticket": ticket, "expires_in": self.token_expires_in,
        })))
    }
}
