#!/usr/bin/env bash
# A base image for `make image` without a container registry: Debian bookworm from the Debian
# archive (debootstrap), whose python3 is 3.11 like python:3.11-slim's, imported into Docker.
# The root file system is kept as a tarball in the cache, so it is debootstrapped once per
# machine and a fresh Docker engine imports it in seconds. Prints the image's tag.
set -euo pipefail
tag=${BASE_TAG:-toxic-mlops/python:3.11-bookworm}
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
cache=${XDG_CACHE_HOME:-$HOME/.cache}/toxic-mlops
# Change the name when the recipe below changes, so no stale tarball is imported.
tarball=$cache/base-bookworm-python3-v1.tar

if docker image inspect "$tag" >/dev/null 2>&1; then
    echo "$tag"
    exit 0
fi
if [ ! -s "$tarball" ]; then
    if ! command -v debootstrap >/dev/null || [ "$(id -u)" -ne 0 ]; then
        echo "base: building the base needs root and debootstrap (make install as root installs it)," \
            "or use a registry's image: BASE_IMAGE=python:3.11-slim" >&2
        exit 1
    fi
    root=$(mktemp -d)
    trap 'rm -rf "$root"' EXIT
    # python3-venv: ensurepip, which the Dockerfile's `python3 -m venv` needs on Debian.
    debootstrap --variant=minbase --include=python3,python3-venv bookworm "$root" "$mirror" >&2
    # What no layer should carry: downloaded packages, package lists, documentation, translations.
    rm -rf "$root"/var/cache/apt/* "$root"/var/lib/apt/lists/* \
        "$root"/usr/share/doc/* "$root"/usr/share/man/* "$root"/usr/share/info/* \
        "$root"/usr/share/locale/*
    mkdir -p "$cache"
    tar --numeric-owner -C "$root" -cf "$tarball.part" .
    mv "$tarball.part" "$tarball"
fi
# An imported image has no environment: give it python:3.11-slim's PATH and LANG.
docker import \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'ENV LANG=C.UTF-8' \
    --change 'CMD ["python3"]' \
    "$tarball" "$tag" >/dev/null
echo "$tag"
