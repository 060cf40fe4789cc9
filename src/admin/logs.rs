//! `/api/logs`: search, stats, one row, deletion and the dropped-entry counter, with Bifrost's
//! parameters, shapes and messages (transports/bifrost-http/handlers/logging.go).
//!
//! The routes exist only while request logging is on (`admin::route` answers them as unknown
//! routes otherwise, as Bifrost does when its logging plugin is not loaded).

use serde::Deserialize;
use serde_json::json;

use super::response::{AdminError, AdminReply};
use super::routes::RouteId;
use super::state::{AdminCore, Job};
use crate::logging::entry::row_json;
use crate::logging::store::LogError;
use crate::logging::{Logging, query};

/// Whether `id` is one of the log routes.
pub fn is_log_route(id: RouteId) -> bool {
    matches!(
        id,
        RouteId::ListLogs
            | RouteId::LogStats
            | RouteId::DroppedLogs
            | RouteId::GetLog
            | RouteId::DeleteLogs
    )
}

impl From<query::QueryError> for AdminError {
    fn from(e: query::QueryError) -> Self {
        AdminError::BadRequest(e.to_string())
    }
}

fn logging(core: &AdminCore) -> Result<&Logging, AdminError> {
    // The worker refuses these routes when logging is off; this is the same answer.
    core.logs()
        .map(AsRef::as_ref)
        .ok_or_else(|| AdminError::NotFound("Route not found: /api/logs".into()))
}

fn store_error(what: &str, e: &LogError) -> AdminError {
    tracing::warn!(error = %e, "{what}");
    AdminError::Internal(format!("{what}: {e}"))
}

/// `GET /api/logs`.
pub fn list(core: &AdminCore, job: &Job) -> Result<AdminReply, AdminError> {
    let logs = logging(core)?;
    let (filters, page) = query::parse(job.query.as_deref())?;
    let result = query::search(logs.store(), &filters, &page)
        .map_err(|e| store_error("Search failed", &e))?;
    Ok(AdminReply::ok(&result))
}

/// `GET /api/logs/stats`.
pub fn stats(core: &AdminCore, job: &Job) -> Result<AdminReply, AdminError> {
    let logs = logging(core)?;
    let (filters, _) = query::parse(job.query.as_deref())?;
    let stats = query::stats(logs.store(), &filters)
        .map_err(|e| store_error("Stats calculation failed", &e))?;
    Ok(AdminReply::ok(&stats))
}

/// `GET /api/logs/dropped`.
pub fn dropped(core: &AdminCore) -> Result<AdminReply, AdminError> {
    let logs = logging(core)?;
    Ok(AdminReply::ok(&json!({"dropped_requests": logs.dropped()})))
}

/// `GET /api/logs/{id}`.
pub fn get(core: &AdminCore, job: &Job) -> Result<AdminReply, AdminError> {
    let logs = logging(core)?;
    let id = job
        .params
        .first()
        .filter(|id| !id.is_empty())
        .ok_or_else(|| AdminError::BadRequest("log id is required".into()))?;
    match logs.store().get(id) {
        Ok(Some((summary, content))) => Ok(AdminReply::ok(&row_json(&summary, Some(&content)))),
        Ok(None) => Err(AdminError::NotFound("log not found".into())),
        Err(e) => Err(store_error("failed to get log", &e)),
    }
}

/// The body of `DELETE /api/logs`.
#[derive(Deserialize)]
struct DeleteRequest {
    #[serde(default)]
    ids: Vec<String>,
}

/// `DELETE /api/logs` with `{"ids": [...]}`.
pub fn delete(core: &AdminCore, job: &Job) -> Result<AdminReply, AdminError> {
    let logs = logging(core)?;
    let req: DeleteRequest = serde_json::from_slice(&job.body)
        .map_err(|_| AdminError::BadRequest("Invalid JSON".into()))?;
    if req.ids.is_empty() {
        return Err(AdminError::BadRequest("No log IDs provided".into()));
    }
    logs.store().delete(&req.ids).map_err(|e| {
        tracing::warn!(error = %e, "failed to delete logs");
        AdminError::Internal("Failed to delete logs".into())
    })?;
    Ok(AdminReply::ok(
        &json!({"message": "Logs deleted successfully"}),
    ))
}
