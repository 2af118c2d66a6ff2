# kt — AI governance sidecar. Multi-stage build on Debian 13 (trixie): llhttp 9.2 (libllhttp-dev),
# mbedTLS 3.6 LTS with TLS 1.3.
#
#   docker build -t kt:0.1.0 .
#   docker run --rm -p 41002:41002 -v "$PWD/examples/compose/shared:/etc/keeptrusts:ro" \
#       -e OPENAI_API_KEY kt:0.1.0 gateway run --listen 0.0.0.0:41002
#
# No container engine runs on the project's machines; `make debian13` (mk/debian13.sh, part of CI)
# repeats this build stage's steps in a debootstrapped trixie root and runs the unit tests there.
# Runtime stage size: see docs/deploy.md ("Image").

# ---- build: the project's own `make`; its configure step installs the -dev packages (root here) --
FROM debian:trixie AS build
ARG KT_GIT_REV=unknown
ENV DEBIAN_FRONTEND=noninteractive
RUN apt-get update \
 && apt-get install -y --no-install-recommends gcc libc6-dev make pkg-config ca-certificates \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src/kt
COPY . .
RUN make -j"$(nproc)" GIT_REV="$KT_GIT_REV" \
 && make install GIT_REV="$KT_GIT_REV" DESTDIR=/out PREFIX=/usr/local \
 && strip /out/usr/local/bin/kt \
 && /out/usr/local/bin/kt version \
 && mkdir -p /out/etc/ssl/certs /out/etc/keeptrusts \
 && cp /etc/ssl/certs/ca-certificates.crt /out/etc/ssl/certs/ca-certificates.crt

# ---- runtime: only the shared libraries kt links (ldd build/kt on trixie) and the CA bundle ------
FROM debian:trixie-slim
ENV DEBIAN_FRONTEND=noninteractive
# `kt version` below fails the build if any library is missing; mk/runtime-libs.sh (run by
# `make debian13`) checks this list against `ldd build/kt` on trixie without building an image.
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      libuv1t64 libmbedtls21 libmbedx509-7 libmbedcrypto16 libnghttp2-14 libllhttp9.2 libyaml-0-2 libpcre2-8-0 \
      libhiredis1.1.0 libcjson1 \
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/archives/* /var/log/apt /var/log/dpkg.log
# The CA bundle alone: the ca-certificates package would pull in openssl and libssl (~10 MB).
COPY --from=build /out/etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY --from=build /out/usr/local/bin/kt /usr/local/bin/kt
RUN kt version && mkdir -p /etc/keeptrusts
LABEL org.opencontainers.image.title="kt" \
      org.opencontainers.image.description="AI governance sidecar: policy checks between an app and its LLM provider" \
      org.opencontainers.image.licenses="Apache-2.0"
# A numeric non-root user, so Kubernetes' runAsNonRoot can verify it without /etc/passwd.
USER 65532:65532
# The API stays on 127.0.0.1:41002 (a sidecar's app reaches it on localhost; a shared gateway
# passes --listen 0.0.0.0:41002 and then needs gateway keys). The ops listener answers only
# /healthz, /readyz, /health and /metrics on every interface, so kubelet httpGet probes and
# Prometheus reach the pod IP; it stays on when a command overrides CMD (docs/ARCHITECTURE.md).
ENV KT_OPS_LISTEN=0.0.0.0:41003
EXPOSE 41002 41003
# Kubernetes ignores HEALTHCHECK (its probes are the real mechanism); for docker and compose this
# asks /healthz with bash's /dev/tcp — bash is already in the base image, so no curl or wget is
# added. It assumes kt listens on port 41002 (127.0.0.1 or 0.0.0.0).
HEALTHCHECK --interval=15s --timeout=5s --start-period=5s --retries=3 \
  CMD ["bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/41002 && printf 'GET /healthz HTTP/1.1\\r\\nHost: 127.0.0.1\\r\\nConnection: close\\r\\n\\r\\n' >&3 && read -r -t 4 status <&3 && [[ $status == 'HTTP/1.1 200'* ]]"]
STOPSIGNAL SIGTERM
ENTRYPOINT ["kt"]
CMD ["gateway", "run"]
