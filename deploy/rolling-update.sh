#!/usr/bin/env bash
# Replace every API replica without downtime: start as many new replicas beside the old ones,
# wait until each new one is ready, then stop the old ones (SIGTERM: they finish what they serve).
#
#   deploy/rolling-update.sh            # rolling restart, same version
#   deploy/rolling-update.sh 0.2.0      # upgrade to tsa:0.2.0 (built or pulled beforehand)
#   deploy/rolling-update.sh 0.1.0      # roll back to the previous version
#
# The new version is written to deploy/.env (TSA_VERSION) so later `docker compose up` keep it.
set -euo pipefail
cd "$(dirname "$0")"
compose=(docker compose -f docker-compose.yml)
timeout_s=${READY_TIMEOUT_S:-180}

if [ $# -ge 1 ]; then
    docker image inspect "tsa:$1" >/dev/null || { echo "image tsa:$1 not found: build or pull it first" >&2; exit 1; }
    touch .env
    if grep -q '^TSA_VERSION=' .env; then sed -i "s/^TSA_VERSION=.*/TSA_VERSION=$1/" .env; else echo "TSA_VERSION=$1" >> .env; fi
fi

mapfile -t old < <("${compose[@]}" ps -q api)
count=${#old[@]}
[ "$count" -gt 0 ] || { echo "no api replica is running: use docker compose up -d" >&2; exit 1; }
echo "replacing $count api replica(s) with tsa:$(grep '^TSA_VERSION=' .env | cut -d= -f2 || echo latest)"

"${compose[@]}" up -d --no-deps --no-recreate --scale "api=$((count * 2))" api
mapfile -t new < <(comm -13 <(printf '%s\n' "${old[@]}" | sort) <("${compose[@]}" ps -q api | sort))

deadline=$((SECONDS + timeout_s))
for id in "${new[@]}"; do
    until [ "$(docker inspect -f '{{.State.Health.Status}}' "$id")" = healthy ]; do
        if [ $SECONDS -ge $deadline ]; then
            echo "new replica $id not ready after ${timeout_s}s; removing the new replicas, the old ones keep serving" >&2
            docker rm -f "${new[@]}" >/dev/null
            exit 1
        fi
        sleep 2
    done
done
sleep 6  # the gateway re-resolves "api" every 5 s: let it learn the new replicas first

for id in "${old[@]}"; do
    docker stop -t 30 "$id" >/dev/null && docker rm "$id" >/dev/null
done
echo "done: $count replica(s) now run the new version"
