//! Vertex hosts and per-model request paths.

use super::Publisher;
use crate::error::RequestType;

/// The default base URL for `region` (`global` has no regional host).
pub fn default_base_url(region: &str) -> Result<String, String> {
    if region == "global" {
        return Ok("https://aiplatform.googleapis.com".to_string());
    }
    // The region becomes part of a host name: refuse anything that could change the host.
    if region.is_empty()
        || !region
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    {
        return Err(format!(
            "vertex_key_config.region {region:?} is not a Google Cloud region"
        ));
    }
    Ok(format!("https://{region}-aiplatform.googleapis.com"))
}

/// `{base_path}/projects/{project}/locations/{region}/publishers/{p}/models/{model}{method}`,
/// each variable part percent-encoded as one segment; `None` when `op` is not served.
pub fn model_path(
    base_path: &str,
    project: &str,
    region: &str,
    publisher: Publisher,
    model: &str,
    op: RequestType,
) -> Option<String> {
    let method = publisher.method(op)?;
    let mut out = String::with_capacity(base_path.len() + project.len() + model.len() + 96);
    out.push_str(base_path);
    out.push_str("/projects/");
    push_segment(&mut out, project);
    out.push_str("/locations/");
    push_segment(&mut out, region);
    out.push_str("/publishers/");
    out.push_str(publisher.as_str());
    out.push_str("/models/");
    push_segment(&mut out, model.strip_prefix("models/").unwrap_or(model));
    out.push_str(method);
    Some(out)
}

/// Appends `s` percent-encoded so it stays one path segment (`@` is kept: Vertex model
/// versions use it, as in `claude-sonnet-4@20250514`).
fn push_segment(out: &mut String, s: &str) {
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'@') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_per_region() {
        assert_eq!(
            default_base_url("us-central1").as_deref(),
            Ok("https://us-central1-aiplatform.googleapis.com")
        );
        assert_eq!(
            default_base_url("global").as_deref(),
            Ok("https://aiplatform.googleapis.com")
        );
        assert!(default_base_url("evil.com/x").is_err());
        assert!(default_base_url("").is_err());
    }

    #[test]
    fn paths_per_publisher_and_op() {
        let p = model_path(
            "/v1",
            "proj",
            "us-east5",
            Publisher::Anthropic,
            "claude-sonnet-4@20250514",
            RequestType::ChatCompletionStream,
        );
        assert_eq!(
            p.as_deref(),
            Some(
                "/v1/projects/proj/locations/us-east5/publishers/anthropic/models/claude-sonnet-4@20250514:streamRawPredict"
            )
        );
        let g = model_path(
            "/v1",
            "p",
            "global",
            Publisher::Google,
            "gemini-2.5-flash",
            RequestType::ChatCompletionStream,
        );
        assert_eq!(
            g.as_deref(),
            Some(
                "/v1/projects/p/locations/global/publishers/google/models/gemini-2.5-flash:streamGenerateContent?alt=sse"
            )
        );
        let e = model_path(
            "/v1",
            "p",
            "r",
            Publisher::Google,
            "a/b",
            RequestType::Embedding,
        );
        assert_eq!(
            e.as_deref(),
            Some("/v1/projects/p/locations/r/publishers/google/models/a%2Fb:predict")
        );
        let none = model_path(
            "/v1",
            "p",
            "r",
            Publisher::Anthropic,
            "claude",
            RequestType::Embedding,
        );
        assert!(none.is_none());
    }
}
