#!/usr/bin/env bash
# Build the serving image of a registered model (docs/serving.md): its Dockerfile is beside this
# script. Settings, from the environment (the Makefile passes the first three):
#   MODEL        models:/toxic/Production   any model URI MLflow can download
#   IMAGE        toxic-serving              the tag to build
#   BASE_IMAGE   python:3.11-slim           or base.sh's image where no registry is reachable
#   TORCH_BUILD  cpu                        cu128, ...: the same torch release for that CUDA
#   TORCH_INDEX  (the model's own)          replaces the PyTorch index the model names; empty:
#                                           torch only from your pip sources (a local wheel)
# Your pip settings reach the build stage as BuildKit secrets and mounts, never a layer:
# PIP_INDEX_URL, PIP_EXTRA_INDEX_URL, PIP_TRUSTED_HOST, PIP_DEFAULT_TIMEOUT, PIP_RETRIES,
# PIP_FIND_LINKS (local folders are mounted) and PIP_CERT or SSL_CERT_FILE (a CA bundle).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
model=${MODEL:-models:/toxic/Production}
image=${IMAGE:-toxic-serving}
base_image=${BASE_IMAGE:-python:3.11-slim}
torch_build=${TORCH_BUILD:-cpu}

fail() {
    echo "image: $*" >&2
    exit 1
}

# BuildKit runs the secret mounts: a client with the buildx plugin, or one older than 23.0 where
# it is built in. Debian's docker.io installs such a client as /usr/bin/docker, which a newer
# client earlier on PATH without the plugin may hide.
docker=""
for client in "${DOCKER:-docker}" /usr/bin/docker; do
    command -v "$client" >/dev/null || continue
    version=$("$client" version --format '{{.Client.Version}}' 2>/dev/null || true)
    if "$client" buildx version >/dev/null 2>&1 || [ "${version%%.*}" -lt 23 ] 2>/dev/null; then
        docker=$client
        break
    fi
done
[ -n "$docker" ] || fail "no docker client with BuildKit: install Docker (Debian: apt-get install" \
    "docker.io) or the buildx plugin"
"$docker" info >/dev/null 2>&1 || fail "no Docker engine answers; start one (as root:" \
    "$here/dockerd.sh start)"
"$docker" image inspect "$base_image" >/dev/null 2>&1 || "$docker" pull "$base_image" >/dev/null \
    || fail "no base image $base_image here nor from its registry; without a registry:" \
        "BASE_IMAGE=\$(bash $here/base.sh)"

context=$(mktemp -d)
secrets=$(mktemp -d) # outside the context: the build sees these files as secrets only
trap 'rm -rf "$context" "$secrets"' EXIT
cp "$here/Dockerfile" "$here/entrypoint.sh" "$context/"
# The CLI prints the downloaded folder on its last line.
downloaded=$(MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR=false \
    mlflow artifacts download --artifact-uri "$model" --dst-path "$context/download" | tail -n 1)
mv "$downloaded" "$context/model"

# The model's requirements, for another torch build or index when asked.
sed -e "s/^\(torch==[^;+]*\)+cpu;/\1+$torch_build;/" \
    -e "s#^\(--extra-index-url https://download.pytorch.org/whl/\)cpu\$#\1$torch_build#" \
    "$context/model/requirements.txt" >"$context/requirements.txt"
if [ -n "${TORCH_INDEX+set}" ]; then
    sed -i '/^--extra-index-url /d' "$context/requirements.txt"
    [ -z "$TORCH_INDEX" ] || PIP_EXTRA_INDEX_URL="${PIP_EXTRA_INDEX_URL:-} $TORCH_INDEX"
fi

# pip.env: sourced by /bin/sh in the build stage, each value single-quoted.
quote() { printf "'%s'" "${1//\'/\'\\\'\'}"; }
touch "$secrets/pip.env"
chmod 600 "$secrets/pip.env"
secret_args=(--secret "id=pip.env,src=$secrets/pip.env")
for name in PIP_INDEX_URL PIP_EXTRA_INDEX_URL PIP_TRUSTED_HOST PIP_DEFAULT_TIMEOUT PIP_RETRIES; do
    if [ -n "${!name:-}" ]; then
        echo "$name=$(quote "${!name}")" >>"$secrets/pip.env"
    fi
done
cert=${PIP_CERT:-${SSL_CERT_FILE:-}}
if [ -n "$cert" ] && [ -f "$cert" ]; then
    secret_args+=(--secret "id=ca,src=$cert")
    echo "PIP_CERT=/run/secrets/ca" >>"$secrets/pip.env"
fi
mkdir "$context/find-links"
links=()
for entry in ${PIP_FIND_LINKS:-}; do
    if [ -d "$entry" ]; then
        folder=$context/find-links/${#links[@]}
        # Hard links when the folder is on the same file system: no copy of large wheels.
        cp -rl "$entry" "$folder" 2>/dev/null || cp -r "$entry" "$folder"
        links+=("/run/build/find-links/${#links[@]}")
    else
        links+=("$entry")
    fi
done
if [ ${#links[@]} -gt 0 ]; then
    echo "PIP_FIND_LINKS=$(quote "${links[*]}")" >>"$secrets/pip.env"
fi

DOCKER_BUILDKIT=1 "$docker" build "${secret_args[@]}" \
    --build-arg "BASE_IMAGE=$base_image" --tag "$image" "$context"
