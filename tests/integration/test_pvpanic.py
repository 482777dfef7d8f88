"""pvpanic: the guest sees a `qemu,pvpanic-mmio` node, and a PANICKED event written to
its register stops the VM at once with exit status 3 and "guest panicked".

Neither the reference kernel nor Debian 13's riscv64 kernel builds the pvpanic driver
(CONFIG_PVPANIC is unset in both), so the guest writes the event the driver's panic
notifier would write, from user space through /dev/mem with busybox's devmem."""

from lib import GuestTestCase

GUEST_PANIC_STATUS = 3
PVPANIC_BASE = 0x102000


class PvpanicTest(GuestTestCase):

    def test_panic_event_stops_the_vm_with_the_panic_status(self):
        with self.boot("console=ttyS0") as g:
            g.wait_for(r"GUEST-READY")
            g.send("cat /proc/device-tree/soc/pvpanic@%x/compatible; echo\n" % PVPANIC_BASE)
            g.wait_for(r"qemu,pvpanic-mmio")
            g.send("echo CAPS=$(devmem 0x%x 8)\n" % PVPANIC_BASE)
            g.wait_for(r"CAPS=0x03")
            g.send("devmem 0x%x 8 1\n" % PVPANIC_BASE)
            self.assertEqual(g.wait_exit(timeout=30), GUEST_PANIC_STATUS, g.tail())
            self.assertIn("rackvm: guest panicked", g.errors)
