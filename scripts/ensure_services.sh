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

if ! answers 6379; then
  echo "ensure_services: Redis is not answering on 127.0.0.1:6379, starting redis-server" >&2
  redis-server --daemonize yes --port 6379 --save "" --appendonly no >/dev/null
  wait_for 6379 Redis || exit 1
fi

if ! answers 1883; then
  echo "ensure_services: Mosquitto is not answering on 127.0.0.1:1883, starting mosquitto" >&2
  mosquitto -d
  wait_for 1883 Mosquitto || exit 1
fi
