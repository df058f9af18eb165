//! `WechatLayer`: the three inbound layers stacked for the common case.

use std::sync::Arc;

use tower_layer::Layer;

use super::{Crypto, CryptoLayer, Signature, SignatureLayer, Xml, XmlLayer};
use crate::config::WechatConfig;

/// [`SignatureLayer`], [`CryptoLayer`] and [`XmlLayer`] in that order, around a
/// `Service<Message, Response = Reply>`. The result is a `Service<http::Request<B>>` for any body
/// type, with `Error = Infallible`, that mounts with axum's `route_service` and with hyper-util's
/// `TowerToHyperService`.
///
/// ```
/// use tower::{Layer, service_fn};
/// use wechat_tower::{Message, Reply, WechatConfig, WechatLayer};
///
/// let handler = service_fn(|_msg: Message| async { Ok::<_, std::convert::Infallible>(Reply::text("hi")) });
/// let service = WechatLayer::new(WechatConfig::plaintext("token")).layer(handler);
/// # fn mountable<S: tower::Service<http::Request<http_body_util::Full<bytes::Bytes>>, Error = std::convert::Infallible> + Clone + Send + Sync + 'static>(_: S) {}
/// # mountable(service);
/// ```
#[derive(Debug, Clone)]
pub struct WechatLayer {
    config: Arc<WechatConfig>,
}

impl WechatLayer {
    /// The stack for one account's configuration.
    #[must_use]
    pub fn new(config: impl Into<Arc<WechatConfig>>) -> Self {
        Self {
            config: config.into(),
        }
    }
}

impl<S> Layer<S> for WechatLayer {
    type Service = Signature<Crypto<Xml<S>>>;

    fn layer(&self, inner: S) -> Self::Service {
        let xml = XmlLayer::new()
            .body_limit(self.config.body_limit)
            .clock_arc(Arc::clone(&self.config.clock));
        let inner = xml.layer(inner);
        let inner = CryptoLayer::new(Arc::clone(&self.config)).layer(inner);
        SignatureLayer::new(Arc::clone(&self.config)).layer(inner)
    }
}
