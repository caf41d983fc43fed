#!/usr/bin/env bash
# make fresh-check: the README's two commands on a newcomer's machine. Builds a clean
# Debian 12 root (mmdebstrap --variant=required: what every Debian install has, plus
# ca-certificates, git, make, sudo), gives it this machine's CA and registry settings
# and the Go toolchain, clones the repository into it, and inside it (systemd-nspawn:
# a chroot cannot unshare the mount namespace a test needs) runs `make test`, then
# `make run` until its window is on screen (an Xvfb display, as a desktop session
# would have; xwininfo finds the window, a screenshot is kept). Prints the wall time of
# each step. Needs root, mmdebstrap and systemd-container; about 20 minutes on 2 cores,
# so not part of CI. What is checked is the committed HEAD, not the working tree.
#   FRESH_ROOT=DIR    build the root there (default: a new directory under /var/tmp)
#   FRESH_KEEP=1      keep the root afterwards (it is removed otherwise)
#   FRESH_SHOT=PATH   where the window's screenshot goes (default bin/fresh-window.png)
#   FRESH_STEPS=...   the steps to run (default "clone bootstrap configure test run");
#                     FRESH_ROOT=DIR FRESH_KEEP=1 FRESH_STEPS=run reruns make run in a
#                     root kept from an earlier check
# A failing make test does not stop the check: make run is still tried, and the check
# fails at the end, naming the steps that failed.
set -Eeuo pipefail
trap 'echo "fresh-check: failed: \`$BASH_COMMAND\` exited $? (scripts/fresh-check.sh line $LINENO)" >&2' ERR

fail() {
	echo "fresh-check: $1" >&2
	echo "fresh-check: fix: $2" >&2
	exit 1
}

repo=$(git rev-parse --show-toplevel)
commit=$(git -C "$repo" rev-parse HEAD)
shot=${FRESH_SHOT:-$repo/bin/fresh-window.png}
[[ $(id -u) -eq 0 ]] || fail "mmdebstrap and systemd-nspawn need root" "run make fresh-check as root (sudo make fresh-check)"
for tool in mmdebstrap:mmdebstrap systemd-nspawn:systemd-container go:"Go (https://go.dev/dl/)"; do
	command -v "${tool%%:*}" >/dev/null || fail "${tool%%:*} is not installed" "apt-get install ${tool#*:}"
done
sources=/etc/apt/sources.list.d/debian.sources
[[ -f $sources ]] || sources=/etc/apt/sources.list
[[ -f $sources ]] || fail "no Debian apt sources on this machine ($sources)" "run fresh-check on a Debian 12 machine"
if [[ -n $(git -C "$repo" status --porcelain --untracked-files=no) ]]; then
	echo "fresh-check: note: uncommitted changes are not checked, only HEAD ($commit)"
fi

root=${FRESH_ROOT:-$(mktemp -d /var/tmp/tokendesk-fresh.XXXXXX)}
cleanup() {
	if [[ ${FRESH_KEEP:-0} == 1 ]]; then
		echo "fresh-check: the root is kept in $root"
	else
		rm -rf --one-file-system "$root"
	fi
	if [[ -n ${clone:-} ]]; then rm -rf "$clone"; fi
}
trap cleanup EXIT

report=()
failed=()
steps=" ${FRESH_STEPS:-clone bootstrap configure test run} "
# step runs one step (its id must be in $steps), timing it; a failure is reported
# with the time it took and returned.
step() {
	local id=$1 name=$2 start=$SECONDS rc=0
	shift 2
	[[ $steps == *" $id "* ]] || return 0
	echo "fresh-check: == $name"
	"$@" || rc=$?
	local took=$((SECONDS - start)) verdict=""
	((rc == 0)) || verdict="  FAILED (exit $rc)"
	report+=("$(printf '%-44s %4d s (%dm%02ds)%s' "$name" "$took" $((took / 60)) $((took % 60)) "$verdict")")
	echo "fresh-check: == $name: ${took} s$verdict"
	return $rc
}

bootstrap() {
	# mmdebstrap wants an empty or absent directory.
	rmdir "$root" 2>/dev/null || true
	mmdebstrap --quiet --variant=required --include=ca-certificates,git,make,sudo bookworm "$root" "$sources"
}

configure() {
	# mmdebstrap writes no /etc/hosts: without it localhost goes to DNS and every
	# loopback test fails.
	printf '127.0.0.1 localhost\n::1 localhost ip6-localhost ip6-loopback\n' >"$root/etc/hosts"
	# This machine reaches the registries through its own CA and settings.
	if compgen -G '/usr/local/share/ca-certificates/*' >/dev/null; then
		cp /usr/local/share/ca-certificates/* "$root/usr/local/share/ca-certificates/"
	fi
	in_root update-ca-certificates >/dev/null
	if [[ -f $HOME/.npmrc ]]; then
		cp "$HOME/.npmrc" "$root/root/.npmrc"
	fi
	# Go as a newcomer installs it: the go.dev tarball unpacked into /usr/local/go.
	mkdir -p "$root/usr/local/go"
	cp -a "$(go env GOROOT)/." "$root/usr/local/go/"
}

# clone copies HEAD first thing, into a directory beside the root (moved in once the
# root exists): the branch may move on while the root is being built.
clone=$(mktemp -d /var/tmp/tokendesk-fresh-clone.XXXXXX)
clone() {
	git clone --quiet --no-local "$repo" "$clone/tokendesk"
	git -C "$clone/tokendesk" checkout --quiet "$commit"
}
move_clone() {
	mv "$clone/tokendesk" "$root/root/tokendesk"
}

# in_root runs a command in the root as its root user, with a login-like environment
# and this machine's registry settings; no LANG, as in a container image.
in_root() {
	systemd-nspawn -q --keep-unit --register=no --pipe -D "$root" \
		--setenv=HOME=/root \
		--setenv=PATH=/usr/local/go/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
		--setenv=GOPROXY="$(go env GOPROXY)" \
		--setenv=GOSUMDB="$(go env GOSUMDB)" \
		--setenv=GOFLAGS="$(go env GOFLAGS)" \
		--setenv=NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt \
		--setenv=SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt \
		"$@"
}

make_test() {
	in_root /bin/bash -c 'cd /root/tokendesk && make test'
}

# make_run starts `make run` on an Xvfb display, as from a desktop session, and waits
# for its window; the window's screenshot is copied out.
make_run() {
	in_root /bin/bash -c '
		set -euo pipefail
		cd /root/tokendesk
		Xvfb :73 -screen 0 1280x800x24 -nolisten tcp >/tmp/xvfb.log 2>&1 &
		export DISPLAY=:73
		start=$SECONDS
		setsid make run >/tmp/make-run.log 2>&1 &
		run=$!
		until xwininfo -root -tree 2>/dev/null | grep -q "\"Tokendesk\""; do
			if ! kill -0 $run 2>/dev/null; then
				echo "fresh-check: make run ended before its window appeared:"; cat /tmp/make-run.log; exit 1
			fi
			if (( SECONDS - start > 600 )); then
				echo "fresh-check: no Tokendesk window after 600 s:"; cat /tmp/make-run.log; exit 1
			fi
			sleep 1
		done
		echo "fresh-check: window up $((SECONDS - start)) s after make run started:"
		xwininfo -root -tree | grep "\"Tokendesk\"" | head -3
		sleep 2 # let it paint
		# Not under /tmp: systemd-nspawn mounts a tmpfs there, which the host cannot see.
		xwd -root -silent | /usr/bin/convert xwd:- png:/root/fresh-window.png
		echo "fresh-check: bin/tokendesk version: $(bin/tokendesk version)"
		echo "fresh-check: make run printed:"; sed "s/^/  /" /tmp/make-run.log
		kill -TERM -- -$run 2>/dev/null || true
		wait $run 2>/dev/null || true
		kill %1 2>/dev/null || true
	'
	mkdir -p "$(dirname "$shot")"
	cp "$root/root/fresh-window.png" "$shot"
	echo "fresh-check: screenshot of the window: $shot"
}

total=$SECONDS
if [[ $steps == *" clone "* ]]; then
	echo "fresh-check: commit $commit in $root"
else
	echo "fresh-check: in $root, at commit $(git -C "$root/root/tokendesk" rev-parse HEAD 2>/dev/null || echo '(no clone)')"
fi
# The root's own steps stop the check when they fail; make test and make run are
# both tried.
step clone "git clone" clone
step bootstrap "mmdebstrap --variant=required bookworm" bootstrap
step configure "hosts, CA, npm and Go settings, Go toolchain" configure
if [[ $steps == *" clone "* ]]; then
	move_clone
fi
step test "make test (deps, cold build, every test)" make_test || failed+=("make test")
step run "make run until the window shows" make_run || failed+=("make run")
took=$((SECONDS - total))
if ((${#failed[@]} == 0)); then
	echo "fresh-check: passed. Wall time per step:"
else
	echo "fresh-check: FAILED: ${failed[*]}. Wall time per step:"
fi
printf '  %s\n' "${report[@]}"
printf '  %-44s %4d s (%dm%02ds)\n' "total" "$took" $((took / 60)) $((took % 60))
if ((${#failed[@]})); then exit 1; fi
