#!/bin/sh
# rootfs.sh DIR: writes into DIR the files the runtime image holds beside
# /shop: the CA certificates (TLS to PostgreSQL, NATS, SMTP) and the
# unprivileged user 65532 the image runs as.
set -eu
dir=$1
mkdir -p "$dir/etc/ssl/certs"
cp /etc/ssl/certs/ca-certificates.crt "$dir/etc/ssl/certs/ca-certificates.crt"
printf 'root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/nonexistent:/sbin/nologin\n' >"$dir/etc/passwd"
printf 'root:x:0:\nnonroot:x:65532:\n' >"$dir/etc/group"
