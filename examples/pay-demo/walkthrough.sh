#!/usr/bin/env bash
# The README's "Try it without a merchant account", command for command, with what each must
# answer checked: mock-pay and the shop in the background (ports 3000-3002), curl in between, a
# restart of the shop, still paid. Run from anywhere; it works in the workspace root, as the
# README does, and removes the pay-demo.db it created. Keep it in step with the README.
set -euo pipefail
cd "$(dirname "$0")/../.."
if [ -e pay-demo.db ]; then
  echo "walkthrough: ./pay-demo.db exists (a shop's orders?); move it away first"
  exit 1
fi
cargo build -q -p pay-demo --bins
mkdir -p target
: >target/walkthrough-shop.log
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -f pay-demo.db pay-demo.db-wal pay-demo.db-shm
}
trap cleanup EXIT
wait_for() {
  for _ in $(seq 150); do
    if curl -s -o /dev/null "$1"; then return 0; fi
    sleep 0.2
  done
  echo "walkthrough: nothing answers at $1"
  exit 1
}
expect() {
  case "$1" in
    *"$2"*) echo "ok: $2" ;;
    *) echo "walkthrough: expected $2 in: $1"; exit 1 ;;
  esac
}
start_shop() {
  WECHAT_PAY_API_BASE=http://127.0.0.1:3001 cargo run -q -p pay-demo >>target/walkthrough-shop.log 2>&1 &
  shop=$!
  pids+=("$shop")
  wait_for 127.0.0.1:3000/products
}

# Terminals 1 and 2.
cargo run -q -p pay-demo --bin mock-pay </dev/null >target/walkthrough-mock.log 2>&1 &
pids+=("$!")
wait_for 127.0.0.1:3001/
start_shop
expect "$(cat target/walkthrough-shop.log)" "orders in SQLite file $PWD/pay-demo.db"

# Terminal 3.
expect "$(curl -s 127.0.0.1:3000/products)" '"id":"beef-noodles"'
ID=$(curl -s -X POST 127.0.0.1:3000/orders -H 'content-type: application/json' \
       -d '{"openid":"oUser","total_fee":500,"body":"充值 Top-up"}' | sed -E 's/.*"id":"([^"]+)".*/\1/')
echo "$ID"
expect "$(curl -s 127.0.0.1:3000/orders/$ID)" '"state":"unpaid"'
expect "$(curl -s 127.0.0.1:3002/command -d "pay $ID")" 'answered 200: <xml><return_code><![CDATA[SUCCESS]]>'
order=$(curl -s 127.0.0.1:3000/orders/$ID)
expect "$order" '"state":"paid"'
expect "$order" '"credit":500'

# Ctrl-C in terminal 2, and the same command again.
kill -INT "$shop"
wait "$shop" || true
start_shop
[ "$(grep -c '^pay-demo on ' target/walkthrough-shop.log)" = 2 ] || { echo "walkthrough: the shop did not restart"; exit 1; }
order=$(curl -s 127.0.0.1:3000/orders/$ID)
expect "$order" '"state":"paid"'
expect "$order" '"credit":500'
expect "$(curl -s 127.0.0.1:3002/command -d "pay $ID")" 'answered 200: <xml><return_code><![CDATA[SUCCESS]]>'
expect "$(curl -s -X POST 127.0.0.1:3000/orders/product -H 'content-type: application/json' \
     -d '{"openid":"oUser","product_id":"beef-noodles"}')" '"total_fee":1200'
echo "walkthrough: all steps answered as the README says"
