module github.com/weft-dev/weft/plugin-sdk/go

go 1.27.1

require go.bytecodealliance.org/pkg v0.4.0

// The runtime of the generated bindings, vendored from the wit-bindgen-go crate (generate.sh), so
// builds need no module proxy.
replace go.bytecodealliance.org/pkg => ./third_party/go.bytecodealliance.org/pkg
