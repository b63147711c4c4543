#!/usr/bin/env bash
# Checks the shipped systemd files: `systemd-analyze verify` on the service, and the sysusers
# and tmpfiles entries parsed by their own tools, all without touching the running system.
# The unit names /usr/bin/capi-reconciler, which verify requires to exist, so a copy with the
# binary replaced by /bin/true (or by $1, e.g. the freshly built daemon) is verified instead.
# Usage: tests/systemd/verify.sh [BINARY]
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
binary=$(realpath "${1:-/bin/true}")

for tool in systemd-analyze systemd-sysusers systemd-tmpfiles; do
  command -v "$tool" >/dev/null || { echo "verify.sh: $tool not found (apt-get install systemd)" >&2; exit 1; }
done

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

sed "s|/usr/bin/capi-reconciler|$binary|g" "$root/systemd/capi-reconciler.service" >"$work/capi-reconciler.service"
# verify prints problems but, for some of them (unknown directives), still exits 0: fail on any output.
output=$(SYSTEMD_LOG_LEVEL=notice systemd-analyze verify --man=no "$work/capi-reconciler.service" 2>&1) || {
  echo "$output" >&2
  exit 1
}
if [[ -n "$output" ]]; then
  echo "$output" >&2
  exit 1
fi

# --dry-run parses the entries against a scratch root and reports what it would create.
sysusers=$(systemd-sysusers --root="$work/root" --dry-run "$root/systemd/capi-reconciler.sysusers" 2>&1) || {
  echo "$sysusers" >&2
  exit 1
}
grep -q "capi-reconciler" <<<"$sysusers" || {
  echo "verify.sh: sysusers did not pick up the capi-reconciler user:" >&2
  echo "$sysusers" >&2
  exit 1
}

mkdir -p "$work/root/etc"
printf 'capi-reconciler:x:900:\n' >"$work/root/etc/group"
printf 'capi-reconciler:x:900:900::/nonexistent:/usr/sbin/nologin\n' >"$work/root/etc/passwd"
tmpfiles="$root/systemd/capi-reconciler.tmpfiles"
if [[ $(id -u) -ne 0 ]]; then
  # Without root the chown cannot happen: check the syntax and modes with owners left as they are.
  awk '/^[[:space:]]*(#|$)/ {print; next} {$4 = "-"; $5 = "-"; print}' "$tmpfiles" >"$work/unowned.tmpfiles"
  tmpfiles="$work/unowned.tmpfiles"
fi
systemd-tmpfiles --root="$work/root" --create "$tmpfiles"
[[ $(stat -c '%a' "$work/root/etc/capi-reconciler") == 750 ]] || { echo "verify.sh: /etc/capi-reconciler is not 0750" >&2; exit 1; }

echo "systemd files OK"
