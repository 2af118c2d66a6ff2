#!/bin/sh
# Detects the build dependencies and, on a Debian machine where we are root, installs whatever is
# missing. Prints make variable assignments on stdout (the Makefile includes them); progress on
# stderr. Run by make itself, so `make` is all a newcomer types.
set -eu

cc_has() { printf '#include <%s>\n' "$1" | ${CC:-cc} -E -x c - >/dev/null 2>&1; }
apt_has() { apt-cache show "$1" >/dev/null 2>&1; }

need=""
cc_has uv.h || need="$need libuv1-dev"
cc_has mbedtls/ssl.h || need="$need libmbedtls-dev"
cc_has cjson/cJSON.h || need="$need libcjson-dev"
cc_has yaml.h || need="$need libyaml-dev"
cc_has hiredis/adapters/libuv.h || need="$need libhiredis-dev"   # gateway.shared_state (Redis)
printf '#define PCRE2_CODE_UNIT_WIDTH 8\n#include <pcre2.h>\n' | ${CC:-cc} -E -x c - >/dev/null 2>&1 || need="$need libpcre2-dev"
command -v pkg-config >/dev/null 2>&1 || need="$need pkg-config"
if ! cc_has llhttp.h && [ ! -f /usr/share/llhttp/llhttp.c ]; then
  # Debian 13 ships a library; Debian 12 ships only the C sources inside node-llhttp.
  if command -v apt-cache >/dev/null 2>&1 && apt_has libllhttp-dev; then need="$need libllhttp-dev"
  else need="$need node-llhttp libllhttp-dev"; fi
fi

if [ -n "$need" ]; then
  if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "configure: missing build dependencies:$need (install them, or run make as root on Debian)" >&2
    exit 1
  fi
  echo "configure: installing$need" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  pkgs=""
  for p in $need; do apt_has "$p" && pkgs="$pkgs $p"; done
  # shellcheck disable=SC2086
  apt-get install -y -qq --no-install-recommends $pkgs >&2
fi

if cc_has llhttp.h; then
  echo "LLHTTP_CFLAGS :="
  echo "LLHTTP_LIBS := -lllhttp"
  echo "LLHTTP_SRCS :="
elif [ -f /usr/share/llhttp/llhttp.c ]; then
  # Strict mode: the generated parser rejects bare LF, obs-fold and other legacy forms.
  echo "LLHTTP_CFLAGS := -I/usr/share/include/llhttp"
  echo "LLHTTP_LIBS :="
  echo "LLHTTP_SRC_CFLAGS := -DLLHTTP_STRICT_MODE=1 -w"
  echo "LLHTTP_SRCS := /usr/share/llhttp/llhttp.c /usr/share/llhttp/api.c /usr/share/llhttp/http.c"
else
  echo "configure: llhttp not found" >&2; exit 1
fi
echo "CONFIGURED := 1"
