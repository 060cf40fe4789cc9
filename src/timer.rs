//! Deadlines on the hot path: one reusable timer per owner instead of a fresh
//! `monoio::time::timeout` at every await.
//!
//! monoio's `Sleep` is 640 bytes with 128-byte alignment (its timer entry is cache-padded).
//! Inlined by each `timeout(..)`, it made every request's futures kilobytes larger (copied at
//! each call and boxed through the allocator's aligned slow path), and each one inserted and
//! removed a timer-wheel entry. A [`Timer`] is boxed once and re-armed: moving its deadline
//! later only records the new time (the wheel entry is moved when the old time comes), so a
//! request pays no timer allocation and, in the common case, no wheel operation.

use std::cell::RefCell;
use std::future::Future;
use std::ops::{Deref, DerefMut};
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use monoio::time::Sleep;

/// How far ahead a disarmed timer points: far enough never to fire, near enough not to
/// overflow the wheel's tick arithmetic.
const FAR: Duration = Duration::from_secs(86_400 * 365);

/// The deadline passed before the operation finished.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Elapsed;

/// A timer that bounds one operation at a time and is re-armed for the next.
pub struct Timer {
    sleep: Pin<Box<Sleep>>,
}

impl Default for Timer {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for Timer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Timer")
            .field("deadline", &self.sleep.deadline())
            .finish()
    }
}

impl Timer {
    /// A disarmed timer (needs the runtime's timer driver, as every monoio timer does).
    pub fn new() -> Self {
        Self {
            sleep: Box::pin(monoio::time::sleep_until((Instant::now() + FAR).into())),
        }
    }

    /// Runs `fut` for at most `limit` from now.
    pub fn within<F: Future>(&mut self, limit: Duration, fut: F) -> Within<'_, F> {
        let deadline = Instant::now()
            .checked_add(limit)
            .unwrap_or_else(|| Instant::now() + FAR);
        self.until(deadline, fut)
    }

    /// Runs `fut` until `deadline` at most.
    pub fn until<F: Future>(&mut self, deadline: Instant, fut: F) -> Within<'_, F> {
        let deadline = monoio::time::Instant::from_std(deadline);
        if self.sleep.deadline() != deadline {
            self.sleep.as_mut().reset(deadline);
        }
        Within {
            fut,
            sleep: self.sleep.as_mut(),
        }
    }
}

/// An operation bounded by a [`Timer`]: a plain struct rather than an `async fn`, which
/// would hold `fut` twice (as its argument and as the value it awaits).
pub struct Within<'t, F> {
    fut: F,
    sleep: Pin<&'t mut Sleep>,
}

impl<F: Future> Future for Within<'_, F> {
    type Output = Result<F::Output, Elapsed>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        // SAFETY: `fut` is never moved out of the pinned struct (it is structurally pinned,
        // and `Within` is `Unpin` only when `F` is); `sleep` is a pinned reference already.
        let this = unsafe { self.get_unchecked_mut() };
        let fut = unsafe { Pin::new_unchecked(&mut this.fut) };
        // The operation first: one that is ready wins over a deadline passed meanwhile.
        if let Poll::Ready(v) = fut.poll(cx) {
            return Poll::Ready(Ok(v));
        }
        this.sleep.as_mut().poll(cx).map(|()| Err(Elapsed))
    }
}

/// Most spare timers a task keeps.
const POOL_MAX: usize = 8;

type Spares = Rc<RefCell<Vec<Timer>>>;

thread_local! {
    /// The spare timers of the task being polled on this thread (see [`TaskTimers`]).
    static CURRENT: RefCell<Option<Spares>> = const { RefCell::new(None) };
}

/// Runs a task with its own spare timers, which [`lease`] hands out while it is polled.
///
/// Timers are kept per task, not per core, because a monoio timer keeps the waker of the
/// first task that polled it until it fires: reused by another task, it would wake the wrong
/// one. A connection's task is where all its requests run (streams included), so its timers
/// never change tasks.
pub struct TaskTimers<F> {
    spares: Spares,
    inner: F,
}

impl<F> TaskTimers<F> {
    /// Wraps a task's future.
    pub fn new(inner: F) -> Self {
        Self {
            spares: Spares::default(),
            inner,
        }
    }
}

impl<F: Future> Future for TaskTimers<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        // SAFETY: `inner` is structurally pinned and never moved out; `spares` is not pinned.
        let this = unsafe { self.get_unchecked_mut() };
        let inner = unsafe { Pin::new_unchecked(&mut this.inner) };
        let outer = CURRENT.with(|c| c.replace(Some(this.spares.clone())));
        // Restored on unwind too, so a caught panic does not leave this task's timers current.
        struct Restore(Option<Spares>);
        impl Drop for Restore {
            fn drop(&mut self) {
                let outer = self.0.take();
                CURRENT.with(|c| *c.borrow_mut() = outer);
            }
        }
        let _restore = Restore(outer);
        inner.poll(cx)
    }
}

/// A timer for one operation of the current task, returned to the task's spares when
/// dropped; outside a [`TaskTimers`] task, a fresh one that is dropped after use.
pub fn lease() -> PooledTimer {
    let spares = CURRENT.with(|c| c.borrow().clone());
    let timer = spares
        .as_ref()
        .and_then(|s| s.borrow_mut().pop())
        .unwrap_or_default();
    PooledTimer {
        timer: Some(timer),
        spares,
    }
}

/// Waits `d` on a timer of the current task (not `monoio::time::sleep`, whose 640-byte state
/// would enlarge the awaiting future).
pub async fn sleep(d: Duration) {
    let _ = lease().within(d, std::future::pending::<()>()).await;
}

/// A [`Timer`] borrowed from its task's spares.
#[derive(Debug)]
pub struct PooledTimer {
    timer: Option<Timer>,
    spares: Option<Spares>,
}

impl Deref for PooledTimer {
    type Target = Timer;
    fn deref(&self) -> &Timer {
        self.timer
            .as_ref()
            .unwrap_or_else(|| unreachable!("taken only on drop"))
    }
}

impl DerefMut for PooledTimer {
    fn deref_mut(&mut self) -> &mut Timer {
        self.timer
            .as_mut()
            .unwrap_or_else(|| unreachable!("taken only on drop"))
    }
}

impl Drop for PooledTimer {
    fn drop(&mut self) {
        if let (Some(t), Some(spares)) = (self.timer.take(), &self.spares)
            && let Ok(mut free) = spares.try_borrow_mut()
            && free.len() < POOL_MAX
        {
            free.push(t);
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A runtime with timers, for unit tests here and elsewhere.
    pub(crate) fn rt() -> monoio::Runtime<monoio::time::TimeDriver<monoio::LegacyDriver>> {
        monoio::RuntimeBuilder::<monoio::LegacyDriver>::new()
            .enable_timer()
            .build()
            .unwrap_or_else(|e| panic!("runtime: {e}"))
    }

    #[test]
    fn ready_operation_wins_and_timer_is_reusable() {
        rt().block_on(async {
            let mut t = Timer::new();
            assert_eq!(
                t.within(Duration::from_millis(50), async { 7 }).await,
                Ok(7)
            );
            let slow = monoio::time::sleep(Duration::from_millis(200));
            let started = Instant::now();
            assert_eq!(
                t.within(Duration::from_millis(20), slow).await,
                Err(Elapsed)
            );
            assert!(started.elapsed() < Duration::from_millis(150));
            // Re-armed after firing, and again with a later deadline.
            let quick = monoio::time::sleep(Duration::from_millis(5));
            assert_eq!(t.within(Duration::from_millis(100), quick).await, Ok(()));
            let quick = monoio::time::sleep(Duration::from_millis(5));
            assert_eq!(t.within(Duration::from_secs(10), quick).await, Ok(()));
        });
    }

    #[test]
    fn an_earlier_deadline_after_a_later_one_still_fires() {
        rt().block_on(async {
            let mut t = Timer::new();
            let quick = monoio::time::sleep(Duration::from_millis(1));
            assert_eq!(t.within(Duration::from_secs(60), quick).await, Ok(()));
            let started = Instant::now();
            let slow = monoio::time::sleep(Duration::from_secs(5));
            assert_eq!(
                t.within(Duration::from_millis(20), slow).await,
                Err(Elapsed)
            );
            assert!(started.elapsed() < Duration::from_secs(2));
        });
    }

    #[test]
    fn a_task_reuses_its_own_timers() {
        rt().block_on(TaskTimers::new(async {
            let spares = || CURRENT.with(|c| c.borrow().as_ref().map(|s| s.borrow().len()));
            drop(lease());
            assert_eq!(spares(), Some(1));
            let a = lease();
            assert_eq!(spares(), Some(0));
            let b = lease();
            drop((a, b));
            assert_eq!(spares(), Some(2));
        }));
        // Outside a task with timers, a lease is a fresh timer that goes nowhere.
        rt().block_on(async {
            drop(lease());
            assert!(CURRENT.with(|c| c.borrow().is_none()));
        });
    }

    #[test]
    fn a_timer_reused_after_firing_wakes_its_task_again() {
        rt().block_on(TaskTimers::new(async {
            let r = lease()
                .within(Duration::from_millis(10), std::future::pending::<()>())
                .await;
            assert_eq!(r, Err(Elapsed));
            // A registered, unfired timer goes back to the spares, then bounds a wait that
            // times out: the task must be woken by it.
            let ok = lease()
                .within(
                    Duration::from_secs(30),
                    monoio::time::sleep(Duration::from_millis(1)),
                )
                .await;
            assert_eq!(ok, Ok(()));
            let started = Instant::now();
            let r = lease()
                .within(Duration::from_millis(10), std::future::pending::<()>())
                .await;
            assert_eq!(r, Err(Elapsed));
            assert!(started.elapsed() < Duration::from_secs(2));
        }));
    }

    #[test]
    fn tasks_do_not_share_timers() {
        rt().block_on(async {
            // A timer left registered by one task must not be handed to another, whose wait
            // would then never be woken.
            let first = monoio::spawn(TaskTimers::new(async {
                let _ = lease()
                    .within(
                        Duration::from_secs(30),
                        monoio::time::sleep(Duration::from_millis(1)),
                    )
                    .await;
            }));
            first.await;
            let second = monoio::spawn(TaskTimers::new(async {
                lease()
                    .within(Duration::from_millis(10), std::future::pending::<()>())
                    .await
            }));
            let r = monoio::time::timeout(Duration::from_secs(2), second).await;
            assert_eq!(r, Ok(Err(Elapsed)));
        });
    }
}
