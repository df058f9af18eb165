//! The APIs of WeChat, one module per family. Each family is a handle borrowed from the client
//! (`client.menu()`, `client.message()`, …) with typed requests and answers; the types are also
//! re-exported from [`client`](crate::client).

pub mod draft;
pub mod jssdk;
pub mod kf;
pub mod links;
pub mod mass;
pub mod material;
pub mod media;
pub mod menu;
pub mod message;
pub mod miniprogram;
pub mod oauth;
pub mod ops;
pub mod publish;
pub mod qrcode;
pub mod security;
pub mod subscribe;
pub mod tag;
pub(crate) mod token;
pub mod user;
pub mod wxacode;
