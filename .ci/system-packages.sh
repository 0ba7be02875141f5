#!/usr/bin/env bash
# Debian packages the project runs besides Python: nginx (serve-public, tests/e2e/test_proxy.py),
# a Java 17 runtime (Spark: batch_score, tests/e2e/test_batch_score.py), PostgreSQL (make
# stack-up, tests/e2e/test_stack.py), chromium (the page's browser test; Playwright drives it
# with executable_path, so `playwright install`, a download from a CDN, is never needed), and
# Docker with debootstrap (make image without a container registry, tests/e2e/test_image.py).
# Installs only what is missing; without apt-get (or root) it says what to install and carries
# on: those tests skip (under .ci/run the browser and image tests fail instead).
set -euo pipefail
missing=()
command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || missing+=(nginx-light)
command -v java >/dev/null || missing+=(openjdk-17-jre-headless)
command -v initdb >/dev/null || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 \
    || missing+=(postgresql)
[ -x /usr/bin/chromium ] || missing+=(chromium)
command -v dockerd >/dev/null || [ -x /usr/sbin/dockerd ] || missing+=(docker.io)
command -v debootstrap >/dev/null || [ -x /usr/sbin/debootstrap ] || missing+=(debootstrap)
[ ${#missing[@]} -eq 0 ] && exit 0
if ! command -v apt-get >/dev/null; then
    echo "system-packages: please install ${missing[*]}; their tests will skip" >&2
    exit 0
fi
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo -n"
for attempt in 1 2 3 4 5; do  # the dpkg lock may be busy for a while on a fresh machine
    if $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        "${missing[@]}"; then
        exit 0
    fi
    [ "$attempt" -eq 1 ] && { $sudo apt-get update || true; }
    sleep 10
done
echo "system-packages: could not install ${missing[*]}; their tests will skip" >&2
