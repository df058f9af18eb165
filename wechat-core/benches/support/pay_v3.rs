//! The WeChat Pay APIv3 fixture shared by `benches/pay_v3.rs` and the `--pay-v3` workloads of
//! `examples/workloads.rs`: the test RSA key as both the merchant's and WeChat Pay's, a JSAPI
//! order request to sign, a signed answer and a signed payment notification to verify.

use wechat_core::pay::v3::{self, NotifyHeaders, SigningKey, Verifier};
use wechat_core::secret::ApiV3Key;

/// The private key (PKCS#8 PEM) of the fixture.
pub(crate) const KEY_PEM: &str = include_str!("../../tests/vectors/pay_v3_test_key.pem");
/// The WeChat Pay public key id the answers are signed under.
pub(crate) const SERIAL: &str = "PUB_KEY_ID_0114232134912410000000000000";
/// "Now" for the timestamp window: the answers are stamped 1700000000.
pub(crate) const NOW: u64 = 1_700_000_000;

/// Everything the APIv3 workloads sign and verify.
pub(crate) struct PayV3Fixture {
    pub(crate) key: SigningKey,
    pub(crate) verifier: Verifier,
    pub(crate) api_v3_key: ApiV3Key,
    /// `POST\n/v3/pay/transactions/jsapi\n…\nbody\n`.
    pub(crate) request: Vec<u8>,
    pub(crate) answer: &'static [u8],
    answer_signature: String,
    pub(crate) notification: String,
    notification_signature: String,
}

impl PayV3Fixture {
    /// Builds the fixture and checks that the answer and the notification verify.
    pub(crate) fn new() -> Self {
        let key = SigningKey::from_pkcs8_pem(KEY_PEM).expect("test key");
        let mut verifier = Verifier::new();
        verifier
            .add_public_key_pem(
                SERIAL,
                include_str!("../../tests/vectors/pay_v3_test_pub.pem"),
            )
            .expect("test key");
        let body = r#"{"appid":"wxd930ea5d5a258f4f","mchid":"1900000109","description":"Noodles","out_trade_no":"1217752501201407033233368018","notify_url":"https://example.com/pay/notify","amount":{"total":100,"currency":"CNY"},"payer":{"openid":"oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"}}"#;
        let request = v3::request_message_bytes(
            "POST",
            "/v3/pay/transactions/jsapi",
            "1700000000",
            "593BEC0C930BF1AFEB40B4A08C8FB242",
            body.as_bytes(),
        );
        let answer: &[u8] = br#"{"prepay_id":"wx201410272009395522657a690389285100"}"#;
        let answer_signature = key.sign(&v3::notify_message("1700000000", "n0nce", answer));
        let api_v3_key = ApiV3Key::new("0123456789abcdefghijABCDEFGHIJ01");
        let resource = r#"{"mchid":"1900000109","appid":"wxd930ea5d5a258f4f","out_trade_no":"no-1","transaction_id":"4200001","trade_type":"JSAPI","trade_state":"SUCCESS","amount":{"total":100}}"#;
        let notification = v3::notification_body(
            &api_v3_key,
            "EV-1",
            "TRANSACTION.SUCCESS",
            "transaction",
            "fdasflkja484",
            resource,
        )
        .expect("notification");
        let notification_signature = key.sign(&v3::notify_message(
            "1700000000",
            "n0nce",
            notification.as_bytes(),
        ));
        let fixture = Self {
            key,
            verifier,
            api_v3_key,
            request,
            answer,
            answer_signature,
            notification,
            notification_signature,
        };
        fixture
            .verifier
            .verify_notify(&fixture.answer_headers(), fixture.answer, NOW, 300)
            .expect("self-check: the answer verifies");
        fixture.read_notification();
        fixture
    }

    /// The headers of the signed answer.
    pub(crate) fn answer_headers(&self) -> NotifyHeaders<'_> {
        NotifyHeaders {
            timestamp: "1700000000",
            nonce: "n0nce",
            signature: &self.answer_signature,
            serial: SERIAL,
        }
    }

    /// Verifies, decrypts and reads the payment notification.
    pub(crate) fn read_notification(&self) -> v3::Transaction {
        let headers = NotifyHeaders {
            signature: &self.notification_signature,
            ..self.answer_headers()
        };
        v3::parse_notification(
            &headers,
            self.notification.as_bytes(),
            &self.verifier,
            &self.api_v3_key,
            NOW,
            300,
        )
        .expect("notification")
        .transaction()
        .expect("transaction")
    }
}
