//! Fixed-price goods: the server's catalogue is where a product's price comes from, never the
//! request.

use serde::Serialize;

use crate::input;

/// A product of the catalogue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Product {
    /// The id a page orders it by: 1 to 32 of `A-Z a-z 0-9 _ -`.
    pub id: String,
    /// What WeChat's pay sheet shows (unified order's `body`, at most 128 bytes).
    pub name: String,
    /// The price in fen (分), more than 0.
    pub price: u64,
}

impl Product {
    /// A product.
    #[must_use]
    pub fn new(id: &str, name: &str, price: u64) -> Self {
        Self {
            id: id.to_owned(),
            name: name.to_owned(),
            price,
        }
    }

    /// The demo's noodle shop.
    #[must_use]
    pub fn demo_catalogue() -> Vec<Self> {
        vec![
            Self::new("beef-noodles", "pay-demo-牛肉面 Beef noodles", 1200),
            Self::new("dumplings", "pay-demo-饺子 Dumplings (12)", 1800),
            Self::new("jasmine-tea", "pay-demo-茉莉花茶 Jasmine tea", 500),
        ]
    }
}

/// The product `id` of `products`.
#[must_use]
pub(crate) fn find<'a>(products: &'a [Product], id: &str) -> Option<&'a Product> {
    products.iter().find(|p| p.id == id)
}

/// Checks a catalogue as the requests are checked: ids, names and prices WeChat Pay accepts,
/// no id twice.
///
/// # Errors
///
/// A message naming the product that is wrong.
pub(crate) fn validate(products: &[Product]) -> Result<(), String> {
    for (i, p) in products.iter().enumerate() {
        input::product_id(&p.id).map_err(|e| format!("product {i}: id {e}"))?;
        input::body(&p.name).map_err(|e| format!("product {}: name {e}", p.id))?;
        if p.price == 0 {
            return Err(format!("product {}: price is more than 0 fen", p.id));
        }
        if products[..i].iter().any(|q| q.id == p.id) {
            return Err(format!("product {}: listed twice", p.id));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_demo_catalogue_is_valid_and_bad_ones_are_named() {
        assert_eq!(validate(&Product::demo_catalogue()), Ok(()));
        for (bad, named) in [
            (vec![Product::new("tea", "Tea", 0)], "tea"),
            (vec![Product::new("t e a", "Tea", 1)], "product 0"),
            (vec![Product::new("tea", &"茶".repeat(43), 1)], "tea"),
            (
                vec![Product::new("tea", "Tea", 1), Product::new("tea", "Tea", 2)],
                "twice",
            ),
        ] {
            let err = validate(&bad).unwrap_err();
            assert!(err.contains(named), "{err}");
        }
    }
}
