//! Reading typed fields out of an element, with the errors that name the field.

use std::ops::RangeInclusive;
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
    /// A float WeChat always sends, finite and within `range` (see [`LATITUDE`]).
    fn float_in(&self, name: &'static str, range: RangeInclusive<f64>) -> Result<f64>;
    /// A float that may be absent (`None`), else finite and within `range`.
    fn optional_float_in(
        &self,
        name: &'static str,
        range: RangeInclusive<f64>,
    ) -> Result<Option<f64>>;
}

/// Latitudes (`Location_X`, `Latitude`) accepted, in degrees.
///
/// Rust's `f64::from_str` takes `NaN`, `inf`, `Infinity` and turns `1e309` into infinity; none
/// of them is a place, and each poisons what follows (distance maths, JSON output, database
/// columns), so coordinates are refused at parse time unless finite and on the globe, with
/// [`ErrorKind::InvalidField`] naming the field. The ranges do not depend on the datum (WGS-84
/// or China's GCJ-02, which WeChat usually sends): both stay within ±90° / ±180°.
pub(crate) const LATITUDE: RangeInclusive<f64> = -90.0..=90.0;

/// Longitudes (`Location_Y`, `Longitude`) accepted, in degrees. See [`LATITUDE`].
pub(crate) const LONGITUDE: RangeInclusive<f64> = -180.0..=180.0;

/// Any finite float (`Precision`, in metres: no bound WeChat documents, so only finiteness).
pub(crate) const FINITE: RangeInclusive<f64> = f64::MIN..=f64::MAX;

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

    fn float_in(&self, name: &'static str, range: RangeInclusive<f64>) -> Result<f64> {
        let value: f64 = self.number(name)?;
        // `contains` is false for NaN and for ±inf outside the range.
        if range.contains(&value) {
            Ok(value)
        } else {
            Err(ErrorKind::InvalidField(name).into())
        }
    }

    fn optional_float_in(
        &self,
        name: &'static str,
        range: RangeInclusive<f64>,
    ) -> Result<Option<f64>> {
        match self.optional_number::<f64>(name)? {
            Some(value) if !range.contains(&value) => Err(ErrorKind::InvalidField(name).into()),
            value => Ok(value),
        }
    }
}
