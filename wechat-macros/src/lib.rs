//! Procedural macros of `wechat-tower`.
//!
//! This crate will hold `#[wechat_handler(msg = "text")]`, the attribute that turns an `async fn`
//! into a typed handler for the router of `wechat-tower`. The router it mounts into is built by
//! the inbound-server issue, and the attribute by the handler-macro issue; until then the crate is
//! empty, so that the workspace layout and its dependency graph are fixed from the start.
//! Users depend on `wechat-tower`, which will re-export the attribute.
