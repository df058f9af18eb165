//! Property tests of `wechat_core::miniprogram`: encrypt → decrypt round trips for any key, IV,
//! app id and JSON content; the watermark is checked against the app id; spoiled ciphertexts,
//! IVs and keys give typed errors, never a panic and never the original data; `rawData`
//! signatures verify exactly.
//!
//! Raise the case counts locally with
//! `PROPTEST_CASES=100000 cargo test -p wechat-tower-core --test miniprogram_properties --release`.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use proptest::prelude::*;
use serde_json::{Value, json};
use wechat_core::ErrorKind;
use wechat_core::miniprogram::{self, KEY_LEN, SessionAesKey};
use wechat_core::secret::SessionKey;

/// `PROPTEST_CASES` when set, else `default`.
fn cases(default: u32) -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(default)
}

/// A session key as `jscode2session` returns it: base64 of 16 random bytes.
fn session_key() -> impl Strategy<Value = SessionKey> {
    any::<[u8; KEY_LEN]>().prop_map(|bytes| SessionKey::new(STANDARD.encode(bytes)))
}

fn iv() -> impl Strategy<Value = String> {
    any::<[u8; KEY_LEN]>().prop_map(|bytes| STANDARD.encode(bytes))
}

fn appid() -> impl Strategy<Value = String> {
    "wx[0-9a-f]{16}"
}

/// User data as WeChat builds it: an object of arbitrary strings and numbers (any Unicode, so
/// lengths cross block boundaries in every way), with the watermark somewhere among them.
fn user_data(appid: String) -> impl Strategy<Value = (String, u64)> {
    (
        prop::collection::btree_map("[a-zA-Z]{1,12}", any::<String>(), 0..6),
        any::<u32>(),
        any::<bool>(),
    )
        .prop_map(move |(fields, timestamp, watermark_first)| {
            let timestamp = u64::from(timestamp);
            let mut object = serde_json::Map::new();
            let watermark = json!({ "timestamp": timestamp, "appid": appid });
            if watermark_first {
                object.insert("watermark".into(), watermark.clone());
            }
            for (k, v) in fields {
                if k != "watermark" {
                    object.insert(k, Value::String(v));
                }
            }
            object.insert("watermark".into(), watermark);
            (Value::Object(object).to_string(), timestamp)
        })
}

fn case() -> impl Strategy<Value = (SessionKey, String, String, String, u64)> {
    (session_key(), iv(), appid()).prop_flat_map(|(key, iv, appid)| {
        user_data(appid.clone()).prop_map(move |(json, timestamp)| {
            (key.clone(), iv.clone(), appid.clone(), json, timestamp)
        })
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(cases(512)))]

    #[test]
    fn encrypt_then_decrypt_returns_the_json_exactly((key, iv, appid, json, timestamp) in case()) {
        let aes = key.aes_key().unwrap();
        let encrypted = aes.encrypt(&iv, json.as_bytes()).unwrap();
        // PKCS#7 to 16 bytes: always at least one byte of padding.
        let ciphertext_len = STANDARD.decode(&encrypted).unwrap().len();
        prop_assert_eq!(ciphertext_len, (json.len() / 16 + 1) * 16);

        let data = miniprogram::decrypt(&key, &encrypted, &iv, &appid).unwrap();
        prop_assert_eq!(data.json(), json.as_str());
        prop_assert_eq!(data.timestamp(), timestamp);
        prop_assert_eq!(&data.watermark().appid, &appid);

        // The same data for another app is refused.
        let other = format!("{appid}x");
        prop_assert_eq!(
            miniprogram::decrypt(&key, &encrypted, &iv, &other).unwrap_err().into_kind(),
            ErrorKind::AppIdMismatch
        );
    }

    #[test]
    fn a_flipped_bit_never_yields_the_original_data(
        (key, iv, appid, json, _ts) in case(),
        position in any::<prop::sample::Index>(),
        bit in 0u8..8,
        in_iv in any::<bool>(),
    ) {
        let aes = key.aes_key().unwrap();
        let mut ciphertext = STANDARD.decode(aes.encrypt(&iv, json.as_bytes()).unwrap()).unwrap();
        let mut iv_bytes = STANDARD.decode(&iv).unwrap();
        if in_iv {
            iv_bytes[position.index(KEY_LEN)] ^= 1 << bit;
        } else {
            let i = position.index(ciphertext.len());
            ciphertext[i] ^= 1 << bit;
        }
        let result = miniprogram::decrypt(
            &key,
            &STANDARD.encode(&ciphertext),
            &STANDARD.encode(&iv_bytes),
            &appid,
        );
        // A flip either breaks the data (typed error) or changes it; without a MAC it can
        // decrypt to other JSON that still carries the watermark, but never to the same text.
        match result {
            Ok(data) => prop_assert_ne!(data.json(), json.as_str()),
            Err(err) => prop_assert!(
                matches!(
                    err.kind(),
                    ErrorKind::InvalidPadding
                        | ErrorKind::InvalidUtf8
                        | ErrorKind::InvalidJson
                        | ErrorKind::MissingField(_)
                        | ErrorKind::InvalidField(_)
                        | ErrorKind::AppIdMismatch
                ),
                "{:?}", err
            ),
        }
    }

    #[test]
    fn arbitrary_inputs_never_panic(
        session_key in ".{0,30}",
        data in prop_oneof![".{0,80}", prop::collection::vec(any::<u8>(), 0..80).prop_map(|b| STANDARD.encode(b))],
        iv in prop_oneof![".{0,30}", prop::collection::vec(any::<u8>(), 0..20).prop_map(|b| STANDARD.encode(b))],
        appid in ".{0,20}",
    ) {
        let key = SessionKey::new(session_key);
        let _ = miniprogram::decrypt(&key, &data, &iv, &appid);
        if let Ok(aes) = key.aes_key() {
            let _ = aes.decrypt_raw(&data, &iv);
        }
    }

    #[test]
    fn keys_decode_only_from_base64_of_16_bytes(bytes in prop::collection::vec(any::<u8>(), 0..40)) {
        let encoded = STANDARD.encode(&bytes);
        match SessionAesKey::parse(&encoded) {
            Ok(key) => {
                prop_assert_eq!(bytes.len(), KEY_LEN);
                prop_assert_eq!(&key.expose()[..], &bytes[..]);
            }
            Err(err) => {
                prop_assert_ne!(bytes.len(), KEY_LEN);
                prop_assert_eq!(err.into_kind(), ErrorKind::InvalidSessionKey);
            }
        }
    }

    #[test]
    fn raw_data_signatures_verify_exactly(
        key in session_key(),
        raw_data in any::<String>(),
        position in any::<prop::sample::Index>(),
    ) {
        let signature = miniprogram::sign_raw_data(&raw_data, &key);
        prop_assert_eq!(signature.len(), 40);
        prop_assert!(signature.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')));
        prop_assert!(miniprogram::verify_raw_data(&raw_data, &key, &signature));

        // One changed hex digit, a changed rawData or another key: refused.
        let i = position.index(40);
        let mut forged = signature.clone().into_bytes();
        forged[i] = if forged[i] == b'0' { b'1' } else { b'0' };
        let forged = String::from_utf8(forged).unwrap();
        prop_assert!(!miniprogram::verify_raw_data(&raw_data, &key, &forged));
        let longer = format!("{raw_data} ");
        prop_assert!(!miniprogram::verify_raw_data(&longer, &key, &signature));
        let other = SessionKey::new(format!("{}x", key.expose()));
        prop_assert!(!miniprogram::verify_raw_data(&raw_data, &other, &signature));
    }
}
