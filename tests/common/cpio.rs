//! Minimal writer for the "newc" cpio format the kernel unpacks as initramfs.
//! Written here (std only) so that device nodes and root ownership need no
//! root privileges and no host `cpio` invocation.

use std::collections::HashSet;
use std::fs;
use std::io;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;

const S_IFDIR: u32 = 0o040000;
const S_IFREG: u32 = 0o100000;
const S_IFLNK: u32 = 0o120000;
const S_IFCHR: u32 = 0o020000;

/// An archive being built in memory. Parent directories are added on demand;
/// a path added twice keeps its first entry (so callers may add shared
/// libraries without tracking duplicates).
#[derive(Default)]
pub struct Cpio {
    out: Vec<u8>,
    names: HashSet<String>,
    ino: u32,
}

/// Archive member name: no leading or trailing slash.
fn norm(path: &str) -> String {
    path.trim_matches('/').to_string()
}

impl Cpio {
    pub fn new() -> Self {
        Self::default()
    }

    /// True if `path` is already in the archive.
    pub fn has(&self, path: &str) -> bool {
        self.names.contains(&norm(path))
    }

    fn entry(&mut self, name: &str, mode: u32, rdev: (u32, u32), data: &[u8]) {
        self.ino += 1;
        let nlink = if mode & S_IFDIR != 0 { 2 } else { 1 };
        let header =
            format!(
            "070701{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}",
            self.ino, mode, 0, 0, nlink, 0, data.len(), 0, 0, rdev.0, rdev.1, name.len() + 1, 0
        );
        self.out.extend_from_slice(header.as_bytes());
        self.out.extend_from_slice(name.as_bytes());
        self.out.push(0);
        self.pad();
        self.out.extend_from_slice(data);
        self.pad();
    }

    fn pad(&mut self) {
        while !self.out.len().is_multiple_of(4) {
            self.out.push(0);
        }
    }

    /// Adds the entry unless present; creates missing parent directories.
    fn add(&mut self, path: &str, mode: u32, rdev: (u32, u32), data: &[u8]) {
        let name = norm(path);
        assert!(!name.is_empty(), "cpio: empty member name");
        if self.names.contains(&name) {
            return;
        }
        if let Some((parent, _)) = name.rsplit_once('/') {
            self.dir(parent, 0o755);
        }
        self.names.insert(name.clone());
        self.entry(&name, mode, rdev, data);
    }

    pub fn dir(&mut self, path: &str, perm: u32) {
        self.add(path, S_IFDIR | perm, (0, 0), &[]);
    }

    pub fn file(&mut self, path: &str, perm: u32, data: &[u8]) {
        self.add(path, S_IFREG | perm, (0, 0), data);
    }

    pub fn symlink(&mut self, path: &str, target: &str) {
        self.add(path, S_IFLNK | 0o777, (0, 0), target.as_bytes());
    }

    pub fn char_dev(&mut self, path: &str, perm: u32, major: u32, minor: u32) {
        self.add(path, S_IFCHR | perm, (major, minor), &[]);
    }

    /// Copies a host file (following symlinks), keeping its permission bits.
    pub fn copy(&mut self, path: &str, host: &Path) -> io::Result<()> {
        if self.has(path) {
            return Ok(());
        }
        let data = fs::read(host)?;
        let perm = fs::metadata(host)?.permissions().mode() & 0o7777;
        self.file(path, perm, &data);
        Ok(())
    }

    /// Merges a host directory tree under `dest`, keeping symlinks as symlinks.
    pub fn tree(&mut self, dest: &str, host_dir: &Path) -> io::Result<()> {
        let mut entries: Vec<_> = fs::read_dir(host_dir)?.collect::<Result<_, _>>()?;
        entries.sort_by_key(|e| e.file_name());
        for e in entries {
            let name = format!(
                "{}/{}",
                dest.trim_end_matches('/'),
                e.file_name().to_string_lossy()
            );
            let meta = fs::symlink_metadata(e.path())?;
            let ft = meta.file_type();
            if ft.is_dir() {
                self.dir(&name, meta.mode() & 0o7777);
                self.tree(&name, &e.path())?;
            } else if ft.is_symlink() {
                self.symlink(&name, &fs::read_link(e.path())?.to_string_lossy());
            } else if ft.is_file() {
                self.copy(&name, &e.path())?;
            }
        }
        Ok(())
    }

    /// The finished archive, with its trailer.
    pub fn finish(mut self) -> Vec<u8> {
        self.entry("TRAILER!!!", 0, (0, 0), &[]);
        self.out
    }
}
