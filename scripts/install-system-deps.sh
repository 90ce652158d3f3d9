#!/usr/bin/env bash
# System packages the test suite drives for real (Debian/Ubuntu, as root): OpenSSH server,
# Docker Engine (test dockerds and systemd test hosts), debootstrap (test-host image),
# sshfs + fuse3 (moor mount), Chromium (renderer e2e), openssl (certificate checks), iproute2/iptables (test networks),
# secret-tool + gnome-keyring + dbus-daemon (the OS keychain adapter, on a private session bus),
# moto_server (the EC2 emulator of the amazonec2 tests, from PyPI).
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
packages=(
  openssh-server openssh-client rsync # rsync: `moor scp --delta`
  sshfs fuse3 # `moor mount` (test/integration/mount.test.ts mounts for real through /dev/fuse)
  docker.io
  debootstrap
  chromium xvfb
  openssl iproute2 iptables procps
  valgrind # bench/cli-instructions.mjs: start-up measured in instructions, not wall time
  libsecret-tools gnome-keyring dbus-daemon # DigitalOcean token in a real Secret Service keyring
  qemu-system-x86 qemu-utils # the qemu driver's e2e (test/integration/qemu.test.ts)
  # The e2e's bootable test image (test/vm-image/build-image.sh): MBR + syslinux on a FAT /boot, filled
  # with mtools, partitioned with sfdisk; no loop devices or mounts needed.
  syslinux syslinux-common mtools dosfstools fdisk e2fsprogs
  python3 python3-venv                      # moto_server (below)
)
apt-get update -q
apt-get install -y -q "${packages[@]}"

# moto_server for test/integration/amazonec2*.test.ts and test/unit/amazonec2-driver.test.ts
# (test/emulators/ec2/moto.ts finds it on PATH, as $MOTO_SERVER or in pyenv's shims).
if ! command -v moto_server >/dev/null 2>&1 && [ ! -x /root/.pyenv/shims/moto_server ]; then
  python3 -m venv /opt/moto
  /opt/moto/bin/pip install -q 'moto[server]'
  ln -sf /opt/moto/bin/moto_server /usr/local/bin/moto_server
fi
