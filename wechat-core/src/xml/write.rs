//! Writing text inside CDATA sections, the way WeChat writes them.

use super::scan::find;

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
    while let Some(at) = find(rest.as_bytes(), b"]]>") {
        out.push_str(&rest[..at]);
        out.push_str("]]]]><![CDATA[>");
        rest = &rest[at + 3..];
    }
    out.push_str(rest);
    out.push_str("]]>");
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
    fn splits_cdata_terminator() {
        let mut out = String::new();
        push_cdata(&mut out, "a]]>b]]>");
        assert_eq!(out, "<![CDATA[a]]]]><![CDATA[>b]]]]><![CDATA[>]]>");
    }
}
