//! Admin credentials on inference routes (`governance.auth_config` enabled and
//! `disable_auth_on_inference` false, as in Bifrost).
//!
//! The check costs one relaxed load while inference is open. When it is not, each core keeps
//! the verdicts it got from the admin thread, keyed by a keyed hash of the credentials (never
//! the credentials themselves) and tagged with the gate's epoch: a logout or new credentials
//! move the epoch, so a revoked token is refused at its next request on every core.

use std::cell::RefCell;
use std::collections::HashMap;
use std::hash::{BuildHasher, RandomState};
use std::time::{Duration, Instant};

use super::reply::Reply;
use super::worker::Worker;
use crate::admin::auth::Credentials;
use crate::http::head::RequestHead;

/// How long a verdict is trusted before the admin thread is asked again (sessions expire).
const VERDICT_TTL: Duration = Duration::from_secs(300);
/// Verdicts kept per core at most; the cache is emptied beyond it.
const MAX_VERDICTS: usize = 4096;

/// One core's accepted credentials.
#[derive(Debug, Default)]
pub struct AuthCache {
    hasher: RandomState,
    accepted: RefCell<HashMap<u64, (u64, Instant)>>,
}

impl AuthCache {
    fn key(&self, creds: &Credentials) -> u64 {
        self.hasher.hash_one((
            creds.authorization.as_deref(),
            creds.cookie_token.as_deref(),
        ))
    }

    fn accepts(&self, key: u64, epoch: u64) -> bool {
        self.accepted
            .borrow()
            .get(&key)
            .is_some_and(|(e, at)| *e == epoch && at.elapsed() < VERDICT_TTL)
    }

    fn remember(&self, key: u64, epoch: u64) {
        let mut map = self.accepted.borrow_mut();
        if map.len() >= MAX_VERDICTS {
            map.clear();
        }
        map.insert(key, (epoch, Instant::now()));
    }
}

/// Lets the request through, or answers it with Bifrost's 401.
pub async fn authorize(worker: &Worker, head: &RequestHead) -> Result<(), Reply> {
    let admin = &worker.shared.admin;
    let epoch = admin.inference_gate();
    if epoch == 0 {
        return Ok(());
    }
    let creds = crate::admin::credentials(head);
    let key = worker.auth_cache.key(&creds);
    if worker.auth_cache.accepts(key, epoch) {
        return Ok(());
    }
    admin
        .check_inference(creds)
        .await
        .map_err(|r| r.into_reply())?;
    // Tag with the epoch read before asking: a logout racing this check leaves a stale tag.
    worker.auth_cache.remember(key, epoch);
    Ok(())
}
