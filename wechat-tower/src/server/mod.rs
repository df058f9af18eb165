//! The inbound side: WeChat calls you.
//!
//! ```text
//! HTTP request ──▶ SignatureLayer ──▶ CryptoLayer ──▶ XmlLayer ──▶ Service<Message, Response = Reply>
//!                  signature, window,  safe mode:       bytes ⇄        (the Router, or any service)
//!                  echostr, body cap   decrypt/encrypt  Message/Reply
//! ```
//!
//! Each layer is usable alone; [`WechatLayer`] stacks the three. Requests that fail a check get a
//! response with the right status and a short reason ([`Rejection`](crate::Rejection)), never a
//! service error.

mod crypto;
mod json;
mod layer;
mod signature;
mod xml;

pub use crypto::{Crypto, CryptoLayer};
pub use layer::WechatLayer;
pub use signature::{Signature, SignatureLayer, VerifiedQuery};
pub use xml::{Xml, XmlLayer};

/// Response futures of the layers, by layer.
pub mod future {
    pub use super::crypto::ResponseFuture as CryptoResponseFuture;
    pub use super::signature::ResponseFuture as SignatureResponseFuture;
    pub use super::xml::ResponseFuture as XmlResponseFuture;
}

#[cfg(test)]
mod tests;
