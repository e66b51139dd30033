//! Admission: at most `in_flight` GraphQL requests run at once; the rest queue for a turn
//! as long as their expected wait fits a budget (`wait`, a second by default), and are
//! refused at once with `503 Service Unavailable` and `Retry-After` when it does not.
//!
//! The queue is sized by Little's law: a queue drained by `in_flight` runners, each
//! holding its turn for a service time `S` on average, serves `in_flight / S` requests a
//! second, so the `n`-th in line expects to wait `n × S / in_flight`. The gate keeps a
//! moving average of how long admitted requests hold their turn (under load that is
//! their latency under load); an arrival that finds every turn taken and `queued` ahead
//! of it expects `(queued + 1) × S / in_flight`. Within the budget it joins the queue
//! and waits at most the budget; beyond it, it is refused before it waits at all. So the
//! queue holds about `budget × throughput` requests, however slow the queries are: an
//! ordinary load of a few dozen clients is queued and served, overload learns within
//! microseconds that it must come back, and a served request never waited more than
//! the budget. `queue` is a hard cap on top, for memory, and the only bound until the
//! first request has finished and given the average its first sample.
//!
//! Every admitted request holds one database connection for its whole life, so with the
//! pool one larger than `in_flight` (the spare answers `/readyz`) no admitted request
//! waits for a connection.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// The pool size by default: 15 requests in flight and a spare connection.
pub const DEFAULT_CONNECTIONS: u32 = 16;
/// The hard cap on waiting requests by default.
pub const DEFAULT_QUEUE: usize = 1_024;
/// The wait budget by default, in milliseconds.
pub const DEFAULT_WAIT_MS: u64 = 1_000;

/// The admission settings.
#[derive(Debug, Clone, Copy)]
pub struct Settings {
    /// Requests that may run at once.
    pub in_flight: usize,
    /// Requests that may wait for a turn at most, whatever their expected wait.
    pub queue: usize,
    /// The wait budget: the longest a request is expected to wait, and may wait, for a
    /// turn.
    pub wait: Duration,
}

/// The admission gate shared by every request.
#[derive(Debug, Clone)]
pub struct Gate {
    settings: Settings,
    permits: Arc<Semaphore>,
    waiting: Arc<AtomicUsize>,
    service: Arc<ServiceTime>,
}

/// A turn to run. Dropping it frees the turn and records how long it was held.
#[derive(Debug)]
pub struct Turn {
    _permit: OwnedSemaphorePermit,
    started: Instant,
    service: Arc<ServiceTime>,
}

/// Why a request was not admitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// The queue was at its hard cap.
    QueueFull,
    /// The queue ahead would take longer than the budget to drain.
    ExpectedWait,
    /// The request waited its budget and got no turn.
    Waited,
    /// Admitted, but no database connection came free in time.
    NoConnection,
}

impl Refused {
    /// The label of the reason in metrics.
    pub fn label(self) -> &'static str {
        match self {
            Refused::QueueFull => "queue_full",
            Refused::ExpectedWait => "expected_wait",
            Refused::Waited => "waited",
            Refused::NoConnection => "no_connection",
        }
    }
}

impl Gate {
    pub fn new(settings: Settings) -> Self {
        let settings = Settings {
            in_flight: settings.in_flight.max(1),
            ..settings
        };
        Self {
            settings,
            permits: Arc::new(Semaphore::new(settings.in_flight)),
            waiting: Arc::new(AtomicUsize::new(0)),
            service: Arc::new(ServiceTime::default()),
        }
    }

    /// A turn to run, held until the turn is dropped.
    pub async fn admit(&self) -> Result<Turn, Refused> {
        if let Ok(permit) = Arc::clone(&self.permits).try_acquire_owned() {
            return Ok(self.turn(permit));
        }
        // Join the queue only if there is room in it and its wait fits the budget.
        let service = self.service.get();
        let joined = self
            .waiting
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |ahead| {
                (ahead < self.settings.queue
                    && self.expected_wait(ahead, service) <= self.settings.wait)
                    .then_some(ahead + 1)
            });
        if let Err(ahead) = joined {
            return Err(if ahead >= self.settings.queue {
                Refused::QueueFull
            } else {
                Refused::ExpectedWait
            });
        }
        // Leaves the queue however the wait ends, also when the request is dropped.
        let _place = Place(&self.waiting);
        let turn = tokio::time::timeout(
            self.settings.wait,
            Arc::clone(&self.permits).acquire_owned(),
        )
        .await;
        match turn {
            Ok(Ok(permit)) => Ok(self.turn(permit)),
            _ => Err(Refused::Waited),
        }
    }

    /// Requests running now.
    pub fn in_flight(&self) -> usize {
        self.settings.in_flight - self.permits.available_permits()
    }

    /// Requests waiting for a turn now.
    pub fn queued(&self) -> usize {
        self.waiting.load(Ordering::SeqCst)
    }

    /// The moving average of how long a request holds its turn (zero before the first
    /// has finished).
    pub fn service_time(&self) -> Duration {
        self.service.get()
    }

    /// How long the next request to queue expects to wait.
    pub fn expected_wait_now(&self) -> Duration {
        self.expected_wait(self.queued(), self.service.get())
    }

    /// The wait of a request with `ahead` requests ahead of it in the queue, each taking
    /// `service` on one of `in_flight` turns: `(ahead + 1) × service / in_flight`.
    fn expected_wait(&self, ahead: usize, service: Duration) -> Duration {
        let in_flight = u32::try_from(self.settings.in_flight).unwrap_or(u32::MAX);
        let place = u32::try_from(ahead.saturating_add(1)).unwrap_or(u32::MAX);
        (service / in_flight).saturating_mul(place)
    }

    fn turn(&self, permit: OwnedSemaphorePermit) -> Turn {
        Turn {
            _permit: permit,
            started: Instant::now(),
            service: Arc::clone(&self.service),
        }
    }
}

impl Drop for Turn {
    fn drop(&mut self) {
        self.service.record(self.started.elapsed());
    }
}

/// A place in the queue, given up when dropped.
struct Place<'a>(&'a AtomicUsize);

impl Drop for Place<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// An exponentially weighted moving average of turn durations, in nanoseconds; zero
/// until the first sample. Each sample weighs 1/16, so the average follows a change of
/// load within a few dozen requests.
#[derive(Debug, Default)]
struct ServiceTime(AtomicU64);

impl ServiceTime {
    fn record(&self, held: Duration) {
        let sample = u64::try_from(held.as_nanos()).unwrap_or(u64::MAX).max(1);
        let _ = self
            .0
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |average| {
                Some(if average == 0 {
                    sample
                } else {
                    average - average / 16 + sample / 16
                })
            });
    }

    fn get(&self) -> Duration {
        Duration::from_nanos(self.0.load(Ordering::Relaxed))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Duration;

    use tokio::sync::Semaphore;

    use super::{
        DEFAULT_CONNECTIONS, DEFAULT_QUEUE, DEFAULT_WAIT_MS, Gate, Refused, Settings, Turn,
    };

    fn defaults() -> Settings {
        Settings {
            in_flight: usize::try_from(DEFAULT_CONNECTIONS - 1).expect("a small number"),
            queue: DEFAULT_QUEUE,
            wait: Duration::from_millis(DEFAULT_WAIT_MS),
        }
    }

    /// Waits until `gate` shows `in_flight` running and `queued` waiting.
    async fn until(gate: &Gate, in_flight: usize, queued: usize) {
        for _ in 0..10_000 {
            if gate.in_flight() == in_flight && gate.queued() == queued {
                return;
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        panic!(
            "never saw {in_flight} running and {queued} waiting (saw {} and {})",
            gate.in_flight(),
            gate.queued()
        );
    }

    /// Asks for a turn in a task of its own; the task holds the turn until `release`
    /// gives it a permit.
    fn client(
        gate: &Gate,
        release: &Arc<Semaphore>,
    ) -> tokio::task::JoinHandle<Result<(), Refused>> {
        let (gate, release) = (gate.clone(), Arc::clone(release));
        tokio::spawn(async move {
            let turn: Turn = gate.admit().await?;
            let _go = release.acquire().await.expect("an open semaphore");
            drop(turn);
            Ok(())
        })
    }

    #[tokio::test]
    async fn a_full_gate_queues_a_few_and_refuses_the_rest() {
        let gate = Gate::new(Settings {
            in_flight: 2,
            queue: 1,
            wait: Duration::from_millis(50),
        });
        let first = gate.admit().await.expect("a first turn");
        let _second = gate.admit().await.expect("a second turn");
        assert_eq!(gate.in_flight(), 2);
        // The third waits in the queue; a fourth finds the queue full.
        let waiting = {
            let gate = gate.clone();
            tokio::spawn(async move { gate.admit().await.map(|_| ()) })
        };
        until(&gate, 2, 1).await;
        assert_eq!(gate.admit().await.err(), Some(Refused::QueueFull));
        // A turn freed while it waits admits the waiting one.
        drop(first);
        assert_eq!(waiting.await.expect("joined"), Ok(()));
        assert_eq!(gate.queued(), 0);
    }

    /// The default settings serve 32 clients at once: 15 run, 17 wait, and with turns of
    /// 300 ms (the slowest suite query's latency under that load) the last in line
    /// expects 17 × 300 / 15 = 340 ms, well within the second's budget.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn thirty_two_clients_all_get_a_turn_with_the_defaults() {
        let gate = Gate::new(defaults());
        gate.service.record(Duration::from_millis(300));
        let release = Arc::new(Semaphore::new(0));
        let clients: Vec<_> = (0..32).map(|_| client(&gate, &release)).collect();
        until(&gate, 15, 17).await;
        release.add_permits(32);
        for client in clients {
            assert_eq!(client.await.expect("joined"), Ok(()));
        }
        assert_eq!((gate.in_flight(), gate.queued()), (0, 0));
    }

    /// With two turns of a second each, the queue drains two requests a second, so a
    /// budget of a second holds two waiters; a third is refused at once, not after its
    /// wait, and the two waiting are served.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_queue_holds_what_the_budget_drains() {
        let gate = Gate::new(Settings {
            in_flight: 2,
            queue: DEFAULT_QUEUE,
            wait: Duration::from_secs(1),
        });
        gate.service.record(Duration::from_secs(1));
        let release = Arc::new(Semaphore::new(0));
        let running = [client(&gate, &release), client(&gate, &release)];
        until(&gate, 2, 0).await;
        let waiting = [client(&gate, &release), client(&gate, &release)];
        until(&gate, 2, 2).await;
        assert_eq!(gate.expected_wait_now(), Duration::from_millis(1_500));
        assert_eq!(gate.admit().await.err(), Some(Refused::ExpectedWait));
        assert_eq!(gate.queued(), 2);
        release.add_permits(4);
        for client in running.into_iter().chain(waiting) {
            assert_eq!(client.await.expect("joined"), Ok(()));
        }
    }

    /// A measured service time far beyond the budget refuses the first arrival that
    /// would have to wait at all.
    #[tokio::test]
    async fn slow_turns_refuse_a_waiter_at_once() {
        let gate = Gate::new(defaults());
        gate.service.record(Duration::from_secs(30));
        let mut turns = Vec::new();
        for _ in 0..15 {
            turns.push(gate.admit().await.expect("a free turn"));
        }
        assert_eq!(gate.admit().await.err(), Some(Refused::ExpectedWait));
        assert_eq!(gate.queued(), 0);
        // A freed turn is taken without waiting, whatever the estimate.
        turns.pop();
        assert!(gate.admit().await.is_ok());
    }

    #[tokio::test]
    async fn a_waiter_gives_up_after_its_budget() {
        let gate = Gate::new(Settings {
            in_flight: 1,
            queue: DEFAULT_QUEUE,
            wait: Duration::from_millis(50),
        });
        let _only = gate.admit().await.expect("the only turn");
        assert_eq!(gate.admit().await.err(), Some(Refused::Waited));
        assert_eq!(gate.queued(), 0);
    }

    /// A request dropped while it waits (its client went away) leaves the queue.
    #[tokio::test]
    async fn a_dropped_waiter_leaves_the_queue() {
        let gate = Gate::new(Settings {
            in_flight: 1,
            queue: 1,
            wait: Duration::from_secs(60),
        });
        let _only = gate.admit().await.expect("the only turn");
        let waiter = {
            let gate = gate.clone();
            tokio::spawn(async move { gate.admit().await.map(|_| ()) })
        };
        until(&gate, 1, 1).await;
        waiter.abort();
        assert!(waiter.await.is_err_and(|e| e.is_cancelled()));
        assert_eq!(gate.queued(), 0);
        // Its place is free again.
        let again = {
            let gate = gate.clone();
            tokio::spawn(async move { gate.admit().await.map(|_| ()) })
        };
        until(&gate, 1, 1).await;
        again.abort();
    }

    #[test]
    fn the_service_time_is_a_moving_average_of_held_turns() {
        let gate = Gate::new(defaults());
        assert_eq!(gate.service_time(), Duration::ZERO);
        gate.service.record(Duration::from_millis(100));
        assert_eq!(gate.service_time(), Duration::from_millis(100));
        // 100 − 100/16 + 260/16 = 110.
        gate.service.record(Duration::from_millis(260));
        assert_eq!(gate.service_time(), Duration::from_millis(110));
    }

    #[tokio::test]
    async fn a_dropped_turn_records_how_long_it_was_held() {
        let gate = Gate::new(defaults());
        let turn = gate.admit().await.expect("a turn");
        tokio::time::sleep(Duration::from_millis(5)).await;
        drop(turn);
        assert!(gate.service_time() >= Duration::from_millis(5));
        assert_eq!(gate.in_flight(), 0);
    }
}
