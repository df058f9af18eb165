//! The kinds the attribute knows: every message and event type of `wechat-core`, by the name
//! WeChat gives it (`MsgType` / `Event`), with the type a handler of that kind takes and the
//! trait of `::wechat_tower::kind` that checks it.

/// One `msg = ".."` or `event = ".."` value.
#[derive(Debug)]
pub(crate) struct Kind {
    /// WeChat's spelling: `text`, `subscribe`, `CLICK`, ...
    pub(crate) name: &'static str,
    /// The type of `wechat_tower::message` a handler of the kind takes (or `Event` for
    /// `msg = "event"`).
    pub(crate) ty: &'static str,
    /// The trait of `::wechat_tower::kind` implemented by the types the kind takes.
    pub(crate) check: &'static str,
    /// Whether WeChat sends the event with an `EventKey` (so that `key = ".."` can match).
    pub(crate) keyed: bool,
}

const fn kind(name: &'static str, ty: &'static str, check: &'static str, keyed: bool) -> Kind {
    Kind {
        name,
        ty,
        check,
        keyed,
    }
}

/// Every `MsgType` wechat-core parses into a typed message; `event` takes every event.
pub(crate) const MSGS: &[Kind] = &[
    kind("text", "TextMessage", "MsgText", false),
    kind("image", "ImageMessage", "MsgImage", false),
    kind("voice", "VoiceMessage", "MsgVoice", false),
    kind("video", "VideoMessage", "MsgVideo", false),
    kind("shortvideo", "ShortVideoMessage", "MsgShortvideo", false),
    kind("location", "LocationMessage", "MsgLocation", false),
    kind("link", "LinkMessage", "MsgLink", false),
    kind("file", "FileMessage", "MsgFile", false),
    kind(
        "miniprogrampage",
        "MiniProgramPageMessage",
        "MsgMiniprogrampage",
        false,
    ),
    kind("event", "Event", "MsgEvent", false),
];

/// Every `Event` wechat-core parses into a typed event, in WeChat's spelling.
pub(crate) const EVENTS: &[Kind] = &[
    kind("subscribe", "SubscribeEvent", "EventSubscribe", true),
    kind("unsubscribe", "UnsubscribeEvent", "EventUnsubscribe", false),
    kind("SCAN", "ScanEvent", "EventScan", true),
    kind("LOCATION", "LocationEvent", "EventLocation", false),
    kind("CLICK", "ClickEvent", "EventClick", true),
    kind("VIEW", "ViewEvent", "EventView", true),
    kind(
        "scancode_push",
        "ScancodePushEvent",
        "EventScancodePush",
        true,
    ),
    kind(
        "scancode_waitmsg",
        "ScancodeWaitmsgEvent",
        "EventScancodeWaitmsg",
        true,
    ),
    kind("pic_sysphoto", "PicSysphotoEvent", "EventPicSysphoto", true),
    kind(
        "pic_photo_or_album",
        "PicPhotoOrAlbumEvent",
        "EventPicPhotoOrAlbum",
        true,
    ),
    kind("pic_weixin", "PicWeixinEvent", "EventPicWeixin", true),
    kind(
        "location_select",
        "LocationSelectEvent",
        "EventLocationSelect",
        true,
    ),
    kind(
        "view_miniprogram",
        "ViewMiniprogramEvent",
        "EventViewMiniprogram",
        true,
    ),
    kind(
        "TEMPLATESENDJOBFINISH",
        "TemplateSendJobFinishEvent",
        "EventTemplateSendJobFinish",
        false,
    ),
    kind(
        "MASSSENDJOBFINISH",
        "MassSendJobFinishEvent",
        "EventMassSendJobFinish",
        false,
    ),
    kind(
        "subscribe_msg_popup_event",
        "SubscribeMsgPopupEvent",
        "EventSubscribeMsgPopup",
        false,
    ),
    kind(
        "subscribe_msg_change_event",
        "SubscribeMsgChangeEvent",
        "EventSubscribeMsgChange",
        false,
    ),
    kind(
        "subscribe_msg_sent_event",
        "SubscribeMsgSentEvent",
        "EventSubscribeMsgSent",
        false,
    ),
    kind(
        "user_enter_tempsession",
        "UserEnterTempsessionEvent",
        "EventUserEnterTempsession",
        false,
    ),
    kind(
        "PUBLISHJOBFINISH",
        "PublishJobFinishEvent",
        "EventPublishJobFinish",
        false,
    ),
    kind(
        "wxa_media_check",
        "WxaMediaCheckEvent",
        "EventWxaMediaCheck",
        false,
    ),
];

/// The WeChat Pay notifications of `pay = ".."`: the type of `wechat_tower::pay` a handler of
/// the kind takes, and the trait of `::wechat_tower::kind` that checks it.
pub(crate) const PAYS: &[Kind] = &[
    kind("notify", "Paid", "PayNotify", false),
    kind("refund", "Refunded", "PayRefund", false),
    kind("transfer", "v3::TransferBill", "PayTransfer", false),
];

/// The kind spelled exactly `name` in `table`.
pub(crate) fn find(table: &'static [Kind], name: &str) -> Option<&'static Kind> {
    table.iter().find(|k| k.name == name)
}

/// The kind of `table` spelled `name` up to ASCII case.
pub(crate) fn find_any_case(table: &'static [Kind], name: &str) -> Option<&'static Kind> {
    table.iter().find(|k| k.name.eq_ignore_ascii_case(name))
}

/// The names of `table`, comma-separated, for error messages.
pub(crate) fn list(names: impl IntoIterator<Item = &'static str>) -> String {
    names.into_iter().collect::<Vec<_>>().join(", ")
}

/// The candidate closest to `name` (ignoring ASCII case), when it is close enough to be a typo:
/// at most one edit for short names, a third of the length for longer ones.
pub(crate) fn closest<'a>(
    name: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    let name = name.to_ascii_lowercase();
    let budget = (name.chars().count() / 3).max(1);
    candidates
        .into_iter()
        .map(|c| (distance(&name, &c.to_ascii_lowercase()), c))
        .filter(|&(d, _)| d <= budget)
        .min_by_key(|&(d, _)| d)
        .map(|(_, c)| c)
}

/// Optimal-string-alignment distance: insertions, deletions, substitutions and transpositions
/// of neighbours each cost one, so `txet` is one edit from `text`.
fn distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    // rows[i][j]: distance between a[..i] and b[..j].
    let mut rows = vec![vec![0_usize; b.len() + 1]; a.len() + 1];
    for (i, row) in rows.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in rows[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut d = (rows[i - 1][j] + 1)
                .min(rows[i][j - 1] + 1)
                .min(rows[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                d = d.min(rows[i - 2][j - 2] + 1);
            }
            rows[i][j] = d;
        }
    }
    rows[a.len()][b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typos_find_the_closest_name() {
        let msgs = || MSGS.iter().map(|k| k.name);
        let events = || EVENTS.iter().map(|k| k.name);
        assert_eq!(closest("txet", msgs()), Some("text"));
        assert_eq!(closest("imag", msgs()), Some("image"));
        assert_eq!(closest("short_video", msgs()), Some("shortvideo"));
        assert_eq!(closest("click", events()), Some("CLICK"));
        assert_eq!(closest("CLIK", events()), Some("CLICK"));
        assert_eq!(closest("subscibe", events()), Some("subscribe"));
        assert_eq!(closest("scancode_pusj", events()), Some("scancode_push"));
        assert_eq!(
            closest("notfy", PAYS.iter().map(|k| k.name)),
            Some("notify")
        );
        assert_eq!(closest("banana", msgs()), None);
        assert_eq!(closest("x", msgs()), None);
    }

    #[test]
    fn distance_counts_edits() {
        assert_eq!(distance("text", "text"), 0);
        assert_eq!(distance("txet", "text"), 1);
        assert_eq!(distance("tex", "text"), 1);
        assert_eq!(distance("", "abc"), 3);
        assert_eq!(distance("kitten", "sitting"), 3);
    }

    #[test]
    fn names_are_unique_and_found_exactly() {
        for table in [MSGS, EVENTS] {
            for k in table {
                assert!(std::ptr::eq(find(table, k.name).unwrap(), k));
            }
        }
        assert!(find(EVENTS, "click").is_none());
        assert_eq!(find_any_case(EVENTS, "click").unwrap().name, "CLICK");
    }

    #[test]
    fn keyed_events_are_the_ones_with_an_event_key() {
        let keyed: Vec<_> = EVENTS.iter().filter(|k| k.keyed).map(|k| k.name).collect();
        assert_eq!(
            keyed,
            [
                "subscribe",
                "SCAN",
                "CLICK",
                "VIEW",
                "scancode_push",
                "scancode_waitmsg",
                "pic_sysphoto",
                "pic_photo_or_album",
                "pic_weixin",
                "location_select",
                "view_miniprogram"
            ]
        );
    }

    /// `(name, type, check, keyed)` for each message and event of wechat-core's table, which
    /// this crate cannot read at compile time.
    type Line = (&'static str, &'static str, &'static str, bool);

    macro_rules! core_table {
        (
            messages { $(($msg:literal, $_mv:ident, $msg_ty:ident, $msg_check:ident),)* }
            events { $(($event:literal, $_ev:ident, $ty:ident, $check:ident, $keyed:ident),)* }
        ) => {
            (
                vec![$(($msg, stringify!($msg_ty), stringify!($msg_check), false),)*],
                vec![$(($event, stringify!($ty), stringify!($check), core_keyed!($keyed)),)*],
            )
        };
    }

    macro_rules! core_keyed {
        (keyed) => {
            true
        };
        (keyless) => {
            false
        };
    }

    fn core() -> (Vec<Line>, Vec<Line>) {
        wechat_tower::core::__for_each_kind!(core_table)
    }

    fn ours(table: &[Kind]) -> Vec<Line> {
        table
            .iter()
            .map(|k| (k.name, k.ty, k.check, k.keyed))
            .collect()
    }

    #[test]
    fn tables_match_wechat_core() {
        let (messages, events) = core();
        let mut expected_msgs = messages;
        expected_msgs.push(("event", "Event", "MsgEvent", false));
        assert_eq!(
            ours(MSGS),
            expected_msgs,
            "MSGS differs from wechat_core::__for_each_kind!"
        );
        assert_eq!(
            ours(EVENTS),
            events,
            "EVENTS differs from wechat_core::__for_each_kind!"
        );
    }

    #[test]
    fn docs_list_every_kind() {
        let docs = include_str!("lib.rs");
        let (messages, events) = core();
        let row = |start: &str| {
            docs.lines()
                .find(|l| l.starts_with(start))
                .unwrap_or_else(|| panic!("no docs row starting {start}"))
                .to_owned()
        };
        let msg_rows: String = docs
            .lines()
            .filter(|l| l.starts_with("/// | `msg = "))
            .collect();
        for (name, ty, ..) in &messages {
            assert!(
                msg_rows.contains(&format!("\"{name}\"`")) && msg_rows.contains(&format!("`{ty}`")),
                "msg {name} ({ty}) missing from the docs: {msg_rows}"
            );
        }
        let event_row = row("/// | `event = ");
        let listed: Vec<&str> = event_row
            .split('|')
            .nth(1)
            .unwrap_or_default()
            .split(',')
            .map(|n| {
                n.trim()
                    .trim_start_matches("`event = ")
                    .trim_matches('`')
                    .trim_matches('"')
            })
            .collect();
        let names: Vec<&str> = events.iter().map(|e| e.0).collect();
        assert_eq!(listed, names, "the docs' event row differs from the table");
        let key_row = row("/// | `key = ");
        for (name, _, _, keyed) in &events {
            let short = if name.starts_with("scancode_") {
                "scancode_*"
            } else if name.starts_with("pic_") {
                "pic_*"
            } else {
                name
            };
            assert_eq!(
                key_row.contains(&format!("`{short}`")),
                *keyed,
                "the docs' key row is wrong about {name}: {key_row}"
            );
        }
    }

    /// `PAYS` against the kind traits of `wechat_tower::kind` and the docs' table: a pay kind
    /// added on one side only is caught here, not by a user's confusing compile error.
    #[test]
    fn pays_match_the_kind_traits_and_the_docs() {
        let traits = include_str!("../../wechat-tower/src/kind.rs");
        let docs = include_str!("lib.rs");
        let declared: Vec<&str> = traits
            .split("cannot take the notifications of `pay = \\\"")
            .skip(1)
            .filter_map(|rest| rest.split('\\').next())
            .collect();
        let names: Vec<&str> = PAYS.iter().map(|k| k.name).collect();
        assert_eq!(
            declared, names,
            "wechat_tower::kind's pay traits differ from PAYS"
        );
        for kind in PAYS {
            assert!(
                traits.contains(&format!("impl {} for ", kind.check)),
                "no type implements {}",
                kind.check
            );
            assert!(
                docs.contains(&format!("/// | `pay = \"{}\"` |", kind.name)),
                "the docs' table has no row for pay = {:?}",
                kind.name
            );
        }
    }
}
