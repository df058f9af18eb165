//! The APIs of WeChat, one module per family. Each family is a handle borrowed from the client
//! (`client.menu()`, `client.message()`, …) with typed requests and answers; the types are also
//! re-exported from [`client`](crate::client).

pub mod jssdk;
pub mod media;
pub mod menu;
pub mod message;
pub mod miniprogram;
pub mod oauth;
pub mod qrcode;
pub(crate) mod token;
pub mod user;
