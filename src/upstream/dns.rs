//! DNS resolution off the worker threads, with a process-wide cache.
//!
//! `getaddrinfo` blocks, so it never runs on a monoio worker: a miss spawns a short-lived
//! resolver thread and the worker awaits a one-shot slot that the thread fills and wakes
//! (cross-thread wakers need monoio's `sync` feature). Concurrent misses for a host share one
//! lookup. Entries live [`TTL`]; an expired entry is still served while a background refresh
//! runs (stale-while-revalidate), so a busy host never waits on DNS after its first lookup.

use std::collections::HashMap;
use std::future::poll_fn;
use std::net::{IpAddr, SocketAddr, ToSocketAddrs};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::task::{Poll, Waker};
use std::time::{Duration, Instant};

use super::error::UpstreamError;

/// How long a successful lookup is trusted.
pub const TTL: Duration = Duration::from_secs(60);
/// How long a stale entry is kept before retrying after a failed refresh.
const RETRY_AFTER_FAILURE: Duration = Duration::from_secs(5);
/// Above this many entries, idle expired ones are pruned on insert.
const MAX_ENTRIES: usize = 1024;

/// Addresses of one host, shared by every waiter.
type Addrs = Arc<[IpAddr]>;
/// What a lookup produces: addresses or the resolver's message.
type Outcome = Result<Addrs, String>;

/// The answer slot one waiting task polls.
#[derive(Default)]
struct Slot {
    /// Filled once by the resolver thread; the waker of the task waiting on it.
    inner: Mutex<(Option<Outcome>, Option<Waker>)>,
}

/// One cached host.
struct Entry {
    /// Last good answer, possibly stale.
    addrs: Option<Addrs>,
    /// When `addrs` stops being fresh.
    expires: Instant,
    /// A resolver thread is working on this host.
    resolving: bool,
    /// Tasks waiting because there is no answer at all yet.
    waiters: Vec<Arc<Slot>>,
}

/// The process-wide cache, keyed by lowercase host name.
fn cache() -> MutexGuard<'static, HashMap<String, Entry>> {
    static CACHE: OnceLock<Mutex<HashMap<String, Entry>>> = OnceLock::new();
    lock(CACHE.get_or_init(Default::default))
}

/// Locks a mutex, ignoring poisoning (the data stays consistent: every write is one step).
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Resolves `host` to socket addresses with `port`, in resolver order. IP literals skip DNS.
pub(crate) async fn resolve(host: &str, port: u16) -> Result<Vec<SocketAddr>, UpstreamError> {
    if let Ok(ip) = host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .parse::<IpAddr>()
    {
        return Ok(vec![SocketAddr::new(ip, port)]);
    }
    let addrs = lookup(host).await.map_err(|message| UpstreamError::Dns {
        host: host.to_owned(),
        message,
    })?;
    Ok(addrs.iter().map(|ip| SocketAddr::new(*ip, port)).collect())
}

/// Cached lookup of a host name.
async fn lookup(host: &str) -> Outcome {
    let now = Instant::now();
    let (slot, spawn) = {
        let mut map = cache();
        if map.len() > MAX_ENTRIES {
            map.retain(|_, e| e.resolving || e.expires > now);
        }
        let entry = map
            .entry(host.to_ascii_lowercase())
            .or_insert_with(|| Entry {
                addrs: None,
                expires: now,
                resolving: false,
                waiters: Vec::new(),
            });
        let spawn = !entry.resolving && (entry.addrs.is_none() || entry.expires <= now);
        entry.resolving |= spawn;
        match &entry.addrs {
            Some(addrs) => {
                let addrs = addrs.clone();
                drop(map);
                if spawn {
                    start(host);
                }
                return Ok(addrs);
            }
            None => {
                let slot = Arc::new(Slot::default());
                entry.waiters.push(slot.clone());
                (slot, spawn)
            }
        }
    };
    if spawn {
        start(host);
    }
    poll_fn(|cx| {
        let mut inner = lock(&slot.inner);
        match inner.0.take() {
            Some(outcome) => Poll::Ready(outcome),
            None => {
                inner.1 = Some(cx.waker().clone());
                Poll::Pending
            }
        }
    })
    .await
}

/// Starts a resolver thread for `host`; if the thread cannot start, fails the lookup at once.
fn start(host: &str) {
    let key = host.to_ascii_lowercase();
    let name = key.clone();
    let spawned = std::thread::Builder::new()
        .name("ringway-dns".into())
        .stack_size(256 * 1024)
        .spawn(move || {
            let outcome = query(&name);
            complete(&name, outcome);
        });
    if let Err(e) = spawned {
        complete(&key, Err(format!("cannot start resolver thread: {e}")));
    }
}

/// Blocking `getaddrinfo`, de-duplicated, order kept.
fn query(host: &str) -> Outcome {
    let found = (host, 0u16).to_socket_addrs().map_err(|e| e.to_string())?;
    let mut ips: Vec<IpAddr> = Vec::new();
    for addr in found {
        if !ips.contains(&addr.ip()) {
            ips.push(addr.ip());
        }
    }
    if ips.is_empty() {
        return Err("no addresses".into());
    }
    Ok(ips.into())
}

/// Stores a lookup result and wakes everybody waiting for it.
fn complete(host: &str, outcome: Outcome) {
    let waiters = {
        let mut map = cache();
        let Some(entry) = map.get_mut(host) else {
            return;
        };
        entry.resolving = false;
        match &outcome {
            Ok(addrs) => {
                entry.addrs = Some(addrs.clone());
                entry.expires = Instant::now() + TTL;
            }
            // Keep serving the stale answer (if any) and try again a little later.
            Err(_) => entry.expires = Instant::now() + RETRY_AFTER_FAILURE,
        }
        std::mem::take(&mut entry.waiters)
    };
    for slot in waiters {
        let waker = {
            let mut inner = lock(&slot.inner);
            inner.0 = Some(outcome.clone());
            inner.1.take()
        };
        if let Some(w) = waker {
            w.wake();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rt() -> monoio::FusionRuntime<
        monoio::time::TimeDriver<monoio::IoUringDriver>,
        monoio::time::TimeDriver<monoio::LegacyDriver>,
    > {
        monoio::RuntimeBuilder::<monoio::FusionDriver>::new()
            .enable_timer()
            .build()
            .expect("runtime")
    }

    #[test]
    fn ip_literals_skip_dns() {
        rt().block_on(async {
            let a = resolve("127.0.0.1", 80).await.expect("literal");
            assert_eq!(a, vec!["127.0.0.1:80".parse::<SocketAddr>().expect("addr")]);
            let a = resolve("[::1]", 443).await.expect("literal");
            assert_eq!(a, vec!["[::1]:443".parse::<SocketAddr>().expect("addr")]);
        });
    }

    #[test]
    fn localhost_resolves_off_thread_and_is_cached() {
        rt().block_on(async {
            // Several concurrent lookups share one resolver thread and all get the answer.
            let tasks: Vec<_> = (0..4)
                .map(|_| monoio::spawn(async { resolve("LocalHost", 7).await }))
                .collect();
            for t in tasks {
                let addrs = t.await.expect("localhost resolves");
                assert!(
                    addrs.iter().all(|a| a.port() == 7 && a.ip().is_loopback()),
                    "{addrs:?}"
                );
            }
            let entry_fresh = {
                let map = cache();
                map.get("localhost")
                    .is_some_and(|e| e.addrs.is_some() && e.expires > Instant::now())
            };
            assert!(entry_fresh);
        });
    }

    #[test]
    fn unknown_host_is_a_dns_error() {
        rt().block_on(async {
            let err = resolve("does-not-exist.invalid", 443)
                .await
                .expect_err("must fail");
            assert!(matches!(err, UpstreamError::Dns { .. }), "{err:?}");
            assert!(err.is_network());
        });
    }
}
