//! The client side of APIv3 in wechat-core: request signatures on *ring*, RSA-OAEP, the
//! `/v3/certificates` answer, expiry. Keys: `tests/vectors/pay_v3_test_key.pem` (and its public
//! key), and the wechatpay-go test certificate (see `tests/vectors/PROVENANCE.md`).

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use rsa::pkcs1v15;
use rsa::pkcs8::{DecodePrivateKey, DecodePublicKey};
use rsa::sha2::Sha256;
use rsa::signature::{SignatureEncoding, Signer};
use wechat_core::pay::PayErrorKind;
use wechat_core::pay::v3::{
    self, DecryptingKey, NotifyHeaders, SigningKey, Verifier, certificates_answer,
    decrypt_certificates, verify_certificates_answer,
};
use wechat_core::secret::ApiV3Key;

const KEY: &str = include_str!("vectors/pay_v3_test_key.pem");
const PUB: &str = include_str!("vectors/pay_v3_test_pub.pem");
const GO_CERT: &str = include_str!("vectors/pay_v3_wechatpay_go_test_cert.pem");
/// notAfter of the wechatpay-go test certificate: 2031-04-25T08:55:23Z.
const GO_CERT_NOT_AFTER: u64 = 1_934_873_723;
/// notBefore of the same certificate: 2021-04-27T08:55:23Z.
const GO_CERT_NOT_BEFORE: u64 = 1_619_513_723;

fn api_v3_key() -> ApiV3Key {
    ApiV3Key::new("0123456789abcdefghijABCDEFGHIJ01")
}

#[test]
fn ring_signatures_equal_the_rsa_crates_and_verify() {
    // PKCS#1 v1.5 is deterministic: the constant-time signer must give the very bytes the old
    // one gave, for any message.
    let ring_key = SigningKey::from_pkcs8_pem(KEY).unwrap();
    let rsa_key =
        pkcs1v15::SigningKey::<Sha256>::new(rsa::RsaPrivateKey::from_pkcs8_pem(KEY).unwrap());
    let mut verifier = Verifier::new();
    verifier.add_public_key_pem("PUB_KEY_ID_1", PUB).unwrap();
    for message in [
        &b""[..],
        b"GET\n/v3/certificates\n1700000000\nn\n\n",
        &[0xffu8; 3000],
    ] {
        let ours = ring_key.try_sign(message).unwrap();
        assert_eq!(ours, STANDARD.encode(rsa_key.sign(message).to_bytes()));
        assert_eq!(ring_key.sign(message), ours);
        verifier.verify("PUB_KEY_ID_1", message, &ours).unwrap();
    }
    assert_eq!(ring_key.bits(), 2048);
    assert_eq!(format!("{ring_key:?}"), "SigningKey([redacted])");
}

#[test]
fn signing_keys_refuse_what_is_not_an_rsa_private_key() {
    for pem in [
        PUB,
        GO_CERT,
        "",
        "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----",
    ] {
        assert!(matches!(
            SigningKey::from_pkcs8_pem(pem).unwrap_err().kind(),
            PayErrorKind::InvalidKey(_)
        ));
    }
}

#[test]
fn oaep_round_trip_and_tampering() {
    let mut verifier = Verifier::new();
    verifier.add_public_key_pem("PUB_KEY_ID_1", PUB).unwrap();
    let wechat = DecryptingKey::from_pkcs8_pem(KEY).unwrap();
    let a = verifier.encrypt("PUB_KEY_ID_1", "张三".as_bytes()).unwrap();
    let b = verifier.encrypt("PUB_KEY_ID_1", "张三".as_bytes()).unwrap();
    assert_ne!(a, b, "OAEP is randomised");
    assert_eq!(wechat.decrypt_str(&a).unwrap(), "张三");
    assert_eq!(wechat.decrypt_str(&b).unwrap(), "张三");
    // SHA-1 OAEP as the API demands: the rsa crate's own OAEP-SHA1 decrypts it too.
    let raw = STANDARD.decode(&a).unwrap();
    let sk = rsa::RsaPrivateKey::from_pkcs8_pem(KEY).unwrap();
    assert_eq!(
        sk.decrypt(rsa::Oaep::new::<sha1::Sha1>(), &raw).unwrap(),
        "张三".as_bytes()
    );
    // ... and an OAEP-SHA256 decryption does not (the hash is part of the padding).
    assert!(
        sk.decrypt(rsa::Oaep::new::<rsa::sha2::Sha256>(), &raw)
            .is_err()
    );
    let mut flipped = raw.clone();
    flipped[100] ^= 1;
    assert_eq!(
        wechat
            .decrypt(&STANDARD.encode(flipped))
            .unwrap_err()
            .kind(),
        &PayErrorKind::Decrypt
    );
    assert!(matches!(
        verifier.encrypt("PUB_KEY_ID_2", b"x").unwrap_err().kind(),
        PayErrorKind::UnknownSerial(_)
    ));
    assert_eq!(
        verifier
            .encrypt("PUB_KEY_ID_1", &[b'a'; 215])
            .unwrap_err()
            .kind(),
        &PayErrorKind::Encrypt
    );
    assert_eq!(format!("{wechat:?}"), "DecryptingKey([redacted])");
    let _ = rsa::RsaPublicKey::from_public_key_pem(PUB).unwrap();
}

#[test]
fn the_encryption_serial_prefers_the_public_key_then_the_newest_certificate() {
    let mut verifier = Verifier::new();
    assert_eq!(verifier.encryption_serial(), None);
    let serial = verifier.add_certificate_pem(GO_CERT).unwrap();
    assert_eq!(verifier.encryption_serial(), Some(serial));
    verifier.add_public_key_pem("PUB_KEY_ID_0114", PUB).unwrap();
    assert_eq!(
        verifier.encryption_serial().as_deref(),
        Some("PUB_KEY_ID_0114")
    );
}

#[test]
fn certificates_decrypt_check_their_serial_and_expiry() {
    let key = api_v3_key();
    let body = certificates_answer(&key, &[GO_CERT], "0123456789ab").unwrap();
    let certs = decrypt_certificates(body.as_bytes(), &key, 1_700_000_000).unwrap();
    assert_eq!(certs.len(), 1);
    assert_eq!(certs[0].serial_no, "D7CE59D1F522D701");
    assert_eq!(certs[0].not_after, GO_CERT_NOT_AFTER);

    // Expired: refused.
    assert_eq!(
        decrypt_certificates(body.as_bytes(), &key, GO_CERT_NOT_AFTER)
            .unwrap_err()
            .kind(),
        &PayErrorKind::ExpiredCertificate("D7CE59D1F522D701".into())
    );
    // Another APIv3 key (an attacker's answer): refused.
    let other = ApiV3Key::new("0123456789abcdefghijABCDEFGHIJ02");
    assert_eq!(
        decrypt_certificates(body.as_bytes(), &other, 1_700_000_000)
            .unwrap_err()
            .kind(),
        &PayErrorKind::Decrypt
    );
    // Listed under another serial: refused.
    let spliced = body.replace("D7CE59D1F522D701", "5157F09EFDC096DE15EBE81A47057A72");
    assert!(matches!(
        decrypt_certificates(spliced.as_bytes(), &key, 1_700_000_000)
            .unwrap_err()
            .kind(),
        PayErrorKind::CertificateMismatch(_)
    ));
    assert!(decrypt_certificates(br#"{"data":[]}"#, &key, 0).is_err());
    assert!(decrypt_certificates(b"not json", &key, 0).is_err());
}

#[test]
fn a_certificate_refuses_what_it_signs_after_it_expires() {
    let mut verifier = Verifier::new();
    let serial = verifier.add_certificate_pem(GO_CERT).unwrap();
    let headers = NotifyHeaders {
        timestamp: "1934873800",
        nonce: "n",
        signature: "AAAA",
        serial: &serial,
    };
    assert_eq!(
        verifier
            .verify_notify(&headers, b"{}", 1_934_873_800, 300)
            .unwrap_err()
            .kind(),
        &PayErrorKind::ExpiredCertificate(serial.clone())
    );
    // Before expiry, the same headers reach the signature check (and fail there).
    let headers = NotifyHeaders {
        timestamp: "1700000000",
        ..headers
    };
    assert_eq!(
        verifier
            .verify_notify(&headers, b"{}", 1_700_000_000, 300)
            .unwrap_err()
            .kind(),
        &PayErrorKind::InvalidSignature
    );
    // Before it is in force (beyond the window's skew), it signs nothing either.
    let early = (GO_CERT_NOT_BEFORE - 301).to_string();
    let headers = NotifyHeaders {
        timestamp: &early,
        ..headers
    };
    assert_eq!(
        verifier
            .verify_notify(&headers, b"{}", GO_CERT_NOT_BEFORE - 301, 300)
            .unwrap_err()
            .kind(),
        &PayErrorKind::CertificateNotYetValid(serial.clone())
    );
    // Within the window's skew of its notBefore, the signature is checked.
    let skewed = (GO_CERT_NOT_BEFORE - 300).to_string();
    let headers = NotifyHeaders {
        timestamp: &skewed,
        ..headers
    };
    assert_eq!(
        verifier
            .verify_notify(&headers, b"{}", GO_CERT_NOT_BEFORE - 300, 300)
            .unwrap_err()
            .kind(),
        &PayErrorKind::InvalidSignature
    );
    assert_eq!(verifier.remove_expired(GO_CERT_NOT_AFTER - 1), 0);
    assert_eq!(verifier.remove_expired(GO_CERT_NOT_AFTER), 1);
    assert!(verifier.is_empty());
}

#[test]
fn a_certificates_answer_must_be_signed_by_a_key_it_or_the_old_set_holds() {
    let key = api_v3_key();
    // The test key plays a public key here (we hold no private key of the Go certificate): an
    // answer signed by a key neither in it nor known is refused.
    let body = certificates_answer(&key, &[GO_CERT], "0123456789ab").unwrap();
    let signer = SigningKey::from_pkcs8_pem(KEY).unwrap();
    let signature = signer.sign(&v3::notify_message("1700000000", "n", body.as_bytes()));
    let headers = NotifyHeaders {
        timestamp: "1700000000",
        nonce: "n",
        signature: &signature,
        serial: "PUB_KEY_ID_1",
    };
    let empty = Verifier::new();
    assert!(matches!(
        verify_certificates_answer(&headers, body.as_bytes(), &key, &empty, 1_700_000_000, 300)
            .unwrap_err()
            .kind(),
        PayErrorKind::UnknownSerial(_)
    ));
    let mut known = Verifier::new();
    known.add_public_key_pem("PUB_KEY_ID_1", PUB).unwrap();
    let (certs, fresh) =
        verify_certificates_answer(&headers, body.as_bytes(), &key, &known, 1_700_000_000, 300)
            .unwrap();
    assert_eq!(certs.len(), 1);
    assert_eq!(fresh.serials(), vec!["D7CE59D1F522D701".to_owned()]);
    // Claiming the Go certificate signed it: the signature does not verify with its key.
    let forged = NotifyHeaders {
        serial: "D7CE59D1F522D701",
        ..headers
    };
    assert_eq!(
        verify_certificates_answer(&forged, body.as_bytes(), &key, &known, 1_700_000_000, 300)
            .unwrap_err()
            .kind(),
        &PayErrorKind::InvalidSignature
    );
}
