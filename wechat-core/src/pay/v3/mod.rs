//! WeChat Pay APIv3 notifications (JSON, AES-256-GCM, RSA-SHA256), which new merchants get.
//!
//! A v3 notification is a JSON body with four headers. Reading one takes three checks, in this
//! order ([`parse_notification`] does all three):
//!
//! 1. `Wechatpay-Timestamp` within a window around `now` (5 minutes), so that a captured
//!    notification cannot be replayed later;
//! 2. `Wechatpay-Signature`: RSASSA-PKCS1-v1_5 with SHA-256 over
//!    `timestamp\nnonce\nbody\n`, by the key `Wechatpay-Serial` names: a platform certificate
//!    (平台证书, serial in hex) or the WeChat Pay public key (微信支付公钥, id `PUB_KEY_ID_…`,
//!    which merchants registered since 2024 get instead of platform certificates). A
//!    [`Verifier`] holds both kinds;
//! 3. the `resource`: AEAD_AES_256_GCM with the APIv3 key (32 bytes), its `nonce` and
//!    `associated_data`.
//!
//! WeChat's own public AEAD samples (wechatpay-go's tests) use 16-byte keys, i.e. AES-128-GCM,
//! which APIv3 never uses: such keys are refused with [`PayErrorKind::InvalidKey`] rather than
//! silently switching to AES-128.
//!
//! [`PayErrorKind::InvalidKey`]: crate::pay::PayErrorKind::InvalidKey
//!
//! ```
//! use wechat_core::pay::v3::{self, NotifyHeaders, SigningKey, Verifier};
//! use wechat_core::secret::ApiV3Key;
//!
//! # let private_pem = include_str!("../../../tests/vectors/pay_v3_test_key.pem");
//! # let public_pem = include_str!("../../../tests/vectors/pay_v3_test_pub.pem");
//! let api_v3_key = ApiV3Key::new("0123456789abcdefghijABCDEFGHIJ01");
//! let mut verifier = Verifier::new();
//! verifier.add_public_key_pem("PUB_KEY_ID_0114232134912410000000000000", public_pem)?;
//!
//! // WeChat Pay's side (what the mock pay server of wechat-tower does): encrypt, sign, send.
//! let wechat = SigningKey::from_pkcs8_pem(private_pem)?;
//! let resource = r#"{"mchid":"1230000109","appid":"wx1","out_trade_no":"no-1","transaction_id":"4200001","trade_type":"JSAPI","trade_state":"SUCCESS","amount":{"total":100}}"#;
//! let body = v3::notification_body(&api_v3_key, "EV-1", "TRANSACTION.SUCCESS", "transaction", "fdasflkja484", resource)?;
//! let signature = wechat.sign(&v3::notify_message("1700000000", "n0nce", body.as_bytes()));
//! let headers = NotifyHeaders {
//!     timestamp: "1700000000",
//!     nonce: "n0nce",
//!     signature: &signature,
//!     serial: "PUB_KEY_ID_0114232134912410000000000000",
//! };
//!
//! // Our side.
//! let verified = v3::parse_notification(&headers, body.as_bytes(), &verifier, &api_v3_key, 1700000030, 300)?;
//! assert_eq!(verified.notification.event_type, "TRANSACTION.SUCCESS");
//! let transaction = verified.transaction()?;
//! assert_eq!(transaction.amount.total, 100);
//!
//! // Five minutes later it is a replay.
//! assert!(v3::parse_notification(&headers, body.as_bytes(), &verifier, &api_v3_key, 1700000301, 300).is_err());
//! # Ok::<(), wechat_core::pay::PayError>(())
//! ```
//!
//! The module is split by concern: `aead` (the resource's AES-256-GCM), `rsa` (keys, signing,
//! verification), `oaep` (sensitive fields, RSA-OAEP), `messages` (the notification envelope,
//! its headers and the signed messages), `resources` (typed payments and refunds),
//! `certificates` (the `/v3/certificates` download), `api` (the typed requests and answers of
//! the v3 calls), `api_error` (the typed error answer) and `bill` (bill hashes); everything is
//! re-exported here.
//!
//! # The client side
//!
//! A v3 request carries `Authorization: WECHATPAY2-SHA256-RSA2048 mchid=…,nonce_str=…,
//! signature=…,timestamp=…,serial_no=…`, the signature ([`SigningKey`], constant time) over
//! [`request_message_bytes`] of the exact bytes sent; every answer is verified with
//! [`Verifier::verify_notify`] before it is read, as a notification is. `wechat-tower`'s
//! `pay::v3::PayV3Client` does both.
//!
//! ```
//! use wechat_core::pay::v3::{self, SigningKey, Verifier};
//!
//! # let private_pem = include_str!("../../../tests/vectors/pay_v3_test_key.pem");
//! # let public_pem = include_str!("../../../tests/vectors/pay_v3_test_pub.pem");
//! let merchant = SigningKey::from_pkcs8_pem(private_pem)?;
//! let body = br#"{"mchid":"1230000109","out_trade_no":"no-1"}"#;
//! let message = v3::request_message_bytes("POST", "/v3/pay/transactions/jsapi", "1700000000", "n0nce", body);
//! let signature = merchant.try_sign(&message)?;
//! let header = v3::authorization("1230000109", "444F4E54", "1700000000", "n0nce", &signature);
//! assert!(header.starts_with("WECHATPAY2-SHA256-RSA2048 mchid=\"1230000109\""));
//!
//! // WeChat Pay's side checks it with the merchant's public key.
//! let mut wechat = Verifier::new();
//! wechat.add_public_key_pem("merchant", public_pem)?;
//! wechat.verify("merchant", &message, &signature)?;
//! # Ok::<(), wechat_core::pay::PayError>(())
//! ```

mod aead;
mod api;
mod api_error;
mod bill;
mod certificates;
mod messages;
mod oaep;
mod resources;
mod rsa;

pub use self::aead::{
    AEAD_AES_256_GCM, API_V3_KEY_LEN, NONCE_LEN, decrypt_resource, encrypt_resource,
};
pub use self::api::{
    AppParams, BillUrl, DomesticRefund, DomesticRefundAmount, Extra, FundAccountType, H5Info,
    H5Prepay, JsapiParams, NativePrepay, Order, OrderAmount, OrderPayer, Prepay, RefundRequest,
    RefundRequestAmount, SceneInfo, TradeBillType, TradeKind, TransferBill, TransferRequest,
    TransferSceneReportInfo, check_bill_date,
};
pub use self::api_error::{ApiError, ApiErrorCode};
pub use self::bill::{BillHasher, bill_hash_value};
pub use self::certificates::{
    CERTIFICATE_ASSOCIATED_DATA, CERTIFICATES_PATH, CertificatesAnswer, EncryptCertificate,
    EncryptedCertificate, PlatformCertificate, certificates_answer, certificates_verifier,
    decrypt_certificates, rfc3339_utc8, verify_certificates_answer,
};
pub use self::messages::{
    Notification, NotifyHeaders, Resource, VerifiedNotification, authorization, notification_body,
    notify_message, parse_notification, pay_sign_message, request_message, request_message_bytes,
};
pub use self::oaep::DecryptingKey;
pub use self::resources::{Amount, Payer, Refund, RefundAmount, Transaction};
pub use self::rsa::{PUBLIC_KEY_ID_PREFIX, SigningKey, Verifier};
