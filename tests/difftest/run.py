#!/usr/bin/env python3
"""Differential CPU test: random programs from gen.py run under rackvm and QEMU, compared.

  tests/difftest/run.py [--seconds N]     as many seeds as fit in N seconds (default 60)
  tests/difftest/run.py --seed N          one seed (e.g. to re-run a reported reproducer)

Exits 1 on any divergence, after printing the first differing line, the shrunk
instruction trail and the reproducer paths (full and shrunk assembly, ELF).
"""

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, HERE)
import gen  # noqa: E402

CC = "riscv64-unknown-elf-gcc"
CFLAGS = ["-march=rv64gc_zfh_zba_zbb_zbs_zbc_zbkb_zbkx_zknd_zkne_zknh_zksed_zksh", "-mabi=lp64d", "-nostdlib", "-static",
          "-T", os.path.join(HERE, "link.ld"), "-Wl,--no-warn-rwx-segments"]
# QEMU 7.2 has these but enables only Zbc by default (Zfh is spelled so); it has no Zicond.
QEMU_CPU = ("rv64,zbc=true,zbkb=true,zbkx=true,zknd=true,zkne=true,zknh=true,zksed=true,"
            "zksh=true,Zfh=true")
LINE = re.compile(r"^[^=]+=[0-9a-f]+$")


def assemble(asm_text, stem):
    with open(stem + ".S", "w") as f:
        f.write(asm_text)
    r = subprocess.run([CC] + CFLAGS + ["-o", stem + ".elf", stem + ".S"],
                       capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError("assembler failed on %s.S:\n%s" % (stem, r.stderr))
    return stem + ".elf"


def start(cmd, stderr=subprocess.STDOUT):
    return subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=stderr)


def finish(proc, timeout):
    """The register-dump lines of one emulator run, plus a note if it did not end cleanly."""
    try:
        out, _ = proc.communicate(timeout=timeout)
        note = None if proc.returncode == 0 else "exit status %d" % proc.returncode
    except subprocess.TimeoutExpired:
        proc.kill()
        out, _ = proc.communicate()
        note = "timeout after %ds" % timeout
    text = out.decode("latin-1").replace("\r", "")
    lines = [ln for ln in text.split("\n") if LINE.match(ln)]
    if note:
        lines.append("<%s; last output: %r>" % (note, text[-200:]))
    return lines


class Runner:
    def __init__(self, args):
        self.rackvm = args.rackvm
        self.jit = args.jit
        self.qemu = args.qemu
        self.timeout = args.timeout
        self.runs = 0

    def run_elf(self, elf):
        """(rackvm lines, qemu lines), both emulators running at once."""
        self.runs += 1
        # "reference": every instruction through the reference executor (--trace), its
        # per-instruction log on stderr discarded so that it cannot split dump lines.
        if self.jit == "reference":
            r = start([self.rackvm, "run", "--firmware", "none", "--jit", "off", "--trace",
                       "--kernel", elf], stderr=subprocess.DEVNULL)
        else:
            r = start([self.rackvm, "run", "--firmware", "none", "--jit", self.jit, "--kernel", elf])
        q = start([self.qemu, "-M", "virt", "-cpu", QEMU_CPU, "-bios", "none", "-nographic", "-kernel", elf])
        return finish(r, self.timeout), finish(q, self.timeout)

    def compare(self, init, body, stem, seed=None):
        """None if both agree, else (index, rackvm line, qemu line) of the first difference."""
        elf = assemble(gen.render(init, body, seed), stem)
        ours, theirs = self.run_elf(elf)
        for i in range(max(len(ours), len(theirs))):
            a = ours[i] if i < len(ours) else "<missing>"
            b = theirs[i] if i < len(theirs) else "<missing>"
            if a != b:
                return i, a, b
        return None


def shrink(runner, init, body, stem, budget):
    """Shortest diverging prefix, then greedily drop earlier items while it still diverges."""
    deadline = time.time() + budget

    def diverges(items):
        return runner.compare(init, items, stem) is not None

    lo, hi = 0, len(body)  # invariant: prefix hi diverges; prefix lo assumed not to
    while hi - lo > 1 and time.time() < deadline:
        mid = (lo + hi) // 2
        if diverges(body[:mid]):
            hi = mid
        else:
            lo = mid
    items = body[:hi]
    chunk = max(1, (len(items) - 1) // 2)
    while chunk >= 1 and time.time() < deadline:
        i = 0
        changed = False
        while i < len(items) - 1 and time.time() < deadline:
            trial = items[:i] + items[min(i + chunk, len(items) - 1):]
            if len(trial) < len(items) and diverges(trial):
                items = trial
                changed = True
            else:
                i += chunk
        if not changed:
            chunk //= 2
    return items


def registers_in(text):
    return sorted(set(re.findall(r"\b([xf]\d+)\b", text)), key=lambda r: (r[0], int(r[1:])))


def report_failure(runner, seed, init, body, diff, outdir, do_shrink, budget):
    stem = os.path.join(outdir, "seed-%d" % seed)
    index, ours, theirs = diff
    print("DIVERGENCE seed %d: first difference at output line %d" % (seed, index + 1))
    print("    rackvm: %s" % ours)
    print("    qemu:   %s" % theirs)
    print("    reproducer: %s.S (%s.elf)" % (stem, stem))
    if not do_shrink:
        return
    min_stem = stem + "-min"
    items = shrink(runner, init, body, min_stem, budget)
    mdiff = runner.compare(init, items, min_stem, seed)
    if mdiff is None:  # flaky or budget ran out mid-way: keep the full program
        print("    (shrinking did not reproduce; see the full program)")
        return
    print("    shrunk to %d of %d items: %s.S" % (len(items), len(body), min_stem))
    print("    shrunk first difference: rackvm %s | qemu %s" % (mdiff[1], mdiff[2]))
    text = "\n".join(it.text() for it in items)
    inits = []
    for reg in registers_in(text):
        n = int(reg[1:])
        if reg[0] == "x" and n in init["x"]:
            inits.append("%s=0x%016x" % (reg, init["x"][n]))
        elif reg[0] == "f":
            inits.append("%s=0x%016x" % (reg, init["f"][n]))
    print("    initial values: frm=%d %s" % (init["frm"], " ".join(inits)))
    print("    trail (last item is where it first diverges):")
    for n, it in enumerate(items):
        print("      %3d: %s" % (n, it.text()))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=60, help="time budget (default 60)")
    ap.add_argument("--seed", type=int, help="run only this seed")
    ap.add_argument("--start-seed", type=int, help="first seed (default: random, printed)")
    ap.add_argument("--length", type=int, default=300, help="items per program")
    ap.add_argument("--rackvm", default=os.path.join(ROOT, "build", "rackvm"))
    ap.add_argument("--jit", default="on", choices=["on", "off", "eager", "reference"],
                    help="rackvm's --jit: eager translates every block, so the translator is what "
                         "runs; reference runs every instruction through the reference executor")
    ap.add_argument("--qemu", default="qemu-system-riscv64")
    ap.add_argument("--out-dir", default=os.path.join(ROOT, "build", "difftest"))
    ap.add_argument("--timeout", type=int, default=10, help="per emulator run, seconds")
    ap.add_argument("--no-shrink", action="store_true")
    ap.add_argument("--shrink-seconds", type=float, default=60, help="per failing seed")
    ap.add_argument("--max-failures", type=int, default=5,
                    help="stop after this many diverging seeds")
    ap.add_argument("--avoid", action="append", default=[], choices=sorted(gen.KNOWN_OPEN),
                    help="skip a known-open divergence (see KNOWN_OPEN in gen.py)")
    args = ap.parse_args()
    os.makedirs(args.out_dir, exist_ok=True)
    if args.seed is not None:
        seeds = iter([args.seed])
    else:
        first = args.start_seed if args.start_seed is not None else \
            int.from_bytes(os.urandom(3), "little")
        print("difftest: seeds from %d, %gs budget" % (first, args.seconds))
        seeds = iter(range(first, first + 10 ** 9))
    deadline = time.time() + args.seconds
    failures = []
    tested = 0
    with tempfile.TemporaryDirectory(prefix="difftest-") as tmp:
        # Run a private copy: a concurrent `make` may relink the binary mid-run.
        for _ in range(30):
            if os.access(args.rackvm, os.X_OK):
                break
            time.sleep(1)
        else:
            sys.exit("run.py: %s not found; run make first" % args.rackvm)
        args.rackvm = shutil.copy2(args.rackvm, os.path.join(tmp, "rackvm"))
        runner = Runner(args)
        for seed in seeds:
            if args.seed is None and time.time() >= deadline:
                break
            g = gen.Generator(seed, args.length)
            g.avoid = [gen.KNOWN_OPEN[a] for a in args.avoid]
            init, body = g.generate()
            diff = runner.compare(init, body, os.path.join(tmp, "t"), seed)
            tested += 1
            if diff is None:
                continue
            assemble(gen.render(init, body, seed), os.path.join(args.out_dir, "seed-%d" % seed))
            report_failure(runner, seed, init, body, diff, args.out_dir, not args.no_shrink,
                           args.shrink_seconds)
            failures.append(seed)
            if len(failures) >= args.max_failures:
                break
    print("difftest: %d seeds, %d diverged%s" %
          (tested, len(failures), (": " + " ".join(map(str, failures))) if failures else ""))
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
