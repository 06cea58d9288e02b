#!/usr/bin/env bash
# Checks the JavaScript SDK end to end: unit tests of the twins in node, then builds the
# extract-domain and filter twins (and a fixture that throws) into components and checks
# them against the Rust twins' behaviour:
#   - extract-domain through `wasync plugin call`, on every case of
#     tests/data/extract_domain_cases.txt;
#   - filter in node through jco (tests/languages.rs runs it through the host as well);
#   - thrown exceptions become `error.other(message)` for the value that threw alone;
#   - every case of value crosses the batch layout (docs/batch.md) both ways through the host;
#   - a connector's webhook changes cross it as records batches, one per run of one entity,
#     through `wasync serve` (test/relay.js).
# With --starters it also builds the four starters, runs the connector starter's smoke test
# (`wasync plugin new` + `wasync plugin test`) and syncs through it with `wasync sync`
# against a stand-in for its API: pages read, changes written, ids and errors answered.
#
#   sdk/js/check.sh [--starters]
# Environment: WASYNC (default target/release/wasync), OUT (default a temporary folder,
# where the components are left).
set -euo pipefail

SDK=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$SDK/../.." && pwd)
WASYNC=${WASYNC:-$ROOT/target/release/wasync}
OUT=${OUT:-$(mktemp -d -t wasync-js-check.XXXXXX)}
STARTERS=false
for arg in "$@"; do
  case $arg in
    --starters) STARTERS=true ;;
    *) echo "usage: $0 [--starters]" >&2; exit 2 ;;
  esac
done

fail() { echo "check.sh: $*" >&2; exit 1; }
[ -d "$SDK/node_modules/@bytecodealliance/componentize-js" ] || fail "run: npm ci --prefix $SDK"
[ -x "$WASYNC" ] || fail "no wasync binary at $WASYNC (set WASYNC)"
mkdir -p "$OUT"

echo "== unit tests (node)"
node --test "$ROOT/plugins/js/extract-domain/domain.test.mjs" "$ROOT/plugins/js/filter/filter.test.mjs" \
  "$SDK/test/batch.test.mjs"

# build NAME WORLD ENTRY: builds $OUT/NAME.wasm and says how long it took and how big it is.
build() {
  local start=$SECONDS
  node "$SDK/build.mjs" --wit "$ROOT/wit" --world "$2" --entry "$3" --out "$OUT/$1.wasm" >/dev/null
  echo "built $1.wasm: $(( $(stat -c %s "$OUT/$1.wasm") / 1000000 )) MB in $(( SECONDS - start )) s"
}

echo "== components (into $OUT)"
build extract-domain field-transform "$ROOT/plugins/js/extract-domain/index.js"
build filter entity-function "$ROOT/plugins/js/filter/index.js"
build throws field-transform "$SDK/test/throws.js"
build suffix field-transform "$SDK/test/suffix.js"
build relay connector "$SDK/test/relay.js"

echo "== extract-domain against the behaviour table"
node "$SDK/test/extract-domain-cases.mjs" "$WASYNC" "$OUT/extract-domain.wasm"
out=$("$WASYNC" plugin call "$OUT/extract-domain.wasm" --config '{"x": 1}' </dev/null 2>&1) && fail "extract-domain accepted a setting"
grep -q 'extract-domain takes no settings, but was given `x`' <<<"$out" || fail "unexpected error: $out"

echo "== filter component"
node "$SDK/test/filter-component.mjs" "$OUT/filter.wasm" "$OUT/filter-jco"

echo "== exceptions become error values"
got=$(printf '"fine"\n"type-error"\n"string"\n"error"\n7\n' | "$WASYNC" plugin call "$OUT/throws.wasm")
want='{"ok":"fine"}
{"err":"error: TypeError: can'"'"'t access property \"field\" of null"}
{"err":"error: a thrown string"}
{"err":"error: a thrown Error"}
{"ok":7}'
[ "$got" = "$want" ] || fail "exceptions in apply: expected
$want
got
$got"
out=$("$WASYNC" plugin call "$OUT/throws.wasm" --config '{"fail": "create"}' </dev/null 2>&1) && fail "create did not fail"
grep -q '`transform.create` failed: error: boom in create' <<<"$out" || fail "exception in create: $out"

echo "== the batch layout through the host"
got=$(printf '%s\n' '"acme"' null true false 7 -9223372036854775808 2.5 '"héllo 😀"' '""' '{"a": [1]}' \
  | "$WASYNC" plugin call "$OUT/suffix.wasm" --config '{"suffix": "-x"}')
want='{"ok":"acme-x"}
{"ok":null}
{"ok":true}
{"ok":false}
{"ok":7}
{"ok":-9223372036854775808}
{"ok":2.5}
{"ok":"héllo 😀-x"}
{"ok":"-x"}
{"ok":{"a":[1]}}'
[ "$got" = "$want" ] || fail "suffix: expected
$want
got
$got"
"$WASYNC" plugin inspect "$OUT/suffix.wasm" | grep -q 'wasync:plugin@0.2.0' || fail "suffix is not a 0.2.0 component"

echo "== webhook changes through the host (wasync serve)"
node "$SDK/test/connector-webhook.mjs" "$WASYNC" "$OUT/relay.wasm" "$OUT/connector-webhook"
echo "ok"

if $STARTERS; then
  echo "== starters"
  build starter-transform field-transform "$SDK/starter/transform/index.js"
  build starter-entity-function entity-function "$SDK/starter/entity-function/index.js"
  build starter-merge-policy merge-policy "$SDK/starter/merge-policy/index.js"
  build starter-connector connector "$SDK/starter/connector/index.js"
  got=$(printf '" hello "\n5\n' | "$WASYNC" plugin call "$OUT/starter-transform.wasm" --config '{"case": "upper"}')
  [ "$got" = $'{"ok":"HELLO"}\n{"err":"invalid input: expected text, got integer"}' ] || fail "starter transform: $got"
  for s in entity-function merge-policy connector; do
    "$WASYNC" plugin inspect "$OUT/starter-$s.wasm" | grep -q "world:    wasync:plugin/$s" || fail "starter $s: wrong world"
  done
  echo "== the connector starter: smoke test, then a sync through it"
  rm -rf "$OUT/my-connector"
  WASYNC_SDK_DIR="$ROOT/sdk" "$WASYNC" plugin new --lang js --kind connector "$OUT/my-connector" >/dev/null
  got=$(WASYNC_SDK_DIR="$ROOT/sdk" "$WASYNC" plugin test "$OUT/my-connector")
  grep -q '1 passed, 0 failed' <<<"$got" || fail "connector starter smoke test: $got"
  node "$SDK/test/connector-sync.mjs" "$WASYNC" "$OUT/starter-connector.wasm" "$OUT/connector-sync"
  echo "ok"
fi
echo "all JavaScript checks passed"
