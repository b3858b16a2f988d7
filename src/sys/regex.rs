//! POSIX extended regular expressions through the C library's `regcomp`.
//!
//! multipath-tools matches every blacklist, device and wwid pattern with
//! `regcomp(REG_EXTENDED | REG_NOSUB)` and `regexec`: unanchored POSIX ERE.
//! Using the same engine (musl's in the static binary) gives the same
//! matches, including the corner cases of bracket expressions and
//! back-references, and costs a few KiB instead of a regex crate.

use core::fmt;
use std::ffi::{CStr, CString};

/// A compiled pattern. Not `Sync`: C regex objects are used from one
/// thread at a time (configuration matching happens on the main thread).
pub struct Regex {
    pattern: String,
    compiled: Box<libc::regex_t>,
}

/// A pattern `regcomp` refused, with the C library's explanation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RegexError {
    pub pattern: String,
    pub message: String,
}

impl fmt::Display for RegexError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid regular expression {:?}: {}", self.pattern, self.message)
    }
}

impl std::error::Error for RegexError {}

impl Regex {
    /// Compiles `pattern` as an unanchored POSIX extended regex.
    pub fn new(pattern: &str) -> Result<Regex, RegexError> {
        let c_pattern = CString::new(pattern).map_err(|_| RegexError {
            pattern: pattern.to_owned(),
            message: "contains a NUL byte".into(),
        })?;
        // SAFETY: regex_t is plain C data; an all-zero value is a valid
        // starting point for regcomp, which fills it in.
        let mut compiled: Box<libc::regex_t> = Box::new(unsafe { core::mem::zeroed() });
        // SAFETY: both pointers are valid for the call; the pattern is
        // NUL-terminated.
        let rc = unsafe {
            libc::regcomp(&mut *compiled, c_pattern.as_ptr(), libc::REG_EXTENDED | libc::REG_NOSUB)
        };
        if rc != 0 {
            let mut buf = [0u8; 128];
            // SAFETY: regerror writes at most buf.len() bytes, NUL-terminated.
            unsafe {
                libc::regerror(rc, &*compiled, buf.as_mut_ptr().cast(), buf.len());
            }
            let message = CStr::from_bytes_until_nul(&buf)
                .map(|m| m.to_string_lossy().into_owned())
                .unwrap_or_else(|_| format!("regcomp error {rc}"));
            // regcomp frees its own allocations when it fails.
            return Err(RegexError {
                pattern: pattern.to_owned(),
                message,
            });
        }
        Ok(Regex {
            pattern: pattern.to_owned(),
            compiled,
        })
    }

    /// True when the pattern matches anywhere in `text`. Text with a NUL
    /// byte is matched up to that byte, as C would see it.
    pub fn is_match(&self, text: &str) -> bool {
        let text = text.split('\0').next().unwrap_or("");
        let Ok(c_text) = CString::new(text) else {
            return false;
        };
        // SAFETY: the regex was compiled by regcomp and not freed; the text
        // is NUL-terminated; REG_NOSUB needs no match array.
        unsafe { libc::regexec(&*self.compiled, c_text.as_ptr(), 0, core::ptr::null_mut(), 0) == 0 }
    }

    /// The pattern as written.
    pub fn as_str(&self) -> &str {
        &self.pattern
    }
}

impl fmt::Debug for Regex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Regex({:?})", self.pattern)
    }
}

impl Drop for Regex {
    fn drop(&mut self) {
        // SAFETY: compiled by a successful regcomp, freed exactly once.
        unsafe { libc::regfree(&mut *self.compiled) }
    }
}

// SAFETY: a compiled regex_t owns its memory and regexec does not modify
// it (POSIX allows concurrent regexec on one regex_t); moving it between
// threads is safe.
unsafe impl Send for Regex {}
// SAFETY: as above, regexec only reads the compiled pattern.
unsafe impl Sync for Regex {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unanchored_extended_matching() {
        let re = Regex::new("^(ram|loop|fd|md|dm-|sr|scd|st)[0-9]").unwrap();
        assert!(re.is_match("loop0"));
        assert!(re.is_match("dm-12"));
        assert!(!re.is_match("sda"));
        let re = Regex::new("HSV1[0-9]+").unwrap();
        assert!(re.is_match("xxHSV110yy"));
        assert!(!re.is_match("HSV"));
        assert_eq!(re.as_str(), "HSV1[0-9]+");
    }

    #[test]
    fn bad_patterns_are_errors() {
        for bad in ["(", "[a-", "a{2", "*\0"] {
            let err = Regex::new(bad).unwrap_err();
            assert_eq!(err.pattern, bad);
            assert!(!err.message.is_empty());
        }
    }

    #[test]
    fn text_with_nul_is_cut_there() {
        let re = Regex::new("^abc$").unwrap();
        assert!(re.is_match("abc\0def"));
    }

    #[test]
    fn empty_pattern_matches_everything() {
        // regcomp("") behaviour differs between C libraries: accept either
        // a match-all or an error, never a crash.
        if let Ok(re) = Regex::new("") {
            assert!(re.is_match("anything"));
        }
    }
}
