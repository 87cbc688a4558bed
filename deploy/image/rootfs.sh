#!/bin/sh
# rootfs.sh BINARY DIR: the root file system of the eks-cilium-doctor image in
# DIR, for a `FROM scratch` stage: the binary, the shared libraries it loads
# (as ldd lists them, at the same paths), the CA bundle that rustls' native
# roots read, /etc/passwd and /etc/group naming UID/GID 65532 (nonroot), and
# an empty /tmp (the chart mounts an emptyDir there; the root stays
# read-only). The Dockerfile's build stage runs it; so does the image test.
set -eu
binary=$1
root=$2
mkdir -p "$root/usr/local/bin" "$root/etc/ssl/certs" "$root/tmp"
chmod 1777 "$root/tmp"
cp "$binary" "$root/usr/local/bin/eks-cilium-doctor"
chmod 0755 "$root/usr/local/bin/eks-cilium-doctor"
# Each library ldd resolves (`name => /path (addr)`), and the loader (`/path (addr)`).
ldd "$binary" | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }' |
  while read -r lib; do
    mkdir -p "$root$(dirname "$lib")"
    cp -L "$lib" "$root$lib"
  done
cp -L /etc/ssl/certs/ca-certificates.crt "$root/etc/ssl/certs/ca-certificates.crt"
printf 'nonroot:x:65532:65532:nonroot:/tmp:/sbin/nologin\n' >"$root/etc/passwd"
printf 'nonroot:x:65532:\n' >"$root/etc/group"
