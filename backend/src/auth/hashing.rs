//! The password-hashing pool: a few dedicated threads, fewer than the machine's cores and at a
//! lower scheduling priority, with a short queue. A hash that does not fit in the queue is
//! refused at once ("busy", 503 with `Retry-After`), and one that waited past its deadline is
//! refused when it reaches a thread, so a flood of sign-ins can neither take every core from
//! the reads nor make anyone wait seconds for an answer.

use crate::{Error, Result};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

type Job = Box<dyn FnOnce() + Send>;

struct Queued {
    job: Job,
    since: Instant,
}

pub struct HashPool {
    sender: mpsc::Sender<Queued>,
    shared: Arc<Shared>,
    pub workers: usize,
}

struct Shared {
    /// Jobs handed in and not yet taken by a thread.
    waiting: AtomicUsize,
    /// How many may wait; set from the measured hash time (see [`HashPool::fit_queue`]).
    limit: AtomicUsize,
    deadline: Duration,
}

/// Threads for hashing by default: one core is always left to everything else.
pub fn default_workers() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(2)
        .saturating_sub(1)
        .max(1)
}

impl HashPool {
    /// `workers` threads; a job waits at most `deadline` for one of them.
    pub fn new(workers: usize, deadline: Duration) -> Self {
        let workers = workers.max(1);
        let (tx, rx) = mpsc::channel::<Queued>();
        let rx = Arc::new(Mutex::new(rx));
        let shared = Arc::new(Shared {
            waiting: AtomicUsize::new(0),
            limit: AtomicUsize::new(workers * 4),
            deadline,
        });
        for i in 0..workers {
            let (rx, shared) = (rx.clone(), shared.clone());
            std::thread::Builder::new()
                .name(format!("password-hash-{i}"))
                .spawn(move || worker(rx, shared))
                .expect("a password hashing thread starts");
        }
        Self {
            sender: tx,
            shared,
            workers,
        }
    }

    /// Sizes the queue so that the last job in it still starts within the deadline, from the
    /// time one hash took on this machine.
    pub fn fit_queue(&self, one_hash: Duration) {
        let per_worker = (self.shared.deadline.as_secs_f64() / one_hash.as_secs_f64().max(1e-4))
            .floor() as usize;
        let limit = (per_worker * self.workers).clamp(1, 256);
        self.shared.limit.store(limit, Ordering::Relaxed);
    }

    /// How many jobs may wait now.
    pub fn queue_limit(&self) -> usize {
        self.shared.limit.load(Ordering::Relaxed)
    }

    /// Runs `f` on a hashing thread; "busy" at once when the queue is full, or when the job
    /// waited past the deadline.
    pub async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T> {
        let s = &self.shared;
        let limit = s.limit.load(Ordering::Relaxed);
        if s.waiting
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < limit).then_some(n + 1)
            })
            .is_err()
        {
            return Err(Error::Busy);
        }
        let (tx, rx) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move || {
            let _ = tx.send(f());
        });
        let queued = Queued {
            job,
            since: Instant::now(),
        };
        if self.sender.send(queued).is_err() {
            s.waiting.fetch_sub(1, Ordering::AcqRel);
            return Err(Error::Unexpected("the hashing threads stopped".into()));
        }
        // A job dropped at its deadline drops its sender: that is the "busy" answer.
        rx.await.map_err(|_| Error::Busy)
    }
}

fn worker(rx: Arc<Mutex<mpsc::Receiver<Queued>>>, shared: Arc<Shared>) {
    lower_priority();
    loop {
        let next = match rx.lock() {
            Ok(r) => r.recv(),
            Err(_) => return,
        };
        let Ok(q) = next else { return };
        shared.waiting.fetch_sub(1, Ordering::AcqRel);
        if q.since.elapsed() > shared.deadline {
            continue;
        }
        // A job that panics answers its caller with an error (its sender is dropped) and
        // leaves the thread working.
        let job = q.job;
        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(job));
    }
}

/// Hashing threads yield to request handling: nice 10 on Linux (best effort).
fn lower_priority() {
    #[cfg(target_os = "linux")]
    // SAFETY: setpriority on the calling thread's own id; no memory is shared with the call.
    unsafe {
        libc::setpriority(libc::PRIO_PROCESS, libc::gettid() as libc::id_t, 10);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Starts a job that holds the pool's one thread until `release` is sent; returns once
    /// the thread has taken it.
    async fn hold(
        pool: &Arc<HashPool>,
        release: std::sync::mpsc::Receiver<()>,
    ) -> tokio::task::JoinHandle<Result<bool>> {
        let (started_tx, started_rx) = tokio::sync::oneshot::channel();
        let pool = pool.clone();
        let h = tokio::spawn(async move {
            pool.run(move || {
                let _ = started_tx.send(());
                release.recv().is_ok()
            })
            .await
        });
        started_rx.await.unwrap();
        h
    }

    #[tokio::test]
    async fn a_full_queue_answers_busy_at_once() {
        let pool = Arc::new(HashPool::new(1, Duration::from_secs(5)));
        pool.fit_queue(Duration::from_secs(5)); // one job may wait
        assert_eq!(pool.queue_limit(), 1);
        let (release, held) = std::sync::mpsc::channel();
        let running = hold(&pool, held).await;
        let waiting = {
            let pool = pool.clone();
            tokio::spawn(async move { pool.run(|| 2).await })
        };
        while pool.shared.waiting.load(Ordering::Acquire) == 0 {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        let started = Instant::now();
        assert!(matches!(pool.run(|| 3).await, Err(Error::Busy)));
        assert!(
            started.elapsed() < Duration::from_millis(100),
            "refused without waiting"
        );
        release.send(()).unwrap();
        assert!(running.await.unwrap().unwrap());
        assert_eq!(waiting.await.unwrap().unwrap(), 2);
    }

    #[tokio::test]
    async fn a_job_past_its_deadline_is_refused() {
        let pool = Arc::new(HashPool::new(1, Duration::from_millis(20)));
        pool.fit_queue(Duration::from_millis(1));
        let (release, held) = std::sync::mpsc::channel();
        let running = hold(&pool, held).await;
        let late = {
            let pool = pool.clone();
            tokio::spawn(async move { pool.run(|| 1).await })
        };
        tokio::time::sleep(Duration::from_millis(60)).await;
        release.send(()).unwrap();
        assert!(matches!(late.await.unwrap(), Err(Error::Busy)));
        assert!(running.await.unwrap().unwrap());
        assert_eq!(pool.run(|| 4).await.unwrap(), 4, "the pool still works");
    }

    #[test]
    fn the_queue_fits_the_deadline() {
        let pool = HashPool::new(2, Duration::from_millis(500));
        pool.fit_queue(Duration::from_millis(50));
        assert_eq!(pool.queue_limit(), 20);
        pool.fit_queue(Duration::from_secs(2));
        assert_eq!(pool.queue_limit(), 1);
    }
}
