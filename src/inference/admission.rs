//! Per-provider admission on one core: at most `concurrency` upstream calls in flight, and up
//! to `buffer_size` requests queued for a slot. With `client.drop_excess_requests` a request
//! that finds the queue full fails fast with Bifrost's queue-full error; without it, it waits
//! (Bifrost blocks on the full channel until space frees, the client goes away or times out).
//!
//! Bifrost runs `concurrency` worker goroutines per provider fed by a channel of `buffer_size`.
//! Here the request never leaves its core: each core admits its share of the configured limits
//! (`ceil(limit / workers)`), so no counter is shared between cores. Retry backoff sleeps happen
//! outside the slot (unlike Bifrost, where a sleeping retry holds a worker).

use std::cell::RefCell;
use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

/// Limits for one provider on this core.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Calls allowed in flight at once.
    pub concurrency: usize,
    /// Requests allowed to wait for a slot.
    pub buffer: usize,
}

impl Limits {
    /// This core's share of process-wide limits spread over `workers` cores.
    pub fn per_core(concurrency: usize, buffer: usize, workers: usize) -> Self {
        let w = workers.max(1);
        Self {
            concurrency: concurrency.max(1).div_ceil(w),
            buffer: buffer.div_ceil(w),
        }
    }
}

/// Why a request was not admitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// Dropping is on and the queue is full.
    QueueFull,
}

#[derive(Debug, Default)]
struct Gate {
    in_flight: usize,
    waiting: VecDeque<Rc<RefCell<WaitSlot>>>,
}

#[derive(Debug, Default)]
struct WaitSlot {
    granted: bool,
    waker: Option<Waker>,
}

/// Gates by provider name; a handful of providers, so a scan beats hashing, and an index into
/// the list (never shrunk) lets a permit find its gate without holding a copy of the name.
type Gates = Rc<RefCell<Vec<(Box<str>, Gate)>>>;

/// All providers' gates on this core.
#[derive(Debug, Default, Clone)]
pub struct Admission {
    gates: Gates,
}

/// A held slot; dropping it frees the slot for the next waiter.
#[derive(Debug)]
pub struct Permit {
    gates: Gates,
    gate: usize,
}

impl Admission {
    /// Creates an empty admission table.
    pub fn new() -> Self {
        Self::default()
    }

    /// Waits for a slot for `provider`; with `drop_excess`, refuses at once when the queue
    /// (`limits.buffer` waiting requests) is full.
    pub async fn acquire(
        &self,
        provider: &str,
        limits: Limits,
        drop_excess: bool,
    ) -> Result<Permit, Refused> {
        let (index, slot) = {
            let mut gates = self.gates.borrow_mut();
            let index = match gates.iter().position(|(n, _)| &**n == provider) {
                Some(i) => i,
                None => {
                    gates.push((provider.into(), Gate::default()));
                    gates.len() - 1
                }
            };
            let gate = &mut gates[index].1;
            if gate.in_flight < limits.concurrency && gate.waiting.is_empty() {
                gate.in_flight += 1;
                (index, None)
            } else if drop_excess && gate.waiting.len() >= limits.buffer {
                return Err(Refused::QueueFull);
            } else {
                let slot = Rc::new(RefCell::new(WaitSlot::default()));
                gate.waiting.push_back(Rc::clone(&slot));
                (index, Some(slot))
            }
        };
        if let Some(slot) = slot {
            WaitForGrant {
                slot,
                gates: Rc::clone(&self.gates),
                gate: index,
                done: false,
            }
            .await;
        }
        Ok(Permit {
            gates: Rc::clone(&self.gates),
            gate: index,
        })
    }

    /// Calls in flight for `provider` on this core.
    pub fn in_flight(&self, provider: &str) -> usize {
        self.with_gate(provider, |g| g.in_flight)
    }

    /// Requests waiting for `provider` on this core.
    pub fn waiting(&self, provider: &str) -> usize {
        self.with_gate(provider, |g| g.waiting.len())
    }

    fn with_gate(&self, provider: &str, f: impl Fn(&Gate) -> usize) -> usize {
        self.gates
            .borrow()
            .iter()
            .find(|(n, _)| &**n == provider)
            .map_or(0, |(_, g)| f(g))
    }
}

/// Hands a freed slot to the oldest waiter, or returns it to the pool.
fn release(gates: &Gates, index: usize) {
    let mut gates = gates.borrow_mut();
    let Some((_, gate)) = gates.get_mut(index) else {
        return;
    };
    if let Some(next) = gate.waiting.pop_front() {
        // The slot passes directly to the waiter: in_flight stays the same.
        let mut s = next.borrow_mut();
        s.granted = true;
        if let Some(w) = s.waker.take() {
            w.wake();
        }
    } else {
        gate.in_flight = gate.in_flight.saturating_sub(1);
    }
}

impl Drop for Permit {
    fn drop(&mut self) {
        release(&self.gates, self.gate);
    }
}

struct WaitForGrant {
    slot: Rc<RefCell<WaitSlot>>,
    gates: Gates,
    gate: usize,
    done: bool,
}

impl Future for WaitForGrant {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let granted = {
            let mut s = self.slot.borrow_mut();
            if !s.granted {
                s.waker = Some(cx.waker().clone());
            }
            s.granted
        };
        if granted {
            self.done = true;
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    }
}

impl Drop for WaitForGrant {
    fn drop(&mut self) {
        if self.done {
            return;
        }
        // Cancelled while waiting (client went away or timed out).
        if self.slot.borrow().granted {
            // A slot was handed over but never used: pass it on.
            release(&self.gates, self.gate);
        } else if let Some((_, gate)) = self.gates.borrow_mut().get_mut(self.gate) {
            gate.waiting.retain(|w| !Rc::ptr_eq(w, &self.slot));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::timer::tests::rt;

    #[test]
    fn per_core_share_rounds_up() {
        assert_eq!(
            Limits::per_core(1000, 5000, 2),
            Limits {
                concurrency: 500,
                buffer: 2500
            }
        );
        assert_eq!(
            Limits::per_core(1, 1, 4),
            Limits {
                concurrency: 1,
                buffer: 1
            }
        );
    }

    #[test]
    fn drop_excess_refuses_only_when_the_queue_is_full() {
        rt().block_on(async {
            let a = Admission::new();
            let lim = Limits {
                concurrency: 1,
                buffer: 0,
            };
            let p = a.acquire("openai", lim, true).await.expect("first");
            assert_eq!(
                a.acquire("openai", lim, true).await.err(),
                Some(Refused::QueueFull)
            );
            drop(p);
            assert!(a.acquire("openai", lim, true).await.is_ok());
        });
    }

    #[test]
    fn waiters_are_served_in_order_and_dropping_bounds_the_queue() {
        rt().block_on(async {
            let a = Admission::new();
            let lim = Limits {
                concurrency: 1,
                buffer: 1,
            };
            let first = a.acquire("p", lim, false).await.expect("first");
            let order = Rc::new(RefCell::new(Vec::new()));
            let (a2, o2) = (a.clone(), Rc::clone(&order));
            let waiter = monoio::spawn(async move {
                let _p = a2.acquire("p", lim, false).await.expect("waiter");
                o2.borrow_mut().push("waiter");
            });
            monoio::time::sleep(std::time::Duration::from_millis(5)).await;
            assert_eq!(a.waiting("p"), 1);
            assert_eq!(
                a.acquire("p", lim, true).await.err(),
                Some(Refused::QueueFull),
                "with dropping on, a full queue refuses"
            );
            order.borrow_mut().push("release");
            drop(first);
            waiter.await;
            assert_eq!(*order.borrow(), vec!["release", "waiter"]);
            assert_eq!(a.in_flight("p"), 0);
        });
    }

    #[test]
    fn cancelled_waiter_leaves_queue() {
        rt().block_on(async {
            let a = Admission::new();
            let lim = Limits {
                concurrency: 1,
                buffer: 4,
            };
            let first = a.acquire("p", lim, false).await.expect("first");
            let r = monoio::time::timeout(
                std::time::Duration::from_millis(5),
                a.acquire("p", lim, false),
            )
            .await;
            assert!(r.is_err(), "timed out while waiting");
            assert_eq!(a.waiting("p"), 0);
            drop(first);
            assert_eq!(a.in_flight("p"), 0);
        });
    }
}
