//! The keys of the v3 face: the merchant's certificate (to check requests), and WeChat Pay's
//! signing keys: platform certificates A and B (平台证书, with a rotation) or the WeChat Pay
//! public key (微信支付公钥), whichever [`SigningMode`] the mock runs in. The same private keys
//! decrypt the sensitive fields (RSA-OAEP) encrypted under the matching public key.

use http::StatusCode;
use serde_json::{Value, json};
use wechat_core::pay::v3::{DecryptingKey, SigningKey, Verifier, certificates_answer};

use super::{Answer, Call, V3Error};

/// The merchant API certificate (商户API证书, `apiclient_cert.pem`).
pub(in super::super) const MERCHANT_CERT_PEM: &str = include_str!("../../keys/merchant_cert.pem");
/// Its private key (`apiclient_key.pem`).
pub(in super::super) const MERCHANT_KEY_PEM: &str = include_str!("../../keys/merchant_key.pem");
/// Its serial, as the merchant sends it in `serial_no`.
pub(in super::super) const MERCHANT_SERIAL: &str = "444F4E545553455448495345524941";

/// Platform certificate A (before a rotation).
pub(in super::super) const PLATFORM_A_CERT_PEM: &str =
    include_str!("../../keys/platform_a_cert.pem");
const PLATFORM_A_KEY_PEM: &str = include_str!("../../keys/platform_a_key.pem");
/// Its serial.
pub(in super::super) const PLATFORM_A_SERIAL: &str = "5157F09EFDC096DE15EBE81A47057A72";

/// Platform certificate B (after a rotation).
pub(in super::super) const PLATFORM_B_CERT_PEM: &str =
    include_str!("../../keys/platform_b_cert.pem");
const PLATFORM_B_KEY_PEM: &str = include_str!("../../keys/platform_b_key.pem");
/// Its serial.
pub(in super::super) const PLATFORM_B_SERIAL: &str = "7132D72A03E93CEBB3D5E3A01CC4BE2A";

/// How the mock signs its v3 answers and notifications.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum SigningMode {
    /// With the WeChat Pay public key (微信支付公钥, `PUB_KEY_ID_…`): what merchants registered
    /// since 2024 get, and the mock's default (its notifications always were signed so).
    #[default]
    PublicKey,
    /// With platform certificate A (平台证书), B after
    /// [`MockPay::rotate_platform_certificate`](super::super::MockPay::rotate_platform_certificate);
    /// `/v3/certificates` lists them.
    PlatformCertificate,
}

/// One private key of WeChat Pay's side.
pub(in super::super) struct WechatKey {
    pub(in super::super) serial: String,
    pub(in super::super) signer: SigningKey,
    pub(in super::super) decrypter: DecryptingKey,
}

/// Every key of the v3 face, parsed once.
pub(in super::super) struct Keys {
    /// Checks the merchant's request signatures.
    pub(in super::super) merchant: Verifier,
    pub(in super::super) platform_a: WechatKey,
    pub(in super::super) platform_b: WechatKey,
    pub(in super::super) public_key: WechatKey,
}

impl Keys {
    /// Parses the test keys; `public_key_id` names the WeChat Pay public key.
    pub(in super::super) fn load(public_key_id: &str) -> Result<Self, String> {
        let key = |serial: &str, pem: &str| -> Result<WechatKey, String> {
            Ok(WechatKey {
                serial: serial.to_owned(),
                signer: SigningKey::from_pkcs8_pem(pem).map_err(|e| e.to_string())?,
                decrypter: DecryptingKey::from_pkcs8_pem(pem).map_err(|e| e.to_string())?,
            })
        };
        let mut merchant = Verifier::new();
        let serial = merchant
            .add_certificate_pem(MERCHANT_CERT_PEM)
            .map_err(|e| e.to_string())?;
        if serial != MERCHANT_SERIAL {
            return Err(format!("merchant certificate serial {serial}"));
        }
        Ok(Self {
            merchant,
            platform_a: key(PLATFORM_A_SERIAL, PLATFORM_A_KEY_PEM)?,
            platform_b: key(PLATFORM_B_SERIAL, PLATFORM_B_KEY_PEM)?,
            public_key: key(public_key_id, super::super::PRIVATE_KEY_PEM)?,
        })
    }
}

/// Where the platform certificates stand.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(in super::super) struct Rotation {
    /// B signs (after `rotate_platform_certificate`).
    pub(in super::super) rotated: bool,
    /// A is no longer listed (after `retire_old_certificate`).
    pub(in super::super) retired: bool,
}

impl Keys {
    /// The key that signs now.
    pub(in super::super) fn current(&self, mode: SigningMode, rotation: Rotation) -> &WechatKey {
        match mode {
            SigningMode::PublicKey => &self.public_key,
            SigningMode::PlatformCertificate if rotation.rotated => &self.platform_b,
            SigningMode::PlatformCertificate => &self.platform_a,
        }
    }

    /// The certificates `/v3/certificates` lists now (PEM).
    pub(in super::super) fn listed(rotation: Rotation) -> Vec<&'static str> {
        match (rotation.rotated, rotation.retired) {
            (false, _) => vec![PLATFORM_A_CERT_PEM],
            (true, false) => vec![PLATFORM_A_CERT_PEM, PLATFORM_B_CERT_PEM],
            (true, true) => vec![PLATFORM_B_CERT_PEM],
        }
    }

    /// The key that decrypts a field encrypted under `serial` (a request's
    /// `Wechatpay-Serial`): the public key in public-key mode, a listed certificate's key in
    /// certificate mode.
    pub(in super::super) fn decrypter(
        &self,
        mode: SigningMode,
        rotation: Rotation,
        serial: &str,
    ) -> Option<&DecryptingKey> {
        let candidates: Vec<&WechatKey> = match mode {
            SigningMode::PublicKey => vec![&self.public_key],
            SigningMode::PlatformCertificate => {
                let mut keys = Vec::new();
                if !rotation.retired {
                    keys.push(&self.platform_a);
                }
                if rotation.rotated {
                    keys.push(&self.platform_b);
                }
                keys
            }
        };
        candidates
            .into_iter()
            .find(|k| k.serial.eq_ignore_ascii_case(serial))
            .map(|k| &k.decrypter)
    }
}

/// `GET /v3/certificates`: the certificates listed now, each encrypted under the APIv3 key
/// with its own nonce.
pub(super) fn certificates(call: &Call<'_>) -> Result<Answer, V3Error> {
    let rotation = call.shared.lock().v3.rotation;
    let internal = || {
        V3Error::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "SYSTEM_ERROR",
            "系统错误",
        )
    };
    let mut data = Vec::new();
    for pem in Keys::listed(rotation) {
        let nonce = wechat_core::pay::nonce_str();
        let one = certificates_answer(&call.shared.api_v3_key, &[pem], &nonce[..12])
            .map_err(|_| internal())?;
        let Ok(Value::Object(mut one)) = serde_json::from_str::<Value>(&one) else {
            return Err(internal());
        };
        if let Some(Value::Array(entries)) = one.remove("data") {
            data.extend(entries);
        }
    }
    Ok(Answer::Json(json!({ "data": data })))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]

    use super::*;

    fn keys() -> Keys {
        Keys::load("PUB_KEY_ID_1").unwrap()
    }

    #[test]
    fn the_rotation_changes_the_signer_and_the_list() {
        let keys = keys();
        let mode = SigningMode::PlatformCertificate;
        let before = Rotation::default();
        let during = Rotation {
            rotated: true,
            retired: false,
        };
        let after = Rotation {
            rotated: true,
            retired: true,
        };
        assert_eq!(keys.current(mode, before).serial, PLATFORM_A_SERIAL);
        assert_eq!(keys.current(mode, during).serial, PLATFORM_B_SERIAL);
        assert_eq!(Keys::listed(before), [PLATFORM_A_CERT_PEM]);
        assert_eq!(Keys::listed(during).len(), 2);
        assert_eq!(Keys::listed(after), [PLATFORM_B_CERT_PEM]);
        assert!(keys.decrypter(mode, during, PLATFORM_A_SERIAL).is_some());
        assert!(keys.decrypter(mode, after, PLATFORM_A_SERIAL).is_none());
        assert!(keys.decrypter(mode, before, PLATFORM_B_SERIAL).is_none());
        assert!(keys.decrypter(mode, before, "PUB_KEY_ID_1").is_none());
        assert_eq!(
            keys.current(SigningMode::PublicKey, during).serial,
            "PUB_KEY_ID_1"
        );
    }

    #[test]
    fn each_key_decrypts_only_its_own_ciphertexts() {
        let keys = keys();
        let mut verifier = Verifier::new();
        verifier.add_certificate_pem(PLATFORM_A_CERT_PEM).unwrap();
        let ciphertext = verifier
            .encrypt(PLATFORM_A_SERIAL, "张三".as_bytes())
            .unwrap();
        assert_eq!(
            keys.platform_a.decrypter.decrypt_str(&ciphertext).unwrap(),
            "张三"
        );
        assert!(keys.platform_b.decrypter.decrypt_str(&ciphertext).is_err());
    }
}
