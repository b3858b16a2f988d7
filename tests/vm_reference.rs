//! Proves the reference kit (tests/vm/reference-kit.sh): Debian's
//! multipath-tools 0.9.4 runs in the VM guest on scsi_debug paths, loads the
//! tables measured on Debian, and leaves the guest clean for mpath-boot (no
//! maps, no udevd, no /run/udev).

mod common;
#[path = "common/reference.rs"]
mod reference;

use common::{boot, GuestRun, VmConfig};
use reference::{parse_dmsetup_table, reference_overlay, SECTION_TABLE};
use std::collections::BTreeMap;
use std::time::Duration;

/// The table multipath-tools 0.9.4 loads (find_multipaths off, otherwise
/// defaults) for one 8 MiB scsi_debug LU seen through two hosts. scsi_debug
/// reports ALUA active/optimized through even hosts (prio 50) and
/// non-optimized through odd ones (prio 10): group_by_prio gives two groups,
/// the optimized path's first.
fn mpath_table(optimized: &str, other: &str) -> String {
    format!("0 16384 multipath 0 1 alua 2 1 service-time 0 1 2 {optimized} 1 1 service-time 0 1 2 {other} 1 1")
}

/// Expected maps, sorted by name, from the guest's "disk maj:min H:C:T:L"
/// lines. With `vpd_use_hostno=0` both hosts (0 and 1) report LU (target t,
/// lun l) with the T10 vendor id "Linux scsi_debug <2000 + 1000 t + l>",
/// which names the map. Disk names are not a stable function of H:C:T:L
/// (async scanning), hence the lookup.
fn expected_maps(paths: &str) -> Vec<(String, String)> {
    let mut by_lu: BTreeMap<(u32, u32), [Option<String>; 2]> = BTreeMap::new();
    for line in paths.lines().filter(|l| l.starts_with("sd")) {
        let f: Vec<&str> = line.split_whitespace().collect();
        let hctl: Vec<u32> = f[2]
            .split(':')
            .map(|n| n.parse().expect("H:C:T:L"))
            .collect();
        let host = hctl[0] as usize;
        assert!(host < 2 && hctl[1] == 0, "unexpected path {line:?}");
        by_lu.entry((hctl[2], hctl[3])).or_default()[host] = Some(f[1].to_string());
    }
    by_lu
        .into_iter()
        .map(|((t, l), devs)| {
            let [Some(optimized), Some(other)] = devs else {
                panic!("LU {t}:{l} lacks a path: {paths}")
            };
            (
                format!("1Linux_scsi_debug_{}", 2000 + 1000 * t + l),
                mpath_table(&optimized, &other),
            )
        })
        .collect()
}

/// Boots scsi_debug with `add_host=2 vpd_use_hostno=0 max_luns=4
/// dev_size_mb=8 {extra}`, waits for its `disks` disks, runs the reference and
/// checks what it leaves behind.
fn run_reference(name: &'static str, extra: &str, disks: usize) -> GuestRun {
    let script = format!(
        r#"
modprobe scsi_debug add_host=2 vpd_use_hostno=0 max_luns=4 dev_size_mb=8 {extra} || exit 10
wait_until 60 sh -c '[ $(ls -d /sys/block/sd* 2>/dev/null | wc -l) -ge {disks} ]' || exit 11
section paths sh -c 'for d in /sys/block/sd*; do echo "${{d##*/}} $(cat $d/dev) $(basename $(readlink $d/device))"; done'
{reference}
section after sh -c '
    echo "maps: $(dmsetup ls)"
    test -e /run/udev && echo "run-udev: present" || echo "run-udev: absent"
    grep -qsx systemd-udevd /proc/[0-9]*/comm && echo "udevd: running" || echo "udevd: none"
    # With udev sync enabled, libdevmapper would wait forever for a cookie if
    # /run/udev/control were left behind.
    env -u DM_DISABLE_UDEV timeout 30 dmsetup create ref-probe --table "0 8 error" &&
        env -u DM_DISABLE_UDEV timeout 30 dmsetup remove ref-probe && echo "dm-op: ok"'
"#,
        reference = reference::script(),
    );
    let run = boot(&VmConfig {
        name,
        script,
        overlays: vec![reference_overlay()],
        timeout: Duration::from_secs(600),
        ..Default::default()
    });
    run.assert_success();

    let version = run.section_ok(reference::SECTION_VERSION);
    assert!(
        version.contains(&format!("multipath-tools {}-", reference::VERSION))
            && version.contains(&format!("multipath-tools v{}", reference::VERSION)),
        "not multipath-tools {}: {version}",
        reference::VERSION
    );
    let after = run.section_ok("after");
    for want in [
        "maps: No devices found",
        "run-udev: absent",
        "udevd: none",
        "dm-op: ok",
    ] {
        assert!(
            after.lines().any(|l| l.trim() == want),
            "after the reference, want {want:?}:\n{after}"
        );
    }
    for s in [reference::SECTION_UP, reference::SECTION_ASSEMBLE] {
        for t in reference::timings(&run.section(s)) {
            println!("{name}: {t}");
        }
    }
    println!("{name}: whole guest run {:.1?}", run.elapsed);
    run
}

/// Asserts the reference loaded `count` maps, as expected from the paths.
fn assert_maps(run: &GuestRun, count: usize) {
    let paths = run.section_ok("paths");
    let want = expected_maps(&paths);
    assert_eq!(want.len(), count, "paths:\n{paths}");
    let got = parse_dmsetup_table(&run.section_ok(SECTION_TABLE));
    assert_eq!(
        got,
        want,
        "reference tables differ\n--- paths (disk dev H:C:T:L) ---\n{paths}--- multipath -v2 ---\n{}",
        run.section(reference::SECTION_ASSEMBLE)
    );
}

#[test]
fn reference_two_hosts_four_luns() {
    // The form measured on Debian 12 (multipath-tools 0.9.4-3+deb12u2) when
    // sda is 0:0:0:0 and sde is 1:0:0:0.
    assert_eq!(
        mpath_table("8:0", "8:64"),
        "0 16384 multipath 0 1 alua 2 1 service-time 0 1 2 8:0 1 1 service-time 0 1 2 8:64 1 1"
    );
    let run = run_reference("reference-scsi-debug", "", 8);
    assert_maps(&run, 4);
    let maps = parse_dmsetup_table(&run.section(SECTION_TABLE));
    assert_eq!(maps[0].0, "1Linux_scsi_debug_2000");
}

#[test]
fn reference_two_hosts_two_targets_four_luns() {
    let run = run_reference("reference-scsi-debug-2tgt", "num_tgts=2", 16);
    assert_maps(&run, 8);
    let maps = parse_dmsetup_table(&run.section(SECTION_TABLE));
    assert_eq!(maps[4].0, "1Linux_scsi_debug_3000");
}

#[test]
fn parses_dmsetup_table() {
    let out = "b: 0 8 linear 8:0 0 \nb: 8 8 linear 8:16 0\na: 0 16384 multipath 0 0 1 1 round-robin 0 1 1 8:0 1 \n";
    assert_eq!(
        parse_dmsetup_table(out),
        [
            (
                "b".to_string(),
                "0 8 linear 8:0 0\n8 8 linear 8:16 0".to_string()
            ),
            (
                "a".to_string(),
                "0 16384 multipath 0 0 1 1 round-robin 0 1 1 8:0 1".to_string()
            ),
        ]
    );
    assert!(parse_dmsetup_table("No devices found\n").is_empty());
}
