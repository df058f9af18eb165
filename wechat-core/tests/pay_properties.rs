//! Property tests of `wechat_core::pay`: sign → verify, flat map → XML → map, `req_info` and v3
//! resource encrypt → decrypt, and "never panics" on arbitrary input to the notification
//! parsers. Raise the case counts with `PROPTEST_CASES=…`.

use std::collections::BTreeMap;

use proptest::prelude::*;
use wechat_core::pay::v3::{self, NotifyHeaders, Verifier};
use wechat_core::pay::{PayMap, PayNotification, RefundNotification, SignType, refund, sign};
use wechat_core::secret::{ApiV3Key, PayKey};

fn cases(default: u32) -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(default)
}

fn sign_type() -> impl Strategy<Value = SignType> {
    prop_oneof![Just(SignType::Md5), Just(SignType::HmacSha256)]
}

/// WeChat-like keys: a letter or `_`, then letters, digits and `_`.
fn key_name() -> impl Strategy<Value = String> {
    "[a-zA-Z_][a-zA-Z0-9_]{0,20}"
}

/// Values with markup, CDATA terminators, Chinese, emoji and whitespace.
fn value() -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop_oneof![
            4 => any::<char>().prop_filter("no NUL-like or lone control chars", |c| !c.is_control()),
            1 => prop::sample::select(vec![']', '>', '<', '&', ' ', '\n', '\t', '中', '😀', '=']),
        ],
        0..40,
    )
    .prop_map(|chars| chars.into_iter().collect())
}

fn params() -> impl Strategy<Value = BTreeMap<String, String>> {
    prop::collection::btree_map(key_name(), value(), 0..12)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(cases(256)))]

    #[test]
    fn sign_then_verify(params in params(), key in "[ -~]{1,40}", t in sign_type()) {
        let key = PayKey::new(key);
        let mut map: PayMap = params.clone().into_iter().collect();
        map.sign(&key, t);
        prop_assert!(map.verify_sign(&key, t).is_ok());
        // Changing, adding or removing a non-empty value breaks it.
        let victim = params.iter().find(|(k, v)| !v.is_empty() && k.as_str() != "sign");
        if let Some((k, v)) = victim {
            let mut changed = map.clone();
            changed.insert(k.clone(), format!("{v}x"));
            prop_assert!(changed.verify_sign(&key, t).is_err());
            let mut removed = map.clone();
            removed.remove(k);
            prop_assert!(removed.verify_sign(&key, t).is_err());
        }
        // Another key fails.
        let other = PayKey::new(format!("{}!", key.expose()));
        prop_assert!(map.verify_sign(&other, t).is_err());
        // The free function agrees with the map.
        let expected = map.get("sign").unwrap_or("").to_owned();
        prop_assert!(sign::verify(params, &key, t, &expected));
    }

    #[test]
    fn map_to_xml_and_back(params in params()) {
        let map: PayMap = params.into_iter().collect();
        let xml = map.to_xml().unwrap();
        let back = PayMap::from_xml(&xml).unwrap();
        prop_assert_eq!(back, map);
    }

    #[test]
    fn req_info_round_trips(plaintext in value(), key in "[ -~]{1,40}") {
        let key = PayKey::new(key);
        let ct = refund::encrypt_req_info(&plaintext, &key);
        prop_assert_eq!(refund::decrypt_req_info(&ct, &key).unwrap(), plaintext);
    }

    #[test]
    fn v3_resource_round_trips(
        plaintext in value(),
        key in "[a-zA-Z0-9]{32}",
        nonce in "[a-zA-Z0-9]{12}",
        aad in "[a-z]{0,12}",
    ) {
        let key = ApiV3Key::new(key);
        let ct = v3::encrypt_resource(&key, &nonce, &aad, &plaintext).unwrap();
        prop_assert_eq!(v3::decrypt_resource(&key, &nonce, &aad, &ct).unwrap(), plaintext);
        let other_aad = format!("{aad}x");
        prop_assert!(v3::decrypt_resource(&key, &nonce, &other_aad, &ct).is_err());
    }

    #[test]
    fn notify_parsers_never_panic(body in prop::collection::vec(any::<u8>(), 0..512), t in sign_type()) {
        let key = PayKey::new("192006250b4c09247ec02edce69f6a2d");
        let _ = PayNotification::parse(&body, &key, t);
        let _ = RefundNotification::parse(&body, &key);
        let _ = PayMap::from_xml_bytes(&body);
        let _ = v3::Notification::from_json(&body);
        let verifier = Verifier::new();
        let headers = NotifyHeaders { timestamp: "1", nonce: "n", signature: "c2ln", serial: "S" };
        let _ = verifier.verify_notify(&headers, &body, 1, 300);
    }

    #[test]
    fn xml_like_notifications_never_panic(fields in params(), t in sign_type()) {
        let key = PayKey::new("k");
        let mut map: PayMap = fields.into_iter().collect();
        map.insert("return_code", "SUCCESS");
        map.sign(&key, t);
        let xml = map.to_xml().unwrap();
        // Signed but incomplete: a typed error, never a panic.
        let _ = PayNotification::parse(xml.as_bytes(), &key, t);
        let _ = RefundNotification::parse(xml.as_bytes(), &key);
    }
}
