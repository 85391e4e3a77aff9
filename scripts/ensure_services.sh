#!/usr/bin/env bash
# Makes sure the services the test suite talks to are answering on loopback:
# Redis on 127.0.0.1:6379 and Mosquitto on 127.0.0.1:1883. Starts whichever is down.
set -u

answers() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

wait_for() {
  local port=$1 name=$2
  for _ in $(seq 1 50); do
    answers "$port" && return 0
    sleep 0.1
  done
  echo "ensure_services: $name did not start on 127.0.0.1:$port" >&2
  return 1
}

# The program to start a service with, or a message saying how to install it (and a failure).
need() {
  local program=$1 name=$2 debian=$3 brew=$4
  command -v "$program" >/dev/null 2>&1 && return 0
  echo "ensure_services: $name is not answering and $program is not installed. Install it" >&2
  echo "  (Debian/Ubuntu: sudo apt-get install $debian; macOS: brew install $brew)," >&2
  echo "  or run it on that port another way; the integration tests need it (see README)." >&2
  return 1
}

if ! answers 6379; then
  need redis-server Redis redis-server redis || exit 1
  echo "ensure_services: Redis is not answering on 127.0.0.1:6379, starting redis-server" >&2
  redis-server --daemonize yes --port 6379 --save "" --appendonly no >/dev/null
  wait_for 6379 Redis || exit 1
fi

if ! answers 1883; then
  need mosquitto Mosquitto mosquitto mosquitto || exit 1
  echo "ensure_services: Mosquitto is not answering on 127.0.0.1:1883, starting mosquitto" >&2
  mosquitto -d
  wait_for 1883 Mosquitto || exit 1
fi
