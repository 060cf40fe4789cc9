//! Per-core keep-alive pool: idle connections per target, reused newest first.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::rc::Rc;
use std::time::{Duration, Instant};

// Looked up on every request; targets come from config (SipHash cost more than the checkout).
use foldhash::HashMap;

use super::conn::Conn;
use super::target::Target;

/// How often a checkout also sweeps every other target's expired connections.
const SWEEP_EVERY: Duration = Duration::from_secs(5);
/// A connection idle for less than this is reused without the liveness `recv(MSG_PEEK)`: the
/// shortest keep-alive timeouts servers use are seconds (gunicorn 2 s, uvicorn and Node 5 s),
/// and under load that syscall was one in five of the gateway's. A close that races the reuse
/// anyway is the same as one racing the peek: a clean close is resent on a fresh connection.
const TRUSTED_IDLE: Duration = Duration::from_millis(1000);

/// An idle connection and when it went idle.
struct Idle {
    /// The connection.
    conn: Conn,
    /// When it was returned.
    since: Instant,
}

/// Idle connections of one target, oldest at the front.
pub(crate) struct PoolEntry {
    /// The stack of idle connections (LIFO from the back).
    idle: RefCell<VecDeque<Idle>>,
    /// Most idle connections kept.
    max_idle: usize,
    /// How long a connection may stay idle.
    idle_timeout: Duration,
}

impl PoolEntry {
    /// The most recently returned connection that has not been idle too long at `now`.
    fn take(&self, now: Instant) -> Option<Conn> {
        let mut idle = self.idle.borrow_mut();
        while let Some(newest) = idle.pop_back() {
            if now.duration_since(newest.since) >= self.idle_timeout {
                // The newest one is expired, so all of them are.
                idle.clear();
                return None;
            }
            if now.duration_since(newest.since) < TRUSTED_IDLE || newest.conn.is_reusable() {
                return Some(newest.conn);
            }
            // Closed by the peer while idle: drop it and try the next.
        }
        None
    }

    /// Returns a connection whose exchange completed cleanly.
    pub(crate) fn put(&self, conn: Conn) {
        if self.max_idle == 0 {
            return;
        }
        let mut idle = self.idle.borrow_mut();
        if idle.len() >= self.max_idle {
            idle.pop_front();
        }
        idle.push_back(Idle {
            conn,
            since: Instant::now(),
        });
    }

    /// Closes connections idle for longer than the timeout.
    fn sweep(&self, now: Instant) {
        let mut idle = self.idle.borrow_mut();
        while idle
            .front()
            .is_some_and(|i| now.duration_since(i.since) >= self.idle_timeout)
        {
            idle.pop_front();
        }
    }

    /// Number of idle connections.
    fn len(&self) -> usize {
        self.idle.borrow().len()
    }
}

/// All targets' pools of one client.
pub(crate) struct Pools {
    /// Pool per target.
    map: RefCell<HashMap<Target, Rc<PoolEntry>>>,
    /// Most idle connections per target.
    max_idle: usize,
    /// Idle timeout.
    idle_timeout: Duration,
    /// Last full sweep.
    last_sweep: Cell<Instant>,
}

impl Pools {
    /// Empty pools with these limits.
    pub(crate) fn new(max_idle: usize, idle_timeout: Duration) -> Pools {
        Pools {
            map: RefCell::new(HashMap::default()),
            max_idle,
            idle_timeout,
            last_sweep: Cell::new(Instant::now()),
        }
    }

    /// The pool of `target` (created on first use) and an idle connection from it if there is
    /// one; sweeps all pools now and then. One clock read serves both.
    pub(crate) fn checkout(&self, target: &Target) -> (Rc<PoolEntry>, Option<Conn>) {
        let now = Instant::now();
        if now.duration_since(self.last_sweep.get()) >= SWEEP_EVERY {
            self.last_sweep.set(now);
            self.sweep(now);
        }
        let entry = self.entry(target);
        let conn = entry.take(now);
        (entry, conn)
    }

    /// The pool of `target`, created on first use.
    fn entry(&self, target: &Target) -> Rc<PoolEntry> {
        if let Some(e) = self.map.borrow().get(target) {
            return e.clone();
        }
        let entry = Rc::new(PoolEntry {
            idle: RefCell::default(),
            max_idle: self.max_idle,
            idle_timeout: self.idle_timeout,
        });
        self.map.borrow_mut().insert(target.clone(), entry.clone());
        entry
    }

    /// Closes expired idle connections of every target and forgets targets nobody uses.
    pub(crate) fn sweep(&self, now: Instant) {
        self.map.borrow_mut().retain(|_, e| {
            e.sweep(now);
            e.len() > 0 || Rc::strong_count(e) > 1
        });
    }

    /// Idle connections across all targets.
    pub(crate) fn idle_count(&self) -> usize {
        self.map.borrow().values().map(|e| e.len()).sum()
    }
}
