#!/bin/sh
# Builds the bootable test VM image of the qemu e2e (a small Debian "genericcloud" look-alike), one
# stage at a time; called by test/vm-image/index.ts, which caches the results by recipe hash:
#   build-image.sh rootfs DIR MIRROR   debootstrap bookworm + cloud kernel + cloud-init + docker.io (network)
#   build-image.sh configure DIR       tune it like a cloud image: NoCloud only, trimmed modules (no network)
#   build-image.sh disk DIR WORK OUT   raw disk (MBR + syslinux on FAT /boot + ext4 root) -> qcow2 OUT
# No loop devices and no mounts of the image: the FAT partition is filled with mtools, the ext4 one
# by `mkfs.ext4 -d`, and the two are copied into the partitioned raw file with dd.
set -eu
stage=$1
dir=$2

PACKAGES=systemd,systemd-sysv,dbus,openssh-server,sudo,iproute2,ca-certificates,procps,netbase,less
# Installed by apt in the chroot (debootstrap resolves alternatives poorly); no recommends.
APT_PACKAGES="linux-image-cloud-amd64 initramfs-tools cloud-init cloud-guest-utils e2fsprogs docker.io"

in_root() { chroot "$dir" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin DEBIAN_FRONTEND=noninteractive "$@"; }
mask() { for unit in "$@"; do ln -sf /dev/null "$dir/etc/systemd/system/$unit"; done; }

case $stage in
rootfs)
  mirror=$3
  debootstrap --variant=minbase --include="$PACKAGES" bookworm "$dir" "$mirror"
  printf '#!/bin/sh\nexit 101\n' >"$dir/usr/sbin/policy-rc.d"
  chmod 755 "$dir/usr/sbin/policy-rc.d"
  cp /etc/resolv.conf "$dir/etc/resolv.conf"
  mount -t proc proc "$dir/proc"
  trap 'umount "$dir/proc" 2>/dev/null || true' EXIT
  in_root apt-get update -qq
  # shellcheck disable=SC2086
  in_root apt-get install -y -qq --no-install-recommends $APT_PACKAGES >/dev/null
  umount "$dir/proc"
  trap - EXIT
  rm -f "$dir/usr/sbin/policy-rc.d"
  rm -rf "$dir"/var/lib/apt/lists/* "$dir"/var/cache/apt/*.bin "$dir"/var/cache/apt/archives/*.deb
  ;;
configure)
  echo moor-vm >"$dir/etc/hostname"
  : >"$dir/etc/machine-id"
  rm -f "$dir/var/lib/dbus/machine-id" "$dir"/etc/ssh/ssh_host_*
  printf '/dev/vda2\t/\text4\terrors=remount-ro\t0\t1\n' >"$dir/etc/fstab"
  # QEMU user networking: DHCP from 10.0.2.2, DNS at 10.0.2.3.
  mkdir -p "$dir/etc/systemd/network"
  printf '[Match]\nName=en* eth*\n\n[Network]\nDHCP=ipv4\n' >"$dir/etc/systemd/network/20-dhcp.network"
  ln -sf /lib/systemd/system/systemd-networkd.service \
    "$dir/etc/systemd/system/multi-user.target.wants/systemd-networkd.service"
  printf 'nameserver 10.0.2.3\n' >"$dir/etc/resolv.conf"
  # Tuned cloud-init (untuned it took ~106 s under TCG): NoCloud only, no network rendering, an
  # ed25519 host key only, only the modules a Docker host needs.
  cat >"$dir/etc/cloud/cloud.cfg.d/99-moor-test.cfg" <<'CFG'
datasource_list: [NoCloud, None]
network: {config: disabled}
ssh_genkeytypes: [ed25519]
ssh_deletekeys: true
disable_root: true
cloud_init_modules: [seed_random, growpart, resizefs, set_hostname, update_hostname, update_etc_hosts, users_groups, ssh]
cloud_config_modules: [runcmd]
cloud_final_modules: [scripts_user, final_message]
CFG
  rm -f "$dir/etc/cloud/cloud.cfg.d/90_dpkg.cfg"
  # Timers and services that only cost boot time (or grab the dpkg lock) in a throwaway VM.
  mask apt-daily.timer apt-daily-upgrade.timer e2scrub_all.timer e2scrub_reap.service fstrim.timer \
    systemd-networkd-wait-online.service man-db.timer modprobe@drm.service modprobe@dm_mod.service \
    modprobe@efi_pstore.service modprobe@fuse.service modprobe@loop.service systemd-pstore.service
  ln -sf /lib/systemd/system/multi-user.target "$dir/etc/systemd/system/default.target"
  rm -rf "$dir"/var/log/*.log "$dir"/var/log/apt/* "$dir"/tmp/* "$dir"/root/.ssh "$dir"/var/lib/docker/*
  rm -rf "$dir"/var/lib/cloud/*
  ;;
disk)
  work=$3
  out=$4
  kernel=$(ls "$dir"/boot/vmlinuz-* | sort -V | tail -n1)
  initrd=$(ls "$dir"/boot/initrd.img-* | sort -V | tail -n1)
  fat_mib=128
  root_mib=2560
  mkfs.fat -C -n MOORBOOT "$work/boot.fat" $((fat_mib * 1024)) >/dev/null
  syslinux --install "$work/boot.fat"
  # apparmor=0: the kernel enables AppArmor, the image has no apparmor_parser (no recommends), and
  # dockerd then refuses every `docker run` (the docker-default profile cannot be loaded).
  cat >"$work/syslinux.cfg" <<'CFG'
DEFAULT linux
PROMPT 0
TIMEOUT 0
LABEL linux
  KERNEL /vmlinuz
  INITRD /initrd.img
  APPEND root=/dev/vda2 rw console=ttyS0 mitigations=off apparmor=0
CFG
  mcopy -i "$work/boot.fat" "$kernel" ::/vmlinuz
  mcopy -i "$work/boot.fat" "$initrd" ::/initrd.img
  mcopy -i "$work/boot.fat" "$work/syslinux.cfg" ::/syslinux.cfg
  mkfs.ext4 -q -L moor-root -d "$dir" "$work/root.ext4" "${root_mib}M"
  raw=$work/disk.raw
  truncate -s $((1 + fat_mib + root_mib))M "$raw"
  printf 'label: dos\nstart=2048, size=%s, type=c, bootable\nstart=%s, type=83\n' \
    $((fat_mib * 2048)) $((2048 + fat_mib * 2048)) | sfdisk -q "$raw"
  dd if="$work/boot.fat" of="$raw" bs=1M seek=1 conv=notrunc status=none
  dd if="$work/root.ext4" of="$raw" bs=1M seek=$((1 + fat_mib)) conv=notrunc status=none
  dd if=/usr/lib/syslinux/mbr/mbr.bin of="$raw" bs=440 count=1 conv=notrunc status=none
  qemu-img convert -O qcow2 "$raw" "$out"
  ;;
*)
  echo "unknown stage $stage" >&2
  exit 2
  ;;
esac
