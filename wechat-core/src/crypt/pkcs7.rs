//! PKCS#7 padding to 32-byte blocks, as WXBizMsgCrypt pads (RustCrypto's `Pkcs7` stops at 16).

use crate::error::{ErrorKind, Result};

/// The block size WeChat pads message payloads to.
pub(crate) const BLOCK: usize = 32;

/// Appends PKCS#7 padding to a multiple of [`BLOCK`] bytes (a whole block when already aligned).
pub(crate) fn pad(buf: &mut Vec<u8>) {
    let n = BLOCK - buf.len() % BLOCK;
    // n is in 1..=32, so the cast is lossless.
    buf.resize(buf.len() + n, n as u8);
}

/// The length of `buf` without its PKCS#7 padding (pad values 1..=32, all bytes equal).
pub(crate) fn unpadded_len(buf: &[u8]) -> Result<usize> {
    let Some(&last) = buf.last() else {
        return Err(ErrorKind::InvalidPadding.into());
    };
    let n = usize::from(last);
    if n == 0 || n > BLOCK || n > buf.len() {
        return Err(ErrorKind::InvalidPadding.into());
    }
    if buf[buf.len() - n..].iter().any(|&b| b != last) {
        return Err(ErrorKind::InvalidPadding.into());
    }
    Ok(buf.len() - n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aligned_input_gets_a_whole_block() {
        let mut buf = vec![7u8; 64];
        pad(&mut buf);
        assert_eq!(buf.len(), 96);
        assert!(buf[64..].iter().all(|&b| b == 32));
        assert_eq!(unpadded_len(&buf).unwrap(), 64);
    }

    #[test]
    fn pads_above_sixteen_round_trip() {
        for len in 0..100 {
            let mut buf = vec![0xAB; len];
            pad(&mut buf);
            assert_eq!(buf.len() % BLOCK, 0);
            assert_eq!(unpadded_len(&buf).unwrap(), len);
        }
    }

    #[test]
    fn rejects_bad_padding() {
        assert!(unpadded_len(&[]).is_err());
        assert!(unpadded_len(&[1, 2, 0]).is_err());
        assert!(unpadded_len(&[33; 33]).is_err());
        assert!(unpadded_len(&[1, 3, 3]).is_err());
        assert!(unpadded_len(&[5, 5]).is_err());
    }
}
