#!/bin/bash
# Reference kit for the VM tests: Debian 12's multipath-tools 0.9.4, with the
# udev it cannot work without, laid out as a guest-root overlay in
#   target/vm-kit/reference/root/   ($MPATH_VM_KIT/reference/root if set)
# Tests merge that tree into the initramfs, run /reference/run-multipath.sh in
# the guest, record the tables multipath-tools loaded, and compare mpath-boot's
# tables against them in the same guest.
#
# Its packages are fetched with `apt-get download`, never installed here.
# Run as root (apt-get; chroot for the final check), as CI and tests/run-all.sh do.
# Idempotent: a stamp holding this script's hash makes a re-run instant.
set -euo pipefail

repo=$(cd "$(dirname "$0")/../.." && pwd)
# Beside the harness's kit; MPATH_VM_KIT moves both (tests/vm/kit.sh).
kit=${MPATH_VM_KIT:-$repo/target/vm-kit}/reference
root=$kit/root
want=$(sha256sum "$0" | cut -d' ' -f1)
if [[ -f $kit/stamp && $(cat "$kit/stamp") == "$want" && -x $root/sbin/multipath ]]; then
    echo "reference kit up to date: $root"
    exit 0
fi

# The reference is pinned to upstream 0.9.4; Debian's revision may move on.
mpt_upstream=0.9.4
# multipath-tools brings multipath, libmultipath and its dlopened plugins
# (/lib/multipath: checkers, prioritizers, foreign); udev brings udevadm,
# which is also systemd-udevd (Debian 12 links it without libsystemd-shared);
# dmsetup brings dmsetup and the dm udev rules; sg3-utils-udev (a hard
# dependency of multipath-tools) brings 55-scsi-sg3_id.rules, which sets
# ID_SERIAL with sg_inq (from sg3-utils) before udev's own scsi_id rule runs.
# It matters: it prefers a T10 vendor designator over a locally assigned NAA
# (scsi_id does the reverse), so scsi_debug LUNs are "1Linux_scsi_debug_2000"
# on a real Debian, not "333333330000007d0". The lib* packages hold every
# shared library those link against, libc6 included, so the guest gets one
# consistent set whatever the host has installed.
pkgs=(multipath-tools udev dmsetup sg3-utils-udev sg3-utils libsgutils2-1.46-2
      libc6 libgcc-s1 libdevmapper1.02.1 libaio1 liburcu8 libsystemd0
      libudev1 libcap2 libgcrypt20 libgpg-error0 liblz4-1 liblzma5 libzstd1
      libselinux1 libpcre2-8-0 libacl1 libblkid1 libkmod2 libssl3)

for tool in dpkg-deb readelf; do
    command -v $tool >/dev/null || { apt-get update -qq; apt-get install -y -qq binutils dpkg; }
done

# --- download (cached in debs/) -------------------------------------------
mkdir -p "$kit/debs"
missing=()
for p in "${pkgs[@]}"; do
    compgen -G "$kit/debs/${p}_*.deb" >/dev/null || missing+=("$p")
done
if ((${#missing[@]})); then
    # apt-get download needs package lists; a fresh machine has none.
    # _apt may not write into target/: download as root, without the warning.
    sandbox=(-o APT::Sandbox::User=root)
    (cd "$kit/debs" && apt-get download -qq "${sandbox[@]}" "${missing[@]}" 2>/dev/null) ||
        (apt-get update -qq && cd "$kit/debs" && apt-get download -qq "${sandbox[@]}" "${missing[@]}")
fi
deb() { compgen -G "$kit/debs/${1}_*.deb" | head -n1; }
mpt_version=$(dpkg-deb -f "$(deb multipath-tools)" Version)
[[ $mpt_version == "$mpt_upstream"-* ]] ||
    { echo "multipath-tools is $mpt_version, want $mpt_upstream" >&2; exit 1; }

# --- unpack everything, then copy only what the guest needs -----------------
ex=$kit/extract
rm -rf "$ex" "$root"
mkdir -p "$ex" "$root"
for p in "${pkgs[@]}"; do dpkg-deb -x "$(deb "$p")" "$ex"; done

(cd "$ex" && cp -a --parents \
    sbin/multipath lib/multipath \
    sbin/dmsetup \
    usr/bin/sg_inq \
    bin/udevadm lib/systemd/systemd-udevd etc/udev/udev.conf \
    "$root/")
# All rules from these packages, as on an installed Debian: udev's own
# (50-udev-default, 60-persistent-storage), sg3-utils-udev's (55-scsi-sg3_id:
# ID_SERIAL of sd*, which multipath uses as WWID and map name), dmsetup's
# (55-dm; 95-dm-notify answers libdevmapper's udev cookie, without it every
# resume hangs) and multipath's (56-dm-mpath, 60-multipath). Plus the helper
# programs rules call (scsi_id, ata_id, ...).
mkdir -p "$root/lib/udev"
cp -a "$ex/lib/udev/rules.d" "$root/lib/udev/"
find "$ex/lib/udev" -maxdepth 1 -type f -executable -exec cp -a {} "$root/lib/udev/" \;
# The dynamic loader at the path binaries name as their interpreter.
mkdir -p "$root/lib64"
cp -L "$ex/lib64/ld-linux-x86-64.so.2" "$root/lib64/"
# glibc dlopens libgcc_s for pthread_cancel (the tur checker cancels its
# threads); no DT_NEEDED names it, so copy it by hand.
mkdir -p "$root/lib/x86_64-linux-gnu"
cp -L "$ex/lib/x86_64-linux-gnu/libgcc_s.so.1" "$root/lib/x86_64-linux-gnu/"

# --- shared libraries: follow DT_NEEDED from every ELF file -----------------
# Resolved against the unpacked packages first, the host as a fallback. All
# go to /lib/x86_64-linux-gnu, the first directory ld.so searches: the test
# harness copies the host's libraries for its own dmsetup there too, and an
# overlay's files replace the base's, so ours win and form one consistent set.
libdirs=(lib/x86_64-linux-gnu usr/lib/x86_64-linux-gnu lib usr/lib)
guestlib=lib/x86_64-linux-gnu
is_elf() { [[ $(head -c4 "$1" 2>/dev/null) == $'\x7fELF' ]]; }
needed() { readelf -d "$1" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'; }
declare -A done_lib=()
queue=()
while IFS= read -r f; do is_elf "$f" && queue+=("$f"); done < <(find "$root" -type f)
while ((${#queue[@]})); do
    f=${queue[0]}; queue=("${queue[@]:1}")
    for so in $(needed "$f"); do
        [[ -n ${done_lib[$so]:-} ]] && continue
        src=
        for base in "$ex" ""; do
            for d in "${libdirs[@]}"; do
                [[ -e $base/$d/$so ]] && { src=$base/$d/$so; break 2; }
            done
        done
        [[ -n $src ]] || { echo "cannot find $so (needed by ${f#"$root"/})" >&2; exit 1; }
        [[ $src == "$ex"/* ]] || echo "note: $so taken from the host ($src)" >&2
        cp -L "$src" "$root/$guestlib/$so"
        done_lib[$so]=1
        queue+=("$root/$guestlib/$so")
    done
done

# --- configuration ----------------------------------------------------------
# Defaults, except find_multipaths off: every non-blacklisted path gets a map
# at once (no wwids history, no multipathd). /etc/multipath must exist and be
# writable: multipath records WWIDs in /etc/multipath/wwids.
mkdir -p "$root/etc/multipath/conf.d"
cat > "$root/etc/multipath.conf" <<'EOF'
defaults {
	find_multipaths off
}
EOF

mkdir -p "$root/reference"
{
    echo "multipath-tools $mpt_version"
    echo "udev $(dpkg-deb -f "$(deb udev)" Version)"
    echo "dmsetup $(dpkg-deb -f "$(deb dmsetup)" Version)"
    echo "sg3-utils-udev $(dpkg-deb -f "$(deb sg3-utils-udev)" Version)"
} > "$root/reference/VERSION"

# --- the guest script -------------------------------------------------------
cat > "$root/reference/run-multipath.sh" <<'EOF'
#!/bin/sh
# Run Debian's multipath-tools as a booted Debian would (udevd running,
# `multipath -v2`), print the tables it loaded, then undo all of it so the
# next tool in this guest starts clean.
# Usage: run-multipath.sh [STEP...]   STEP: version up assemble table down
# (default: all five, in that order). Steps are separate so a test can wrap
# each in its own `section`.
PATH=/sbin:/bin:/usr/sbin:/usr/bin:$PATH
# The test harness exports DM_DISABLE_UDEV=1 for mpath-boot; a booted Debian
# has udev, so let libdevmapper sync with it through cookies as it would.
unset DM_DISABLE_UDEV

now() { cut -d' ' -f1 /proc/uptime; }
took() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.2f", b - a }'; }

version() {
    cat /reference/VERSION
    multipath -h 2>&1 | grep -m1 multipath-tools
}

up() {
    # udevd keeps its database and control socket in /run/udev.
    grep -qs ' /run ' /proc/mounts ||
        { mkdir -p /run && mount -t tmpfs -o mode=0755,nosuid,nodev tmpfs /run; }
    t=$(now)
    /lib/systemd/systemd-udevd --daemon || return 1
    # Replay "add" for devices that appeared before udevd: without the udev
    # database (ID_SERIAL) multipath finds no paths at all.
    udevadm trigger --action=add
    udevadm settle --timeout=300 || echo "reference: udevadm settle timed out"
    echo "reference: udevd start+trigger+settle took $(took "$t")s"
}

assemble() {
    t=$(now)
    multipath -v2
    rc=$?
    udevadm settle --timeout=300
    echo "reference: multipath -v2 exited $rc after $(took "$t")s"
    return $rc
}

table() {
    # One "name: start length target args" line per target, ordered by name.
    dmsetup table | sort -s -t: -k1,1
}

down() {
    multipath -F
    udevadm settle --timeout=300
    # Stop udevd and remove /run/udev: libdevmapper in any later tool sees
    # /run/udev/control, assumes udev is running and waits for cookies.
    udevadm control --exit
    for p in /proc/[0-9]*; do
        [ "$(cat "$p/comm" 2>/dev/null)" = systemd-udevd ] && kill -9 "${p#/proc/}"
    done
    rm -rf /run/udev
    left=$(dmsetup ls | grep -vc 'No devices found')
    echo "reference: maps left: $left"
    [ "$left" = 0 ]
}

[ $# -gt 0 ] || set -- version up assemble table down
for step in "$@"; do
    case $step in
        version|up|assemble|table|down) $step || exit $? ;;
        *) echo "run-multipath.sh: unknown step $step" >&2; exit 2 ;;
    esac
done
EOF
chmod +x "$root/reference/run-multipath.sh"

# --- check the guest layout on the host: every ELF resolves -----------------
if [[ $(id -u) == 0 ]]; then
    while IFS= read -r f; do
        is_elf "$f" || continue
        out=$(chroot "$root" /lib64/ld-linux-x86-64.so.2 --list "/${f#"$root"/}" 2>&1) ||
            { echo "broken in guest layout: ${f#"$root"/}: $out" >&2; exit 1; }
        ! grep -q 'not found' <<<"$out" ||
            { echo "broken in guest layout: ${f#"$root"/}: $out" >&2; exit 1; }
    done < <(find "$root" -type f -name '*.so*' -o -type f -path '*bin/*' -o -type f -path '*/lib/udev/*')
    usage=$(chroot "$root" /sbin/multipath -h 2>&1 || true)
    grep -m1 "multipath-tools v$mpt_upstream" <<<"$usage" ||
        { echo "multipath does not run in the guest layout: $usage" >&2; exit 1; }
fi

echo "$want" > "$kit/stamp"
echo "reference kit ready: $root ($(du -sh "$root" | cut -f1))"
