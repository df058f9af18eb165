//! The outbound side: you call WeChat.
//!
//! [`WechatClient`] is the client of one app (Official Account or Mini Program). Every call goes
//! through a small tower stack over a [`Transport`]:
//!
//! ```text
//! client.menu().create(&menu) ──▶ AddAccessToken ──▶ RetryOnExpired ──▶ Timeout ──▶ Transport
//!                                  token from the      40001/40014/42001:             any Service<http::Request<Bytes>>;
//!                                  TokenManager        replace the token,             default: HttpTransport
//!                                                      retry once                     (hyper-util + rustls)
//! ```
//!
//! - [`TokenManager`] is the token central control (中控): one fetch at a time, shared by every
//!   caller of a process and, through a [`Store`](crate::store::Store), by every process of a
//!   deployment. The client has two: the `access_token` and the JS-SDK `jsapi_ticket`.
//! - Errors of WeChat (`errcode` != 0) are [`ClientError::Wechat`] with a [`WechatError`]: the
//!   code, WeChat's message and a short meaning of the common codes.
//! - The API families, one module each under [`api`]:
//!   - Official Account: [`menu`](WechatClient::menu) (with conditional menus),
//!     [`message`](WechatClient::message) (customer service, template, subscribe),
//!     [`user`](WechatClient::user) (info, batch info, remarks, blacklist),
//!     [`tag`](WechatClient::tag) (用户标签), [`mass`](WechatClient::mass) (群发),
//!     [`kf`](WechatClient::kf) (客服帐号), [`qrcode`](WechatClient::qrcode),
//!     [`media`](WechatClient::media) (temporary media), [`material`](WechatClient::material)
//!     (永久素材), [`draft`](WechatClient::draft) (草稿箱), [`publish`](WechatClient::publish)
//!     (发布能力), [`oauth`](WechatClient::oauth) (网页授权), [`jssdk`](WechatClient::jssdk);
//!   - Mini Program: [`miniprogram`](WechatClient::miniprogram) (login, phone number),
//!     [`wxacode`](WechatClient::wxacode) (小程序码), [`links`](WechatClient::links) (URL
//!     Scheme, URL Link, Short Link), [`security`](WechatClient::security) (内容安全),
//!     [`subscribe`](WechatClient::subscribe) (subscribe-message templates);
//!   - both: [`ops`](WechatClient::ops) (short keys, quota, rid);
//!   - anything else with [`get_json`](WechatClient::get_json) /
//!     [`post_json`](WechatClient::post_json).
//! - Uploads ([`multipart::Upload`]) stream a file or a reader; Mini Program codes can be
//!   streamed too ([`WxaCodeApi::code_stream`]), so neither side of a large file is held whole.
//!
//! ```
//! use wechat_tower::client::{Button, Menu, WechatClient};
//! use wechat_tower::test_util::mock::MockWechat;
//!
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! // A mock of WeChat's API on loopback (feature `test-util`); in production leave `api_base`
//! // at its default, https://api.weixin.qq.com.
//! let wechat = MockWechat::start().await?;
//! let client = WechatClient::builder(wechat.app_id(), wechat.app_secret())
//!     .api_base(wechat.base_url())
//!     .build()?;
//!
//! client.menu().create(&Menu::new(vec![Button::click("Today", "TODAY")])).await?;
//! assert_eq!(client.menu().get().await?.menu.button[0], Button::click("Today", "TODAY"));
//!
//! let user = client.user().info("oUser1", Default::default()).await?;
//! assert_eq!(user.openid, "oUser1");
//! assert_eq!(wechat.token_fetches(), 1); // one token for all three calls
//! # Ok(()) }
//! ```
//!
//! Secrets: the AppSecret, tokens and session keys are [secret types](wechat_core::secret) whose
//! `Debug` is redacted. WeChat takes them in URL queries (no header carries one), so the client
//! never logs URLs; a [`Transport`] of your own should not either.

pub mod api;
mod error;
pub mod multipart;
mod stack;
mod streamed;
pub mod token;
pub mod transport;
pub(crate) mod wechat_client;

pub use api::draft::{Article, DraftApi, DraftItem, DraftList, ImageInfo, ImageItem, NewsItems};
pub use api::jssdk::JsSdkApi;
pub use api::kf::{KfAccountInfo, KfApi, KfOnline, Typing};
pub use api::links::{
    CloudBase, EnvVersion, JumpWxa, LinkInfo, LinksApi, SchemeQuery, SchemeRequest,
    ShortLinkRequest, UrlLinkQuery, UrlLinkRequest, VisitQuota,
};
pub use api::mass::{
    CardContent, MassApi, MassContent, MassImages, MassMessage, MassSendStatus, MassSent,
    MassSpeed, MassStatus, MassVideo, PreviewTo,
};
pub use api::material::{
    AddedMaterial, MaterialApi, MaterialCount, MaterialFile, MaterialItem, MaterialList,
    MaterialType, VideoDescription,
};
pub use api::media::{MediaApi, MediaFile, MediaType, UploadedMedia};
pub use api::menu::{
    Button, ButtonAction, ConditionalMenu, MatchRule, Menu, MenuApi, MenuInfo, SelfMenu,
    SelfMenuButton, SelfMenuInfo, SelfMenuNews, SelfMenuNewsInfo, SelfMenuSubButtons,
};
pub use api::message::{
    CustomBody, CustomMessage, DataValue, KfAccount, MediaContent, MessageApi, MiniProgramLink,
    MiniProgramPage, NewsArticle, NewsContent, SubscribeMessage, TemplateMessage, TextContent,
};
pub use api::miniprogram::{LoginSession, MiniProgramApi, PhoneInfo, Watermark};
pub use api::oauth::{Lang, OAuthApi, OAuthScope, OAuthToken, OAuthUserInfo};
pub use api::ops::{ApiQuota, DailyQuota, OpsApi, RateLimit, RidInfo, RidRequest, ShortKeyData};
pub use api::publish::{
    ArticleDetail, PublishApi, PublishJob, PublishJobStatus, PublishStatus, PublishedItem,
    PublishedList, PublishedUrl,
};
pub use api::qrcode::{QRCODE_SHOW_BASE, QrCode, QrCodeApi, QrCodeRequest, Scene, qrcode_show_url};
pub use api::security::{
    Label, MediaCheck, MediaKind, MsgSecCheck, MsgSecCheckResult, SecDetail, SecResult, SecScene,
    SecurityApi, Suggest, TraceId,
};
pub use api::subscribe::{
    AddTemplate, Category, KeywordEnumValues, PrivateTemplate, PubTemplateKeyword,
    PubTemplateKeywords, PubTemplateTitle, PubTemplateTitles, SubscribeApi, TemplateKind,
    TitlesQuery,
};
pub use api::tag::{Tag, TagApi, TagUsers};
pub use api::user::{OpenIdList, UserApi, UserInfo, UserList};
pub use api::wxacode::{
    LineColor, MAX_CODE_BYTES, MAX_SCENE_CHARS, UnlimitedCodeRequest, WxaCode, WxaCodeApi,
    WxaCodeRequest, WxaCodeStream, WxaQrCodeRequest,
};
pub use error::{ClientError, WechatError};
pub use multipart::Upload;
pub use token::{FetchedToken, TokenManager, TokenSource};
pub use transport::Transport;
pub use transport::TransportBody;
#[cfg(feature = "client")]
pub use transport::{HttpTransport, HttpTransportBuilder, StreamingBody, TlsConfigError};
pub use wechat_client::{
    BuildError, DEFAULT_API_BASE, DEFAULT_OPEN_BASE, DEFAULT_TIMEOUT, TokenKind, WechatClient,
    WechatClientBuilder,
};
pub use wechat_core::jssdk::JsSdkConfig;
