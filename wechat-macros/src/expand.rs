//! The expansion of `#[wechat_handler]`: the handler's unit struct, its body as `call`, the
//! `MountHandler` impl that mounts it, and the checks that put type errors on the user's tokens.
//!
//! Everything goes through [`expand`]: on an error it emits `compile_error!`s and still the
//! handler (unchecked, when the fn itself is sound; as written otherwise), so that one mistake
//! does not cascade into "cannot find `echo`" errors wherever the handler is used.

use proc_macro2::{Span, TokenStream};
use quote::{ToTokens, format_ident, quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{Attribute, FnArg, ItemFn, LitStr, ReturnType, Type};

use crate::attr::{self, Errors, Route, Spec};

/// At most eight extractors follow the message (as `Handler` is implemented).
const MAX_ARGS: usize = 9;

/// The attribute's one funnel: parse, check, generate; errors end in `into_compile_error`.
pub(crate) fn expand(args: TokenStream, item: TokenStream) -> TokenStream {
    let Ok(item_fn) = syn::parse2::<ItemFn>(item.clone()) else {
        let error = syn::Error::new(
            Span::call_site(),
            "`#[wechat_handler]` goes on an `async fn`: `#[wechat_handler(msg = \"text\")] async fn echo(msg: TextMessage) -> String`",
        );
        return with_error(error, item);
    };
    let spec = attr::parse(args);
    let expected = spec.as_ref().map_or("TextMessage", |s| s.expected);
    let handler = Handler::new(&item_fn, expected);
    match (spec, handler) {
        (Ok(spec), Ok(handler)) => handler.expand(&spec),
        // A sound fn under a wrong attribute: emit it unchecked, so that uses of the handler
        // (`Router::handler(echo)`, `echo::call(..)`) raise nothing more.
        (Err(error), Ok(handler)) => with_error(error, handler.expand_unchecked()),
        // A fn the router cannot call: emit it as written, so that its name still resolves.
        (Ok(_), Err(error)) => with_error(error, item),
        (Err(mut error), Err(fn_error)) => {
            error.combine(fn_error);
            with_error(error, item)
        }
    }
}

fn with_error(error: syn::Error, item: TokenStream) -> TokenStream {
    let mut tokens = error.into_compile_error();
    tokens.extend(item);
    tokens
}

/// The fn, checked to be one the router can call: `async`, free, not generic, with a message and
/// at most eight extractors, owned.
struct Handler<'a> {
    item: &'a ItemFn,
    /// The type of the first argument.
    message: &'a Type,
    /// The types of the extractors.
    extractors: Vec<&'a Type>,
}

impl<'a> Handler<'a> {
    fn new(item: &'a ItemFn, expected: &str) -> syn::Result<Self> {
        let sig = &item.sig;
        let mut errors = Errors::default();
        if sig.asyncness.is_none() {
            errors.push(syn::Error::new(
                sig.fn_token.span,
                format!(
                    "a WeChat handler is an `async fn`: write `async fn {}`",
                    sig.ident
                ),
            ));
        }
        if let Some(constness) = &sig.constness {
            errors.push(syn::Error::new(
                constness.span,
                "a WeChat handler cannot be `const`",
            ));
        }
        if let Some(unsafety) = &sig.unsafety {
            errors.push(syn::Error::new(
                unsafety.span,
                "a WeChat handler cannot be `unsafe`: the router calls it as a safe fn",
            ));
        }
        if let Some(abi) = &sig.abi {
            errors.push(syn::Error::new_spanned(
                abi,
                "a WeChat handler cannot have an `extern` ABI",
            ));
        }
        if !sig.generics.params.is_empty() || sig.generics.where_clause.is_some() {
            errors.push(syn::Error::new_spanned(
                &sig.generics,
                "a WeChat handler cannot be generic: the router calls it with the types it names",
            ));
        }
        if let Some(variadic) = &sig.variadic {
            errors.push(syn::Error::new_spanned(
                variadic,
                "a WeChat handler cannot be variadic",
            ));
        }

        let mut types = Vec::new();
        for (i, input) in sig.inputs.iter().enumerate() {
            match input {
                FnArg::Receiver(receiver) => errors.push(syn::Error::new_spanned(
                    receiver,
                    "a WeChat handler is a free `async fn`, not a method: it cannot take `self`; \
                     move it out of the `impl` block",
                )),
                FnArg::Typed(arg) => {
                    if i == MAX_ARGS {
                        errors.push(syn::Error::new_spanned(
                            arg,
                            "a WeChat handler takes the message and at most 8 extractors",
                        ));
                    }
                    check_owned(&arg.ty, &mut errors);
                    types.push(&*arg.ty);
                }
            }
        }
        if sig.inputs.is_empty() {
            errors.push(syn::Error::new(
                sig.paren_token.span.join(),
                format!(
                    "a WeChat handler takes the message first: `async fn {}(msg: {expected})`",
                    sig.ident
                ),
            ));
        }
        errors.finish(())?;
        let mut types = types.into_iter();
        let message = types.next().ok_or_else(|| {
            syn::Error::new(sig.paren_token.span.join(), "a handler takes the message")
        })?;
        Ok(Self {
            item,
            message,
            extractors: types.collect(),
        })
    }

    /// The checked expansion.
    fn expand(&self, spec: &Spec) -> TokenStream {
        let name = &self.item.sig.ident;
        let parts = Parts::of(self.item);
        let cfgs = &parts.cfgs;
        let definition = self.definition(&parts, Some(spec));

        let message = self.message;
        let extractors = &self.extractors;
        let output = match &self.item.sig.output {
            ReturnType::Type(_, ty) => Some(&**ty),
            ReturnType::Default => None,
        };
        let reply = output.filter(|ty| nameable(ty));
        // A message handler mounts on a `Router`; a pay handler in a slot of `PayNotify`. The
        // traits differ, the shape does not.
        let pay = matches!(spec.route, Route::Pay);
        let (mount_trait, target, from_context, into_reply) = if pay {
            (
                format_ident!("MountPayHandler"),
                format_ident!("PayNotifyBuilder"),
                format_ident!("FromPayContext"),
                format_ident!("IntoPayOutcome"),
            )
        } else {
            (
                format_ident!("MountHandler"),
                format_ident!("Router"),
                format_ident!("FromContext"),
                format_ident!("IntoReply"),
            )
        };
        // The extractors depend on the router's state: their bounds go through `Defer` so that
        // they mention `S` and are checked where the handler is mounted, once, for that state.
        let defer = |ty: &Type| quote!(<__wechat_S as ::wechat_tower::__private::Defer<#ty>>::Is);
        let extractor_bounds = extractors.iter().map(|ty| defer(ty));

        // The closure the router calls: the body's future, boxed. Its `Send` bound reports a
        // body that holds something not `Send` across an `.await`, on the fn's name.
        let msg_arg = format_ident!("__wechat_msg");
        let args: Vec<_> = (1..=extractors.len())
            .map(|i| format_ident!("__wechat_arg{i}"))
            .collect();
        let body_future = quote_spanned! {at(name.span())=>
            ::wechat_tower::__private::boxed(Self::call(#msg_arg, #(#args),*))
        };
        // The first argument and the output are concrete types, checked below where they are
        // written; `Mounting` mounts nothing when they are wrong, so they are not reported again
        // at the mount (see `__private::Mounting`). An output that cannot be named (`impl
        // Trait`) is left to the router's `Handler` bound, reported on the output type.
        let reply_or_unit = reply.map_or_else(|| quote!(()), ToTokens::to_token_stream);
        let mount_span = output.map_or_else(|| name.span(), Spanned::span);
        let mount = if pay {
            quote_spanned! {at(mount_span)=>
                use ::wechat_tower::__private::{MountPayChecked as _, MountPayUnchecked as _};
                (&::wechat_tower::__private::PayMounting::<#message, #reply_or_unit>::new()).mount(
                    __wechat_router,
                    self,
                    |#msg_arg: #message, #(#args: #extractors),*| #body_future,
                )
            }
        } else {
            let route = route(&spec.route);
            quote_spanned! {at(mount_span)=>
                use ::wechat_tower::__private::{MountChecked as _, MountUnchecked as _};
                (&::wechat_tower::__private::Mounting::<#message, #reply_or_unit>::new()).mount(
                    __wechat_router,
                    #route,
                    self,
                    |#msg_arg: #message, #(#args: #extractors),*| #body_future,
                )
            }
        };

        let check = format_ident!("{}", spec.check);
        let takes = quote_spanned! {at(message.span())=>
            __wechat_takes::<#message>();
        };
        let replies = reply.map(|ty| {
            quote_spanned! {at(ty.span())=>
                __wechat_replies::<#ty>();
            }
        });

        quote! {
            #definition

            #(#cfgs)*
            #[allow(non_camel_case_types)]
            impl<__wechat_S> ::wechat_tower::__private::#mount_trait<__wechat_S> for #name
            where
                __wechat_S: ::wechat_tower::__private::Send + ::wechat_tower::__private::Sync + 'static,
                #(#extractor_bounds: ::wechat_tower::__private::#from_context<__wechat_S>
                    + ::wechat_tower::__private::Send
                    + 'static,)*
            {
                fn mount(
                    self,
                    __wechat_router: ::wechat_tower::__private::#target<__wechat_S>,
                ) -> ::wechat_tower::__private::#target<__wechat_S> {
                    #mount
                }
            }

            // Checks that put type errors on the user's tokens, where the fn is written: the
            // first argument against the kind, the output against `IntoReply`.
            #(#cfgs)*
            #[allow(dead_code, non_camel_case_types)]
            const _: () = {
                fn __wechat_takes<__wechat_M: ::wechat_tower::__private::kind::#check>() {}
                fn __wechat_replies<__wechat_R: ::wechat_tower::__private::#into_reply>() {}
                fn __wechat_check() {
                    #takes
                    #replies
                }
            };
        }
    }

    /// The handler without its checks, mounting nothing: what is emitted under a wrong
    /// attribute, next to the errors (the program does not compile, so it never runs).
    fn expand_unchecked(&self) -> TokenStream {
        let name = &self.item.sig.ident;
        let parts = Parts::of(self.item);
        let cfgs = &parts.cfgs;
        let definition = self.definition(&parts, None);
        quote! {
            #definition

            #(#cfgs)*
            #[allow(non_camel_case_types)]
            impl<__wechat_S> ::wechat_tower::__private::MountHandler<__wechat_S> for #name {
                fn mount(
                    self,
                    __wechat_router: ::wechat_tower::__private::Router<__wechat_S>,
                ) -> ::wechat_tower::__private::Router<__wechat_S> {
                    __wechat_router
                }
            }

            // Both mount points, as the attribute's kind is unknown: no cascade of errors
            // wherever the handler is mounted.
            #(#cfgs)*
            #[allow(non_camel_case_types)]
            impl<__wechat_S> ::wechat_tower::__private::MountPayHandler<__wechat_S> for #name {
                fn mount(
                    self,
                    __wechat_router: ::wechat_tower::__private::PayNotifyBuilder<__wechat_S>,
                ) -> ::wechat_tower::__private::PayNotifyBuilder<__wechat_S> {
                    __wechat_router
                }
            }
        }
    }

    /// The unit struct named after the fn, and the fn's body as its associated `call`.
    fn definition(&self, parts: &Parts<'_>, spec: Option<&Spec>) -> TokenStream {
        let ItemFn {
            vis, sig, block, ..
        } = self.item;
        let name = &sig.ident;
        let Parts {
            docs,
            cfgs,
            lints,
            rest,
        } = parts;

        let attribute = spec.map_or_else(String::new, |s| format!("({})", s.summary));
        let mut struct_docs = Vec::new();
        if !docs.is_empty() {
            struct_docs.push(String::new());
        }
        let mount_with = if spec.is_some_and(|s| matches!(s.route, Route::Pay)) {
            "PayNotifyBuilder::handler"
        } else {
            "Router::handler"
        };
        struct_docs.push(format!(
            " A WeChat handler, `#[wechat_handler{attribute}]`: mount it with \
             `{mount_with}({name})`; its body is `{name}::call`."
        ));
        let call_docs = format!(
            " The body of the handler [`{name}`](Self), as written: call it directly, in unit \
             tests for instance."
        );

        let mut call_sig = sig.clone();
        call_sig.ident = syn::Ident::new("call", at(name.span()));

        quote! {
            #(#cfgs)*
            #(#docs)*
            #(#[doc = #struct_docs])*
            #(#lints)*
            #[allow(non_camel_case_types)]
            #[derive(
                ::wechat_tower::__private::Clone,
                ::wechat_tower::__private::Copy,
                ::wechat_tower::__private::Debug
            )]
            #vis struct #name;

            #(#cfgs)*
            impl #name {
                #[doc = #call_docs]
                // The router needs a future even from a body that never awaits.
                #[allow(clippy::unused_async)]
                #(#lints)*
                #(#rest)*
                #vis #call_sig #block
            }
        }
    }
}

/// The fn's attributes, by where they go.
struct Parts<'a> {
    /// `#[doc]`: on the struct, which stands for the handler in the docs.
    docs: Vec<&'a Attribute>,
    /// `#[cfg]`: on every generated item.
    cfgs: Vec<&'a Attribute>,
    /// `#[allow]`, `#[warn]`, `#[deny]`, `#[forbid]`: on the struct and on `call`.
    lints: Vec<&'a Attribute>,
    /// Anything else (`#[expect]`, `#[tracing::instrument]`, `#[deprecated]`, ...): on `call`.
    rest: Vec<&'a Attribute>,
}

impl<'a> Parts<'a> {
    fn of(item: &'a ItemFn) -> Self {
        let mut parts = Self {
            docs: Vec::new(),
            cfgs: Vec::new(),
            lints: Vec::new(),
            rest: Vec::new(),
        };
        for attr in &item.attrs {
            let path = attr.path();
            if path.is_ident("doc") {
                parts.docs.push(attr);
            } else if path.is_ident("cfg") {
                parts.cfgs.push(attr);
            } else if ["allow", "warn", "deny", "forbid"]
                .iter()
                .any(|lint| path.is_ident(lint))
            {
                parts.lints.push(attr);
            } else {
                parts.rest.push(attr);
            }
        }
        parts
    }
}

/// The span of the user's token `span` for errors, resolving as the macro's other tokens do:
/// `quote_spanned!` with the token's own span would resolve the generated locals (`self`,
/// `__wechat_router`) in the token's hygiene context, which is not the expansion's when the fn
/// comes from a `macro_rules!`.
fn at(span: Span) -> Span {
    Span::call_site().located_at(span)
}

/// The `Route` expression of the spec.
fn route(route: &Route) -> TokenStream {
    let path = quote!(::wechat_tower::__private::Route);
    match route {
        Route::Msg(name) => quote!(#path::msg(#name)),
        Route::Keyword(word) => quote!(#path::keyword(#word)),
        Route::Prefix(prefix) => quote!(#path::prefix(#prefix)),
        Route::Event(name) => quote!(#path::event(#name)),
        Route::EventKey(name, key) => {
            let name = LitStr::new(name, key.span());
            quote!(#path::event_key(#name, #key))
        }
        Route::Fallback => quote!(#path::fallback()),
        // Pay handlers have no router route: `expand` mounts them with `PayMounting`.
        Route::Pay => quote!(#path::fallback()),
    }
}

/// Rejects argument types the router can never pass: borrowed (`&TextMessage`) or generic
/// (`impl Trait`).
fn check_owned(ty: &Type, errors: &mut Errors) {
    match ty {
        Type::Reference(reference) => errors.push(syn::Error::new_spanned(
            reference,
            format!(
                "a WeChat handler's arguments are owned: the router moves the message in; \
                 take `{}`, not a reference",
                reference.elem.to_token_stream()
            ),
        )),
        Type::ImplTrait(_) => errors.push(syn::Error::new_spanned(
            ty,
            "a WeChat handler cannot be generic: name the argument's type instead of `impl Trait`",
        )),
        Type::Infer(_) => errors.push(syn::Error::new_spanned(
            ty,
            "name the argument's type: the attribute checks it against the kind",
        )),
        Type::Paren(inner) => check_owned(&inner.elem, errors),
        Type::Group(inner) => check_owned(&inner.elem, errors),
        _ => {}
    }
}

/// Whether `ty` can stand in a where clause and a turbofish: no `impl Trait`, no `_`.
fn nameable(ty: &Type) -> bool {
    struct Finder(bool);
    impl<'ast> syn::visit::Visit<'ast> for Finder {
        fn visit_type_impl_trait(&mut self, _: &'ast syn::TypeImplTrait) {
            self.0 = false;
        }
        fn visit_type_infer(&mut self, _: &'ast syn::TypeInfer) {
            self.0 = false;
        }
    }
    let mut finder = Finder(true);
    syn::visit::Visit::visit_type(&mut finder, ty);
    finder.0
}

#[cfg(test)]
mod tests {
    use quote::quote;

    use super::*;

    fn echo() -> TokenStream {
        quote! {
            /// Says it back.
            pub async fn echo(msg: TextMessage, ctx: MessageContext) -> String {
                format!("{} said {}", ctx.open_id(), msg.content)
            }
        }
    }

    /// The tokens of `stream`, groups opened and closed, so that token trees compare whatever
    /// their spacing.
    fn flatten(stream: TokenStream, out: &mut Vec<String>) {
        for tree in stream {
            match tree {
                proc_macro2::TokenTree::Group(group) => {
                    let (open, close) = match group.delimiter() {
                        proc_macro2::Delimiter::Parenthesis => ("(", ")"),
                        proc_macro2::Delimiter::Brace => ("{", "}"),
                        proc_macro2::Delimiter::Bracket => ("[", "]"),
                        proc_macro2::Delimiter::None => ("", ""),
                    };
                    out.push(open.to_owned());
                    flatten(group.stream(), out);
                    out.push(close.to_owned());
                }
                other => out.push(other.to_string()),
            }
        }
    }

    /// Whether the token trees `needle` appear, in order and adjacent, in `haystack`.
    fn has(haystack: &TokenStream, needle: TokenStream) -> bool {
        let mut hay = Vec::new();
        flatten(haystack.clone(), &mut hay);
        let mut pins = Vec::new();
        flatten(needle, &mut pins);
        !pins.is_empty() && hay.windows(pins.len()).any(|w| w == pins.as_slice())
    }

    #[test]
    fn expansion_has_the_documented_shape() {
        let out = expand(quote!(msg = "text"), echo());
        for part in [
            quote!(#[doc = r" Says it back."]),
            quote!(
                pub struct echo;
            ),
            quote!(pub async fn call(msg: TextMessage, ctx: MessageContext) -> String),
            quote!(impl<__wechat_S> ::wechat_tower::__private::MountHandler<__wechat_S> for echo),
            quote!(::wechat_tower::__private::Route::msg("text")),
            quote!(Self::call(__wechat_msg, __wechat_arg1)),
            quote!(::wechat_tower::__private::Mounting::<TextMessage, String>::new()),
            quote!(__wechat_takes::<TextMessage>();),
            quote!(__wechat_replies::<String>();),
        ] {
            assert!(has(&out, part.clone()), "{part}\nnot in\n{out}");
        }
        assert!(has(&out, quote!(impl echo)), "{out}");
        assert!(!has(&out, quote!(compile_error)), "{out}");
    }

    #[test]
    fn pay_handlers_mount_in_a_slot_of_pay_notify() {
        let item = quote! {
            async fn paid(payment: Paid, State(db): State<Db>) -> Result<(), Error> {
                db.mark_paid(payment).await
            }
        };
        let out = expand(quote!(pay = "notify"), item);
        for part in [
            quote!(
                struct paid;
            ),
            quote!(MountPayHandler<__wechat_S> for paid),
            quote!(::wechat_tower::__private::PayNotifyBuilder<__wechat_S>),
            quote!(PayMounting::<Paid, Result<(), Error>>::new()),
            quote!(__wechat_router, self, |__wechat_msg: Paid, __wechat_arg1: State<Db>|),
            quote!(__wechat_takes::<Paid>();),
            quote!(::wechat_tower::__private::kind::PayNotify),
            quote!(::wechat_tower::__private::FromPayContext<),
            quote!(::wechat_tower::__private::IntoPayOutcome),
        ] {
            assert!(has(&out, part.clone()), "{part}\nnot in\n{out}");
        }
        // The struct's docs name the mounting call.
        assert!(
            out.to_string()
                .contains("`PayNotifyBuilder::handler(paid)`"),
            "{out}"
        );
        assert!(!has(&out, quote!(MountHandler<)), "{out}");
        assert!(!has(&out, quote!(::Route::)), "{out}");
        assert!(!has(&out, quote!(compile_error)), "{out}");
    }

    #[test]
    fn routes_follow_the_arguments() {
        let route = |args| {
            let out = expand(args, echo()).to_string();
            let start = out.find(":: Route ::").unwrap();
            out[start..]
                .split(" , self")
                .next()
                .unwrap()
                .trim()
                .to_owned()
        };
        assert_eq!(
            route(quote!(msg = "text", keyword = "help")),
            ":: Route :: keyword (\"help\")"
        );
        assert_eq!(
            route(quote!(msg = "text", prefix = "q ")),
            ":: Route :: prefix (\"q \")"
        );
        assert_eq!(
            route(quote!(event = "CLICK")),
            ":: Route :: event (\"CLICK\")"
        );
        assert_eq!(
            route(quote!(event = "CLICK", key = "K")),
            ":: Route :: event_key (\"CLICK\" , \"K\")"
        );
        assert_eq!(route(quote!(fallback)), ":: Route :: fallback ()");
    }

    #[test]
    fn generated_code_names_only_the_private_module_and_prefixed_idents() {
        for args in [
            quote!(msg = "text"),
            quote!(event = "CLICK", key = "K"),
            quote!(fallback),
            quote!(pay = "notify"),
            quote!(pay = "refund"),
        ] {
            let out = expand(args, echo()).to_string();
            let tokens: Vec<&str> = out.split_whitespace().collect();
            for (i, token) in tokens.iter().enumerate() {
                let name = |t: &str| {
                    t.trim_start_matches(|c: char| !c.is_alphanumeric() && c != '_')
                        .to_owned()
                };
                let ident = name(token);
                if ident.starts_with("__") {
                    assert!(
                        ident.starts_with("__wechat_") || ident == "__private",
                        "{ident} in {out}"
                    );
                }
                // A path from the root (`::` after anything but a name or `>`).
                let after_name = i > 0 && {
                    let prev = tokens[i - 1];
                    let word = name(prev);
                    prev != "as"
                        && (prev.ends_with('>')
                            || (!word.is_empty()
                                && word.chars().all(|c| c.is_alphanumeric() || c == '_')))
                };
                if *token == "::" && !after_name {
                    assert_eq!(
                        tokens[i + 1..i + 4],
                        ["wechat_tower", "::", "__private"],
                        "{out}"
                    );
                }
            }
        }
    }

    #[test]
    fn a_wrong_attribute_still_emits_the_handler() {
        let out = expand(quote!(msg = "txet"), echo());
        assert!(has(&out, quote!(compile_error)), "{out}");
        assert!(out.to_string().contains("did you mean `text`?"), "{out}");
        assert!(
            has(
                &out,
                quote!(
                    pub struct echo;
                )
            ),
            "{out}"
        );
        assert!(has(&out, quote!(pub async fn call)), "{out}");
        assert!(
            has(&out, quote!(MountHandler<__wechat_S> for echo)),
            "{out}"
        );
        // Unchecked: no check of the argument types.
        assert!(!has(&out, quote!(__wechat_takes)), "{out}");
    }

    #[test]
    fn a_wrong_fn_is_emitted_as_written() {
        let item = quote!(
            fn echo(msg: TextMessage) -> String {
                msg.content
            }
        );
        let out = expand(quote!(msg = "text"), item.clone()).to_string();
        assert!(out.contains("compile_error"), "{out}");
        assert!(out.ends_with(&item.to_string()), "{out}");
    }
}
