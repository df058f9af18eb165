//! The dispatch table: from a [`Message`] to the most specific route's value.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use wechat_core::{Event, Message};

use crate::route::{Kind, Route};

/// A map keyed by route names. FNV-1a instead of SipHash: the keys are the application's own
/// routes, fixed at build time, so a sender cannot grow collision chains; it only looks up, and
/// a lookup costs a few nanoseconds instead of SipHash's tens.
type Map<K, V> = HashMap<K, V, BuildHasherDefault<Fnv1a>>;

/// The 64-bit FNV-1a hash.
struct Fnv1a(u64);

impl Default for Fnv1a {
    fn default() -> Self {
        Self(0xcbf2_9ce4_8422_2325)
    }
}

impl Hasher for Fnv1a {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &byte in bytes {
            self.0 = (self.0 ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3);
        }
    }
}

/// Routes by kind. Keys of `msgs` and `events` are lower case, so that a message's name is
/// looked up with one ASCII lower-casing (on the stack) whatever its spelling.
pub(crate) struct Table<E> {
    msgs: Map<Box<str>, Slot<E>>,
    events: Map<Box<str>, Slot<E>>,
    fallback: Option<E>,
}

/// The routes of one `MsgType` or one `Event`.
struct Slot<E> {
    any: Option<E>,
    keys: Map<String, E>,
    keywords: Map<String, E>,
    /// Longest first once [`Table::finish`] ran.
    prefixes: Vec<(String, E)>,
}

impl<E> Default for Slot<E> {
    fn default() -> Self {
        Self {
            any: None,
            keys: Map::default(),
            keywords: Map::default(),
            prefixes: Vec::new(),
        }
    }
}

impl<E> Table<E> {
    pub(crate) fn new() -> Self {
        Self {
            msgs: Map::default(),
            events: Map::default(),
            fallback: None,
        }
    }

    /// Adds a route; the caller has ruled out duplicates (a duplicate replaces).
    pub(crate) fn insert(&mut self, route: &Route, value: E) {
        match &route.0 {
            Kind::Msg(t) => slot(&mut self.msgs, t).any = Some(value),
            Kind::Keyword(w) => {
                slot(&mut self.msgs, "text")
                    .keywords
                    .insert(w.clone(), value);
            }
            Kind::Prefix(p) => {
                let prefixes = &mut slot(&mut self.msgs, "text").prefixes;
                prefixes.retain(|(q, _)| q != p);
                prefixes.push((p.clone(), value));
            }
            Kind::Event(e) => slot(&mut self.events, e).any = Some(value),
            Kind::EventKey(e, k) => {
                slot(&mut self.events, e).keys.insert(k.clone(), value);
            }
            Kind::Fallback => self.fallback = Some(value),
        }
    }

    /// Orders the prefixes longest first. Call once all routes are in.
    pub(crate) fn finish(&mut self) {
        for slot in self.msgs.values_mut() {
            slot.prefixes
                .sort_by_key(|(prefix, _)| std::cmp::Reverse(prefix.len()));
        }
    }

    /// The value of the most specific route that matches `msg` (see [`Route`]).
    pub(crate) fn find(&self, msg: &Message) -> Option<&E> {
        let found = match msg {
            Message::Text(text) => get(&self.msgs, "text").and_then(|slot| {
                // Most bots have no keywords: skip hashing the content then.
                let content = text.content.trim_start();
                let keyword = || {
                    if slot.keywords.is_empty() {
                        None
                    } else {
                        slot.keywords.get(content.trim_end())
                    }
                };
                keyword()
                    .or_else(|| {
                        slot.prefixes
                            .iter()
                            .find(|(p, _)| content.starts_with(p.as_str()))
                            .map(|(_, value)| value)
                    })
                    .or(slot.any.as_ref())
            }),
            Message::Event(event) => get(&self.events, event.event())
                .and_then(|slot| {
                    event
                        .event_key()
                        .filter(|_| !slot.keys.is_empty())
                        .and_then(|key| {
                            slot.keys.get(key).or_else(|| match event {
                                Event::Subscribe(_) => slot.keys.get(key.strip_prefix("qrscene_")?),
                                _ => None,
                            })
                        })
                        .or(slot.any.as_ref())
                })
                .or_else(|| get(&self.msgs, "event")?.any.as_ref()),
            other => get(&self.msgs, other.msg_type()).and_then(|slot| slot.any.as_ref()),
        };
        found.or(self.fallback.as_ref())
    }

    /// How many routes the table holds.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        let slots = self.msgs.values().chain(self.events.values());
        slots
            .map(|s| {
                usize::from(s.any.is_some()) + s.keys.len() + s.keywords.len() + s.prefixes.len()
            })
            .sum::<usize>()
            + usize::from(self.fallback.is_some())
    }
}

/// The slot of `name` (any case), created empty when missing.
fn slot<'a, E>(map: &'a mut Map<Box<str>, Slot<E>>, name: &str) -> &'a mut Slot<E> {
    map.entry(name.to_ascii_lowercase().into_boxed_str())
        .or_default()
}

/// Looks `name` up ASCII case-insensitively in a map with lower-case keys, lower-casing on the
/// stack for the short names WeChat uses.
fn get<'a, V>(map: &'a Map<Box<str>, V>, name: &str) -> Option<&'a V> {
    let mut buf = [0_u8; 64];
    match buf.get_mut(..name.len()) {
        Some(lower) => {
            lower.copy_from_slice(name.as_bytes());
            lower.make_ascii_lowercase();
            // ASCII lower-casing keeps UTF-8 valid.
            map.get(std::str::from_utf8(lower).ok()?)
        }
        None => map.get(name.to_ascii_lowercase().as_str()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn xml(body: &str) -> Message {
        Message::from_xml(&format!(
            "<xml><ToUserName>gh</ToUserName><FromUserName>o</FromUserName>\
             <CreateTime>1</CreateTime>{body}</xml>"
        ))
        .unwrap()
    }

    fn text(content: &str) -> Message {
        xml(&format!(
            "<MsgType>text</MsgType><Content><![CDATA[{content}]]></Content><MsgId>1</MsgId>"
        ))
    }

    fn event(name: &str, key: Option<&str>) -> Message {
        let key = key.map_or_else(String::new, |k| format!("<EventKey>{k}</EventKey>"));
        xml(&format!(
            "<MsgType>event</MsgType><Event>{name}</Event>{key}"
        ))
    }

    fn table(routes: &[(Route, &'static str)]) -> Table<&'static str> {
        let mut table = Table::new();
        for (route, name) in routes {
            table.insert(route, *name);
        }
        table.finish();
        table
    }

    #[test]
    fn text_keyword_beats_prefix_beats_msg_type_beats_fallback() {
        let t = table(&[
            (Route::fallback(), "fallback"),
            (Route::msg("text"), "text"),
            (Route::prefix("q"), "q"),
            (Route::prefix("query"), "query"),
            (Route::keyword("query"), "keyword"),
        ]);
        assert_eq!(t.find(&text("  query \n")), Some(&"keyword"));
        assert_eq!(t.find(&text("query weather")), Some(&"query"));
        assert_eq!(t.find(&text("  quit")), Some(&"q"));
        assert_eq!(t.find(&text("hello")), Some(&"text"));
        assert_eq!(
            t.find(&xml("<MsgType>image</MsgType><MediaId>m</MediaId>")),
            Some(&"fallback")
        );
    }

    #[test]
    fn keyword_is_case_sensitive() {
        let t = table(&[(Route::keyword("help"), "help")]);
        assert_eq!(t.find(&text("help")), Some(&"help"));
        assert_eq!(t.find(&text("HELP")), None);
    }

    #[test]
    fn event_key_beats_event_beats_any_event_beats_fallback() {
        let t = table(&[
            (Route::fallback(), "fallback"),
            (Route::msg("event"), "any event"),
            (Route::event("CLICK"), "click"),
            (Route::event_key("CLICK", "V1001"), "v1001"),
        ]);
        assert_eq!(t.find(&event("CLICK", Some("V1001"))), Some(&"v1001"));
        assert_eq!(t.find(&event("click", Some("V1002"))), Some(&"click"));
        assert_eq!(
            t.find(&event("VIEW", Some("https://x"))),
            Some(&"any event")
        );
        assert_eq!(t.find(&text("hi")), Some(&"fallback"));
    }

    #[test]
    fn subscribe_key_matches_raw_then_scene() {
        let t = table(&[
            (Route::event("subscribe"), "subscribe"),
            (Route::event_key("subscribe", "123"), "scene"),
            (Route::event_key("subscribe", "qrscene_456"), "raw 456"),
            (Route::event_key("subscribe", "456"), "scene 456"),
        ]);
        assert_eq!(
            t.find(&event("subscribe", Some("qrscene_123"))),
            Some(&"scene")
        );
        assert_eq!(
            t.find(&event("subscribe", Some("qrscene_456"))),
            Some(&"raw 456")
        );
        assert_eq!(
            t.find(&event("subscribe", Some("qrscene_789"))),
            Some(&"subscribe")
        );
        assert_eq!(t.find(&event("subscribe", None)), Some(&"subscribe"));
    }

    #[test]
    fn scene_without_prefix_is_only_for_subscribe() {
        let t = table(&[(Route::event_key("SCAN", "123"), "scan")]);
        assert_eq!(t.find(&event("SCAN", Some("123"))), Some(&"scan"));
        assert_eq!(t.find(&event("SCAN", Some("qrscene_123"))), None);
    }

    #[test]
    fn unknown_types_and_events_route_case_insensitively() {
        let t = table(&[
            (Route::msg("Brand_New"), "msg"),
            (Route::event("Brand_Event"), "event"),
            (Route::event_key("brand_event", "K"), "key"),
        ]);
        assert_eq!(t.find(&xml("<MsgType>BRAND_NEW</MsgType>")), Some(&"msg"));
        assert_eq!(t.find(&event("BRAND_EVENT", None)), Some(&"event"));
        assert_eq!(t.find(&event("brand_event", Some("K"))), Some(&"key"));
    }

    #[test]
    fn nothing_matches_without_fallback() {
        let t = table(&[(Route::msg("text"), "text")]);
        assert_eq!(t.find(&event("CLICK", Some("K"))), None);
        assert_eq!(t.len(), 1);
    }

    #[test]
    fn long_names_are_looked_up_too() {
        let long = "x".repeat(100);
        let t = table(&[(Route::event(&long.to_uppercase()), "long")]);
        assert_eq!(t.find(&event(&long, None)), Some(&"long"));
    }
}
