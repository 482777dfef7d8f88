# Sourced by the bench scripts that boot the guest, once `root` (the repository) is set.
# bench_setup NAME TOOL...: sets rackvm ($RACKVM, else build/rackvm), logs (build/bench,
# created) and guest (the integration harness's guest search, tests/integration/lib.py),
# or exits saying what is missing and how to get it.
bench_setup() {
    local name=$1 tool
    shift
    rackvm=${RACKVM:-$root/build/rackvm}
    logs=$root/build/bench
    guest=$(python3 -c 'import sys; sys.path.insert(0, sys.argv[1]); from lib import find_guest
g = find_guest(); print(g.directory if g else "")' "$root/tests/integration")
    [ -n "$guest" ] || { echo "$name: no guest; run scripts/build-guest.sh" >&2; exit 1; }
    [ -x "$rackvm" ] || { echo "$name: $rackvm missing; run make" >&2; exit 1; }
    for tool in "$@"; do
        command -v "$tool" >/dev/null || { echo "$name: $tool missing; run scripts/deps.sh --all" >&2; exit 1; }
    done
    mkdir -p "$logs"
}

# rss_split PID: "total_kib ram_kib pss_outside_ram_kib" of one VM process: all resident
# pages, those of the guest RAM mapping (the anonymous mapping of exactly $memory MiB,
# which the caller sets), and the PSS of every other mapping.
rss_split() {
    awk -v ram_kib=$((memory * 1024)) '
        /^[0-9a-f]+-[0-9a-f]+ / { anon = (NF < 6) }
        /^Size:/ { size = $2; is_ram = 0 }
        /^Rss:/ { total += $2; if (anon && size == ram_kib) { ram += $2; is_ram = 1 } }
        /^Pss:/ { if (!is_ram) pss += $2 }
        END { print total + 0, ram + 0, pss + 0 }' "/proc/$1/smaps"
}
