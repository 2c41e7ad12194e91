#!/usr/bin/env bash
# Installs Prometheus from Debian's packages when it is missing, for `--prometheus auto` and the
# Prometheus tests (issue 6). The harness runs the binary itself (never the systemd unit), so the
# package's Recommends (node exporter...) are not installed.
#   - does nothing but print the version when `prometheus` and `promtool` are already on PATH;
#   - otherwise apt-get install -y --no-install-recommends prometheus (apt-get update first only
#     when the package is unknown to apt).
# Idempotent. Exit 0 with both binaries; exit 1 when they could not be had (the Prometheus tests
# then skip, saying why, and `--prometheus auto` fails with ZD_PROMETHEUS_UNAVAILABLE).
# Needs root (or passwordless sudo) to install.
set -uo pipefail

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then SUDO="sudo -n"; fi
fi

say() { echo "[install-prometheus] $*"; }

have() { command -v prometheus >/dev/null 2>&1 && command -v promtool >/dev/null 2>&1; }

if have; then
  say "already installed: $(prometheus --version 2>&1 | head -n 1)"
  exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
  say "prometheus is not installed and there is no apt-get here: install Prometheus 2.x by hand (prometheus and promtool on PATH), or run zerodrop with --prometheus off"
  exit 1
fi
if [ "$(id -u)" -ne 0 ] && [ -z "$SUDO" ]; then
  say "prometheus is not installed and installing it needs root (or passwordless sudo)"
  exit 1
fi

export DEBIAN_FRONTEND=noninteractive
LOG=/tmp/install-prometheus.apt.log
if ! apt-cache policy prometheus 2>/dev/null | grep -q 'Candidate: [0-9]'; then
  say "apt-get update…"
  timeout 300 $SUDO apt-get update -qq >"$LOG" 2>&1 || { say "apt-get update failed (see $LOG)"; tail -n 20 "$LOG"; exit 1; }
fi
say "installing prometheus (apt-get, --no-install-recommends)…"
if ! timeout 600 $SUDO apt-get install -y -qq --no-install-recommends prometheus >>"$LOG" 2>&1; then
  say "apt-get install prometheus failed (see $LOG)"
  tail -n 20 "$LOG" 2>/dev/null
  exit 1
fi
# The package enables a system service on some setups; zerodrop starts its own server per run.
if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet prometheus 2>/dev/null; then
  say "note: the packaged prometheus service is running (port 9090); zerodrop does not need it"
fi

if have; then
  say "installed: $(prometheus --version 2>&1 | head -n 1)"
  exit 0
fi
say "apt-get finished but prometheus/promtool are still not on PATH"
exit 1
