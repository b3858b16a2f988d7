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
//!
//! The pool's bookkeeping is one mutex-guarded record shared by the feed,
//! the workers and the waiting thread. A worker takes queued indices and
//! files results without waking anybody; a thread is woken only when it has
//! something to do: a sleeping worker when an index arrives and no other
//! worker is already on its way to it, the waiting thread when the run is
//! over (it wakes on its own when a running job's budget ends). On a one-CPU
//! guest each wake-up is a context switch: the former channels (a message
//! per job start and end, a contended lock over the feed) cost about 8
//! futex calls per job; this costs 2 (a wake-up and a wait) when indices
//! arrive one at a time, none when they queue up.

use std::any::Any;
use std::collections::VecDeque;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread;
use std::time::{Duration, Instant};

/// Stack of a probe worker: two 4 KiB page buffers and little else.
const WORKER_STACK: usize = 256 * 1024;

/// Shortest sleep of the waiting thread while no job runs.
const IDLE_WAIT_MIN: Duration = Duration::from_millis(20);

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
/// result type (its bookkeeping was a copy per type, about 10 KiB of the
/// small binary each).
type AnyResult = Box<dyn Any + Send>;
type AnyJob = dyn Fn(usize) -> AnyResult + Send + Sync;

/// What the feed, the workers and the waiting thread share.
#[derive(Default)]
struct Shared {
    state: Mutex<State>,
    /// Idle workers wait here for an index (or the end).
    work: Condvar,
    /// The thread running the pool waits here for the end of the run.
    done: Condvar,
}

#[derive(Default)]
struct State {
    /// Indices fed and not yet taken by a worker.
    queue: VecDeque<usize>,
    /// The feed is closed: nothing more comes into `queue`.
    closed: bool,
    /// Workers waiting on `work`.
    idle: usize,
    /// The pool is over: workers take no further job.
    stop: bool,
    /// Jobs running now (not abandoned) and when each started.
    running: Vec<(usize, Instant)>,
    /// One slot per index; None until its job finished or was abandoned.
    results: Vec<Option<JobResult<AnyResult>>>,
    /// Slots still None.
    remaining: usize,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl State {
    /// Every job is done, or the feed is closed and spent with no job left
    /// running.
    fn over(&self) -> bool {
        self.remaining == 0 || (self.closed && self.queue.is_empty() && self.running.is_empty())
    }
}

/// The sending end of a feed: see [`run_fed`]. Dropping it closes the feed.
pub struct Feeder(Arc<Shared>);

/// The receiving end of a feed, for [`run_fed`].
pub struct Feed(Arc<Shared>);

/// A new feed of job indices.
pub fn feed() -> (Feeder, Feed) {
    let shared = Arc::new(Shared::default());
    (Feeder(Arc::clone(&shared)), Feed(shared))
}

impl Feeder {
    /// Queues job `index`. False once the pool has ended (the index is then
    /// not run).
    pub fn send(&self, index: usize) -> bool {
        let mut state = self.0.lock();
        if state.stop {
            return false;
        }
        // A worker is woken only if more wait than are already woken for
        // the indices queued: the others are taken by workers as they
        // finish their jobs, without a wake-up.
        let wake = state.idle > state.queue.len();
        state.queue.push_back(index);
        drop(state);
        if wake {
            self.0.work.notify_one();
        }
        true
    }
}

impl Drop for Feeder {
    fn drop(&mut self) {
        let mut state = self.0.lock();
        state.closed = true;
        let (over, idle) = (state.over(), state.idle > 0);
        drop(state);
        if idle {
            self.0.work.notify_all();
        }
        if over {
            self.0.done.notify_all();
        }
    }
}

/// Runs `job(i)` for every `i < count` on at most `workers` threads.
/// Each job must finish within `budget` of its start or it is abandoned.
/// Results come back in index order.
pub fn run_all<R, F>(count: usize, workers: usize, budget: Duration, job: F) -> Vec<JobResult<R>>
where
    R: Send + 'static,
    F: Fn(usize) -> R + Send + Sync + 'static,
{
    let (feeder, feed) = feed();
    for index in 0..count {
        feeder.send(index);
    }
    drop(feeder);
    run_fed(count, workers, budget, feed, job)
}

/// Like [`run_all`], but the jobs are started in the order their indices
/// arrive on `feed` (each index below `count` once), as soon as a worker is
/// free; the run ends when every job is done or `feed` is closed with no
/// job left running. A job's budget counts from its start, not from the
/// start of the run. Indices never fed come back as [`JobResult::NotRun`].
pub fn run_fed<R, F>(count: usize, workers: usize, budget: Duration, feed: Feed, job: F) -> Vec<JobResult<R>>
where
    R: Send + 'static,
    F: Fn(usize) -> R + Send + Sync + 'static,
{
    let job: Arc<AnyJob> = Arc::new(move |index| Box::new(job(index)) as AnyResult);
    run_erased(count, workers, budget, feed.0, job)
        .into_iter()
        .map(|result| match result {
            // Every result of this pool was made by `job` above, as an R.
            JobResult::Done(any) => any.downcast::<R>().map_or(JobResult::NotRun, |r| JobResult::Done(*r)),
            JobResult::TimedOut => JobResult::TimedOut,
            JobResult::NotRun => JobResult::NotRun,
        })
        .collect()
}

/// A worker: takes queued indices and runs their jobs until the pool stops
/// or the feed is closed and spent. It returns, too, when its job was
/// abandoned meanwhile: a fresh worker has taken its place.
fn work(shared: &Shared, job: &AnyJob) {
    let mut state = shared.lock();
    'taking: loop {
        let index = loop {
            if state.stop {
                return;
            }
            match state.queue.pop_front() {
                // Out of range, or fed again: skipped.
                Some(index) if !matches!(state.results.get(index), Some(None)) => {}
                Some(index) if state.running.iter().any(|&(i, _)| i == index) => {}
                Some(index) => break index,
                None if state.closed => break 'taking,
                None => {
                    state.idle += 1;
                    state = shared.work.wait(state).unwrap_or_else(|poisoned| poisoned.into_inner());
                    state.idle -= 1;
                }
            }
        };
        // The waiting thread sees this start when it next wakes: a budget
        // that began after it went to sleep ends after its own wake-up.
        state.running.push((index, Instant::now()));
        drop(state);
        let result = job(index);
        state = shared.lock();
        let Some(at) = state.running.iter().position(|&(i, _)| i == index) else {
            return;
        };
        state.running.swap_remove(at);
        if let Some(slot) = state.results.get_mut(index) {
            *slot = Some(JobResult::Done(result));
            state.remaining -= 1;
        }
        if state.over() {
            break;
        }
    }
    // The run may be over: tell the waiting thread (once per worker at most).
    let over = state.over();
    drop(state);
    if over {
        shared.done.notify_all();
    }
}

fn run_erased(count: usize, workers: usize, budget: Duration, shared: Arc<Shared>, job: Arc<AnyJob>) -> Vec<JobResult<AnyResult>> {
    {
        let mut state = shared.lock();
        state.results = (0..count).map(|_| None).collect();
        state.remaining = count;
        // Nothing to run: the feed takes no more.
        state.stop = count == 0;
    }
    if count == 0 {
        return Vec::new();
    }
    let spawn = || {
        let (shared, job) = (Arc::clone(&shared), Arc::clone(&job));
        let spawned = thread::Builder::new()
            .stack_size(WORKER_STACK)
            .spawn(move || work(&shared, &*job));
        spawned.is_ok()
    };
    let live_workers = (0..workers.clamp(1, count)).filter(|_| spawn()).count();
    if live_workers == 0 {
        // Threads unavailable: run inline rather than fail the boot.
        work(&shared, &*job);
    } else {
        supervise(&shared, budget, live_workers, spawn);
    }
    let mut state = shared.lock();
    state.stop = true;
    let results = std::mem::take(&mut state.results);
    let idle = state.idle > 0;
    drop(state);
    if idle {
        shared.work.notify_all();
    }
    results.into_iter().map(|r| r.unwrap_or(JobResult::NotRun)).collect()
}

/// Waits for the end of the run, abandoning each job that overruns its
/// budget and replacing its worker. Returns early, the jobs not started
/// left NotRun, if no worker is left and no new one can be made.
fn supervise(shared: &Shared, budget: Duration, mut live_workers: usize, spawn: impl Fn() -> bool) {
    let mut state = shared.lock();
    while !state.over() {
        let now = Instant::now();
        let left = |start: Instant| budget.saturating_sub(now.saturating_duration_since(start));
        let mut lost = 0usize;
        while let Some(at) = state.running.iter().position(|&(_, start)| left(start).is_zero()) {
            let (index, _) = state.running.swap_remove(at);
            if let Some(slot) = state.results.get_mut(index) {
                *slot = Some(JobResult::TimedOut);
                state.remaining -= 1;
            }
            lost += 1;
        }
        if lost > 0 {
            // The stuck workers are lost: replace them.
            drop(state);
            for _ in 0..lost {
                live_workers -= 1;
                if spawn() {
                    live_workers += 1;
                }
            }
            if live_workers == 0 {
                return;
            }
            state = shared.lock();
            continue;
        }
        // Until the earliest budget of the running jobs ends; with none
        // running, one budget: a job starting meanwhile ends later (a
        // floor keeps a zero budget from spinning).
        let wait = state.running.iter().map(|&(_, start)| left(start)).min();
        let wait = wait.unwrap_or(budget.max(IDLE_WAIT_MIN));
        state = shared
            .done
            .wait_timeout(state, wait)
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .0;
    }
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

    #[test]
    fn a_fresh_worker_replaces_the_one_of_an_abandoned_job() {
        // One worker: without its replacement, jobs 1.. would never run.
        let started = Instant::now();
        let results = run_all(5, 1, Duration::from_millis(200), |i| {
            if i == 0 {
                thread::sleep(Duration::from_secs(30));
            }
            i
        });
        assert_eq!(results[0], JobResult::TimedOut);
        for (i, r) in results.iter().enumerate().skip(1) {
            assert_eq!(*r, JobResult::Done(i));
        }
        assert!(started.elapsed() < Duration::from_secs(10), "{:?}", started.elapsed());
    }

    #[test]
    fn indices_fed_out_of_order_come_back_in_index_order() {
        let (feeder, feed) = feed();
        let sender = thread::spawn(move || {
            for i in [7, 3, 0, 9, 1, 8, 2, 6, 4, 5] {
                assert!(feeder.send(i));
                thread::sleep(Duration::from_millis(5));
            }
        });
        let results = run_fed(10, 3, Duration::from_secs(10), feed, |i| i * 10);
        sender.join().expect("the feeder thread");
        let expected: Vec<JobResult<usize>> = (0..10).map(|i| JobResult::Done(i * 10)).collect();
        assert_eq!(results, expected);
    }

    #[test]
    fn a_closed_feed_ends_the_run_and_indices_never_fed_are_not_run() {
        let (feeder, feed) = feed();
        let sender = thread::spawn(move || {
            feeder.send(2);
            thread::sleep(Duration::from_millis(50));
            feeder.send(0);
            // Dropped here: 1 and 3 are never fed.
        });
        let started = Instant::now();
        let results = run_fed(4, 2, Duration::from_secs(30), feed, |i| i);
        sender.join().expect("the feeder thread");
        assert_eq!(results, vec![JobResult::Done(0), JobResult::NotRun, JobResult::Done(2), JobResult::NotRun]);
        // Not one budget: the close itself ends the wait.
        assert!(started.elapsed() < Duration::from_secs(5), "{:?}", started.elapsed());
    }

    #[test]
    fn a_budget_counts_from_the_start_of_its_own_job() {
        let (feeder, feed) = feed();
        let sender = thread::spawn(move || {
            feeder.send(0);
            // Longer than a budget: job 1 has not started, so it is not late.
            thread::sleep(Duration::from_millis(600));
            feeder.send(1);
        });
        let results = run_fed(2, 2, Duration::from_millis(300), feed, |i| {
            thread::sleep(Duration::from_millis(100));
            i
        });
        sender.join().expect("the feeder thread");
        assert_eq!(results, vec![JobResult::Done(0), JobResult::Done(1)]);
    }

    #[test]
    fn the_run_ends_when_all_are_done_though_the_feed_stays_open() {
        let (feeder, feed) = feed();
        for i in 0..3 {
            feeder.send(i);
        }
        let started = Instant::now();
        let results = run_fed(3, 2, Duration::from_secs(30), feed, |i| i + 1);
        assert_eq!(results, vec![JobResult::Done(1), JobResult::Done(2), JobResult::Done(3)]);
        assert!(started.elapsed() < Duration::from_secs(5), "{:?}", started.elapsed());
        assert!(!feeder.send(0), "the pool takes nothing after its end");
    }

    #[test]
    fn indices_out_of_range_or_fed_twice_run_no_job() {
        let runs = Arc::new(Mutex::new(Vec::new()));
        let (feeder, feed) = feed();
        for i in [1, 5, 1, 0, 99, 0] {
            feeder.send(i);
        }
        drop(feeder);
        let seen = Arc::clone(&runs);
        let results = run_fed(2, 2, Duration::from_secs(10), feed, move |i| {
            seen.lock().expect("no panic").push(i);
            i
        });
        assert_eq!(results, vec![JobResult::Done(0), JobResult::Done(1)]);
        let mut runs = runs.lock().expect("no panic").clone();
        runs.sort_unstable();
        assert_eq!(runs, vec![0, 1]);
    }

    #[test]
    fn many_short_jobs_on_many_workers_all_come_back() {
        let (feeder, feed) = feed();
        let sender = thread::spawn(move || {
            for i in (0..2000).rev() {
                feeder.send(i);
                if i % 64 == 0 {
                    thread::yield_now();
                }
            }
        });
        let results = run_fed(2000, 8, Duration::from_secs(30), feed, |i| i ^ 0x55);
        sender.join().expect("the feeder thread");
        assert!(results.iter().enumerate().all(|(i, r)| *r == JobResult::Done(i ^ 0x55)));
    }

    #[test]
    fn hung_jobs_started_late_each_cost_their_own_budget() {
        // Jobs 0 and 3 hang; 3 starts only after 0 was abandoned.
        let started = Instant::now();
        let results = run_all(6, 1, Duration::from_millis(200), |i| {
            if i == 0 || i == 3 {
                thread::sleep(Duration::from_secs(30));
            }
            i
        });
        assert_eq!(results[0], JobResult::TimedOut);
        assert_eq!(results[3], JobResult::TimedOut);
        for i in [1, 2, 4, 5] {
            assert_eq!(results[i], JobResult::Done(i));
        }
        let took = started.elapsed();
        assert!(took >= Duration::from_millis(400) && took < Duration::from_secs(10), "{took:?}");
    }
}
