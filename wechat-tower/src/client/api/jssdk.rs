//! JS-SDK (`wx.config`): the `jsapi_ticket`, shared like the `access_token`, and the signed
//! configuration of a page. The signing itself is [`wechat_core::jssdk`].

use wechat_core::jssdk::JsSdkConfig;
use wechat_core::secret::AccessToken;

use crate::client::error::ClientError;
use crate::client::wechat_client::WechatClient;

/// The JS-SDK APIs of a [`WechatClient`]: `client.jssdk()`.
#[derive(Debug, Clone, Copy)]
pub struct JsSdkApi<'a> {
    client: &'a WechatClient,
}

impl WechatClient {
    /// The JS-SDK APIs: `jsapi_ticket` and page configurations.
    #[must_use]
    pub fn jssdk(&self) -> JsSdkApi<'_> {
        JsSdkApi { client: self }
    }
}

impl JsSdkApi<'_> {
    /// The current `jsapi_ticket` (`cgi-bin/ticket/getticket?type=jsapi`), cached and shared
    /// through the client's store like the `access_token` (valid 7200 s).
    ///
    /// # Errors
    ///
    /// As [`TokenManager::get`](crate::client::TokenManager::get).
    pub async fn ticket(&self) -> Result<AccessToken, ClientError> {
        self.client.tickets().get().await
    }

    /// The signed `wx.config` parameters for the page at `url` (its full URL as the browser
    /// shows it; a `#fragment` is dropped), with the current time and a random nonce.
    ///
    /// # Errors
    ///
    /// When the ticket cannot be had.
    pub async fn config(&self, url: &str) -> Result<JsSdkConfig, ClientError> {
        let ticket = self.ticket().await?;
        let nonce = format!(
            "{}{}",
            wechat_core::crypt::nonce(),
            wechat_core::crypt::nonce()
        );
        Ok(JsSdkConfig::new(
            self.client.app_id(),
            ticket.expose(),
            url,
            self.client.now_secs(),
            nonce,
        ))
    }
}
