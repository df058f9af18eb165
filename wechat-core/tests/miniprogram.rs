//! `wechat_core::miniprogram` against the shared suite's `miniprogram_decrypt.json` (the official
//! WXBizDataCrypt sample, the official `rawData` signature example, and generated edge cases),
//! copied to `tests/vectors/` (see `tests/vectors/PROVENANCE.md`).
//!
//! Each group runs every vector, collects the failures and reports them all as
//! `Failed vector #i <id> (<source>): <detail>`.

#[macro_use]
mod support;

use serde::Deserialize;
use serde_json::Value;
use wechat_core::ErrorKind;
use wechat_core::miniprogram::{self, SessionAesKey};
use wechat_core::secret::SessionKey;

use support::{Report, load_json, source};

#[derive(Deserialize)]
struct VectorFile {
    decrypt_vectors: Vec<DecryptVector>,
    raw_data_signature_vectors: Vec<RawDataVector>,
    negative_vectors: Vec<NegativeVector>,
}

#[derive(Deserialize)]
struct DecryptVector {
    id: String,
    status: String,
    provenance: Option<String>,
    appid: String,
    session_key: String,
    iv: String,
    encrypted_data: String,
    expected_plaintext: String,
    expected: Value,
}

#[derive(Deserialize)]
struct RawDataVector {
    id: String,
    status: String,
    provenance: Option<String>,
    session_key: String,
    raw_data: String,
    signature: String,
    expect_valid: bool,
    computed_signature_of_this_raw_data: Option<String>,
}

#[derive(Deserialize)]
struct NegativeVector {
    id: String,
    base: String,
    check_appid: String,
    expected_error: String,
}

fn vectors() -> VectorFile {
    load_json("miniprogram_decrypt.json")
}

#[test]
fn decrypt_vectors() {
    let file = vectors();
    let mut report = Report::new("miniprogram_decrypt.json decrypt_vectors");
    for (i, v) in file.decrypt_vectors.iter().enumerate() {
        report.run(
            i,
            &v.id,
            &source(&v.status, v.provenance.as_deref()),
            || {
                let session_key = SessionKey::new(&*v.session_key);
                let data = miniprogram::decrypt(&session_key, &v.encrypted_data, &v.iv, &v.appid)
                    .map_err(|e| format!("decrypt: {e}"))?;
                ensure_eq!("plaintext", data.json(), v.expected_plaintext.as_str());
                let parsed: Value = data
                    .deserialize()
                    .map_err(|e| format!("deserialize: {e}"))?;
                ensure_eq!("JSON", &parsed, &v.expected);
                ensure_eq!(
                    "watermark.timestamp",
                    Some(data.timestamp()),
                    v.expected["watermark"]["timestamp"].as_u64(),
                );
                ensure_eq!(
                    "watermark.appid",
                    Some(data.watermark().appid.as_str()),
                    v.expected["watermark"]["appid"].as_str(),
                );
                // CBC with the same key and IV is deterministic: encrypting the plaintext again
                // gives WeChat's exact bytes.
                let key = SessionAesKey::parse(&v.session_key).map_err(|e| e.to_string())?;
                let again = key
                    .encrypt(&v.iv, v.expected_plaintext.as_bytes())
                    .map_err(|e| e.to_string())?;
                ensure_eq!("re-encrypted", again.as_str(), v.encrypted_data.as_str());
                ensure_eq!(
                    "decrypt_raw",
                    key.decrypt_raw(&v.encrypted_data, &v.iv)
                        .map_err(|e| e.to_string())?,
                    v.expected_plaintext.as_bytes().to_vec(),
                );
                Ok(())
            },
        );
    }
    report.finish(2);
}

#[test]
fn raw_data_signature_vectors() {
    let file = vectors();
    let mut report = Report::new("miniprogram_decrypt.json raw_data_signature_vectors");
    for (i, v) in file.raw_data_signature_vectors.iter().enumerate() {
        report.run(
            i,
            &v.id,
            &source(&v.status, v.provenance.as_deref()),
            || {
                let session_key = SessionKey::new(&*v.session_key);
                ensure_eq!(
                    "verify_raw_data",
                    miniprogram::verify_raw_data(&v.raw_data, &session_key, &v.signature),
                    v.expect_valid,
                );
                let expected = if v.expect_valid {
                    &v.signature
                } else {
                    v.computed_signature_of_this_raw_data
                        .as_ref()
                        .ok_or("a negative vector without its computed signature")?
                };
                ensure_eq!(
                    "sign_raw_data",
                    &miniprogram::sign_raw_data(&v.raw_data, &session_key),
                    expected,
                );
                Ok(())
            },
        );
    }
    report.finish(3);
}

#[test]
fn negative_vectors() {
    let file = vectors();
    let mut report = Report::new("miniprogram_decrypt.json negative_vectors");
    for (i, v) in file.negative_vectors.iter().enumerate() {
        report.run(i, &v.id, "generated", || {
            let base = file
                .decrypt_vectors
                .iter()
                .find(|d| d.id == v.base)
                .ok_or_else(|| format!("no base vector {}", v.base))?;
            ensure_eq!(
                "expected_error",
                v.expected_error.as_str(),
                "watermark appid mismatch",
            );
            let err = miniprogram::decrypt(
                &SessionKey::new(&*base.session_key),
                &base.encrypted_data,
                &base.iv,
                &v.check_appid,
            )
            .err()
            .ok_or("decrypted for another app id")?;
            ensure_eq!("error", err.kind(), &ErrorKind::AppIdMismatch);
            Ok(())
        });
    }
    report.finish(1);
}

/// The official sample with each input spoiled in turn: every failure is typed.
#[test]
fn official_sample_spoiled_inputs_give_typed_errors() {
    let file = vectors();
    let v = &file.decrypt_vectors[0];
    assert_eq!(v.id, "official_demo_userinfo");
    let key = SessionKey::new(&*v.session_key);
    let kind = |session_key: &SessionKey, data: &str, iv: &str| {
        miniprogram::decrypt(session_key, data, iv, &v.appid)
            .unwrap_err()
            .into_kind()
    };

    // Bad base64 of the data, the key and the IV.
    let mut bad = v.encrypted_data.clone();
    bad.insert(10, '*');
    assert_eq!(kind(&key, &bad, &v.iv), ErrorKind::InvalidBase64);
    assert_eq!(
        kind(
            &SessionKey::new("tiihtNczf5v6AKRyjwEUh*=="),
            &v.encrypted_data,
            &v.iv
        ),
        ErrorKind::InvalidSessionKey
    );
    assert_eq!(
        kind(&key, &v.encrypted_data, "r7BXXKkLb8qrSNn05n0q*A=="),
        ErrorKind::InvalidIv
    );

    // Bad lengths: a 24-byte key (AES-192 would be a different cipher), an 8-byte IV, data not
    // whole blocks.
    assert_eq!(
        kind(
            &SessionKey::new("tiihtNczf5v6AKRyjwEUhQAAAAAAAAAA"),
            &v.encrypted_data,
            &v.iv
        ),
        ErrorKind::InvalidSessionKey
    );
    assert_eq!(
        kind(&key, &v.encrypted_data, "r7BXXKkLb8o="),
        ErrorKind::InvalidIv
    );
    assert_eq!(
        kind(&key, &v.encrypted_data[..v.encrypted_data.len() - 4], &v.iv),
        ErrorKind::InvalidCiphertext
    );

    // A forged last block: the padding does not check out.
    let mut raw = base64_decode(&v.encrypted_data);
    let n = raw.len();
    raw[n - 17] ^= 0x55; // flips the last plaintext byte (the padding) through CBC
    assert_eq!(
        kind(&key, &base64_encode(&raw), &v.iv),
        ErrorKind::InvalidPadding
    );

    // A changed IV garbles the first block only: the JSON no longer parses.
    let mut iv = base64_decode(&v.iv);
    iv[0] ^= b'{' ^ b'[';
    let err = kind(&key, &v.encrypted_data, &base64_encode(&iv));
    assert_eq!(err, ErrorKind::InvalidJson);

    // Another user's session key.
    let other = SessionKey::new("HyVFkGl5F5OQWJZZaNzBBg==");
    let err = kind(&other, &v.encrypted_data, &v.iv);
    assert!(
        matches!(
            err,
            ErrorKind::InvalidPadding | ErrorKind::InvalidUtf8 | ErrorKind::InvalidJson
        ),
        "{err:?}"
    );
}

fn base64_decode(s: &str) -> Vec<u8> {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD
        .decode(s)
        .expect("vector base64")
}

fn base64_encode(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

// ---------------------------------------------------------------------------------------------
// Issue 16: forged user data (dropped blocks + a chosen IV)
// ---------------------------------------------------------------------------------------------

const APPID: &str = "wx4f4bc4dec97d474b";
const ATTACKER: &str = "oMalloryMalloryMalloryMa1234";
const ATTACKER_UNION: &str = "uMalloryMalloryMalloryMa1234";
const VICTIM: &str = "oGZUI0egBJY1zhBYw2KhdUfwVJJE";
const VICTIM_UNION: &str = "ocMvos6NjeKLIBqg5Mr9QjxrP1FA";
/// The attacker's own session key (theirs: they logged in).
const ATTACKER_KEY: &str = "MTExMTExMTExMTExMTExMQ==";
const GENUINE_IV: &str = "r7BXXKkLb8qrSNn05n0qiA==";

/// An attack built from the attacker's own data: the genuine plaintext, the index of the block
/// that the chosen IV rewrites (every block before it is dropped), that block's new text, and
/// the plaintext the forgery decrypts to.
struct Attack {
    genuine: String,
    block: usize,
    replacement: [u8; 16],
    forged: String,
}

/// `before` + a nickName ending with `claimed` + `after`, the nickName's filler chosen so that
/// `claimed` starts on a block boundary; the forgery replaces the block before it with
/// `replacement` (which opens the string of the key it names).
fn attack(before: &str, claimed: &str, after: &str, replacement: &[u8; 16]) -> Attack {
    let filler = "M".repeat(16 - before.len() % 16);
    let genuine = format!("{before}{filler}{claimed}{after}");
    let start = before.len() + filler.len();
    assert_eq!(start % 16, 0);
    let block = start / 16 - 1;
    let forged = format!(
        "{}{}",
        std::str::from_utf8(replacement).expect("an ASCII block"),
        &genuine[start..]
    );
    Attack {
        genuine,
        block,
        replacement: *replacement,
        forged,
    }
}

/// CBC, with C[−1] = IV: P[i] = D(C[i]) ⊕ C[i−1]. Keeping C[b].. and sending
/// IV' = C[b−1] ⊕ P[b] ⊕ P' makes the first block decrypt to D(C[b]) ⊕ IV' = P', and every
/// later block as before. The
/// attacker needs no key: only their own plaintext (which a server that echoes the data
/// shows them) and their own ciphertext.
fn forge(attack: &Attack, encrypted_data: &str, iv: &str) -> (String, String) {
    let ciphertext = base64_decode(encrypted_data);
    let iv = base64_decode(iv);
    let b = attack.block;
    let previous = if b == 0 {
        &iv[..]
    } else {
        &ciphertext[(b - 1) * 16..b * 16]
    };
    let known = &attack.genuine.as_bytes()[b * 16..(b + 1) * 16];
    let new_iv: Vec<u8> = (0..16)
        .map(|i| previous[i] ^ known[i] ^ attack.replacement[i])
        .collect();
    (base64_encode(&ciphertext[b * 16..]), base64_encode(&new_iv))
}

/// Encrypts the genuine data as WeChat would for the attacker, forges it, and checks that the
/// forgery decrypts (valid padding) to exactly the forged plaintext.
fn forged_blob(attack: &Attack) -> (String, String) {
    let key = SessionAesKey::parse(ATTACKER_KEY).expect("a valid key");
    let genuine = key
        .encrypt(GENUINE_IV, attack.genuine.as_bytes())
        .expect("a valid IV");
    let (data, iv) = forge(attack, &genuine, GENUINE_IV);
    assert_eq!(
        key.decrypt_raw(&data, &iv).expect("the forgery decrypts"),
        attack.forged.as_bytes(),
        "the forgery decrypts, padding and all"
    );
    (data, iv)
}

fn watermark_tail(unionid: &str) -> String {
    format!(
        r#"","gender":1,"language":"zh_CN","city":"Guangzhou","province":"Guangdong","country":"CN","avatarUrl":"http://wx.qlogo.cn/0","unionId":"{unionid}","watermark":{{"timestamp":1700000000,"appid":"{APPID}"}}}}"#
    )
}

/// In WeChat's order (`openId` first), the forgery drops the attacker's `openId` and names the
/// victim's: AES-CBC has no integrity, so the primitive accepts it. Only a comparison with the
/// session's openid can refuse it (`UserSession::decrypt` does; see wechat-tower).
#[test]
fn issue16_forged_open_id_decrypts_and_names_the_victim() {
    let attack = attack(
        &format!(r#"{{"openId":"{ATTACKER}","nickName":""#),
        VICTIM,
        &watermark_tail(ATTACKER_UNION),
        b"{     \"openId\":\"",
    );
    assert!(
        attack
            .forged
            .starts_with(&format!(r#"{{     "openId":"{VICTIM}","gender":1,"#))
    );
    let (data, iv) = forged_blob(&attack);
    let session_key = SessionKey::new(ATTACKER_KEY);
    let decrypted = miniprogram::decrypt(&session_key, &data, &iv, APPID)
        .expect("the primitive checks no identity: its documented limitation");
    assert_eq!(decrypted.json(), attack.forged);
    let value: Value = decrypted.deserialize().unwrap();
    assert_eq!(value["openId"], VICTIM);
    assert_eq!(value["unionId"], ATTACKER_UNION);
    assert_eq!(decrypted.open_id(), Some(VICTIM));
    assert_eq!(decrypted.union_id(), Some(ATTACKER_UNION));
    // The identity check, against the attacker's session, refuses it.
    assert_eq!(
        decrypted
            .verify_identity(ATTACKER, Some(ATTACKER_UNION))
            .unwrap_err()
            .into_kind(),
        ErrorKind::IdentityMismatch
    );

    // The genuine data, for comparison, names the attacker.
    let genuine = SessionAesKey::parse(ATTACKER_KEY)
        .unwrap()
        .encrypt(GENUINE_IV, attack.genuine.as_bytes())
        .unwrap();
    let genuine = miniprogram::decrypt(&session_key, &genuine, GENUINE_IV, APPID).unwrap();
    assert_eq!(genuine.open_id(), Some(ATTACKER));
    genuine
        .verify_identity(ATTACKER, Some(ATTACKER_UNION))
        .unwrap();
}

/// In sorted key order (`openId` after `nickName`, as `serde_json` writes a map), the forgery
/// names the victim first and keeps the attacker's `openId` after it: a parser that keeps the
/// last key (`serde_json::Value`) sees the attacker, one that keeps the first sees the victim.
/// Duplicate `openId`, `unionId` or `watermark` keys are refused.
#[test]
fn issue16_duplicate_identity_keys_are_refused() {
    let session_key = SessionKey::new(ATTACKER_KEY);
    let open_id = attack(
        r#"{"gender":1,"nickName":""#,
        VICTIM,
        &format!(
            r#"","openId":"{ATTACKER}","watermark":{{"timestamp":1700000000,"appid":"{APPID}"}}}}"#
        ),
        b"{     \"openId\":\"",
    );
    assert!(open_id.forged.starts_with(&format!(
        r#"{{     "openId":"{VICTIM}","openId":"{ATTACKER}","#
    )));
    let last_wins: Value = serde_json::from_str(&open_id.forged).unwrap();
    assert_eq!(last_wins["openId"], ATTACKER);

    let union_id = attack(
        &format!(r#"{{"openId":"{ATTACKER}","nickName":""#),
        VICTIM_UNION,
        &watermark_tail(ATTACKER_UNION),
        b"{    \"unionId\":\"",
    );
    assert!(
        union_id
            .forged
            .starts_with(&format!(r#"{{    "unionId":"{VICTIM_UNION}","gender":1,"#))
    );
    assert!(
        union_id
            .forged
            .contains(&format!(r#""unionId":"{ATTACKER_UNION}""#))
    );

    for attack in [open_id, union_id] {
        let (data, iv) = forged_blob(&attack);
        assert_eq!(
            miniprogram::decrypt(&session_key, &data, &iv, APPID)
                .unwrap_err()
                .into_kind(),
            ErrorKind::InvalidJson,
            "{}",
            attack.forged
        );
    }
}
