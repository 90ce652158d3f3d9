#!/usr/bin/env bash
# System packages the test suite drives for real (Debian/Ubuntu, as root): OpenSSH server,
# Docker Engine (test dockerds and systemd test hosts), debootstrap (test-host image),
# Chromium (renderer e2e), openssl (certificate checks), iproute2/iptables (test networks),
# secret-tool + gnome-keyring + dbus-daemon (the OS keychain adapter, on a private session bus).
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
packages=(
  openssh-server openssh-client rsync # rsync: `moor scp --delta`
  docker.io
  debootstrap
  chromium xvfb
  openssl iproute2 iptables procps
  libsecret-tools gnome-keyring dbus-daemon # DigitalOcean token in a real Secret Service keyring
)
apt-get update -q
apt-get install -y -q "${packages[@]}"
