//go:build tools

// Package tools pins the Temporal CLI so `go build` in this module verifies every
// dependency against the committed go.sum.
package tools

import _ "github.com/temporalio/cli/cmd/temporal"
