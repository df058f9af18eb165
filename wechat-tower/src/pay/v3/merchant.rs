//! [`V3Merchant`]: who signs the v3 requests.

use wechat_core::pay::v3::SigningKey;
use wechat_core::secret::ApiV3Key;

/// A merchant (商户) as APIv3 knows it: the `appid` its orders are for, the merchant id
/// (`mchid`, 商户号), the serial number of its API certificate (商户API证书序列号, sent in every
/// `Authorization`), the certificate's private key (`apiclient_key.pem`, which signs every
/// request) and the APIv3 key (APIv3密钥, which decrypts certificates and notifications).
/// Its `Debug` shows no key material.
#[derive(Debug, Clone)]
pub struct V3Merchant {
    app_id: String,
    mch_id: String,
    serial_no: String,
    key: SigningKey,
    api_v3_key: ApiV3Key,
}

impl V3Merchant {
    /// The merchant `mch_id` taking payments for `app_id`, signing with `key` (the private key of
    /// the API certificate numbered `merchant_serial_no`).
    pub fn new(
        app_id: impl Into<String>,
        mch_id: impl Into<String>,
        merchant_serial_no: impl Into<String>,
        key: SigningKey,
        api_v3_key: impl Into<String>,
    ) -> Self {
        Self {
            app_id: app_id.into(),
            mch_id: mch_id.into(),
            serial_no: merchant_serial_no.into().to_ascii_uppercase(),
            key,
            api_v3_key: ApiV3Key::new(api_v3_key),
        }
    }

    /// The app id (`appid`).
    #[must_use]
    pub fn app_id(&self) -> &str {
        &self.app_id
    }

    /// The merchant id (`mchid`, 商户号).
    #[must_use]
    pub fn mch_id(&self) -> &str {
        &self.mch_id
    }

    /// The serial number of the merchant's API certificate (upper-case hex).
    #[must_use]
    pub fn serial_no(&self) -> &str {
        &self.serial_no
    }

    /// The key that signs requests.
    #[must_use]
    pub fn signing_key(&self) -> &SigningKey {
        &self.key
    }

    /// The APIv3 key.
    #[must_use]
    pub fn api_v3_key(&self) -> &ApiV3Key {
        &self.api_v3_key
    }
}
