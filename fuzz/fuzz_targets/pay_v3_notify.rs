//! WeChat Pay APIv3 notifications (`wechat_core::pay::v3`): the JSON body, the headers, the
//! AES-256-GCM resource and the typed payment and refund inside it, with the fixed keys of the
//! shared vectors (`data/`: the RSA test key pair as WeChat Pay's key under the serial of
//! `generated_transaction_notify`, the wechatpay-go test certificate, APIv3 key
//! `0123456789abcdefghijABCDEFGHIJ01`). Every input goes down four paths:
//!
//! - **A** the bytes are the notification body. `Notification::from_json` and the typed decoders
//!   are compared with a reference reading of the same JSON (`serde_json::Value` plus the field
//!   list of each type): a body the reference accepts decodes to the same fields, one it refuses
//!   is refused, and a decoded value survives serialize → decode. `Resource::decrypt` is compared
//!   with an AES-256-GCM decryption here (algorithm, nonce length, base64, tag, UTF-8, in that
//!   order). On a sample of inputs (see [`SAMPLE`]) the body also goes through
//!   `parse_notification`: with each vector's fixed signature (it verifies only for the vector's
//!   own body) and with a signature computed here over the fuzzed body (so the result must equal
//!   the unverified decoding exactly, and changing the signed nonce must make it fail).
//! - **B** the bytes, split at `\n`, are `Wechatpay-Timestamp`, `-Nonce`, `-Signature`, `-Serial`
//!   and the body: `Verifier::verify_notify` must give the documented error of the first header
//!   at fault, and a success must be the exact signature of that message by that serial's key.
//! - **C** the bytes are `mode(1) ‖ plaintext`: the plaintext is encrypted here (AES-256-GCM under
//!   the APIv3 key, as raw bytes, so a plaintext that is not UTF-8 reaches the library's UTF-8
//!   check) into a notification of the kind `mode` picks, so the decrypted-JSON decoding is
//!   reached with chosen text; `encrypt_resource` must equal the reference encryption, decrypting
//!   must give the plaintext back, and the payment/refund decoding is checked as in A. On the
//!   sample, the body is signed and `parse_notification` → `transaction()`/`refund()` must equal
//!   the direct decoding.
//!
//! The RSA steps run on a sample: RSA-2048 signing costs about 2 ms and verifying 0.2 ms in a
//! plain release build, and tens of times that with the fuzzer's coverage instrumentation,
//! against tens of microseconds for everything else; signing every input would cap the target
//! at a few hundred executions a second. The sample is one input in [`SAMPLE`] (2048), chosen
//! by a hash of the input so that a replay takes the same steps; the decoding behind the
//! signature is the same code, fuzzed on every input, and path B's header checks run on every
//! input (only its final RSA step is sampled).

#![no_main]

use std::collections::HashSet;
use std::fmt;
use std::sync::LazyLock;

use aes_gcm::aead::{Aead, Payload};
use aes_gcm::{Aes256Gcm, KeyInit, Nonce};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use libfuzzer_sys::fuzz_target;
use serde::de::{DeserializeOwned, Error as _, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value, json};
use wechat_core::pay::PayErrorKind;
use wechat_core::pay::v3::{
    self, AEAD_AES_256_GCM, NONCE_LEN, Notification, NotifyHeaders, Refund, SigningKey,
    Transaction, Verifier,
};
use wechat_core::secret::ApiV3Key;

/// One input in this many (by a hash of its bytes) takes the RSA steps; the environment
/// variable `PAY_V3_RSA_SAMPLE` overrides it (`1`: every input, to replay a corpus in full).
static SAMPLE: LazyLock<u64> = LazyLock::new(|| {
    std::env::var("PAY_V3_RSA_SAMPLE")
        .ok()
        .and_then(|s| s.parse().ok())
        .filter(|&n| n > 0)
        .unwrap_or(2048)
});
const API_V3_KEY: &str = "0123456789abcdefghijABCDEFGHIJ01";
/// Path C's resource nonce (that of `generated_transaction_success`).
const RESOURCE_NONCE: &str = "fdasflkja484";
/// Path B's clock: six seconds after the generated vector's timestamp.
const NOW: u64 = 1_700_000_010;
const WINDOW: u64 = 300;

/// A notification vector of `pay_v3.json` (`signature_vectors`, kind `notify_verify`).
struct Vector {
    body: Vec<u8>,
    timestamp: String,
    nonce: String,
    signature: String,
    serial: String,
    /// Its own timestamp + 6 s, so the window check passes.
    now: u64,
    /// The resource plaintext, when the APIv3 key used here decrypts it.
    plaintext: Option<String>,
}

impl Vector {
    fn headers<'a>(&'a self, signature: &'a str) -> NotifyHeaders<'a> {
        NotifyHeaders {
            timestamp: &self.timestamp,
            nonce: &self.nonce,
            signature,
            serial: &self.serial,
        }
    }
}

struct Fixture {
    verifier: Verifier,
    /// The private half of the key `generated` is verified with (WeChat Pay's side).
    signer: SigningKey,
    key: ApiV3Key,
    /// `generated_transaction_notify`: our key pair, our APIv3 key.
    generated: Vector,
    /// `wechatpay_go_notify`: the wechatpay-go certificate; its 16-byte APIv3 key is no APIv3
    /// key, so with ours its resource fails the tag check.
    go: Vector,
}

static FIXTURE: LazyLock<Fixture> = LazyLock::new(|| {
    let vectors: Value =
        serde_json::from_str(include_str!("../data/pay_v3_notify_vectors.json")).expect("JSON");
    let vector = |id: &str| {
        let v = vectors
            .as_array()
            .expect("a list")
            .iter()
            .find(|v| v["id"] == id)
            .expect("vector present");
        let header = |name: &str| v["headers"][name].as_str().expect("header").to_owned();
        let timestamp = header("Wechatpay-Timestamp");
        let key_matches = v["apiv3_key"] == API_V3_KEY;
        Vector {
            body: v["body"].as_str().expect("body").as_bytes().to_vec(),
            now: timestamp.parse::<u64>().expect("number") + 6,
            timestamp,
            nonce: header("Wechatpay-Nonce"),
            signature: header("Wechatpay-Signature"),
            serial: header("Wechatpay-Serial"),
            plaintext: key_matches.then(|| {
                v["expected_resource_plaintext"]
                    .as_str()
                    .expect("plaintext")
                    .to_owned()
            }),
        }
    };
    let (generated, go) = (
        vector("generated_transaction_notify"),
        vector("wechatpay_go_notify"),
    );
    let mut verifier = Verifier::new();
    verifier
        .add_public_key_pem(
            &generated.serial,
            include_str!("../data/pay_v3_test_pub.pem"),
        )
        .expect("public key");
    let serial = verifier
        .add_certificate_pem(include_str!("../data/pay_v3_wechatpay_go_test_cert.pem"))
        .expect("certificate");
    assert_eq!(serial, go.serial);
    Fixture {
        verifier,
        signer: SigningKey::from_pkcs8_pem(include_str!("../data/pay_v3_test_key.pem"))
            .expect("private key"),
        key: ApiV3Key::new(API_V3_KEY),
        generated,
        go,
    }
});

fuzz_target!(|data: &[u8]| {
    let sampled = fnv1a(data).is_multiple_of(*SAMPLE);
    path_a_body(data, sampled);
    path_b_headers(data, sampled);
    path_c_plaintext(data, sampled);
});

fn fnv1a(data: &[u8]) -> u64 {
    data.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

// ---------------------------------------------------------------------------------------------
// A: the body.

fn path_a_body(body: &[u8], sampled: bool) {
    let f = &*FIXTURE;
    let decoded = Notification::from_json(body);
    check_typed(&decoded, body, NOTIFICATION);
    let unverified = decoded.map(|n| {
        let plaintext = n.resource.decrypt(&f.key);
        assert_eq!(
            kinds(&plaintext),
            kinds(&reference_decrypt(&n)),
            "Resource::decrypt differs from the reference"
        );
        if let Ok(text) = &plaintext {
            check_resource(text);
        }
        (n, plaintext)
    });
    if !sampled {
        return;
    }

    // The fixed signatures verify for their own body only, and are checked before the JSON.
    for vector in [&f.generated, &f.go] {
        let result = v3::parse_notification(
            &vector.headers(&vector.signature),
            body,
            &f.verifier,
            &f.key,
            vector.now,
            WINDOW,
        );
        if body == vector.body {
            match (&result, &vector.plaintext) {
                (Ok(verified), Some(plaintext)) => assert_eq!(&verified.plaintext, plaintext),
                (Err(err), None) => assert_eq!(err.kind(), &PayErrorKind::Decrypt),
                _ => panic!("vector body: {result:?}"),
            }
        } else {
            let err = result.expect_err("a fixed signature verified another body");
            assert_eq!(err.kind(), &PayErrorKind::InvalidSignature);
        }
    }

    // Signed here: past the signature, the result is the unverified decoding, exactly.
    let g = &f.generated;
    let signature = f
        .signer
        .sign(&v3::notify_message(&g.timestamp, &g.nonce, body));
    let result = v3::parse_notification(
        &g.headers(&signature),
        body,
        &f.verifier,
        &f.key,
        g.now,
        WINDOW,
    );
    match (&result, &unverified) {
        (Ok(verified), Ok((n, Ok(plaintext)))) => {
            assert_eq!(&verified.notification, n);
            assert_eq!(&verified.plaintext, plaintext);
            assert_eq!(
                kinds(&verified.transaction()),
                kinds(&serde_json::from_str::<Transaction>(plaintext).map_err(json_err))
            );
            assert_eq!(
                kinds(&verified.refund()),
                kinds(&serde_json::from_str::<Refund>(plaintext).map_err(json_err))
            );
            assert_eq!(
                verified.is_transaction(),
                n.event_type.starts_with("TRANSACTION.")
            );
            assert_eq!(verified.is_refund(), n.event_type.starts_with("REFUND."));
        }
        (Err(err), Ok((_, Err(expected)))) => assert_eq!(err.kind(), expected.kind()),
        (Err(err), Err(expected)) => assert_eq!(err.kind(), expected.kind()),
        _ => panic!("signed body: {result:?}, unverified: {unverified:?}"),
    }
    // The signature covers the nonce header: another one is refused before anything is read.
    let headers = NotifyHeaders {
        nonce: "another-nonce",
        ..g.headers(&signature)
    };
    let err = v3::parse_notification(&headers, body, &f.verifier, &f.key, g.now, WINDOW)
        .expect_err("signature verified under another nonce");
    assert_eq!(err.kind(), &PayErrorKind::InvalidSignature);
}

/// The reference reading of a resource: algorithm, nonce length, base64, AES-256-GCM tag, UTF-8.
fn reference_decrypt(n: &Notification) -> Result<String, PayErrorKind> {
    let r = &n.resource;
    if r.algorithm != AEAD_AES_256_GCM {
        return Err(PayErrorKind::InvalidField("resource.algorithm"));
    }
    if r.nonce.len() != NONCE_LEN {
        return Err(PayErrorKind::Decrypt);
    }
    let ciphertext = STANDARD
        .decode(&r.ciphertext)
        .map_err(|_| PayErrorKind::Decrypt)?;
    let plain = gcm()
        .decrypt(
            Nonce::from_slice(r.nonce.as_bytes()),
            Payload {
                msg: &ciphertext,
                aad: r.associated_data.as_bytes(),
            },
        )
        .map_err(|_| PayErrorKind::Decrypt)?;
    String::from_utf8(plain).map_err(|_| PayErrorKind::Decrypt)
}

fn gcm() -> Aes256Gcm {
    Aes256Gcm::new_from_slice(API_V3_KEY.as_bytes()).expect("32 bytes")
}

// ---------------------------------------------------------------------------------------------
// B: the headers.

fn path_b_headers(data: &[u8], sampled: bool) {
    let f = &*FIXTURE;
    let text = String::from_utf8_lossy(data);
    let mut parts = text.splitn(5, '\n');
    let mut next = || parts.next().unwrap_or_default();
    let (timestamp, nonce, signature, serial, body) = (next(), next(), next(), next(), next());
    let headers = NotifyHeaders {
        timestamp,
        nonce,
        signature,
        serial,
    };
    let expected = reference_headers(&headers);
    if matches!(&expected, Ok(decoded) if decoded.len() == 256) && !sampled {
        // Only the RSA step is left, and it costs milliseconds in an instrumented build.
        return;
    }
    let result = f
        .verifier
        .verify_notify(&headers, body.as_bytes(), NOW, WINDOW);
    match (&result, expected) {
        (Err(err), Err(kind)) => assert_eq!(err.kind(), &kind),
        (result, Ok(decoded)) => {
            let message = v3::notify_message(timestamp, nonce, body.as_bytes());
            if serial.eq_ignore_ascii_case(&f.go.serial) {
                // No private key for the wechatpay-go certificate: only its own message verifies.
                let own = v3::notify_message(&f.go.timestamp, &f.go.nonce, &f.go.body);
                if result.is_ok() {
                    assert_eq!(message, own, "the go certificate verified another message");
                }
            } else if result.is_ok() || decoded.len() == 256 {
                // Deterministic PKCS#1 v1.5: exactly one signature per message.
                let own = STANDARD
                    .decode(f.signer.sign(&message))
                    .expect("own base64");
                assert_eq!(result.is_ok(), decoded == own, "{result:?}");
            }
            if let Err(err) = result {
                assert_eq!(err.kind(), &PayErrorKind::InvalidSignature);
            }
        }
        (Ok(()), Err(kind)) => panic!("verified, the reference says {kind:?}"),
    }
}

/// The documented order of `verify_notify`'s checks, up to the RSA step: the decoded signature
/// when every earlier check passes.
fn reference_headers(h: &NotifyHeaders<'_>) -> Result<Vec<u8>, PayErrorKind> {
    let f = &*FIXTURE;
    for (value, name) in [
        (h.timestamp, "Wechatpay-Timestamp"),
        (h.nonce, "Wechatpay-Nonce"),
        (h.signature, "Wechatpay-Signature"),
        (h.serial, "Wechatpay-Serial"),
    ] {
        if value.is_empty() {
            return Err(PayErrorKind::InvalidHeader(name));
        }
    }
    let ts = h.timestamp;
    if ts.len() > 20 || !ts.bytes().all(|b| b.is_ascii_digit()) {
        return Err(PayErrorKind::InvalidHeader("Wechatpay-Timestamp"));
    }
    match ts.parse::<u64>() {
        Err(_) => return Err(PayErrorKind::InvalidHeader("Wechatpay-Timestamp")),
        Ok(ts) if ts.abs_diff(NOW) > WINDOW => return Err(PayErrorKind::StaleTimestamp),
        Ok(_) => {}
    }
    if !h.serial.eq_ignore_ascii_case(&f.generated.serial)
        && !h.serial.eq_ignore_ascii_case(&f.go.serial)
    {
        return Err(PayErrorKind::UnknownSerial(
            h.serial.chars().take(64).collect(),
        ));
    }
    STANDARD
        .decode(h.signature)
        .map_err(|_| PayErrorKind::InvalidHeader("Wechatpay-Signature"))
}

// ---------------------------------------------------------------------------------------------
// C: the resource plaintext.

/// `(event_type, original_type)` by the low two bits of the mode byte.
const KINDS: [(&str, &str); 4] = [
    ("TRANSACTION.SUCCESS", "transaction"),
    ("REFUND.SUCCESS", "refund"),
    ("REFUND.ABNORMAL", "refund"),
    ("PAYSCORE.USER_OPEN_SERVICE", "payscore"),
];

/// Mode bits 0–1 pick the kind ([`KINDS`]); bit 2 leaves `associated_data` empty (else it is
/// `original_type`, as WeChat Pay writes it).
fn path_c_plaintext(data: &[u8], sampled: bool) {
    let Some((&mode, plaintext)) = data.split_first() else {
        return;
    };
    let f = &*FIXTURE;
    let (event_type, original_type) = KINDS[usize::from(mode & 0b11)];
    let aad = if mode & 0b100 != 0 { "" } else { original_type };
    let ciphertext = STANDARD.encode(
        gcm()
            .encrypt(
                Nonce::from_slice(RESOURCE_NONCE.as_bytes()),
                Payload {
                    msg: plaintext,
                    aad: aad.as_bytes(),
                },
            )
            .expect("encrypts"),
    );
    let text = std::str::from_utf8(plaintext).ok();
    if let Some(text) = text {
        let own = v3::encrypt_resource(&f.key, RESOURCE_NONCE, aad, text).expect("encrypts");
        assert_eq!(own, ciphertext, "encrypt_resource differs from AES-256-GCM");
    }
    let body = match text {
        // The library's own builder, where it can say what we mean.
        Some(text) if aad == original_type => v3::notification_body(
            &f.key,
            "EV-1",
            event_type,
            original_type,
            RESOURCE_NONCE,
            text,
        )
        .expect("builds"),
        _ => json!({
            "id": "EV-1",
            "create_time": "2015-05-20T13:29:35+08:00",
            "resource_type": "encrypt-resource",
            "event_type": event_type,
            "summary": "",
            "resource": {
                "original_type": original_type,
                "algorithm": AEAD_AES_256_GCM,
                "ciphertext": ciphertext,
                "associated_data": aad,
                "nonce": RESOURCE_NONCE,
            },
        })
        .to_string(),
    };
    let n = Notification::from_json(body.as_bytes()).expect("a notification built here parses");
    assert_eq!(n.resource.ciphertext, ciphertext);
    let decrypted = n.resource.decrypt(&f.key);
    match (&decrypted, text) {
        (Ok(d), Some(text)) => assert_eq!(d, text),
        (Err(err), None) => assert_eq!(err.kind(), &PayErrorKind::Decrypt),
        _ => panic!("decrypt of a chosen plaintext: {decrypted:?}"),
    }
    let Some(text) = text else { return };
    check_resource(text);
    if !sampled {
        return;
    }
    let g = &f.generated;
    let signature = f
        .signer
        .sign(&v3::notify_message(&g.timestamp, &g.nonce, body.as_bytes()));
    let verified = v3::parse_notification(
        &g.headers(&signature),
        body.as_bytes(),
        &f.verifier,
        &f.key,
        g.now,
        WINDOW,
    )
    .expect("a signed notification of our own verifies");
    assert_eq!(verified.plaintext, text);
    assert_eq!(verified.is_transaction(), mode & 0b11 == 0);
    assert_eq!(verified.is_refund(), matches!(mode & 0b11, 1 | 2));
    // A payment notification must name its transaction (the query answer of an unpaid order
    // may not).
    let payment = serde_json::from_str::<Transaction>(text)
        .map_err(json_err)
        .and_then(|t| {
            if t.transaction_id.is_empty() {
                Err(PayErrorKind::MissingField("transaction_id").into())
            } else {
                Ok(t)
            }
        });
    assert_eq!(kinds(&verified.transaction()), kinds(&payment));
    assert_eq!(
        kinds(&verified.refund()),
        kinds(&serde_json::from_str::<Refund>(text).map_err(json_err))
    );
}

// ---------------------------------------------------------------------------------------------
// The typed decoders against a reference reading.

/// A decrypted resource as a payment and as a refund.
fn check_resource(text: &str) {
    let transaction = serde_json::from_str::<Transaction>(text);
    check_typed(&transaction, text.as_bytes(), TRANSACTION);
    if let Ok(t) = &transaction {
        assert_eq!(t.is_success(), t.trade_state == "SUCCESS");
    }
    check_typed(
        &serde_json::from_str::<Refund>(text),
        text.as_bytes(),
        REFUND,
    );
}

/// How a field of the typed structs reads JSON (serde's derive, as declared in v3.rs).
#[derive(Clone, Copy)]
enum Kind {
    /// A string that must be present.
    Str,
    /// `#[serde(default)] String`: absent is `""`, `null` is refused.
    DefaultStr,
    /// A `u64` that must be present.
    U64,
    /// `Option<u64>`: absent or `null` is `None`.
    OptU64,
    /// `Option<String>`.
    OptStr,
    /// A nested struct that must be present.
    Obj(&'static [(&'static str, Kind)]),
    /// `Option<struct>`.
    OptObj(&'static [(&'static str, Kind)]),
    /// `#[serde(flatten)] Map<String, Value>` (the entry's name is unused): every key the
    /// schema does not name, kept as sent.
    Rest,
}

use Kind::{DefaultStr, Obj, OptObj, OptStr, OptU64, Rest, Str, U64};

const RESOURCE: &[(&str, Kind)] = &[
    ("algorithm", Str),
    ("ciphertext", Str),
    ("associated_data", DefaultStr),
    ("nonce", Str),
    ("original_type", DefaultStr),
];
const NOTIFICATION: &[(&str, Kind)] = &[
    ("id", Str),
    ("create_time", DefaultStr),
    ("event_type", Str),
    ("resource_type", DefaultStr),
    ("summary", DefaultStr),
    ("resource", Obj(RESOURCE)),
];
const AMOUNT: &[(&str, Kind)] = &[
    ("total", U64),
    ("payer_total", OptU64),
    ("currency", OptStr),
    ("payer_currency", OptStr),
];
const PAYER: &[(&str, Kind)] = &[("openid", DefaultStr)];
const TRANSACTION: &[(&str, Kind)] = &[
    ("mchid", Str),
    ("appid", Str),
    ("out_trade_no", Str),
    ("transaction_id", DefaultStr),
    ("trade_type", DefaultStr),
    ("trade_state", Str),
    ("trade_state_desc", DefaultStr),
    ("bank_type", DefaultStr),
    ("attach", DefaultStr),
    ("success_time", DefaultStr),
    ("payer", OptObj(PAYER)),
    ("amount", Obj(AMOUNT)),
    ("", Rest),
];
const REFUND_AMOUNT: &[(&str, Kind)] = &[
    ("total", U64),
    ("refund", U64),
    ("payer_total", OptU64),
    ("payer_refund", OptU64),
];
const REFUND: &[(&str, Kind)] = &[
    ("mchid", Str),
    ("out_trade_no", Str),
    ("transaction_id", Str),
    ("out_refund_no", Str),
    ("refund_id", Str),
    ("refund_status", Str),
    ("success_time", DefaultStr),
    ("user_received_account", DefaultStr),
    ("amount", Obj(REFUND_AMOUNT)),
];

/// Why the reference gives no verdict.
enum Undecided {
    /// A key appears twice in one object: serde's derive refuses a duplicate *field* but keeps
    /// going over a duplicate unknown key, `Value` keeps the last; no verdict.
    Duplicate,
    /// A struct given as a JSON array: serde's derive reads structs from sequences too (by field
    /// order), which WeChat never sends; no verdict.
    Sequence,
    /// Valid JSON grammar that `Value` refuses (a lone surrogate escape).
    LoneSurrogate,
    /// Not UTF-8: what the lossy text reads as, which an accepted value must equal (a refusal
    /// proves nothing: an invalid key refuses here, not in the lossy text).
    InvalidUtf8(Value),
}

/// The reference reading: `Ok(fields)` (every field of `schema`, defaults filled in, as the
/// typed value serializes), `Err(None)` for a body the typed decoding must refuse, `Err(Some)`
/// when the reference cannot tell.
fn reference_typed(bytes: &[u8], schema: &[(&str, Kind)]) -> Result<Value, Option<Undecided>> {
    let Ok(text) = std::str::from_utf8(bytes) else {
        // serde skips an unknown field's string without checking its UTF-8 (`Value` checks):
        // read the lossy text, where the known fields are the same, and take no refusal as
        // proof.
        let lossy = String::from_utf8_lossy(bytes);
        return match reference_typed(lossy.as_bytes(), schema) {
            Ok(value) => Err(Some(Undecided::InvalidUtf8(value))),
            Err(why) => Err(why),
        };
    };
    let value: Value = match serde_json::from_str(text) {
        Ok(value) => value,
        // `Value` refuses a lone surrogate escape (`"\ud800"`), which the JSON grammar allows and
        // serde skips unchecked in an unknown field: no verdict.
        Err(_) if serde_json::from_str::<IgnoredAny>(text).is_ok() => {
            return Err(Some(Undecided::LoneSurrogate));
        }
        Err(_) => return Err(None),
    };
    if serde_json::from_str::<NoDuplicateKeys>(text).is_err() {
        return Err(Some(Undecided::Duplicate));
    }
    normalize(&value, schema)
}

fn normalize(value: &Value, schema: &[(&str, Kind)]) -> Result<Value, Option<Undecided>> {
    let object = match value {
        Value::Object(object) => object,
        Value::Array(_) => return Err(Some(Undecided::Sequence)),
        _ => return Err(None),
    };
    let mut out = Map::new();
    for &(name, kind) in schema {
        if let Rest = kind {
            for (key, value) in object {
                let named = |&(known, kind): &(&str, Kind)| known == key && !matches!(kind, Rest);
                if !schema.iter().any(named) {
                    out.insert(key.clone(), value.clone());
                }
            }
            continue;
        }
        let field = object.get(name);
        let normal = match (kind, field) {
            (Str | DefaultStr | OptStr, Some(Value::String(s))) => Value::String(s.clone()),
            (DefaultStr, None) => Value::String(String::new()),
            (OptStr | OptU64 | OptObj(_), None | Some(Value::Null)) => Value::Null,
            (U64 | OptU64, Some(Value::Number(n))) => match n.as_u64() {
                Some(n) => Value::from(n),
                None => return Err(None),
            },
            (Obj(inner) | OptObj(inner), Some(v)) => normalize(v, inner)?,
            _ => return Err(None),
        };
        out.insert(name.to_owned(), normal);
    }
    Ok(Value::Object(out))
}

/// A typed decoding against the reference, and its serialize → decode round trip.
fn check_typed<T, E>(typed: &Result<T, E>, bytes: &[u8], schema: &[(&str, Kind)])
where
    T: Serialize + DeserializeOwned + PartialEq + fmt::Debug,
    E: fmt::Debug,
{
    match (typed, reference_typed(bytes, schema)) {
        (Ok(t), Ok(expected)) => assert_eq!(
            serde_json::to_value(t).expect("serializes"),
            expected,
            "decoded fields differ from the JSON"
        ),
        (Ok(t), Err(Some(Undecided::InvalidUtf8(lossy)))) => assert_eq!(
            serde_json::to_value(t).expect("serializes"),
            lossy,
            "accepted a body that is not UTF-8 with other fields"
        ),
        (Err(_), Err(None)) | (_, Err(Some(_))) => {}
        (Ok(t), Err(None)) => panic!("decoded {t:?}, the reference refuses it"),
        (Err(e), Ok(expected)) => panic!("refused ({e:?}), the reference reads {expected}"),
    }
    if let Ok(t) = typed {
        let text = serde_json::to_string(t).expect("serializes");
        let again: T = serde_json::from_str(&text).expect("its own JSON decodes");
        assert_eq!(&again, t, "serialize → decode changed the value");
    }
}

/// Deserializes any JSON and fails on a key repeated within one object.
struct NoDuplicateKeys;

impl<'de> Deserialize<'de> for NoDuplicateKeys {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(NoDuplicateKeysVisitor)
    }
}

struct NoDuplicateKeysVisitor;

impl<'de> Visitor<'de> for NoDuplicateKeysVisitor {
    type Value = NoDuplicateKeys;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
        Ok(NoDuplicateKeys)
    }
    fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
        Ok(NoDuplicateKeys)
    }
    fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
        Ok(NoDuplicateKeys)
    }
    fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
        Ok(NoDuplicateKeys)
    }
    fn visit_str<E>(self, _: &str) -> Result<Self::Value, E> {
        Ok(NoDuplicateKeys)
    }
    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(NoDuplicateKeys)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<NoDuplicateKeys>()?.is_some() {}
        Ok(NoDuplicateKeys)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut seen = HashSet::new();
        while let Some(key) = map.next_key::<String>()? {
            if !seen.insert(key) {
                return Err(A::Error::custom("duplicate key"));
            }
            map.next_value::<NoDuplicateKeys>()?;
        }
        Ok(NoDuplicateKeys)
    }
}

// ---------------------------------------------------------------------------------------------

fn json_err(e: serde_json::Error) -> wechat_core::pay::PayError {
    PayErrorKind::Json(e.to_string()).into()
}

/// A result with the error reduced to its kind, to compare outcomes.
fn kinds<T: PartialEq + Clone, E: ErrorKindOf>(r: &Result<T, E>) -> Result<T, PayErrorKind> {
    match r {
        Ok(t) => Ok(t.clone()),
        Err(e) => Err(e.kind_of()),
    }
}

trait ErrorKindOf {
    fn kind_of(&self) -> PayErrorKind;
}

impl ErrorKindOf for wechat_core::pay::PayError {
    fn kind_of(&self) -> PayErrorKind {
        self.kind().clone()
    }
}

impl ErrorKindOf for PayErrorKind {
    fn kind_of(&self) -> PayErrorKind {
        self.clone()
    }
}
