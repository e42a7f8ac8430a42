#!/bin/busybox sh
# /init of the ipvs-vm initramfs (busybox only). Runs as PID 1 in the guest.
# Adapted from the measured recipe in shared/reference/ipvs-vm (kernel-testbed.md §B).
# Kernel command line parameters it understands:
#   ivm.script=/abs/path   script on the HOST filesystem to run in the guest (chrooted into the
#                          read-only 9p view of the host's /); no value -> interactive shell
#   ivm.out=/abs/path      host directory shared read-write as 9p tag "ivmout"; mounted at the
#                          same path inside the chroot, so the script writes results there
#   ivm.cwd=/abs/path      working directory for the script (default /)
/bin/busybox --install -s /bin
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
echo "IVM: init start uptime=$(cut -d' ' -f1 /proc/uptime)"

while read -r m; do insmod "$m" 2>/dev/null; done < /modules.order
echo "IVM: modules loaded uptime=$(cut -d' ' -f1 /proc/uptime)"

script=; out=; cwd=/
for a in $(cat /proc/cmdline); do
  case "$a" in
    ivm.script=*) script=${a#ivm.script=} ;;
    ivm.out=*) out=${a#ivm.out=} ;;
    ivm.cwd=*) cwd=${a#ivm.cwd=} ;;
  esac
done
msize=$(cat /etc/ivm-msize 2>/dev/null || echo 524288)

R=/mnt/host
mkdir -p /mnt/ro /mnt/rw $R
# read-only view of the host's root; cache=loose is safe because nothing changes it during the run
mount -t 9p -o trans=virtio,version=9p2000.L,ro,msize=$msize,cache=loose hostroot /mnt/ro || {
  echo "IVM: 9p mount failed"; poweroff -f; }
# writable root for the guest: overlay of the 9p view with a tmpfs upper layer (writes stay in
# guest RAM, the host is never modified); fall back to the plain read-only view
mount -t tmpfs -o mode=755 tmpfs /mnt/rw && mkdir -p /mnt/rw/upper /mnt/rw/work
if ! mount -t overlay -o lowerdir=/mnt/ro,upperdir=/mnt/rw/upper,workdir=/mnt/rw/work overlay $R 2>/dev/null; then
  echo "IVM: overlay failed, using read-only root + tmpfs /tmp"
  mount --bind /mnt/ro $R
  mount -t tmpfs -o mode=1777 tmpfs $R/tmp
fi
mount -t proc proc $R/proc
mount -t sysfs sysfs $R/sys
mount -t devtmpfs devtmpfs $R/dev
mkdir -p /dev/pts /dev/shm; mount -t devpts devpts $R/dev/pts 2>/dev/null
mount -t tmpfs tmpfs $R/dev/shm
# devtmpfs has no /dev/fd, /dev/stdin…: tools reading "-" as /dev/stdin (conntrack -R -) need them
ln -sf /proc/self/fd $R/dev/fd; ln -sf /proc/self/fd/0 $R/dev/stdin
ln -sf /proc/self/fd/1 $R/dev/stdout; ln -sf /proc/self/fd/2 $R/dev/stderr
# fresh /run (the host's /run/netns/* must not show up as guest namespaces)
mount -t tmpfs -o mode=755 tmpfs $R/run
mkdir -p $R/run/netns $R/run/lock
if [ -n "$out" ]; then
  mount -t 9p -o trans=virtio,version=9p2000.L,msize=$msize ivmout "$R$out" || echo "IVM: out mount failed"
fi
# kernel module auto-loading -> host's kmod against host's /lib/modules/<guest KVER>
cat > /sbin/ivm-modprobe <<EOF
#!/bin/sh
exec /bin/chroot $R /sbin/modprobe "\$@"
EOF
chmod +x /sbin/ivm-modprobe
echo /sbin/ivm-modprobe > /proc/sys/kernel/modprobe
ip link set lo up
# the chroot gets /etc etc. from the host; hostname is cosmetic
hostname ivm

echo "IVM: ready uptime=$(cut -d' ' -f1 /proc/uptime)"
if [ -n "$script" ]; then
  chroot $R /usr/bin/env -i PATH=$PATH HOME=/tmp TERM=dumb IVM=1 IVM_OUT="$out" \
    /bin/sh -c "[ -r '$out/ivm-env.sh' ] && . '$out/ivm-env.sh'; cd '$cwd' && exec /bin/bash '$script'" < /dev/console > /dev/console 2>&1
  rc=$?
  [ -n "$out" ] && echo $rc > "$R$out/ivm-exit-code"
  echo "IVM: exit=$rc uptime=$(cut -d' ' -f1 /proc/uptime)"
  sync
else
  echo "IVM: interactive shell (host root at $R; 'chroot $R bash' for host tools; exit to power off)"
  setsid cttyhack sh
fi
poweroff -f
