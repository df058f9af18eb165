//! QR codes with a scene (带参数二维码): `cgi-bin/qrcode/create`, and the image URL
//! (`https://mp.weixin.qq.com/cgi-bin/showqrcode?ticket=…`).
//!
//! ```
//! use wechat_tower::client::{QrCodeRequest, Scene, qrcode_show_url};
//!
//! let temporary = QrCodeRequest::temporary(Scene::Id(123), 604_800);
//! assert_eq!(
//!     serde_json::to_string(&temporary)?,
//!     r#"{"expire_seconds":604800,"action_name":"QR_SCENE","action_info":{"scene":{"scene_id":123}}}"#
//! );
//! let permanent = QrCodeRequest::permanent(Scene::Str("shop-7".into()));
//! assert_eq!(serde_json::to_value(&permanent)?["action_name"], "QR_LIMIT_STR_SCENE");
//!
//! assert_eq!(
//!     qrcode_show_url("gQH47joAAAAAAAAAASxodHRwOi8vd2Vp+/="),
//!     "https://mp.weixin.qq.com/cgi-bin/showqrcode?ticket=gQH47joAAAAAAAAAASxodHRwOi8vd2Vp%2B%2F%3D"
//! );
//! # Ok::<(), serde_json::Error>(())
//! ```

use serde::{Deserialize, Serialize, Serializer};

use crate::client::error::ClientError;
use crate::client::wechat_client::WechatClient;

/// Where images of QR codes are served.
pub const QRCODE_SHOW_BASE: &str = "https://mp.weixin.qq.com/cgi-bin/showqrcode";

/// The image URL of a QR code ticket (the ticket percent-encoded).
#[must_use]
pub fn qrcode_show_url(ticket: &str) -> String {
    let ticket: String = form_urlencoded::byte_serialize(ticket.as_bytes()).collect();
    format!("{QRCODE_SHOW_BASE}?ticket={ticket}")
}

/// The scene a QR code carries into the `subscribe`/`SCAN` event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scene {
    /// `scene_id`: 1..=4294967295 for temporary codes, 1..=100000 for permanent ones.
    Id(u32),
    /// `scene_str`: 1 to 64 characters.
    Str(String),
}

/// A QR code to create.
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use]
pub struct QrCodeRequest {
    /// The scene.
    pub scene: Scene,
    /// `Some(seconds)` (at most 2 592 000, 30 days) for a temporary code, `None` for a permanent one.
    pub expire_seconds: Option<u32>,
}

impl QrCodeRequest {
    /// A temporary code (`QR_SCENE` / `QR_STR_SCENE`).
    pub fn temporary(scene: Scene, expire_seconds: u32) -> Self {
        Self {
            scene,
            expire_seconds: Some(expire_seconds),
        }
    }

    /// A permanent code (`QR_LIMIT_SCENE` / `QR_LIMIT_STR_SCENE`; at most 100 000 per account).
    pub fn permanent(scene: Scene) -> Self {
        Self {
            scene,
            expire_seconds: None,
        }
    }

    /// `action_name`.
    #[must_use]
    pub fn action_name(&self) -> &'static str {
        match (&self.scene, self.expire_seconds.is_some()) {
            (Scene::Id(_), true) => "QR_SCENE",
            (Scene::Str(_), true) => "QR_STR_SCENE",
            (Scene::Id(_), false) => "QR_LIMIT_SCENE",
            (Scene::Str(_), false) => "QR_LIMIT_STR_SCENE",
        }
    }
}

impl Serialize for QrCodeRequest {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Wire<'a> {
            #[serde(skip_serializing_if = "Option::is_none")]
            expire_seconds: Option<u32>,
            action_name: &'static str,
            action_info: ActionInfo<'a>,
        }
        #[derive(Serialize)]
        struct ActionInfo<'a> {
            scene: WireScene<'a>,
        }
        #[derive(Serialize)]
        #[serde(untagged)]
        enum WireScene<'a> {
            Id { scene_id: u32 },
            Str { scene_str: &'a str },
        }
        let scene = match &self.scene {
            Scene::Id(scene_id) => WireScene::Id {
                scene_id: *scene_id,
            },
            Scene::Str(scene_str) => WireScene::Str { scene_str },
        };
        Wire {
            expire_seconds: self.expire_seconds,
            action_name: self.action_name(),
            action_info: ActionInfo { scene },
        }
        .serialize(serializer)
    }
}

/// A created QR code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct QrCode {
    /// The ticket, for [`QrCode::show_url`].
    pub ticket: String,
    /// Seconds until a temporary code expires.
    #[serde(default)]
    pub expire_seconds: Option<u64>,
    /// The URL the code encodes (to draw it yourself).
    pub url: String,
}

impl QrCode {
    /// The URL of the code's image.
    #[must_use]
    pub fn show_url(&self) -> String {
        qrcode_show_url(&self.ticket)
    }
}

/// QR codes of a [`WechatClient`]: `client.qrcode()`.
#[derive(Debug, Clone, Copy)]
pub struct QrCodeApi<'a> {
    client: &'a WechatClient,
}

impl WechatClient {
    /// QR codes with a scene.
    #[must_use]
    pub fn qrcode(&self) -> QrCodeApi<'_> {
        QrCodeApi { client: self }
    }
}

impl QrCodeApi<'_> {
    /// Creates a QR code (`qrcode/create`).
    ///
    /// # Errors
    ///
    /// The usual errors.
    pub async fn create(&self, request: &QrCodeRequest) -> Result<QrCode, ClientError> {
        self.client
            .post_json("/cgi-bin/qrcode/create", &[], request)
            .await
    }
}
