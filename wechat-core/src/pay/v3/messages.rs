//! The notification envelope (通知报文) and its headers, and the messages each RSA signature
//! covers (notifications, requests, `paySign`).

use serde::{Deserialize, Serialize};

use super::aead::{AEAD_AES_256_GCM, decrypt_resource, encrypt_resource};
use super::api::TransferBill;
use super::resources::{Refund, Transaction};
use super::rsa::Verifier;
use crate::pay::error::{PayError, PayErrorKind};
use crate::secret::ApiV3Key;

/// The four headers of a notification (or of an answer of the v3 API), borrowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NotifyHeaders<'a> {
    /// `Wechatpay-Timestamp`: seconds since the Unix epoch.
    pub timestamp: &'a str,
    /// `Wechatpay-Nonce`.
    pub nonce: &'a str,
    /// `Wechatpay-Signature`: base64.
    pub signature: &'a str,
    /// `Wechatpay-Serial`: the platform certificate's serial, or `PUB_KEY_ID_…`.
    pub serial: &'a str,
}

/// The message a notification's signature covers: `timestamp\nnonce\nbody\n`.
#[must_use]
pub fn notify_message(timestamp: &str, nonce: &str, body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(timestamp.len() + nonce.len() + body.len() + 3);
    out.extend_from_slice(timestamp.as_bytes());
    out.push(b'\n');
    out.extend_from_slice(nonce.as_bytes());
    out.push(b'\n');
    out.extend_from_slice(body);
    out.push(b'\n');
    out
}

/// The message a v3 request's signature covers: `METHOD\nURL\ntimestamp\nnonce\nbody\n`, with
/// the URL's path and query (no scheme or host) and an empty body for GET.
#[must_use]
pub fn request_message(
    method: &str,
    url: &str,
    timestamp: &str,
    nonce: &str,
    body: &str,
) -> String {
    format!("{method}\n{url}\n{timestamp}\n{nonce}\n{body}\n")
}

/// [`request_message`] over bytes: `METHOD\nURL\ntimestamp\nnonce\nbody\n`, with the body
/// exactly as sent.
#[must_use]
pub fn request_message_bytes(
    method: &str,
    url: &str,
    timestamp: &str,
    nonce: &str,
    body: &[u8],
) -> Vec<u8> {
    let mut out = Vec::with_capacity(
        method.len() + url.len() + timestamp.len() + nonce.len() + body.len() + 5,
    );
    for part in [
        method.as_bytes(),
        url.as_bytes(),
        timestamp.as_bytes(),
        nonce.as_bytes(),
        body,
    ] {
        out.extend_from_slice(part);
        out.push(b'\n');
    }
    out
}

/// The `Authorization` header of a v3 request (`WECHATPAY2-SHA256-RSA2048 …`).
#[must_use]
pub fn authorization(
    mchid: &str,
    serial_no: &str,
    timestamp: &str,
    nonce: &str,
    signature: &str,
) -> String {
    format!(
        "WECHATPAY2-SHA256-RSA2048 mchid=\"{mchid}\",nonce_str=\"{nonce}\",signature=\"{signature}\",timestamp=\"{timestamp}\",serial_no=\"{serial_no}\""
    )
}

/// The message `paySign` covers for a v3 JSAPI / Mini Program payment:
/// `appId\ntimeStamp\nnonceStr\npackage\n` (then signed with the merchant's private key,
/// `signType` = `RSA`).
#[must_use]
pub fn pay_sign_message(app_id: &str, timestamp: &str, nonce: &str, package: &str) -> String {
    format!("{app_id}\n{timestamp}\n{nonce}\n{package}\n")
}

/// The encrypted `resource` of a notification.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[non_exhaustive]
pub struct Resource {
    /// `algorithm`: `AEAD_AES_256_GCM`.
    pub algorithm: String,
    /// `ciphertext`: base64.
    pub ciphertext: String,
    /// `associated_data` (may be absent or empty).
    #[serde(default)]
    pub associated_data: String,
    /// `nonce`: 12 characters.
    pub nonce: String,
    /// `original_type`: `transaction`, `refund`, ...
    #[serde(default)]
    pub original_type: String,
}

impl Resource {
    /// Decrypts the resource with the APIv3 key.
    ///
    /// # Errors
    ///
    /// [`PayErrorKind::InvalidField`] for another `algorithm`, and the errors of
    /// [`decrypt_resource`].
    pub fn decrypt(&self, key: &ApiV3Key) -> Result<String, PayError> {
        if self.algorithm != AEAD_AES_256_GCM {
            return Err(PayErrorKind::InvalidField("resource.algorithm").into());
        }
        decrypt_resource(key, &self.nonce, &self.associated_data, &self.ciphertext)
    }
}

/// A notification's JSON body (通知报文).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[non_exhaustive]
pub struct Notification {
    /// `id`: the notification's id.
    pub id: String,
    /// `create_time` (RFC 3339).
    #[serde(default)]
    pub create_time: String,
    /// `event_type`: `TRANSACTION.SUCCESS`, `REFUND.SUCCESS`, `REFUND.ABNORMAL`,
    /// `REFUND.CLOSED`, ...
    pub event_type: String,
    /// `resource_type`: `encrypt-resource`.
    #[serde(default)]
    pub resource_type: String,
    /// `summary`: a human summary (回调摘要).
    #[serde(default)]
    pub summary: String,
    /// `resource`.
    pub resource: Resource,
}

impl Notification {
    /// Parses the body (not verified: see [`parse_notification`]).
    ///
    /// # Errors
    ///
    /// [`PayErrorKind::Json`].
    pub fn from_json(body: &[u8]) -> Result<Self, PayError> {
        serde_json::from_slice(body).map_err(|e| PayErrorKind::Json(e.to_string()).into())
    }
}

/// A notification whose signature verified and whose resource decrypted.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct VerifiedNotification {
    /// The JSON body.
    pub notification: Notification,
    /// The decrypted resource (JSON).
    pub plaintext: String,
}

impl VerifiedNotification {
    /// The resource as a payment (`TRANSACTION.*`).
    ///
    /// # Errors
    ///
    /// [`PayErrorKind::Json`].
    pub fn transaction(&self) -> Result<Transaction, PayError> {
        let t: Transaction = serde_json::from_str(&self.plaintext)
            .map_err(|e| PayError::from(PayErrorKind::Json(e.to_string())))?;
        // The query answer of an unpaid order has none; a payment notification always does, and
        // it is what the notification is handled once by.
        if t.transaction_id.is_empty() {
            return Err(PayErrorKind::MissingField("transaction_id").into());
        }
        Ok(t)
    }

    /// The resource as a refund (`REFUND.*`).
    ///
    /// # Errors
    ///
    /// [`PayErrorKind::Json`].
    pub fn refund(&self) -> Result<Refund, PayError> {
        serde_json::from_str(&self.plaintext).map_err(|e| PayErrorKind::Json(e.to_string()).into())
    }

    /// Whether the notification is about a payment (`TRANSACTION.*`).
    #[must_use]
    pub fn is_transaction(&self) -> bool {
        self.notification.event_type.starts_with("TRANSACTION.")
    }

    /// Whether the notification is about a refund (`REFUND.*`).
    #[must_use]
    pub fn is_refund(&self) -> bool {
        self.notification.event_type.starts_with("REFUND.")
    }

    /// Whether the notification is about a merchant transfer (商家转账, `MCHTRANSFER.*`).
    #[must_use]
    pub fn is_transfer(&self) -> bool {
        self.notification.event_type.starts_with("MCHTRANSFER.")
    }

    /// The resource as a transfer bill (`MCHTRANSFER.BILL.FINISHED`); `mch_id` lands in
    /// `extra`.
    ///
    /// # Errors
    ///
    /// [`PayErrorKind::Json`]; [`PayErrorKind::MissingField`] without `transfer_bill_no`
    /// (what the notification is handled once by).
    pub fn transfer(&self) -> Result<TransferBill, PayError> {
        let t: TransferBill = serde_json::from_str(&self.plaintext)
            .map_err(|e| PayError::from(PayErrorKind::Json(e.to_string())))?;
        if t.transfer_bill_no.is_empty() {
            return Err(PayErrorKind::MissingField("transfer_bill_no").into());
        }
        Ok(t)
    }
}

/// Verifies and decrypts a notification: timestamp window, signature, then resource (see the
/// [module docs](super)).
///
/// # Errors
///
/// The errors of [`Verifier::verify_notify`], [`Notification::from_json`] and
/// [`Resource::decrypt`].
pub fn parse_notification(
    headers: &NotifyHeaders<'_>,
    body: &[u8],
    verifier: &Verifier,
    key: &ApiV3Key,
    now: u64,
    window_secs: u64,
) -> Result<VerifiedNotification, PayError> {
    verifier.verify_notify(headers, body, now, window_secs)?;
    let notification = Notification::from_json(body)?;
    let plaintext = notification.resource.decrypt(key)?;
    Ok(VerifiedNotification {
        notification,
        plaintext,
    })
}

/// Builds a notification body with `resource` encrypted (WeChat's side; for tests and mock
/// servers).
///
/// # Errors
///
/// The errors of [`encrypt_resource`].
pub fn notification_body(
    key: &ApiV3Key,
    id: &str,
    event_type: &str,
    original_type: &str,
    nonce: &str,
    resource: &str,
) -> Result<String, PayError> {
    let ciphertext = encrypt_resource(key, nonce, original_type, resource)?;
    let notification = Notification {
        id: id.to_owned(),
        create_time: String::new(),
        event_type: event_type.to_owned(),
        resource_type: "encrypt-resource".to_owned(),
        summary: String::new(),
        resource: Resource {
            algorithm: AEAD_AES_256_GCM.to_owned(),
            ciphertext,
            associated_data: original_type.to_owned(),
            nonce: nonce.to_owned(),
            original_type: original_type.to_owned(),
        },
    };
    serde_json::to_string(&notification).map_err(|e| PayErrorKind::Json(e.to_string()).into())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn verified(event_type: &str, plaintext: &str) -> VerifiedNotification {
        let notification: Notification = serde_json::from_value(serde_json::json!({
            "id": "EV-1", "create_time": "", "event_type": event_type,
            "resource_type": "encrypt-resource", "summary": "",
            "resource": { "algorithm": AEAD_AES_256_GCM, "ciphertext": "", "associated_data": "",
                          "nonce": "", "original_type": "mch_payment" }
        }))
        .unwrap();
        VerifiedNotification {
            notification,
            plaintext: plaintext.to_owned(),
        }
    }

    #[test]
    fn a_transfer_resource_reads_as_a_bill_and_needs_its_number() {
        let n = verified(
            "MCHTRANSFER.BILL.FINISHED",
            r#"{"out_bill_no":"b1","transfer_bill_no":"1330","state":"SUCCESS","mch_id":"10000100"}"#,
        );
        assert!(n.is_transfer() && !n.is_refund() && !n.is_transaction());
        let bill = n.transfer().unwrap();
        assert_eq!(bill.state, "SUCCESS");
        assert_eq!(bill.extra["mch_id"], "10000100");
        let unnumbered = verified(
            "MCHTRANSFER.BILL.FINISHED",
            r#"{"out_bill_no":"b1","state":"SUCCESS"}"#,
        );
        assert!(matches!(
            unnumbered.transfer().unwrap_err().kind(),
            PayErrorKind::MissingField("transfer_bill_no")
        ));
        assert!(!verified("REFUND.SUCCESS", "{}").is_transfer());
    }
}
