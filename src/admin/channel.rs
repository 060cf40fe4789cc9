//! A one-shot reply slot that a plain thread fills and a worker's task awaits.
//!
//! The admin thread answers through it; the waiting task's waker is woken from that thread, which
//! monoio supports with its `sync` feature (the wake is queued to the owning core and its driver
//! unparked). No lock is held across an `.await`.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll, Waker};

struct Slot<T> {
    value: Option<T>,
    waker: Option<Waker>,
    closed: bool,
}

/// The sending half: fill it once, or drop it to tell the receiver no answer will come.
pub struct ReplySender<T>(Arc<Mutex<Slot<T>>>);

/// The receiving half: a future resolving to the value, or `None` if the sender was dropped.
pub struct ReplyReceiver<T>(Arc<Mutex<Slot<T>>>);

/// A connected pair.
pub fn reply_slot<T>() -> (ReplySender<T>, ReplyReceiver<T>) {
    let slot = Arc::new(Mutex::new(Slot {
        value: None,
        waker: None,
        closed: false,
    }));
    (ReplySender(Arc::clone(&slot)), ReplyReceiver(slot))
}

impl<T> ReplySender<T> {
    /// Delivers `value` and wakes the receiver.
    pub fn send(self, value: T) {
        self.finish(Some(value));
    }

    fn finish(&self, value: Option<T>) {
        let waker = {
            let mut slot = self.0.lock().unwrap_or_else(PoisonError::into_inner);
            if value.is_some() {
                slot.value = value;
            }
            slot.closed = true;
            slot.waker.take()
        };
        // Woken outside the lock: the receiver may run on another thread at once.
        if let Some(w) = waker {
            w.wake();
        }
    }
}

impl<T> Drop for ReplySender<T> {
    fn drop(&mut self) {
        self.finish(None);
    }
}

impl<T> Future for ReplyReceiver<T> {
    type Output = Option<T>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        let mut slot = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(v) = slot.value.take() {
            return Poll::Ready(Some(v));
        }
        if slot.closed {
            return Poll::Ready(None);
        }
        match &slot.waker {
            Some(w) if w.will_wake(cx.waker()) => {}
            _ => slot.waker = Some(cx.waker().clone()),
        }
        Poll::Pending
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn a_thread_wakes_a_monoio_task() {
        let mut rt = monoio::RuntimeBuilder::<monoio::LegacyDriver>::new()
            .enable_timer()
            .build()
            .expect("runtime");
        let got = rt.block_on(async {
            let (tx, rx) = reply_slot::<u32>();
            std::thread::spawn(move || {
                std::thread::sleep(Duration::from_millis(30));
                tx.send(42);
            });
            rx.await
        });
        assert_eq!(got, Some(42));
    }

    #[test]
    fn dropped_sender_resolves_to_none() {
        let mut rt = monoio::RuntimeBuilder::<monoio::LegacyDriver>::new()
            .enable_timer()
            .build()
            .expect("runtime");
        let got = rt.block_on(async {
            let (tx, rx) = reply_slot::<u32>();
            std::thread::spawn(move || {
                std::thread::sleep(Duration::from_millis(10));
                drop(tx);
            });
            rx.await
        });
        assert_eq!(got, None);
    }
}
