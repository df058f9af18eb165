//! The SHA-1 signature WeChat puts on callbacks (`signature`, `msg_signature`) and that the
//! JS-SDK uses: the lowercase hex SHA-1 of the parts sorted byte-wise and concatenated.
//!
//! ```
//! use wechat_core::signature;
//!
//! // URL verification (服务器配置): sign(token, timestamp, nonce).
//! let sig = signature::sign(&["AAAAA", "1714036504", "1514711492"]);
//! assert_eq!(sig, "f464b24fc39322e44b38aa78f5edd27bd1441696");
//! assert!(signature::verify(&sig, &["AAAAA", "1714036504", "1514711492"]));
//! ```

use sha1::{Digest, Sha1};
use subtle::ConstantTimeEq;

/// Parts sorted on the stack up to this many; more spill to the heap.
const INLINE_PARTS: usize = 8;

/// Lowercase hex SHA-1 of `parts` sorted byte-wise and concatenated.
#[must_use]
pub fn sign(parts: &[&str]) -> String {
    let hex = sign_hex(parts);
    // The buffer holds ASCII hex digits only.
    hex.iter().map(|&b| char::from(b)).collect()
}

/// Checks `expected` against the signature of `parts` in constant time.
///
/// The comparison is case-sensitive: WeChat always sends lowercase hex.
#[must_use]
pub fn verify(expected: &str, parts: &[&str]) -> bool {
    let actual = sign_hex(parts);
    constant_time_eq(expected.as_bytes(), &actual)
}

/// Compares two byte strings in constant time (after a length check, which leaks only the length).
///
/// Whole 8-byte words are compared as `u64`s (with `subtle`, as the bytes are), which makes a
/// 40-character signature five comparisons instead of forty.
#[must_use]
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let (a_words, a_tail) = a.as_chunks::<8>();
    let (b_words, b_tail) = b.as_chunks::<8>();
    let mut equal = a_tail.ct_eq(b_tail);
    for (x, y) in a_words.iter().zip(b_words) {
        equal &= u64::from_ne_bytes(*x).ct_eq(&u64::from_ne_bytes(*y));
    }
    bool::from(equal)
}

/// The signature as 40 ASCII hex bytes, without allocating.
pub(crate) fn sign_hex(parts: &[&str]) -> [u8; 40] {
    let mut hasher = Sha1::new();
    if parts.len() <= INLINE_PARTS {
        let mut sorted = [""; INLINE_PARTS];
        sorted[..parts.len()].copy_from_slice(parts);
        let sorted = &mut sorted[..parts.len()];
        sorted.sort_unstable();
        sorted.iter().for_each(|p| hasher.update(p.as_bytes()));
    } else {
        let mut sorted = parts.to_vec();
        sorted.sort_unstable();
        sorted.iter().for_each(|p| hasher.update(p.as_bytes()));
    }
    hex_lower(&hasher.finalize().into())
}

fn hex_lower(digest: &[u8; 20]) -> [u8; 40] {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = [0u8; 40];
    for (i, byte) in digest.iter().enumerate() {
        out[2 * i] = DIGITS[usize::from(byte >> 4)];
        out[2 * i + 1] = DIGITS[usize::from(byte & 0x0f)];
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sorts_byte_wise_not_numerically() {
        // "1700000000" < "999" byte-wise.
        assert_eq!(sign(&["999", "1700000000"]), sign(&["1700000000", "999"]));
        assert_eq!(
            sign(&["a", "b", "c"]),
            "a9993e364706816aba3e25717850c26c9cd0d89d"
        );
    }

    #[test]
    fn verify_rejects_other_case_and_length() {
        let sig = sign(&["a", "b", "c"]);
        assert!(verify(&sig, &["c", "b", "a"]));
        assert!(!verify(&sig.to_uppercase(), &["a", "b", "c"]));
        assert!(!verify(&sig[..39], &["a", "b", "c"]));
        assert!(!verify("", &["a", "b", "c"]));
    }

    #[test]
    fn constant_time_eq_compares_every_byte() {
        let base: Vec<u8> = (0..43).collect();
        assert!(constant_time_eq(&base, &base.clone()));
        for i in 0..base.len() {
            let mut other = base.clone();
            other[i] ^= 1;
            assert!(!constant_time_eq(&base, &other), "byte {i}");
        }
        assert!(!constant_time_eq(&base, &base[..42]));
        assert!(constant_time_eq(b"", b""));
    }

    #[test]
    fn many_parts_spill_to_the_heap() {
        let parts = ["9", "8", "7", "6", "5", "4", "3", "2", "1", "0"];
        assert_eq!(sign(&parts), sign(&["0123456789"]));
    }
}
