//! `__kind_checks!`: the traits of `wechat_tower::kind`, one per kind of
//! `wechat_core::__for_each_kind!`, each with a `#[diagnostic::on_unimplemented]` that names the
//! kind and its type. A proc-macro because the diagnostic attribute takes literals only
//! (`concat!` is not expanded there), and the messages are made of the table's names.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::parse::{Parse, ParseStream};
use syn::punctuated::Punctuated;
use syn::{Ident, LitStr, Token, braced, parenthesized};

/// One line of the table: `("text", Text, TextMessage, MsgText)` or
/// `("subscribe", Subscribe, SubscribeEvent, EventSubscribe, keyed)`.
struct Line {
    name: LitStr,
    ty: Ident,
    check: Ident,
}

impl Parse for Line {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let content;
        parenthesized!(content in input);
        let name = content.parse()?;
        let _: Token![,] = content.parse()?;
        let _variant: Ident = content.parse()?;
        let _: Token![,] = content.parse()?;
        let ty = content.parse()?;
        let _: Token![,] = content.parse()?;
        let check = content.parse()?;
        if content.parse::<Option<Token![,]>>()?.is_some() {
            let _keyed: Ident = content.parse()?;
        }
        Ok(Self { name, ty, check })
    }
}

/// `messages { .. } events { .. }`, as `__for_each_kind!` hands it to its callback.
struct Table {
    messages: Vec<Line>,
    events: Vec<Line>,
}

fn section(input: ParseStream<'_>, name: &str) -> syn::Result<Vec<Line>> {
    let ident: Ident = input.parse()?;
    if ident != name {
        return Err(syn::Error::new(ident.span(), format!("expected `{name}`")));
    }
    let content;
    braced!(content in input);
    let lines = Punctuated::<Line, Token![,]>::parse_terminated(&content)?;
    Ok(lines.into_iter().collect())
}

impl Parse for Table {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        Ok(Self {
            messages: section(input, "messages")?,
            events: section(input, "events")?,
        })
    }
}

pub(crate) fn expand(input: TokenStream) -> TokenStream {
    let table: Table = match syn::parse2(input) {
        Ok(table) => table,
        Err(error) => return error.into_compile_error(),
    };
    let mut out = TokenStream::new();
    for line in &table.messages {
        let name = line.name.value();
        let ty = &line.ty;
        let with = if name == "text" {
            " (with or without `keyword` or `prefix`)"
        } else {
            ""
        };
        out.extend(check(
            &line.check,
            &format!("`{{Self}}` cannot take the messages of `msg = \"{name}\"`"),
            &format!("expected `{ty}` (or `Message`)"),
            &format!(
                "the first argument of a `msg = \"{name}\"` handler{with} is `{ty}` or `Message`; extractors come after it"
            ),
            &[quote!(#ty), quote!(Message)],
        ));
    }
    for line in &table.events {
        let name = line.name.value();
        let ty = &line.ty;
        out.extend(check(
            &line.check,
            &format!("`{{Self}}` cannot take the events of `event = \"{name}\"`"),
            &format!("expected `{ty}` (or `Event`, `Message`)"),
            &format!(
                "the first argument of an `event = \"{name}\"` handler is `{ty}`, `Event` or `Message`; extractors come after it"
            ),
            &[quote!(#ty), quote!(Event), quote!(Message)],
        ));
    }
    out
}

/// The trait `check` and its impls for `types`.
fn check(
    check: &Ident,
    message: &str,
    label: &str,
    note: &str,
    types: &[TokenStream],
) -> TokenStream {
    // The impls are spanned on the table's line, so that the compiler's "the following other
    // types implement" help shows that line rather than this macro's call.
    let span = check.span();
    let impls = types
        .iter()
        .map(|ty| quote_spanned!(span=> impl #check for #ty {}));
    quote! {
        #[doc = #message]
        #[diagnostic::on_unimplemented(message = #message, label = #label, note = #note)]
        pub trait #check {}
        #(#impls)*
    }
}
