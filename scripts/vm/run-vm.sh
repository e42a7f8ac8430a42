#!/bin/bash
# Boot the Debian kernel under QEMU (TCG) with the ipvs-vm initramfs and run a script from the
# host filesystem inside the guest, as root, chrooted into a read-only 9p view of the host's /.
#
#   run-vm.sh SCRIPT [OUTDIR]     run SCRIPT (absolute or relative host path) in the guest;
#                                 OUTDIR (created if missing) is shared read-write and mounted
#                                 at the same path in the guest ($IVM_OUT there). Exit status
#                                 is the script's.
#   run-vm.sh                     interactive guest shell on this terminal (Ctrl-a x quits)
#   IVM_PASS_ENV="A B" run-vm.sh SCRIPT   also export host variables A and B to the guest script
#
# The guest has NO network device (-nic none): all traffic stays inside the guest's own netns.
# Adapted from shared/reference/ipvs-vm (kernel-testbed.md §B); scripts/vm/run-guest-tests.mjs drives it.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/ipvs-vm.conf"
INITRD=$IVM_WORK/initramfs.cpio.gz
[ -r "$INITRD" ] && { [ "$IVM_PVH" != 1 ] || [ -r "$IVM_WORK/vmlinux-$KVER" ]; } || "$HERE/build-initramfs.sh" >&2

script=${1:-}
out=${2:-}
append="console=ttyS0 quiet loglevel=3 panic=-1 mitigations=off tsc=reliable no_timer_check cryptomgr.notests"
if [ "$IVM_MACHINE" = microvm ]; then
  # microvm has no HPET/PM timer: under TCG the kernel's PIT calibration of the TSC sometimes
  # fails and boot then hangs. The TCG guest TSC is the host's TSC, so hand its rate over.
  khz=$(awk '/^cpu MHz/ {printf "%d", $4 * 1000; exit}' /proc/cpuinfo)
  [ -n "$khz" ] && append+=" tsc_early_khz=$khz"
fi
append+=" $IVM_APPEND_EXTRA"
[ "$IVM_PVH" = 1 ] && KERNEL=$IVM_WORK/vmlinux-$KVER
qargs=(-M "$IVM_MACHINE" -accel "$IVM_ACCEL" -smp "$IVM_SMP" -m "$IVM_MEM" -nographic -no-reboot -nic none
       -kernel "$KERNEL" -initrd "$INITRD")
# 9p shares: virtio-9p-pci on pc, virtio-9p-device (mmio) on microvm
v9p() { # id path tag [ro]
  local dev=virtio-9p-pci; [ "$IVM_MACHINE" = microvm ] && dev=virtio-9p-device
  qargs+=(-fsdev "local,id=$1,path=$2,security_model=none,multidevs=remap${4:+,readonly=on}"
          -device "$dev,fsdev=$1,mount_tag=$3")
}
v9p fs0 / hostroot ro

if [ -z "$script" ]; then
  exec qemu-system-x86_64 "${qargs[@]}" -append "$append"
fi

script=$(realpath "$script")
[ -n "$out" ] || out=$(mktemp -d "${TMPDIR:-/tmp}/ivm-out.XXXXXX")
mkdir -p "$out"; out=$(realpath "$out"); rm -f "$out/ivm-exit-code" "$out/ivm-env.sh"
# environment for the guest script: the variables named in IVM_PASS_ENV (space separated)
for v in ${IVM_PASS_ENV:-}; do if [ -n "${!v+x}" ]; then printf 'export %s=%q\n' "$v" "${!v}"; fi; done > "$out/ivm-env.sh"
v9p fs1 "$out" ivmout
append+=" ivm.script=$script ivm.out=$out ivm.cwd=$(pwd)"

log=$out/console.log
t0=$EPOCHREALTIME
# console goes to stdout (prefixed with host-side elapsed seconds) and to $out/console.log
# qemu writes its pid to $out/qemu.pid: callers (scripts/vm/run-guest-tests.mjs) kill it by pid
rm -f "$out/qemu.pid"
timeout -k 5 "$IVM_TIMEOUT" qemu-system-x86_64 "${qargs[@]}" -pidfile "$out/qemu.pid" -append "$append" < /dev/null 2>&1 \
  | while IFS= read -r line; do
      line=${line%$'\r'}
      case "$line" in IVM:*)
        line="$line host_elapsed=$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN{printf "%.2f", b-a}' </dev/null)" ;;
      esac
      printf '%s\n' "$line"
    done | tee "$log"
qrc=${PIPESTATUS[0]}
if [ -r "$out/ivm-exit-code" ]; then
  rc=$(cat "$out/ivm-exit-code")
else
  echo "ivm: guest produced no exit code (qemu rc=$qrc; timeout=$IVM_TIMEOUT s)" >&2
  rc=125
fi
echo "ivm: guest exit=$rc wall=$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN{printf "%.2f", b-a}' </dev/null)s out=$out" >&2
exit "$rc"
