#!/usr/bin/env bash
# System packages sharemount's tests and demo use, installed only when missing (idempotent):
#   uidmap      newuidmap/newgidmap: user namespaces that play unprivileged LXC containers
#   acl         getfacl/setfacl for inspecting volumes
#   chromium    the Web UI browser test (driven by playwright-core)
#   moto        AWS EFS/EC2/SSM over HTTP for the tests (PyPI: moto[server])
#   gcc, libc6-dev  build the x86_64 prebuilt walk helper (statically linked)
#   gcc-aarch64-linux-gnu, libc6-dev-arm64-cross  build the arm64 prebuilt walk helper (statically linked)
#   qemu-user-static  runs the arm64 helper in the tests (qemu-aarch64-static <binary>; no binfmt needed)
#   shellcheck  checks every generated EFS step script (test/safety/step-scripts-shellcheck.test.ts)
#   bindfs      the stand-in mount.efs plays an EFS access point's POSIX identity over FUSE (test/integration/efs-identity.test.ts)
set -euo pipefail
need=()
command -v newuidmap >/dev/null || need+=(uidmap)
command -v setfacl >/dev/null || need+=(acl)
command -v chromium >/dev/null || need+=(chromium)
command -v shellcheck >/dev/null || need+=(shellcheck)
command -v bindfs >/dev/null || need+=(bindfs)
command -v nsenter >/dev/null || need+=(util-linux)
command -v python3 >/dev/null || need+=(python3 python3-pip)
command -v gcc >/dev/null || need+=(gcc)
[ -e /usr/lib/x86_64-linux-gnu/libc.a ] || [ "$(uname -m)" != x86_64 ] || need+=(libc6-dev)
command -v aarch64-linux-gnu-gcc >/dev/null || need+=(gcc-aarch64-linux-gnu)
[ -e /usr/aarch64-linux-gnu/lib/libc.a ] || need+=(libc6-dev-arm64-cross)
command -v qemu-aarch64-static >/dev/null || need+=(qemu-user-static)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "install-system-deps: missing ${need[*]}; run as root or install them with your package manager" >&2
    exit 1
  fi
  echo "install-system-deps: installing ${need[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
if ! command -v moto_server >/dev/null; then
  echo "install-system-deps: installing moto[server] from PyPI"
  python3 -m pip install --quiet "moto[server]==5.2.1" || python3 -m pip install --quiet --break-system-packages "moto[server]==5.2.1"
fi
# Unprivileged containers map root to 100000..165535; the user-namespace tests need root allowed to map it.
for f in /etc/subuid /etc/subgid; do
  grep -qx 'root:100000:65536' "$f" 2>/dev/null || echo 'root:100000:65536' >> "$f"
done
echo "install-system-deps: ok"
