//! mpath-boot: assemble device-mapper multipath maps in early boot.
//!
//! Pipeline: `discover` (sysfs, or sg/sd ioctls) -> `probe` (TUR, INQUIRY,
//! VPD, ALUA through a [`transport::ScsiTransport`]) -> `group` (coalesce by
//! WWID, policies) -> `table` (multipath table text) -> `load`
//! (device-mapper) -> `partmaps` (kpartx-style partition maps). Everything
//! that touches the OS lives in `sys`, `discover` and the wiring modules;
//! the rest is pure logic tested on bytes.

#[macro_use]
pub mod log;

pub mod admin;
pub mod alua;
pub mod assemble;
pub mod bootargs;
pub mod check;
pub mod checker;
pub mod claim;
pub mod cli;
pub mod config;
pub mod discover;
pub mod group;
pub mod identify;
pub mod limits;
pub mod membership;
pub mod load;
pub mod parallel;
pub mod partitions;
pub mod partmaps;
pub mod plan;
pub mod path;
pub mod prio;
pub mod regex;
pub mod probe;
pub mod report;
pub mod scan;
pub mod scsi;
pub mod setup;
pub mod sys;
pub mod table;
pub mod transport;

#[cfg(test)]
pub(crate) mod test_support;
