#!/bin/sh
# Entry point of the Chung Tay image. For every variable NAME_FILE it exports NAME with the content of
# that file, so secrets (the principal keys, database URLs) can come from Docker/Kubernetes secret
# files instead of plain environment variables; then it runs the command.
set -eu

for name in $(env | sed -n 's/^\([A-Z][A-Z0-9_]*\)_FILE=.*$/\1/p'); do
    file=$(printenv "${name}_FILE")
    if [ ! -r "$file" ]; then
        echo "docker-entrypoint: ${name}_FILE points at $file, which cannot be read" >&2
        exit 1
    fi
    value=$(cat "$file")
    export "$name=$value"
    unset "${name}_FILE"
done

exec "$@"
