#!/usr/bin/env bash
# A Docker engine for `make image` and its test on a machine that has one installed but not
# running (Debian's docker.io without systemd, as on the project's CI machines).
#   dockerd.sh start  starts dockerd when no engine answers, records its PID; prints "started PID"
#                     or "running" (someone else's engine: never stopped by this script)
#   dockerd.sh stop   stops the dockerd that `start` recorded, by that PID, and waits for it
set -euo pipefail
state=${XDG_CACHE_HOME:-$HOME/.cache}/toxic-mlops/dockerd
pidfile=$state/pid

case ${1:-} in
start)
    if docker version --format '{{.Server.Version}}' >/dev/null 2>&1; then
        echo running
        exit 0
    fi
    if ! command -v dockerd >/dev/null; then
        echo "dockerd: no Docker engine; install one (Debian: apt-get install docker.io, or make install as root)" >&2
        exit 1
    fi
    if [ "$(id -u)" -ne 0 ]; then
        echo "dockerd: no Docker engine answers and starting one needs root (sudo $0 start)" >&2
        exit 1
    fi
    mkdir -p "$state"
    # Its own session: the engine outlives the shell or test that started it until `stop`.
    setsid dockerd >"$state/log" 2>&1 </dev/null &
    echo $! >"$pidfile"
    for _ in $(seq 60); do
        if docker version --format '{{.Server.Version}}' >/dev/null 2>&1; then
            echo "started $(cat "$pidfile")"
            exit 0
        fi
        if ! kill -0 "$(cat "$pidfile")" 2>/dev/null; then
            break
        fi
        sleep 0.5
    done
    echo "dockerd: did not come up; its log ($state/log) ends with:" >&2
    tail -5 "$state/log" >&2
    exit 1
    ;;
stop)
    [ -f "$pidfile" ] || exit 0
    pid=$(cat "$pidfile")
    # A stale file must not stop whatever process has reused the PID since.
    if [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = dockerd ]; then
        kill "$pid"
        # dockerd stops its containers first (10 s each at most).
        for _ in $(seq 60); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.5
        done
        if kill -0 "$pid" 2>/dev/null; then
            echo "dockerd: PID $pid still runs 30 s after SIGTERM" >&2
            exit 1
        fi
    fi
    rm -f "$pidfile"
    ;;
*)
    echo "usage: $0 start|stop" >&2
    exit 2
    ;;
esac
