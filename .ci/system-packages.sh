#!/usr/bin/env bash
# Debian packages the project runs besides Python: nginx (serve-public, tests/e2e/test_proxy.py)
# and a Java 17 runtime (Spark: batch_score, tests/e2e/test_batch_score.py). Installs only what is
# missing; without apt-get (or root) it says what to install and carries on: those tests skip.
set -euo pipefail
missing=()
command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || missing+=(nginx-light)
command -v java >/dev/null || missing+=(openjdk-17-jre-headless)
[ ${#missing[@]} -eq 0 ] && exit 0
if ! command -v apt-get >/dev/null; then
    echo "system-packages: please install ${missing[*]} (nginx, Java 17); their tests will skip" >&2
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
