//! Running a request over and over from many clients at once, checking every answer, and
//! the latency figures of a run.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Result, bail};
use tokio::sync::Mutex;

/// What one run measured.
#[derive(Debug, Clone, Default)]
pub struct Run {
    /// Requests answered as expected.
    pub ok: u64,
    /// Latencies of the answered requests, sorted, in microseconds.
    pub latencies: Vec<u32>,
    pub elapsed: Duration,
}

impl Run {
    /// Requests per second.
    pub fn rate(&self) -> f64 {
        self.ok as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }

    /// The `q`-quantile latency in milliseconds.
    pub fn quantile_ms(&self, q: f64) -> f64 {
        quantile(&self.latencies, q)
    }
}

/// The `q`-quantile of sorted microsecond latencies, in milliseconds.
pub fn quantile(sorted: &[u32], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((sorted.len() as f64 * q).ceil() as usize).clamp(1, sorted.len());
    f64::from(sorted[rank - 1]) / 1000.0
}

/// Runs `request` from `clients` concurrent clients for `duration` (after `warmup` of the
/// same, not counted); `request` answers with whether the response was the expected one.
/// A wrong answer fails the run.
pub async fn run<F, Fut>(
    clients: usize,
    warmup: Duration,
    duration: Duration,
    request: F,
) -> Result<Run>
where
    F: Fn() -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<()>> + Send,
{
    let request = Arc::new(request);
    let latencies = Arc::new(Mutex::new(Vec::new()));
    let started = Instant::now();
    let measure_from = started + warmup;
    let end = measure_from + duration;
    let mut tasks = Vec::new();
    for _ in 0..clients {
        let request = Arc::clone(&request);
        let latencies = Arc::clone(&latencies);
        tasks.push(tokio::spawn(async move {
            let mut mine: Vec<u32> = Vec::new();
            loop {
                let sent = Instant::now();
                if sent >= end {
                    break;
                }
                request().await?;
                if sent >= measure_from {
                    mine.push(u32::try_from(sent.elapsed().as_micros()).unwrap_or(u32::MAX));
                }
            }
            latencies.lock().await.extend(mine);
            anyhow::Ok(())
        }));
    }
    for task in tasks {
        task.await??;
    }
    let mut latencies = std::mem::take(&mut *latencies.lock().await);
    if latencies.is_empty() {
        bail!("no request completed in {duration:?}");
    }
    latencies.sort_unstable();
    Ok(Run {
        ok: latencies.len() as u64,
        latencies,
        elapsed: duration,
    })
}

#[cfg(test)]
mod tests {
    use super::quantile;

    #[test]
    fn quantiles_pick_the_rank() {
        let sorted: Vec<u32> = (1..=100).map(|n| n * 1000).collect();
        assert_eq!(quantile(&sorted, 0.5), 50.0);
        assert_eq!(quantile(&sorted, 0.99), 99.0);
        assert_eq!(quantile(&sorted, 1.0), 100.0);
        assert_eq!(quantile(&[], 0.5), 0.0);
    }
}
