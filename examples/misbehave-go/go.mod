module github.com/weft-dev/weft/examples/misbehave-go

go 1.27.1

require github.com/weft-dev/weft/plugin-sdk/go v0.1.0

require go.bytecodealliance.org/pkg v0.4.0 // indirect

// Both modules come from this repository: there is no module proxy to fetch them from.
replace (
	github.com/weft-dev/weft/plugin-sdk/go => ../../plugin-sdk/go
	go.bytecodealliance.org/pkg => ../../plugin-sdk/go/third_party/go.bytecodealliance.org/pkg
)
