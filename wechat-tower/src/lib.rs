//! # wechat-tower
//!
//! The WeChat server framework on tower. Today this crate re-exports the protocol of
//! [`wechat_core`], so that applications depend on `wechat-tower` alone from the start; the inbound
//! layers (signature, safe mode, XML), the router and the outbound client arrive in the following
//! issues.
//!
//! ```
//! use wechat_tower::{Message, Reply};
//!
//! let msg = Message::from_xml(
//!     "<xml><ToUserName>gh</ToUserName><FromUserName>o</FromUserName><CreateTime>1</CreateTime>\
//!      <MsgType>text</MsgType><Content>hi</Content><MsgId>1</MsgId></xml>",
//! )?;
//! let reply = Reply::text("hello").to_xml(&msg.header().from_user_name, &msg.header().to_user_name, 2)?;
//! assert!(reply.contains("<Content><![CDATA[hello]]></Content>"));
//! # Ok::<(), wechat_tower::core::Error>(())
//! ```

mod body;
mod config;
mod rejection;
pub mod server;
#[cfg(feature = "test-util")]
pub mod test_util;

pub use body::BoxError;
pub use config::{Clock, DEFAULT_BODY_LIMIT, Mode, SystemClock, WechatConfig};
pub use rejection::Rejection;
pub use server::WechatLayer;

/// The protocol crate, re-exported whole.
pub use wechat_core as core;
pub use wechat_core::{Event, Message, MsgCrypt, Reply, message, signature};
