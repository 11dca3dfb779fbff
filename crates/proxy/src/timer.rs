//! Precise release instants for toxics: one alarm per link, one timer thread per process.
//!
//! Why: tokio's timer wheel counts whole milliseconds and rounds every deadline up (and the
//! runtime parks in `epoll_wait`, whose timeout is in milliseconds too), so a chunk a
//! `latency` toxic holds for 100 ms would be written 100–101 ms after it arrived, and the
//! goal is ±1 ms at p99. A busy spin would be precise but would burn a core whenever a
//! delayed stream is flowing.
//!
//! How: every link owns one [`Alarm`], armed for the earliest instant it waits for (the
//! next delayed chunk, a stage's deadline, a delayed EOF or reset). Arming pushes the
//! instant into one process-wide heap ([`Deadlines`]); one thread (`shakedown-timer`)
//! sleeps on a condition variable until the earliest of them, whose futex timeout is a
//! high-resolution kernel timer (the thread's timer slack is set to 1 ns on Linux), and
//! wakes the alarms that are due. CPU cost is one thread wake-up per batch of releases,
//! never a spin: instants closer together than [`SLACK`] are released by the same wake-up
//! (a chunk may leave up to that much early).
//!
//! An earlier version gave every wait site its own future (tokio's timer until 2 ms
//! before the instant, then a fresh registration with the thread) and rebuilt them on
//! every turn of the link's loop, so a stream flowing through a `latency` toxic
//! registered and dropped timers for every chunk it *read*, and each link's future
//! carried four timer futures (about 900 bytes per link, idle or not). An alarm is
//! re-armed only when the instant it waits for changes, holds nothing until first armed,
//! and a superseded instant is simply skipped when the thread reaches it (each arming has
//! a generation number).
//!
//! If the thread cannot be started, alarms fall back to tokio's timer (late by up to a
//! millisecond).

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Condvar, Mutex, OnceLock};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use crate::proxy::lock;

/// An instant this close (or already past) is treated as come: a stream's chunks arrive
/// closer together than this, so a delayed stream's releases share wake-ups instead of
/// costing one thread wake-up per chunk (measured: +15–20 % CPU per GB at 50 µs), at the
/// price of releasing up to this much early (the goal is ±1 ms).
pub const SLACK: Duration = Duration::from_micros(200);

/// Whether `at` has come at `now`, within [`SLACK`].
pub fn due(at: Instant, now: Instant) -> bool {
    at <= now + SLACK
}

/// What one alarm is armed for; shared between the alarm and its heap entries.
#[derive(Debug, Default)]
struct Armed {
    /// Bumped on every arming; a heap entry fires the alarm only if its generation is
    /// still the current one.
    generation: u64,
    at: Option<Instant>,
    fired: bool,
    waker: Option<Waker>,
}

#[derive(Debug, Default)]
struct AlarmState(Mutex<Armed>);

impl AlarmState {
    /// Fire this alarm if `generation` is still its arming; the waker to wake, if any.
    fn fire(&self, generation: u64) -> Option<Waker> {
        let mut a = lock(&self.0);
        if a.generation != generation || a.fired {
            return None;
        }
        a.fired = true;
        a.waker.take()
    }
}

struct Entry {
    at: Instant,
    seq: u64,
    generation: u64,
    alarm: Arc<AlarmState>,
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

/// Every armed instant of the process, earliest first (ties in arming order). Pure data:
/// the service thread drives it with the real clock, the tests with instants of their own.
#[derive(Default)]
pub struct Deadlines {
    entries: BinaryHeap<Reverse<Entry>>,
    seq: u64,
}

impl Deadlines {
    /// Add an arming; whether it is now the earliest (the thread must re-plan its sleep).
    fn push(&mut self, at: Instant, generation: u64, alarm: Arc<AlarmState>) -> bool {
        self.seq += 1;
        let earliest = self.next().is_none_or(|e| at < e);
        self.entries.push(Reverse(Entry {
            at,
            seq: self.seq,
            generation,
            alarm,
        }));
        earliest
    }

    /// The earliest instant waiting.
    pub fn next(&self) -> Option<Instant> {
        self.entries.peek().map(|Reverse(e)| e.at)
    }

    /// Instants waiting (superseded ones leave when their instant comes).
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Take every entry due at `now`, in deadline order, into `out`.
    fn pop_due(&mut self, now: Instant, out: &mut Vec<(u64, Arc<AlarmState>)>) {
        while self.next().is_some_and(|at| due(at, now)) {
            if let Some(Reverse(e)) = self.entries.pop() {
                out.push((e.generation, e.alarm));
            }
        }
    }
}

/// Fire what `pop_due` took (outside the heap's lock), in order.
fn fire_all(due: &mut Vec<(u64, Arc<AlarmState>)>) {
    for (generation, alarm) in due.drain(..) {
        if let Some(w) = alarm.fire(generation) {
            w.wake();
        }
    }
}

/// The timer thread's shared state.
pub struct Service {
    deadlines: Mutex<Deadlines>,
    changed: Condvar,
}

impl Service {
    fn add(&self, at: Instant, generation: u64, alarm: Arc<AlarmState>) {
        let earliest = lock(&self.deadlines).push(at, generation, alarm);
        if earliest {
            self.changed.notify_one();
        }
    }

    /// Instants waiting in the heap.
    pub fn pending(&self) -> usize {
        lock(&self.deadlines).len()
    }

    fn run(&self) {
        set_precise_slack();
        let mut due = Vec::new();
        let mut h = lock(&self.deadlines);
        loop {
            h.pop_due(Instant::now(), &mut due);
            if !due.is_empty() {
                drop(h);
                fire_all(&mut due);
                h = lock(&self.deadlines);
                continue;
            }
            h = match h.next() {
                None => self.changed.wait(h).unwrap_or_else(|e| e.into_inner()),
                Some(at) => {
                    let d = at.saturating_duration_since(Instant::now());
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
        deadlines: Mutex::default(),
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

/// One link's alarm. Holds nothing until first armed (an idle link allocates nothing).
pub struct Alarm {
    service: Option<&'static Service>,
    state: Option<Arc<AlarmState>>,
    /// Without the service: tokio's timer, boxed so the alarm stays small.
    fallback: Option<Pin<Box<tokio::time::Sleep>>>,
}

impl Default for Alarm {
    fn default() -> Self {
        Alarm::with(service())
    }
}

impl Alarm {
    fn with(service: Option<&'static Service>) -> Alarm {
        Alarm {
            service,
            state: None,
            fallback: None,
        }
    }

    /// Wait until `at` (within [`SLACK`]), or forever for `None`. Cancel-safe: the
    /// arming outlives the future, so polling a new wait for the same instant arms
    /// nothing new, and one for another instant supersedes the old one.
    pub fn wait(&mut self, at: Option<Instant>) -> Wait<'_> {
        Wait { alarm: self, at }
    }

    fn poll_at(&mut self, at: Instant, cx: &mut Context<'_>) -> Poll<()> {
        if due(at, Instant::now()) {
            return Poll::Ready(());
        }
        let Some(service) = self.service else {
            let deadline = tokio::time::Instant::from_std(at);
            let sleep = match &mut self.fallback {
                Some(s) => {
                    if s.deadline() != deadline {
                        s.as_mut().reset(deadline);
                    }
                    s
                }
                None => self
                    .fallback
                    .insert(Box::pin(tokio::time::sleep_until(deadline))),
            };
            return sleep.as_mut().poll(cx);
        };
        let state = self.state.get_or_insert_with(Arc::default);
        let mut a = lock(&state.0);
        if a.at == Some(at) {
            if a.fired {
                return Poll::Ready(());
            }
            if !a.waker.as_ref().is_some_and(|w| w.will_wake(cx.waker())) {
                a.waker = Some(cx.waker().clone());
            }
            return Poll::Pending;
        }
        a.generation += 1;
        a.at = Some(at);
        a.fired = false;
        a.waker = Some(cx.waker().clone());
        let generation = a.generation;
        drop(a);
        service.add(at, generation, state.clone());
        Poll::Pending
    }
}

impl Drop for Alarm {
    /// A link that ends while armed (a closed connection under a long `latency` or
    /// `timeout`) leaves its heap entry until the instant; the entry must not keep the
    /// link's task alive through its waker meanwhile, only this small state.
    fn drop(&mut self) {
        if let Some(state) = &self.state {
            let mut a = lock(&state.0);
            a.at = None;
            a.waker = None;
        }
    }
}

/// [`Alarm::wait`]'s future.
pub struct Wait<'a> {
    alarm: &'a mut Alarm,
    at: Option<Instant>,
}

impl Future for Wait<'_> {
    type Output = ();
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        match this.at {
            Some(at) => this.alarm.poll_at(at, cx),
            // Nothing to wait for: the link's other arms wake it.
            None => Poll::Pending,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// A waker that counts its wakes.
    struct Count(AtomicUsize);
    impl std::task::Wake for Count {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    fn counting() -> (Arc<Count>, Waker) {
        let c = Arc::new(Count(AtomicUsize::new(0)));
        (c.clone(), Waker::from(c))
    }

    /// A service whose thread never runs: the test moves its clock by hand.
    fn manual() -> &'static Service {
        Box::leak(Box::new(Service {
            deadlines: Mutex::default(),
            changed: Condvar::new(),
        }))
    }

    /// Release `s`'s entries due at `now`, as its thread would.
    fn advance(s: &Service, now: Instant) {
        let mut due = Vec::new();
        lock(&s.deadlines).pop_due(now, &mut due);
        fire_all(&mut due);
    }

    /// Entries come out in deadline order whatever order they went in, ties in arming
    /// order, and only once they are within `SLACK` of the clock.
    #[test]
    fn deadlines_release_in_deadline_order() {
        let base = Instant::now();
        let mut d = Deadlines::default();
        let us = Duration::from_micros;
        let alarms: Vec<Arc<AlarmState>> = (0..4).map(|_| Arc::default()).collect();
        for (k, off) in [(0u64, 3000), (1, 1000), (2, 2000), (3, 1000)] {
            d.push(base + us(off), k, alarms[k as usize].clone());
        }
        assert_eq!(d.next(), Some(base + us(1000)));
        let mut out = Vec::new();
        d.pop_due(base + us(1000) - SLACK - us(1), &mut out);
        assert!(out.is_empty(), "released before its slack");
        d.pop_due(base + us(2000) - SLACK, &mut out);
        let order: Vec<u64> = out.iter().map(|(g, _)| *g).collect();
        assert_eq!(order, vec![1, 3, 2]);
        out.clear();
        d.pop_due(base + us(10_000), &mut out);
        assert_eq!(out.iter().map(|(g, _)| *g).collect::<Vec<_>>(), vec![0]);
        assert!(d.is_empty());
    }

    /// Re-arming for another instant supersedes the first: the first's entry fires
    /// nothing when it comes, the second wakes the task once, and polling the same
    /// instant again arms nothing new.
    #[test]
    fn a_rearmed_alarm_fires_only_for_its_latest_instant() {
        let s = manual();
        let mut alarm = Alarm::with(Some(s));
        let (count, waker) = counting();
        let mut cx = Context::from_waker(&waker);
        let t1 = Instant::now() + Duration::from_secs(3600);
        let t2 = t1 + Duration::from_millis(5);
        assert!(alarm.poll_at(t1, &mut cx).is_pending());
        assert!(alarm.poll_at(t1, &mut cx).is_pending());
        assert_eq!(s.pending(), 1, "the same instant armed twice");
        assert!(alarm.poll_at(t2, &mut cx).is_pending());
        assert_eq!(s.pending(), 2);
        advance(s, t1);
        assert_eq!(
            count.0.load(Ordering::SeqCst),
            0,
            "a superseded instant fired"
        );
        assert!(alarm.poll_at(t2, &mut cx).is_pending());
        advance(s, t2);
        assert_eq!(count.0.load(Ordering::SeqCst), 1);
        assert!(alarm.poll_at(t2, &mut cx).is_ready());
        assert_eq!(s.pending(), 0);
    }

    /// A dropped alarm lets go of its task's waker at once (its heap entry stays until
    /// the instant, holding only the small shared state) and fires nothing.
    #[test]
    fn a_dropped_alarm_releases_its_waker() {
        let s = manual();
        let mut alarm = Alarm::with(Some(s));
        let (count, waker) = counting();
        let at = Instant::now() + Duration::from_secs(3600);
        let polled = alarm.poll_at(at, &mut Context::from_waker(&waker));
        assert!(polled.is_pending());
        drop(waker);
        assert_eq!(
            Arc::strong_count(&count),
            2,
            "the armed alarm holds the waker"
        );
        drop(alarm);
        assert_eq!(Arc::strong_count(&count), 1, "the waker outlived its alarm");
        assert_eq!(s.pending(), 1);
        advance(s, at);
        assert_eq!(count.0.load(Ordering::SeqCst), 0);
        assert_eq!(s.pending(), 0);
    }

    /// An alarm that never waited holds nothing: no state, no heap entry.
    #[test]
    fn an_unarmed_alarm_holds_nothing() {
        let s = manual();
        let mut alarm = Alarm::with(Some(s));
        let (_count, waker) = counting();
        let mut cx = Context::from_waker(&waker);
        let mut none = alarm.wait(None);
        assert!(Pin::new(&mut none).poll(&mut cx).is_pending());
        assert!(alarm.state.is_none());
        assert_eq!(s.pending(), 0);
        // An instant already due is ready without arming.
        assert!(alarm.poll_at(Instant::now(), &mut cx).is_ready());
        assert!(alarm.state.is_none());
    }

    /// Without the thread, an alarm waits on tokio's timer, and not less than asked.
    #[tokio::test(start_paused = true)]
    async fn without_the_thread_tokio_times_the_wait() {
        let at = Instant::now() + Duration::from_millis(100);
        let mut alarm = Alarm::with(None);
        alarm.wait(Some(at)).await;
        assert!(tokio::time::Instant::now() >= tokio::time::Instant::from_std(at));
        assert!(alarm.state.is_none());
    }

    /// The real thread wakes an armed alarm, and a superseded instant leaves its heap.
    #[tokio::test(flavor = "current_thread")]
    async fn the_thread_fires_alarms_and_empties_its_heap() {
        let s = start().expect("service");
        let mut alarm = Alarm::with(Some(s));
        let t1 = Instant::now() + Duration::from_millis(3);
        let mut cx = Context::from_waker(Waker::noop());
        let _ = alarm.poll_at(t1 + Duration::from_millis(1), &mut cx);
        let limit = Duration::from_secs(30);
        tokio::time::timeout(limit, alarm.wait(Some(t1)))
            .await
            .expect("the alarm fired");
        tokio::time::timeout(limit, async {
            while s.pending() > 0 {
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
        })
        .await
        .expect("the heap emptied");
    }
}
