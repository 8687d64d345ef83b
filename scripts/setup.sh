#!/usr/bin/env bash
# Makes this machine ready to build and run sowhat: the build tools whisper.cpp needs
# (cmake, libclang for bindgen, a C++ compiler), pip for `sowhat models fetch`, and
# optionally extra tools for the tests. Installs with apt when run as root on Debian/Ubuntu;
# otherwise says exactly what to install. Sourced by scripts/example.sh and scripts/test.sh.
#   setup.sh [--test]   --test also installs ffmpeg (the opus/webm tests need it)
set -euo pipefail

want=()
command -v cmake >/dev/null 2>&1 || want+=(cmake)
command -v c++ >/dev/null 2>&1 || want+=(g++)
# libclang itself (libclang.so*, libclang-14.so*), not libclang-cpp, which bindgen cannot use
# and which some images carry without it.
if ! compgen -G '/usr/lib/llvm-*/lib/libclang.so*' >/dev/null \
   && ! compgen -G '/usr/lib/*/libclang.so*' >/dev/null \
   && ! compgen -G '/usr/lib/*/libclang-[0-9]*.so*' >/dev/null \
   && [ -z "${LIBCLANG_PATH:-}" ]; then
  want+=(libclang-dev)
fi
if ! python3 -m pip --version >/dev/null 2>&1 && ! command -v pip3 >/dev/null 2>&1; then
  want+=(python3-pip)
fi
if [ "${1:-}" = "--test" ]; then
  command -v ffmpeg >/dev/null 2>&1 || want+=(ffmpeg)
  command -v xmllint >/dev/null 2>&1 || want+=(libxml2-utils)
fi

if [ ${#want[@]} -gt 0 ]; then
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    echo "setup: installing ${want[*]} with apt-get" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${want[@]}" >/dev/null
  else
    echo "setup: sowhat needs: ${want[*]}" >&2
    echo "  Debian/Ubuntu: sudo apt-get install ${want[*]}" >&2
    echo "  macOS:         brew install cmake llvm python ffmpeg" >&2
    exit 1
  fi
fi

command -v cargo >/dev/null 2>&1 || { echo "setup: Rust is missing: install it from rustup.rs" >&2; exit 1; }
