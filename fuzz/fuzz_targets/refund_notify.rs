//! Arbitrary bytes as a WeChat Pay refund notification (退款结果通知), used three ways:
//!
//! - **A**: the bytes are the POST body: `RefundNotification::parse` never panics, and what it
//!   accepts has `req_info` that decrypts to the `info` it reports.
//! - **B**: the bytes (lossy UTF-8) are the `req_info` *plaintext*, encrypted with the key
//!   (AES-256-ECB) and wrapped in an outer `<xml>`, so the checks behind the decryption are
//!   reached; `decrypt(encrypt(x)) = x` must hold.
//! - **C**: the bytes are the ciphertext: base64-encoded and decrypted, never a panic; what
//!   decrypts re-encrypts to the same bytes (ECB is deterministic).

#![no_main]

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use libfuzzer_sys::fuzz_target;
use wechat_core::pay::{PayMap, RefundNotification, refund};
use wechat_core::secret::PayKey;

const KEY: &str = "192006250b4c09247ec02edce69f6a2d";

fuzz_target!(|data: &[u8]| {
    let key = PayKey::new(KEY);

    // A
    if let Ok(n) = RefundNotification::parse(data, &key) {
        let req_info = n.raw.get("req_info").expect("accepted without req_info");
        let plain =
            refund::decrypt_req_info(req_info, &key).expect("accepted but does not decrypt");
        assert_eq!(PayMap::from_xml(&plain).expect("info re-parses"), n.info);
    }

    // B
    let plaintext = String::from_utf8_lossy(data);
    let req_info = refund::encrypt_req_info(&plaintext, &key);
    assert_eq!(
        refund::decrypt_req_info(&req_info, &key).expect("own ciphertext decrypts"),
        plaintext
    );
    let outer = format!(
        "<xml><return_code>SUCCESS</return_code><appid>wx1</appid><mch_id>1</mch_id><req_info>{req_info}</req_info></xml>"
    );
    if let Ok(n) = RefundNotification::parse(outer.as_bytes(), &key) {
        assert_eq!(n.appid, "wx1");
        assert_eq!(PayMap::from_xml(&plaintext).ok().as_ref(), Some(&n.info));
    }

    // C
    let b64 = STANDARD.encode(data);
    if let Ok(plain) = refund::decrypt_req_info(&b64, &key) {
        assert_eq!(refund::encrypt_req_info(&plain, &key), b64);
    }
});
