//! Discovery through sysfs, under a root directory (`<root>/sys`,
//! `<root>/proc`), so tests run on a fabricated tree.

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};

use heapless::String;

use super::Discovery;
use crate::limits::MAX_PATHS;
use crate::path::{dev_name, DevNum, Hctl};
use crate::probe::{Attr, Candidate, DeviceAttributes, SgNode};

/// Discovery failed as a whole (a single bad device is only passed over).
#[derive(Debug)]
pub enum SysfsError {
    /// `<root>/sys/block` cannot be listed.
    NoBlockDir(PathBuf, std::io::Error),
    /// More SCSI disks than the path table holds.
    TooManyPaths(usize),
}

impl core::fmt::Display for SysfsError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            SysfsError::NoBlockDir(dir, e) => write!(f, "cannot list {}: {e}", dir.display()),
            SysfsError::TooManyPaths(n) => write!(
                f,
                "{n} SCSI disks found, more than the limit of {MAX_PATHS} paths per run"
            ),
        }
    }
}

impl std::error::Error for SysfsError {}

/// True when `<root>/sys/block` exists, i.e. sysfs is mounted.
pub fn available(root: &Path) -> bool {
    root.join("sys/block").is_dir()
}

/// Finds SCSI disks (`sd*`, peripheral type 0) under `<root>/sys/block`.
pub fn scan(root: &Path) -> Result<Discovery, SysfsError> {
    let block = root.join("sys/block");
    let entries = fs::read_dir(&block).map_err(|e| SysfsError::NoBlockDir(block.clone(), e))?;
    let mounts = super::mounted_devices(root);
    let listed = crate::sys::blockdev::proc_partitions(root);
    let sys = fs::canonicalize(root.join("sys")).ok();
    let mut found: Vec<(PathBuf, Candidate)> = Vec::new();
    let mut discovery = Discovery::default();
    let whole_batches = on_sysfs(&block);
    let names: Vec<std::string::String> = entries.flatten().filter_map(|e| e.file_name().into_string().ok()).collect();
    let mut context = Context {
        mounts: &mounts,
        listed: listed.as_ref(),
        holders: Holders::default(),
        held_by: Some(HeldBy::read(&block, &names, whole_batches)),
        sg_table: SgTable::read(root, whole_batches),
        whole_batches,
    };
    for name in &names {
        let name = name.as_str();
        if !name.starts_with("sd") {
            continue;
        }
        let Some(dev) = dev_name(name) else { continue };
        // multipath-tools walks paths in udev order: by sysfs device path.
        // The same link names the SCSI device (`.../H:C:T:L/block/sdX`).
        let syspath = device_path(&block, name, sys.as_deref());
        match candidate_with(root, name, syspath.as_deref(), &mut context) {
            Ok(c) => found.push((syspath.unwrap_or_default(), c)),
            Err(why) => discovery.passed_over.push((dev, why)),
        }
    }
    if found.len() > MAX_PATHS {
        return Err(SysfsError::TooManyPaths(found.len()));
    }
    found.sort_by(|a, b| a.0.as_os_str().cmp(b.0.as_os_str()).then_with(|| a.1.name.cmp(&b.1.name)));
    let mut subsystems = super::protocol::Subsystems::default();
    discovery.protocols = found
        .iter_mut()
        .map(|(syspath, c)| match &sys {
            Some(sys) if !syspath.as_os_str().is_empty() => {
                let transport = super::protocol::transport_at(root, sys, syspath, &mut subsystems);
                debug!("{}: tgt_node_name = {}", c.name, transport.node_name.as_str());
                c.node_name = transport.node_name;
                transport.protocol
            }
            _ => super::protocol::Protocol::Unspec,
        })
        .collect();
    discovery.candidates = found.into_iter().map(|(_, c)| c).collect();
    discovery.passed_over.sort();
    Ok(discovery)
}

/// The scan's verdict on one disk, `name` under `<root>/sys/block`: its
/// candidate, or why the scan passes it over. For `--is-path`, which runs
/// once per disk event and must not read every other disk each time.
pub fn examine(root: &Path, name: &str) -> Result<Candidate, std::string::String> {
    let mounts = super::mounted_devices(root);
    let listed = crate::sys::blockdev::proc_partitions(root);
    candidate(root, name, &mounts, listed.as_ref())
}

/// The canonical sysfs device path of block device `name`: its
/// `/sys/block` link resolved lexically (sysfs has no symlinks inside
/// `devices/`), which spares realpath's walk; canonicalized when that does
/// not land under `sys`.
fn device_path(block: &Path, name: &str, sys: Option<&Path>) -> Option<PathBuf> {
    let link = block.join(name);
    let lexical = fs::read_link(&link).ok().and_then(|target| {
        let mut out = if target.is_absolute() { PathBuf::new() } else { sys?.join("block") };
        for part in target.components() {
            match part {
                std::path::Component::ParentDir => {
                    out.pop();
                }
                std::path::Component::CurDir => {}
                other => out.push(other.as_os_str()),
            }
        }
        Some(out)
    });
    match (lexical, sys) {
        (Some(path), Some(sys)) if path.starts_with(sys) && !path.as_os_str().is_empty() => Some(path),
        _ => fs::canonicalize(&link).ok(),
    }
}

fn candidate(
    root: &Path,
    name: &str,
    mounts: &[DevNum],
    listed: Option<&crate::sys::blockdev::Listed>,
) -> Result<Candidate, std::string::String> {
    let mut context = Context {
        mounts,
        listed,
        holders: Holders::default(),
        held_by: None,
        sg_table: SgTable::default(),
        whole_batches: false,
    };
    candidate_with(root, name, None, &mut context)
}

/// What the judging of each disk shares within one scan.
struct Context<'a> {
    mounts: &'a [DevNum],
    listed: Option<&'a crate::sys::blockdev::Listed>,
    holders: Holders,
    /// Every holder of every block device, when all of `/sys/block` was
    /// listed (else each disk's `holders` directory is listed).
    held_by: Option<HeldBy>,
    /// Every SCSI device's sg node (and, from /proc, its type), found once.
    sg_table: SgTable,
    /// The directories listed are on sysfs, whose getdents64 fills the
    /// buffer until the next entry does not fit or the directory ends
    /// (kernfs_fop_readdir): a batch with room left for the largest entry
    /// is the last one, and the call that would return 0 is spared. Off
    /// elsewhere (test trees), where nothing promises that.
    whole_batches: bool,
}

/// Every SCSI device's sg node, found once for all disks instead of a
/// listing of `device/scsi_generic` per disk, from one of:
/// - `/proc/scsi/sg/devices`: line N describes sgN's SCSI device (`host
///   chan id lun type opens qdepth busy online`; all `-1` when that index
///   is free or going away). Its `type` column prints the field the sysfs
///   `type` attribute prints (`scsi_device.type`), so that read is spared
///   too. Not there without CONFIG_SCSI_PROC_FS (Debian's kernels).
/// - `/sys/class/scsi_generic`: one listing, and per node one readlink
///   (`.../H:C:T:L/scsi_generic/sgN`): one call per disk instead of three.
///
/// The sg class device named under a SCSI device's `scsi_generic` is
/// `sg<index>`, the node 21:index. A device not found here (none there,
/// the sg module not loaded, a test tree; a line that does not read as
/// sg prints it makes the whole file unused) is looked up in its own
/// directory, as is one named twice.
#[derive(Default)]
struct SgTable(std::collections::HashMap<Hctl, Option<(u32, Option<i32>)>>);

impl SgTable {
    fn read(root: &Path, whole_batches: bool) -> SgTable {
        match read_proc(&root.join("proc/scsi/sg/devices")) {
            Some(text) => SgTable::parse(&text).unwrap_or_default(),
            None => SgTable::from_class(&Dir::open(root.join("sys/class")), whole_batches),
        }
    }

    fn add(&mut self, hctl: Hctl, index: u32, kind: Option<i32>) {
        // One sg node per SCSI device; two would be a puzzle: ask sysfs.
        self.0.entry(hctl).and_modify(|known| *known = None).or_insert(Some((index, kind)));
    }

    /// `None` when a line is not what sg prints.
    fn parse(text: &[u8]) -> Option<SgTable> {
        let text = core::str::from_utf8(text).ok()?;
        let mut table = SgTable::default();
        for (index, line) in text.lines().enumerate() {
            let fields: Vec<&str> = line.split('\t').collect();
            if fields.len() != 9 {
                return None;
            }
            if fields.iter().all(|f| *f == "-1") {
                continue;
            }
            let hctl = Hctl {
                host: fields[0].parse().ok()?,
                channel: fields[1].parse().ok()?,
                target: fields[2].parse().ok()?,
                lun: fields[3].parse().ok()?,
            };
            let kind: i32 = fields[4].parse().ok()?;
            let index = u32::try_from(index).ok().filter(|&i| i < (1 << 20))?;
            table.add(hctl, index, Some(kind));
        }
        Some(table)
    }

    /// From the links in `<class>/scsi_generic`; entries whose link does
    /// not end in `H:C:T:L/scsi_generic/sgN` are left out.
    fn from_class(class: &Dir, whole_batches: bool) -> SgTable {
        let mut table = SgTable::default();
        let Some(nodes) = class.open_dir(c"scsi_generic") else { return table };
        let mut buf = vec![0u8; 32 * 1024];
        for name in list_fd(&nodes, &mut buf, whole_batches) {
            let Some(DevNum { minor: index, .. }) = sg_devnum(&name) else { continue };
            let Ok(c_name) = std::ffi::CString::new(name.as_str()) else { continue };
            let Some(target) = read_link_at(&nodes, &c_name) else { continue };
            let mut parts = target.rsplit(|&b| b == b'/');
            if parts.next() != Some(name.as_bytes()) || parts.next() != Some(&b"scsi_generic"[..]) {
                continue;
            }
            if let Some(hctl) = parts.next().and_then(|p| core::str::from_utf8(p).ok()).and_then(Hctl::parse) {
                table.add(hctl, index, None);
            }
        }
        table
    }

    /// The sg index of the device at `hctl`, and its SCSI type when known.
    fn get(&self, hctl: Option<Hctl>) -> Option<(u32, Option<i32>)> {
        self.0.get(&hctl?).copied().flatten()
    }
}

/// A whole proc file (a seq_file fills each read as far as asked: about
/// 20 bytes a SCSI device, so two reads for a thousand); `None` when it
/// cannot be read or passes 16 MiB.
fn read_proc(path: &Path) -> Option<Vec<u8>> {
    const LIMIT: u64 = 16 << 20;
    let mut text = Vec::new();
    fs::File::open(path).ok()?.take(LIMIT + 1).read_to_end(&mut text).ok()?;
    (text.len() as u64 <= LIMIT).then_some(text)
}

/// readlinkat(2) of `name` in directory `dir`.
fn read_link_at(dir: &std::os::fd::OwnedFd, name: &std::ffi::CStr) -> Option<Vec<u8>> {
    let mut buf = [0u8; 512];
    // SAFETY: the kernel writes at most buf.len() bytes into buf.
    let n = unsafe { libc::readlinkat(std::os::fd::AsRawFd::as_raw_fd(dir), name.as_ptr(), buf.as_mut_ptr().cast(), buf.len()) };
    let n = usize::try_from(n).ok().filter(|&n| n < buf.len())?;
    buf.get(..n).map(<[u8]>::to_vec)
}

/// True when `dir` is on sysfs (one statfs per scan).
fn on_sysfs(dir: &Path) -> bool {
    const SYSFS_MAGIC: u64 = 0x6265_6572;
    rustix::fs::statfs(dir).is_ok_and(|s| u64::try_from(s.f_type).is_ok_and(|t| t == SYSFS_MAGIC))
}

/// Device-mapper holders already judged in this scan, by name: whether
/// each is a multipath map (its `dm/uuid` read once, not once per path).
#[derive(Default)]
struct Holders(Vec<(std::string::String, bool)>);

impl Holders {
    fn is_multipath(&mut self, root: &Path, holder: &str) -> bool {
        if let Some((_, known)) = self.0.iter().find(|(name, _)| name == holder) {
            return *known;
        }
        let uuid = read_text(&root.join("sys/block").join(holder).join("dm/uuid")).unwrap_or_default();
        let multipath = uuid.trim().starts_with("mpath-");
        self.0.push((holder.to_owned(), multipath));
        multipath
    }
}

/// Who holds which block device, from the `slaves` directory of every
/// disk that is not a SCSI disk (dm, md, ...): the kernel links a holder
/// and what it holds both ways (`bd_link_disk_holder`), so this is what
/// the `holders` directories say, in one listing per such disk rather
/// than one per path and partition. Each pair is kept as `held\0holder`,
/// sorted (so by the held device's name).
struct HeldBy(Vec<std::string::String>);

impl HeldBy {
    fn read(block: &Path, names: &[std::string::String], whole_batches: bool) -> HeldBy {
        let mut pairs = Vec::new();
        for holder in names.iter().filter(|n| !n.starts_with("sd")) {
            for held in Dir::open(block.join(holder)).list(c"slaves", whole_batches) {
                pairs.push(format!("{held}\0{holder}"));
            }
        }
        pairs.sort();
        HeldBy(pairs)
    }

    /// The holders of `node`, by name.
    fn of<'a>(&'a self, node: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        let from = self.0.partition_point(|pair| pair.as_str() < node);
        self.0[from..].iter().map_while(move |pair| pair.strip_prefix(node)?.strip_prefix('\0'))
    }
}

/// A directory opened for lookups relative to it (openat), so each
/// attribute's path is walked from there, not from the root; its path
/// is the fallback when it cannot be opened.
struct Dir {
    path: PathBuf,
    fd: Option<std::os::fd::OwnedFd>,
}

impl Dir {
    fn open(path: PathBuf) -> Dir {
        use std::os::unix::ffi::OsStrExt;
        let fd = std::ffi::CString::new(path.as_os_str().as_bytes())
            .ok()
            .and_then(|c| open_raw(libc::AT_FDCWD, &c, libc::O_PATH | libc::O_DIRECTORY));
        Dir { path, fd }
    }

    fn read_text(&self, name: &std::ffi::CStr) -> Option<std::string::String> {
        let Some(fd) = &self.fd else {
            return read_text(&self.path.join(name.to_str().ok()?));
        };
        let mut buf = [0u8; 256];
        let mut file = fs::File::from(open_raw(std::os::fd::AsRawFd::as_raw_fd(fd), name, libc::O_RDONLY)?);
        let n = read_all(&mut file, &mut buf)?;
        core::str::from_utf8(&buf[..n]).ok().map(str::to_owned)
    }

    /// The names in subdirectory `rel` (not `.` and `..`); none when it
    /// cannot be listed. Opened relative to this directory and read with
    /// getdents64 itself (std's listing costs the C library's fcntl per
    /// open); `whole_batches`: see [`Context::whole_batches`].
    fn list(&self, rel: &std::ffi::CStr, whole_batches: bool) -> Vec<std::string::String> {
        match self.open_dir(rel) {
            Some(dir) => list_fd(&dir, &mut [0u8; 2048], whole_batches),
            None => Vec::new(),
        }
    }

    /// Subdirectory `rel` opened for listing: relative to this directory,
    /// or by its whole path when this one could not be opened.
    fn open_dir(&self, rel: &std::ffi::CStr) -> Option<std::os::fd::OwnedFd> {
        use std::os::unix::ffi::OsStrExt;
        let flags = libc::O_RDONLY | libc::O_DIRECTORY;
        match &self.fd {
            Some(fd) => open_raw(std::os::fd::AsRawFd::as_raw_fd(fd), rel, flags),
            None => {
                let path = self.path.join(std::ffi::OsStr::from_bytes(rel.to_bytes()));
                let path = std::ffi::CString::new(path.as_os_str().as_bytes()).ok()?;
                open_raw(libc::AT_FDCWD, &path, flags)
            }
        }
    }
}

/// The names in directory `dir` (not `.` and `..`), read with getdents64
/// into `buf`; `whole_batches`: see [`Context::whole_batches`].
fn list_fd(dir: &std::os::fd::OwnedFd, buf: &mut [u8], whole_batches: bool) -> Vec<std::string::String> {
    let mut names = Vec::new();
    loop {
        // SAFETY: the kernel writes at most buf.len() bytes into buf.
        let n = unsafe { libc::syscall(libc::SYS_getdents64, std::os::fd::AsRawFd::as_raw_fd(dir), buf.as_mut_ptr(), buf.len()) };
        let Some(batch) = usize::try_from(n).ok().filter(|&n| n > 0).and_then(|n| buf.get(..n)) else {
            break;
        };
        names.extend(dirent_names(batch));
        if whole_batches && batch.len() + DIRENT_MAX <= buf.len() {
            break;
        }
    }
    names
}

/// The largest `linux_dirent64`: 19 bytes of header, a 255-byte name and
/// its NUL, rounded up to 8.
const DIRENT_MAX: usize = 280;

/// The names in a getdents64 batch, without `.` and `..`; a record that
/// does not fit ends the batch.
fn dirent_names(batch: &[u8]) -> Vec<std::string::String> {
    let mut names = Vec::new();
    let mut at = 0;
    while let Some(record) = batch.get(at..) {
        let Some(&[lo, hi]) = record.get(16..18) else { break };
        let len = usize::from(u16::from_ne_bytes([lo, hi]));
        let Some(name) = record.get(19..len.min(record.len())).filter(|_| len > 19) else { break };
        let name = name.split(|&b| b == 0).next().unwrap_or_default();
        if name != b"." && name != b".." && !name.is_empty() {
            names.push(std::string::String::from_utf8_lossy(name).into_owned());
        }
        at += len;
    }
    names
}

/// The verdict on disk `name`; `syspath` is its device path when known
/// (`.../H:C:T:L/block/<name>` names its SCSI device without reading the
/// `device` link).
fn candidate_with(
    root: &Path,
    name: &str,
    syspath: Option<&Path>,
    context: &mut Context<'_>,
) -> Result<Candidate, std::string::String> {
    let disk = Dir::open(root.join("sys/block").join(name));
    // /proc/partitions, read once for all disks, gives what `dev` would.
    let devnum = context
        .listed
        .and_then(|listed| listed.lettered_devnum(name))
        .or_else(|| disk.read_text(c"dev").and_then(|t| DevNum::parse(&t)))
        .ok_or("no readable dev attribute")?;
    let sectors: u64 = disk
        .read_text(c"size")
        .and_then(|t| t.trim().parse().ok())
        .ok_or("no readable size attribute")?;
    let named = syspath.and_then(|p| hctl_of_block_path(p, name));
    let listed_sg = context.sg_table.get(named);
    let kind = match listed_sg {
        Some((_, Some(kind))) => kind.to_string(),
        _ => disk.read_text(c"device/type").ok_or("no SCSI device type attribute")?,
    };
    if kind.trim() != "0" {
        return Err(format!("not a disk (SCSI device type {})", kind.trim()));
    }
    let hctl = named
        .or_else(|| {
            fs::read_link(disk.path.join("device"))
                .ok()
                .and_then(|link| link.file_name().and_then(|n| n.to_str()).and_then(Hctl::parse))
        })
        .ok_or("device link does not name a SCSI address H:C:T:L")?;
    if sectors == 0 {
        return Err("size is 0 (no medium?)".into());
    }
    if let Some(why) = in_use(root, &disk, name, devnum, context) {
        return Err(why);
    }
    let sg = match listed_sg {
        Some((index, _)) => dev_name(&format!("sg{index}")).map(|name| SgNode {
            name,
            devnum: DevNum { major: 21, minor: index },
        }),
        None => first_entry(disk.list(c"device/scsi_generic", context.whole_batches)).and_then(|n| {
            // sg numbers its nodes 21:N for sgN; the dev file only when the
            // name says nothing.
            let devnum = sg_devnum(&n).or_else(|| {
                read_text(&disk.path.join("device/scsi_generic").join(&n).join("dev")).and_then(|t| DevNum::parse(&t))
            })?;
            Some(SgNode { name: dev_name(&n)?, devnum })
        }),
    };
    let handler = disk
        .read_text(c"device/dh_state")
        .map(|t| t.trim().to_owned())
        .filter(|t| !t.is_empty() && t != "detached")
        .and_then(|t| String::try_from(t.as_str()).ok());
    Ok(Candidate {
        name: dev_name(name).ok_or("device name too long")?,
        hctl,
        devnum,
        sectors,
        sg,
        handler,
        // Read by the probe if a read checker needs it.
        block_size: None,
        node_name: Default::default(),
    })
}

/// The SCSI address in a disk's device path `.../H:C:T:L/block/<name>`:
/// the disk's parent device, which its `device` link names. `None` for
/// any other shape.
fn hctl_of_block_path(path: &Path, name: &str) -> Option<Hctl> {
    let mut parts = path.components().rev();
    if parts.next()?.as_os_str() != name || parts.next()?.as_os_str() != "block" {
        return None;
    }
    Hctl::parse(parts.next()?.as_os_str().to_str()?)
}

/// The device number of sg node `name` (`sg3` -> 21:3): the sg driver
/// gives node N the minor N under major 21.
fn sg_devnum(name: &str) -> Option<DevNum> {
    let index = name.strip_prefix("sg")?;
    if index.is_empty() || !index.bytes().all(|b| b.is_ascii_digit()) || (index.len() > 1 && index.starts_with('0')) {
        return None;
    }
    Some(DevNum { major: 21, minor: index.parse().ok().filter(|&m: &u32| m < (1 << 20))? })
}

/// Why a disk must not be touched, if it is in use: mounted (itself or a
/// partition), or held by anything but a multipath map (say LVM or a
/// partition map). Membership in a multipath map is fine: that map is
/// exactly what a rerun reloads.
fn in_use(root: &Path, disk: &Dir, name: &str, devnum: DevNum, context: &mut Context<'_>) -> Option<std::string::String> {
    let mut nodes = vec![(name.to_owned(), devnum)];
    if let Some(listed) = context.listed {
        // /proc/partitions names the partitions; sysfs confirms them.
        for (part, num) in listed.partition_names(name) {
            if disk.path.join(part).join("partition").exists() {
                nodes.push((part.clone(), *num));
            }
        }
    } else if let Ok(entries) = fs::read_dir(&disk.path) {
        for entry in entries.flatten() {
            let part = entry.file_name().to_string_lossy().into_owned();
            if part.starts_with(name) && entry.path().join("partition").exists() {
                if let Some(num) = read_text(&entry.path().join("dev")).and_then(|t| DevNum::parse(&t)) {
                    nodes.push((part, num));
                }
            }
        }
    }
    for (node, num) in &nodes {
        if context.mounts.contains(num) {
            return Some(format!("in use: {node} is mounted"));
        }
        let holders: Vec<std::string::String> = match &context.held_by {
            Some(held_by) => held_by.of(node).map(str::to_owned).collect(),
            None => {
                let holders_dir = if node == name { "holders".to_owned() } else { format!("{node}/holders") };
                match std::ffi::CString::new(holders_dir) {
                    Ok(rel) => disk.list(&rel, context.whole_batches),
                    Err(_) => Vec::new(),
                }
            }
        };
        for holder in holders {
            if !context.holders.is_multipath(root, &holder) {
                return Some(format!("in use: {node} is held by {holder}"));
            }
        }
    }
    None
}

fn first_entry(mut names: Vec<std::string::String>) -> Option<std::string::String> {
    names.sort();
    names.into_iter().next()
}

fn read_text(path: &Path) -> Option<std::string::String> {
    let mut buf = [0u8; 256];
    let n = read_into(path, &mut buf)?;
    core::str::from_utf8(&buf[..n]).ok().map(str::to_owned)
}

/// Logical block size of disk `name` (sysfs `queue/logical_block_size`),
/// 512 when it cannot be read: what the read checkers read one of.
pub fn logical_block_size(root: &Path, name: &str) -> u32 {
    read_text(&root.join("sys/block").join(name).join("queue/logical_block_size"))
        .and_then(|text| text.trim().parse().ok())
        .unwrap_or(512)
}

/// Reads a whole (small) attribute into `buf`; `None` if absent or unreadable.
fn read_into(path: &Path, buf: &mut [u8]) -> Option<usize> {
    use std::os::unix::ffi::OsStrExt;
    let path = std::ffi::CString::new(path.as_os_str().as_bytes()).ok()?;
    read_all(&mut fs::File::from(open_raw(libc::AT_FDCWD, &path, libc::O_RDONLY)?), buf)
}

/// sysfs gives an attribute in one read of up to a page: a shorter read
/// than asked and than a page is the end, without asking again.
const SYSFS_PAGE: usize = 4096;

fn read_all(file: &mut fs::File, buf: &mut [u8]) -> Option<usize> {
    let mut total = 0;
    while total < buf.len() {
        match file.read(&mut buf[total..]) {
            Ok(0) => break,
            Ok(n) => {
                let asked = buf.len() - total;
                total += n;
                if n < asked && n < SYSFS_PAGE {
                    break;
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(_) => return None,
        }
    }
    Some(total)
}

/// An attribute's bytes, up to a page. Most fit a small buffer; only a
/// longer one gets a page, on the heap: a probe thread's stack keeps every
/// page it ever touched, for the rest of the run.
fn read_attribute(file: &mut fs::File) -> Option<Vec<u8>> {
    let mut small = [0u8; 512];
    let n = read_all(file, &mut small)?;
    if n < small.len() {
        return Some(small[..n].to_vec());
    }
    let mut page = vec![0u8; crate::probe::PAGE_MAX];
    page[..n].copy_from_slice(&small);
    let more = read_all(file, &mut page[n..])?;
    page.truncate(n + more);
    page.shrink_to_fit();
    Some(page)
}

/// Cached SCSI data of one disk, from `<root>/sys/block/<name>/device/`.
/// Each attribute is read from sysfs once per probe (the probe asks for
/// some several times), relative to the device directory opened once.
pub struct SysfsAttributes {
    device: PathBuf,
    /// The device directory, opened on the first read (None: opening
    /// failed, paths are used).
    dir: std::cell::OnceCell<Option<std::os::fd::OwnedFd>>,
    /// Attributes read so far: (attribute, its bytes or None if absent).
    cache: std::cell::RefCell<Vec<(Attr, Option<Vec<u8>>)>>,
}

impl SysfsAttributes {
    pub fn new(root: &Path, name: &str) -> SysfsAttributes {
        SysfsAttributes {
            device: root.join("sys/block").join(name).join("device"),
            dir: std::cell::OnceCell::new(),
            cache: std::cell::RefCell::new(Vec::new()),
        }
    }

    /// Closes the device directory (reopened on the next read): the
    /// attributes read so far stay.
    pub fn release_dir(&mut self) {
        self.dir = std::cell::OnceCell::new();
    }

    fn open_attr(&self, attr: Attr) -> Option<fs::File> {
        use std::os::unix::ffi::OsStrExt;
        let dir = self.dir.get_or_init(|| {
            let path = std::ffi::CString::new(self.device.as_os_str().as_bytes()).ok()?;
            open_raw(libc::AT_FDCWD, &path, libc::O_PATH | libc::O_DIRECTORY)
        });
        let Some(dir) = dir else {
            return fs::File::open(self.device.join(attr.sysfs_name())).ok();
        };
        let name = match attr {
            Attr::Inquiry => c"inquiry",
            Attr::Vpd83 => c"vpd_pg83",
            Attr::Vpd80 => c"vpd_pg80",
            Attr::State => c"state",
            Attr::AccessState => c"access_state",
            Attr::PreferredPath => c"preferred_path",
            Attr::Vpd0 => c"vpd_pg0",
            Attr::Vpd89 => c"vpd_pg89",
        };
        open_raw(std::os::fd::AsRawFd::as_raw_fd(dir), name, libc::O_RDONLY).map(fs::File::from)
    }
}

/// openat(2) with O_CLOEXEC, as the system call itself: the C library's
/// wrapper adds an fcntl(2) per open for kernels older than 2.6.23.
fn open_raw(dir: libc::c_int, path: &std::ffi::CStr, flags: libc::c_int) -> Option<std::os::fd::OwnedFd> {
    use std::os::fd::FromRawFd;
    // SAFETY: a NUL-terminated path and plain flags; no memory is written.
    let fd = unsafe { libc::syscall(libc::SYS_openat, dir, path.as_ptr(), flags | libc::O_CLOEXEC, 0) };
    let fd = libc::c_int::try_from(fd).ok().filter(|&fd| fd >= 0)?;
    // SAFETY: fd is a fresh descriptor nobody else owns.
    Some(unsafe { std::os::fd::OwnedFd::from_raw_fd(fd) })
}

impl DeviceAttributes for SysfsAttributes {
    fn read(&self, attr: Attr, buf: &mut [u8]) -> Option<usize> {
        let mut cache = self.cache.borrow_mut();
        let at = match cache.iter().position(|(a, _)| *a == attr) {
            Some(at) => at,
            None => {
                let bytes = self.open_attr(attr).and_then(|mut file| read_attribute(&mut file));
                cache.push((attr, bytes));
                cache.len() - 1
            }
        };
        let bytes = cache.get(at)?.1.as_deref()?;
        let n = bytes.len().min(buf.len());
        buf[..n].copy_from_slice(&bytes[..n]);
        Some(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    /// Builds a fake sysfs tree the way the kernel lays it out.
    struct Tree {
        root: PathBuf,
        temp: crate::test_support::TempRoot,
    }

    impl Tree {
        fn new(test: &str) -> Tree {
            let temp = crate::test_support::TempRoot::new(&format!("sysfs-{test}"));
            let root = temp.0.clone();
            fs::create_dir_all(root.join("sys/block")).unwrap();
            Tree { root, temp }
        }

        /// Two disks on host 0, sda (8:0, sg0) and sdb (8:16, sg1).
        fn with_sda_and_sdb(test: &str) -> Tree {
            let tree = Tree::new(test);
            tree.disk("sda", "0:0:0:0", 0, "0", "sg0");
            tree.disk("sdb", "0:0:0:1", 16, "0", "sg1");
            tree
        }

        fn write(&self, rel: &str, text: &str) {
            self.temp.write(rel, text);
        }

        /// `holder` (a dm or md disk, `dm/uuid` given when not empty)
        /// holds `held` (`sda`, or `sda/sda1` for a partition), linked
        /// both ways as the kernel links them.
        fn hold(&self, held: &str, holder: &str, uuid: &str) {
            let held_name = held.rsplit('/').next().unwrap();
            fs::create_dir_all(self.root.join("sys/block").join(held).join("holders").join(holder)).unwrap();
            fs::create_dir_all(self.root.join("sys/block").join(holder).join("slaves").join(held_name)).unwrap();
            if !uuid.is_empty() {
                self.write(&format!("sys/block/{holder}/dm/uuid"), &format!("{uuid}\n"));
            }
        }

        /// A SCSI disk `name` at `hctl` on `host_dir`, with sg node `sg`.
        fn disk(&self, name: &str, hctl: &str, minor: u32, kind: &str, sg: &str) {
            let host = hctl.split(':').next().unwrap();
            let dev_dir = format!("sys/devices/pseudo_0/adapter{host}/host{host}/target{}/{hctl}", &hctl[..hctl.rfind(':').unwrap()]);
            let block_dir = format!("{dev_dir}/block/{name}");
            self.write(&format!("{block_dir}/dev"), &format!("8:{minor}\n"));
            self.write(&format!("{block_dir}/size"), "16384\n");
            fs::create_dir_all(self.root.join(&block_dir).join("holders")).unwrap();
            self.write(&format!("{dev_dir}/type"), &format!("{kind}\n"));
            self.write(&format!("{dev_dir}/state"), "running\n");
            self.write(&format!("{dev_dir}/dh_state"), "alua\n");
            let sg_minor: u32 = sg.trim_start_matches("sg").parse().unwrap();
            self.write(&format!("{dev_dir}/scsi_generic/{sg}/dev"), &format!("21:{sg_minor}\n"));
            symlink(self.root.join(&dev_dir), self.root.join(&block_dir).join("device")).unwrap();
            symlink(self.root.join(&block_dir), self.root.join("sys/block").join(name)).unwrap();
        }
    }


    #[test]
    fn finds_disks_in_device_path_order() {
        let tree = Tree::new("order");
        tree.disk("sdb", "1:0:0:0", 16, "0", "sg1");
        tree.disk("sda", "0:0:0:0", 0, "0", "sg0");
        tree.disk("sdc", "0:0:0:1", 32, "5", "sg2");
        let found = scan(&tree.root).unwrap();
        let names: Vec<&str> = found.candidates.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["sda", "sdb"]);
        let one_by_one: Vec<_> = names.iter().map(|n| super::super::protocol::scsi_protocol(&tree.root, n)).collect();
        assert_eq!(found.protocols, one_by_one);
        let sda = &found.candidates[0];
        assert_eq!(sda.hctl, Hctl { host: 0, channel: 0, target: 0, lun: 0 });
        assert_eq!(sda.devnum, DevNum { major: 8, minor: 0 });
        assert_eq!(sda.sectors, 16384);
        let sg = sda.sg.as_ref().unwrap();
        assert_eq!((sg.name.as_str(), sg.devnum), ("sg0", DevNum { major: 21, minor: 0 }));
        assert_eq!(sda.handler.as_deref(), Some("alua"));
        assert_eq!(found.passed_over.len(), 1);
        assert!(found.passed_over[0].1.contains("not a disk"));
    }

    #[test]
    fn held_disk_is_passed_over_unless_by_a_multipath_map() {
        let tree = Tree::with_sda_and_sdb("held");
        tree.hold("sda", "dm-0", "LVM-abc");
        tree.hold("sdb", "dm-1", "mpath-3600");
        let found = scan(&tree.root).unwrap();
        let names: Vec<&str> = found.candidates.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["sdb"]);
        assert!(found.passed_over[0].1.contains("held by dm-0"));
        // `examine` (one disk) lists the disk's own `holders`: same verdicts.
        assert!(examine(&tree.root, "sda").unwrap_err().contains("held by dm-0"));
        assert!(examine(&tree.root, "sdb").is_ok());
    }

    #[test]
    fn a_held_partition_passes_its_disk_over() {
        let tree = Tree::with_sda_and_sdb("held-part");
        tree.write("sys/block/sda/sda1/partition", "1\n");
        tree.write("sys/block/sda/sda1/dev", "8:1\n");
        tree.write("proc/partitions", "major minor  #blocks  name\n\n   8        0       8192 sda\n   8        1       4096 sda1\n   8       16       8192 sdb\n");
        tree.hold("sda/sda1", "md0", "");
        let found = scan(&tree.root).unwrap();
        let names: Vec<&str> = found.candidates.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["sdb"]);
        assert!(found.passed_over[0].1.contains("sda1 is held by md0"), "{:?}", found.passed_over);
    }

    #[test]
    fn mounted_partition_is_passed_over() {
        let tree = Tree::new("mounted");
        tree.disk("sda", "0:0:0:0", 0, "0", "sg0");
        tree.write("sys/block/sda/sda1/partition", "1\n");
        tree.write("sys/block/sda/sda1/dev", "8:1\n");
        tree.write("proc/self/mountinfo", "22 1 8:1 / /boot rw - ext4 /dev/sda1 rw\n");
        let found = scan(&tree.root).unwrap();
        assert!(found.candidates.is_empty());
        assert!(found.passed_over[0].1.contains("sda1 is mounted"));
    }

    #[test]
    fn mounted_partition_listed_in_proc_partitions_is_passed_over() {
        let tree = Tree::new("mounted-listed");
        tree.disk("sda", "0:0:0:0", 0, "0", "sg0");
        tree.disk("sdaa", "0:0:0:1", 16, "0", "sg1");
        tree.write("sys/block/sda/sda1/partition", "1\n");
        tree.write("proc/partitions", "major minor  #blocks  name\n\n   8 0 8192 sda\n   8 1 100 sda1\n   8 16 8192 sdaa\n");
        tree.write("proc/self/mountinfo", "22 1 8:1 / /boot rw - ext4 /dev/sda1 rw\n");
        let found = scan(&tree.root).unwrap();
        let names: Vec<&str> = found.candidates.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["sdaa"]);
        assert!(found.passed_over[0].1.contains("sda1 is mounted"));
    }

    #[test]
    fn device_numbers_come_from_proc_partitions_else_from_sysfs() {
        let tree = Tree::with_sda_and_sdb("devnum-listed");
        // sda's `dev` is not read when /proc/partitions lists it; sdb is
        // not listed there, so its `dev` is.
        fs::remove_file(tree.root.join("sys/block/sda/dev")).unwrap();
        tree.write("proc/partitions", "major minor  #blocks  name\n\n   8 0 8192 sda\n");
        let found = scan(&tree.root).unwrap();
        let devnums: Vec<(&str, std::string::String)> = found.candidates.iter().map(|c| (c.name.as_str(), c.devnum.to_string())).collect();
        assert_eq!(devnums, [("sda", "8:0".to_owned()), ("sdb", "8:16".to_owned())]);
    }

    #[test]
    fn garbage_attributes_pass_the_disk_over() {
        let tree = Tree::new("garbage");
        tree.disk("sda", "0:0:0:0", 0, "0", "sg0");
        tree.write("sys/block/sda/dev", "\u{ff}garbage");
        tree.disk("sdb", "0:0:0:1", 16, "0", "sg1");
        tree.write("sys/block/sdb/size", "-5\n");
        let found = scan(&tree.root).unwrap();
        assert!(found.candidates.is_empty());
        assert_eq!(found.passed_over.len(), 2);
    }

    #[test]
    fn missing_sysfs_is_an_error() {
        let root = std::env::temp_dir().join("mpath-boot-no-such-root");
        assert!(!available(&root));
        assert!(scan(&root).is_err());
    }

    #[test]
    fn attributes_read_cached_pages() {
        let tree = Tree::new("attrs");
        tree.disk("sda", "0:0:0:0", 0, "0", "sg0");
        fs::write(tree.root.join("sys/block/sda/device/vpd_pg83"), [0u8, 0x83, 0, 0]).unwrap();
        let attrs = SysfsAttributes::new(&tree.root, "sda");
        let mut buf = [0u8; 16];
        assert_eq!(attrs.read(Attr::Vpd83, &mut buf), Some(4));
        assert_eq!(attrs.read(Attr::Vpd80, &mut buf), None);
    }

    #[test]
    fn attributes_longer_than_the_small_buffer_are_read_whole_up_to_a_page() {
        let tree = Tree::new("attrs-long");
        tree.disk("sda", "0:0:0:0", 0, "0", "sg0");
        let device = tree.root.join("sys/block/sda/device");
        let long: Vec<u8> = (0..1500u32).map(|i| i as u8).collect();
        fs::write(device.join("vpd_pg83"), &long).unwrap();
        fs::write(device.join("vpd_pg80"), [7u8; 512]).unwrap();
        fs::write(device.join("inquiry"), vec![5u8; 5000]).unwrap();
        let attrs = SysfsAttributes::new(&tree.root, "sda");
        let mut page = vec![0u8; crate::probe::PAGE_MAX];
        assert_eq!(attrs.read(Attr::Vpd83, &mut page), Some(1500));
        assert_eq!(page[..1500], long[..]);
        assert_eq!(attrs.read(Attr::Vpd80, &mut page), Some(512));
        assert_eq!(attrs.read(Attr::Inquiry, &mut page), Some(crate::probe::PAGE_MAX));
    }

    #[test]
    fn attributes_are_read_once_and_cut_to_the_buffer() {
        let tree = Tree::new("attrs-once");
        tree.disk("sda", "0:0:0:0", 0, "0", "sg0");
        let page: Vec<u8> = (0..100u8).collect();
        fs::write(tree.root.join("sys/block/sda/device/vpd_pg83"), &page).unwrap();
        let attrs = SysfsAttributes::new(&tree.root, "sda");
        let mut small = [0u8; 10];
        assert_eq!(attrs.read(Attr::Vpd83, &mut small), Some(10));
        assert_eq!(small[..], page[..10]);
        // Changed on disk: the probe keeps what it read first, whole.
        fs::write(tree.root.join("sys/block/sda/device/vpd_pg83"), [9u8; 3]).unwrap();
        let mut big = [0u8; 200];
        assert_eq!(attrs.read(Attr::Vpd83, &mut big), Some(100));
        assert_eq!(big[..100], page[..]);
        // Absent stays absent.
        assert_eq!(attrs.read(Attr::Vpd80, &mut big), None);
        fs::write(tree.root.join("sys/block/sda/device/vpd_pg80"), [1u8; 4]).unwrap();
        assert_eq!(attrs.read(Attr::Vpd80, &mut big), None);
    }

    #[test]
    fn sg_device_numbers_follow_the_node_name() {
        assert_eq!(sg_devnum("sg0"), Some(DevNum { major: 21, minor: 0 }));
        assert_eq!(sg_devnum("sg1023"), Some(DevNum { major: 21, minor: 1023 }));
        for odd in ["sg", "sg01", "sgx", "sg-1", "sd0", "sg99999999999"] {
            assert_eq!(sg_devnum(odd), None, "{odd}");
        }
    }

    #[test]
    fn the_sg_table_gives_what_each_device_directory_gives() {
        let tree = Tree::new("sg-table");
        tree.disk("sda", "0:0:0:0", 0, "0", "sg0");
        tree.disk("sdb", "1:0:0:0", 16, "0", "sg1");
        tree.disk("sdc", "0:0:0:1", 32, "5", "sg2");
        tree.disk("sdd", "1:0:0:1", 48, "0", "sg3");
        let from_dirs = scan(&tree.root).unwrap();
        // sg's own list: line N is sgN; a free index is all -1. sdd's
        // device is missing from it (sg attached later): its directory says.
        tree.write(
            "proc/scsi/sg/devices",
            "0\t0\t0\t0\t0\t1\t1\t0\t1\n1\t0\t0\t0\t0\t1\t1\t0\t1\n0\t0\t0\t1\t5\t1\t1\t0\t1\n-1\t-1\t-1\t-1\t-1\t-1\t-1\t-1\t-1\n",
        );
        let from_table = scan(&tree.root).unwrap();
        assert_eq!(format!("{:?}", from_table.candidates), format!("{:?}", from_dirs.candidates));
        assert_eq!(from_table.passed_over, from_dirs.passed_over);
        let sg: Vec<_> = from_table.candidates.iter().map(|c| c.sg.as_ref().unwrap().name.as_str()).collect();
        assert_eq!(sg, ["sg0", "sg1", "sg3"]);
        // The table is what answers when it names a device (here sg7 for
        // sda, type 0 for sdc): the directories are not read then.
        tree.write(
            "proc/scsi/sg/devices",
            "-1\t-1\t-1\t-1\t-1\t-1\t-1\t-1\t-1\n0\t0\t0\t1\t0\t1\t1\t0\t1\n-1\t-1\t-1\t-1\t-1\t-1\t-1\t-1\t-1\n\
             -1\t-1\t-1\t-1\t-1\t-1\t-1\t-1\t-1\n-1\t-1\t-1\t-1\t-1\t-1\t-1\t-1\t-1\n-1\t-1\t-1\t-1\t-1\t-1\t-1\t-1\t-1\n\
             -1\t-1\t-1\t-1\t-1\t-1\t-1\t-1\t-1\n0\t0\t0\t0\t0\t1\t1\t0\t1\n",
        );
        let found = scan(&tree.root).unwrap();
        let sg: Vec<_> = found.candidates.iter().map(|c| (c.name.as_str(), c.sg.as_ref().unwrap().name.as_str())).collect();
        assert_eq!(sg, [("sda", "sg7"), ("sdc", "sg1"), ("sdb", "sg1"), ("sdd", "sg3")]);
        assert_eq!(found.candidates[0].sg.as_ref().unwrap().devnum, DevNum { major: 21, minor: 7 });
        // A line in another format: the whole table is ignored.
        tree.write("proc/scsi/sg/devices", "0\t0\t0\t0\t0\t1\t1\t0\t1\n<no active device>\n");
        assert_eq!(format!("{:?}", scan(&tree.root).unwrap().candidates), format!("{:?}", from_dirs.candidates));
    }

    #[test]
    fn the_sg_class_links_give_what_each_device_directory_gives() {
        let tree = Tree::new("sg-class");
        tree.disk("sda", "0:0:0:0", 0, "0", "sg0");
        tree.disk("sdb", "1:0:0:0", 16, "0", "sg1");
        tree.disk("sdc", "0:0:0:1", 32, "0", "sg2");
        let from_dirs = scan(&tree.root).unwrap();
        let dev_dir = |hctl: &str| {
            let host = &hctl[..1];
            tree.root.join(format!("sys/devices/pseudo_0/adapter{host}/host{host}/target{}/{hctl}", &hctl[..hctl.rfind(':').unwrap()]))
        };
        fs::create_dir_all(tree.root.join("sys/class/scsi_generic")).unwrap();
        let class = |sg: &str, target: PathBuf| symlink(target, tree.root.join("sys/class/scsi_generic").join(sg)).unwrap();
        class("sg0", dev_dir("0:0:0:0").join("scsi_generic/sg0"));
        class("sg1", dev_dir("1:0:0:0").join("scsi_generic/sg1"));
        class("sg2", dev_dir("0:0:0:1").join("scsi_generic/sg2"));
        let from_class = scan(&tree.root).unwrap();
        assert_eq!(format!("{:?}", from_class.candidates), format!("{:?}", from_dirs.candidates));
        // The links are what answers when they name a device (sg9 for
        // sda); an odd link is left out (sdc: its directory says).
        for sg in ["sg0", "sg2"] {
            fs::remove_file(tree.root.join("sys/class/scsi_generic").join(sg)).unwrap();
        }
        class("sg9", dev_dir("0:0:0:0").join("scsi_generic/sg9"));
        class("sg7", dev_dir("0:0:0:1").join("scsi_generic/sg6"));
        class("sgx", dev_dir("0:0:0:1").join("scsi_generic/sgx"));
        let found = scan(&tree.root).unwrap();
        let sg: Vec<_> = found.candidates.iter().map(|c| (c.name.as_str(), c.sg.as_ref().unwrap().name.as_str())).collect();
        assert_eq!(sg, [("sda", "sg9"), ("sdc", "sg2"), ("sdb", "sg1")]);
        assert_eq!(found.candidates[0].sg.as_ref().unwrap().devnum, DevNum { major: 21, minor: 9 });
        // /proc/scsi/sg/devices, when there, is read instead.
        tree.write("proc/scsi/sg/devices", "0\t0\t0\t0\t0\t1\t1\t0\t1\n");
        let found = scan(&tree.root).unwrap();
        assert_eq!(found.candidates[0].sg.as_ref().unwrap().name.as_str(), "sg0");
    }

    #[test]
    fn sg_table_lines() {
        let table = SgTable::parse(b"2\t0\t3\t4096\t0\t1\t1\t0\t1\n-1\t-1\t-1\t-1\t-1\t-1\t-1\t-1\t-1\n2\t0\t3\t1\t13\t1\t1\t0\t0\n").unwrap();
        let at = |lun| Some(Hctl { host: 2, channel: 0, target: 3, lun });
        assert_eq!(table.get(at(4096)), Some((0, Some(0))));
        assert_eq!(table.get(at(1)), Some((2, Some(13))));
        assert_eq!(table.get(at(2)), None);
        assert_eq!(table.get(None), None);
        // One device twice: neither line is believed.
        let twice = SgTable::parse(b"0\t0\t0\t0\t0\t1\t1\t0\t1\n0\t0\t0\t0\t0\t1\t1\t0\t1\n").unwrap();
        assert_eq!(twice.get(Some(Hctl::default())), None);
        for odd in [&b"0\t0\t0\t0\t0\n"[..], b"x\t0\t0\t0\t0\t1\t1\t0\t1\n", b"0 0 0 0 0 1 1 0 1\n", b"\xff\n"] {
            assert!(SgTable::parse(odd).is_none(), "{odd:?}");
        }
        assert!(SgTable::parse(b"").unwrap().0.is_empty());
    }

    #[test]
    fn scsi_address_from_the_device_path() {
        let at = |p: &str, n| hctl_of_block_path(Path::new(p), n);
        assert_eq!(
            at("/sys/devices/pseudo_0/adapter0/host0/target0:0:0/0:0:0:16/block/sdq", "sdq"),
            Some(Hctl { host: 0, channel: 0, target: 0, lun: 16 })
        );
        assert_eq!(at("/sys/devices/x/0:0:0:16/block/sdq", "sdr"), None);
        assert_eq!(at("/sys/devices/x/0:0:0:16/notblock/sdq", "sdq"), None);
        assert_eq!(at("/sys/block/sdq", "sdq"), None);
        assert_eq!(at("/sys/devices/x/target0:0:0/block/sdq", "sdq"), None);
        assert_eq!(at("sdq", "sdq"), None);
        assert_eq!(at("", "sdq"), None);
    }

    #[test]
    fn an_odd_layout_falls_back_to_the_device_link() {
        // The disk's directory away from its SCSI device: the device link says.
        let tree = Tree::new("odd-layout");
        let dev_dir = "sys/devices/pseudo_0/adapter0/host0/target0:0:0/0:0:0:3";
        let block_dir = "sys/devices/virtual/block/sda";
        tree.write(&format!("{block_dir}/dev"), "8:0\n");
        tree.write(&format!("{block_dir}/size"), "8\n");
        tree.write(&format!("{dev_dir}/type"), "0\n");
        symlink(tree.root.join(dev_dir), tree.root.join(block_dir).join("device")).unwrap();
        symlink(tree.root.join(block_dir), tree.root.join("sys/block/sda")).unwrap();
        let found = scan(&tree.root).unwrap();
        assert_eq!(found.candidates[0].hctl, Hctl { host: 0, channel: 0, target: 0, lun: 3 });
        assert!(found.candidates[0].sg.is_none());
    }

    #[test]
    fn listings_are_whole_in_both_modes() {
        let tree = Tree::new("listing");
        let names: Vec<std::string::String> = (0..150).map(|i| format!("holder-with-a-long-name-{i:03}")).collect();
        for name in &names {
            fs::create_dir_all(tree.root.join("d/many").join(name)).unwrap();
        }
        fs::create_dir_all(tree.root.join("d/none")).unwrap();
        let dir = Dir::open(tree.root.join("d"));
        assert!(dir.fd.is_some());
        for whole_batches in [false, true] {
            let mut got = dir.list(c"many", whole_batches);
            got.sort();
            assert_eq!(got, names);
            assert!(dir.list(c"none", whole_batches).is_empty());
            assert!(dir.list(c"missing", whole_batches).is_empty());
        }
        // Without a descriptor, the path.
        let by_path = Dir { path: tree.root.join("d"), fd: None };
        assert_eq!(by_path.list(c"many", false).len(), names.len());
    }

    #[test]
    fn odd_dirent_batches_end_without_panic() {
        let mut record = vec![0u8; 24];
        record[16..18].copy_from_slice(&24u16.to_ne_bytes());
        record[19..22].copy_from_slice(b"sg5");
        assert_eq!(dirent_names(&record), ["sg5"]);
        let mut short = record.clone();
        short[16..18].copy_from_slice(&200u16.to_ne_bytes());
        assert_eq!(dirent_names(&short), ["sg5"]);
        let mut zero = record.clone();
        zero[16..18].copy_from_slice(&0u16.to_ne_bytes());
        assert!(dirent_names(&zero).is_empty());
        assert!(dirent_names(&record[..10]).is_empty());
        assert!(dirent_names(&[]).is_empty());
    }

    #[test]
    fn a_relative_block_link_resolves_like_realpath() {
        let tree = Tree::new("relative-link");
        let dev_dir = tree.root.join("sys/devices/pseudo_0/adapter0/host0/target0:0:0/0:0:0:0/block/sda");
        fs::create_dir_all(&dev_dir).unwrap();
        symlink("../devices/pseudo_0/adapter0/host0/target0:0:0/0:0:0:0/block/sda", tree.root.join("sys/block/sda")).unwrap();
        let sys = fs::canonicalize(tree.root.join("sys")).unwrap();
        let block = tree.root.join("sys/block");
        assert_eq!(device_path(&block, "sda", Some(&sys)), fs::canonicalize(block.join("sda")).ok());
        assert_eq!(device_path(&block, "sdz", Some(&sys)), None);
    }
}
