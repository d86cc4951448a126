#!/usr/bin/env bash
# Fails when wit/plugin.wit changed without the SDKs following: the Go bindings record the sha256
# of the contract they were generated from, and each SDK ships a copy of the contract that its
# build tool reads. Needs only coreutils.
set -euo pipefail
sdk="$(cd "$(dirname "$0")" && pwd)"
want="$(sha256sum "$sdk/../wit/plugin.wit" | cut -d' ' -f1)"
status=0

for copy in go/wit/plugin.wit python/src/weft/wit/plugin.wit js/wit/plugin.wit; do
  if [ "$(sha256sum "$sdk/$copy" | cut -d' ' -f1)" != "$want" ]; then
    echo "plugin-sdk/$copy differs from wit/plugin.wit: cp wit/plugin.wit plugin-sdk/$copy" >&2
    status=1
  fi
done

generated="$(find "$sdk/go/internal/bindings/imports" "$sdk/go/internal/bindings/exports/wit_exports" -name '*.go' | sort)"
[ -n "$generated" ] || { echo "no generated Go bindings under plugin-sdk/go/internal/bindings" >&2; exit 1; }
for file in $generated; do
  if ! grep -qx "// wit/plugin.wit sha256 $want" "$file"; then
    echo "plugin-sdk/${file#"$sdk/"} was generated from another wit/plugin.wit: run plugin-sdk/go/generate.sh" >&2
    status=1
  fi
done

[ "$status" = 0 ] && echo "SDK bindings match wit/plugin.wit (sha256 $want)"
exit "$status"
