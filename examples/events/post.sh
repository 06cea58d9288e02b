#!/usr/bin/env bash
# Posts a JSON body to a running `wasync serve` as a Standard Webhooks sender does: a message
# id, a timestamp, and an HMAC-SHA256 signature over "id.timestamp.body" with the secret.
#
#   WASYNC_WEBHOOK_SECRET=whsec_... examples/events/post.sh '{"entity": "PageView", "data": {...}}'
#
# URL defaults to http://127.0.0.1:7870/webhooks/sender; ID to a fresh one (send the same ID
# again to see a redelivery taken once).
set -euo pipefail
BODY=${1:?usage: post.sh JSON-BODY}
SECRET=${WASYNC_WEBHOOK_SECRET:?set WASYNC_WEBHOOK_SECRET to the secret wasync serve has}
URL=${URL:-http://127.0.0.1:7870/webhooks/sender}
ID=${ID:-msg_$(date +%s%N)}
TS=$(date +%s)
case "$SECRET" in
  whsec_*) KEY=$(printf %s "${SECRET#whsec_}" | base64 -d | od -An -tx1 | tr -d ' \n') ;;
  *) KEY=$(printf %s "$SECRET" | od -An -tx1 | tr -d ' \n') ;;
esac
SIG=$(printf %s "$ID.$TS.$BODY" | openssl dgst -sha256 -mac HMAC -macopt "hexkey:$KEY" -binary | base64)
curl -sS -X POST "$URL" \
  -H "webhook-id: $ID" -H "webhook-timestamp: $TS" -H "webhook-signature: v1,$SIG" \
  -H 'content-type: application/json' --data-raw "$BODY"
echo
