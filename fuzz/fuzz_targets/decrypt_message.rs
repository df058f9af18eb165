//! Safe-mode decryption (`MsgCrypt`) with the benchmark fixture's codec
//! (token `test_token`, key `abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG`, appid
//! `wx0123456789abcdef`), on four paths per input:
//!
//! - **A** the input is the POST body for `decrypt_message` with the fixture's fixed
//!   `msg_signature`; almost every mutation fails the signature, but the XML envelope is read
//!   first, and the fixture body itself (a seed) decrypts;
//! - **B** the input, as lossy UTF-8, is the `Encrypt` value: it is signed with
//!   `signature()` so `verify_and_decrypt` always gets past the signature, to base64 and beyond;
//! - **C** the input bytes are the ciphertext (base64-encoded for `verify_and_decrypt`); the result
//!   is compared with a reference decryption (AES-256-CBC here, then the payload rules);
//! - **D** the input describes a *plaintext* payload that the target encrypts itself, so the
//!   padding / length-prefix / app-id / UTF-8 checks behind the AES layer are reached with
//!   fuzzer-chosen values (random ciphertext almost never gets past the padding); the result is
//!   compared with the reference, and the valid UTF-8 message also goes through
//!   `encrypt_with_random` and back.
//!
//! Every plaintext that decrypts is fed to `Message::from_xml` and its accessors.

#![no_main]

use std::sync::LazyLock;

use aes::Aes256;
use aes::cipher::block_padding::NoPadding;
use aes::cipher::{BlockDecryptMut, BlockEncryptMut, KeyIvInit};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use libfuzzer_sys::fuzz_target;
use wechat_core::crypt::RANDOM_LEN;
use wechat_core::xml::Document;
use wechat_core::{AesKey, ErrorKind, MsgCrypt};
use wechat_fuzz::parse_and_check_message;

const TOKEN: &str = "test_token";
const KEY: &str = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG";
const APPID: &str = "wx0123456789abcdef";
/// The fixture's timestamp, nonce and the `msg_signature` of its `encrypted_body`.
const TIMESTAMP: &str = "1700000000";
const NONCE: &str = "1234567890";
const FIXED_SIGNATURE: &str = "f51ace043adab22571e0c8b75b3b915968bba022";
/// WeChat pads payloads (PKCS#7) to 32-byte blocks...
const BLOCK: usize = 32;
/// ...but a ciphertext of any whole number of AES blocks is decrypted (as the official
/// decryptors do), and only then is the padding checked.
const AES_BLOCK: usize = 16;

static CRYPT: LazyLock<MsgCrypt> =
    LazyLock::new(|| MsgCrypt::new(TOKEN, KEY, APPID).expect("fixture key is valid"));
static AES_KEY: LazyLock<[u8; 32]> =
    LazyLock::new(|| *AesKey::parse(KEY).expect("fixture key is valid").expose());

fuzz_target!(|data: &[u8]| {
    path_a_body(data);
    path_b_lossy_encrypt(data);
    path_c_ciphertext(data);
    path_d_plaintext(data);
});

/// The decrypted XML of any path goes through the message parser.
fn on_plaintext(xml: &str) {
    parse_and_check_message(xml);
}

fn path_a_body(body: &[u8]) {
    let result = CRYPT.decrypt_message(FIXED_SIGNATURE, TIMESTAMP, NONCE, body);
    let encrypt = Document::parse_bytes(body)
        .ok()
        .and_then(|doc| doc.root().child_text("Encrypt").map(str::to_owned));
    match (&result, &encrypt) {
        (Ok(xml), Some(encrypt)) => {
            assert_eq!(CRYPT.signature(TIMESTAMP, NONCE, encrypt), FIXED_SIGNATURE);
            assert_eq!(CRYPT.decrypt(encrypt).as_ref().ok(), Some(xml));
            on_plaintext(xml);
        }
        (Ok(_), None) => panic!("decrypt_message succeeded without an Encrypt element"),
        (Err(e), Some(encrypt)) => {
            let signed = CRYPT.signature(TIMESTAMP, NONCE, encrypt) == FIXED_SIGNATURE;
            assert_eq!(*e.kind() == ErrorKind::InvalidSignature, !signed, "{e:?}");
        }
        (Err(e), None) => assert!(
            !matches!(e.kind(), ErrorKind::InvalidSignature),
            "signature checked before the envelope was read"
        ),
    }
}

fn path_b_lossy_encrypt(data: &[u8]) {
    let encrypt = String::from_utf8_lossy(data);
    let signature = CRYPT.signature(TIMESTAMP, NONCE, &encrypt);
    assert_eq!(signature.len(), 40);
    assert!(
        signature
            .bytes()
            .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
    );
    let result = CRYPT.verify_and_decrypt(&signature, TIMESTAMP, NONCE, &encrypt);
    assert_eq!(
        format!("{result:?}"),
        format!("{:?}", CRYPT.decrypt(&encrypt)),
        "verify_and_decrypt with a valid signature differs from decrypt"
    );
    // The comparison is case-sensitive: an uppercased signature must be refused.
    let upper = signature.to_ascii_uppercase();
    if upper != signature {
        let err = CRYPT
            .verify_and_decrypt(&upper, TIMESTAMP, NONCE, &encrypt)
            .expect_err("uppercase msg_signature accepted");
        assert_eq!(err.kind(), &ErrorKind::InvalidSignature);
    }
    if let Ok(xml) = &result {
        on_plaintext(xml);
    }
}

fn path_c_ciphertext(ciphertext: &[u8]) {
    let encrypt = STANDARD.encode(ciphertext);
    let signature = CRYPT.signature(TIMESTAMP, NONCE, &encrypt);
    let result = CRYPT.verify_and_decrypt(&signature, TIMESTAMP, NONCE, &encrypt);
    let expected = if ciphertext.is_empty() || !ciphertext.len().is_multiple_of(AES_BLOCK) {
        Err(ErrorKind::InvalidCiphertext)
    } else {
        reference_payload(&aes_cbc(ciphertext, false))
    };
    assert_eq!(
        result.as_ref().map_err(|e| e.kind()),
        expected.as_ref(),
        "ciphertext path"
    );
    if let Ok(xml) = &result {
        on_plaintext(xml);
    }
}

/// Input layout: one mode byte, then the payload material.
///
/// - bit 0: append the right app id;
/// - bit 1: PKCS#7-pad to 32 bytes (else zero-extend to a whole 16-byte AES block and let the
///   fuzzer own the padding bytes);
/// - bit 2: frame it as WeChat does: `random(16) ‖ u32be(len + delta) ‖ message`, with the random
///   prefix taken from the first 16 bytes and `delta` the high nibble as a signed number (-8..=7),
///   so a wrong length prefix is one mutation away; else the material is the raw payload.
fn path_d_plaintext(data: &[u8]) {
    let Some((&mode, material)) = data.split_first() else {
        return;
    };
    let mut random = [0u8; RANDOM_LEN];
    let split = material.len().min(RANDOM_LEN);
    random[..split].copy_from_slice(&material[..split]);
    let message = &material[split..];

    let mut payload = if mode & 0b100 != 0 {
        let delta = i64::from((mode as i8) >> 4);
        let len = i64::try_from(message.len()).unwrap_or(i64::MAX) + delta;
        // A negative or oversized prefix wraps the way a corrupt 32-bit field would.
        let prefix = (len as u64 as u32).to_be_bytes();
        let mut p = Vec::with_capacity(RANDOM_LEN + 4 + message.len() + APPID.len() + BLOCK);
        p.extend_from_slice(&random);
        p.extend_from_slice(&prefix);
        p.extend_from_slice(message);
        p
    } else {
        material.to_vec()
    };
    if mode & 0b1 != 0 {
        payload.extend_from_slice(APPID.as_bytes());
    }
    if mode & 0b10 != 0 {
        let n = BLOCK - payload.len() % BLOCK;
        payload.resize(payload.len() + n, n as u8);
    } else {
        payload.resize(payload.len().div_ceil(AES_BLOCK) * AES_BLOCK, 0);
    }

    let ciphertext = aes_cbc(&payload, true);
    let encrypt = STANDARD.encode(&ciphertext);
    let signature = CRYPT.signature(TIMESTAMP, NONCE, &encrypt);
    let result = CRYPT.verify_and_decrypt(&signature, TIMESTAMP, NONCE, &encrypt);
    assert_eq!(
        result.as_ref().map_err(|e| e.kind()),
        reference_payload(&payload).as_ref(),
        "plaintext path, payload {payload:02x?}"
    );
    if let Ok(xml) = &result {
        on_plaintext(xml);
    }

    // The encrypt side: any UTF-8 message with any random prefix comes back unchanged.
    if let Ok(text) = std::str::from_utf8(message) {
        let encrypted = CRYPT.encrypt_with_random(text, &random);
        assert_eq!(
            CRYPT.decrypt(&encrypted).as_deref().ok(),
            Some(text),
            "round trip"
        );
    }
}

/// AES-256-CBC without padding, key and IV as WeChat derives them; `data` is whole AES blocks.
fn aes_cbc(data: &[u8], encrypt: bool) -> Vec<u8> {
    let key = &*AES_KEY;
    let iv: [u8; 16] = key[..16].try_into().expect("16 bytes");
    let mut buf = data.to_vec();
    let len = buf.len();
    if encrypt {
        cbc::Encryptor::<Aes256>::new(key.into(), &iv.into())
            .encrypt_padded_mut::<NoPadding>(&mut buf, len)
            .expect("whole blocks");
    } else {
        cbc::Decryptor::<Aes256>::new(key.into(), &iv.into())
            .decrypt_padded_mut::<NoPadding>(&mut buf)
            .expect("whole blocks");
    }
    buf
}

/// The reference reading of a decrypted payload, written from the protocol description:
/// whole AES blocks → PKCS#7 (1..=32) → `random(16) ‖ u32be(len) ‖ msg ‖ appid` → UTF-8, errors
/// in that order.
fn reference_payload(plain: &[u8]) -> Result<String, ErrorKind> {
    if plain.is_empty() || !plain.len().is_multiple_of(AES_BLOCK) {
        return Err(ErrorKind::InvalidCiphertext);
    }
    let pad = usize::from(plain[plain.len() - 1]);
    if pad == 0
        || pad > BLOCK
        || pad > plain.len()
        || plain[plain.len() - pad..]
            .iter()
            .any(|&b| usize::from(b) != pad)
    {
        return Err(ErrorKind::InvalidPadding);
    }
    let content = &plain[..plain.len() - pad];
    if content.len() < RANDOM_LEN + 4 {
        return Err(ErrorKind::InvalidLength);
    }
    let len_field = &content[RANDOM_LEN..RANDOM_LEN + 4];
    let msg_len = u64::from(u32::from_be_bytes(len_field.try_into().expect("4 bytes")));
    let msg_end = (RANDOM_LEN + 4) as u64 + msg_len;
    if msg_end > content.len() as u64 {
        return Err(ErrorKind::InvalidLength);
    }
    let msg_end = msg_end as usize;
    if &content[msg_end..] != APPID.as_bytes() {
        return Err(ErrorKind::AppIdMismatch);
    }
    String::from_utf8(content[RANDOM_LEN + 4..msg_end].to_vec()).map_err(|_| ErrorKind::InvalidUtf8)
}
