#!/bin/sh
# Checks that every shared library build/kt needs comes from a package the Dockerfile's runtime
# stage installs (libc6 is in every base image). The runtime stage's own `RUN kt version` would
# catch a missing one only when an image is built, which no machine of ours does; mk/debian13.sh
# runs this inside its Debian 13 root, where `ldd` sees the same libraries as the image.
set -eu
cd "$(dirname "$0")/.."
listed=$(sed -n '/^FROM debian:trixie-slim/,$p' Dockerfile | sed -n '/apt-get install/,/rm -rf/p' \
         | tr ' \\' '\n\n' | grep -E '^lib' || true)
missing=""
for lib in $(ldd build/kt | awk '$3 ~ /^\// { print $3 }'); do
  pkg=$(dpkg -S "$(readlink -f "$lib")" 2>/dev/null | head -n 1 | cut -d: -f1)
  [ -n "$pkg" ] || { echo "runtime-libs: no package owns $lib"; exit 1; }
  [ "$pkg" = libc6 ] && continue
  echo "$listed" | grep -qx "$pkg" || missing="$missing $pkg"
done
if [ -n "$missing" ]; then
  echo "runtime-libs: the Dockerfile's runtime stage lacks:$missing"
  exit 1
fi
echo "runtime-libs: every library of build/kt is installed by the runtime stage"
