// Command benchcli is `make bench-cli`'s driver (scripts/bench-cli.sh runs it): it
// times whole processes of Tokendesk and of the MSAL Python script doing the same job,
// alternately, printing medians, peak RSS and the ratio. It measures; it asserts
// nothing.
//
//	benchcli run -runs N -label L -- CMD_A... -- CMD_B...
package main

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strings"
	"syscall"
	"time"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: benchcli run [-runs N] [-label L] -- A... -- B...")
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "run":
		err = run(os.Args[2:])
	default:
		err = fmt.Errorf("unknown command %q", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "benchcli:", err)
		os.Exit(1)
	}
}

// sample is one process run.
type sample struct {
	wall  time.Duration
	maxKB int64
}

func run(args []string) error {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	runs := fs.Int("runs", 21, "runs of each command")
	label := fs.String("label", "", "row label")
	if err := fs.Parse(args); err != nil {
		return err
	}
	rest := fs.Args()
	i := slices.Index(rest, "--")
	if i < 1 {
		return fmt.Errorf("want CMD_A... -- CMD_B...")
	}
	a, b := rest[:i], rest[i+1:]
	// One warm-up each: the first run pays for page cache and the keyring daemon's start.
	if _, err := once(a); err != nil {
		return err
	}
	if _, err := once(b); err != nil {
		return err
	}
	var sa, sb []sample
	for range *runs {
		for _, c := range []struct {
			cmd []string
			out *[]sample
		}{{a, &sa}, {b, &sb}} {
			s, err := once(c.cmd)
			if err != nil {
				return err
			}
			*c.out = append(*c.out, s)
		}
	}
	ma, mb := median(sa), median(sb)
	fmt.Printf("%-14s | %-10s %7.1f ms (min %6.1f, max %6.1f) %6.1f MiB | %-10s %7.1f ms (min %6.1f, max %6.1f) %6.1f MiB | ratio %.2fx\n",
		*label, base(a[0]), ms(ma.wall), ms(minWall(sa)), ms(maxWall(sa)), float64(ma.maxKB)/1024,
		base(b[0]), ms(mb.wall), ms(minWall(sb)), ms(maxWall(sb)), float64(mb.maxKB)/1024,
		float64(ma.wall)/float64(mb.wall))
	return nil
}

func once(cmd []string) (sample, error) {
	c := exec.Command(cmd[0], cmd[1:]...)
	c.Stderr = os.Stderr
	start := time.Now()
	out, err := c.Output()
	wall := time.Since(start)
	if err != nil {
		return sample{}, fmt.Errorf("%s: %w", strings.Join(cmd, " "), err)
	}
	if len(out) < 20 {
		return sample{}, fmt.Errorf("%s printed %q, not a token", strings.Join(cmd, " "), out)
	}
	ru, _ := c.ProcessState.SysUsage().(*syscall.Rusage)
	var kb int64
	if ru != nil {
		kb = ru.Maxrss
	}
	return sample{wall: wall, maxKB: kb}, nil
}

// median returns the run of median wall time, with the median peak RSS.
func median(s []sample) sample {
	w := make([]time.Duration, len(s))
	m := make([]int64, len(s))
	for i := range s {
		w[i], m[i] = s[i].wall, s[i].maxKB
	}
	slices.Sort(w)
	slices.Sort(m)
	return sample{wall: w[len(w)/2], maxKB: m[len(m)/2]}
}

func minWall(s []sample) time.Duration {
	return slices.MinFunc(s, func(a, b sample) int { return int(a.wall - b.wall) }).wall
}

func maxWall(s []sample) time.Duration {
	return slices.MaxFunc(s, func(a, b sample) int { return int(a.wall - b.wall) }).wall
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func base(p string) string {
	if i := strings.LastIndexByte(p, '/'); i >= 0 {
		return p[i+1:]
	}
	return p
}
