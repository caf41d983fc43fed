//go:build unix

package storage

import (
	"syscall"
	"testing"
	"time"
)

// cpuTimer reports the process's CPU time (user + system) per operation beside the
// wall time: on a busy shared machine the wall time mostly measures waiting for a core,
// while CPU time stays the work the operation does.
func cpuTimer(b *testing.B) func() {
	start := cpuNow()
	return func() {
		if b.N > 0 {
			b.ReportMetric(float64((cpuNow()-start).Microseconds())/float64(b.N)/1000, "cpu-ms/op")
		}
	}
}

func cpuNow() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
