//! Run one job per path on a small pool of threads, with a time budget.
//!
//! SG_IO has its own timeout, but the SCSI error handler may hold a command
//! far longer, and an `open` can block too. So the pool never waits for a
//! job past its budget: an overdue job is abandoned (reported as timed out),
//! its thread is left to finish or hang on its own, and a fresh worker takes
//! its place. One hung path thus costs one budget, not one per later path.
//!
//! An abandoned job keeps its key in [`InFlight`] until it returns, so a
//! later `--wait` round does not send a second thread (and fd) after a
//! device that never answered the first.

use std::any::Any;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

/// Stack of a probe worker: two 4 KiB page buffers and little else.
const WORKER_STACK: usize = 256 * 1024;

/// Outcome of one job.
#[derive(Debug, PartialEq, Eq)]
pub enum JobResult<R> {
    Done(R),
    /// The job did not finish within its budget and was abandoned.
    TimedOut,
    /// No thread was left to run the job (every worker hung and no new
    /// thread could be made).
    NotRun,
}

/// Keys of jobs that are running now, abandoned ones included.
static IN_FLIGHT: Mutex<Vec<String>> = Mutex::new(Vec::new());

/// Held by a running job; its key is free again when the job returns.
#[derive(Debug)]
pub struct InFlight(String);

impl InFlight {
    /// Marks `key` as running, or None if a job with that key still runs
    /// (an abandoned one that never returned).
    pub fn enter(key: String) -> Option<InFlight> {
        let mut keys = IN_FLIGHT.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if keys.contains(&key) {
            return None;
        }
        keys.push(key.clone());
        Some(InFlight(key))
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        let mut keys = IN_FLIGHT.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        keys.retain(|k| *k != self.0);
    }
}

/// Runs one job on its own thread and waits at most `budget` for it.
/// None when it ran out of time (the thread is left to finish alone).
pub fn bounded<R, F>(budget: Duration, job: F) -> Option<R>
where
    R: Send + 'static,
    F: FnOnce() -> R + Send + 'static,
{
    let job = Mutex::new(Some(job));
    let mut results = run_all(1, 1, budget, move |_| {
        let job = job.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).take();
        job.map(|job| job())
    });
    match results.pop() {
        Some(JobResult::Done(result)) => result,
        _ => None,
    }
}

/// A job's result, type-erased: the pool below is compiled once for every
/// result type (its channel and bookkeeping were a copy per type, about
/// 10 KiB of the small binary each).
type AnyResult = Box<dyn Any + Send>;
type AnyJob = dyn Fn(usize) -> AnyResult + Send + Sync;

enum Message {
    Started(usize),
    Finished(usize, AnyResult),
    /// The feed is closed and empty: no job starts after this.
    FeedClosed,
}

/// Runs `job(i)` for every `i < count` on at most `workers` threads.
/// Each job must finish within `budget` of its start or it is abandoned.
/// Results come back in index order.
pub fn run_all<R, F>(count: usize, workers: usize, budget: Duration, job: F) -> Vec<JobResult<R>>
where
    R: Send + 'static,
    F: Fn(usize) -> R + Send + Sync + 'static,
{
    let (sender, feed) = mpsc::channel();
    for index in 0..count {
        // The receiver is alive: this cannot fail.
        let _ = sender.send(index);
    }
    drop(sender);
    run_fed(count, workers, budget, feed, job)
}

/// Like [`run_all`], but the jobs are started in the order their indices
/// arrive on `feed` (each index below `count` once), as soon as a worker is
/// free; the run ends when every job is done or `feed` is closed with no
/// job left running. A job's budget counts from its start, not from the
/// start of the run. Indices never fed come back as [`JobResult::NotRun`].
pub fn run_fed<R, F>(count: usize, workers: usize, budget: Duration, feed: Receiver<usize>, job: F) -> Vec<JobResult<R>>
where
    R: Send + 'static,
    F: Fn(usize) -> R + Send + Sync + 'static,
{
    let job: Arc<AnyJob> = Arc::new(move |index| Box::new(job(index)) as AnyResult);
    run_erased(count, workers, budget, feed, job)
        .into_iter()
        .map(|result| match result {
            // Every result of this pool was made by `job` above, as an R.
            JobResult::Done(any) => any.downcast::<R>().map_or(JobResult::NotRun, |r| JobResult::Done(*r)),
            JobResult::TimedOut => JobResult::TimedOut,
            JobResult::NotRun => JobResult::NotRun,
        })
        .collect()
}

fn run_erased(count: usize, workers: usize, budget: Duration, feed: Receiver<usize>, job: Arc<AnyJob>) -> Vec<JobResult<AnyResult>> {
    let mut results: Vec<Option<JobResult<AnyResult>>> = (0..count).map(|_| None).collect();
    if count == 0 {
        return Vec::new();
    }
    let feed = Arc::new(Mutex::new(feed));
    // Set when the pool gives up: workers then take no further job.
    let stop = Arc::new(AtomicBool::new(false));
    let (sender, receiver) = mpsc::channel::<Message>();
    let spawn = |job: &Arc<AnyJob>| {
        let (job, feed, stop, sender) = (Arc::clone(job), Arc::clone(&feed), Arc::clone(&stop), sender.clone());
        let spawned = thread::Builder::new().stack_size(WORKER_STACK).spawn(move || loop {
            let index = {
                // Started (or FeedClosed) is sent under the lock, so it
                // reaches the pool before any later worker's FeedClosed.
                let feed = feed.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
                let Ok(index) = feed.recv() else {
                    let _ = sender.send(Message::FeedClosed);
                    break;
                };
                if index >= count || stop.load(Ordering::SeqCst) {
                    continue;
                }
                if sender.send(Message::Started(index)).is_err() {
                    break;
                }
                index
            };
            let result = job(index);
            if sender.send(Message::Finished(index, result)).is_err() {
                break;
            }
        });
        spawned.is_ok()
    };
    let mut live_workers = 0usize;
    for _ in 0..workers.clamp(1, count) {
        if spawn(&job) {
            live_workers += 1;
        }
    }
    if live_workers == 0 {
        // Threads unavailable: run inline rather than fail the boot.
        let feed = feed.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        while let Ok(index) = feed.recv() {
            if let Some(slot) = results.get_mut(index) {
                *slot = Some(JobResult::Done(job(index)));
            }
        }
        return results.into_iter().map(|r| r.unwrap_or(JobResult::NotRun)).collect();
    }

    let mut started: Vec<(usize, Instant)> = Vec::new();
    let mut remaining = count;
    let mut feed_closed = false;
    while remaining > 0 && !(feed_closed && started.is_empty()) {
        // With no job running, wait for the next start as long as it takes
        // (the feed decides); a budget bounds only running jobs.
        let wait = started
            .iter()
            .map(|&(_, at)| (at + budget).saturating_duration_since(Instant::now()))
            .min();
        let message = match wait {
            Some(wait) => receiver.recv_timeout(wait),
            None => receiver.recv().map_err(|_| RecvTimeoutError::Disconnected),
        };
        match message {
            Ok(Message::Started(index)) => started.push((index, Instant::now())),
            Ok(Message::FeedClosed) => feed_closed = true,
            Ok(Message::Finished(index, result)) => {
                started.retain(|&(i, _)| i != index);
                if results[index].is_none() {
                    results[index] = Some(JobResult::Done(result));
                    remaining -= 1;
                }
            }
            Err(RecvTimeoutError::Timeout) => {
                let now = Instant::now();
                let overdue: Vec<usize> = started
                    .iter()
                    .filter(|&&(_, at)| now >= at + budget)
                    .map(|&(i, _)| i)
                    .collect();
                for index in overdue {
                    started.retain(|&(i, _)| i != index);
                    results[index] = Some(JobResult::TimedOut);
                    remaining -= 1;
                    // The stuck worker is lost: replace it.
                    live_workers -= 1;
                    if spawn(&job) {
                        live_workers += 1;
                    }
                }
                if live_workers == 0 {
                    // Nobody left to take the rest: they are not run.
                    stop.store(true, Ordering::SeqCst);
                    break;
                }
            }
            Err(RecvTimeoutError::Disconnected) => break,
        }
    }
    results
        .into_iter()
        .map(|r| r.unwrap_or(JobResult::NotRun))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_come_back_in_index_order() {
        let results = run_all(50, 4, Duration::from_secs(10), |i| i * 2);
        let values: Vec<usize> = results
            .into_iter()
            .map(|r| match r {
                JobResult::Done(v) => v,
                JobResult::TimedOut | JobResult::NotRun => panic!("not done"),
            })
            .collect();
        assert_eq!(values, (0..50).map(|i| i * 2).collect::<Vec<_>>());
    }

    #[test]
    fn a_hung_job_is_abandoned_and_the_rest_finish() {
        let results = run_all(6, 2, Duration::from_millis(300), |i| {
            if i == 1 {
                thread::sleep(Duration::from_secs(30));
            }
            i
        });
        assert_eq!(results[1], JobResult::TimedOut);
        for (i, r) in results.iter().enumerate().filter(|&(i, _)| i != 1) {
            assert_eq!(*r, JobResult::Done(i));
        }
    }

    #[test]
    fn a_key_stays_taken_while_its_abandoned_job_runs() {
        let key = || "test-hung-device".to_string();
        let result = bounded(Duration::from_millis(100), move || {
            let _held = InFlight::enter(key()).expect("free at first");
            thread::sleep(Duration::from_millis(600));
        });
        assert!(result.is_none());
        assert!(InFlight::enter(key()).is_none(), "the abandoned job still holds it");
        thread::sleep(Duration::from_millis(900));
        assert!(InFlight::enter(key()).is_some(), "free once the job returned");
    }

    #[test]
    fn bounded_returns_what_the_job_returns() {
        assert_eq!(bounded(Duration::from_secs(5), || 42), Some(42));
    }

    #[test]
    fn no_jobs_no_results() {
        assert!(run_all(0, 4, Duration::from_secs(1), |i| i).is_empty());
    }
}
