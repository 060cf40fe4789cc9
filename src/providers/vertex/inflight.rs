//! One token fetch per key per core at a time: requests arriving while a fetch is in flight
//! wait for its result instead of starting their own.
//!
//! A worker thread is one core, so the table of fetches is thread-local and needs no lock;
//! no `RefCell` borrow is held across an `.await`.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::future::{Future, poll_fn};
use std::rc::Rc;
use std::sync::Arc;
use std::task::{Poll, Waker};

use super::VertexAuthError;

type TokenResult = Result<Arc<str>, VertexAuthError>;

#[derive(Default)]
struct Fetch {
    done: Cell<bool>,
    result: RefCell<Option<TokenResult>>,
    waiters: RefCell<Vec<Waker>>,
}

thread_local! {
    static FETCHES: RefCell<HashMap<usize, Rc<Fetch>>> = RefCell::new(HashMap::new());
}

/// Ends a fetch (finished or cancelled): forgets it and wakes its waiters.
struct Leader {
    key: usize,
    fetch: Rc<Fetch>,
}

impl Drop for Leader {
    fn drop(&mut self) {
        FETCHES.with(|m| {
            let mut m = m.borrow_mut();
            if m.get(&self.key).is_some_and(|f| Rc::ptr_eq(f, &self.fetch)) {
                m.remove(&self.key);
            }
        });
        self.fetch.done.set(true);
        for w in self.fetch.waiters.take() {
            w.wake();
        }
    }
}

/// Runs `fetch` for `key` unless a fetch for it is already in flight on this core, in which
/// case its result is shared; if that fetch is cancelled, the waiter fetches itself.
pub async fn shared<F, Fut>(key: usize, fetch: F) -> TokenResult
where
    F: FnOnce() -> Fut,
    Fut: Future<Output = TokenResult>,
{
    loop {
        let Some(running) = FETCHES.with(|m| m.borrow().get(&key).cloned()) else {
            break;
        };
        poll_fn(|cx| {
            if running.done.get() {
                Poll::Ready(())
            } else {
                running.waiters.borrow_mut().push(cx.waker().clone());
                Poll::Pending
            }
        })
        .await;
        let result = running.result.borrow().clone();
        if let Some(r) = result {
            return r;
        }
    }
    let leader = Leader {
        key,
        fetch: Rc::new(Fetch::default()),
    };
    FETCHES.with(|m| m.borrow_mut().insert(key, leader.fetch.clone()));
    let r = fetch().await;
    *leader.fetch.result.borrow_mut() = Some(r.clone());
    drop(leader);
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn concurrent_callers_share_one_fetch() {
        let mut rt = monoio::RuntimeBuilder::<monoio::LegacyDriver>::new()
            .enable_timer()
            .build()
            .expect("runtime");
        let calls = Rc::new(Cell::new(0u32));
        let results = rt.block_on(async {
            let fetch = |calls: Rc<Cell<u32>>| async move {
                calls.set(calls.get() + 1);
                monoio::time::sleep(std::time::Duration::from_millis(20)).await;
                Ok::<_, VertexAuthError>(Arc::<str>::from("Bearer t"))
            };
            let a = monoio::spawn(shared(1, {
                let c = calls.clone();
                move || fetch(c)
            }));
            let b = monoio::spawn(shared(1, {
                let c = calls.clone();
                move || fetch(c)
            }));
            (a.await, b.await)
        });
        assert_eq!(calls.get(), 1);
        assert_eq!(results.0.as_deref().ok(), Some("Bearer t"));
        assert_eq!(results.1.as_deref().ok(), Some("Bearer t"));
    }
}
