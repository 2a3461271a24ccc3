#!/usr/bin/env bash
# Starts moto_server on a free loopback port and prints the shell lines that point the tests at it.
# Usage: eval "$(bash scripts/aws-emulator.sh start)"; ...; bash scripts/aws-emulator.sh stop
set -euo pipefail
cd "$(dirname "$0")/.."
pidfile=.tools/moto.pid
case "${1:-start}" in
  start)
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    .tools/venv/bin/moto_server -H 127.0.0.1 -p "$port" > .tools/moto.log 2>&1 &
    echo $! > "$pidfile"
    for _ in $(seq 1 100); do
      if python3 -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:$port/moto-api/', timeout=1)" 2>/dev/null; then
        echo "export TRUEREEL_TEST_AWS_ENDPOINT=http://127.0.0.1:$port AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_REGION=us-east-1 AWS_EC2_METADATA_DISABLED=true"
        exit 0
      fi
      sleep 0.1
    done
    echo "aws-emulator: moto_server did not start (see .tools/moto.log)" >&2
    exit 1 ;;
  stop)
    # moto_server ends cleanly on SIGINT (a plain TERM can leave it spinning); KILL if it lingers.
    if [ -f "$pidfile" ]; then
      pid=$(cat "$pidfile")
      kill -INT "$pid" 2>/dev/null || true
      for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      kill -KILL "$pid" 2>/dev/null || true
    fi
    rm -f "$pidfile" ;;
esac
