//! Bounded admission: at most `in_flight` GraphQL requests run at once, at most `queue`
//! more wait (each at most `wait`) for a turn, and the rest are refused at once with
//! `503 Service Unavailable` and `Retry-After`. Under overload the admitted requests keep
//! their latency, and excess load learns within microseconds that it must come back,
//! instead of queueing for seconds. Every admitted request holds one database
//! connection for its whole life, so with the pool sized to `in_flight` no request waits
//! for a connection once admitted.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// The admission settings.
#[derive(Debug, Clone, Copy)]
pub struct Settings {
    /// Requests that may run at once.
    pub in_flight: usize,
    /// Requests that may wait for a turn.
    pub queue: usize,
    /// How long a request may wait for a turn.
    pub wait: Duration,
}

/// The admission gate shared by every request.
#[derive(Debug, Clone)]
pub struct Gate {
    settings: Settings,
    permits: Arc<Semaphore>,
    waiting: Arc<AtomicUsize>,
}

/// Why a request was not admitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// The queue was full.
    QueueFull,
    /// The request waited its longest and got no turn.
    Waited,
    /// Admitted, but no database connection came free in time.
    NoConnection,
}

impl Refused {
    /// The label of the reason in metrics.
    pub fn label(self) -> &'static str {
        match self {
            Refused::QueueFull => "queue_full",
            Refused::Waited => "waited",
            Refused::NoConnection => "no_connection",
        }
    }
}

impl Gate {
    pub fn new(settings: Settings) -> Self {
        Self {
            settings,
            permits: Arc::new(Semaphore::new(settings.in_flight.max(1))),
            waiting: Arc::new(AtomicUsize::new(0)),
        }
    }

    /// A turn to run, held until the permit is dropped.
    pub async fn admit(&self) -> Result<OwnedSemaphorePermit, Refused> {
        if let Ok(permit) = Arc::clone(&self.permits).try_acquire_owned() {
            return Ok(permit);
        }
        // Join the queue only if there is room in it.
        let joined = self
            .waiting
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| {
                (n < self.settings.queue).then_some(n + 1)
            })
            .is_ok();
        if !joined {
            return Err(Refused::QueueFull);
        }
        let turn = tokio::time::timeout(
            self.settings.wait,
            Arc::clone(&self.permits).acquire_owned(),
        )
        .await;
        self.waiting.fetch_sub(1, Ordering::SeqCst);
        match turn {
            Ok(Ok(permit)) => Ok(permit),
            _ => Err(Refused::Waited),
        }
    }

    /// Requests running now.
    pub fn in_flight(&self) -> usize {
        self.settings.in_flight.max(1) - self.permits.available_permits()
    }

    /// Requests waiting for a turn now.
    pub fn queued(&self) -> usize {
        self.waiting.load(Ordering::SeqCst)
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::{Gate, Refused, Settings};

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
        tokio::time::sleep(Duration::from_millis(10)).await;
        assert_eq!(gate.queued(), 1);
        assert_eq!(gate.admit().await.err(), Some(Refused::QueueFull));
        // A turn freed while it waits admits the waiting one.
        drop(first);
        assert_eq!(waiting.await.expect("joined"), Ok(()));
        // With both turns taken and nobody leaving, a waiter gives up after `wait`.
        let _third = gate.admit().await.expect("the freed turn");
        assert_eq!(gate.admit().await.err(), Some(Refused::Waited));
        assert_eq!(gate.queued(), 0);
    }
}
