#!/usr/bin/env bash
# The official JavaScript SDK (@bitrix24/b24jssdk from the npm registry) against b24-emulator over
# HTTPS: install it in a temporary folder, start `b24 emulator --tls`, run check.mjs.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
rows="${B24_JSSDK_ROWS:-12345}"
version="${B24_JSSDK_VERSION:-2.2.0}"

if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  echo "node and npm are needed for the JS SDK check" >&2
  exit 1
fi

work="$(mktemp -d)"
emulator_pid=""
cleanup() {
  if [ -n "$emulator_pid" ]; then kill "$emulator_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

cp "$here/check.mjs" "$work/"
(cd "$work" && npm init -y >/dev/null 2>&1 && npm install --no-audit --no-fund --silent "@bitrix24/b24jssdk@$version" >/dev/null)

# `cargo test --workspace` has built the binary already; build it only when it is missing.
[ -x "$root/target/debug/b24" ] || cargo build --quiet --locked -p b24-cli
"$root/target/debug/b24" emulator --tls --rows "$rows" > "$work/emulator.log" 2>&1 &
emulator_pid=$!
for _ in $(seq 1 100); do
  grep -q "Ctrl-C" "$work/emulator.log" 2>/dev/null && break
  sleep 0.1
done
webhook="$(awk '/  webhook:/ {print $2}' "$work/emulator.log")"
cert="$(awk '/  certificate:/ {print $2}' "$work/emulator.log")"
if [ -z "$webhook" ] || [ -z "$cert" ]; then
  cat "$work/emulator.log" >&2
  echo "the emulator did not start" >&2
  exit 1
fi

cd "$work"
B24_WEBHOOK_URL="$webhook" B24_EXPECTED_ROWS="$rows" NODE_EXTRA_CA_CERTS="$cert" node check.mjs
