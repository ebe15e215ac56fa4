#!/usr/bin/env bash
# Stacks that run: build every generated Dockerfile and start every compose stack with Podman,
# then check each service answers its health endpoint and real requests against a real Redis.
# Usage: bash scripts/stacks/run.sh [--work DIR] [--only LAB/TRACK]...   (see docs/stacks.md)
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
work="$root/target/tmp/stacks"
pass=()
while [ $# -gt 0 ]; do
  case "$1" in
    --work) work=$2; shift 2 ;;
    --only) pass+=(--only "$2"); shift 2 ;;
    *) echo "usage: $0 [--work DIR] [--only LAB/TRACK]..." >&2; exit 2 ;;
  esac
done
mkdir -p "$work"
work=$(cd "$work" && pwd)
start=$(date +%s)
say() { echo "[stacks] $*"; }
fail() { echo "[stacks] FAILED: $*" >&2; exit 1; }

# 1. Podman, runc and debootstrap from Debian (and what the runner uses: PyYAML, make, openssl).
need=()
for pair in podman:podman runc:runc debootstrap:debootstrap make:make openssl:openssl; do
  command -v "${pair%%:*}" >/dev/null || need+=("${pair#*:}")
done
/usr/bin/python3 -c 'import yaml' 2>/dev/null || need+=(python3-yaml)
# Service names resolve inside a stack's network through CNI's dnsname plugin (with dnsmasq).
[ -x /usr/lib/cni/dnsname ] || need+=(golang-github-containernetworking-plugin-dnsname)
if [ ${#need[@]} -gt 0 ]; then
  say "installing from Debian: ${need[*]}"
  apt-get update -qq || fail "apt-get update"
  DEBIAN_FRONTEND=noninteractive apt-get install -o DPkg::Lock::Timeout=600 -y -qq \
    --no-install-recommends "${need[@]}" >/dev/null || fail "apt-get install ${need[*]}"
fi

# 2. Podman configured for this machine, its storage under the work folder: runc as the runtime,
# cgroupfs (no systemd here), and ulimits within this machine's hard limits (Podman's defaults
# for open files and processes are above them, and runc then refuses to start a container).
conf="$work/conf"
mkdir -p "$conf" "$work/storage" "$work/run" "$work/tmp"
nofile=$(ulimit -Hn); nproc=$(ulimit -Hu)
[ "$nofile" = unlimited ] && nofile=1048576
[ "$nproc" = unlimited ] && nproc=4194304
[ "$nofile" -gt 65536 ] && nofile=65536
[ "$nproc" -gt 32768 ] && nproc=32768
cat > "$conf/storage.conf" <<EOF
[storage]
driver = "overlay"
graphroot = "$work/storage"
runroot = "$work/run"
EOF
cat > "$conf/containers.conf" <<EOF
[containers]
default_ulimits = ["nofile=$nofile:$nofile", "nproc=$nproc:$nproc"]
[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
EOF
export CONTAINERS_STORAGE_CONF="$conf/storage.conf" CONTAINERS_CONF="$conf/containers.conf"
export TMPDIR="$work/tmp"
say "$(podman --version), $(runc --version | head -1), debootstrap $(dpkg-query -W -f '${Version}' debootstrap)"
say "podman storage: $work/storage (runtime runc, ulimits nofile=$nofile nproc=$nproc)"

# Everything started here carries the label io.lab.stacks=1 and lives in this storage: on any
# exit, remove what is left of it.
cleanup() {
  podman ps -aq --filter label=io.lab.stacks=1 2>/dev/null | xargs -r podman rm -f -t 2 >/dev/null 2>&1 || true
  podman network ls -q --filter label=io.lab.stacks=1 2>/dev/null | xargs -r podman network rm -f >/dev/null 2>&1 || true
  podman volume ls -q 2>/dev/null | grep '^stacks-' | xargs -r podman volume rm -f >/dev/null 2>&1 || true
}
trap cleanup EXIT

# 3. The project's binary renders each lab's reference solution.
say "building the lab binary"
(cd "$root" && cargo build --locked --quiet --bin lab) || fail "cargo build --locked --bin lab"
lab_bin="${CARGO_TARGET_DIR:-$root/target}/debug/lab"

# 4-5. Base images, builds, stacks and checks.
status=0
/usr/bin/python3 "$root/scripts/stacks/stacks.py" --work "$work" --lab-bin "$lab_bin" "${pass[@]}" || status=$?
cleanup
left=$(podman ps -aq | wc -l)
say "containers left running or stopped: $left"
[ "$left" -eq 0 ] || status=1
say "total $(( $(date +%s) - start ))s"
exit "$status"
