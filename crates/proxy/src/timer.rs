//! Precise release instants for toxics.
//!
//! Why: tokio's timer wheel counts whole milliseconds and rounds every deadline up (and the
//! runtime parks in `epoll_wait`, whose timeout is in milliseconds too), so a chunk a
//! `latency` toxic holds for 100 ms is written 100–101 ms after it arrived, and the goal is
//! ±1 ms at p99. A busy spin for the last millisecond would be precise but would burn a
//! core whenever a delayed stream is flowing.
//!
//! How: [`sleep_until`] sleeps on tokio's timer until [`MARGIN`] before the deadline (cheap,
//! and tokio's rounding and wake-up lag both fit inside the margin), then hands the last
//! stretch to one process-wide thread that keeps a heap of deadlines and sleeps on a
//! condition variable, whose futex timeout is a high-resolution kernel timer (the thread's
//! timer slack is set to 1 ns on Linux). At each deadline it wakes the waiting task. CPU
//! cost is one thread wake-up per released deadline, never a spin; deadlines closer
//! together than [`SLACK`] are released by the same wake-up.
//!
//! Deciding *which* phase to run uses tokio's clock, so the logic can be tested with
//! `tokio::time::pause`; the final stretch is measured on the real clock (it is at most
//! [`MARGIN`] long). If the thread cannot be started, the last stretch falls back to
//! tokio's timer (late by up to a millisecond, as before).

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, OnceLock};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use crate::proxy::lock;

/// How long before a deadline tokio's timer hands over to the precise one.
pub const MARGIN: Duration = Duration::from_millis(2);
/// A deadline this close (or already past) is treated as due: a stream's chunks arrive
/// closer together than this, so a delayed stream's releases share wake-ups instead of
/// costing one thread wake-up per chunk (measured: +15–20 % CPU per GB at 50 µs), at the
/// price of releasing up to this much early (the goal is ±1 ms).
pub const SLACK: Duration = Duration::from_micros(200);

/// Wait until `deadline` (tokio's clock), within tens of microseconds when the machine
/// lets the threads run.
pub async fn sleep_until(deadline: tokio::time::Instant) {
    sleep_until_with(service(), deadline).await
}

async fn sleep_until_with(service: Option<&'static Service>, deadline: tokio::time::Instant) {
    match phase(tokio::time::Instant::now(), deadline) {
        Phase::Due => return,
        Phase::Coarse(until) => tokio::time::sleep_until(until).await,
        Phase::Fine(_) => {}
    }
    if let Phase::Fine(left) = phase(tokio::time::Instant::now(), deadline) {
        match service {
            Some(s) => {
                Fine {
                    service: s,
                    at: Instant::now() + left,
                    state: None,
                }
                .await
            }
            None => tokio::time::sleep_until(deadline).await,
        }
    }
}

/// [`sleep_until`] for a deadline on the standard clock, as the link keeps them.
pub async fn sleep_until_std(deadline: Instant) {
    sleep_until(deadline.into()).await
}

/// What a wait for `deadline` does next, seen at `now`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Nothing: the deadline is past or within [`SLACK`].
    Due,
    /// Sleep on tokio's timer until this instant ([`MARGIN`] before the deadline).
    Coarse(tokio::time::Instant),
    /// Let the precise thread wait this much longer.
    Fine(Duration),
}

pub fn phase(now: tokio::time::Instant, deadline: tokio::time::Instant) -> Phase {
    let left = deadline.saturating_duration_since(now);
    if left <= SLACK {
        Phase::Due
    } else if left > MARGIN {
        Phase::Coarse(deadline - MARGIN)
    } else {
        Phase::Fine(left)
    }
}

/// One waiting task, shared between its future and the service's heap.
#[derive(Debug, Default)]
struct WaitState {
    done: AtomicBool,
    waker: Mutex<Option<Waker>>,
}

struct Entry {
    at: Instant,
    seq: u64,
    state: Arc<WaitState>,
}

impl PartialEq for Entry {
    fn eq(&self, o: &Self) -> bool {
        (self.at, self.seq) == (o.at, o.seq)
    }
}
impl Eq for Entry {}
impl PartialOrd for Entry {
    fn partial_cmp(&self, o: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for Entry {
    fn cmp(&self, o: &Self) -> std::cmp::Ordering {
        (self.at, self.seq).cmp(&(o.at, o.seq))
    }
}

#[derive(Default)]
struct Heap {
    entries: BinaryHeap<Reverse<Entry>>,
    seq: u64,
}

/// The precise-timer thread's shared state.
pub struct Service {
    heap: Mutex<Heap>,
    changed: Condvar,
}

impl Service {
    fn add(&self, at: Instant, state: Arc<WaitState>) {
        let mut h = lock(&self.heap);
        h.seq += 1;
        let seq = h.seq;
        let earliest = h.entries.peek().is_none_or(|Reverse(e)| at < e.at);
        h.entries.push(Reverse(Entry { at, seq, state }));
        drop(h);
        if earliest {
            self.changed.notify_one();
        }
    }

    /// Deadlines waiting (released or abandoned ones leave at their instant).
    pub fn pending(&self) -> usize {
        lock(&self.heap).entries.len()
    }

    fn run(&self) {
        set_precise_slack();
        let mut due = Vec::new();
        let mut h = lock(&self.heap);
        loop {
            let now = Instant::now();
            while h
                .entries
                .peek()
                .is_some_and(|Reverse(e)| e.at <= now + SLACK)
            {
                if let Some(Reverse(e)) = h.entries.pop() {
                    due.push(e.state);
                }
            }
            if !due.is_empty() {
                drop(h);
                for s in due.drain(..) {
                    s.done.store(true, Ordering::Release);
                    if let Some(w) = lock(&s.waker).take() {
                        w.wake();
                    }
                }
                h = lock(&self.heap);
                continue;
            }
            h = match h.entries.peek().map(|Reverse(e)| e.at - now) {
                None => self.changed.wait(h).unwrap_or_else(|e| e.into_inner()),
                Some(d) => {
                    self.changed
                        .wait_timeout(h, d)
                        .unwrap_or_else(|e| e.into_inner())
                        .0
                }
            };
        }
    }
}

/// The process-wide service, started on first use; `None` if its thread cannot start.
pub fn service() -> Option<&'static Service> {
    static SERVICE: OnceLock<Option<&'static Service>> = OnceLock::new();
    *SERVICE.get_or_init(start)
}

/// A new service with its own thread (one per process; tests start their own).
fn start() -> Option<&'static Service> {
    let s: &'static Service = Box::leak(Box::new(Service {
        heap: Mutex::default(),
        changed: Condvar::new(),
    }));
    match std::thread::Builder::new()
        .name("shakedown-timer".into())
        .spawn(move || s.run())
    {
        Ok(_) => Some(s),
        Err(e) => {
            log::warn!("precise timer thread did not start ({e}); using tokio's timer");
            None
        }
    }
}

#[cfg(target_os = "linux")]
fn set_precise_slack() {
    // SAFETY: PR_SET_TIMERSLACK takes an integer and affects only the calling thread.
    unsafe { libc::prctl(libc::PR_SET_TIMERSLACK, 1 as libc::c_ulong) };
}

#[cfg(not(target_os = "linux"))]
fn set_precise_slack() {}

/// The last stretch of a wait, released by the service thread.
struct Fine {
    service: &'static Service,
    at: Instant,
    state: Option<Arc<WaitState>>,
}

impl Future for Fine {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        match &self.state {
            None => {
                if self.at <= Instant::now() + SLACK {
                    return Poll::Ready(());
                }
                let state = Arc::new(WaitState {
                    done: AtomicBool::new(false),
                    waker: Mutex::new(Some(cx.waker().clone())),
                });
                self.service.add(self.at, state.clone());
                self.state = Some(state);
                Poll::Pending
            }
            Some(state) => {
                if state.done.load(Ordering::Acquire) {
                    return Poll::Ready(());
                }
                *lock(&state.waker) = Some(cx.waker().clone());
                // Checked again after storing the waker: the service sets `done` before
                // taking the waker, so one of the two sees the other.
                if state.done.load(Ordering::Acquire) {
                    Poll::Ready(())
                } else {
                    Poll::Pending
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::time::Instant as TInstant;

    #[test]
    fn phases_follow_the_margin() {
        let now = TInstant::now();
        assert_eq!(phase(now, now), Phase::Due);
        assert_eq!(phase(now + Duration::from_secs(1), now), Phase::Due);
        assert_eq!(phase(now, now + SLACK), Phase::Due);
        let d = now + Duration::from_millis(100);
        assert_eq!(phase(now, d), Phase::Coarse(d - MARGIN));
        assert_eq!(
            phase(now, now + Duration::from_micros(1500)),
            Phase::Fine(Duration::from_micros(1500))
        );
        assert_eq!(phase(now, now + MARGIN), Phase::Fine(MARGIN));
    }

    /// Under paused time the coarse phase ends before the deadline (tokio's rounding can
    /// not make it late), leaving only the last `MARGIN` to the precise thread.
    #[tokio::test(start_paused = true)]
    async fn the_coarse_phase_hands_over_before_the_deadline() {
        let t0 = TInstant::now();
        let deadline = t0 + Duration::from_millis(100);
        sleep_until(deadline).await;
        let ended = TInstant::now();
        assert!(ended >= deadline - MARGIN, "{:?}", ended - t0);
        assert!(ended < deadline, "{:?}", ended - t0);
    }

    /// Waits are released in deadline order, whatever order they were registered in, and
    /// none stays behind in the heap. The three are registered under one lock with
    /// instants already due, so the order seen is the service's alone, not a race between
    /// the test's tasks and a loaded machine's scheduler.
    #[test]
    fn waits_are_released_in_deadline_order() {
        struct Record(u64, std::sync::mpsc::Sender<u64>);
        impl std::task::Wake for Record {
            fn wake(self: Arc<Self>) {
                let _ = self.1.send(self.0);
            }
        }
        let s = start().expect("service");
        let (tx, rx) = std::sync::mpsc::channel();
        let base = Instant::now();
        {
            let mut h = lock(&s.heap);
            for k in [3u64, 1, 2] {
                let waker = Waker::from(Arc::new(Record(k, tx.clone())));
                let state = Arc::new(WaitState {
                    done: AtomicBool::new(false),
                    waker: Mutex::new(Some(waker)),
                });
                h.seq += 1;
                let seq = h.seq;
                let at = base + Duration::from_micros(k);
                h.entries.push(Reverse(Entry { at, seq, state }));
            }
        }
        s.changed.notify_one();
        let limit = Duration::from_secs(30);
        let order: Vec<u64> = (0..3)
            .map(|_| rx.recv_timeout(limit).expect("released"))
            .collect();
        assert_eq!(order, vec![1, 2, 3]);
        assert_eq!(s.pending(), 0);
    }

    /// A wait dropped before its deadline (a `select!` branch that lost) does no harm:
    /// its entry leaves the heap at its instant.
    #[tokio::test(flavor = "current_thread")]
    async fn an_abandoned_wait_leaves_the_heap() {
        let s = start().expect("service");
        let deadline = TInstant::now() + Duration::from_micros(1500);
        let mut fut = Box::pin(sleep_until_with(Some(s), deadline));
        let mut cx = Context::from_waker(Waker::noop());
        let first = fut.as_mut().poll(&mut cx);
        if first.is_pending() {
            assert_eq!(s.pending(), 1);
        }
        drop(fut);
        sleep_until_with(Some(s), deadline + Duration::from_millis(1)).await;
        assert_eq!(s.pending(), 0);
    }
}
