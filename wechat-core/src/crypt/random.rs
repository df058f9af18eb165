//! Random prefixes for safe-mode payloads, drawn from the OS CSPRNG in batches.
//!
//! A `getrandom` system call costs about half a microsecond here, a quarter of the whole cost of
//! encrypting a reply; one call for 32 prefixes costs a sixteenth of that per prefix. The bytes
//! are still the OS generator's, each used once. The prefix is not a secret (WeChat's design uses
//! it only to vary ciphertexts under a fixed IV), so a pool per thread is safe; secrets such as
//! session tokens draw from the OS directly instead.

use std::cell::RefCell;

use super::RANDOM_LEN;

const POOL_LEN: usize = RANDOM_LEN * 32;

struct Pool {
    bytes: [u8; POOL_LEN],
    used: usize,
}

thread_local! {
    static POOL: RefCell<Pool> = const { RefCell::new(Pool { bytes: [0; POOL_LEN], used: POOL_LEN }) };
}

/// 16 fresh bytes from the OS CSPRNG.
pub(crate) fn prefix() -> [u8; RANDOM_LEN] {
    POOL.with_borrow_mut(|pool| {
        if pool.used == POOL_LEN {
            refill(&mut pool.bytes);
            pool.used = 0;
        }
        let mut out = [0u8; RANDOM_LEN];
        out.copy_from_slice(&pool.bytes[pool.used..pool.used + RANDOM_LEN]);
        // Never hand out the same bytes twice.
        pool.bytes[pool.used..pool.used + RANDOM_LEN].fill(0);
        pool.used += RANDOM_LEN;
        out
    })
}

/// A nonce of 10 decimal digits (the shape of WeChat's own nonces) from the OS CSPRNG, for the
/// `Nonce` of reply envelopes.
#[must_use]
pub fn nonce() -> String {
    let random = prefix();
    let mut word = [0u8; 8];
    word.copy_from_slice(&random[..8]);
    format!("{:010}", u64::from_le_bytes(word) % 10_000_000_000)
}

fn refill(bytes: &mut [u8]) {
    // The OS generator fails only on platforms without one. The prefix is not a secret and a
    // reply still decrypts with any prefix, so failing the reply would help no one; fall back to
    // mixing the clock and a counter so prefixes keep varying.
    if getrandom::fill(bytes).is_err() {
        use std::hash::{BuildHasher, RandomState};
        for (i, chunk) in bytes.chunks_mut(8).enumerate() {
            let word = RandomState::new().hash_one(i).to_le_bytes();
            chunk.copy_from_slice(&word[..chunk.len()]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nonces_are_ten_digits() {
        let n = nonce();
        assert_eq!(n.len(), 10);
        assert!(n.bytes().all(|b| b.is_ascii_digit()));
    }

    #[test]
    fn prefixes_do_not_repeat_across_refills() {
        let prefixes: std::collections::HashSet<_> = (0..200).map(|_| prefix()).collect();
        assert_eq!(prefixes.len(), 200);
    }
}
