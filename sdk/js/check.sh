#!/usr/bin/env bash
# Checks the JavaScript SDK end to end: unit tests of the twins in node, then builds the
# extract-domain and filter twins (and a fixture that throws) into components and checks
# them against the Rust twins' behaviour:
#   - extract-domain through `wasync plugin call`, on every case of
#     tests/data/extract_domain_cases.txt;
#   - filter in node through jco (tests/languages.rs runs it through the host as well);
#   - thrown exceptions become `error.other(message)` for the value that threw alone.
# With --starters it also builds the four starters.
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
node --test "$ROOT/plugins/js/extract-domain/domain.test.mjs" "$ROOT/plugins/js/filter/filter.test.mjs"

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
  echo "ok"
fi
echo "all JavaScript checks passed"
