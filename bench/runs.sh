# Sourced by the benches that compare rackvm with QEMU (POSIX sh): the run protocol. Wall
# times on a shared host move by up to a third between runs of one binary, so each bench
# runs rackvm and QEMU alternately $RUNS times (default 3) and reports per figure the
# median and the range of each, and the ratio of the medians.
runs=${RUNS:-3}
case $runs in
'' | *[!0-9]* | 0) echo "RUNS=$runs: want a count of runs, 1 or more" >&2; exit 2 ;;
esac

# median_of VALUE...: the median of the numeric values ("nan" for a failed run is left
# out), or nan when none is numeric.
median_of() {
    printf '%s\n' "$@" | grep -E '^[0-9.]+$' | sort -g |
        awk '{ v[NR] = $1 } END { if (!NR) print "nan"; else if (NR % 2) print v[(NR + 1) / 2];
              else printf "%.3f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# spread_of VALUE...: "median (min-max)", and how many runs failed if any did.
spread_of() {
    printf '%s\n' "$@" | grep -E '^[0-9.]+$' | sort -g | awk -v total=$# '
        { v[++n] = $1 }
        END {
            if (!n) { print "nan"; exit }
            m = n % 2 ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
            printf "%.4g (%.4g-%.4g)", m, v[1], v[n]
            if (n < total) printf " %d failed", total - n
            print ""
        }'
}

# ratio_of A B: A / B with two decimals, or nan.
ratio_of() {
    case "$1 $2" in
    *nan*) echo nan ;;
    *) awk "BEGIN { printf \"%.2f\", $1 / $2 }" ;;
    esac
}

# The host line every bench prints last: CPU model, count, and the load average when the
# bench started and when it ended (the bench itself adds about one per busy hart; the
# rest is other jobs, whose share of the host's CPUs a figure taken beside them lacks).
load_at_start=$(cut -d' ' -f1-3 /proc/loadavg)
host_line() {
    echo "host: $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1), $(nproc) CPUs;" \
        "load average $load_at_start at the start, $(cut -d' ' -f1-3 /proc/loadavg) at the end"
    echo "$runs alternating runs of each; figures are median (min-max)"
}
