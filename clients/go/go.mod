module github.com/switchboard-ai/switchboard/clients/go

go 1.26.0

require (
	connectrpc.com/connect v1.21.1
	github.com/switchboard-ai/switchboard/gen/go v0.0.0-00010101000000-000000000000
	google.golang.org/protobuf v1.36.12
)

// The generated code is not published as its own module version yet: use the tree's copy.
replace github.com/switchboard-ai/switchboard/gen/go => ../../gen/go
