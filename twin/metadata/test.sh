#!/usr/bin/env bash
# The twin's IMDS: vet and the specification tests of this module.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
unformatted=$(gofmt -l .)
[[ -z $unformatted ]] || { echo "gofmt needed: $unformatted" >&2; exit 1; }
go vet ./...
go test -count=1 ./...
