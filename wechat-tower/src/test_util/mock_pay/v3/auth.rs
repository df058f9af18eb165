//! The check WeChat Pay runs on every v3 request: `Authorization: WECHATPAY2-SHA256-RSA2048
//! mchid="…",nonce_str="…",signature="…",timestamp="…",serial_no="…"` (fields in any order),
//! the signature by the merchant's certificate key over
//! `METHOD\nPATH?QUERY\ntimestamp\nnonce\nbody\n` with the request target and body exactly as
//! received, the timestamp within 5 minutes.

use wechat_core::pay::v3::Verifier;

/// The scheme of the header.
const SCHEME: &str = "WECHATPAY2-SHA256-RSA2048";

/// How far the request's timestamp may be from the mock's clock.
pub(super) const WINDOW_SECS: u64 = 300;

/// The fields of an `Authorization` header.
#[derive(Debug, Default, PartialEq, Eq)]
pub(super) struct Authorization<'a> {
    pub(super) mchid: &'a str,
    pub(super) nonce_str: &'a str,
    pub(super) signature: &'a str,
    pub(super) timestamp: &'a str,
    pub(super) serial_no: &'a str,
}

/// Parses the header: the scheme, then `key="value"` pairs separated by commas. A missing,
/// repeated, unknown-but-required or unquoted field fails.
pub(super) fn parse(header: &str) -> Option<Authorization<'_>> {
    let rest = header.strip_prefix(SCHEME)?.strip_prefix(' ')?;
    let mut out = Authorization::default();
    let mut seen = [false; 5];
    for pair in rest.split(',') {
        let (key, value) = pair.trim().split_once('=')?;
        let value = value.strip_prefix('"')?.strip_suffix('"')?;
        if value.contains('"') {
            return None;
        }
        let (slot, index) = match key {
            "mchid" => (&mut out.mchid, 0),
            "nonce_str" => (&mut out.nonce_str, 1),
            "signature" => (&mut out.signature, 2),
            "timestamp" => (&mut out.timestamp, 3),
            "serial_no" => (&mut out.serial_no, 4),
            _ => continue,
        };
        if seen[index] {
            return None;
        }
        seen[index] = true;
        *slot = value;
    }
    seen.iter().all(|s| *s).then_some(out)
}

/// What the mock expects of a request.
pub(super) struct Expect<'a> {
    pub(super) mchid: &'a str,
    pub(super) serial: &'a str,
    pub(super) merchant: &'a Verifier,
    pub(super) now: u64,
}

/// Checks a request; `Err` is the `message` of the 401 `SIGN_ERROR` answer.
pub(super) fn check(
    header: Option<&str>,
    method: &str,
    target: &str,
    body: &[u8],
    expect: &Expect<'_>,
) -> Result<(), &'static str> {
    let header = header.ok_or("Authorization 头缺失")?;
    let auth = parse(header).ok_or("Authorization 格式错误")?;
    if auth.mchid != expect.mchid {
        return Err("商户号与签名不匹配");
    }
    if !auth.serial_no.eq_ignore_ascii_case(expect.serial) {
        return Err("商户证书序列号有误");
    }
    let timestamp: u64 = auth.timestamp.parse().map_err(|_| "timestamp 格式错误")?;
    if timestamp.abs_diff(expect.now) > WINDOW_SECS {
        return Err("请求时间戳已过期");
    }
    if auth.nonce_str.is_empty() || auth.nonce_str.len() > 64 {
        return Err("nonce_str 格式错误");
    }
    let mut message = Vec::with_capacity(body.len() + 128);
    for part in [method, target, auth.timestamp, auth.nonce_str] {
        message.extend_from_slice(part.as_bytes());
        message.push(b'\n');
    }
    message.extend_from_slice(body);
    message.push(b'\n');
    expect
        .merchant
        .verify(expect.serial, &message, auth.signature)
        .map_err(|_| "签名错误")
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]

    use wechat_core::pay::v3::{SigningKey, authorization};

    use super::super::keys::{MERCHANT_CERT_PEM, MERCHANT_KEY_PEM, MERCHANT_SERIAL};
    use super::*;

    const NOW: u64 = 1_800_000_000;

    fn sign(method: &str, target: &str, ts: &str, body: &str) -> String {
        let key = SigningKey::from_pkcs8_pem(MERCHANT_KEY_PEM).unwrap();
        let message = format!("{method}\n{target}\n{ts}\nn0nce\n{body}\n");
        let signature = key.sign(message.as_bytes());
        authorization("1900000109", MERCHANT_SERIAL, ts, "n0nce", &signature)
    }

    fn run(
        header: Option<&str>,
        method: &str,
        target: &str,
        body: &str,
    ) -> Result<(), &'static str> {
        let mut merchant = Verifier::new();
        merchant.add_certificate_pem(MERCHANT_CERT_PEM).unwrap();
        let expect = Expect {
            mchid: "1900000109",
            serial: MERCHANT_SERIAL,
            merchant: &merchant,
            now: NOW,
        };
        check(header, method, target, body.as_bytes(), &expect)
    }

    #[test]
    fn a_signed_request_passes() {
        let h = sign("POST", "/v3/pay/transactions/jsapi", "1800000000", "{}");
        assert_eq!(
            run(Some(&h), "POST", "/v3/pay/transactions/jsapi", "{}"),
            Ok(())
        );
        let h = sign(
            "GET",
            "/v3/bill/tradebill?bill_date=2026-12-03",
            "1800000100",
            "",
        );
        assert_eq!(
            run(
                Some(&h),
                "GET",
                "/v3/bill/tradebill?bill_date=2026-12-03",
                ""
            ),
            Ok(())
        );
    }

    #[test]
    fn fields_in_any_order_with_spaces() {
        let h = sign("GET", "/v3/certificates", "1800000000", "");
        let auth = parse(&h).unwrap();
        let reordered = format!(
            "WECHATPAY2-SHA256-RSA2048 serial_no=\"{}\", timestamp=\"{}\", signature=\"{}\", nonce_str=\"{}\", mchid=\"{}\"",
            auth.serial_no, auth.timestamp, auth.signature, auth.nonce_str, auth.mchid
        );
        assert_eq!(run(Some(&reordered), "GET", "/v3/certificates", ""), Ok(()));
    }

    #[test]
    fn spliced_requests_fail() {
        let h = sign(
            "POST",
            "/v3/pay/transactions/jsapi",
            "1800000000",
            r#"{"a":1}"#,
        );
        // Another body, path, query or method under the same header.
        for (method, target, body) in [
            ("POST", "/v3/pay/transactions/jsapi", r#"{"a":2}"#),
            ("POST", "/v3/pay/transactions/native", r#"{"a":1}"#),
            ("POST", "/v3/pay/transactions/jsapi?x=1", r#"{"a":1}"#),
            ("PUT", "/v3/pay/transactions/jsapi", r#"{"a":1}"#),
        ] {
            assert_eq!(
                run(Some(&h), method, target, body),
                Err("签名错误"),
                "{method} {target}"
            );
        }
    }

    #[test]
    fn stale_missing_and_malformed_headers_fail() {
        let stale = sign("GET", "/v3/certificates", "1799999699", "");
        assert!(run(Some(&stale), "GET", "/v3/certificates", "").is_err());
        let future = sign("GET", "/v3/certificates", "1800000301", "");
        assert!(run(Some(&future), "GET", "/v3/certificates", "").is_err());
        assert!(run(None, "GET", "/v3/certificates", "").is_err());
        let good = sign("GET", "/v3/certificates", "1800000000", "");
        for bad in [
            good.replacen("WECHATPAY2-SHA256-RSA2048", "WECHATPAY2-SHA256-RSA4096", 1),
            good.replacen("mchid=\"1900000109\"", "mchid=\"1900000110\"", 1),
            good.replacen(MERCHANT_SERIAL, "5157F09EFDC096DE15EBE81A47057A72", 1),
            good.replacen("nonce_str=\"n0nce\"", "nonce_str=n0nce", 1),
            format!("{good},mchid=\"1900000109\""),
            good.replacen(",serial_no=", ",serial=", 1),
        ] {
            assert!(
                run(Some(&bad), "GET", "/v3/certificates", "").is_err(),
                "{bad}"
            );
        }
    }

    #[test]
    fn another_key_fails() {
        let stranger =
            SigningKey::from_pkcs8_pem(include_str!("../../keys/platform_a_key.pem")).unwrap();
        let signature = stranger.sign(b"GET\n/v3/certificates\n1800000000\nn0nce\n\n");
        let h = authorization(
            "1900000109",
            MERCHANT_SERIAL,
            "1800000000",
            "n0nce",
            &signature,
        );
        assert_eq!(
            run(Some(&h), "GET", "/v3/certificates", ""),
            Err("签名错误")
        );
    }
}
