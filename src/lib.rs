//! mpath-boot: assemble device-mapper multipath maps in early boot.
//!
//! Pipeline: `discover` (sysfs) -> `probe` (TUR, INQUIRY, VPD, ALUA through
//! a [`transport::ScsiTransport`]) -> `group` (coalesce by WWID, policies)
//! -> `table` (multipath table text) -> `sys::dm` (load). Everything that
//! touches the OS lives in `sys` and `discover`; the rest is pure logic
//! tested on bytes.

#[macro_use]
pub mod log;

pub mod admin;
pub mod alua;
pub mod assemble;
pub mod bootargs;
pub mod check;
pub mod cli;
pub mod discover;
pub mod group;
pub mod identify;
pub mod limits;
pub mod parallel;
pub mod partitions;
pub mod partmaps;
pub mod path;
pub mod probe;
pub mod report;
pub mod scsi;
pub mod sys;
pub mod table;
pub mod transport;
