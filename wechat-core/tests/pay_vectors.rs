//! Replays the WeChat Pay vectors of the shared suite: `pay_v2.json` (v2 sign, notifications,
//! second signs), `refund_notify.json` (`req_info`), `pay_v3.json` (+ its PEM files: AEAD,
//! request and notification signatures, v3 `paySign`). Copies in `tests/vectors/`, provenance in
//! `tests/vectors/PROVENANCE.md`.
//!
//! Each group runs every vector, collects the failures and panics with one line per failure
//! (`Failed vector #i <id> (<source>): <detail>`), and pins the number of vectors it ran.

use serde_json::Value;
use wechat_core::pay::v3::{self, NotifyHeaders, SigningKey, Verifier};
use wechat_core::pay::{
    AppPayParams, JsapiPayParams, PayErrorKind, PayMap, PayNotification, RefundNotification,
    RefundStatus, SignType, refund, sign,
};
use wechat_core::secret::{ApiV3Key, PayKey};

#[macro_use]
mod support;

use support::{Report, load_json, ok_or_err as ok, read_vector};

fn load(rel: &str) -> Value {
    load_json(rel)
}

/// The numbered vectors of a group (none when the group is missing: the count check catches it).
fn entries(group: &Value) -> impl Iterator<Item = (usize, &Value)> {
    group.as_array().into_iter().flatten().enumerate()
}

/// Runs one vector of a pay file, named by its `id` and its provenance (or notes, or status).
fn run(report: &mut Report, i: usize, v: &Value, check: impl FnOnce() -> Result<(), String>) {
    let source = v
        .get("provenance")
        .or_else(|| v.get("notes"))
        .and_then(Value::as_str)
        .unwrap_or_else(|| v.get("status").and_then(Value::as_str).unwrap_or("?"));
    report.run(i, s(v, "id"), source, check);
}

fn s<'a>(v: &'a Value, key: &str) -> &'a str {
    v.get(key).and_then(Value::as_str).unwrap_or("")
}

fn sign_type(v: &Value) -> SignType {
    s(v, "sign_type").parse().unwrap_or(SignType::Md5)
}

fn pairs(v: &Value) -> Vec<(String, String)> {
    v.as_object()
        .map(|o| {
            o.iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or("").to_owned()))
                .collect()
        })
        .unwrap_or_default()
}

/// `sign` with its first hex digit changed.
fn flipped(sign: &str) -> String {
    let mut chars: Vec<char> = sign.chars().collect();
    if let Some(c) = chars.first_mut() {
        *c = if *c == '0' { '1' } else { '0' };
    }
    chars.into_iter().collect()
}

// ---------------------------------------------------------------------------------------------
// v2
// ---------------------------------------------------------------------------------------------

#[test]
fn pay_v2_sign_vectors() {
    let file = load("pay_v2.json");
    let mut report = Report::new("pay_v2.sign_vectors");
    for (i, v) in entries(&file["sign_vectors"]) {
        run(&mut report, i, v, || {
            let key = PayKey::new(s(v, "key"));
            let params = pairs(&v["params"]);
            let expected = s(v, "sign");
            if let Some(temp) = v.get("string_sign_temp").and_then(Value::as_str) {
                ensure_eq!(
                    "string_sign_temp",
                    sign::string_to_sign(params.clone(), &key),
                    temp
                );
            }
            ensure_eq!(
                "sign",
                sign::sign(params.clone(), &key, sign_type(v)),
                expected
            );
            ensure_eq!(
                "verify",
                sign::verify(params.clone(), &key, sign_type(v), expected),
                true
            );
            ensure_eq!(
                "verify of an altered sign",
                sign::verify(params.clone(), &key, sign_type(v), &flipped(expected)),
                false
            );
            let other = match sign_type(v) {
                SignType::Md5 => SignType::HmacSha256,
                SignType::HmacSha256 => SignType::Md5,
            };
            ensure_eq!(
                "verify under the other sign type",
                sign::verify(params, &key, other, expected),
                false
            );
            Ok(())
        });
    }
    report.finish(4);
}

#[test]
fn pay_v2_notify_vectors() {
    let file = load("pay_v2.json");
    let mut report = Report::new("pay_v2.notify_vectors");
    for (i, v) in entries(&file["notify_vectors"]) {
        run(&mut report, i, v, || {
            let map = ok("PayMap::from_xml", PayMap::from_xml(s(v, "xml")))?;
            if let Some(fields) = v.get("expected_fields") {
                for (k, expected) in pairs(fields) {
                    ensure_eq!(format!("field {k}"), map.get(&k).unwrap_or(""), expected);
                }
            }
            let Some(key) = v.get("key").and_then(Value::as_str) else {
                // The official sample: its merchant key was never published.
                ensure_eq!("sign_verifiable", v["sign_verifiable"], Value::Bool(false));
                return Ok(());
            };
            let key = PayKey::new(key);
            let expect_valid = v["expect_valid"].as_bool().unwrap_or(false);
            ensure_eq!(
                "sign verifies",
                map.verify_sign(&key, sign_type(v)).is_ok(),
                expect_valid
            );
            if let Some(temp) = v.get("string_sign_temp").and_then(Value::as_str) {
                ensure_eq!(
                    "string_sign_temp",
                    sign::string_to_sign(map.iter(), &key),
                    temp
                );
            }
            // The full notifications go through the typed parser too.
            if map.get("transaction_id").is_some() {
                let parsed = PayNotification::parse(s(v, "xml").as_bytes(), &key, sign_type(v));
                ensure_eq!("PayNotification::parse ok", parsed.is_ok(), expect_valid);
                if let Ok(n) = parsed {
                    ensure_eq!("total_fee", n.total_fee, 100);
                    ensure_eq!("cash_fee", n.cash_fee, Some(88));
                    ensure_eq!(
                        "transaction_id",
                        n.transaction_id,
                        "4200001234202311141234567890"
                    );
                    ensure_eq!("out_trade_no", n.out_trade_no, "20231114093000000001");
                    ensure_eq!(
                        "attach",
                        n.attach.as_deref(),
                        Some("订单附加数据 & 特殊字符 <ok>")
                    );
                    ensure_eq!("device_info (empty)", n.raw.get("device_info"), Some(""));
                    ensure_eq!("sign_type", n.sign_type, sign_type(v));
                    ok(
                        "check_merchant",
                        n.check_merchant("wxd930ea5d5a258f4f", "10000100"),
                    )?;
                } else if let Err(e) = parsed {
                    ensure_eq!("error", e.kind(), &PayErrorKind::InvalidSign);
                }
            }
            Ok(())
        });
    }
    report.finish(6);
}

/// HMAC-SHA256 notifications often come without `sign_type`: the configured type must verify
/// them (wechatpy reads such a message as MD5 and refuses it).
#[test]
fn issue7_hmac_notification_without_sign_type_verifies_with_the_configured_type() {
    let file = load("pay_v2.json");
    let v = &file["notify_vectors"][4];
    assert_eq!(s(v, "id"), "generated_full_success_notify_hmac_sha256");
    let key = PayKey::new(s(v, "key"));
    let mut map = PayMap::from_xml(s(v, "xml")).unwrap();
    map.remove("sign_type");
    map.sign(&key, SignType::HmacSha256);
    let xml = map.to_xml().unwrap();
    let n = PayNotification::parse(xml.as_bytes(), &key, SignType::HmacSha256).unwrap();
    assert_eq!(n.sign_type, SignType::HmacSha256);
    assert_eq!(n.total_fee, 100);
    let err = PayNotification::parse(xml.as_bytes(), &key, SignType::Md5).unwrap_err();
    assert_eq!(err.kind(), &PayErrorKind::InvalidSign);
}

#[test]
fn pay_v2_second_sign_vectors() {
    let file = load("pay_v2.json");
    let mut report = Report::new("pay_v2.second_sign_vectors");
    for (i, v) in entries(&file["second_sign_vectors"]) {
        run(&mut report, i, v, || {
            let key = PayKey::new(s(v, "key"));
            let p = &v["params"];
            ensure_eq!(
                "string_sign_temp",
                sign::string_to_sign(pairs(p), &key),
                s(v, "string_sign_temp")
            );
            if p.get("appId").is_some() {
                let sign_type: SignType = ok("signType", s(p, "signType").parse())?;
                let prepay_id = s(p, "package").trim_start_matches("prepay_id=");
                let ts: u64 = ok("timeStamp", s(p, "timeStamp").parse())?;
                let params = JsapiPayParams::new(
                    s(p, "appId"),
                    prepay_id,
                    &key,
                    sign_type,
                    ts,
                    s(p, "nonceStr"),
                );
                ensure_eq!("package", params.package, s(p, "package"));
                ensure_eq!("signType", params.sign_type, s(p, "signType"));
                ensure_eq!("paySign", params.pay_sign, s(v, "paySign"));
            } else {
                let ts: u64 = ok("timestamp", s(p, "timestamp").parse())?;
                let params = AppPayParams::new(
                    s(p, "appid"),
                    s(p, "partnerid"),
                    s(p, "prepayid"),
                    &key,
                    ts,
                    s(p, "noncestr"),
                );
                ensure_eq!("sign", params.sign, s(v, "sign"));
            }
            Ok(())
        });
    }
    report.finish(3);
}

#[test]
fn refund_notify_vectors() {
    let file = load("refund_notify.json");
    let mut report = Report::new("refund_notify.vectors");
    for (i, v) in entries(&file["vectors"]) {
        run(&mut report, i, v, || {
            let key = PayKey::new(s(v, "api_key"));
            let plaintext = ok(
                "decrypt_req_info",
                refund::decrypt_req_info(s(v, "req_info"), &key),
            )?;
            ensure_eq!("plaintext", plaintext, s(v, "expected_plaintext"));
            // ECB is deterministic: encryption reproduces the vector.
            ensure_eq!(
                "encrypt_req_info",
                refund::encrypt_req_info(&plaintext, &key),
                s(v, "req_info")
            );
            let info = ok("req_info map", PayMap::from_xml(&plaintext))?;
            for (k, expected) in pairs(&v["expected_fields"]) {
                ensure_eq!(format!("field {k}"), info.get(&k).unwrap_or(""), expected);
            }
            let wrong = PayKey::new("0123456789abcdef0123456789abcdef");
            ensure_eq!(
                "wrong key refused",
                refund::decrypt_req_info(s(v, "req_info"), &wrong)
                    .map(|p| p == plaintext)
                    .unwrap_or(false),
                false
            );
            if let Some(xml) = v.get("xml").and_then(Value::as_str) {
                let n = ok(
                    "RefundNotification::parse",
                    RefundNotification::parse(xml.as_bytes(), &key),
                )?;
                ensure_eq!("appid", n.appid, s(v, "appid"));
                ensure_eq!("mch_id", n.mch_id, s(v, "mch_id"));
                ensure_eq!("refund_status", n.refund_status, RefundStatus::Success);
                ensure_eq!(
                    "out_trade_no",
                    n.out_trade_no,
                    info.get("out_trade_no").unwrap_or("")
                );
                ensure_eq!(
                    "refund_fee",
                    n.refund_fee.to_string(),
                    info.get("refund_fee").unwrap_or("")
                );
                ok(
                    "check_merchant",
                    n.check_merchant(s(v, "appid"), s(v, "mch_id")),
                )?;
                ensure_eq!(
                    "another mch_id refused",
                    n.check_merchant(s(v, "appid"), "1").is_err(),
                    true
                );
            }
            Ok(())
        });
    }
    report.finish(3);
}

// ---------------------------------------------------------------------------------------------
// v3
// ---------------------------------------------------------------------------------------------

#[test]
fn pay_v3_aead_vectors() {
    let file = load("pay_v3.json");
    let mut report = Report::new("pay_v3.aead_vectors");
    for (i, v) in entries(&file["aead_vectors"]) {
        run(&mut report, i, v, || {
            let key = ApiV3Key::new(s(v, "key"));
            let (nonce, aad, ct) = (s(v, "nonce"), s(v, "associated_data"), s(v, "ciphertext"));
            let result = v3::decrypt_resource(&key, nonce, aad, ct);
            if s(v, "key").len() == 16 {
                // AES-128-GCM samples (README finding 5): refused, not silently accepted.
                let err = result.err().ok_or("a 16-byte key must be refused")?;
                ensure_eq!(
                    "16-byte key refused as InvalidKey",
                    matches!(err.kind(), PayErrorKind::InvalidKey(_)),
                    true
                );
                // ...and it really is AES-128-GCM, so the refusal is about the key, not the data.
                use aes_gcm::aead::{Aead, KeyInit, Payload};
                let cipher = aes_gcm::Aes128Gcm::new_from_slice(s(v, "key").as_bytes())
                    .map_err(|e| e.to_string())?;
                use base64::Engine;
                let bytes = base64::engine::general_purpose::STANDARD
                    .decode(ct)
                    .map_err(|e| e.to_string())?;
                let plain = cipher
                    .decrypt(
                        aes_gcm::Nonce::from_slice(nonce.as_bytes()),
                        Payload {
                            msg: &bytes,
                            aad: aad.as_bytes(),
                        },
                    )
                    .map_err(|_| "AES-128-GCM reference decryption failed".to_owned())?;
                ensure_eq!(
                    "AES-128 plaintext",
                    String::from_utf8_lossy(&plain),
                    s(v, "plaintext")
                );
                return Ok(());
            }
            ensure_eq!(
                "plaintext",
                ok("decrypt_resource", result)?,
                s(v, "plaintext")
            );
            ensure_eq!(
                "encrypt_resource",
                ok(
                    "encrypt_resource",
                    v3::encrypt_resource(&key, nonce, aad, s(v, "plaintext"))
                )?,
                ct
            );
            Ok(())
        });
    }
    report.finish(4);
}

fn verifier_for(v: &Value) -> Result<Verifier, String> {
    let mut verifier = Verifier::new();
    if let Some(cert) = v.get("certificate_file").and_then(Value::as_str) {
        let serial = ok(
            "add_certificate_pem",
            verifier.add_certificate_pem(&read_vector(cert)),
        )?;
        if let Some(expected) = v.get("expected_cert_serial_hex").and_then(Value::as_str) {
            ensure_eq!("certificate serial", serial, expected);
        }
        ensure_eq!(
            "serials",
            verifier.serials(),
            vec!["D7CE59D1F522D701".to_owned()]
        );
    } else {
        let serial = v["headers"]["Wechatpay-Serial"]
            .as_str()
            .unwrap_or("PUB_KEY_ID_TEST");
        ok(
            "add_public_key_pem",
            verifier.add_public_key_pem(serial, &read_vector(s(v, "public_key_file"))),
        )?;
    }
    Ok(verifier)
}

fn headers(v: &Value) -> NotifyHeaders<'_> {
    let h = &v["headers"];
    NotifyHeaders {
        timestamp: s(h, "Wechatpay-Timestamp"),
        nonce: s(h, "Wechatpay-Nonce"),
        signature: s(h, "Wechatpay-Signature"),
        serial: s(h, "Wechatpay-Serial"),
    }
}

#[test]
fn pay_v3_signature_vectors() {
    let file = load("pay_v3.json");
    let mut report = Report::new("pay_v3.signature_vectors");
    for (i, v) in entries(&file["signature_vectors"]) {
        run(&mut report, i, v, || match s(v, "kind") {
            "notify_verify" => {
                let verifier = verifier_for(v)?;
                let h = headers(v);
                let now: u64 = ok("timestamp", h.timestamp.parse())?;
                let body = s(v, "body").as_bytes();
                ok("verify_notify", verifier.verify_notify(&h, body, now, 300))?;
                let key = ApiV3Key::new(s(v, "apiv3_key"));
                let result = v3::parse_notification(&h, body, &verifier, &key, now, 300);
                if s(v, "apiv3_key").len() == 16 {
                    ensure_eq!(
                        "16-byte APIv3 key refused",
                        result
                            .err()
                            .map(|e| matches!(e.kind(), PayErrorKind::InvalidKey(_))),
                        Some(true)
                    );
                    return Ok(());
                }
                let verified = ok("parse_notification", result)?;
                ensure_eq!(
                    "plaintext",
                    verified.plaintext,
                    s(v, "expected_resource_plaintext")
                );
                ensure_eq!(
                    "event_type",
                    verified.notification.event_type,
                    "TRANSACTION.SUCCESS"
                );
                let t = ok("transaction", verified.transaction())?;
                ensure_eq!("mchid", t.mchid, "1230000109");
                ensure_eq!("amount.total", t.amount.total, 100);
                ensure_eq!("trade_state", t.is_success(), true);
                ensure_eq!("attach", t.attach, "自定义数据😀");
                ensure_eq!(
                    "payer.openid",
                    t.payer.map(|p| p.openid),
                    Some("oUpF8uMuAJO_M2pxb1Q9zNjWeS6o".to_owned())
                );
                // Ten minutes later: a replay.
                ensure_eq!(
                    "stale",
                    v3::parse_notification(&h, body, &verifier, &key, now + 600, 300)
                        .err()
                        .map(|e| e.into_kind()),
                    Some(PayErrorKind::StaleTimestamp)
                );
                Ok(())
            }
            "verify_with_cert_public_key" => {
                let verifier = verifier_for(v)?;
                ok(
                    "verify",
                    verifier.verify(
                        "d7ce59d1f522d701",
                        s(v, "message").as_bytes(),
                        s(v, "signature"),
                    ),
                )?;
                ensure_eq!(
                    "other message refused",
                    verifier
                        .verify("D7CE59D1F522D701", b"sourcE", s(v, "signature"))
                        .err()
                        .map(|e| e.into_kind()),
                    Some(PayErrorKind::InvalidSignature)
                );
                Ok(())
            }
            "request_sign" => {
                let key = ok(
                    "SigningKey",
                    SigningKey::from_pkcs8_pem(&read_vector(s(v, "private_key_file"))),
                )?;
                let message = v3::request_message(
                    s(v, "method"),
                    s(v, "url"),
                    s(v, "timestamp"),
                    s(v, "nonce_str"),
                    s(v, "body"),
                );
                ensure_eq!("message", message, s(v, "message"));
                let signature = key.sign(message.as_bytes());
                ensure_eq!("signature", signature, s(v, "signature"));
                ensure_eq!(
                    "authorization",
                    v3::authorization(
                        s(v, "mchid"),
                        s(v, "serial_no"),
                        s(v, "timestamp"),
                        s(v, "nonce_str"),
                        &signature
                    ),
                    s(v, "authorization")
                );
                let mut verifier = Verifier::new();
                ok(
                    "public key",
                    verifier.add_public_key_pem("K", &read_vector(s(v, "public_key_file"))),
                )?;
                ok(
                    "verify",
                    verifier.verify("K", message.as_bytes(), &signature),
                )
            }
            "jsapi_paysign" => {
                let key = ok(
                    "SigningKey",
                    SigningKey::from_pkcs8_pem(&read_vector(s(v, "private_key_file"))),
                )?;
                let p = &v["params"];
                let message = v3::pay_sign_message(
                    s(p, "appId"),
                    s(p, "timeStamp"),
                    s(p, "nonceStr"),
                    s(p, "package"),
                );
                ensure_eq!("message", message, s(v, "message"));
                ensure_eq!("paySign", key.sign(message.as_bytes()), s(v, "paySign"));
                Ok(())
            }
            other => Err(format!("unknown kind {other}")),
        });
    }
    report.finish(7);
}

#[test]
fn pay_v3_negative_vectors() {
    let file = load("pay_v3.json");
    let find = |section: &str, id: &str| -> Value {
        file[section]
            .as_array()
            .into_iter()
            .flatten()
            .find(|v| s(v, "id") == id)
            .cloned()
            .unwrap_or_else(|| panic!("no base vector {id}"))
    };
    let mut report = Report::new("pay_v3.negative_vectors");
    for (i, v) in entries(&file["negative_vectors"]) {
        run(&mut report, i, v, || match s(v, "id") {
            "generated_wrong_associated_data" => {
                let base = find("aead_vectors", s(v, "base"));
                let err = v3::decrypt_resource(
                    &ApiV3Key::new(s(&base, "key")),
                    s(&base, "nonce"),
                    s(&v["override"], "associated_data"),
                    s(&base, "ciphertext"),
                )
                .err()
                .ok_or("decrypted with the wrong associated_data")?;
                ensure_eq!("error", err.kind(), &PayErrorKind::Decrypt);
                Ok(())
            }
            "wechatpay_go_notify_tampered_body" => {
                let base = find("signature_vectors", s(v, "base"));
                let replace = v["override_body_replace"].as_array().ok_or("replace")?;
                let from = replace[0].as_str().unwrap_or("");
                let to = replace[1].as_str().unwrap_or("");
                let body = s(&base, "body").replace(from, to);
                ensure_eq!("body changed", body != s(&base, "body"), true);
                let verifier = verifier_for(&base)?;
                let h = headers(&base);
                let now: u64 = ok("timestamp", h.timestamp.parse())?;
                let err = verifier
                    .verify_notify(&h, body.as_bytes(), now, 300)
                    .err()
                    .ok_or("tampered body verified")?;
                ensure_eq!("error", err.kind(), &PayErrorKind::InvalidSignature);
                Ok(())
            }
            other => Err(format!("unknown negative vector {other}")),
        });
    }
    report.finish(2);
}
