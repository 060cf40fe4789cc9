//! `/api/session/*`: dashboard login, logout, and whether auth is on.
//!
//! Login answers with a session token (also set as the `token` cookie, as Bifrost does); send it
//! as `Authorization: Bearer <token>`. Sessions are kept in memory for 30 days and do not
//! survive a restart.

use serde_json::{Value, json};

use super::auth::SESSION_TTL;
use super::response::{AdminError, AdminReply};
use super::state::{AdminCore, Job, json_object};

/// `POST /api/session/login`: `{username, password}`.
pub fn login(core: &mut AdminCore, job: &Job) -> Result<AdminReply, AdminError> {
    let body = json_object(&job.body)?;
    let field = |name: &str| match body.get(name) {
        Some(Value::String(s)) => Ok(s.as_str()),
        None | Some(Value::Null) => Ok(""),
        Some(_) => Err(AdminError::BadRequest(format!("{name}: expected a string"))),
    };
    let (user, pass) = (field("username")?, field("password")?);
    if !core.auth().config().is_active() {
        return Err(AdminError::Forbidden(
            "Authentication is not enabled".into(),
        ));
    }
    if !core.auth().credentials_valid(user, pass) {
        return Err(AdminError::BadCredentials);
    }
    let token = core.auth_mut().open_session()?;
    let cookie = cookie(&token, SESSION_TTL.as_secs(), job.https);
    Ok(AdminReply::ok(&json!({
        "message": "Login successful",
        "token": token,
        "expires_in": SESSION_TTL.as_secs(),
    }))
    .with_header("set-cookie", cookie))
}

/// `POST /api/session/logout`: ends the caller's session (Bearer token or cookie).
pub fn logout(core: &mut AdminCore, job: &Job) -> Result<AdminReply, AdminError> {
    if let Some(t) = job.creds.token() {
        core.auth_mut().close_session(t);
    }
    Ok(AdminReply::ok(&json!({ "message": "Logout successful" }))
        .with_header("set-cookie", cookie("", 0, job.https)))
}

/// `GET /api/session/is-auth-enabled`.
pub fn is_auth_enabled(core: &AdminCore, job: &Job) -> Result<AdminReply, AdminError> {
    let active = core.auth().config().is_active();
    let has_valid_token = job
        .creds
        .token()
        .is_some_and(|t| core.auth().session_valid(t));
    Ok(AdminReply::ok(&json!({
        "is_auth_enabled": active,
        "has_valid_token": active && has_valid_token,
        "auth_type": if active { "password" } else { "none" },
        // The same credentials guard inference unless `disable_auth_on_inference`.
        "inference_auth_enforced": core.auth().config().protects_inference(),
    })))
}

fn cookie(token: &str, max_age: u64, secure: bool) -> String {
    let mut c = format!("token={token}; Path=/; Max-Age={max_age}; HttpOnly; SameSite=Lax");
    if secure {
        c.push_str("; Secure");
    }
    c
}
