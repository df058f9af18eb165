//! [`Route`]: which messages a handler answers; [`RouteError`]: why a router cannot be built.

use std::borrow::Cow;
use std::fmt;

/// `MSG_TYPES` and `EVENTS`, from wechat-core's table of kinds.
macro_rules! known_kinds {
    (
        messages { $(($msg:literal, $($_m:ident),*),)* }
        events { $(($event:literal, $_v:ident, $_t:ident, $_c:ident, $keyed:ident),)* }
    ) => {
        /// `MsgType`s wechat-core parses into a typed variant (WeChat spells them in lower
        /// case), and `event`.
        const MSG_TYPES: &[&str] = &[$($msg,)* "event"];

        /// `Event`s wechat-core parses into a typed variant, in WeChat's spelling, and whether
        /// WeChat sends them with an `EventKey`.
        const EVENTS: &[(&str, bool)] = &[$(($event, wechat_core::__kind_keyed!($keyed)),)*];
    };
}

wechat_core::__for_each_kind!(known_kinds);

/// Whether wechat-core parses `MsgType` `name` into a typed variant.
pub(crate) fn is_known_msg_type(name: &str) -> bool {
    MSG_TYPES.iter().any(|t| t.eq_ignore_ascii_case(name))
}

fn known_event(name: &str) -> Option<(&'static str, bool)> {
    EVENTS
        .iter()
        .copied()
        .find(|(e, _)| e.eq_ignore_ascii_case(name))
}

/// Whether wechat-core parses `Event` `name` into a typed variant.
pub(crate) fn is_known_event(name: &str) -> bool {
    known_event(name).is_some()
}

/// `MsgType`s are lower case.
fn canonical_msg_type(name: &str) -> Cow<'static, str> {
    match MSG_TYPES.iter().find(|t| t.eq_ignore_ascii_case(name)) {
        Some(known) => Cow::Borrowed(known),
        None => Cow::Owned(name.to_ascii_lowercase()),
    }
}

/// WeChat's spelling for a known event, lower case for others.
fn canonical_event(name: &str) -> Cow<'static, str> {
    match known_event(name) {
        Some((known, _)) => Cow::Borrowed(known),
        None => Cow::Owned(name.to_ascii_lowercase()),
    }
}

/// Which messages a handler answers.
///
/// Names match ASCII case-insensitively (`Route::event("click") == Route::event("CLICK")`); a
/// route keeps WeChat's own spelling for the types it knows. When several routes match a
/// message, the most specific wins:
///
/// | message | tried in order |
/// |---|---|
/// | text | [`keyword`](Self::keyword), then [`prefix`](Self::prefix) (the longest first), then [`msg("text")`](Self::msg), then the fallback |
/// | event | [`event_key`](Self::event_key), then [`event`](Self::event), then [`msg("event")`](Self::msg) (any event), then the fallback |
/// | other | [`msg`](Self::msg) of its type, then the fallback |
///
/// Most handlers are mounted by [`Router::handler`](crate::router::Router::handler), which takes
/// the route from the handler's attribute or first argument;
/// [`Router::route`](crate::router::Router::route) takes one explicitly, for the routes a type
/// cannot name (an `EventKey`, a keyword, a prefix).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Route(pub(crate) Kind);

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum Kind {
    /// `MsgType`, lower case.
    Msg(Cow<'static, str>),
    /// Text whose trimmed content equals the (trimmed) word.
    Keyword(String),
    /// Text whose content, leading whitespace trimmed, starts with the prefix.
    Prefix(String),
    /// `Event`, canonical.
    Event(Cow<'static, str>),
    /// `Event` (canonical) and the raw `EventKey`.
    EventKey(Cow<'static, str>, String),
    /// Anything no other route takes.
    Fallback,
}

impl Route {
    /// Messages of `MsgType` `msg_type` (`text`, `image`, ..., or one wechat-core does not know;
    /// `event` takes every event that no event route takes).
    #[must_use]
    pub fn msg(msg_type: &str) -> Self {
        Self(Kind::Msg(canonical_msg_type(msg_type)))
    }

    /// Events of `Event` `event` (`subscribe`, `CLICK`, `scancode_push`, ..., or one wechat-core
    /// does not know).
    #[must_use]
    pub fn event(event: &str) -> Self {
        Self(Kind::Event(canonical_event(event)))
    }

    /// Events of `Event` `event` whose `EventKey` equals `key` exactly (case-sensitive): a menu
    /// button's key, a `SCAN` scene, a `VIEW` URL, ...
    ///
    /// For `subscribe` the key is compared raw first (`qrscene_123` after a QR-code follow), then
    /// without the `qrscene_` prefix, so that `Route::event_key("subscribe", "123")` and
    /// `Route::event_key("SCAN", "123")` together cover followers and new followers scanning the
    /// same code. A route with the raw key wins over one with the bare scene.
    #[must_use]
    pub fn event_key(event: &str, key: impl Into<String>) -> Self {
        Self(Kind::EventKey(canonical_event(event), key.into()))
    }

    /// Text messages whose content, trimmed, equals `word` (trimmed too) exactly. Matching is
    /// case-sensitive.
    #[must_use]
    pub fn keyword(word: impl Into<String>) -> Self {
        let word = word.into();
        let trimmed = word.trim();
        let word = if trimmed.len() == word.len() {
            word
        } else {
            trimmed.to_owned()
        };
        Self(Kind::Keyword(word))
    }

    /// Text messages whose content, with leading whitespace trimmed, starts with `prefix`
    /// (case-sensitive). The longest matching prefix wins.
    #[must_use]
    pub fn prefix(prefix: impl Into<String>) -> Self {
        Self(Kind::Prefix(prefix.into()))
    }

    /// Every message no other route takes. Same as
    /// [`Router::fallback`](crate::router::Router::fallback).
    #[must_use]
    pub fn fallback() -> Self {
        Self(Kind::Fallback)
    }

    /// The `MsgType` of the messages the route matches (`event` for event routes); `None` for
    /// the fallback.
    #[must_use]
    pub fn msg_type(&self) -> Option<&str> {
        match &self.0 {
            Kind::Msg(t) => Some(t),
            Kind::Keyword(_) | Kind::Prefix(_) => Some("text"),
            Kind::Event(_) | Kind::EventKey(..) => Some("event"),
            Kind::Fallback => None,
        }
    }

    /// The `Event` of an event route, in WeChat's spelling for the events wechat-core knows and
    /// in lower case for others.
    #[must_use]
    pub fn event_name(&self) -> Option<&str> {
        match &self.0 {
            Kind::Event(e) | Kind::EventKey(e, _) => Some(e),
            _ => None,
        }
    }

    /// The `EventKey` of an [`event_key`](Self::event_key) route.
    #[must_use]
    pub fn key(&self) -> Option<&str> {
        match &self.0 {
            Kind::EventKey(_, key) => Some(key),
            _ => None,
        }
    }

    /// Whether the route can never match: a key on an event WeChat sends without one.
    pub(crate) fn is_unreachable(&self) -> bool {
        match &self.0 {
            Kind::EventKey(e, _) => known_event(e).is_some_and(|(_, keyed)| !keyed),
            _ => false,
        }
    }
}

impl fmt::Display for Route {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            Kind::Msg(t) => write!(f, "MsgType {t:?}"),
            Kind::Keyword(w) => write!(f, "MsgType \"text\" with keyword {w:?}"),
            Kind::Prefix(p) => write!(f, "MsgType \"text\" with prefix {p:?}"),
            Kind::Event(e) => write!(f, "Event {e:?}"),
            Kind::EventKey(e, k) => write!(f, "Event {e:?} with EventKey {k:?}"),
            Kind::Fallback => f.write_str("the fallback"),
        }
    }
}

/// Why [`Router::build`](crate::router::Router::build) refused the routes. Handlers are named by
/// [`std::any::type_name`], which for an `fn` item is its path.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum RouteError {
    /// Two handlers for the same route.
    Conflict {
        /// The route.
        route: Route,
        /// The handler registered first.
        first: &'static str,
        /// The handler registered second.
        second: &'static str,
    },
    /// A handler whose first argument cannot take the messages of its route (an
    /// `ImageMessage` handler on a text route).
    Mismatch {
        /// The route.
        route: Route,
        /// The handler.
        handler: &'static str,
        /// The type of its first argument.
        takes: &'static str,
    },
    /// A route that can never match: a key on an event WeChat sends without an `EventKey`.
    Unreachable {
        /// The route.
        route: Route,
        /// The handler.
        handler: &'static str,
    },
}

impl fmt::Display for RouteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Conflict {
                route,
                first,
                second,
            } => write!(
                f,
                "two handlers for the route {route}: `{first}` and `{second}`; a route takes one handler"
            ),
            Self::Mismatch {
                route,
                handler,
                takes,
            } => write!(
                f,
                "handler `{handler}` takes `{takes}`, but the route {route} delivers other messages; \
                 give it a first argument of the route's type, or `Message`"
            ),
            Self::Unreachable { route, handler } => write!(
                f,
                "the route {route} of handler `{handler}` can never match: WeChat sends that event without an EventKey"
            ),
        }
    }
}

impl std::error::Error for RouteError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_match_case_insensitively_and_keep_wechat_spelling() {
        assert_eq!(Route::event("click"), Route::event("CLICK"));
        assert_eq!(Route::event("click").event_name(), Some("CLICK"));
        assert_eq!(Route::event("SUBSCRIBE").event_name(), Some("subscribe"));
        assert_eq!(Route::event("Brand_New").event_name(), Some("brand_new"));
        assert_eq!(Route::msg("TEXT"), Route::msg("text"));
        assert_eq!(Route::msg("Brand_New").msg_type(), Some("brand_new"));
        assert_eq!(
            Route::event_key("Click", "K"),
            Route::event_key("CLICK", "K")
        );
        assert_ne!(
            Route::event_key("CLICK", "k"),
            Route::event_key("CLICK", "K")
        );
    }

    #[test]
    fn keyword_is_trimmed() {
        assert_eq!(Route::keyword("  help\n"), Route::keyword("help"));
        assert_ne!(Route::prefix(" q"), Route::prefix("q"));
    }

    #[test]
    fn accessors() {
        assert_eq!(Route::keyword("help").msg_type(), Some("text"));
        assert_eq!(Route::event_key("CLICK", "K").msg_type(), Some("event"));
        assert_eq!(Route::event_key("CLICK", "K").key(), Some("K"));
        assert_eq!(Route::fallback().msg_type(), None);
        assert_eq!(Route::msg("text").event_name(), None);
    }

    #[test]
    fn display_names_the_fields() {
        assert_eq!(Route::msg("text").to_string(), "MsgType \"text\"");
        assert_eq!(
            Route::keyword("help").to_string(),
            "MsgType \"text\" with keyword \"help\""
        );
        assert_eq!(
            Route::prefix("q:").to_string(),
            "MsgType \"text\" with prefix \"q:\""
        );
        assert_eq!(Route::event("click").to_string(), "Event \"CLICK\"");
        assert_eq!(
            Route::event_key("CLICK", "V1001").to_string(),
            "Event \"CLICK\" with EventKey \"V1001\""
        );
        assert_eq!(Route::fallback().to_string(), "the fallback");
    }

    #[test]
    fn keys_on_keyless_events_are_unreachable() {
        assert!(Route::event_key("unsubscribe", "x").is_unreachable());
        assert!(Route::event_key("LOCATION", "x").is_unreachable());
        assert!(!Route::event_key("CLICK", "x").is_unreachable());
        assert!(!Route::event_key("brand_new", "x").is_unreachable());
    }
}
