//! Copy-on-write config snapshots, published once and picked up by every core at its next request.
//!
//! An admin write builds a whole new immutable value and [`Publisher::publish`]es it. Each worker
//! holds a [`CoreView`]: at the start of every request it compares one relaxed atomic generation
//! with the one it cached, and only on a change takes the (cold) mutex to clone the new `Arc`.
//! Requests already running keep the snapshot they started with.

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

/// The process-wide holder of the current snapshot.
#[derive(Debug)]
pub struct Publisher<T> {
    generation: AtomicU64,
    current: Mutex<Arc<T>>,
}

impl<T> Publisher<T> {
    /// Starts at generation 1 with `initial`.
    pub fn new(initial: Arc<T>) -> Self {
        Self {
            generation: AtomicU64::new(1),
            current: Mutex::new(initial),
        }
    }

    /// Makes `next` the current snapshot; cores switch at their next request.
    pub fn publish(&self, next: Arc<T>) {
        let mut cur = self.current.lock().unwrap_or_else(PoisonError::into_inner);
        *cur = next;
        // Bumped under the lock so a reader that sees the new generation also sees the new value.
        self.generation.fetch_add(1, Ordering::Release);
    }

    /// The current generation number (increases by one per publish).
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Relaxed)
    }

    /// The current snapshot and its generation.
    pub fn load(&self) -> (u64, Arc<T>) {
        let cur = self.current.lock().unwrap_or_else(PoisonError::into_inner);
        (self.generation.load(Ordering::Acquire), Arc::clone(&cur))
    }
}

/// A snapshot as a core hands it out: an `Rc` around the shared `Arc`, so that a request taking
/// a reference bumps a core-local count instead of the `Arc`'s count shared by every core.
#[allow(clippy::redundant_allocation)]
pub type Snapshot<T> = Rc<Arc<T>>;

/// One core's cached view of the published snapshot (`!Send`: lives on its worker).
#[derive(Debug)]
pub struct CoreView<T> {
    publisher: Arc<Publisher<T>>,
    generation: Cell<u64>,
    current: RefCell<Snapshot<T>>,
}

impl<T> CoreView<T> {
    /// Creates a view holding the publisher's current snapshot.
    pub fn new(publisher: Arc<Publisher<T>>) -> Self {
        let (generation, cur) = publisher.load();
        Self {
            publisher,
            generation: Cell::new(generation),
            current: RefCell::new(Rc::new(cur)),
        }
    }

    /// The snapshot to serve this request with: one relaxed load when nothing changed.
    pub fn current(&self) -> Snapshot<T> {
        if self.publisher.generation() != self.generation.get() {
            let (generation, next) = self.publisher.load();
            self.generation.set(generation);
            *self.current.borrow_mut() = Rc::new(next);
        }
        Rc::clone(&self.current.borrow())
    }

    /// The generation this core last picked up.
    pub fn generation(&self) -> u64 {
        self.generation.get()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn view_follows_publishes_and_keeps_old_for_holders() {
        let p = Arc::new(Publisher::new(Arc::new(1u32)));
        let view = CoreView::new(Arc::clone(&p));
        let held = view.current();
        assert_eq!(**held, 1);
        p.publish(Arc::new(2));
        assert_eq!(**view.current(), 2);
        assert_eq!(**held, 1, "a request in flight keeps its snapshot");
        assert_eq!(view.generation(), 2);
    }

    #[test]
    fn publishes_reach_other_threads() {
        let p = Arc::new(Publisher::new(Arc::new(0u64)));
        let p2 = Arc::clone(&p);
        let t = std::thread::spawn(move || {
            let view = CoreView::new(p2);
            let mut seen = 0;
            for _ in 0..1_000_000 {
                seen = **view.current();
                if seen == 7 {
                    break;
                }
                std::thread::yield_now();
            }
            seen
        });
        for i in 1..=7 {
            p.publish(Arc::new(i));
        }
        assert_eq!(t.join().expect("thread"), 7);
    }
}
