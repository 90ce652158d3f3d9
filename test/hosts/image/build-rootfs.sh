#!/bin/sh
# Builds the root file systems of Moor's test hosts. Called by test/hosts/images.ts, one stage at a time:
#   build-rootfs.sh debootstrap DIR MIRROR   Debian bookworm minbase + systemd, sshd, ... (network: MIRROR)
#   build-rootfs.sh base DIR                 configure it as a cloud-style server (no network)
#   build-rootfs.sh docker DIR               add Debian's docker.io (network: deb.debian.org via apt)
#   build-rootfs.sh flatcar DIR              make it look like Flatcar Container Linux (no usable apt)
#   build-rootfs.sh busybox DIR              a tiny busybox rootfs for `docker run` tests (needs apt)
# The images are built from these stages by `docker import` (see images.ts); the recipe hash covers this
# file and overlay/, so editing either rebuilds the images.
set -eu
stage=$1
dir=$2
here=$(cd "$(dirname "$0")" && pwd)

PACKAGES=systemd,systemd-sysv,dbus,openssh-server,sudo,iproute2,ca-certificates,curl,procps,netbase,less

in_root() { chroot "$dir" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin DEBIAN_FRONTEND=noninteractive "$@"; }

mask() { for unit in "$@"; do ln -sf /dev/null "$dir/etc/systemd/system/$unit"; done; }

case $stage in
debootstrap)
  mirror=$3
  debootstrap --variant=minbase --include="$PACKAGES" bookworm "$dir" "$mirror"
  ;;
base)
  cp -a "$here/overlay/." "$dir/"
  # Modes do not depend on the checkout's umask or core.fileMode.
  (cd "$here/overlay" && find . -type f) | while read -r file; do
    chown root:root "$dir/$file"
    chmod 644 "$dir/$file"
  done
  chmod 755 "$dir"/usr/local/sbin/moor-testhost-*
  rm -f "$dir/etc/apt/sources.list"
  # No policy-rc.d left behind; units start normally under systemd.
  rm -f "$dir/usr/sbin/policy-rc.d"
  # Every host generates its own SSH host keys on first boot (moor-testhost-ssh-keys.service).
  rm -f "$dir"/etc/ssh/ssh_host_*
  # First-boot identity: systemd creates a machine id; docker's hostname and hosts are adopted once.
  : >"$dir/etc/machine-id"
  rm -f "$dir/var/lib/dbus/machine-id"
  echo moor-testhost-first-boot >"$dir/etc/hostname"
  printf '# moor-testhost: first boot replaces this file with docker'"'"'s\n127.0.0.1\tlocalhost\n' >"$dir/etc/hosts"
  mkdir -p "$dir/etc/systemd/system/sysinit.target.wants" "$dir/etc/systemd/system/multi-user.target.wants"
  ln -sf ../moor-testhost-etc.service "$dir/etc/systemd/system/sysinit.target.wants/moor-testhost-etc.service"
  ln -sf ../moor-testhost-ssh-keys.service \
    "$dir/etc/systemd/system/multi-user.target.wants/moor-testhost-ssh-keys.service"
  # Units that cannot work in a container (no consoles, no udev, no kernel module loading, read-only
  # /sys/kernel) and timers that would grab the dpkg lock in the middle of a test.
  mask getty.target console-getty.service getty@tty1.service serial-getty@.service \
    systemd-udevd.service systemd-udev-trigger.service systemd-udevd-control.socket \
    systemd-udevd-kernel.socket systemd-udev-settle.service systemd-modules-load.service \
    sys-kernel-config.mount sys-kernel-debug.mount sys-kernel-tracing.mount sys-fs-fuse-connections.mount \
    dev-hugepages.mount systemd-remount-fs.service systemd-firstboot.service systemd-pstore.service \
    systemd-journald-audit.socket systemd-binfmt.service proc-sys-fs-binfmt_misc.automount \
    proc-sys-fs-binfmt_misc.mount apt-daily.timer apt-daily-upgrade.timer e2scrub_all.timer \
    e2scrub_reap.service fstrim.timer systemd-hwdb-update.service
  # Like a cloud image: apt lists are fetched by whoever installs packages.
  rm -rf "$dir"/var/lib/apt/lists/* "$dir"/var/cache/apt/*.bin "$dir"/var/cache/apt/archives/*.deb
  rm -rf "$dir"/var/log/*.log "$dir"/var/log/apt/* "$dir"/tmp/* "$dir"/root/.ssh
  ;;
docker)
  # Install Debian's docker.io without starting anything (the chroot has no systemd running).
  printf '#!/bin/sh\nexit 101\n' >"$dir/usr/sbin/policy-rc.d"
  chmod 755 "$dir/usr/sbin/policy-rc.d"
  cp /etc/resolv.conf "$dir/etc/resolv.conf.moor-build"
  mount --bind "$dir/etc/resolv.conf.moor-build" "$dir/etc/resolv.conf" 2>/dev/null || cp /etc/resolv.conf "$dir/etc/resolv.conf"
  mount -t proc proc "$dir/proc"
  trap 'umount "$dir/proc" 2>/dev/null || true; umount "$dir/etc/resolv.conf" 2>/dev/null || true' EXIT
  in_root apt-get update -qq
  in_root apt-get install -y -qq docker.io >/dev/null
  umount "$dir/proc"
  umount "$dir/etc/resolv.conf" 2>/dev/null || true
  trap - EXIT
  rm -f "$dir/usr/sbin/policy-rc.d" "$dir/etc/resolv.conf.moor-build"
  rm -rf "$dir"/var/lib/apt/lists/* "$dir"/var/cache/apt/*.bin "$dir"/var/cache/apt/archives/*.deb
  rm -rf "$dir"/var/log/apt/* "$dir"/var/log/*.log "$dir"/var/lib/docker/*
  ;;
flatcar)
  rm -f "$dir/etc/os-release" "$dir/usr/lib/os-release"
  cat >"$dir/usr/lib/os-release" <<'OSR'
NAME="Flatcar Container Linux by Kinvolk"
ID=flatcar
ID_LIKE=coreos
VERSION=3975.2.2
VERSION_ID=3975.2.2
BUILD_ID=2024-10-09-2210
SYSEXT_LEVEL=1.0
PRETTY_NAME="Flatcar Container Linux by Kinvolk 3975.2.2 (Oklo)"
ANSI_COLOR="38;5;75"
HOME_URL="https://flatcar.org/"
BUG_REPORT_URL="https://issues.flatcar.org"
FLATCAR_BOARD="amd64-usr"
CPE_NAME="cpe:2.3:o:flatcar-linux:flatcar_linux:3975.2.2:*:*:*:*:*:*:*"
OSR
  ln -s ../usr/lib/os-release "$dir/etc/os-release"
  # Flatcar ships dockerd in /usr/bin and has no package manager.
  ln -sf /usr/sbin/dockerd "$dir/usr/bin/dockerd"
  rm -f "$dir"/usr/bin/apt "$dir"/usr/bin/apt-get "$dir"/usr/bin/apt-cache "$dir"/usr/bin/apt-mark \
    "$dir"/usr/bin/apt-config "$dir"/usr/bin/dpkg "$dir"/usr/bin/dpkg-query "$dir"/usr/bin/dpkg-deb
  # Flatcar's default login is `core` (uid 500) with passwordless sudo and the docker group.
  in_root groupadd -g 500 core
  in_root useradd -m -u 500 -g core -G sudo,docker -s /bin/bash core
  echo 'core ALL=(ALL) NOPASSWD: ALL' >"$dir/etc/sudoers.d/core"
  chmod 440 "$dir/etc/sudoers.d/core"
  mkdir -p "$dir/etc/moor-testhost"
  echo core >"$dir/etc/moor-testhost/key-users"
  ;;
busybox)
  work=$(mktemp -d)
  (cd "$work" && apt-get download -qq busybox-static >/dev/null)
  dpkg-deb -x "$work"/busybox-static_*.deb "$work/x"
  mkdir -p "$dir/bin" "$dir/tmp" "$dir/etc"
  cp "$work/x/bin/busybox" "$dir/bin/busybox"
  for applet in sh echo cat ls sleep true false env uname hostname id wc head; do ln -sf busybox "$dir/bin/$applet"; done
  echo 'root:x:0:0:root:/:/bin/sh' >"$dir/etc/passwd"
  rm -rf "$work"
  ;;
*)
  echo "unknown stage: $stage" >&2
  exit 2
  ;;
esac
