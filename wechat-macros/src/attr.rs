//! The attribute's arguments: `msg = ".."`, `event = ".."`, `key = ".."`, `keyword = ".."`,
//! `prefix = ".."`, `pay = ".."`, `fallback`, parsed with `syn::meta::parser` and
//! checked against each other and against the table of [`kinds`](crate::kinds).

use proc_macro2::{Span, TokenStream};
use quote::ToTokens;
use syn::meta::ParseNestedMeta;
use syn::parse::Parser;
use syn::{Ident, LitStr, Type};

use crate::kinds::{self, EVENTS, Kind, MSGS, PAYS};

/// Every argument, for the "unknown argument" message.
const ARGS: &[&str] = &[
    "msg", "event", "key", "keyword", "prefix", "pay", "fallback",
];

/// What the attribute says, checked.
#[derive(Debug)]
pub(crate) struct Spec {
    /// Where the handler is mounted.
    pub(crate) route: Route,
    /// The trait of `::wechat_tower::kind` the first argument must implement.
    pub(crate) check: &'static str,
    /// The type the first argument is expected to be, for messages: `TextMessage`, ...
    pub(crate) expected: &'static str,
    /// The arguments as written (`msg = "text", keyword = "help"`), for the generated docs.
    pub(crate) summary: String,
}

/// The route of a handler.
#[derive(Debug)]
pub(crate) enum Route {
    /// `msg = ".."` alone: `Route::msg`.
    Msg(&'static str),
    /// `msg = "text", keyword = ".."`: `Route::keyword`.
    Keyword(LitStr),
    /// `msg = "text", prefix = ".."`: `Route::prefix`.
    Prefix(LitStr),
    /// `event = ".."` alone: `Route::event`.
    Event(&'static str),
    /// `event = "..", key = ".."`: `Route::event_key`.
    EventKey(&'static str, LitStr),
    /// `fallback`: `Route::fallback`.
    Fallback,
    /// `pay = "notify"` / `"refund"` / `"transfer"`: a slot of `PayNotify` (by the type of the first
    /// argument, which the kind's check pins), not a router route.
    Pay,
}

/// An argument as written: its name (for spans) and value.
struct Arg<T> {
    name: Ident,
    value: T,
}

/// The arguments as parsed, before they are checked against each other.
#[derive(Default)]
struct Raw {
    msg: Option<Arg<LitStr>>,
    event: Option<Arg<LitStr>>,
    pay: Option<Arg<LitStr>>,
    fallback: Option<Ident>,
    key: Option<Arg<LitStr>>,
    keyword: Option<Arg<LitStr>>,
    prefix: Option<Arg<LitStr>>,
    /// The names of the kind arguments (`msg`, `event`, `pay`, `fallback`) in the order written.
    order: Vec<Ident>,
}

/// Collects errors so that one expansion reports every mistake at once.
#[derive(Default)]
pub(crate) struct Errors(Option<syn::Error>);

impl Errors {
    pub(crate) fn push(&mut self, error: syn::Error) {
        match &mut self.0 {
            Some(all) => all.combine(error),
            None => self.0 = Some(error),
        }
    }

    pub(crate) fn finish<T>(self, value: T) -> syn::Result<T> {
        self.0.map_or(Ok(value), Err)
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_none()
    }
}

/// Parses and checks the attribute's arguments.
pub(crate) fn parse(args: TokenStream) -> syn::Result<Spec> {
    let mut raw = Raw::default();
    let mut errors = Errors::default();
    syn::meta::parser(|meta| raw.parse_one(&meta, &mut errors)).parse2(args)?;
    let spec = raw.check(&mut errors);
    errors.finish(())?;
    // `check` gives a spec whenever it reported nothing.
    spec.ok_or_else(|| syn::Error::new(Span::call_site(), "invalid `#[wechat_handler]`"))
}

/// Sets `slot` unless it is set already (a duplicate is reported on its name).
fn set<T>(slot: &mut Option<Arg<T>>, name: Ident, value: T, errors: &mut Errors) {
    if slot.is_some() {
        errors.push(syn::Error::new(
            name.span(),
            format!("duplicate argument `{name}`: give it once"),
        ));
    } else {
        *slot = Some(Arg { name, value });
    }
}

impl Raw {
    fn parse_one(&mut self, meta: &ParseNestedMeta<'_>, errors: &mut Errors) -> syn::Result<()> {
        let Some(name) = meta.path.get_ident().cloned() else {
            let path = meta.path.to_token_stream().to_string().replace(' ', "");
            return Err(meta.error(unknown_argument(&path)));
        };
        let string =
            |meta: &ParseNestedMeta<'_>| -> syn::Result<LitStr> { meta.value()?.parse::<LitStr>() };
        if matches!(
            name.to_string().as_str(),
            "msg" | "event" | "pay" | "fallback"
        ) {
            self.order.push(name.clone());
        }
        match name.to_string().as_str() {
            "msg" => set(&mut self.msg, name, string(meta)?, errors),
            "event" => set(&mut self.event, name, string(meta)?, errors),
            "pay" => set(&mut self.pay, name, string(meta)?, errors),
            "key" => set(&mut self.key, name, string(meta)?, errors),
            "keyword" => set(&mut self.keyword, name, string(meta)?, errors),
            "prefix" => set(&mut self.prefix, name, string(meta)?, errors),
            "state" => {
                // Earlier releases checked the extractors against `state = T` where the fn is
                // written; they are checked where the handler is mounted now, for its router.
                meta.value()?.parse::<Type>()?;
                errors.push(syn::Error::new(
                    name.span(),
                    "`state = ..` is no longer needed: a handler's extractors are checked where \
                     it is mounted, against the router's state; remove it",
                ));
            }
            "fallback" => {
                if meta.input.peek(syn::Token![=]) || meta.input.peek(syn::token::Paren) {
                    return Err(meta.error("`fallback` takes no value: write `fallback` alone"));
                }
                if self.fallback.is_some() {
                    errors.push(syn::Error::new(
                        name.span(),
                        "duplicate argument `fallback`: give it once",
                    ));
                } else {
                    self.fallback = Some(name);
                }
            }
            other => {
                errors.push(syn::Error::new(name.span(), unknown_argument(other)));
                // Skip the value, so that the arguments after it are still read.
                if meta.input.peek(syn::Token![=]) {
                    meta.value()?.parse::<syn::Expr>()?;
                } else if meta.input.peek(syn::token::Paren) {
                    meta.parse_nested_meta(|nested| {
                        if nested.input.peek(syn::Token![=]) {
                            nested.value()?.parse::<syn::Expr>()?;
                        }
                        Ok(())
                    })?;
                }
            }
        }
        Ok(())
    }

    /// Checks the arguments against each other; `None` when something was reported.
    fn check(self, errors: &mut Errors) -> Option<Spec> {
        let Self {
            msg,
            event,
            pay,
            fallback,
            key,
            keyword,
            prefix,
            order,
        } = self;

        // Exactly one kind.
        let mut written = order.iter();
        let Some(first) = written.next() else {
            errors.push(syn::Error::new(
                Span::call_site(),
                "`#[wechat_handler]` needs the kind of message it handles: \
                 `msg = \"text\"`, `event = \"subscribe\"`, `pay = \"notify\"` or `fallback`",
            ));
            return None;
        };
        let mut several = false;
        for extra in written.filter(|k| *k != first) {
            several = true;
            errors.push(syn::Error::new(
                extra.span(),
                format!(
                    "`{extra}` cannot go with `{first}`: a handler has one kind (`msg`, `event`, `pay` or `fallback`); \
                     write a handler for each"
                ),
            ));
        }
        if several {
            return None;
        }

        let msg_kind = msg.as_ref().and_then(|a| check_msg(&a.value, errors));
        let event_kind = event.as_ref().and_then(|a| check_event(&a.value, errors));
        let pay_kind = pay.as_ref().and_then(|a| check_pay(&a.value, errors));

        // `key` goes with an event that carries an EventKey.
        if let Some(key) = &key {
            if let Some(msg) = &msg {
                errors.push(syn::Error::new(
                    key.name.span(),
                    format!(
                        "`key` matches an event's `EventKey`, and messages (`msg = {:?}`) carry none; \
                         write `event = \"CLICK\", key = ..` (or another event with a key)",
                        msg.value.value()
                    ),
                ));
            } else if let Some(kind) = event_kind {
                if !kind.keyed {
                    errors.push(syn::Error::new(
                        key.name.span(),
                        format!(
                            "WeChat sends `{}` events without an `EventKey`, so `key` would never match; \
                             events with a key: {}",
                            kind.name,
                            kinds::list(EVENTS.iter().filter(|k| k.keyed).map(|k| k.name))
                        ),
                    ));
                }
            } else if event.is_none() {
                errors.push(syn::Error::new(
                    key.name.span(),
                    "`key` goes with `event = \"..\"`: it matches an event's `EventKey`",
                ));
            }
            if key.value.value().is_empty() {
                errors.push(syn::Error::new(
                    key.value.span(),
                    "an empty `key` never matches: give the menu button's key or the QR scene",
                ));
            }
        }

        // `keyword` and `prefix` go with text.
        for (arg, what) in [(&keyword, "keyword"), (&prefix, "prefix")] {
            let Some(arg) = arg else { continue };
            let text = msg.as_ref().is_some_and(|m| m.value.value() == "text");
            // A misspelt `msg` is reported on its own.
            let misspelt = msg.is_some() && msg_kind.is_none();
            if !text && !misspelt {
                let found = match (&msg, &event) {
                    (Some(m), _) => format!(", not with `msg = {:?}`", m.value.value()),
                    (None, Some(e)) => format!(", not with `event = {:?}`", e.value.value()),
                    (None, None) => String::new(),
                };
                errors.push(syn::Error::new(
                    arg.name.span(),
                    format!(
                        "`{what}` matches the content of text messages, so it goes with `msg = \"text\"`{found}"
                    ),
                ));
            }
        }
        if let (Some(_), Some(prefix)) = (&keyword, &prefix) {
            errors.push(syn::Error::new(
                prefix.name.span(),
                "`keyword` and `prefix` cannot go together: a handler has one route; write a handler for each",
            ));
        }
        if let Some(keyword) = &keyword
            && keyword.value.value().trim().is_empty()
        {
            errors.push(syn::Error::new(
                keyword.value.span(),
                "an empty `keyword` never matches: WeChat sends no empty text",
            ));
        }
        if let Some(prefix) = &prefix
            && prefix.value.value().is_empty()
        {
            errors.push(syn::Error::new(
                prefix.value.span(),
                "an empty `prefix` matches every text message: drop it and keep `msg = \"text\"`",
            ));
        }

        if !errors.is_empty() {
            return None;
        }

        let summary = summary(
            &msg,
            &event,
            &pay,
            &key,
            &keyword,
            &prefix,
            fallback.is_some(),
        );
        let spec = |route, kind: &'static Kind| Spec {
            route,
            check: kind.check,
            expected: kind.ty,
            summary: summary.clone(),
        };
        if let Some(kind) = msg_kind {
            let route = match (keyword, prefix) {
                (Some(k), _) => Route::Keyword(k.value),
                (None, Some(p)) => Route::Prefix(p.value),
                (None, None) => Route::Msg(kind.name),
            };
            return Some(spec(route, kind));
        }
        if let Some(kind) = event_kind {
            let route = match key {
                Some(key) => Route::EventKey(kind.name, key.value),
                None => Route::Event(kind.name),
            };
            return Some(spec(route, kind));
        }
        if let Some(kind) = pay_kind {
            return Some(spec(Route::Pay, kind));
        }
        if fallback.is_some() {
            return Some(Spec {
                route: Route::Fallback,
                check: "Fallback",
                expected: "Message",
                summary,
            });
        }
        None
    }
}

/// `msg = ".."`: one of [`MSGS`].
fn check_msg(lit: &LitStr, errors: &mut Errors) -> Option<&'static Kind> {
    let name = lit.value();
    if let Some(kind) = kinds::find(MSGS, &name) {
        return Some(kind);
    }
    let message = if let Some(event) = kinds::find_any_case(EVENTS, &name) {
        format!(
            "`{name}` is an event, not a message type: write `event = \"{}\"`",
            event.name
        )
    } else {
        unknown("message type", &name, MSGS.iter().map(|k| k.name))
    };
    errors.push(syn::Error::new(lit.span(), message));
    None
}

/// `event = ".."`: one of [`EVENTS`], spelled as WeChat does.
fn check_event(lit: &LitStr, errors: &mut Errors) -> Option<&'static Kind> {
    let name = lit.value();
    if let Some(kind) = kinds::find(EVENTS, &name) {
        return Some(kind);
    }
    let message = match (
        kinds::find_any_case(EVENTS, &name),
        kinds::find_any_case(MSGS, &name),
    ) {
        (Some(event), _) => format!(
            "unknown event `{name}`: WeChat spells it `{}`; write `event = \"{}\"`",
            event.name, event.name
        ),
        (None, Some(msg)) if msg.name == "event" => format!(
            "`event` is the `MsgType` of every event: write `msg = \"event\"` to take them all, \
             or name one: {}",
            kinds::list(EVENTS.iter().map(|k| k.name))
        ),
        (None, Some(msg)) => format!(
            "`{name}` is a message type, not an event: write `msg = \"{}\"`",
            msg.name
        ),
        (None, None) => unknown("event", &name, EVENTS.iter().map(|k| k.name)),
    };
    errors.push(syn::Error::new(lit.span(), message));
    None
}

/// `pay = ".."`: one of [`PAYS`].
fn check_pay(lit: &LitStr, errors: &mut Errors) -> Option<&'static Kind> {
    let name = lit.value();
    if let Some(kind) = kinds::find(PAYS, &name) {
        return Some(kind);
    }
    errors.push(syn::Error::new(
        lit.span(),
        unknown(
            "WeChat Pay notification",
            &name,
            PAYS.iter().map(|k| k.name),
        ),
    ));
    None
}

/// "unknown message type `txet`: did you mean `text`? expected one of text, image, ..."
fn unknown(what: &str, name: &str, names: impl Iterator<Item = &'static str> + Clone) -> String {
    let suggestion = kinds::closest(name, names.clone())
        .map(|c| format!(" did you mean `{c}`?"))
        .unwrap_or_default();
    format!(
        "unknown {what} `{name}`:{suggestion} expected one of {}",
        kinds::list(names)
    )
}

fn unknown_argument(name: &str) -> String {
    let suggestion = kinds::closest(name, ARGS.iter().copied())
        .map(|c| format!(" did you mean `{c}`?"))
        .unwrap_or_default();
    format!(
        "unknown argument `{name}`:{suggestion} expected one of {}",
        kinds::list(ARGS.iter().copied())
    )
}

/// The arguments as they would be written, for the generated docs.
fn summary(
    msg: &Option<Arg<LitStr>>,
    event: &Option<Arg<LitStr>>,
    pay: &Option<Arg<LitStr>>,
    key: &Option<Arg<LitStr>>,
    keyword: &Option<Arg<LitStr>>,
    prefix: &Option<Arg<LitStr>>,
    fallback: bool,
) -> String {
    let mut parts = Vec::new();
    for (name, arg) in [("msg", msg), ("event", event), ("pay", pay), ("key", key)] {
        if let Some(arg) = arg {
            parts.push(format!("{name} = {:?}", arg.value.value()));
        }
    }
    for (name, arg) in [("keyword", keyword), ("prefix", prefix)] {
        if let Some(arg) = arg {
            parts.push(format!("{name} = {:?}", arg.value.value()));
        }
    }
    if fallback {
        parts.push("fallback".to_owned());
    }
    parts.join(", ")
}

#[cfg(test)]
mod tests {
    use quote::quote;

    use super::*;

    fn err(args: TokenStream) -> String {
        parse(args).unwrap_err().to_string()
    }

    #[test]
    fn every_kind_parses_to_its_route() {
        for kind in MSGS {
            let name = kind.name;
            let spec = parse(quote!(msg = #name)).unwrap();
            assert!(matches!(spec.route, Route::Msg(n) if n == name));
            assert_eq!(spec.check, kind.check);
        }
        for kind in EVENTS {
            let name = kind.name;
            let spec = parse(quote!(event = #name)).unwrap();
            assert!(matches!(spec.route, Route::Event(n) if n == name));
        }
        let spec = parse(quote!(event = "CLICK", key = "K")).unwrap();
        assert!(matches!(spec.route, Route::EventKey("CLICK", ref k) if k.value() == "K"));
        let spec = parse(quote!(msg = "text", keyword = "help")).unwrap();
        assert!(matches!(spec.route, Route::Keyword(ref k) if k.value() == "help"));
        assert_eq!(spec.summary, "msg = \"text\", keyword = \"help\"");
        let spec = parse(quote!(prefix = "q ", msg = "text")).unwrap();
        assert!(matches!(spec.route, Route::Prefix(ref k) if k.value() == "q "));
        let spec = parse(quote!(fallback)).unwrap();
        assert!(matches!(spec.route, Route::Fallback));
        assert_eq!(spec.check, "Fallback");
        for kind in PAYS {
            let name = kind.name;
            let spec = parse(quote!(pay = #name)).unwrap();
            assert!(matches!(spec.route, Route::Pay));
            assert_eq!(spec.check, kind.check);
            assert_eq!(spec.summary, format!("pay = {name:?}"));
        }
    }

    #[test]
    fn mistakes_are_explained() {
        assert!(err(quote!(msg = "txet")).contains("did you mean `text`?"));
        assert!(err(quote!(msg = "text", state = App)).contains("no longer needed"));
        assert!(err(quote!(msg = "CLICK")).contains("write `event = \"CLICK\"`"));
        assert!(err(quote!(event = "click")).contains("WeChat spells it `CLICK`"));
        assert!(err(quote!(event = "text")).contains("write `msg = \"text\"`"));
        assert!(err(quote!(event = "event")).contains("write `msg = \"event\"`"));
        assert!(err(quote!(msg = "text", msg = "image")).contains("duplicate argument `msg`"));
        assert!(err(quote!(mgs = "text")).contains("did you mean `msg`?"));
        assert!(err(quote!(msg = "text", event = "CLICK")).contains("cannot go with `msg`"));
        assert!(err(quote!()).contains("needs the kind"));
        assert!(
            err(quote!(msg = "text", key = "K")).contains("messages (`msg = \"text\"`) carry none")
        );
        assert!(err(quote!(event = "unsubscribe", key = "K")).contains("without an `EventKey`"));
        assert!(err(quote!(msg = "image", keyword = "hi")).contains("goes with `msg = \"text\"`"));
        assert!(
            err(quote!(event = "CLICK", prefix = "hi")).contains("not with `event = \"CLICK\"`")
        );
        assert!(
            err(quote!(msg = "text", keyword = "a", prefix = "b")).contains("cannot go together")
        );
        assert!(err(quote!(msg = "text", prefix = "")).contains("empty `prefix`"));
        assert!(
            err(quote!(pay = "notify", key = "K")).contains("`key` goes with `event = \"..\"`")
        );
        assert!(err(quote!(pay = "refund", msg = "text")).contains("cannot go with `pay`"));
        assert!(err(quote!(pay = "notfy")).contains("did you mean `notify`?"));
        assert!(err(quote!(fallback = "yes")).contains("takes no value"));
        assert!(err(quote!(msg = text)).contains("expected string literal"));
    }

    #[test]
    fn several_mistakes_are_reported_together() {
        let error = parse(quote!(msg = "txet", bogus = 1, keyword = "")).unwrap_err();
        assert_eq!(error.into_iter().count(), 3);
    }
}
