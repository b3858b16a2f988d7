//! Thread names without the C library's printf.
//!
//! std links `pthread_setname_np(pthread_self(), name)` for the threads
//! it starts, even with no `Builder::name` in this program (measured:
//! without this definition the small build is 10 KiB larger). musl's version formats
//! `/proc/self/task/%d/comm` with `snprintf` for the case of naming another
//! thread, and that one call links musl's whole printf (`vfprintf` with its
//! floating-point formatting, about 9 KiB of the static binary) that nothing
//! else uses. This definition takes its place at link time in the static
//! musl build: the calling thread is named with `prctl(PR_SET_NAME)`, as
//! musl does it; naming another thread, which std never asks for, is
//! refused with ENOTSUP.

/// Names `thread` (only the calling thread) `name`: at most 15 bytes and a
/// NUL, else ERANGE, as musl.
///
/// # Safety
/// `name` must point to a NUL-terminated string.
#[cfg(target_env = "musl")]
#[no_mangle]
pub unsafe extern "C" fn pthread_setname_np(thread: libc::pthread_t, name: *const core::ffi::c_char) -> core::ffi::c_int {
    // SAFETY: the caller passes a NUL-terminated string; at most 16 bytes
    // of it are read.
    if unsafe { libc::strnlen(name, 16) } > 15 {
        return libc::ERANGE;
    }
    // SAFETY: pthread_self has no preconditions.
    if thread != unsafe { libc::pthread_self() } {
        return libc::ENOTSUP;
    }
    // SAFETY: PR_SET_NAME reads a NUL-terminated string of at most 16 bytes.
    if unsafe { libc::prctl(libc::PR_SET_NAME, name, 0 as libc::c_ulong, 0 as libc::c_ulong, 0 as libc::c_ulong) } != 0 {
        return std::io::Error::last_os_error().raw_os_error().unwrap_or(libc::EINVAL);
    }
    0
}

#[cfg(all(test, target_env = "musl"))]
mod tests {
    use super::*;

    fn own_name() -> String {
        let mut buf = [0u8; 16];
        // SAFETY: PR_GET_NAME writes at most 16 bytes, NUL-terminated.
        let rc = unsafe { libc::prctl(libc::PR_GET_NAME, buf.as_mut_ptr(), 0 as libc::c_ulong, 0 as libc::c_ulong, 0 as libc::c_ulong) };
        assert_eq!(rc, 0);
        core::ffi::CStr::from_bytes_until_nul(&buf).unwrap().to_str().unwrap().to_owned()
    }

    #[test]
    fn names_the_calling_thread_only() {
        std::thread::spawn(|| {
            // SAFETY: NUL-terminated literals.
            unsafe {
                assert_eq!(pthread_setname_np(libc::pthread_self(), c"mpath-probe-3".as_ptr()), 0);
                assert_eq!(own_name(), "mpath-probe-3");
                assert_eq!(pthread_setname_np(libc::pthread_self(), c"sixteen-bytes-xx".as_ptr()), libc::ERANGE);
                assert_eq!(own_name(), "mpath-probe-3");
            }
        })
        .join()
        .unwrap();
        let other = std::thread::spawn(|| std::thread::park_timeout(std::time::Duration::from_millis(200)));
        // SAFETY: the pthread_t of a live thread; a NUL-terminated literal.
        let refused = unsafe {
            use std::os::unix::thread::JoinHandleExt;
            pthread_setname_np(other.as_pthread_t() as libc::pthread_t, c"other".as_ptr())
        };
        assert_eq!(refused, libc::ENOTSUP);
        other.join().unwrap();
    }
}
