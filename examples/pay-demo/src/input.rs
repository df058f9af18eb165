//! What the shop accepts from a page: every field checked for length and characters before
//! anything is stored or sent to WeChat Pay, and refused with the field's name.

use serde_json::{Map, Value};

/// The largest request body the JSON routes read (a top-up is well under 1 KiB); larger
/// bodies get 413 before any parsing.
pub const MAX_REQUEST_BYTES: usize = 4096;
/// The longest `openid` accepted. WeChat's are 28 characters; 64 leaves room and no more.
pub const MAX_OPENID_LEN: usize = 64;
/// The longest unified-order `body` WeChat Pay accepts, in bytes (UTF-8).
pub const MAX_BODY_BYTES: usize = 128;
/// The longest product id.
pub const MAX_PRODUCT_ID_LEN: usize = 32;

/// A refused request: which field, and why. Answered as 400
/// `{"error": "<field>: <why>", "field": "<field>"}`; `field` is `request` when the body as a
/// whole is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    /// The field (`openid`, `total_fee`, `body`, `product_id`) or `request`.
    pub field: &'static str,
    /// Why, for a person.
    pub reason: String,
}

impl FieldError {
    fn new(field: &'static str, reason: impl Into<String>) -> Self {
        Self {
            field,
            reason: reason.into(),
        }
    }
}

impl std::fmt::Display for FieldError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.field, self.reason)
    }
}

fn is_id_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'-'
}

/// Checks an `openid`: 1 to [`MAX_OPENID_LEN`] of `A-Z a-z 0-9 _ -` (WeChat's are 28).
///
/// # Errors
///
/// Why it is refused.
pub(crate) fn openid(openid: &str) -> Result<(), &'static str> {
    if openid.is_empty() || openid.len() > MAX_OPENID_LEN || !openid.bytes().all(is_id_char) {
        return Err("1 to 64 characters of A-Z a-z 0-9 _ -");
    }
    Ok(())
}

/// Checks a unified-order `body` (what the pay sheet shows): not blank, at most
/// [`MAX_BODY_BYTES`] bytes of UTF-8, no control characters (they have no place on a receipt,
/// and NUL is not even valid XML).
///
/// # Errors
///
/// Why it is refused.
pub(crate) fn body(body: &str) -> Result<(), &'static str> {
    if body.trim().is_empty() {
        return Err("required, not blank");
    }
    if body.len() > MAX_BODY_BYTES {
        return Err("at most 128 bytes of UTF-8");
    }
    if body.chars().any(char::is_control) {
        return Err("no control characters");
    }
    Ok(())
}

/// Checks a product id: 1 to [`MAX_PRODUCT_ID_LEN`] of `A-Z a-z 0-9 _ -`.
///
/// # Errors
///
/// Why it is refused.
pub(crate) fn product_id(id: &str) -> Result<(), &'static str> {
    if id.is_empty() || id.len() > MAX_PRODUCT_ID_LEN || !id.bytes().all(is_id_char) {
        return Err("1 to 32 characters of A-Z a-z 0-9 _ -");
    }
    Ok(())
}

/// The fields of a JSON object body. Unknown fields are ignored: a product order that
/// carries a `total_fee` still costs the catalogue's price.
struct Fields(Map<String, Value>);

impl Fields {
    fn parse(json: &[u8]) -> Result<Self, FieldError> {
        match serde_json::from_slice(json) {
            Ok(Value::Object(map)) => Ok(Self(map)),
            Ok(_) => Err(FieldError::new("request", "a JSON object")),
            Err(e) => Err(FieldError::new("request", format!("not JSON: {e}"))),
        }
    }

    fn str(&self, field: &'static str) -> Result<&str, FieldError> {
        match self.0.get(field) {
            Some(Value::String(s)) => Ok(s),
            Some(_) => Err(FieldError::new(field, "a string")),
            None => Err(FieldError::new(field, "required")),
        }
    }

    fn checked_str(
        &self,
        field: &'static str,
        check: fn(&str) -> Result<(), &'static str>,
    ) -> Result<String, FieldError> {
        let value = self.str(field)?;
        check(value).map_err(|why| FieldError::new(field, why))?;
        Ok(value.to_owned())
    }
}

/// The body of `POST /orders`: a top-up (充值) of the amount the user picked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewOrder {
    /// The payer's `openid` under the app (from web authorization, 网页授权).
    pub openid: String,
    /// The amount in fen, within the configured bounds.
    pub total_fee: u64,
    /// What the pay sheet shows.
    pub body: String,
}

impl NewOrder {
    /// Reads `{"openid", "total_fee", "body"}` and checks each field; `total_fee` must be a
    /// whole number of fen from `min_fee` to `max_fee`.
    ///
    /// # Errors
    ///
    /// The first field refused.
    pub fn parse(json: &[u8], min_fee: u64, max_fee: u64) -> Result<Self, FieldError> {
        let fields = Fields::parse(json)?;
        let openid = fields.checked_str("openid", openid)?;
        let total_fee = match fields.0.get("total_fee") {
            Some(value) => value
                .as_u64()
                .filter(|fee| (min_fee..=max_fee).contains(fee)),
            None => return Err(FieldError::new("total_fee", "required")),
        }
        .ok_or_else(|| {
            FieldError::new(
                "total_fee",
                format!("a whole number of fen (分) from {min_fee} to {max_fee}"),
            )
        })?;
        let body = fields.checked_str("body", body)?;
        Ok(Self {
            openid,
            total_fee,
            body,
        })
    }
}

/// The body of `POST /orders/product`: a product of the catalogue, at its price.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewProductOrder {
    /// The payer's `openid`.
    pub openid: String,
    /// The product's id in the catalogue.
    pub product_id: String,
}

impl NewProductOrder {
    /// Reads `{"openid", "product_id"}` and checks each field (whether the product exists
    /// is the catalogue's business).
    ///
    /// # Errors
    ///
    /// The first field refused.
    pub fn parse(json: &[u8]) -> Result<Self, FieldError> {
        let fields = Fields::parse(json)?;
        Ok(Self {
            openid: fields.checked_str("openid", openid)?,
            product_id: fields.checked_str("product_id", product_id)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn top_up(json: &str) -> Result<NewOrder, FieldError> {
        NewOrder::parse(json.as_bytes(), 100, 10_000)
    }

    fn refused(json: &str) -> &'static str {
        top_up(json).unwrap_err().field
    }

    #[test]
    fn a_top_up_is_read_and_checked_field_by_field() {
        assert_eq!(
            top_up(
                r#"{"openid":"oUpVj5a-b_c0123456789012345678","total_fee":100,"body":"充值 Top-up","extra":1}"#
            ),
            Ok(NewOrder {
                openid: "oUpVj5a-b_c0123456789012345678".into(),
                total_fee: 100,
                body: "充值 Top-up".into(),
            })
        );
        for (json, field) in [
            ("[]", "request"),
            ("{", "request"),
            (r#"{"total_fee":100,"body":"x"}"#, "openid"),
            (r#"{"openid":1,"total_fee":100,"body":"x"}"#, "openid"),
            (r#"{"openid":"","total_fee":100,"body":"x"}"#, "openid"),
            (
                r#"{"openid":"o/../x","total_fee":100,"body":"x"}"#,
                "openid",
            ),
            (
                r#"{"openid":"o\u0000","total_fee":100,"body":"x"}"#,
                "openid",
            ),
            (r#"{"openid":"o","total_fee":99,"body":"x"}"#, "total_fee"),
            (
                r#"{"openid":"o","total_fee":10001,"body":"x"}"#,
                "total_fee",
            ),
            (r#"{"openid":"o","total_fee":0,"body":"x"}"#, "total_fee"),
            (r#"{"openid":"o","total_fee":-100,"body":"x"}"#, "total_fee"),
            (
                r#"{"openid":"o","total_fee":100.5,"body":"x"}"#,
                "total_fee",
            ),
            (
                r#"{"openid":"o","total_fee":"100","body":"x"}"#,
                "total_fee",
            ),
            (r#"{"openid":"o","total_fee":1e30,"body":"x"}"#, "total_fee"),
            (r#"{"openid":"o","body":"x"}"#, "total_fee"),
            (r#"{"openid":"o","total_fee":100}"#, "body"),
            (r#"{"openid":"o","total_fee":100,"body":"  "}"#, "body"),
            (
                r#"{"openid":"o","total_fee":100,"body":"a\u0000b"}"#,
                "body",
            ),
            (r#"{"openid":"o","total_fee":100,"body":"a\nb"}"#, "body"),
        ] {
            assert_eq!(refused(json), field, "{json}");
        }
        let long = format!(
            r#"{{"openid":"{}","total_fee":100,"body":"x"}}"#,
            "o".repeat(65)
        );
        assert_eq!(refused(&long), "openid");
        let exact = format!(
            r#"{{"openid":"{}","total_fee":100,"body":"x"}}"#,
            "o".repeat(64)
        );
        assert!(top_up(&exact).is_ok());
        // 128 bytes of UTF-8 pass, 129 do not (三 is 3 bytes).
        let body = format!(
            r#"{{"openid":"o","total_fee":100,"body":"{}ab"}}"#,
            "三".repeat(42)
        );
        assert!(top_up(&body).is_ok());
        let body = format!(
            r#"{{"openid":"o","total_fee":100,"body":"{}abc"}}"#,
            "三".repeat(42)
        );
        assert_eq!(refused(&body), "body");
        assert_eq!(
            top_up(r#"{"openid":"o","total_fee":5,"body":"x"}"#)
                .unwrap_err()
                .to_string(),
            "total_fee: a whole number of fen (分) from 100 to 10000"
        );
    }

    #[test]
    fn a_product_order_names_a_product_and_nothing_else() {
        assert_eq!(
            NewProductOrder::parse(br#"{"openid":"o1","product_id":"tea","total_fee":1}"#),
            Ok(NewProductOrder {
                openid: "o1".into(),
                product_id: "tea".into()
            })
        );
        for (json, field) in [
            (r#"{"openid":"o1"}"#, "product_id"),
            (r#"{"openid":"o1","product_id":"t e a"}"#, "product_id"),
            (r#"{"openid":"o1","product_id":7}"#, "product_id"),
            (r#"{"product_id":"tea"}"#, "openid"),
        ] {
            assert_eq!(
                NewProductOrder::parse(json.as_bytes()).unwrap_err().field,
                field,
                "{json}"
            );
        }
        let long = format!(r#"{{"openid":"o1","product_id":"{}"}}"#, "p".repeat(33));
        assert_eq!(
            NewProductOrder::parse(long.as_bytes()).unwrap_err().field,
            "product_id"
        );
    }
}
