#!/usr/bin/env bash
# System packages the test suite drives for real (Debian/Ubuntu, as root): OpenSSH server,
# Docker Engine (test dockerds and systemd test hosts), debootstrap (test-host image),
# Chromium (renderer e2e), openssl (certificate checks), iproute2/iptables (test networks).
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
packages=(
  openssh-server openssh-client
  docker.io
  debootstrap
  chromium xvfb
  openssl iproute2 iptables procps
)
apt-get update -q
apt-get install -y -q "${packages[@]}"
