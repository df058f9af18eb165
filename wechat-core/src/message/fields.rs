//! Reading typed fields out of an element, with the errors that name the field.

use std::str::FromStr;

use crate::error::{ErrorKind, Result};
use crate::xml::Element;

/// Field accessors on an element, one per shape of field.
pub(crate) trait Fields {
    /// A field WeChat always sends.
    fn required(&self, name: &'static str) -> Result<String>;
    /// A field that may be absent.
    fn optional(&self, name: &str) -> Option<String>;
    /// A descriptive field: absent reads as empty.
    fn or_empty(&self, name: &str) -> String;
    /// A number WeChat always sends (surrounding whitespace allowed).
    fn number<T: FromStr>(&self, name: &'static str) -> Result<T>;
    /// A number that may be absent; absent or empty reads as `None`.
    fn optional_number<T: FromStr>(&self, name: &'static str) -> Result<Option<T>>;
}

impl Fields for Element<'_, '_> {
    fn required(&self, name: &'static str) -> Result<String> {
        self.child_text(name)
            .map(str::to_owned)
            .ok_or_else(|| ErrorKind::MissingField(name).into())
    }

    fn optional(&self, name: &str) -> Option<String> {
        self.child_text(name).map(str::to_owned)
    }

    fn or_empty(&self, name: &str) -> String {
        self.child_text(name).unwrap_or_default().to_owned()
    }

    fn number<T: FromStr>(&self, name: &'static str) -> Result<T> {
        let text = self.child_text(name).ok_or(ErrorKind::MissingField(name))?;
        text.trim()
            .parse()
            .map_err(|_| ErrorKind::InvalidField(name).into())
    }

    fn optional_number<T: FromStr>(&self, name: &'static str) -> Result<Option<T>> {
        match self.child_text(name).map(str::trim) {
            None | Some("") => Ok(None),
            Some(text) => text
                .parse()
                .map(Some)
                .map_err(|_| ErrorKind::InvalidField(name).into()),
        }
    }
}
