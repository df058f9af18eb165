//! WeChat Pay's side of notifications: pay and refund notifications (v2 XML, v3 JSON signed and
//! encrypted) built from the mock's orders and POSTed to the app's notify URL, on loopback only.

use std::time::Duration;

use bytes::Bytes;
use http::{Method, Request, header};
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;
use wechat_core::pay::v3;
use wechat_core::pay::{PayMap, SignType, refund};

use super::{MockPay, now};

/// The answer of the notify URL to a notification the mock sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotifyAnswer {
    /// The HTTP status.
    pub status: u16,
    /// The body, as text.
    pub body: String,
}

impl NotifyAnswer {
    /// Whether WeChat Pay would take it as received: a 2xx status and, for a v2 XML answer,
    /// `return_code` `SUCCESS` (a v3 answer is 200/204, its body ignored unless it says FAIL).
    #[must_use]
    pub fn is_success(&self) -> bool {
        if !(200..300).contains(&self.status) {
            return false;
        }
        let body = self.body.trim();
        if body.is_empty() {
            return true;
        }
        if body.starts_with('<') {
            return PayMap::from_xml(body)
                .is_ok_and(|map| map.get("return_code") == Some("SUCCESS"));
        }
        !body.contains("\"FAIL\"")
    }
}

/// A v3 notification as the mock sends it: its four headers and body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct V3Notify {
    /// `Wechatpay-Timestamp`.
    pub timestamp: String,
    /// `Wechatpay-Nonce`.
    pub nonce: String,
    /// `Wechatpay-Signature`.
    pub signature: String,
    /// `Wechatpay-Serial`.
    pub serial: String,
    /// The JSON body.
    pub body: String,
}

impl MockPay {
    // ---- v2 notifications -----------------------------------------------------------------

    /// The fields of the pay notification (支付结果通知) of a paid order, unsigned (pay it first
    /// with [`MockPay::pay`]). Change them to forge one, then [`MockPay::sign`].
    #[must_use]
    pub fn notify_v2_map(&self, out_trade_no: &str) -> Option<PayMap> {
        let order = self.order(out_trade_no)?;
        let transaction_id = order.transaction_id?;
        let mut map = PayMap::new();
        for (k, v) in [
            ("return_code", "SUCCESS"),
            ("result_code", "SUCCESS"),
            ("appid", self.app_id()),
            ("mch_id", self.mch_id()),
            ("openid", order.openid.as_str()),
            ("is_subscribe", "N"),
            ("trade_type", order.trade_type.as_str()),
            ("bank_type", "CMC"),
            ("fee_type", "CNY"),
            ("transaction_id", transaction_id.as_str()),
            ("out_trade_no", order.out_trade_no.as_str()),
            (
                "time_end",
                order.time_end.as_deref().unwrap_or("20231114093012"),
            ),
        ] {
            map.insert(k, v);
        }
        map.insert("total_fee", order.total_fee.to_string());
        map.insert("cash_fee", order.total_fee.to_string());
        map.insert("nonce_str", wechat_core::pay::nonce_str());
        if let Some(attach) = order.attach {
            map.insert("attach", attach);
        }
        if self.sign_type() == SignType::Md5 {
            // HMAC-SHA256 notifications come without `sign_type`, as WeChat Pay's often do.
            map.insert("sign_type", "MD5");
        }
        Some(map)
    }

    /// Signs `map` as WeChat Pay does, with the mock's key and sign type.
    pub fn sign(&self, map: &mut PayMap) {
        map.sign(&self.shared.key, self.sign_type());
    }

    /// The signed XML of the pay notification of a paid order.
    #[must_use]
    pub fn notify_v2_xml(&self, out_trade_no: &str) -> Option<String> {
        let mut map = self.notify_v2_map(out_trade_no)?;
        self.sign(&mut map);
        map.to_xml().ok()
    }

    /// Pays the order (if not yet) and POSTs its signed v2 pay notification to `url`, as WeChat
    /// Pay does; returns the answer.
    ///
    /// # Errors
    ///
    /// `NotFound` for an unknown or closed order, `InvalidInput` for a URL that is not
    /// loopback, and connection errors.
    pub async fn send_v2_notify(
        &self,
        url: &str,
        out_trade_no: &str,
    ) -> std::io::Result<NotifyAnswer> {
        self.pay(out_trade_no).ok_or_else(not_found)?;
        let xml = self.notify_v2_xml(out_trade_no).ok_or_else(not_found)?;
        post(url, &[], Bytes::from(xml)).await
    }

    /// POSTs `body` to `url` with `headers` (a tampered notification, ...).
    ///
    /// # Errors
    ///
    /// `InvalidInput` for a URL that is not loopback, and connection errors.
    pub async fn send_raw(
        &self,
        url: &str,
        headers: &[(&str, &str)],
        body: impl Into<Bytes>,
    ) -> std::io::Result<NotifyAnswer> {
        post(url, headers, body.into()).await
    }

    /// The refund notification (退款结果通知) XML of `refund_fee` fen of a paid order, with
    /// `req_info` encrypted (AES-256-ECB under MD5 of the key), refunded now (`success_time`).
    #[must_use]
    pub fn refund_notify_xml(
        &self,
        out_trade_no: &str,
        out_refund_no: &str,
        refund_fee: u64,
    ) -> Option<String> {
        self.refund_notify_xml_at(out_trade_no, out_refund_no, refund_fee, now())
    }

    /// [`MockPay::refund_notify_xml`] refunded at `success_time` (seconds since the Unix
    /// epoch, written as WeChat does: `yyyy-MM-dd HH:mm:ss`, Beijing time): for tests with an
    /// injected clock, and for old notifications replayed.
    #[must_use]
    pub fn refund_notify_xml_at(
        &self,
        out_trade_no: &str,
        out_refund_no: &str,
        refund_fee: u64,
        success_time: u64,
    ) -> Option<String> {
        let order = self.order(out_trade_no)?;
        let transaction_id = order.transaction_id?;
        let refund_id = self.refund_id_for(out_refund_no);
        let success_time = refund::format_beijing_time(success_time);
        let mut info = PayMap::new();
        for (k, v) in [
            ("transaction_id", transaction_id.as_str()),
            ("out_trade_no", out_trade_no),
            ("refund_id", refund_id.as_str()),
            ("out_refund_no", out_refund_no),
            ("refund_status", "SUCCESS"),
            ("success_time", success_time.as_str()),
            ("refund_recv_accout", "支付用户的零钱"),
            ("refund_account", "REFUND_SOURCE_UNSETTLED_FUNDS"),
            ("refund_request_source", "API"),
        ] {
            info.insert(k, v);
        }
        info.insert("total_fee", order.total_fee.to_string());
        info.insert("settlement_total_fee", order.total_fee.to_string());
        info.insert("refund_fee", refund_fee.to_string());
        info.insert("settlement_refund_fee", refund_fee.to_string());
        let plaintext = info.to_xml().ok()?.replacen("<xml>", "<root>", 1);
        let plaintext = format!(
            "{}</root>",
            plaintext.strip_suffix("</xml>").unwrap_or(&plaintext)
        );
        let mut outer = PayMap::new();
        outer.insert("return_code", "SUCCESS");
        outer.insert("appid", self.app_id());
        outer.insert("mch_id", self.mch_id());
        outer.insert("nonce_str", wechat_core::pay::nonce_str());
        outer.insert(
            "req_info",
            refund::encrypt_req_info(&plaintext, &self.shared.key),
        );
        outer.to_xml().ok()
    }

    /// POSTs the refund notification of [`MockPay::refund_notify_xml`] to `url`.
    ///
    /// # Errors
    ///
    /// As [`MockPay::send_v2_notify`]; `NotFound` for an order that was not paid.
    pub async fn send_refund_notify(
        &self,
        url: &str,
        out_trade_no: &str,
        out_refund_no: &str,
        refund_fee: u64,
    ) -> std::io::Result<NotifyAnswer> {
        let xml = self
            .refund_notify_xml(out_trade_no, out_refund_no, refund_fee)
            .ok_or_else(not_found)?;
        post(url, &[], Bytes::from(xml)).await
    }

    // ---- v3 notifications -----------------------------------------------------------------

    /// A v3 `TRANSACTION.SUCCESS` notification of a paid order, stamped `timestamp`: the
    /// resource encrypted with the APIv3 key, the whole signed with the mock's key.
    #[must_use]
    pub fn v3_notify(&self, out_trade_no: &str, timestamp: u64) -> Option<V3Notify> {
        let order = self.order(out_trade_no)?;
        let transaction_id = order.transaction_id?;
        let resource = serde_json::json!({
            "mchid": self.mch_id(),
            "appid": self.app_id(),
            "out_trade_no": order.out_trade_no,
            "transaction_id": transaction_id,
            "trade_type": order.trade_type,
            "trade_state": "SUCCESS",
            "trade_state_desc": "支付成功",
            "bank_type": "CMC",
            "attach": order.attach.unwrap_or_default(),
            "success_time": order.paid_at.map_or_else(|| "2023-11-14T09:30:12+08:00".to_owned(), v3::rfc3339_utc8),
            "payer": { "openid": order.openid },
            "amount": { "total": order.total_fee, "payer_total": order.total_fee, "currency": "CNY", "payer_currency": "CNY" },
        });
        self.v3_signed(
            "TRANSACTION.SUCCESS",
            "transaction",
            &resource.to_string(),
            timestamp,
        )
    }

    /// A v3 `REFUND.SUCCESS` notification of `refund_fee` fen of a paid order.
    #[must_use]
    pub fn v3_refund_notify(
        &self,
        out_trade_no: &str,
        out_refund_no: &str,
        refund_fee: u64,
        timestamp: u64,
    ) -> Option<V3Notify> {
        let order = self.order(out_trade_no)?;
        let transaction_id = order.transaction_id?;
        let refund_id = self.refund_id_for(out_refund_no);
        let resource = serde_json::json!({
            "mchid": self.mch_id(),
            "out_trade_no": out_trade_no,
            "transaction_id": transaction_id,
            "out_refund_no": out_refund_no,
            "refund_id": refund_id,
            "refund_status": "SUCCESS",
            "success_time": "2023-11-14T10:00:00+08:00",
            "user_received_account": "支付用户零钱",
            "amount": { "total": order.total_fee, "refund": refund_fee, "payer_total": order.total_fee, "payer_refund": refund_fee },
        });
        self.v3_signed("REFUND.SUCCESS", "refund", &resource.to_string(), timestamp)
    }

    /// The `refund_id` of the mock's refund `out_refund_no` (completed: its notification says
    /// SUCCESS), or a fresh one for a refund the mock did not see asked.
    fn refund_id_for(&self, out_refund_no: &str) -> String {
        let mut state = self.shared.lock();
        match state.refunds.get_mut(out_refund_no) {
            Some(refund) => {
                refund.complete(now());
                refund.refund_id.clone()
            }
            None => format!("503{:026}", state.next()),
        }
    }

    fn v3_signed(
        &self,
        event_type: &str,
        original_type: &str,
        resource: &str,
        timestamp: u64,
    ) -> Option<V3Notify> {
        let n = self.shared.lock().next();
        let nonce = &wechat_core::pay::nonce_str()[..12];
        let body = v3::notification_body(
            &self.shared.api_v3_key,
            &format!("EV-{n:020}"),
            event_type,
            original_type,
            nonce,
            resource,
        )
        .ok()?;
        let timestamp = timestamp.to_string();
        let header_nonce = wechat_core::pay::nonce_str();
        let rotation = self.shared.lock().v3.rotation;
        let key = self.shared.keys.current(self.shared.mode, rotation);
        let signature = key.signer.sign(&v3::notify_message(
            &timestamp,
            &header_nonce,
            body.as_bytes(),
        ));
        Some(V3Notify {
            timestamp,
            nonce: header_nonce,
            signature,
            serial: key.serial.clone(),
            body,
        })
    }

    /// A v3 `MCHTRANSFER.BILL.FINISHED` notification (商家转账结果通知) of a transfer, its state
    /// `SUCCESS` (the user confirmed and received it).
    #[must_use]
    pub fn transfer_notify(&self, out_bill_no: &str, timestamp: u64) -> Option<V3Notify> {
        let resource = {
            let mut state = self.shared.lock();
            let transfer = state.v3.transfers.get_mut(out_bill_no)?;
            transfer.state = "SUCCESS".to_owned();
            transfer.to_json(&self.shared.appid, &self.shared.mch_id)
        };
        self.v3_signed(
            "MCHTRANSFER.BILL.FINISHED",
            "mch_payment",
            &resource.to_string(),
            timestamp,
        )
    }

    /// POSTs the transfer notification of [`MockPay::transfer_notify`], stamped now, to `url`.
    ///
    /// # Errors
    ///
    /// `NotFound` for an unknown transfer, and the errors of [`MockPay::send_v3`].
    pub async fn send_transfer_notify(
        &self,
        url: &str,
        out_bill_no: &str,
    ) -> std::io::Result<NotifyAnswer> {
        let notify = self
            .transfer_notify(out_bill_no, now())
            .ok_or_else(not_found)?;
        self.send_v3(url, &notify).await
    }

    /// POSTs a v3 notification to `url` with its headers.
    ///
    /// # Errors
    ///
    /// `InvalidInput` for a URL that is not loopback, and connection errors.
    pub async fn send_v3(&self, url: &str, notify: &V3Notify) -> std::io::Result<NotifyAnswer> {
        post(
            url,
            &[
                ("content-type", "application/json"),
                ("wechatpay-timestamp", &notify.timestamp),
                ("wechatpay-nonce", &notify.nonce),
                ("wechatpay-signature", &notify.signature),
                ("wechatpay-serial", &notify.serial),
                ("wechatpay-signature-type", "WECHATPAY2-SHA256-RSA2048"),
            ],
            Bytes::from(notify.body.clone()),
        )
        .await
    }

    /// Pays the order (if not yet) and POSTs its v3 notification, stamped now, to `url`.
    ///
    /// # Errors
    ///
    /// As [`MockPay::send_v2_notify`].
    pub async fn send_v3_notify(
        &self,
        url: &str,
        out_trade_no: &str,
    ) -> std::io::Result<NotifyAnswer> {
        self.pay(out_trade_no).ok_or_else(not_found)?;
        let notify = self.v3_notify(out_trade_no, now()).ok_or_else(not_found)?;
        self.send_v3(url, &notify).await
    }

    /// POSTs the v3 refund notification of a paid order, stamped now, to `url`.
    ///
    /// # Errors
    ///
    /// As [`MockPay::send_v2_notify`].
    pub async fn send_v3_refund_notify(
        &self,
        url: &str,
        out_trade_no: &str,
        out_refund_no: &str,
        refund_fee: u64,
    ) -> std::io::Result<NotifyAnswer> {
        let notify = self
            .v3_refund_notify(out_trade_no, out_refund_no, refund_fee, now())
            .ok_or_else(not_found)?;
        self.send_v3(url, &notify).await
    }
}

fn not_found() -> std::io::Error {
    std::io::Error::new(
        std::io::ErrorKind::NotFound,
        "no such paid order in the mock",
    )
}

// ------------------------------------------------------------------------------------------
// Sending notifications
// ------------------------------------------------------------------------------------------

/// Splits `http://host[:port]/path` into the socket address text and the path, for loopback
/// hosts only.
fn loopback_target(url: &str) -> std::io::Result<(String, String)> {
    let invalid =
        |why: &str| std::io::Error::new(std::io::ErrorKind::InvalidInput, format!("{url}: {why}"));
    let rest = url
        .strip_prefix("http://")
        .ok_or_else(|| invalid("the mock sends to http:// loopback URLs only"))?;
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
        let (host, port) = v6.split_once(']').ok_or_else(|| invalid("bad IPv6 host"))?;
        (host, port.strip_prefix(':').unwrap_or("80"))
    } else {
        let mut parts = authority.splitn(2, ':');
        (parts.next().unwrap_or(""), parts.next().unwrap_or("80"))
    };
    let ip = match host {
        "127.0.0.1" | "localhost" => "127.0.0.1",
        "::1" => "[::1]",
        _ => return Err(invalid("the mock sends to loopback hosts only")),
    };
    let port: u16 = port.parse().map_err(|_| invalid("bad port"))?;
    Ok((format!("{ip}:{port}"), path.to_owned()))
}

async fn post(url: &str, headers: &[(&str, &str)], body: Bytes) -> std::io::Result<NotifyAnswer> {
    let (addr, path) = loopback_target(url)?;
    let send = async {
        let stream = TcpStream::connect(&addr).await?;
        let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .map_err(std::io::Error::other)?;
        let connection = tokio::spawn(conn);
        let mut req = Request::builder()
            .method(Method::POST)
            .uri(path)
            .header(header::HOST, addr.as_str())
            .header(header::CONTENT_TYPE, "text/xml");
        for (name, value) in headers {
            req = req.header(*name, *value);
        }
        let req = req.body(Full::new(body)).map_err(std::io::Error::other)?;
        let res = sender
            .send_request(req)
            .await
            .map_err(std::io::Error::other)?;
        let status = res.status().as_u16();
        let body = res
            .into_body()
            .collect()
            .await
            .map_err(std::io::Error::other)?
            .to_bytes();
        connection.abort();
        Ok(NotifyAnswer {
            status,
            body: String::from_utf8_lossy(&body).into_owned(),
        })
    };
    tokio::time::timeout(Duration::from_secs(30), send)
        .await
        .map_err(|_| {
            std::io::Error::new(std::io::ErrorKind::TimedOut, "notify URL did not answer")
        })?
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]

    use super::*;

    use super::super::{MockTransfer, SigningMode};
    use wechat_core::pay::v3::{NotifyHeaders, Verifier, parse_notification};

    fn read(mock: &MockPay, n: &V3Notify, verifier: &Verifier) -> String {
        let headers = NotifyHeaders {
            timestamp: &n.timestamp,
            nonce: &n.nonce,
            signature: &n.signature,
            serial: &n.serial,
        };
        let key = wechat_core::secret::ApiV3Key::new(mock.api_v3_key());
        parse_notification(&headers, n.body.as_bytes(), verifier, &key, now(), 300)
            .unwrap()
            .plaintext
    }

    #[tokio::test]
    async fn v3_notifications_are_signed_by_the_current_key() {
        let mock = MockPay::builder()
            .signing_mode(SigningMode::PlatformCertificate)
            .start()
            .await
            .unwrap();
        let mut verifier = Verifier::new();
        verifier
            .add_certificate_pem(include_str!("../keys/platform_a_cert.pem"))
            .unwrap();
        verifier
            .add_certificate_pem(include_str!("../keys/platform_b_cert.pem"))
            .unwrap();
        mock.create_order("no-1", 100, "oUser");
        mock.pay("no-1").unwrap();
        let before = mock.v3_notify("no-1", now()).unwrap();
        assert_eq!(before.serial, mock.platform_certificate_serial());
        assert!(read(&mock, &before, &verifier).contains("\"no-1\""));
        mock.rotate_platform_certificate();
        let after = mock.v3_notify("no-1", now()).unwrap();
        assert_ne!(after.serial, before.serial);
        assert_eq!(after.serial, mock.signing_serial());
        read(&mock, &after, &verifier);
        // Only A's key: B's notification does not verify.
        let mut only_a = Verifier::new();
        only_a
            .add_certificate_pem(include_str!("../keys/platform_a_cert.pem"))
            .unwrap();
        let headers = NotifyHeaders {
            timestamp: &after.timestamp,
            nonce: &after.nonce,
            signature: &after.signature,
            serial: &after.serial,
        };
        assert!(
            only_a
                .verify_notify(&headers, after.body.as_bytes(), now(), 300)
                .is_err()
        );
    }

    #[tokio::test]
    async fn oversized_bodies_are_refused_before_anything_is_read() {
        let mock = MockPay::start().await.unwrap();
        let big = Bytes::from(vec![b' '; 2 * 1024 * 1024]);
        for path in ["/v3/pay/transactions/jsapi", "/pay/unifiedorder"] {
            let url = format!("{}{path}", mock.base_url());
            let answer = post(&url, &[], big.clone()).await.unwrap();
            assert_eq!(answer.status, 413, "{path}");
        }
        assert!(mock.orders().is_empty());
        assert!(
            mock.requests("/v3/pay/transactions/jsapi").is_empty(),
            "not recorded"
        );
    }

    #[tokio::test]
    async fn a_transfer_notification_finishes_the_transfer() {
        let mock = MockPay::start().await.unwrap();
        assert!(mock.transfer_notify("bill000001", now()).is_none());
        mock.shared.lock().v3.transfers.insert(
            "bill000001".into(),
            MockTransfer {
                out_bill_no: "bill000001".into(),
                transfer_bill_no: "1330000001".into(),
                transfer_scene_id: "1000".into(),
                openid: "oUser".into(),
                user_name: None,
                serial: None,
                transfer_amount: 100,
                transfer_remark: "reward".into(),
                notify_url: None,
                state: "WAIT_USER_CONFIRM".into(),
                created_at: now(),
            },
        );
        let n = mock.transfer_notify("bill000001", now()).unwrap();
        assert!(n.body.contains("MCHTRANSFER.BILL.FINISHED"), "{}", n.body);
        let mut verifier = Verifier::new();
        verifier
            .add_public_key_pem(mock.public_key_id(), mock.public_key_pem())
            .unwrap();
        let resource: serde_json::Value =
            serde_json::from_str(&read(&mock, &n, &verifier)).unwrap();
        assert_eq!(resource["out_bill_no"], "bill000001");
        assert_eq!(resource["state"], "SUCCESS");
        assert_eq!(mock.transfer("bill000001").unwrap().state, "SUCCESS");
        // Sent only to loopback.
        let err = mock
            .send_transfer_notify("http://example.com/notify", "bill000001")
            .await
            .unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
    }

    #[test]
    fn only_loopback_targets() {
        assert_eq!(
            loopback_target("http://127.0.0.1:3000/pay/notify").unwrap(),
            ("127.0.0.1:3000".to_owned(), "/pay/notify".to_owned())
        );
        assert_eq!(
            loopback_target("http://localhost:8/").unwrap().0,
            "127.0.0.1:8"
        );
        assert_eq!(loopback_target("http://[::1]:9/x").unwrap().0, "[::1]:9");
        for bad in [
            "https://127.0.0.1/x",
            "http://example.com/x",
            "http://127.0.0.1.example.com/x",
            "http://10.0.0.1:80/x",
        ] {
            assert!(loopback_target(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn answers_of_the_notify_url_are_read_like_wechat() {
        let ok = |status, body: &str| NotifyAnswer {
            status,
            body: body.to_owned(),
        };
        assert!(ok(200, &wechat_core::pay::notify_answer(true, "OK")).is_success());
        assert!(!ok(200, &wechat_core::pay::notify_answer(false, "x")).is_success());
        assert!(!ok(500, &wechat_core::pay::notify_answer(true, "OK")).is_success());
        assert!(ok(204, "").is_success());
        assert!(!ok(200, r#"{"code":"FAIL","message":"x"}"#).is_success());
    }
}
