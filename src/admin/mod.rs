//! The management API (`/api/*`), Bifrost-compatible: providers and keys, proxy, client config,
//! dashboard sessions, and its OpenAPI document.
//!
//! ```text
//! worker: match the route (routes::ROUTES) -> hand the request to the admin thread -> await
//! admin thread (one, serial): auth check -> handler -> state::AdminCore::commit
//!     validate -> build RouteTable -> one LMDB write txn -> Publisher::publish
//! every worker: next request sees the new generation (one relaxed load) and switches
//! ```
//!
//! A worker never blocks: LMDB commits (fsync) and argon2 run on the admin thread, and the
//! worker's task is woken from there when the answer is ready.

pub mod auth;
pub mod boot;
pub mod channel;
pub mod client_config;
pub mod keys;
pub mod logs;
pub mod openapi;
pub mod plugins;
pub mod providers;
pub mod proxy_config;
pub mod redact;
pub mod response;
pub mod routes;
pub mod session;
pub mod state;

use std::panic::AssertUnwindSafe;
use std::sync::{Arc, mpsc};

use bytes::Bytes;

use crate::config::snapshot::Publisher;
use crate::error::{ErrorContext, GatewayError};
use crate::http::head::RequestHead;
use crate::logging::Logging;
use crate::plugins::PluginSet;
use crate::routing::table::RouteTable;
use crate::server::reply::Reply;
use crate::server::worker::Worker;
use crate::store::hash::SectionHasher;
use auth::{AuthState, Credentials, InferenceGate};
use channel::{ReplySender, reply_slot};
use response::{AdminError, AdminReply};
use routes::Miss;
use state::{AdminCore, Job};

/// The workers' side of the admin thread.
pub struct AdminHandle {
    publisher: Arc<Publisher<RouteTable>>,
    plugins: Arc<Publisher<PluginSet>>,
    gate: InferenceGate,
    jobs: mpsc::Sender<(Job, ReplySender<AdminReply>)>,
    logs: Option<Arc<Logging>>,
}

impl std::fmt::Debug for AdminHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AdminHandle").finish_non_exhaustive()
    }
}

impl AdminHandle {
    /// Starts the admin thread over `core`; `publisher` and `plugins` must be the ones `core`
    /// publishes to.
    pub fn spawn(
        mut core: AdminCore,
        publisher: Arc<Publisher<RouteTable>>,
        plugins: Arc<Publisher<PluginSet>>,
    ) -> std::io::Result<Arc<Self>> {
        let (tx, rx) = mpsc::channel::<(Job, ReplySender<AdminReply>)>();
        let gate = core.auth().gate();
        let logs = core.logs().cloned();
        std::thread::Builder::new()
            .name("ringway-admin".into())
            .spawn(move || {
                for (job, reply) in rx {
                    // A bug in one handler must not take the management API down with it.
                    let answer = std::panic::catch_unwind(AssertUnwindSafe(|| core.handle(&job)))
                        .unwrap_or_else(|_| {
                            AdminError::Internal("admin handler panicked".into()).into()
                        });
                    reply.send(answer);
                }
            })?;
        Ok(Arc::new(Self {
            publisher,
            plugins,
            gate,
            jobs: tx,
            logs,
        }))
    }

    /// An admin thread without a store (writes are kept in memory) over `table`'s config, with
    /// auth off: what `server::run` uses when the caller did not boot one.
    pub fn in_memory(table: RouteTable, workers: usize) -> Result<Arc<Self>, AdminError> {
        let doc = serde_json::to_value(&*table.config)
            .map_err(|e| AdminError::Internal(format!("cannot encode config: {e}")))?;
        let mut contents = crate::store::StoreContents::default();
        if let serde_json::Value::Object(m) = doc {
            contents.sections = crate::store::sections::split(&m);
        }
        let key = crate::store::random_16().map_err(|e| AdminError::Internal(e.to_string()))?;
        let (runtime, _) = plugins::PluginRuntime::boot(&[], SectionHasher::new(key));
        let plugin_publisher = Arc::clone(runtime.publisher());
        let publisher = Arc::new(Publisher::new(Arc::new(table)));
        let core = AdminCore::new(
            None,
            contents,
            Arc::clone(&publisher),
            workers,
            AuthState::new(auth::AuthConfig::default())?,
            runtime,
        );
        Self::spawn(core, publisher, plugin_publisher)
            .map_err(|e| AdminError::Internal(e.to_string()))
    }

    /// The config publisher the workers read.
    pub fn publisher(&self) -> &Arc<Publisher<RouteTable>> {
        &self.publisher
    }

    /// The plugin-set publisher the workers read.
    pub fn plugins(&self) -> &Arc<Publisher<PluginSet>> {
        &self.plugins
    }

    /// The request log, when logging is on (each worker takes its own queue to it).
    pub fn logs(&self) -> Option<&Arc<Logging>> {
        self.logs.as_ref()
    }

    /// 0 when inference routes are open; otherwise the epoch of the admin credentials.
    pub fn inference_gate(&self) -> u64 {
        self.gate.load()
    }

    /// Asks the admin thread whether `creds` may use the inference routes: `Ok` or the 401
    /// reply to send.
    pub async fn check_inference(&self, creds: Credentials) -> Result<(), AdminReply> {
        let job = Job {
            route: routes::RouteId::InferenceAuth,
            public: false,
            params: Vec::new(),
            query: None,
            body: Bytes::new(),
            creds,
            https: false,
        };
        let reply = self.call(job).await;
        if reply.status == 200 {
            Ok(())
        } else {
            Err(reply)
        }
    }

    /// Runs `job` on the admin thread and waits (without blocking the core) for its answer.
    pub async fn call(&self, job: Job) -> AdminReply {
        let (tx, rx) = reply_slot();
        if self.jobs.send((job, tx)).is_err() {
            return AdminError::Internal("the admin thread is gone".into()).into();
        }
        rx.await.unwrap_or_else(|| {
            AdminError::Internal("the admin thread dropped the request".into()).into()
        })
    }
}

/// Serves one `/api/*` request on `worker`.
pub async fn route(worker: &Worker, head: &RequestHead, body: Bytes) -> Reply {
    let (r, params) = match routes::find(head.method, &head.path) {
        Ok(found) => found,
        Err(Miss::NotFound) => return route_not_found(head),
        Err(Miss::MethodNotAllowed) => {
            return AdminReply {
                status: 405,
                headers: Vec::new(),
                body: response::error_body(405, &format!("method not allowed on {}", head.path)),
            }
            .into_reply();
        }
    };
    // Bifrost registers the log routes only when its logging plugin is loaded: otherwise they
    // are unknown routes.
    if logs::is_log_route(r.id) && worker.shared.admin.logs().is_none() {
        return route_not_found(head);
    }
    let job = Job {
        route: r.id,
        public: r.public,
        params,
        query: head.query.clone(),
        body,
        creds: credentials(head),
        https: head
            .header("x-forwarded-proto")
            .is_some_and(|p| p.eq_ignore_ascii_case("https")),
    };
    worker.shared.admin.call(job).await.into_reply()
}

/// The answer to a path no route serves.
fn route_not_found(head: &RequestHead) -> Reply {
    Reply::error(
        &GatewayError::RouteNotFound(head.path.clone()),
        &ErrorContext::default(),
    )
}

/// The admin credentials a request carries (`Authorization`, the `token` cookie).
pub fn credentials(head: &RequestHead) -> Credentials {
    Credentials {
        authorization: head.header("authorization").map(str::to_string),
        cookie_token: cookie(head, "token"),
    }
}

/// The value of cookie `name`, if sent.
fn cookie(head: &RequestHead, name: &str) -> Option<String> {
    head.headers.get_all("cookie").find_map(|h| {
        h.split(';').find_map(|pair| {
            let (k, v) = pair.trim().split_once('=')?;
            (k == name).then(|| v.trim().to_string())
        })
    })
}
