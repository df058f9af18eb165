//! The outbound side: you call WeChat.
//!
//! [`TokenManager`] is the token central control (中控): one fetch at a time, shared by every
//! caller of a process and, through a [`Store`](crate::store::Store), by every process of a
//! deployment. Errors of WeChat (`errcode` != 0) are typed as [`WechatError`].

mod error;
pub mod token;

pub use error::{ClientError, WechatError};
pub use token::{FetchedToken, TokenManager, TokenSource};
