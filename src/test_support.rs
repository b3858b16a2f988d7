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

impl TempRoot {
    /// Writes `text` to `relative` under the root, making its directories.
    pub fn write(&self, relative: &str, text: &str) {
        let path = self.0.join(relative);
        std::fs::create_dir_all(path.parent().expect("a file under the root")).expect("mkdir");
        std::fs::write(path, text).expect("write");
    }
}

impl Drop for TempRoot {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
