//! Arbitrary bytes as an answer of the WeChat Pay API (what the pay clients read), used two ways:
//!
//! - **A**: v2 refund answers (申请退款 / 查询退款). The bytes, read as a flat map, are **signed**
//!   with the merchant key, so the readers behind the sign check are reached: `from_response`
//!   then `RefundResponse::from_map` and `RefundQueryResponse::from_map` never panic; an accepted
//!   refund never exceeds its order, and an accepted query lists at most `MAX_REFUND_COUNT`
//!   refunds whose sum stays within the order.
//! - **B**: v3 JSON answers: the error body `{code, message, detail}`, a transaction, a refund,
//!   a transfer bill and the `/v3/certificates` answer (decrypted with the APIv3 key) never panic;
//!   a certificate that comes out is unexpired at `now`.

#![no_main]

use libfuzzer_sys::fuzz_target;
use wechat_core::pay::v3::{
    ApiError, CertificatesAnswer, DomesticRefund, Transaction, TransferBill, decrypt_certificates,
};
use wechat_core::pay::refund::MAX_REFUND_COUNT;
use wechat_core::pay::{PayMap, RefundQueryResponse, RefundResponse, SignType};
use wechat_core::secret::{ApiV3Key, PayKey};

const KEY: &str = "192006250b4c09247ec02edce69f6a2d";
const V3_KEY: &str = "0123456789abcdefghijABCDEFGHIJ01";
const NOW: u64 = 1_800_000_000;

fuzz_target!(|data: &[u8]| {
    // A
    let key = PayKey::new(KEY);
    if let Ok(mut map) = PayMap::from_xml_bytes(data) {
        map.sign(&key, SignType::HmacSha256);
        if let Ok(xml) = map.to_xml()
            && let Ok(answer) = PayMap::from_response_bytes(xml.as_bytes(), &key, SignType::HmacSha256)
        {
            if let Ok(refund) = RefundResponse::from_map(answer.clone()) {
                assert!(refund.refund_fee <= refund.total_fee, "{refund:?}");
            }
            if let Ok(query) = RefundQueryResponse::from_map(answer) {
                assert!(query.refunds.len() <= MAX_REFUND_COUNT);
                let sum: u64 = query.refunds.iter().map(|r| r.refund_fee).sum();
                assert!(sum <= query.total_fee, "{query:?}");
            }
        }
    }

    // B
    let _ = ApiError::from_body(400, data);
    let _ = serde_json::from_slice::<Transaction>(data);
    let _ = serde_json::from_slice::<DomesticRefund>(data);
    let _ = serde_json::from_slice::<TransferBill>(data);
    let _ = serde_json::from_slice::<CertificatesAnswer>(data);
    if let Ok(certificates) = decrypt_certificates(data, &ApiV3Key::new(V3_KEY), NOW) {
        for certificate in certificates {
            assert!(certificate.not_after > NOW, "{}", certificate.serial_no);
        }
    }
});
