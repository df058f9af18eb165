//! Finding the short terminators of XML (`]]>`, `-->`) in text.

/// The position of the first `needle` in `haystack`: a `memchr` for its first byte, then a
/// comparison. The terminators are 2–3 bytes whose first byte text rarely contains, so this beats
/// building a substring searcher (`memmem`) for every field.
pub(crate) fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    let (&first, _) = needle.split_first()?;
    let mut from = 0;
    while let Some(i) = memchr::memchr(first, haystack.get(from..)?) {
        let at = from + i;
        if haystack[at..].starts_with(needle) {
            return Some(at);
        }
        from = at + 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_first_occurrence() {
        assert_eq!(find(b"ab]]>c", b"]]>"), Some(2));
        assert_eq!(find(b"]]]>", b"]]>"), Some(1));
        assert_eq!(find(b"a]b]]c]]", b"]]>"), None);
        assert_eq!(find(b"", b"]]>"), None);
        assert_eq!(find(b"x--->", b"-->"), Some(2));
        assert_eq!(find(b"abc", b""), None);
        assert_eq!(find(b"]]", b"]]>"), None);
    }
}
