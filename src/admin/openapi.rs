//! `GET /api/openapi.json`: the management API's OpenAPI document, kept true by a test that
//! checks every route of [`super::routes::ROUTES`] appears in it.

use bytes::Bytes;

use super::response::AdminReply;

/// The document, as served.
pub const OPENAPI_JSON: &str = include_str!("openapi.json");

/// The reply serving the document.
pub fn reply() -> AdminReply {
    AdminReply {
        status: 200,
        headers: Vec::new(),
        body: Bytes::from_static(OPENAPI_JSON.as_bytes()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::admin::routes::ROUTES;
    use crate::http::head::Method;

    fn method_name(m: Method) -> &'static str {
        match m {
            Method::Get => "get",
            Method::Post => "post",
            Method::Put => "put",
            Method::Delete => "delete",
            Method::Patch => "patch",
            Method::Head => "head",
            Method::Options => "options",
            Method::Other => "other",
        }
    }

    #[test]
    fn every_served_route_is_documented_and_nothing_else() {
        let doc: serde_json::Value = serde_json::from_str(OPENAPI_JSON).expect("valid JSON");
        assert_eq!(doc["openapi"], "3.1.0");
        let paths = doc["paths"].as_object().expect("paths");
        for r in ROUTES {
            let op = &paths
                .get(r.pattern)
                .unwrap_or_else(|| panic!("{} is not documented", r.pattern))
                [method_name(r.method)];
            assert!(
                op.is_object(),
                "{} {} is not documented",
                method_name(r.method),
                r.pattern
            );
            let responses = &op["responses"];
            assert!(
                responses["200"].is_object() || responses["201"].is_object(),
                "{}",
                r.pattern
            );
            // Public routes say so; protected ones document the 401.
            assert_eq!(
                op["security"].as_array().is_some_and(Vec::is_empty),
                r.public,
                "{} {}",
                method_name(r.method),
                r.pattern
            );
        }
        let documented: usize = paths
            .values()
            .map(|p| p.as_object().map_or(0, |m| m.len()))
            .sum();
        assert_eq!(
            documented,
            ROUTES.len(),
            "documented routes that are not served"
        );
    }

    #[test]
    fn every_reference_resolves() {
        let doc: serde_json::Value = serde_json::from_str(OPENAPI_JSON).expect("valid JSON");
        let mut refs = Vec::new();
        collect_refs(&doc, &mut refs);
        assert!(!refs.is_empty());
        for r in refs {
            let name = r
                .strip_prefix("#/components/schemas/")
                .unwrap_or_else(|| panic!("unexpected ref {r}"));
            assert!(doc["components"]["schemas"][name].is_object(), "{r}");
        }
    }

    fn collect_refs(v: &serde_json::Value, out: &mut Vec<String>) {
        match v {
            serde_json::Value::Object(m) => {
                if let Some(serde_json::Value::String(r)) = m.get("$ref") {
                    out.push(r.clone());
                }
                m.values().for_each(|v| collect_refs(v, out));
            }
            serde_json::Value::Array(a) => a.iter().for_each(|v| collect_refs(v, out)),
            _ => {}
        }
    }
}
