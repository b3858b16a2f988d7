//! Run one job per path on a small pool of threads, with a time budget.
//!
//! SG_IO has its own timeout, but the SCSI error handler may hold a command
//! far longer, and an `open` can block too. So the pool never waits for a
//! job past its budget: an overdue job is abandoned (reported as timed out),
//! its thread is left to finish or hang on its own, and a fresh worker takes
//! its place. One hung path thus costs one budget, not one per later path.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::Arc;
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
}

enum Message<R> {
    Started(usize),
    Finished(usize, R),
}

/// Runs `job(i)` for every `i < count` on at most `workers` threads.
/// Each job must finish within `budget` of its start or it is abandoned.
/// Results come back in index order.
pub fn run_all<R, F>(count: usize, workers: usize, budget: Duration, job: F) -> Vec<JobResult<R>>
where
    R: Send + 'static,
    F: Fn(usize) -> R + Send + Sync + 'static,
{
    let mut results: Vec<Option<JobResult<R>>> = (0..count).map(|_| None).collect();
    if count == 0 {
        return Vec::new();
    }
    let job = Arc::new(job);
    let next = Arc::new(AtomicUsize::new(0));
    let (sender, receiver) = mpsc::channel::<Message<R>>();
    let spawn = |job: &Arc<F>, next: &Arc<AtomicUsize>| {
        let (job, next, sender) = (Arc::clone(job), Arc::clone(next), sender.clone());
        let spawned = thread::Builder::new()
            .name("probe".into())
            .stack_size(WORKER_STACK)
            .spawn(move || loop {
                let index = next.fetch_add(1, Ordering::SeqCst);
                if index >= count {
                    break;
                }
                if sender.send(Message::Started(index)).is_err() {
                    break;
                }
                let result = job(index);
                if sender.send(Message::Finished(index, result)).is_err() {
                    break;
                }
            });
        spawned.is_ok()
    };
    let mut live_workers = 0usize;
    for _ in 0..workers.clamp(1, count) {
        if spawn(&job, &next) {
            live_workers += 1;
        }
    }
    if live_workers == 0 {
        // Threads unavailable: run inline rather than fail the boot.
        for (index, slot) in results.iter_mut().enumerate() {
            *slot = Some(JobResult::Done(job(index)));
        }
        return results.into_iter().flatten().collect();
    }

    let mut started: Vec<(usize, Instant)> = Vec::new();
    let mut remaining = count;
    while remaining > 0 {
        let wait = started
            .iter()
            .map(|&(_, at)| (at + budget).saturating_duration_since(Instant::now()))
            .min()
            .unwrap_or(budget);
        match receiver.recv_timeout(wait) {
            Ok(Message::Started(index)) => started.push((index, Instant::now())),
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
                    spawn(&job, &next);
                }
            }
            Err(RecvTimeoutError::Disconnected) => break,
        }
    }
    results
        .into_iter()
        .map(|r| r.unwrap_or(JobResult::TimedOut))
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
                JobResult::TimedOut => panic!("timed out"),
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
    fn no_jobs_no_results() {
        assert!(run_all(0, 4, Duration::from_secs(1), |i| i).is_empty());
    }
}
