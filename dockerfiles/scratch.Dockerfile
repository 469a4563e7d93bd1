# The image gobuildx builds for every Linux target: two stages, nothing pulled.
#
# Build context (gobuildx stages it; by hand, make it yourself):
#   rootfs/usr/local/bin/app                      the binary, exactly as built (static,
#                                                 or with its loader and libs under rootfs/lib/)
#   rootfs/etc/ssl/certs/ca-certificates.crt      CA certificates
#   rootfs/usr/share/zoneinfo/...                 time zones
#   rootfs/etc/passwd, rootfs/etc/group           root + one non-root user (uid 65532)
#   rootfs/tmp/                                   empty, mode 1777
#   rootfs/home/nonroot/                          the user's home (owned by UID)
#
# By hand, one platform per build (no base image, so no emulation is needed):
#   docker build --platform linux/arm64 -f dockerfiles/scratch.Dockerfile -t app:arm64 ctx/
#
# gobuildx replaces the ENTRYPOINT path with /usr/local/bin/<binary> and passes
# UID, labels and --platform itself.

# Stage 1: assemble the root file system from the staged context; the user's home is theirs.
FROM scratch AS rootfs
COPY rootfs/ /
ARG UID=65532
COPY --chown=${UID}:${UID} rootfs/home/ /home/

# Stage 2: the image: scratch plus exactly that file system, run as the non-root user.
FROM scratch
COPY --from=rootfs / /
ARG UID=65532
USER ${UID}:${UID}
ENTRYPOINT ["/usr/local/bin/app"]
