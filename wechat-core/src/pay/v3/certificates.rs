//! Platform certificates (平台证书) as `GET /v3/certificates` lists them: each encrypted with
//! the APIv3 key (AEAD_AES_256_GCM, associated data `certificate`), decrypted, read as X.509,
//! its serial checked against the `serial_no` it is listed under and its expiry against `now`.
//!
//! The answer is signed by one of the certificates it carries, so it is verified after
//! decryption ([`verify_certificates_answer`]): the bootstrap WeChat documents. What makes the
//! new certificates trustworthy is the AEAD under the APIv3 key, which only WeChat Pay and the
//! merchant hold; the signature then proves the answer was not replayed from elsewhere.

use serde::{Deserialize, Serialize};

use super::aead::{AEAD_AES_256_GCM, decrypt_resource, encrypt_resource};
use super::messages::NotifyHeaders;
use super::rsa::{Verifier, parse_certificate_pem, truncate};
use crate::pay::error::{PayError, PayErrorKind};
use crate::secret::ApiV3Key;

/// The path of the certificate download.
pub const CERTIFICATES_PATH: &str = "/v3/certificates";

/// The associated data WeChat Pay encrypts certificates with.
pub const CERTIFICATE_ASSOCIATED_DATA: &str = "certificate";

/// The answer of `GET /v3/certificates`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[non_exhaustive]
pub struct CertificatesAnswer {
    /// `data`: one entry per certificate in use (two during a rotation).
    pub data: Vec<EncryptedCertificate>,
}

/// One entry of [`CertificatesAnswer`].
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[non_exhaustive]
pub struct EncryptedCertificate {
    /// `serial_no`: the certificate's serial, upper-case hex.
    pub serial_no: String,
    /// `effective_time` (RFC 3339).
    #[serde(default)]
    pub effective_time: String,
    /// `expire_time` (RFC 3339).
    #[serde(default)]
    pub expire_time: String,
    /// `encrypt_certificate`.
    pub encrypt_certificate: EncryptCertificate,
}

/// The encrypted PEM of a certificate.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[non_exhaustive]
pub struct EncryptCertificate {
    /// `algorithm`: `AEAD_AES_256_GCM`.
    pub algorithm: String,
    /// `nonce`: 12 characters.
    pub nonce: String,
    /// `associated_data`: `certificate`.
    #[serde(default)]
    pub associated_data: String,
    /// `ciphertext`: base64.
    pub ciphertext: String,
}

/// A platform certificate, decrypted and checked.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct PlatformCertificate {
    /// The serial, upper-case hex.
    pub serial_no: String,
    /// The PEM.
    pub pem: String,
    /// `notBefore`, seconds since the epoch.
    pub not_before: u64,
    /// `notAfter`, seconds since the epoch.
    pub not_after: u64,
}

/// Decrypts and checks the certificates of a `/v3/certificates` answer (not its signature: see
/// [`verify_certificates_answer`]). Certificates that expired by `now` are left out.
///
/// # Errors
///
/// [`PayErrorKind::Json`] for a body that is not the answer; [`PayErrorKind::MissingField`]
/// (`data`) when it lists none; [`PayErrorKind::InvalidField`] for another algorithm; the
/// errors of [`decrypt_resource`] (a body not encrypted under this APIv3 key);
/// [`PayErrorKind::InvalidKey`] for a PEM that is not an RSA certificate;
/// [`PayErrorKind::CertificateMismatch`] for a certificate listed under another serial;
/// [`PayErrorKind::ExpiredCertificate`] when every certificate listed has expired.
pub fn decrypt_certificates(
    body: &[u8],
    key: &ApiV3Key,
    now: u64,
) -> Result<Vec<PlatformCertificate>, PayError> {
    let answer: CertificatesAnswer =
        serde_json::from_slice(body).map_err(|e| PayErrorKind::Json(e.to_string()))?;
    if answer.data.is_empty() {
        return Err(PayErrorKind::MissingField("data").into());
    }
    let mut out = Vec::with_capacity(answer.data.len());
    let mut expired = None;
    for entry in &answer.data {
        let enc = &entry.encrypt_certificate;
        if enc.algorithm != AEAD_AES_256_GCM {
            return Err(PayErrorKind::InvalidField("encrypt_certificate.algorithm").into());
        }
        let pem = decrypt_resource(key, &enc.nonce, &enc.associated_data, &enc.ciphertext)?;
        let cert = parse_certificate_pem(&pem)?;
        if !cert.serial.eq_ignore_ascii_case(entry.serial_no.trim()) {
            return Err(PayErrorKind::CertificateMismatch(truncate(&entry.serial_no, 64)).into());
        }
        if cert.not_after <= now {
            expired = Some(cert.serial);
            continue;
        }
        out.push(PlatformCertificate {
            serial_no: cert.serial,
            pem,
            not_before: cert.not_before,
            not_after: cert.not_after,
        });
    }
    match (out.is_empty(), expired) {
        (true, Some(serial)) => Err(PayErrorKind::ExpiredCertificate(serial).into()),
        _ => Ok(out),
    }
}

/// A verifier holding `certificates`.
///
/// # Errors
///
/// [`PayErrorKind::InvalidKey`] (never for the output of [`decrypt_certificates`]).
pub fn certificates_verifier(certificates: &[PlatformCertificate]) -> Result<Verifier, PayError> {
    let mut verifier = Verifier::new();
    for cert in certificates {
        verifier.add_certificate_pem(&cert.pem)?;
    }
    Ok(verifier)
}

/// Reads a `/v3/certificates` answer the documented way: decrypts and checks its certificates
/// ([`decrypt_certificates`]), then verifies the answer's headers with them (or with a key
/// `known` already holds, for an answer signed by a certificate of the previous set). Returns
/// the certificates and a verifier of exactly them.
///
/// # Errors
///
/// The errors of [`decrypt_certificates`] and [`Verifier::verify_notify`].
pub fn verify_certificates_answer(
    headers: &NotifyHeaders<'_>,
    body: &[u8],
    key: &ApiV3Key,
    known: &Verifier,
    now: u64,
    window_secs: u64,
) -> Result<(Vec<PlatformCertificate>, Verifier), PayError> {
    let certificates = decrypt_certificates(body, key, now)?;
    let fresh = certificates_verifier(&certificates)?;
    if fresh.contains(headers.serial) {
        fresh.verify_notify(headers, body, now, window_secs)?;
    } else {
        known.verify_notify(headers, body, now, window_secs)?;
    }
    Ok((certificates, fresh))
}

/// Builds a `/v3/certificates` answer for `pems` (WeChat Pay's side: mock servers and tests),
/// each encrypted under `key` with `nonce` (12 characters; give each answer a fresh one).
///
/// # Errors
///
/// [`PayErrorKind::InvalidKey`] for a PEM that is not an RSA certificate, and the errors of
/// [`encrypt_resource`].
pub fn certificates_answer(key: &ApiV3Key, pems: &[&str], nonce: &str) -> Result<String, PayError> {
    let mut data = Vec::with_capacity(pems.len());
    for pem in pems {
        let cert = parse_certificate_pem(pem)?;
        data.push(EncryptedCertificate {
            serial_no: cert.serial,
            effective_time: rfc3339_utc8(cert.not_before),
            expire_time: rfc3339_utc8(cert.not_after),
            encrypt_certificate: EncryptCertificate {
                algorithm: AEAD_AES_256_GCM.to_owned(),
                nonce: nonce.to_owned(),
                associated_data: CERTIFICATE_ASSOCIATED_DATA.to_owned(),
                ciphertext: encrypt_resource(key, nonce, CERTIFICATE_ASSOCIATED_DATA, pem)?,
            },
        });
    }
    serde_json::to_string(&CertificatesAnswer { data })
        .map_err(|e| PayErrorKind::Json(e.to_string()).into())
}

/// `secs` since the epoch as RFC 3339 in China Standard Time (`+08:00`), as WeChat writes
/// times.
#[must_use]
pub fn rfc3339_utc8(secs: u64) -> String {
    let local = secs.saturating_add(8 * 3600);
    let days = local / 86_400;
    let rem = local % 86_400;
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}+08:00",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// The civil date of a day count since 1970-01-01 (Howard Hinnant's algorithm).
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_in_china_time() {
        assert_eq!(rfc3339_utc8(0), "1970-01-01T08:00:00+08:00");
        assert_eq!(rfc3339_utc8(1_700_000_000), "2023-11-15T06:13:20+08:00");
        assert_eq!(rfc3339_utc8(951_782_400), "2000-02-29T08:00:00+08:00");
    }
}
