/*
 * What the control socket acts on: the VM of one `rackvm run`, and the commands it
 * answers (status, pause, resume, stop, reset, stats; the table is control_commands).
 * A guest reboot replaces the machine: rackvm run attaches each one in turn, and
 * between two the commands that need one say the VM is restarting.
 */
#ifndef RACKVM_API_CONTROL_H
#define RACKVM_API_CONTROL_H

#include <pthread.h>

#include "api/protocol.h"

struct machine;

struct api_vm {
    pthread_mutex_t lock;       /* held while a command runs: a machine is not destroyed under it */
    struct machine *m;          /* NULL between two machines */
    unsigned shutdown_timeout;  /* --shutdown-timeout: how long a stop waits for the guest */
    uint64_t start_ns;          /* monotonic time rackvm started, for uptime */
    uint64_t stop_deadline_ns;  /* a stop pressed the power button: force it then; 0: none */
    int statm_fd;               /* /proc/self/statm, opened before the sandbox forbids opens */
};

extern const struct api_command control_commands[];
extern const size_t control_ncommands;

void api_vm_init(struct api_vm *vm, unsigned shutdown_timeout);
void api_vm_destroy(struct api_vm *vm);
/* The machine commands act on from now on (NULL: none); waits for a command under way. */
void api_vm_attach(struct api_vm *vm, struct machine *m);
/* Answers one request line (see api_answer) with the commands above, under vm->lock. */
char *api_vm_answer(struct api_vm *vm, const char *line, size_t len);
/*
 * Forces a stop whose power-button deadline has passed. Returns the milliseconds until
 * the next deadline, or -1 when none is pending (a poll timeout).
 */
int api_vm_check_deadline(struct api_vm *vm);

#endif
