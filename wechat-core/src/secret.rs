//! Secrets as newtypes that cannot leak by accident.
//!
//! A secret's `Debug` prints `Name([redacted])`, it has no `Display`, `PartialEq` or `Serialize`,
//! and its memory is zeroed on drop. Read the value with `expose()` where it is really needed.

use zeroize::Zeroize;

/// Defines a string secret newtype (oauth2-rs style).
macro_rules! secret_type {
    ($(#[$attr:meta])* $name:ident) => {
        $(#[$attr])*
        #[derive(Clone)]
        pub struct $name(String);

        impl $name {
            /// Wraps a secret value.
            #[must_use]
            pub fn new(value: impl Into<String>) -> Self {
                Self(value.into())
            }

            /// The secret value.
            ///
            /// # Security Warning
            ///
            /// Never log, print or send the returned value anywhere it does not have to go.
            #[must_use]
            pub fn expose(&self) -> &str {
                &self.0
            }
        }

        impl ::std::fmt::Debug for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(concat!(stringify!($name), "([redacted])"))
            }
        }

        impl Drop for $name {
            fn drop(&mut self) {
                self.0.zeroize();
            }
        }
    };
}

secret_type!(
    /// The token (令牌) configured in the WeChat console, used to sign callbacks.
    Token
);
secret_type!(
    /// The AppSecret of an Official Account or Mini Program.
    AppSecret
);
secret_type!(
    /// The 43-character EncodingAESKey (消息加解密密钥) of safe mode.
    EncodingAesKey
);
secret_type!(
    /// A Mini Program user's `session_key`, which must never leave the server.
    SessionKey
);
secret_type!(
    /// The WeChat Pay API key (商户平台 API 密钥).
    PayKey
);
secret_type!(
    /// The WeChat Pay APIv3 key (APIv3 密钥): 32 ASCII characters, the AES-256-GCM key of v3
    /// notification resources.
    ApiV3Key
);
secret_type!(
    /// An `access_token` for WeChat's server APIs.
    AccessToken
);
secret_type!(
    /// The `access_token` of a user's web authorization (网页授权), for `sns/userinfo`: not the
    /// app's [`AccessToken`].
    OAuthAccessToken
);
secret_type!(
    /// The `refresh_token` of a web authorization (网页授权), valid 30 days.
    RefreshToken
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_is_redacted_for_every_secret() {
        let cases = [
            (format!("{:?}", Token::new("t0p")), "Token([redacted])"),
            (
                format!("{:?}", AppSecret::new("s3cret")),
                "AppSecret([redacted])",
            ),
            (
                format!("{:?}", EncodingAesKey::new("k")),
                "EncodingAesKey([redacted])",
            ),
            (
                format!("{:?}", SessionKey::new("sk")),
                "SessionKey([redacted])",
            ),
            (format!("{:?}", PayKey::new("pk")), "PayKey([redacted])"),
            (format!("{:?}", ApiV3Key::new("v3")), "ApiV3Key([redacted])"),
            (
                format!("{:?}", AccessToken::new("at")),
                "AccessToken([redacted])",
            ),
            (
                format!("{:?}", OAuthAccessToken::new("oat")),
                "OAuthAccessToken([redacted])",
            ),
            (
                format!("{:?}", RefreshToken::new("rt")),
                "RefreshToken([redacted])",
            ),
        ];
        for (debug, expected) in cases {
            assert_eq!(debug, expected);
        }
    }

    #[test]
    fn expose_returns_the_value() {
        assert_eq!(Token::new("abc").expose(), "abc");
    }
}
