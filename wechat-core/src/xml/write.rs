//! Writing text inside CDATA sections, the way WeChat writes them.

/// Appends `text` as one or more CDATA sections: a `]]>` inside the text is split across two
/// sections (`]]]]><![CDATA[>`), the only way to carry it in CDATA.
///
/// ```
/// let mut out = String::new();
/// wechat_core::xml::push_cdata(&mut out, "a]]>b");
/// assert_eq!(out, "<![CDATA[a]]]]><![CDATA[>b]]>");
/// ```
pub fn push_cdata(out: &mut String, text: &str) {
    out.push_str("<![CDATA[");
    let mut rest = text;
    while let Some(at) = find_cdata_end(rest.as_bytes()) {
        out.push_str(&rest[..at]);
        out.push_str("]]]]><![CDATA[>");
        rest = &rest[at + 3..];
    }
    out.push_str(rest);
    out.push_str("]]>");
}

/// The position of the first `]]>`: a `memchr` for `]`, which most text never contains (cheaper
/// than building a substring searcher for every field).
fn find_cdata_end(bytes: &[u8]) -> Option<usize> {
    let mut from = 0;
    while let Some(i) = memchr::memchr(b']', &bytes[from..]) {
        let at = from + i;
        if bytes[at..].starts_with(b"]]>") {
            return Some(at);
        }
        from = at + 1;
    }
    None
}

/// Appends `<name><![CDATA[text]]></name>` and a newline.
pub(crate) fn push_cdata_element(out: &mut String, name: &str, text: &str) {
    out.push('<');
    out.push_str(name);
    out.push('>');
    push_cdata(out, text);
    out.push_str("</");
    out.push_str(name);
    out.push_str(">\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_first_terminator() {
        assert_eq!(find_cdata_end(b"ab]]>c"), Some(2));
        assert_eq!(find_cdata_end(b"]]]>"), Some(1));
        assert_eq!(find_cdata_end(b"a]b]]c]]"), None);
        assert_eq!(find_cdata_end(b""), None);
    }

    #[test]
    fn splits_cdata_terminator() {
        let mut out = String::new();
        push_cdata(&mut out, "a]]>b]]>");
        assert_eq!(out, "<![CDATA[a]]]]><![CDATA[>b]]]]><![CDATA[>]]>");
    }
}
