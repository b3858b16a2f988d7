//! Fixed capacities of the scan/coalesce core.
//!
//! The core keeps its tables in `heapless` containers so that its memory use
//! is known before boot. Exceeding a capacity is reported as an error that
//! names the limit; nothing is dropped silently.

/// Paths (SCSI block devices) one run can hold.
pub const MAX_PATHS: usize = 4096;
/// Multipath maps one run can hold.
pub const MAX_MAPS: usize = 1024;
/// Paths one map can hold.
pub const MAX_PATHS_PER_MAP: usize = 64;
/// Kernel device names such as `sdabc` or `sg4095`.
pub const DEV_NAME_MAX: usize = 32;
