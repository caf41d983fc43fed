//go:build !unix

package storage

import "testing"

// cpuTimer reports nothing where getrusage does not exist.
func cpuTimer(*testing.B) func() { return func() {} }
