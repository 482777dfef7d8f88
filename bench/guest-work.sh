#!/usr/bin/env bash
# In-guest workloads of issue 11, under rackvm and under QEMU's virt board (TCG), in one
# run: busybox sha256sum of 64 MiB, gzip -c of 32 MiB, and a CPU-bound shell loop (LOOP
# turns of integer arithmetic, no system calls) run as one process on a 1-hart guest, then
# as one and as two concurrent processes on a 2-hart guest. The data is the guest's own
# busybox binary repeated (machine code: it compresses like real data, and the repeat is
# far beyond gzip's 32 KiB window), made in tmpfs before the clock starts. The workloads
# are a script in a second cpio archive appended to the guest's initramfs, run with
# autorun=; it times each from /proc/uptime, so boot does not count. The four VMs run
# RUNS times in turn (bench/runs.sh; about 5 minutes for 3 on an idle 2-core host).
# Prints every figure's median and range, the ratios of the medians and the 2-hart
# throughput gain, which needs two idle host CPUs (hence the load average printed
# beside it, and the host's own gain from a second thread on a native shell loop, taken
# before each run: two of a VM host's CPUs can share a physical core); then the host CPU
# time (user + system, every thread) each VM process used during each workload, read
# from /proc when the console prints its begin and end lines (to 0.05 s): other jobs on
# the host move it less than they move wall time, which also counts the time a hart
# waits for a host CPU, and it shows what a second hart costs in work done. Last, the
# 1-process loop at the pace of its fastest tenth (it runs in ten timed parts): on a
# host whose L2 cache is shared outside the VM, one binary's loop moves between a fast
# and a slow pace (0.85 and 1.9 ns a guest instruction) in stretches of 0.3-3 s, so a
# whole run's time says which stretches it met; the fastest tenth says what each
# emulator does when the caches are its own. LOOP must be a multiple of 10. No
# assertions.
#   RUNS=3 LOOP=200000 MEMORY=512 bench/guest-work.sh
# The guest is $RACKVM_GUEST_DIR, else guest/ (scripts/build-guest.sh), else ../shared/guest.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
loop_turns=${LOOP:-200000}
case $loop_turns in
'' | *[!0-9]* | *[1-9] | 0) echo "LOOP=$loop_turns: want a count of turns, a multiple of 10" >&2; exit 2 ;;
esac
memory=${MEMORY:-512}

. "$root/bench/guest-setup.sh"
. "$root/bench/runs.sh"
bench_setup bench/guest-work.sh cpio gzip qemu-system-riscv64

# The guest's initramfs plus an archive holding /guestwork.sh. Its first argument (from
# the kernel command line's guestwork=) picks the 1-hart or the 2-hart part.
initrd=$logs/guest-work-initramfs.cpio.gz
staging=$(mktemp -d)
trap 'rm -rf "$staging"' EXIT
cat >"$staging/guestwork.sh" <<SCRIPT
#!/bin/sh
now() { cut -d' ' -f1 /proc/uptime; }
# Prints "BEGIN name", then "WORK name seconds" for the command in "\$2".
timed() {
    echo "BEGIN \$1"
    start=\$(now)
    eval "\$2"
    end=\$(now)
    echo "WORK \$1 \$(awk "BEGIN { print \$end - \$start }")"
}
spin() {
    i=0
    while [ \$i -lt $loop_turns ]; do i=\$((i + 1)); done
}
# The same turns in ten parts, printing "PART name centiseconds" for each, read from
# /proc/uptime with builtins only (no fork between the parts): whole seconds times 100,
# plus the two decimals read behind a 1, less 100. Read alone, "0.98" gave 098, an
# invalid octal number to the shell, in a guest that booted in under a second.
spin_parts() {
    for tenth in 1 2 3 4 5 6 7 8 9 10; do
        read -r up _ </proc/uptime
        part_start=\$((\${up%.*} * 100 + 1\${up#*.} - 100))
        i=0
        while [ \$i -lt $((loop_turns / 10)) ]; do i=\$((i + 1)); done
        read -r up _ </proc/uptime
        part_end=\$((\${up%.*} * 100 + 1\${up#*.} - 100))
        echo "PART \$1 \$((part_end - part_start))"
    done
}
part=1
for arg in \$(cat /proc/cmdline); do
    case "\$arg" in guestwork=*) part="\${arg#guestwork=}" ;; esac
done
if [ "\$part" = 1 ]; then
    while [ \$(stat -c %s /tmp/data32 2>/dev/null || echo 0) -lt 33554432 ]; do
        cat /bin/busybox >>/tmp/data32
    done
    truncate -s 32M /tmp/data32
    cat /tmp/data32 /tmp/data32 >/tmp/data64
    timed sha256 "sha256sum /tmp/data64 >/dev/null"
    timed gzip "gzip -c /tmp/data32 >/dev/null"
    rm -f /tmp/data32 /tmp/data64
    timed loop1 "spin_parts loop1"
else
    timed loop1 "spin_parts loop1"
    timed loop2 "spin & spin & wait"
fi
# The VM powers off when this returns: the bench reads its CPU time at the last WORK
# line before that.
sleep 1
SCRIPT
chmod +x "$staging/guestwork.sh"
cp "$guest/initramfs.cpio.gz" "$initrd"
(cd "$staging" && echo guestwork.sh | cpio --quiet -o -H newc -R 0:0 | gzip -9) >>"$initrd"

clock_ticks=$(getconf CLK_TCK)
# Host CPU seconds (user + system, all threads) process $1 has used so far, or nan.
cpu_seconds() {
    awk -v hz="$clock_ticks" '{ sub(/^.*\) /, ""); print ($12 + $13) / hz }' "/proc/$1/stat" 2>/dev/null || echo nan
}

# Runs one VM with $1 harts; appends the guest's figures (s, or nan) to the globals
# name_<work>_<harts>, and the VM process's host CPU seconds during each workload to
# cpu_name_<work>_<harts>. The console is read as it grows for the workloads' BEGIN and
# WORK lines, with shell builtins and one sleep per poll, so as to take little CPU
# from the VM.
measure() {
    local name=$1 harts=$2 run=$3
    shift 3
    local log=$logs/guest-work-$name-$harts-$run.log
    echo "run $run: $name, $harts hart(s) (console: ${log#"$root"/})"
    : >"$log"
    timeout -k 5 1800 "$@" </dev/null >"$log" 2>&1 &
    local waiter=$! vm='' console line='' partial='' work
    local -A cpu_at_begin=() cpu_of=()
    exec {console}<"$log"
    while kill -0 "$waiter" 2>/dev/null; do
        [ -n "$vm" ] || vm=$(cut -d' ' -f1 "/proc/$waiter/task/$waiter/children" 2>/dev/null)
        # read fails at the end of what is written, leaving a line's start in line.
        while IFS= read -r -u "$console" line; do
            line=${partial}${line%$'\r'}
            partial=''
            case $line in
            "BEGIN "*)
                work=${line#BEGIN }
                cpu_at_begin[$work]=$(cpu_seconds "$vm") ;;
            "WORK "*)
                work=${line#WORK }
                work=${work%% *}
                local begin=${cpu_at_begin[$work]:-nan} end
                end=$(cpu_seconds "$vm")
                [[ "$begin $end" =~ ^[0-9.]+\ [0-9.]+$ ]] && cpu_of[$work]=$(awk "BEGIN { print $end - $begin }") ;;
            esac
        done
        partial+=$line
        sleep 0.05
    done
    exec {console}<&-
    wait "$waiter" || true
    local ok=0
    grep -q 'GUEST-EXIT 0' "$log" && ok=1
    for work in sha256 gzip loop1 loop2; do
        local v c list=${name}_${work}_$harts cpu_list=cpu_${name}_${work}_$harts
        v=$(sed -n "s/^WORK $work \([0-9.]*\).*/\1/p" "$log" | head -n 1)
        c=${cpu_of[$work]:-nan}
        [ $ok = 1 ] && [ -n "$v" ] || v=nan
        [ $ok = 1 ] && [[ $c =~ ^[0-9.]+$ ]] || c=nan
        printf -v "$list" '%s' "${!list:-} $v"
        printf -v "$cpu_list" '%s' "${!cpu_list:-} $c"
    done
    # The 1-process loop at its fastest tenth's pace: ten times its quickest part.
    local fastest fast_list=fast_${name}_loop1_$harts
    fastest=$(sed -n 's/^PART loop1 \([0-9]*\).*/\1/p' "$log" | sort -n | head -n 1)
    if [ $ok = 1 ] && [ -n "$fastest" ]; then
        fastest=$(awk "BEGIN { print $fastest / 10 }")
    else
        fastest=nan
    fi
    printf -v "$fast_list" '%s' "${!fast_list:-} $fastest"
}

# The host's own gain from a second thread, in each run's conditions: a native shell loop
# of HOST_LOOP turns alone, then two at once. Where the host's two CPUs share a physical
# core, or other jobs load it, this falls below 2 and caps both emulators' 2-hart gain.
host_turns=${HOST_LOOP:-500000}
host_spin() { sh -c "i=0; while [ \$i -lt $host_turns ]; do i=\$((i + 1)); done"; }
host_one='' host_both=''
host_control() {
    local t0 t1 t2
    t0=$(date +%s.%N)
    host_spin
    t1=$(date +%s.%N)
    host_spin &
    host_spin
    wait
    t2=$(date +%s.%N)
    host_one="$host_one $(awk "BEGIN { print $t1 - $t0 }")"
    host_both="$host_both $(awk "BEGIN { print $t2 - $t1 }")"
}

cmdline="console=ttyS0 autorun=/guestwork.sh"
for run in $(seq "$runs"); do
    host_control
    for harts in 1 2; do
        measure rackvm $harts "$run" "$rackvm" run --kernel "$guest/Image" --initrd "$initrd" \
            --cmdline "$cmdline guestwork=$harts" --memory "${memory}M" --cpus $harts
        measure qemu $harts "$run" qemu-system-riscv64 -M virt -m "$memory" -smp $harts -nographic \
            -bios default -kernel "$guest/Image" -initrd "$initrd" -append "$cmdline guestwork=$harts" \
            -no-reboot
    done
done

# Throughput of two processes against one, per run: 2 * one's time / both's time.
gains() {
    local one=($1) both=($2) i
    for i in "${!one[@]}"; do
        case "${one[i]} ${both[i]}" in
        *nan*) echo nan ;;
        *) awk "BEGIN { printf \"%.2f\", 2 * ${one[i]} / ${both[i]} }"; echo ;;
        esac
    done
}

echo
host_line
echo "guest: $guest, ${memory} MiB; loop: $loop_turns turns of a busybox sh arithmetic loop"
format='%-30s %22s %22s %12s\n'
printf "$format" workload "rackvm (s)" "qemu (s)" "rackvm/qemu"
row() {
    printf "$format" "$1" "$(spread_of $2)" "$(spread_of $3)" "$(ratio_of "$(median_of $2)" "$(median_of $3)")"
}
row "sha256sum 64 MiB (1 hart)" "$rackvm_sha256_1" "$qemu_sha256_1"
row "gzip -c 32 MiB (1 hart)" "$rackvm_gzip_1" "$qemu_gzip_1"
row "loop, 1 process (1 hart)" "$rackvm_loop1_1" "$qemu_loop1_1"
row "loop, 1 process (2 harts)" "$rackvm_loop1_2" "$qemu_loop1_2"
row "loop, 2 processes (2 harts)" "$rackvm_loop2_2" "$qemu_loop2_2"
printf "$format" "2-hart throughput (x), 2 vs 1" "$(spread_of $(gains "$rackvm_loop1_2" "$rackvm_loop2_2"))" \
    "$(spread_of $(gains "$qemu_loop1_2" "$qemu_loop2_2"))"
printf "$format" "host's own 2-thread gain (x)" "$(spread_of $(gains "$host_one" "$host_both"))" "" ""
echo
printf "$format" "host CPU during the workload" "rackvm (s)" "qemu (s)" "rackvm/qemu"
row "sha256sum 64 MiB (1 hart)" "$cpu_rackvm_sha256_1" "$cpu_qemu_sha256_1"
row "gzip -c 32 MiB (1 hart)" "$cpu_rackvm_gzip_1" "$cpu_qemu_gzip_1"
row "loop, 1 process (1 hart)" "$cpu_rackvm_loop1_1" "$cpu_qemu_loop1_1"
row "loop, 1 process (2 harts)" "$cpu_rackvm_loop1_2" "$cpu_qemu_loop1_2"
row "loop, 2 processes (2 harts)" "$cpu_rackvm_loop2_2" "$cpu_qemu_loop2_2"
echo
printf "$format" "loop at its fastest tenth's pace" "rackvm (s)" "qemu (s)" "rackvm/qemu"
row "loop, 1 process (1 hart)" "$fast_rackvm_loop1_1" "$fast_qemu_loop1_1"
row "loop, 1 process (2 harts)" "$fast_rackvm_loop1_2" "$fast_qemu_loop1_2"
