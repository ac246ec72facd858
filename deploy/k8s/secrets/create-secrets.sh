#!/usr/bin/env bash
# Generates every Secret Chung Tay needs on Kubernetes, fresh and consistent, and prints them as YAML
# (nothing is written to disk). Apply them, then keep a copy in your vault:
#
#   deploy/k8s/secrets/create-secrets.sh > /secure/place/chungtay-secrets.yaml
#   kubectl create namespace chungtay && kubectl apply -f /secure/place/chungtay-secrets.yaml
#
# With CloudNativePG (the default): chungtay-secrets plus one basic-auth Secret per app role
# (chungtay-db-<app>), each password in its Secret and in that app's database URL alike.
# With an external PostgreSQL (--external-postgres): chungtay-secrets only, the database URLs taken
# from REGISTRY_DATABASE_URL, SUPPORT_DATABASE_URL, EMULATION_DATABASE_URL, REPORTING_DATABASE_URL and
# GATEWAY_DATABASE_URL (the roles and databases made by deploy/postgres/init-databases.sh).
# Needs openssl and kubectl (no cluster: `kubectl create --dry-run=client`).
# The keys (what each is for: secrets/*.example.yaml): back them up with the databases.
set -euo pipefail

namespace=chungtay
external=false
for argument in "$@"; do
    case "$argument" in
        --external-postgres) external=true ;;
        --namespace=*) namespace="${argument#--namespace=}" ;;
        *) echo "usage: $0 [--external-postgres] [--namespace=chungtay]" >&2; exit 2 ;;
    esac
done

apps=(registry support emulation reporting gateway)
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
chmod 0700 "$work"

secret() {  # secret NAME FOLDER [kubectl arguments...]: one YAML document, a key per file of FOLDER
    local name=$1 folder=$2
    shift 2
    echo "---"
    kubectl create secret generic "$name" --from-file="$folder" "$@" --namespace "$namespace" \
        --dry-run=client -o yaml
}

put() {  # put FILE VALUE: a key's value, without a trailing newline (values never go on a command line)
    mkdir -p "$(dirname "$1")"
    printf '%s' "$2" > "$1"
}

main="$work/chungtay-secrets"
for app in "${apps[@]}"; do
    if $external; then
        variable="${app^^}_DATABASE_URL"
        url="${!variable:-}"
        if [ -z "$url" ]; then
            echo "create-secrets: set $variable (the external PostgreSQL's URL for $app)" >&2
            exit 1
        fi
    else
        password=$(openssl rand -hex 24)  # letters and digits: safe inside a URL
        put "$work/db-$app/username" "chungtay_$app"
        put "$work/db-$app/password" "$password"
        secret "chungtay-db-$app" "$work/db-$app" --type=kubernetes.io/basic-auth \
            | sed 's/^metadata:$/metadata:\n  labels:\n    cnpg.io\/reload: "true"/'
        url="postgresql+asyncpg://chungtay_$app:$password@chungtay-postgres-rw:5432/chungtay_$app"
    fi
    put "$main/$app-database-url" "$url"
done

mkdir -p "$main"
openssl genpkey -algorithm ed25519 -out "$main/principal-private-key" 2>/dev/null
openssl pkey -in "$main/principal-private-key" -pubout -out "$main/principal-public-key"
put "$main/registry-personal-data-key" "$(openssl rand -base64 32)"
put "$main/registry-personal-data-hash-key" "$(openssl rand -base64 32)"
put "$main/registry-dci-signing-key" "$(bash "$here/../../dci-keys.sh" signing)"
put "$main/registry-dci-encryption-key" "$(bash "$here/../../dci-keys.sh" encryption)"
put "$main/gateway-signing-key-encryption-key" "$(openssl rand -base64 32)"
put "$main/gateway-metrics-token" "$(openssl rand -hex 32)"
put "$main/admin-password" "$(openssl rand -base64 18)"
secret chungtay-secrets "$main"
