/*
 * A GDB remote serial protocol server for one VM (`rackvm run --gdb tcp:HOST:PORT`).
 * It sits above the board: it reads and writes harts and guest memory through
 * cpu/debug.h and stops the VM through machine.h; neither includes this header.
 *
 * What gdb sees: a riscv:rv64 target (target.xml: GPRs and pc, FPRs with fflags, frm and
 * fcsr, the machine and supervisor CSRs, the privilege level), one thread per hart, all
 * of them stopped whenever one is (all-stop), the VM paused meanwhile (machine_pause:
 * guest time and the devices stand still). Memory is read and written by guest
 * virtual address as the selected hart sees it, RAM only. Breakpoints (Z0 and Z1) are
 * the monitor's: guest memory is never patched. One client at a time, on a TCP port;
 * after it detaches or goes away, the VM runs on and the next client may attach.
 */
#ifndef RACKVM_GDB_STUB_H
#define RACKVM_GDB_STUB_H

#include <stddef.h>
#include <stdint.h>

#include "machine/machine.h"

/* Where the stub listens: an IPv4 address and a TCP port. */
struct gdb_address {
    char host[64];
    uint16_t port;
};

/*
 * Parses "tcp:HOST:PORT" (HOST an IPv4 address or localhost; "tcp::PORT" means
 * 127.0.0.1): 0, or -1 with the reason in err.
 */
int gdb_parse_address(const char *arg, struct gdb_address *out, char *err, size_t errlen);

struct gdb_stub;

/*
 * Listens at addr and serves gdb clients for m from a thread of its own, until
 * gdb_stub_stop. With wait, every hart stops before its first instruction, until a client
 * lets it go. Call after machine_create, before machine_run. NULL after printing why.
 */
struct gdb_stub *gdb_stub_start(struct machine *m, const struct gdb_address *addr, bool wait);
/* Ends the session (a client attached is told the VM exited) and frees the stub; after
 * machine_run returned. */
void gdb_stub_stop(struct gdb_stub *s);

#endif
