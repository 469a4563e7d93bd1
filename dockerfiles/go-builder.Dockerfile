# For pipelines that build inside Docker (the pattern of the seed article, chapter 5):
# a Go builder stage that runs on the BUILD machine's CPU and cross-compiles for the
# TARGET platform, then a scratch stage. No emulation is needed, even for
#   docker buildx build --platform linux/amd64,linux/arm64,linux/arm/v7 -f dockerfiles/go-builder.Dockerfile .
#
# Unlike gobuildx's own build (dockerfiles/scratch.Dockerfile), this pulls the golang
# image, so it needs a registry; gobuildx itself never uses this file.
# The article's cgo variant (`-ldflags '-extldflags "-static"'` on Alpine) only works for
# the builder's own CPU; cross cgo needs a C cross toolchain: let gobuildx build those.
ARG GO_VERSION=1.22

# Stage 1: build on $BUILDPLATFORM (native speed), for $TARGETOS/$TARGETARCH[/$TARGETVARIANT].
FROM --platform=$BUILDPLATFORM golang:${GO_VERSION} AS build
ARG TARGETOS TARGETARCH TARGETVARIANT
WORKDIR /src
COPY go.mod go.sum* ./
RUN go mod download
COPY . .
# GOARM comes from the variant (linux/arm/v7 -> 7); timetzdata embeds zoneinfo in the binary.
RUN CGO_ENABLED=0 GOOS=$TARGETOS GOARCH=$TARGETARCH GOARM=${TARGETVARIANT#v} \
    go build -trimpath -tags timetzdata -ldflags="-s -w" -o /rootfs/usr/local/bin/app . \
 && mkdir -p /rootfs/etc/ssl/certs /rootfs/tmp \
 && cp /etc/ssl/certs/ca-certificates.crt /rootfs/etc/ssl/certs/ \
 && printf 'root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n' > /rootfs/etc/passwd \
 && printf 'root:x:0:\nnonroot:x:65532:\n' > /rootfs/etc/group \
 && chmod 1777 /rootfs/tmp

# Stage 2: scratch: the binary, CA certificates, passwd/group, nothing else.
FROM scratch
COPY --from=build /rootfs/ /
USER 65532:65532
ENTRYPOINT ["/usr/local/bin/app"]
