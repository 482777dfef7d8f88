#!/usr/bin/env python3
"""Runs every tests/integration/test_*.py, or the files matching each pattern given as
an argument (e.g. `run.py test_boot.py 'test_r*.py'`; one that matches nothing is an
error), prints the slowest tests (the suite has a 20-minute budget, so where its time goes
is worth seeing on every run), and ends with one line "integration: N passed, N failed,
N skipped"; exit status 1 when anything failed."""

import os
import sys
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))


class TimedResult(unittest.TextTestResult):
    """Records each test's wall time since the previous test ended, so that a class's
    setUpClass (often a guest boot) counts in its first test and the times add up."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.durations = []
        self._last = time.monotonic()

    def stopTest(self, test):
        now = time.monotonic()
        self.durations.append((now - self._last, test.id()))
        self._last = now
        super().stopTest(test)


def main():
    sys.path.insert(0, HERE)
    suite = unittest.TestSuite()
    for pattern in sys.argv[1:] or ["test_*.py"]:
        found = unittest.defaultTestLoader.discover(HERE, pattern=pattern, top_level_dir=HERE)
        if found.countTestCases() == 0:
            print("run.py: no integration test matches %r" % pattern, file=sys.stderr)
            return 2
        suite.addTest(found)
    started = time.monotonic()
    result = unittest.TextTestRunner(verbosity=2, stream=sys.stdout,
                                     resultclass=TimedResult).run(suite)
    print("slowest tests (of %.0f s in all):" % (time.monotonic() - started))
    for seconds, name in sorted(result.durations, reverse=True)[:15]:
        print("  %6.1f s  %s" % (seconds, name))
    failed = len(result.failures) + len(result.errors) + len(result.unexpectedSuccesses)
    skipped = len(result.skipped)
    passed = result.testsRun - failed - skipped
    print("integration: %d passed, %d failed, %d skipped" % (passed, failed, skipped))
    return 1 if failed or result.testsRun == 0 else 0


if __name__ == "__main__":
    sys.exit(main())
