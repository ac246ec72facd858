#!/usr/bin/env bash
# Prints a new private JWK for the registry's DCI interface (docs/dci.md "Signatures", "Encryption").
# Needs openssl only. Keep the output secret, and back it up with the databases.
#
#   deploy/dci-keys.sh signing      an Ed25519 key: REGISTRY_DCI_SIGNING_KEY, the registry signs its DCI
#                                   answers and callbacks with it (clients check them with its public half)
#   deploy/dci-keys.sh encryption   an EC P-256 key: REGISTRY_DCI_ENCRYPTION_KEY, clients encrypt their
#                                   messages to its public half
#
# Both halves are published at GET /registry/dci/keys. Its kid names the key and the day it was made.
set -euo pipefail

b64url() { base64 | tr -d '\n=' | tr '+/' '-_'; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
chmod 0700 "$work"
made=$(date -u +%Y%m%d)

case "${1:-}" in
    signing)
        openssl genpkey -algorithm ed25519 -outform DER -out "$work/key.der" 2>/dev/null
        openssl pkey -inform DER -in "$work/key.der" -pubout -outform DER -out "$work/public.der"
        # PKCS#8 and SubjectPublicKeyInfo of Ed25519: the 32-byte seed and point end each file.
        d=$(tail -c 32 "$work/key.der" | b64url)
        x=$(tail -c 32 "$work/public.der" | b64url)
        printf '{"kty":"OKP","crv":"Ed25519","d":"%s","x":"%s","kid":"chungtay-registry-sig-%s"}\n' "$d" "$x" "$made"
        ;;
    encryption)
        openssl ecparam -name prime256v1 -genkey -noout -outform DER -out "$work/key.der"
        # SEC1 ECPrivateKey of P-256 with its curve: 121 bytes, the private scalar at bytes 8-39, the
        # uncompressed point (x, y) in the last 64.
        if [ "$(wc -c < "$work/key.der")" -ne 121 ]; then
            echo "dci-keys: unexpected EC key layout from openssl" >&2
            exit 1
        fi
        d=$(tail -c +8 "$work/key.der" | head -c 32 | b64url)
        x=$(tail -c 64 "$work/key.der" | head -c 32 | b64url)
        y=$(tail -c 32 "$work/key.der" | b64url)
        printf '{"kty":"EC","crv":"P-256","d":"%s","x":"%s","y":"%s","kid":"chungtay-registry-enc-%s"}\n' \
            "$d" "$x" "$y" "$made"
        ;;
    *)
        echo "usage: $0 signing|encryption" >&2
        exit 2
        ;;
esac
