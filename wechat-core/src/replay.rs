//! Freshness of a signed request: its `timestamp` must lie within a window around `now`.
//!
//! A valid signature proves who made a request, not when; without this check, a captured request
//! can be replayed forever. `now` is passed in, so this module reads no clock.
//!
//! ```
//! use wechat_core::replay;
//!
//! assert!(replay::check_timestamp("1700000100", 1700000000, 300).is_ok());
//! assert!(replay::check_timestamp("1699999000", 1700000000, 300).is_err());
//! // A window of 0 turns the check off (benchmarks replaying one fixed request).
//! assert!(replay::check_timestamp("1", 1700000000, 0).is_ok());
//! # Ok::<(), wechat_core::Error>(())
//! ```

use crate::error::{ErrorKind, Result};

/// The window WeChat's own samples and most SDKs accept: five minutes either way.
pub const DEFAULT_WINDOW_SECS: u64 = 300;

/// Checks that `timestamp` (decimal seconds) is within `window_secs` of `now` (seconds since the
/// Unix epoch), in either direction. A window of 0 disables the check but still requires a number.
///
/// # Errors
///
/// [`ErrorKind::InvalidTimestamp`] when `timestamp` is not a decimal number,
/// [`ErrorKind::StaleTimestamp`] when it lies outside the window.
pub fn check_timestamp(timestamp: &str, now: u64, window_secs: u64) -> Result<()> {
    if timestamp.is_empty()
        || timestamp.len() > 20
        || !timestamp.bytes().all(|b| b.is_ascii_digit())
    {
        return Err(ErrorKind::InvalidTimestamp.into());
    }
    let ts: u64 = timestamp.parse().map_err(|_| ErrorKind::InvalidTimestamp)?;
    if window_secs != 0 && ts.abs_diff(now) > window_secs {
        return Err(ErrorKind::StaleTimestamp.into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_the_edges_of_the_window() {
        assert!(check_timestamp("1000", 1300, 300).is_ok());
        assert!(check_timestamp("1600", 1300, 300).is_ok());
        assert_eq!(
            check_timestamp("999", 1300, 300).unwrap_err().kind(),
            &ErrorKind::StaleTimestamp
        );
        assert_eq!(
            check_timestamp("1601", 1300, 300).unwrap_err().kind(),
            &ErrorKind::StaleTimestamp
        );
    }

    #[test]
    fn rejects_non_numbers() {
        for bad in ["", "-1", "+1", "1.5", "abc", "99999999999999999999999"] {
            assert_eq!(
                check_timestamp(bad, 0, 0).unwrap_err().kind(),
                &ErrorKind::InvalidTimestamp,
                "{bad}"
            );
        }
    }
}
