//! A one-pass reader of WeChat's XML into a flat list of elements. See the module docs.

use std::borrow::Cow;

use memchr::memchr;

use super::scan::find;

use super::{MAX_DEPTH, MAX_ELEMENTS, MAX_INPUT_BYTES};
use crate::error::{Error, ErrorKind, Result};

/// A parsed XML document: its elements in document order, text borrowed from the input.
#[derive(Debug, Clone)]
pub struct Document<'a> {
    nodes: Vec<Node<'a>>,
}

#[derive(Debug, Clone)]
struct Node<'a> {
    name: &'a str,
    /// Text content; empty for an element with child elements.
    text: Cow<'a, str>,
    /// Index one past this element's last descendant.
    end: u32,
    has_children: bool,
}

/// One element of a [`Document`].
#[derive(Debug, Clone, Copy)]
pub struct Element<'d, 'a> {
    doc: &'d Document<'a>,
    index: usize,
}

/// The child elements of an [`Element`], in document order.
#[derive(Debug, Clone)]
pub struct Children<'d, 'a> {
    doc: &'d Document<'a>,
    next: usize,
    end: usize,
}

impl<'a> Document<'a> {
    /// Parses a document. See the [module docs](super) for what is accepted.
    ///
    /// # Errors
    ///
    /// An [`ErrorKind::Xml`] with the byte offset for malformed input, and
    /// [`ErrorKind::XmlDoctype`], [`ErrorKind::XmlTooDeep`] or [`ErrorKind::XmlTooLarge`].
    pub fn parse(input: &'a str) -> Result<Self> {
        Parser::new(input)?.run()
    }

    /// Parses bytes that must be UTF-8.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidUtf8`], or any error of [`Document::parse`].
    pub fn parse_bytes(input: &'a [u8]) -> Result<Self> {
        let text = std::str::from_utf8(input).map_err(|_| Error::from(ErrorKind::InvalidUtf8))?;
        Self::parse(text)
    }

    /// The root element (WeChat's is `<xml>`).
    #[must_use]
    pub fn root(&self) -> Element<'_, 'a> {
        Element {
            doc: self,
            index: 0,
        }
    }
}

impl<'d, 'a> Element<'d, 'a> {
    fn node(&self) -> &'d Node<'a> {
        &self.doc.nodes[self.index]
    }

    /// The element's name.
    #[must_use]
    pub fn name(&self) -> &'a str {
        self.node().name
    }

    /// The element's text with CDATA unwrapped and entities decoded, untrimmed; empty when the
    /// element has child elements.
    #[must_use]
    pub fn text(&self) -> &'d str {
        &self.node().text
    }

    /// Whether the element has child elements.
    #[must_use]
    pub fn has_children(&self) -> bool {
        self.node().has_children
    }

    /// The child elements.
    #[must_use]
    pub fn children(&self) -> Children<'d, 'a> {
        Children {
            doc: self.doc,
            next: self.index + 1,
            end: self.node().end as usize,
        }
    }

    /// The first child element called `name`.
    #[must_use]
    pub fn child(&self, name: &str) -> Option<Self> {
        self.children().find(|c| c.name() == name)
    }

    /// The text of the first child element called `name`.
    #[must_use]
    pub fn child_text(&self, name: &str) -> Option<&'d str> {
        self.child(name).map(|c| c.text())
    }
}

impl<'d, 'a> Iterator for Children<'d, 'a> {
    type Item = Element<'d, 'a>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.next >= self.end {
            return None;
        }
        let index = self.next;
        self.next = self.doc.nodes[index].end as usize;
        Some(Element {
            doc: self.doc,
            index,
        })
    }
}

struct Parser<'a> {
    input: &'a str,
    pos: usize,
    nodes: Vec<Node<'a>>,
    /// Indices of the open elements, innermost last.
    open: [u32; MAX_DEPTH],
    depth: usize,
}

impl<'a> Parser<'a> {
    fn new(input: &'a str) -> Result<Self> {
        if input.len() > MAX_INPUT_BYTES {
            return Err(ErrorKind::XmlTooLarge.into());
        }
        let pos = if input.starts_with('\u{feff}') { 3 } else { 0 };
        Ok(Self {
            input,
            pos,
            nodes: Vec::with_capacity(16),
            open: [0; MAX_DEPTH],
            depth: 0,
        })
    }

    fn bytes(&self) -> &'a [u8] {
        self.input.as_bytes()
    }

    fn run(mut self) -> Result<Document<'a>> {
        let bytes = self.bytes();
        loop {
            let rest = &bytes[self.pos..];
            let Some(lt) = memchr(b'<', rest) else {
                self.text(self.pos, bytes.len())?;
                break;
            };
            let lt = self.pos + lt;
            self.text(self.pos, lt)?;
            self.pos = lt;
            match bytes.get(lt + 1) {
                Some(b'?') => self.skip_past(lt, b"?>", "unterminated processing instruction")?,
                Some(b'!') => self.bang(lt)?,
                Some(b'/') => self.end_tag(lt)?,
                Some(_) => self.start_tag(lt)?,
                None => return Err(Error::xml(lt, "unexpected end of input after `<`")),
            }
        }
        if self.depth > 0 {
            return Err(Error::xml(bytes.len(), "unclosed element"));
        }
        if self.nodes.is_empty() {
            return Err(Error::xml(bytes.len(), "no root element"));
        }
        Ok(Document { nodes: self.nodes })
    }

    /// Handles the character data in `start..end` (outside markup).
    fn text(&mut self, start: usize, end: usize) -> Result<()> {
        if start == end {
            return Ok(());
        }
        let raw = &self.input[start..end];
        if self.depth == 0 {
            if raw.bytes().all(|b| b.is_ascii_whitespace()) {
                return Ok(());
            }
            return Err(Error::xml(start, "text outside the root element"));
        }
        let text = if memchr(b'&', raw.as_bytes()).is_some() {
            Cow::Owned(decode_entities(raw, start)?)
        } else {
            Cow::Borrowed(raw)
        };
        self.append_text(text);
        Ok(())
    }

    fn append_text(&mut self, text: Cow<'a, str>) {
        let index = self.open[self.depth - 1] as usize;
        let node = &mut self.nodes[index];
        if node.has_children {
            return;
        }
        if node.text.is_empty() {
            node.text = text;
        } else {
            node.text.to_mut().push_str(&text);
        }
    }

    fn skip_past(&mut self, from: usize, terminator: &[u8], reason: &'static str) -> Result<()> {
        match find(&self.bytes()[from..], terminator) {
            Some(at) => {
                self.pos = from + at + terminator.len();
                Ok(())
            }
            None => Err(Error::xml(from, reason)),
        }
    }

    /// `<!--`, `<![CDATA[`, or a declaration (refused).
    fn bang(&mut self, lt: usize) -> Result<()> {
        let rest = &self.bytes()[lt..];
        if rest.starts_with(b"<!--") {
            return self.skip_past(lt + 4, b"-->", "unterminated comment");
        }
        if rest.starts_with(b"<![CDATA[") {
            if self.depth == 0 {
                return Err(Error::xml(lt, "CDATA outside the root element"));
            }
            let start = lt + 9;
            let Some(len) = find(&self.bytes()[start..], b"]]>") else {
                return Err(Error::xml(lt, "unterminated CDATA section"));
            };
            self.append_text(Cow::Borrowed(&self.input[start..start + len]));
            self.pos = start + len + 3;
            return Ok(());
        }
        let upper = |s: &[u8]| rest.len() >= s.len() && rest[..s.len()].eq_ignore_ascii_case(s);
        if upper(b"<!DOCTYPE") || upper(b"<!ENTITY") || upper(b"<!ELEMENT") || upper(b"<!ATTLIST") {
            return Err(ErrorKind::XmlDoctype.into());
        }
        Err(Error::xml(lt, "unknown markup declaration"))
    }

    fn start_tag(&mut self, lt: usize) -> Result<()> {
        let bytes = self.bytes();
        let name_start = lt + 1;
        let name_end = bytes[name_start..]
            .iter()
            .position(|&b| b.is_ascii_whitespace() || b == b'/' || b == b'>')
            .map_or(bytes.len(), |n| name_start + n);
        if name_end == name_start {
            return Err(Error::xml(lt, "missing element name"));
        }
        // Skip attributes up to the closing `>`, respecting quoted values.
        let mut at = name_end;
        let mut self_closing = false;
        loop {
            match bytes.get(at) {
                None => return Err(Error::xml(lt, "unterminated start tag")),
                Some(b'>') => break,
                Some(&quote @ (b'"' | b'\'')) => match memchr(quote, &bytes[at + 1..]) {
                    Some(n) => at += n + 2,
                    None => return Err(Error::xml(at, "unterminated attribute value")),
                },
                Some(b'<') => return Err(Error::xml(at, "`<` inside a start tag")),
                Some(b'/') => {
                    self_closing = bytes.get(at + 1) == Some(&b'>');
                    if !self_closing {
                        return Err(Error::xml(at, "`/` inside a start tag"));
                    }
                    at += 1;
                }
                Some(_) => at += 1,
            }
        }
        self.pos = at + 1;

        if self.depth == 0 && !self.nodes.is_empty() {
            return Err(Error::xml(lt, "more than one root element"));
        }
        if self.nodes.len() >= MAX_ELEMENTS {
            return Err(ErrorKind::XmlTooLarge.into());
        }
        if self.depth == MAX_DEPTH {
            return Err(ErrorKind::XmlTooDeep.into());
        }
        if self.depth > 0 {
            let parent = &mut self.nodes[self.open[self.depth - 1] as usize];
            if !parent.has_children {
                parent.has_children = true;
                parent.text = Cow::Borrowed("");
            }
        }
        let index = self.nodes.len();
        // Bounded by MAX_ELEMENTS, so the cast is lossless.
        let index32 = index as u32;
        self.nodes.push(Node {
            name: &self.input[name_start..name_end],
            text: Cow::Borrowed(""),
            end: index32 + 1,
            has_children: false,
        });
        if !self_closing {
            self.open[self.depth] = index32;
            self.depth += 1;
        }
        Ok(())
    }

    fn end_tag(&mut self, lt: usize) -> Result<()> {
        let bytes = self.bytes();
        let Some(gt) = memchr(b'>', &bytes[lt..]) else {
            return Err(Error::xml(lt, "unterminated end tag"));
        };
        let name = self.input[lt + 2..lt + gt].trim_end_matches(|c: char| c.is_ascii_whitespace());
        if self.depth == 0 {
            return Err(Error::xml(lt, "end tag without a start tag"));
        }
        let index = self.open[self.depth - 1] as usize;
        if self.nodes[index].name != name {
            return Err(Error::xml(lt, "end tag does not match the open element"));
        }
        self.depth -= 1;
        // Bounded by MAX_ELEMENTS, so the cast is lossless.
        self.nodes[index].end = self.nodes.len() as u32;
        self.pos = lt + gt + 1;
        Ok(())
    }
}

/// Decodes the predefined entities and character references in `raw` (which starts at byte
/// `offset` of the input, for error positions).
fn decode_entities(raw: &str, offset: usize) -> Result<String> {
    let mut out = String::with_capacity(raw.len());
    let mut rest = raw;
    while let Some(amp) = memchr(b'&', rest.as_bytes()) {
        out.push_str(&rest[..amp]);
        let at = offset + (raw.len() - rest.len()) + amp;
        let after = &rest[amp + 1..];
        let Some(semi) = memchr(b';', after.as_bytes()).filter(|&n| n <= 10) else {
            return Err(Error::xml(at, "unterminated entity reference"));
        };
        let entity = &after[..semi];
        let decoded = match entity {
            "lt" => '<',
            "gt" => '>',
            "amp" => '&',
            "quot" => '"',
            "apos" => '\'',
            _ => char_reference(entity).ok_or_else(|| Error::xml(at, "unknown entity"))?,
        };
        out.push(decoded);
        rest = &after[semi + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// `#123` or `#x7B` to its character; `None` for anything else or a non-character.
fn char_reference(entity: &str) -> Option<char> {
    let body = entity.strip_prefix('#')?;
    let (digits, radix) = match body.strip_prefix(['x', 'X']) {
        Some(hex) => (hex, 16),
        None => (body, 10),
    };
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
        return None;
    }
    char::from_u32(u32::from_str_radix(digits, radix).ok()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind(input: &str) -> ErrorKind {
        Document::parse(input).unwrap_err().into_kind()
    }

    #[test]
    fn reads_cdata_text_and_entities() {
        let doc = Document::parse(
            "<?xml version=\"1.0\"?>\n<xml>\n <A><![CDATA[x]]></A>\n <B>1 &lt; 2 &#x1F600;&#39;</B>\n</xml>\n",
        )
        .unwrap();
        let root = doc.root();
        assert_eq!(root.name(), "xml");
        assert_eq!(root.text(), "");
        assert_eq!(root.child_text("A"), Some("x"));
        assert_eq!(root.child_text("B"), Some("1 < 2 😀'"));
        assert_eq!(root.child_text("C"), None);
    }

    #[test]
    fn joins_split_cdata() {
        let doc = Document::parse("<xml><C><![CDATA[a]]]]><![CDATA[>b]]></C></xml>").unwrap();
        assert_eq!(doc.root().child_text("C"), Some("a]]>b"));
    }

    #[test]
    fn borrows_single_sections() {
        let doc = Document::parse("<xml><C><![CDATA[abc]]></C><D>plain</D></xml>").unwrap();
        let c = doc.root().child("C").unwrap();
        assert!(matches!(doc.nodes[c.index].text, Cow::Borrowed("abc")));
        let d = doc.root().child("D").unwrap();
        assert!(matches!(doc.nodes[d.index].text, Cow::Borrowed("plain")));
    }

    #[test]
    fn walks_nested_and_repeated_children() {
        let doc = Document::parse(
            "<xml><L><i><v>1</v></i><i><v>2</v></i></L><E/><Z a='>' b=\"/\">z</Z></xml>",
        )
        .unwrap();
        let root = doc.root();
        let names: Vec<_> = root.children().map(|c| c.name()).collect();
        assert_eq!(names, ["L", "E", "Z"]);
        let values: Vec<_> = root
            .child("L")
            .unwrap()
            .children()
            .filter_map(|i| i.child_text("v"))
            .collect();
        assert_eq!(values, ["1", "2"]);
        assert_eq!(root.child_text("E"), Some(""));
        assert_eq!(root.child_text("Z"), Some("z"));
    }

    #[test]
    fn keeps_control_characters_and_whitespace() {
        let doc = Document::parse("<xml><C>\u{1}a\u{0}\t </C></xml>").unwrap();
        assert_eq!(doc.root().child_text("C"), Some("\u{1}a\u{0}\t "));
    }

    #[test]
    fn refuses_declarations() {
        assert_eq!(
            kind("<!DOCTYPE xml [<!ENTITY a \"b\">]><xml>&a;</xml>"),
            ErrorKind::XmlDoctype
        );
        assert_eq!(kind("<xml><!ENTITY a \"b\"></xml>"), ErrorKind::XmlDoctype);
        assert_eq!(kind("<!doctype html><xml/>"), ErrorKind::XmlDoctype);
    }

    #[test]
    fn refuses_unknown_entities() {
        assert!(matches!(
            kind("<xml>&a;</xml>"),
            ErrorKind::Xml { offset: 5, .. }
        ));
        assert!(matches!(kind("<xml>&#xD800;</xml>"), ErrorKind::Xml { .. }));
        assert!(matches!(kind("<xml>&#-1;</xml>"), ErrorKind::Xml { .. }));
        assert!(matches!(kind("<xml>& </xml>"), ErrorKind::Xml { .. }));
    }

    #[test]
    fn bounds_depth_and_size() {
        let deep = format!(
            "{}{}",
            "<a>".repeat(MAX_DEPTH + 1),
            "</a>".repeat(MAX_DEPTH + 1)
        );
        assert_eq!(kind(&deep), ErrorKind::XmlTooDeep);
        let ok = format!("{}{}", "<a>".repeat(MAX_DEPTH), "</a>".repeat(MAX_DEPTH));
        assert!(Document::parse(&ok).is_ok());
        let wide = format!("<xml>{}</xml>", "<a/>".repeat(MAX_ELEMENTS));
        assert_eq!(kind(&wide), ErrorKind::XmlTooLarge);
        let big = format!("<xml>{}</xml>", " ".repeat(MAX_INPUT_BYTES));
        assert_eq!(kind(&big), ErrorKind::XmlTooLarge);
    }

    #[test]
    fn refuses_malformed_structure() {
        for bad in [
            "",
            "   ",
            "text",
            "<xml>",
            "<xml></lmx>",
            "<xml></xml><xml></xml>",
            "<xml/><xml/>",
            "</xml>",
            "<xml></xml>trailing",
            "<xml><a></xml></a>",
            "<>",
            "<",
            "<xml",
            "<xml a=\"1></xml>",
            "<xml><![CDATA[x</xml>",
            "<xml><!-- x</xml>",
            "<?xml",
            "<xml>< a/></xml>",
            "<xml/ ></xml>",
        ] {
            assert!(Document::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn refuses_invalid_utf8() {
        assert_eq!(
            Document::parse_bytes(b"<xml>\xff</xml>")
                .unwrap_err()
                .into_kind(),
            ErrorKind::InvalidUtf8
        );
    }
}
