//! The XML that WeChat speaks, read and written without a general-purpose XML library.
//!
//! WeChat's XML is small and plain: one `<xml>` root, elements with text or CDATA, a little
//! nesting, no namespaces. [`Document::parse`] reads it in one pass into a flat list of elements
//! whose text borrows from the input wherever it can (a single CDATA section or entity-free text),
//! so parsing a message allocates once for the element list and never per field.
//!
//! It is strict where strictness protects the server and lenient where WeChat is sloppy:
//!
//! - a DOCTYPE or entity declaration is refused ([`ErrorKind::XmlDoctype`]), so no entity
//!   expansion can happen; only the five predefined entities and character references are decoded;
//! - nesting is bounded by [`MAX_DEPTH`], size by [`MAX_INPUT_BYTES`] and [`MAX_ELEMENTS`];
//! - tags must balance, and there must be exactly one root element;
//! - control characters (`\x00`–`\x1F`) in text are kept as they are: users type them, WeChat
//!   forwards them, and a strict parser would drop the message;
//! - attributes, comments, processing instructions and unknown elements are skipped;
//! - text is never trimmed; the text of an element that has child elements is ignored.
//!
//! ```
//! use wechat_core::xml::Document;
//!
//! let doc = Document::parse("<xml><Content><![CDATA[hi]]></Content><n>1 &amp; 2</n></xml>")?;
//! assert_eq!(doc.root().child_text("Content"), Some("hi"));
//! assert_eq!(doc.root().child_text("n"), Some("1 & 2"));
//! # Ok::<(), wechat_core::Error>(())
//! ```
//!
//! [`ErrorKind::XmlDoctype`]: crate::ErrorKind::XmlDoctype

mod document;
mod scan;
mod write;

pub use document::{Children, Document, Element};
pub use write::push_cdata;
pub(crate) use write::push_cdata_element;

/// Deepest nesting accepted; WeChat's deepest message nests 5 levels.
pub const MAX_DEPTH: usize = 32;

/// Largest document accepted, in bytes. WeChat's callbacks are a few KiB at most.
pub const MAX_INPUT_BYTES: usize = 1024 * 1024;

/// Most elements accepted in one document.
pub const MAX_ELEMENTS: usize = 4096;
