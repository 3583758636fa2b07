#!/usr/bin/env bash
# vm.boot_stress / vm.ioctl_contract: boot the pinned Debian guest kernel with
# our initramfs on QEMU with an emulated Kestrel device, exercise the driver
# with kestrelctl, and judge the serial log and the host's backing file.
#
#   boot-stress.sh --qemu QEMU --kernel VMLINUZ --initrd BASE.cpio.gz \
#                  --host-tool GAUNTLET_DATA --workdir DIR [OPTIONS]
#
#   --scenario stress|ioctl|fuzzioctl  what the guest runs (default stress):
#        stress: read a host-written pattern, write a pattern, selftest-ioctl
#                (reported only), `kestrelctl stress --verify`, re-verify;
#                afterwards the host checks the pattern in the backing file
#        ioctl:  `kestrelctl selftest-ioctl` (the ioctl error contract)
#        fuzzioctl: write a pattern, `kestrelctl fuzz-ioctl` for --duration
#                seconds with --threads threads and --seed, writing only in
#                the stress region (lba 128...), then re-read the pattern;
#                the host checks both fixed regions (lba 0..127) afterwards
#   --duration S        stress duration in seconds (default 20)
#   --threads N --qd N  stress shape (default 2 threads, qd 16)
#   --seed S            stress seed (default: random, printed)
#   --stress-blocks N   stress region size in blocks after lba 128 (default
#                       16384; prefilled so that every read is verified)
#   --disk-mb N         backing file size (default 64)
#   --block-size B      device block size, 512 or 4096 (default 512)
#   --modparams "..."   kestrel.ko parameters (gauntlet.modparams=)
#   --device-props P    extra -device kestrel properties, e.g. msix=off
#   --timeout S         hard wall-clock bound of the QEMU run (default 150)
#   --accel tcg|kvm|auto  (default $GAUNTLET_ACCEL, else auto): auto uses KVM
#        only when /dev/kvm is usable and the host is not itself a VM (cpuinfo
#        "hypervisor" flag: nested KVM hangs there), else TCG
#   --qemu-args "ARGS"  extra QEMU arguments, e.g. the firmware -L dirs
#                       (default "-L /usr/share/seabios -L /usr/share/qemu")
#   --ledger-tool GAUNTLET_LEDGER  (stress) the stress keeps a write ledger
#                       on a second serial port (/dev/ttyS1, logged to
#                       ledger.log), and the host checks the backing file
#                       against it: it must pass with acknowledged writes
#                       checked, and fail naming the block once the block
#                       of the last W record is zeroed in a copy
#
# Artifacts in DIR: serial.log (the guest console), qemu.log, guest-run.sh,
# disk.img (kept on failure only), result.txt.  Exit 0 = pass.
set -euo pipefail

HERE="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")" && pwd)"
TOP="$(cd "$HERE/../.." && pwd)"

die() { echo "boot-stress: $*" >&2; exit 2; }
say() { echo "boot-stress: $*"; }
usage() { awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "${BASH_SOURCE[0]}" >&2; exit 2; }

qemu="${GAUNTLET_QEMU:-}"
kernel=""
initrd=""
host_tool=""
workdir=""
scenario=stress
duration=20
threads=2
qd=16
seed=""
stress_blocks=16384
disk_mb=64
block_size=512
modparams=""
device_props=""
wall_timeout=150
accel="${GAUNTLET_ACCEL:-auto}"
qemu_args="-L /usr/share/seabios -L /usr/share/qemu"
ledger_tool=""
while [[ $# -gt 0 ]]; do
    case "$1" in
    --qemu) qemu="${2:?}"; shift ;;
    --kernel) kernel="${2:?}"; shift ;;
    --initrd) initrd="${2:?}"; shift ;;
    --host-tool) host_tool="${2:?}"; shift ;;
    --workdir) workdir="${2:?}"; shift ;;
    --scenario) scenario="${2:?}"; shift ;;
    --duration) duration="${2:?}"; shift ;;
    --threads) threads="${2:?}"; shift ;;
    --qd) qd="${2:?}"; shift ;;
    --seed) seed="${2:?}"; shift ;;
    --stress-blocks) stress_blocks="${2:?}"; shift ;;
    --disk-mb) disk_mb="${2:?}"; shift ;;
    --block-size) block_size="${2:?}"; shift ;;
    --modparams) modparams="${2?}"; shift ;;
    --device-props) device_props="${2?}"; shift ;;
    --timeout) wall_timeout="${2:?}"; shift ;;
    --accel) accel="${2:?}"; shift ;;
    --qemu-args) qemu_args="${2?}"; shift ;;
    --ledger-tool) ledger_tool="${2:?}"; shift ;;
    -h|--help) usage ;;
    *) echo "boot-stress: unknown argument '$1'" >&2; usage ;;
    esac
    shift
done

[[ -n "$kernel" ]] || kernel="$("$TOP/scripts/guest-kernel.sh" --print --quiet)"
[[ -x "$qemu" ]] || die "no QEMU at '$qemu' (--qemu or GAUNTLET_QEMU)"
[[ -f "$kernel" ]] || die "no guest kernel at '$kernel'"
[[ -f "$initrd" ]] || die "no initramfs at '$initrd' (--initrd)"
[[ -x "$host_tool" ]] || die "no host gauntlet-data at '$host_tool' (--host-tool)"
[[ -n "$workdir" ]] || die "--workdir is required"
case "$scenario" in stress|ioctl|fuzzioctl) ;; *) die "unknown scenario '$scenario'" ;; esac
case "$block_size" in 512|4096) ;; *) die "--block-size must be 512 or 4096" ;; esac
[[ -z "$ledger_tool" || ( -x "$ledger_tool" && $scenario == stress ) ]] ||
    die "--ledger-tool wants gauntlet-ledger and --scenario stress"
[[ -n "$seed" ]] || seed=$(( (RANDOM << 15) | RANDOM ))

# ---- accelerator -------------------------------------------------------
kvm_usable() {
    [[ -r /dev/kvm && -w /dev/kvm ]] || return 1
    # A host that is itself a VM would need nested KVM, which hangs on the
    # machines we know; GAUNTLET_ACCEL=kvm forces it anyway.
    if grep -qw hypervisor /proc/cpuinfo 2>/dev/null; then return 1; fi
    return 0
}
case "$accel" in
tcg) accel_args=(-accel tcg) ;;
kvm) accel_args=(-accel kvm -cpu host) ;;
auto)
    if kvm_usable; then accel=kvm; accel_args=(-accel kvm -cpu host)
    else accel=tcg; accel_args=(-accel tcg); fi ;;
*) die "--accel/GAUNTLET_ACCEL must be tcg, kvm or auto (got '$accel')" ;;
esac

# ---- work area ---------------------------------------------------------------
mkdir -p "$workdir"
workdir="$(cd "$workdir" && pwd)"
log="$workdir/serial.log"
qlog="$workdir/qemu.log"
disk="$workdir/disk.img"
runsh="$workdir/guest-run.sh"
image="$workdir/initramfs.cpio.gz"
result="$workdir/result.txt"
ledger="$workdir/ledger.log"
rm -f "$log" "$qlog" "$disk" "$runsh" "$image" "$result" "$ledger"

# Fixed regions: lba 0..63 written by the guest (seq, seed 7) and checked here
# afterwards; lba 64..127 written here (random, seed 11) and checked by the
# guest; stress gets the rest.
pat_lba=0; pat_blocks=64; pat_seed=7
host_lba=64; host_blocks=64; host_seed=11
stress_lba=128
capacity=$(( disk_mb * 1024 * 1024 / block_size ))
(( capacity > stress_lba + 64 )) || die "--disk-mb $disk_mb is too small"
(( stress_blocks <= capacity - stress_lba )) || stress_blocks=$(( capacity - stress_lba ))

truncate -s "${disk_mb}M" "$disk"
"$host_tool" write "$disk" --lba "$host_lba" --blocks "$host_blocks" \
    --pattern random --seed "$host_seed" --block-size "$block_size" >/dev/null

# ---- the guest's script ---------------------------------------------------------
{
    cat <<'EOF'
#!/bin/sh
# generated by tests/vm/boot-stress.sh
dev=/dev/kestrel0
failed=0
step() {   # step NAME [--soft] CMD...: markers around a command
    name=$1; shift
    soft=0; [ "$1" = --soft ] && { soft=1; shift; }
    echo "GAUNTLET-STEP-BEGIN: $name"
    "$@"
    rc=$?
    if [ $rc -eq 0 ]; then echo "GAUNTLET-STEP: $name pass"
    else echo "GAUNTLET-STEP: $name fail $rc"; [ $soft -eq 1 ] || failed=1; fi
    return 0
}
i=0
while [ ! -e $dev ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
if [ ! -c $dev ]; then
    echo "GAUNTLET-ERROR: $dev does not exist"
    echo "/dev: $(ls /dev | tr '\n' ' ')"
    echo "pci drivers: $(ls /sys/bus/pci/drivers | tr '\n' ' ')"
    for d in /sys/bus/pci/devices/*; do echo "$d $(cat "$d/vendor"):$(cat "$d/device") driver=$(basename "$(readlink "$d/driver" 2>/dev/null)")"; done
    exit 10
fi
echo "GAUNTLET-DEVICE: $dev present ($(ls -l $dev))"
step info kestrelctl -d $dev info
EOF
    case "$scenario" in
    stress)
        cat <<EOF
step read-host-pattern kestrelctl -d \$dev read --lba $host_lba --blocks $host_blocks --pattern random --seed $host_seed --verify
step write-pattern kestrelctl -d \$dev write --lba $pat_lba --blocks $pat_blocks --pattern seq --seed $pat_seed
step read-pattern kestrelctl -d \$dev read --lba $pat_lba --blocks $pat_blocks --pattern seq --seed $pat_seed --verify
step selftest-ioctl --soft kestrelctl -d \$dev selftest-ioctl
step stress kestrelctl -d \$dev stress --lba $stress_lba --blocks $stress_blocks --prefill --threads $threads --qd $qd --duration $duration --verify --seed $seed${ledger_tool:+ --ledger /dev/ttyS1}
step reread-pattern kestrelctl -d \$dev read --lba $pat_lba --blocks $pat_blocks --pattern seq --seed $pat_seed --verify
step stats kestrelctl -d \$dev stats
EOF
        ;;
    ioctl)
        cat <<'EOF'
step selftest-ioctl kestrelctl -d $dev selftest-ioctl
step stats kestrelctl -d $dev stats
EOF
        ;;
    fuzzioctl)
        cat <<EOF
step read-host-pattern kestrelctl -d \$dev read --lba $host_lba --blocks $host_blocks --pattern random --seed $host_seed --verify
step write-pattern kestrelctl -d \$dev write --lba $pat_lba --blocks $pat_blocks --pattern seq --seed $pat_seed
step fuzz-ioctl kestrelctl -d \$dev fuzz-ioctl --seed $seed --threads $threads --duration $duration --lba $stress_lba --blocks $stress_blocks
step reread-pattern kestrelctl -d \$dev read --lba $pat_lba --blocks $pat_blocks --pattern seq --seed $pat_seed --verify
step reread-host-pattern kestrelctl -d \$dev read --lba $host_lba --blocks $host_blocks --pattern random --seed $host_seed --verify
step stats kestrelctl -d \$dev stats
EOF
        ;;
    esac
    # shellcheck disable=SC2016  # expands in the guest
    echo 'exit $failed'
} >"$runsh"
chmod 0755 "$runsh"
"$TOP/harness/guest/mkinitramfs.sh" -o "$image" --append-to "$initrd" \
    --add "$runsh:/etc/gauntlet/run" 2>/dev/null

# ---- boot ----------------------------------------------------------------------
guest_timeout=$(( wall_timeout - 15 ))
append="console=ttyS0 panic=-1 sysctl.kernel.hung_task_timeout_secs=20"
append+=" gauntlet.timeout=$guest_timeout"
[[ -n "$modparams" ]] && append+=" gauntlet.modparams=\"$modparams\""
dprops="kestrel,drive=d0,id=k0,block-size=$block_size${device_props:+,$device_props}"

# shellcheck disable=SC2206  # qemu_args is a word list on purpose
qcmd=("$qemu" $qemu_args -machine q35 -nodefaults "${accel_args[@]}" -m 512 -smp 1
      -no-reboot -display none -serial "file:$log"
      ${ledger_tool:+-serial "file:$ledger"}
      -kernel "$kernel" -initrd "$image" -append "$append"
      -drive "file=$disk,if=none,format=raw,id=d0,cache=writeback"
      -device "$dprops")
printf '%q ' "${qcmd[@]}" >"$workdir/qemu-cmdline.txt"
echo >>"$workdir/qemu-cmdline.txt"

say "scenario $scenario, accel $accel, seed $seed, disk ${disk_mb} MiB, bs $block_size, timeout ${wall_timeout}s"
say "log: $log"
t0=$(date +%s.%N)
set +e
timeout -k 10 "$wall_timeout" "${qcmd[@]}" >"$qlog" 2>&1
qrc=$?
set -e
t1=$(date +%s.%N)
wall=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }')
touch "$log"

# ---- judge ---------------------------------------------------------------------
failures=()
fail() { failures+=("$*"); }

if [[ $qrc -eq 124 || $qrc -eq 137 ]]; then
    fail "QEMU killed after the ${wall_timeout}s wall-clock bound (guest hung?)"
elif [[ $qrc -ne 0 ]]; then
    fail "QEMU exited with status $qrc: $(tail -n 3 "$qlog" | tr '\n' ' ')"
fi
grep -q '^GAUNTLET-BOOTED' "$log" || fail "the guest never reached init (no GAUNTLET-BOOTED)"
grep -q '^GAUNTLET-MODULE: kestrel loaded' "$log" || fail "kestrel.ko was not loaded"
grep -q '^GAUNTLET-DEVICE: /dev/kestrel0 present' "$log" ||
    fail "the driver did not bind: no /dev/kestrel0"
while read -r line; do
    fail "guest step failed: ${line#GAUNTLET-STEP: }"
done < <(grep -a '^GAUNTLET-STEP: .* fail' "$log" | grep -v 'selftest-ioctl' || true)
case "$scenario" in
stress)
    grep -q '^GAUNTLET-STEP: stress pass' "$log" || fail "kestrelctl stress --verify did not pass"
    grep -q '^GAUNTLET-STEP: reread-pattern pass' "$log" || fail "pattern re-read did not pass"
    ;;
ioctl)
    grep -q '^GAUNTLET-STEP: selftest-ioctl pass' "$log" || fail "kestrelctl selftest-ioctl did not pass"
    ;;
fuzzioctl)
    grep -q '^GAUNTLET-STEP: fuzz-ioctl pass' "$log" || fail "kestrelctl fuzz-ioctl did not pass"
    grep -q '^GAUNTLET-STEP: reread-pattern pass' "$log" || fail "pattern re-read did not pass"
    ;;
esac
grep -q '^GAUNTLET-RESULT: pass 0' "$log" ||
    fail "no 'GAUNTLET-RESULT: pass 0' ($(grep -a '^GAUNTLET-RESULT' "$log" || echo 'no result line'))"

# Kernel trouble anywhere in the log (the echoed command line excluded).
bad_re='BUG:|WARNING:|Oops|general protection|KASAN|UBSAN|lockdep|possible circular locking|hung_task|blocked for more than|rcu_sched|rcu_preempt|rcu: INFO|detected stalls|soft lockup|hard LOCKUP|Kernel panic|Call Trace:|refcount_t:|list_add corruption|list_del corruption|double free|use-after-free'
if bad="$(grep -a -n -E "$bad_re" "$log" | grep -a -v -i -E 'command line:|gauntlet-init: running' | head -n 20)" && [[ -n "$bad" ]]; then
    fail "kernel log has warnings/errors:"$'\n'"$bad"
fi

# The host's view of what the guest wrote (and of what it only read).
host_check=""
if [[ "$scenario" == stress || "$scenario" == fuzzioctl ]]; then
    if ! out="$("$host_tool" verify "$disk" --lba "$pat_lba" --blocks "$pat_blocks" \
            --pattern seq --seed "$pat_seed" --block-size "$block_size" 2>&1)"; then
        fail "backing file does not hold the guest's pattern (lba $pat_lba+$pat_blocks seq seed $pat_seed):"$'\n'"$(echo "$out" | head -n 12)"
    fi
    host_check="$(echo "$out" | grep -a ': verify lba' | tail -n 1)"
    if ! out="$("$host_tool" verify "$disk" --lba "$host_lba" --blocks "$host_blocks" \
            --pattern random --seed "$host_seed" --block-size "$block_size" 2>&1)"; then
        fail "the host-written region changed (lba $host_lba+$host_blocks):"$'\n'"$(echo "$out" | head -n 12)"
    fi
fi

# The write ledger: the backing file holds every acknowledged write, and the
# check is not blind (the last W record's first block zeroed in a copy).
ledger_check=""
if [[ -n "$ledger_tool" ]]; then
    if ! out="$("$ledger_tool" check "$ledger" --map /dev/kestrel0="$disk" --json "$workdir/ledger.json" 2>&1)"; then
        fail "the ledger check failed:"$'\n'"$(echo "$out" | head -n 12)"
    elif ! grep -q '"writes_checked":[1-9]' "$workdir/ledger.json"; then
        fail "the ledger check held no acknowledged write: $out"
    else
        ledger_check="$(echo "$out" | tail -n 1)"
        last=$(awk '$1 == "W" { l = $5 } END { print l }' "$ledger")
        cp --sparse=always "$disk" "$workdir/zeroed.img"
        dd if=/dev/zero of="$workdir/zeroed.img" bs="$block_size" seek="$last" count=1 conv=notrunc 2>/dev/null
        rc=0; out="$("$ledger_tool" check "$ledger" --map /dev/kestrel0="$workdir/zeroed.img" 2>&1)" || rc=$?
        [[ $rc == 1 ]] && grep -q "VIOLATION lost .* lba $last (device /dev/kestrel0)" <<<"$out" ||
            fail "the ledger check missed a zeroed block (lba $last, status $rc): $(echo "$out" | head -n 3)"
        rm -f "$workdir/zeroed.img"
    fi
fi

# ---- report ---------------------------------------------------------------------
booted="$(grep -a -m1 '^GAUNTLET-BOOTED' "$log" | sed -n 's/.*uptime=//p')"
{
    echo "scenario=$scenario accel=$accel seed=$seed wall=${wall}s guest_uptime_at_init=${booted:-?}s qemu_rc=$qrc"
    grep -a -E '^stress: |^selftest-ioctl: [0-9]|^fuzz-ioctl: |^GAUNTLET-STEP: |^GAUNTLET-RESULT' "$log" || true
    [[ -n "$host_check" ]] && echo "host: $host_check"
    [[ -n "$ledger_check" ]] && echo "host: $ledger_check"
    echo "kernel lines mentioning kestrel:"
    grep -a -i 'kestrel' "$log" | grep -a '^\[' | grep -a -v -i 'command line' | head -n 15 || true
} >"$result"
cat "$result"
grep -a '^FAIL ' "$log" | head -n 20 | sed 's/^/selftest-ioctl: /' || true

if [[ ${#failures[@]} -gt 0 ]]; then
    echo "----- last 60 lines of $log -----"
    tail -n 60 "$log"
    echo "-----"
    for f in "${failures[@]}"; do echo "boot-stress: FAIL: $f"; done
    echo "boot-stress: artifacts kept in $workdir"
    exit 1
fi
rm -f "$disk"
say "PASS (${wall}s)"
