//! device-mapper's udev cookie, with a time limit.
//!
//! A resume, rename or remove makes the kernel send a uevent carrying a
//! cookie; udev's `95-dm-notify.rules` runs `dmsetup udevcomplete`, which
//! decrements the cookie's SysV semaphore, and the caller waits for zero.
//! libdevmapper and the devicemapper crate wait without a limit. Here the
//! wait is bounded: on timeout the semaphore is removed (what `dmsetup
//! udevcomplete_all` would do) and the caller goes on.
//!
//! Protocol facts (libdevmapper): key `0x0D4D << 16 | base`; value 2 at
//! start (one count for the caller, one for udev); the udev count is taken
//! back by the caller when the kernel reports no uevent was generated.

use std::io;
use std::time::Duration;

/// High half of every cookie's semaphore key ("DM").
const COOKIE_MAGIC: u32 = 0x0D4D;
/// device-mapper's udev flags live in the high 16 bits of `event_nr`.
const UDEV_FLAGS_SHIFT: u32 = 16;
/// DM_UDEV_PRIMARY_SOURCE_FLAG: the event comes from a device-mapper call,
/// not a spurious change event; the dm rules act only on those.
const PRIMARY_SOURCE_FLAG: u32 = 0x0040;

/// One cookie semaphore, removed when dropped.
#[derive(Debug)]
pub struct Cookie {
    base: u16,
    semid: i32,
}

/// The wait for udev ran out; the cookie was removed.
#[derive(Debug)]
pub struct Unconfirmed;

impl Cookie {
    /// Makes a fresh cookie semaphore holding udev's count and ours.
    pub fn new() -> io::Result<Cookie> {
        let mut seed = seed();
        for _ in 0..64 {
            seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            let base = (seed >> 48) as u16;
            if base == 0 {
                continue;
            }
            let key = ((COOKIE_MAGIC << 16) | u32::from(base)) as libc::key_t;
            // SAFETY: plain semget(2) call.
            let semid = unsafe { libc::semget(key, 1, 0o600 | libc::IPC_CREAT | libc::IPC_EXCL) };
            if semid < 0 {
                let err = io::Error::last_os_error();
                if err.raw_os_error() == Some(libc::EEXIST) {
                    continue;
                }
                return Err(err);
            }
            let cookie = Cookie { base, semid };
            // SAFETY: SETVAL takes an int argument; semid is ours.
            if unsafe { libc::semctl(semid, 0, libc::SETVAL, 2 as libc::c_int) } < 0 {
                return Err(io::Error::last_os_error());
            }
            return Ok(cookie);
        }
        Err(io::Error::from_raw_os_error(libc::EEXIST))
    }

    /// The value for the ioctl header's `event_nr`.
    pub fn event_nr(&self) -> u32 {
        (PRIMARY_SOURCE_FLAG << UDEV_FLAGS_SHIFT) | u32::from(self.base)
    }

    /// Waits until udev has handled the event, at most `limit`.
    /// `uevent_generated` is the kernel's DM_UEVENT_GENERATED answer: when
    /// no event went out, udev's count is taken back here.
    pub fn wait(self, uevent_generated: bool, limit: Duration) -> Result<(), Unconfirmed> {
        if !uevent_generated {
            self.decrement();
        }
        self.decrement();
        let timeout = libc::timespec {
            tv_sec: limit.as_secs().min(i32::MAX as u64) as _,
            tv_nsec: limit.subsec_nanos() as libc::c_long,
        };
        loop {
            let mut wait_zero = libc::sembuf {
                sem_num: 0,
                sem_op: 0,
                sem_flg: 0,
            };
            // SAFETY: semtimedop(2) with one valid sembuf and a timespec.
            let rc = unsafe {
                libc::syscall(
                    libc::SYS_semtimedop,
                    self.semid,
                    &mut wait_zero as *mut libc::sembuf,
                    1usize,
                    &timeout as *const libc::timespec,
                )
            };
            if rc == 0 {
                return Ok(());
            }
            match io::Error::last_os_error().raw_os_error() {
                // A signal: the limit restarts, which only lengthens a rare wait.
                Some(libc::EINTR) => continue,
                Some(libc::EAGAIN) => return Err(Unconfirmed),
                // Removed or invalid: nothing left to wait for.
                _ => return Ok(()),
            }
        }
    }

    fn decrement(&self) {
        let mut op = libc::sembuf {
            sem_num: 0,
            sem_op: -1,
            sem_flg: libc::IPC_NOWAIT as libc::c_short,
        };
        // SAFETY: semop(2) with one valid sembuf; failure (already zero) is harmless.
        unsafe { libc::semop(self.semid, &mut op, 1) };
    }
}

impl Drop for Cookie {
    fn drop(&mut self) {
        // SAFETY: IPC_RMID on our own semaphore.
        unsafe { libc::semctl(self.semid, 0, libc::IPC_RMID) };
    }
}

/// A seed that differs between processes and calls.
fn seed() -> u64 {
    let mut bytes = [0u8; 8];
    // SAFETY: getrandom(2) into a local buffer of the given length.
    let got = unsafe { libc::getrandom(bytes.as_mut_ptr().cast(), bytes.len(), libc::GRND_NONBLOCK) };
    if got == 8 {
        return u64::from_ne_bytes(bytes);
    }
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0);
    now ^ (u64::from(std::process::id()) << 32)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    fn value(cookie: &Cookie) -> i32 {
        // SAFETY: GETVAL on our own semaphore.
        unsafe { libc::semctl(cookie.semid, 0, libc::GETVAL) }
    }

    /// What `dmsetup udevcomplete` does: decrement the semaphore of a key.
    fn udev_completes(event_nr: u32) {
        let key = ((COOKIE_MAGIC << 16) | (event_nr & 0xffff)) as libc::key_t;
        // SAFETY: semget/semop on a key a test created.
        unsafe {
            let semid = libc::semget(key, 1, 0);
            assert!(semid >= 0);
            let mut op = libc::sembuf {
                sem_num: 0,
                sem_op: -1,
                sem_flg: 0,
            };
            assert_eq!(libc::semop(semid, &mut op, 1), 0);
        }
    }

    #[test]
    fn udev_confirming_ends_the_wait() {
        let cookie = Cookie::new().unwrap();
        assert_eq!(value(&cookie), 2);
        assert_eq!(cookie.event_nr() >> UDEV_FLAGS_SHIFT, PRIMARY_SOURCE_FLAG);
        udev_completes(cookie.event_nr());
        assert!(cookie.wait(true, Duration::from_secs(5)).is_ok());
    }

    #[test]
    fn no_uevent_needs_no_udev() {
        let cookie = Cookie::new().unwrap();
        assert!(cookie.wait(false, Duration::from_secs(5)).is_ok());
    }

    #[test]
    fn a_silent_udev_costs_the_limit_and_no_more() {
        let cookie = Cookie::new().unwrap();
        let key_event = cookie.event_nr();
        let start = Instant::now();
        assert!(cookie.wait(true, Duration::from_millis(200)).is_err());
        assert!(start.elapsed() >= Duration::from_millis(200));
        // The semaphore is gone: a late udevcomplete finds nothing.
        let key = ((COOKIE_MAGIC << 16) | (key_event & 0xffff)) as libc::key_t;
        // SAFETY: semget lookup only.
        assert!(unsafe { libc::semget(key, 1, 0) } < 0);
    }
}
