#!/usr/bin/env bash
# Makes a Docker engine answer on this machine, for the docker runtime's tests (issue 5).
#   - installs docker.io with apt-get when dockerd is missing (apt-get update only then);
#   - starts dockerd in the background when `docker info` does not answer;
#   - waits, bounded, until it answers.
# Idempotent: on a machine whose engine already answers it only prints the version.
# Exit 0 with an engine; exit 1 when none could be had (the docker tests then skip, saying why).
# Needs root (or sudo) to install and start the engine. Env: DOCKER_WAIT_SECONDS (default 60).
set -uo pipefail

WAIT="${DOCKER_WAIT_SECONDS:-60}"
LOG="${DOCKERD_LOG:-/tmp/dockerd.log}"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then SUDO="sudo -n"; fi
fi

say() { echo "[install-docker] $*"; }

engine_answers() { timeout 10 docker info >/dev/null 2>&1; }

if command -v docker >/dev/null 2>&1 && engine_answers; then
  say "engine already running: $(docker version --format 'server {{.Server.Version}}, API {{.Server.APIVersion}}' 2>/dev/null)"
  exit 0
fi

if ! command -v dockerd >/dev/null 2>&1 || ! command -v docker >/dev/null 2>&1; then
  if ! command -v apt-get >/dev/null 2>&1; then
    say "dockerd is not installed and there is no apt-get here: install Docker by hand"
    exit 1
  fi
  if [ "$(id -u)" -ne 0 ] && [ -z "$SUDO" ]; then
    say "dockerd is not installed and installing it needs root (or passwordless sudo)"
    exit 1
  fi
  say "installing docker.io (apt-get)…"
  export DEBIAN_FRONTEND=noninteractive
  if ! timeout 300 $SUDO apt-get update -qq || ! timeout 600 $SUDO apt-get install -y -qq --no-install-recommends docker.io >/tmp/install-docker.apt.log 2>&1; then
    say "apt-get install docker.io failed (see /tmp/install-docker.apt.log)"
    tail -n 20 /tmp/install-docker.apt.log 2>/dev/null
    exit 1
  fi
fi

if ! engine_answers; then
  if pgrep -x dockerd >/dev/null 2>&1; then
    say "dockerd is running but not answering yet; waiting"
  else
    if [ "$(id -u)" -ne 0 ] && [ -z "$SUDO" ]; then
      say "dockerd is not running and starting it needs root (or passwordless sudo)"
      exit 1
    fi
    # containerd is started by dockerd itself when none runs.
    say "starting dockerd (log: $LOG)…"
    $SUDO sh -c "nohup dockerd >'$LOG' 2>&1 &"
  fi
  deadline=$((SECONDS + WAIT))
  until engine_answers; do
    if [ "$SECONDS" -ge "$deadline" ]; then
      say "the engine did not answer within ${WAIT}s; last lines of $LOG:"
      tail -n 15 "$LOG" 2>/dev/null
      exit 1
    fi
    sleep 1
  done
fi

say "engine ready: $(docker version --format 'server {{.Server.Version}}, API {{.Server.APIVersion}}' 2>/dev/null)"
exit 0
