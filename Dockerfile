# The shop's image: the static binary alone on an empty base, run as an
# unprivileged user. Two ways to build it:
#
#   docker build -t shop .     from source, in golang:1.26 (the default target, runtime)
#   make image                 with podman, from the binary the local Go builds
#                              (target runtime-local: no base image is pulled)
#
# Settings are environment variables (shop config lists them); the image sets
# only the listeners. Ports: 8080 public, 9090 operators' (/metrics, /healthz,
# /readyz), 8081 internal (a split process sets SHOP_HTTP_INTERNAL_ADDR=:8081).

FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /rootfs/shop ./cmd/shop \
	&& sh .deploy/image/rootfs.sh /rootfs

# What both runtime images share: no files yet, the user, ports and command.
FROM scratch AS runtime-base
USER 65532:65532
ENV SHOP_HTTP_ADDR=:8080 SHOP_HTTP_OPS_ADDR=:9090
EXPOSE 8080 8081 9090
ENTRYPOINT ["/shop"]
CMD ["serve"]

# make image: bin/image holds the binary and .deploy/image/rootfs.sh's files.
FROM runtime-base AS runtime-local
COPY bin/image/ /

FROM runtime-base AS runtime
COPY --from=build /rootfs/ /
