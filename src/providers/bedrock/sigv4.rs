//! AWS Signature Version 4 (`AWS4-HMAC-SHA256`) for Bedrock runtime requests.
//!
//! Written over `ring` (HMAC-SHA256 and SHA-256, already built for rustls) instead of the
//! `aws-sigv4` crate, which brings about 45 more crates (tokio, http, time, aws-smithy-*) for
//! what is a canonical string and four HMACs here. Checked against AWS's published
//! `get-vanilla` vector and against botocore on Bedrock-shaped requests (see the tests).
//!
//! Only what Bedrock needs: a POST without query string, the path already percent-encoded as
//! sent (AWS services other than S3 sign it encoded once more), and the signed headers
//! `content-type;host;x-amz-content-sha256;x-amz-date[;x-amz-security-token]`.

use std::fmt::Write as _;
use std::time::{SystemTime, UNIX_EPOCH};

use crate::store::clock::civil_from_days;

use ring::{digest, hmac};

/// The signing algorithm named in the `Authorization` header.
pub const ALGORITHM: &str = "AWS4-HMAC-SHA256";

/// Static AWS credentials.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    /// Access key id (`AKIA...`).
    pub access_key: String,
    /// Secret access key.
    pub secret_key: String,
    /// Session token of temporary credentials.
    pub session_token: Option<String>,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Secrets never reach logs.
        f.debug_struct("Credentials")
            .field("access_key", &self.access_key)
            .field("secret_key", &"<redacted>")
            .field(
                "session_token",
                &self.session_token.as_ref().map(|_| "<redacted>"),
            )
            .finish()
    }
}

/// One request to sign.
#[derive(Debug, Clone, Copy)]
pub struct SignRequest<'a> {
    /// HTTP method.
    pub method: &'a str,
    /// The `Host` header exactly as sent (with the port when not the default one).
    pub host: &'a str,
    /// Origin-form path as sent (percent-encoded), without query.
    pub path: &'a str,
    /// `Content-Type` as sent.
    pub content_type: &'a str,
    /// The body.
    pub body: &'a [u8],
    /// AWS region (`us-east-1`).
    pub region: &'a str,
    /// Service name in the credential scope (`bedrock`).
    pub service: &'a str,
}

/// The headers that carry a signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedHeaders {
    /// `Authorization`.
    pub authorization: String,
    /// `X-Amz-Date` (`YYYYMMDDTHHMMSSZ`).
    pub amz_date: String,
    /// `X-Amz-Content-Sha256` (hex SHA-256 of the body).
    pub content_sha256: String,
    /// `X-Amz-Security-Token`, for temporary credentials.
    pub security_token: Option<String>,
}

impl SignedHeaders {
    /// The headers as `(name, value)` pairs, ready to send.
    pub fn pairs(&self) -> impl Iterator<Item = (&'static str, &str)> {
        [
            ("Authorization", Some(self.authorization.as_str())),
            ("X-Amz-Date", Some(self.amz_date.as_str())),
            ("X-Amz-Content-Sha256", Some(self.content_sha256.as_str())),
            ("X-Amz-Security-Token", self.security_token.as_deref()),
        ]
        .into_iter()
        .filter_map(|(n, v)| Some((n, v?)))
    }
}

/// Signs `req` with `creds` at `now`.
pub fn sign(creds: &Credentials, req: &SignRequest<'_>, now: SystemTime) -> SignedHeaders {
    let amz_date = amz_date(now);
    let date = &amz_date[..8];
    let content_sha256 = hex(digest::digest(&digest::SHA256, req.body).as_ref());
    let token = creds.session_token.as_deref().filter(|t| !t.is_empty());

    let mut headers: Vec<(&str, &str)> = vec![
        ("content-type", req.content_type.trim()),
        ("host", req.host.trim()),
        ("x-amz-content-sha256", &content_sha256),
        ("x-amz-date", &amz_date),
    ];
    if let Some(t) = token {
        headers.push(("x-amz-security-token", t.trim()));
    }
    // Already in lexicographic order; kept sorted by construction.
    let signed_names: Vec<&str> = headers.iter().map(|(n, _)| *n).collect();
    let signed_names = signed_names.join(";");

    let mut canonical = String::with_capacity(256 + req.path.len());
    canonical.push_str(req.method);
    canonical.push('\n');
    canonical.push_str(&canonical_uri(req.path));
    canonical.push_str("\n\n"); // empty canonical query string
    for (name, value) in &headers {
        canonical.push_str(name);
        canonical.push(':');
        canonical.push_str(value);
        canonical.push('\n');
    }
    canonical.push('\n');
    canonical.push_str(&signed_names);
    canonical.push('\n');
    canonical.push_str(&content_sha256);

    let scope = format!("{date}/{}/{}/aws4_request", req.region, req.service);
    let string_to_sign = format!(
        "{ALGORITHM}\n{amz_date}\n{scope}\n{}",
        hex(digest::digest(&digest::SHA256, canonical.as_bytes()).as_ref())
    );
    let key = signing_key(&creds.secret_key, date, req.region, req.service);
    let signature = hex(hmac::sign(&key, string_to_sign.as_bytes()).as_ref());
    SignedHeaders {
        authorization: format!(
            "{ALGORITHM} Credential={}/{scope}, SignedHeaders={signed_names}, Signature={signature}",
            creds.access_key
        ),
        amz_date,
        content_sha256,
        security_token: token.map(str::to_string),
    }
}

/// `kSigning = HMAC(HMAC(HMAC(HMAC("AWS4" + secret, date), region), service), "aws4_request")`.
fn signing_key(secret: &str, date: &str, region: &str, service: &str) -> hmac::Key {
    let step = |key: &[u8], data: &str| {
        hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, key), data.as_bytes())
    };
    let k_date = step(format!("AWS4{secret}").as_bytes(), date);
    let k_region = step(k_date.as_ref(), region);
    let k_service = step(k_region.as_ref(), service);
    let k_signing = step(k_service.as_ref(), "aws4_request");
    hmac::Key::new(hmac::HMAC_SHA256, k_signing.as_ref())
}

/// The canonical URI: the path as sent, URI-encoded once more (every byte but the unreserved
/// ones and `/`), as every AWS service but S3 expects.
pub fn canonical_uri(path: &str) -> String {
    let path = if path.is_empty() { "/" } else { path };
    let mut out = String::with_capacity(path.len() + 16);
    for b in path.bytes() {
        if b == b'/' || is_unreserved(b) {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

/// Percent-encodes one path segment (RFC 3986 unreserved bytes stay), as the AWS SDKs encode a
/// model id or ARN placed in a path: `:` becomes `%3A`, `/` becomes `%2F`.
pub fn encode_segment(segment: &str) -> String {
    let mut out = String::with_capacity(segment.len() + 8);
    for b in segment.bytes() {
        if is_unreserved(b) {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

fn is_unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~')
}

fn hex(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

/// `YYYYMMDDTHHMMSSZ` for `now` (UTC).
pub fn amz_date(now: SystemTime) -> String {
    let secs = now.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let days = i64::try_from(secs / 86_400).unwrap_or(0);
    let rem = secs % 86_400;
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}{m:02}{d:02}T{:02}{:02}{:02}Z",
        rem / 3600,
        (rem / 60) % 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn at(secs: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(secs)
    }

    /// 2015-08-30T12:36:00Z, the date of AWS's SigV4 test suite.
    const SUITE_TIME: u64 = 1_440_938_160;
    /// 2024-05-01T12:30:45Z.
    const BOTOCORE_TIME: u64 = 1_714_566_645;

    #[test]
    fn dates() {
        assert_eq!(amz_date(at(SUITE_TIME)), "20150830T123600Z");
        assert_eq!(amz_date(at(BOTOCORE_TIME)), "20240501T123045Z");
        assert_eq!(amz_date(at(0)), "19700101T000000Z");
        // A leap day and the last second of a year.
        assert_eq!(amz_date(at(951_782_400)), "20000229T000000Z");
        assert_eq!(amz_date(at(1_704_067_199)), "20231231T235959Z");
    }

    #[test]
    fn aws_suite_signing_key_and_get_vanilla() {
        // AWS's `get-vanilla` test: GET / with only host and x-amz-date signed. Our signer always
        // signs content-type and the payload hash too, so the vector is recomputed from its
        // parts with the same primitives.
        let key = signing_key(
            "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
            "20150830",
            "us-east-1",
            "service",
        );
        let canonical = "GET\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
        let sts = format!(
            "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\n{}",
            hex(digest::digest(&digest::SHA256, canonical.as_bytes()).as_ref())
        );
        assert_eq!(
            hex(hmac::sign(&key, sts.as_bytes()).as_ref()),
            "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"
        );
    }

    #[test]
    fn bedrock_request_matches_botocore() {
        // Generated with botocore 1.44 `SigV4Auth(creds, "bedrock", "us-west-2")` on the same
        // request (Content-Type and X-Amz-Content-Sha256 set before signing).
        let creds = Credentials {
            access_key: "AKIAIOSFODNN7EXAMPLE".into(),
            secret_key: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY".into(),
            session_token: Some("FwoGZXIvYXdzEXAMPLETOKEN".into()),
        };
        let body = br#"{"messages":[{"role":"user","content":[{"text":"hi"}]}]}"#;
        let signed = sign(
            &creds,
            &SignRequest {
                method: "POST",
                host: "bedrock-runtime.us-west-2.amazonaws.com",
                path: "/model/anthropic.claude-3-haiku-20240307-v1%3A0/converse",
                content_type: "application/json",
                body,
                region: "us-west-2",
                service: "bedrock",
            },
            at(BOTOCORE_TIME),
        );
        assert_eq!(signed.amz_date, "20240501T123045Z");
        assert_eq!(
            signed.content_sha256,
            "c3335e07d6e89650bf94cb98664be69f8774dbc3198df221f113db0a59ea14f0"
        );
        assert_eq!(
            signed.authorization,
            "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20240501/us-west-2/bedrock/aws4_request, SignedHeaders=content-type;host;x-amz-content-sha256;x-amz-date;x-amz-security-token, Signature=9d6b56948fe2dc73cf62362a40038f68585d13c6d389064dc598f4b5a5f1bf1a"
        );
        assert_eq!(
            signed.security_token.as_deref(),
            Some("FwoGZXIvYXdzEXAMPLETOKEN")
        );
        let names: Vec<&str> = signed.pairs().map(|(n, _)| n).collect();
        assert_eq!(
            names,
            [
                "Authorization",
                "X-Amz-Date",
                "X-Amz-Content-Sha256",
                "X-Amz-Security-Token"
            ]
        );
    }

    #[test]
    fn arn_path_port_and_no_token_match_botocore() {
        let creds = Credentials {
            access_key: "AKIDEXAMPLE".into(),
            secret_key: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY".into(),
            session_token: None,
        };
        let id = "arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic.claude-3-haiku-20240307-v1:0";
        let path = format!("/model/{}/converse-stream", encode_segment(id));
        assert_eq!(
            path,
            "/model/arn%3Aaws%3Abedrock%3Aus-east-1%3A123456789012%3Ainference-profile%2Fus.anthropic.claude-3-haiku-20240307-v1%3A0/converse-stream"
        );
        let signed = sign(
            &creds,
            &SignRequest {
                method: "POST",
                host: "127.0.0.1:4566",
                path: &path,
                content_type: "application/json",
                body: b"{}",
                region: "us-east-1",
                service: "bedrock",
            },
            at(BOTOCORE_TIME),
        );
        assert_eq!(
            signed.authorization,
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20240501/us-east-1/bedrock/aws4_request, SignedHeaders=content-type;host;x-amz-content-sha256;x-amz-date, Signature=c61ef7890fe1241fa23142b529b2240e09c0e5ed89f654dcd9874352937f768d"
        );
        assert!(signed.security_token.is_none());
        assert_eq!(signed.pairs().count(), 3);
    }

    #[test]
    fn canonical_uri_double_encodes() {
        assert_eq!(
            canonical_uri("/model/a%3A0/converse"),
            "/model/a%253A0/converse"
        );
        assert_eq!(canonical_uri(""), "/");
        assert_eq!(encode_segment("a b/c~d"), "a%20b%2Fc~d");
    }

    #[test]
    fn debug_hides_secrets() {
        let creds = Credentials {
            access_key: "AKID".into(),
            secret_key: "topsecret".into(),
            session_token: Some("tok".into()),
        };
        let shown = format!("{creds:?}");
        assert!(shown.contains("AKID") && !shown.contains("topsecret") && !shown.contains("tok\""));
    }
}
