//! Helpers shared by the unit tests (compiled only for tests).

use std::path::PathBuf;

/// A fresh directory under the system temp dir, removed on drop: the root
/// of a fabricated tree (`etc/`, `sys/`, `dev/`) for one test.
pub struct TempRoot(pub PathBuf);

impl TempRoot {
    /// `tag` names the test; the process id keeps parallel runs apart.
    pub fn new(tag: &str) -> TempRoot {
        let dir = std::env::temp_dir().join(format!("mpath-boot-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("temp dir");
        TempRoot(dir)
    }
}

impl Drop for TempRoot {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
