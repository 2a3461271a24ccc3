//! Politeness per host: at most `concurrency` requests in flight and at least `interval` between two request
//! starts. A slot is held from the start of a request until its body is read.
//!
//! Kept by hand rather than `governor` (0.10.4): governor is a rate limiter only, so the semaphore for the concurrency
//! cap and the per-host map stay ours whatever happens, and the minimum interval it would replace is the three lines
//! around `next_start`. Its waits run on its own clock (`std::time::Instant`) and timer (`futures-timer`'s thread), not
//! tokio's, so the paused-clock test below could no longer run instantly; and even with `default-features = false,
//! features = ["std"]` it brings 23 crates, 9 of them new to our build (8 s of CPU to build cold).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;

#[derive(Debug)]
struct Host {
    slots: Arc<Semaphore>,
    /// The earliest moment the next request may start.
    next_start: Mutex<Instant>,
}

#[derive(Debug)]
pub(crate) struct HostLimiter {
    concurrency: usize,
    interval: Duration,
    hosts: Mutex<HashMap<String, Arc<Host>>>,
}

/// A request's place at its host; dropping it frees the slot.
#[derive(Debug)]
pub(crate) struct Slot {
    _permit: OwnedSemaphorePermit,
}

impl HostLimiter {
    pub fn new(concurrency: usize, interval: Duration) -> Self {
        Self { concurrency: concurrency.max(1), interval, hosts: Mutex::new(HashMap::new()) }
    }

    /// Waits for a free slot at `host`, then for the host's interval since the previous start.
    pub async fn acquire(&self, host: &str) -> Slot {
        let entry = {
            let mut hosts = self.hosts.lock().unwrap_or_else(|e| e.into_inner());
            hosts
                .entry(host.to_string())
                .or_insert_with(|| {
                    Arc::new(Host {
                        slots: Arc::new(Semaphore::new(self.concurrency)),
                        next_start: Mutex::new(Instant::now()),
                    })
                })
                .clone()
        };
        let permit = entry.slots.clone().acquire_owned().await.expect("the semaphore is never closed");
        let start = {
            let mut next = entry.next_start.lock().unwrap_or_else(|e| e.into_inner());
            let start = (*next).max(Instant::now());
            *next = start + self.interval;
            start
        };
        tokio::time::sleep_until(start).await;
        Slot { _permit: permit }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn spaces_starts_and_caps_concurrency() {
        let limiter = Arc::new(HostLimiter::new(2, Duration::from_millis(100)));
        let t0 = Instant::now();
        let a = limiter.acquire("shop").await;
        let b = limiter.acquire("shop").await;
        assert_eq!(t0.elapsed(), Duration::from_millis(100), "the second start waits one interval");
        let other = limiter.acquire("other").await;
        assert_eq!(t0.elapsed(), Duration::from_millis(100), "other hosts are not held up");
        let third = {
            let limiter = limiter.clone();
            tokio::spawn(async move {
                let _slot = limiter.acquire("shop").await;
                Instant::now()
            })
        };
        tokio::time::sleep(Duration::from_millis(500)).await;
        assert!(!third.is_finished(), "two slots are taken");
        drop(a);
        let started = third.await.unwrap();
        assert_eq!(started - t0, Duration::from_millis(600));
        drop((b, other));
    }
}
