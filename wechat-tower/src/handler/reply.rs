//! What a handler returns: [`IntoReply`].

use std::convert::Infallible;
use std::fmt;

use wechat_core::Reply;

/// What a handler returns: anything that becomes a [`Reply`].
///
/// | returned | answers |
/// |---|---|
/// | [`Reply`] | itself |
/// | `String`, `&'static str` | [`Reply::Text`]; an empty string answers `success` |
/// | `()` | `success` (nothing to say) |
/// | `Option<T>` | `T`'s reply, or `success` for `None` |
/// | `Result<T, E>` with `E: Display` | `T`'s reply; an `Err` is logged with `tracing::error!` and answers `success`, so WeChat neither retries nor shows the user an error |
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be a WeChat reply",
    label = "not a reply",
    note = "a handler returns something that implements `IntoReply`: `Reply`, `String` or `&'static str` (a text reply), `()` (answers `success`), `Option<T>`, or `Result<T, E>` with `E: Display`"
)]
pub trait IntoReply {
    /// Turns `self` into a reply.
    fn into_reply(self) -> Reply;
}

impl IntoReply for Reply {
    fn into_reply(self) -> Reply {
        self
    }
}

impl IntoReply for String {
    fn into_reply(self) -> Reply {
        if self.is_empty() {
            Reply::Success
        } else {
            Reply::Text(self)
        }
    }
}

impl IntoReply for &'static str {
    fn into_reply(self) -> Reply {
        self.to_owned().into_reply()
    }
}

impl IntoReply for () {
    fn into_reply(self) -> Reply {
        Reply::Success
    }
}

impl IntoReply for Infallible {
    fn into_reply(self) -> Reply {
        match self {}
    }
}

impl<T: IntoReply> IntoReply for Option<T> {
    fn into_reply(self) -> Reply {
        self.map_or(Reply::Success, IntoReply::into_reply)
    }
}

impl<T: IntoReply, E: fmt::Display> IntoReply for Result<T, E> {
    fn into_reply(self) -> Reply {
        match self {
            Ok(value) => value.into_reply(),
            Err(error) => {
                tracing::error!(%error, "handler failed; answering `success`");
                Reply::Success
            }
        }
    }
}
