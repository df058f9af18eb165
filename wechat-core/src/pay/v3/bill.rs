//! Bills (账单): the `hash_value` of a trade or fund-flow bill checked against the bytes
//! downloaded. The download answer is not signed by WeChat Pay; the SHA-1 from the signed
//! answer that gave the URL is what proves the file.

use sha1::{Digest, Sha1};
use subtle::ConstantTimeEq;

use crate::pay::error::{PayError, PayErrorKind};

/// Hashes a bill as it streams in, then checks the hash against `hash_value`.
#[derive(Debug, Clone)]
pub struct BillHasher {
    hasher: Sha1,
}

impl BillHasher {
    /// A hasher for `hash_type` (`SHA1`, the only one APIv3 uses).
    ///
    /// # Errors
    ///
    /// [`PayErrorKind::InvalidField`] (`hash_type`) for another algorithm.
    pub fn new(hash_type: &str) -> Result<Self, PayError> {
        if !hash_type.eq_ignore_ascii_case("SHA1") {
            return Err(PayErrorKind::InvalidField("hash_type").into());
        }
        Ok(Self {
            hasher: Sha1::new(),
        })
    }

    /// Adds the next bytes.
    pub fn update(&mut self, chunk: &[u8]) {
        self.hasher.update(chunk);
    }

    /// Compares the hash of everything added with `hash_value` (hex, either case), in constant
    /// time.
    ///
    /// # Errors
    ///
    /// [`PayErrorKind::HashMismatch`].
    pub fn verify(self, hash_value: &str) -> Result<(), PayError> {
        let actual = crate::pay::sign::upper_hex(&self.hasher.finalize());
        let expected = hash_value.trim().to_ascii_uppercase();
        if actual.len() == expected.len()
            && bool::from(actual.as_bytes().ct_eq(expected.as_bytes()))
        {
            Ok(())
        } else {
            Err(PayErrorKind::HashMismatch.into())
        }
    }
}

/// The SHA-1 of `bytes` in lower-case hex, as `hash_value` carries it (WeChat's side: mock
/// servers and tests).
#[must_use]
pub fn bill_hash_value(bytes: &[u8]) -> String {
    crate::pay::sign::upper_hex(&Sha1::digest(bytes)).to_ascii_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_checks_in_chunks_and_refuses_a_changed_byte() {
        let bill = b"trade_time,transaction_id\n`2024-01-01 00:00:00,`4200001\n";
        let hash = bill_hash_value(bill);
        let mut hasher = BillHasher::new("SHA1").unwrap();
        for chunk in bill.chunks(7) {
            hasher.update(chunk);
        }
        hasher.verify(&hash).unwrap();
        let mut hasher = BillHasher::new("sha1").unwrap();
        hasher.update(&bill[1..]);
        assert_eq!(
            hasher.verify(&hash).unwrap_err().kind(),
            &PayErrorKind::HashMismatch
        );
        assert!(BillHasher::new("MD5").is_err());
        let hasher = BillHasher::new("SHA1").unwrap();
        assert!(hasher.verify("").is_err());
    }
}
