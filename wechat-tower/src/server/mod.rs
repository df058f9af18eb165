//! The inbound side: WeChat calls you.
//!
//! ```text
//! HTTP request ──▶ SignatureLayer ──▶ CryptoLayer ──▶ XmlLayer ──▶ Service<Message, Response = Reply>
//!                  signature, window,  safe mode:       bytes ⇄        (the Router, or any service)
//!                  echostr, body cap   decrypt/encrypt  Message/Reply
//! ```
//!
//! Each layer is usable alone; [`WechatLayer`] is the three stacked, run as one service [`Wechat`]
//! (the same answers, a test holds it to that, with one body read and one boxed future per
//! request). Requests that fail a check get a response with the right status and a short reason
//! ([`Rejection`](crate::Rejection)), never a service error.

pub mod crypto;
mod json;
mod layer;
pub mod signature;
pub mod xml;

pub use crypto::{Crypto, CryptoLayer};
pub use layer::{Wechat, WechatLayer};
pub use signature::{Signature, SignatureLayer, VerifiedQuery};
pub use xml::{Xml, XmlLayer};

#[cfg(test)]
mod tests;
