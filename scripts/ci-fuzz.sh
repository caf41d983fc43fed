#!/usr/bin/env bash
# Runs every Fuzz* target of every package for FUZZTIME each (Go fuzzes one target at
# a time). New crashers land in the package's testdata/fuzz/ for a regression test.
set -euo pipefail
fuzztime=${FUZZTIME:-20s}
go=${GO:-go}
n=0
for pkg in $("$go" list ./...); do
	# -list prints the matching names, then "ok <pkg>"; keep only the names.
	for f in $("$go" test -list '^Fuzz' "$pkg" | grep '^Fuzz' || true); do
		echo "fuzz: $pkg $f for $fuzztime"
		"$go" test -run '^$' -fuzz "^${f}\$" -fuzztime "$fuzztime" "$pkg"
		n=$((n + 1))
	done
done
echo "fuzz: $n target(s) run"
