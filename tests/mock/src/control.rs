//! The mock's own routes: `/health` and `/_mock/*` (script, recorded requests, stats, reset).
//!
//! These are never recorded, counted as inference traffic, or subject to the script.

use std::io;

use serde_json::{Value, json};

use crate::{
    dispatch::{Outcome, Req},
    faults::parse_steps,
    request::Method,
    response::Conn,
    state::Shared,
};

/// True for paths served by this module.
pub fn is_control(path: &str) -> bool {
    path == "/health" || path == "/_mock" || path.starts_with("/_mock/")
}

/// Serves a control route.
pub async fn handle(shared: &Shared, conn: &mut Conn, req: &Req<'_>) -> io::Result<Outcome> {
    let (status, body) = answer(shared, req.method(), req.path, req.body);
    conn.scratch.clear();
    // Serializing a `Value` into a Vec cannot fail.
    let _ = serde_json::to_writer(&mut conn.scratch, &body);
    conn.send_scratch(status, "application/json", req.close, &[])
        .await?;
    Ok(Outcome::Done)
}

fn answer(shared: &Shared, method: Method, path: &str, body: &[u8]) -> (u16, Value) {
    use Method::{Delete, Get, Post, Put};
    match (method, path) {
        (_, "/health") => (200, json!({"status": "ok"})),
        (Get, "/_mock/requests") => (200, shared.recorder.to_json()),
        (Delete, "/_mock/requests") => (200, json!({"cleared": shared.recorder.clear()})),
        (Get, "/_mock/stats") => (200, shared.stats.to_json()),
        (Delete, "/_mock/stats") => {
            shared.stats.reset();
            (200, shared.stats.to_json())
        }
        (Get, "/_mock/script") => (200, json!({"remaining": shared.script.remaining()})),
        (Post | Put, "/_mock/script") => match parse_steps(body) {
            Ok(steps) => {
                let queued = steps.len();
                shared.script.push(steps);
                (
                    200,
                    json!({"queued": queued, "remaining": shared.script.remaining()}),
                )
            }
            Err(e) => (400, error(&e.to_string(), "invalid_script")),
        },
        (Delete, "/_mock/script") => {
            shared.script.clear();
            (200, json!({"remaining": 0}))
        }
        (Post, "/_mock/reset") => {
            shared.script.clear();
            shared.recorder.clear();
            shared.stats.reset();
            (200, json!({"reset": true}))
        }
        _ => (
            404,
            error(&format!("no mock control route {path}"), "unknown_url"),
        ),
    }
}

fn error(message: &str, code: &str) -> Value {
    json!({"error": {"message": message, "type": "invalid_request_error", "param": null, "code": code}})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn script_round_trip_through_control_answers() {
        let shared = Shared::default();
        let (s, v) = answer(
            &shared,
            Method::Post,
            "/_mock/script",
            br#"[{"status":500,"times":2}]"#,
        );
        assert_eq!(
            (s, &v["queued"], &v["remaining"]),
            (200, &json!(1), &json!(2))
        );
        let (s, v) = answer(&shared, Method::Post, "/_mock/script", b"[{\"nope\":1}]");
        assert_eq!(s, 400);
        assert_eq!(v["error"]["code"], "invalid_script");
        let (_, v) = answer(&shared, Method::Delete, "/_mock/script", b"");
        assert_eq!(v["remaining"], 0);
        assert!(shared.script.take().is_none());
    }

    #[test]
    fn unknown_control_route_is_404_and_paths_are_classified() {
        let shared = Shared::default();
        assert_eq!(answer(&shared, Method::Get, "/_mock/nope", b"").0, 404);
        assert!(is_control("/health") && is_control("/_mock/stats"));
        assert!(!is_control("/v1/chat/completions") && !is_control("/_mockery"));
    }
}
