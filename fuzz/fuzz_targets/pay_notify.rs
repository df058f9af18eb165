//! Arbitrary bytes as a WeChat Pay notification, v2 and v3, used three ways:
//!
//! - **A**: the bytes are the POST body of a v2 pay notification (支付结果通知):
//!   `PayNotification::parse` under both sign types never panics; whatever it accepts has a
//!   `sign` that verifies under the sign type it reports, typed fields equal to the raw ones, and
//!   survives `to_xml` → parse unchanged.
//! - **B**: the bytes, read as a flat map, are **signed** with the merchant key before parsing,
//!   so the field checks behind the sign check are reached: the outcome is a notification or a
//!   missing/invalid field (or `return_code`), never a sign error.
//! - **C**: the bytes are a v3 notification body: `Notification::from_json` and the AES-256-GCM
//!   decryption of its resource never panic.

#![no_main]

use libfuzzer_sys::fuzz_target;
use wechat_core::pay::v3::Notification;
use wechat_core::pay::{PayErrorKind, PayMap, PayNotification, SignType};
use wechat_core::secret::{ApiV3Key, PayKey};

const KEY: &str = "192006250b4c09247ec02edce69f6a2d";
const V3_KEY: &str = "0123456789abcdefghijABCDEFGHIJ01";

fn check_accepted(n: &PayNotification, key: &PayKey) {
    n.raw
        .verify_sign(key, n.sign_type)
        .expect("accepted notification whose sign does not verify");
    assert_eq!(
        n.raw.get("total_fee").map(str::parse::<u64>),
        Some(Ok(n.total_fee))
    );
    assert_eq!(n.raw.get("transaction_id"), Some(n.transaction_id.as_str()));
    assert_eq!(n.raw.get("out_trade_no"), Some(n.out_trade_no.as_str()));
    assert_eq!(n.raw.get("return_code"), Some("SUCCESS"));
    // Names WeChat never uses (`a:b`, non-ASCII) are refused by the writer: nothing to compare.
    let Ok(xml) = n.raw.to_xml() else { return };
    let again = PayNotification::parse(xml.as_bytes(), key, n.sign_type)
        .expect("a written-back notification parses");
    assert_eq!(&again, n);
}

fuzz_target!(|data: &[u8]| {
    let key = PayKey::new(KEY);

    // A
    for sign_type in [SignType::Md5, SignType::HmacSha256] {
        if let Ok(n) = PayNotification::parse(data, &key, sign_type) {
            check_accepted(&n, &key);
        }
    }

    // B
    if let Ok(mut map) = PayMap::from_xml_bytes(data) {
        for sign_type in [SignType::Md5, SignType::HmacSha256] {
            map.remove("sign_type");
            map.sign(&key, sign_type);
            let Ok(xml) = map.to_xml() else { break };
            match PayNotification::parse(xml.as_bytes(), &key, sign_type) {
                Ok(n) => check_accepted(&n, &key),
                Err(err) => assert!(
                    matches!(
                        err.kind(),
                        PayErrorKind::MissingField(_)
                            | PayErrorKind::InvalidField(_)
                            | PayErrorKind::Return { .. }
                    ),
                    "signed map refused with {err:?}"
                ),
            }
        }
    }

    // C
    if let Ok(notification) = Notification::from_json(data) {
        let _ = notification.resource.decrypt(&ApiV3Key::new(V3_KEY));
    }
});
