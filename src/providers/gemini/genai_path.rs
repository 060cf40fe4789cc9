//! The Google GenAI SDK's drop-in paths: `/genai/{v1beta,v1}/models[/{model}:{method}]`.
//!
//! The model sits in the path and may itself contain `/` (`provider/model`, sent raw by the
//! SDK or URL-encoded by other clients), so everything between `models/` and the last `:` is
//! the model.

use std::borrow::Cow;

/// Prefixes under which the GenAI routes are served (Bifrost's integration aliases included).
const PREFIXES: &[&str] = &[
    "/genai",
    "/litellm/genai",
    "/langchain/genai",
    "/pydanticai/genai",
];

/// What a `/genai` path asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GenaiOp {
    /// `:generateContent`
    Generate,
    /// `:streamGenerateContent`
    StreamGenerate,
    /// `:embedContent`
    EmbedContent,
    /// `:batchEmbedContents`
    BatchEmbedContents,
    /// `GET models`
    ListModels,
}

/// A parsed `/genai` path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GenaiPath<'p> {
    /// The operation.
    pub op: GenaiOp,
    /// The model named in the path, percent-decoded and without `models/` (empty for lists).
    pub model: Cow<'p, str>,
}

/// Parses a request path (without its query) as a GenAI SDK route.
pub fn parse(path: &str) -> Option<GenaiPath<'_>> {
    let rest = PREFIXES.iter().find_map(|p| path.strip_prefix(p))?;
    let rest = rest
        .strip_prefix("/v1beta")
        .or_else(|| rest.strip_prefix("/v1"))?;
    let rest = rest.strip_prefix("/models")?;
    if rest.is_empty() || rest == "/" {
        return Some(GenaiPath {
            op: GenaiOp::ListModels,
            model: Cow::Borrowed(""),
        });
    }
    let (model, method) = rest.strip_prefix('/')?.rsplit_once(':')?;
    let op = match method {
        "generateContent" => GenaiOp::Generate,
        "streamGenerateContent" => GenaiOp::StreamGenerate,
        "embedContent" => GenaiOp::EmbedContent,
        "batchEmbedContents" => GenaiOp::BatchEmbedContents,
        _ => return None,
    };
    let model = match percent_decode(model) {
        Cow::Borrowed(m) => Cow::Borrowed(m.strip_prefix("models/").unwrap_or(m)),
        Cow::Owned(m) => match m.strip_prefix("models/") {
            Some(stripped) => Cow::Owned(stripped.to_string()),
            None => Cow::Owned(m),
        },
    };
    if model.is_empty() {
        return None;
    }
    Some(GenaiPath { op, model })
}

/// Decodes `%XX` escapes (invalid ones are kept as they are).
fn percent_decode(s: &str) -> Cow<'_, str> {
    if !s.contains('%') {
        return Cow::Borrowed(s);
    }
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%'
            && let Some(v) = b
                .get(i + 1..i + 3)
                .and_then(|h| std::str::from_utf8(h).ok())
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        {
            out.push(v);
            i += 3;
            continue;
        }
        out.push(b[i]);
        i += 1;
    }
    Cow::Owned(String::from_utf8_lossy(&out).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn op_model(path: &str) -> Option<(GenaiOp, String)> {
        parse(path).map(|p| (p.op, p.model.into_owned()))
    }

    #[test]
    fn sdk_paths() {
        assert_eq!(
            op_model("/genai/v1beta/models/gemini-2.0-flash:generateContent"),
            Some((GenaiOp::Generate, "gemini-2.0-flash".into()))
        );
        assert_eq!(
            op_model("/genai/v1/models/gemini-2.0-flash:streamGenerateContent"),
            Some((GenaiOp::StreamGenerate, "gemini-2.0-flash".into()))
        );
        assert_eq!(
            op_model("/litellm/genai/v1beta/models/text-embedding-004:embedContent"),
            Some((GenaiOp::EmbedContent, "text-embedding-004".into()))
        );
        assert_eq!(
            op_model("/genai/v1beta/models/e:batchEmbedContents"),
            Some((GenaiOp::BatchEmbedContents, "e".into()))
        );
        for list in ["/genai/v1beta/models", "/genai/v1/models/"] {
            assert_eq!(
                op_model(list),
                Some((GenaiOp::ListModels, String::new())),
                "{list}"
            );
        }
    }

    #[test]
    fn provider_prefixed_models_raw_or_encoded() {
        for p in [
            "/genai/v1beta/models/openai/gpt-4o-mini:generateContent",
            "/genai/v1beta/models/openai%2Fgpt-4o-mini:generateContent",
            "/genai/v1beta/models/openai%2fgpt-4o-mini:generateContent",
            "/genai/v1beta/models/models%2Fopenai%2Fgpt-4o-mini:generateContent",
        ] {
            assert_eq!(
                op_model(p),
                Some((GenaiOp::Generate, "openai/gpt-4o-mini".into())),
                "{p}"
            );
        }
        assert_eq!(percent_decode("a%zzb%4"), "a%zzb%4");
    }

    #[test]
    fn other_paths() {
        for p in [
            "/genai/v1beta/models/x:countTokens",
            "/genai/v1beta/models/:generateContent",
            "/genai/v1beta/models/x",
            "/genai/v2/models/x:generateContent",
            "/genaix/v1beta/models",
            "/v1beta/models/x:generateContent",
            "/genai/v1beta/files",
        ] {
            assert!(parse(p).is_none(), "{p}");
        }
    }
}
