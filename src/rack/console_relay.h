/*
 * A VM's console for `rackvm rack console NAME`: a Unix stream socket STATE/NAME.console
 * (connectable by the rack's user only) whose clients get the VM's console output as it
 * comes, and whose bytes go to the VM's standard input, that is its serial console
 * (rackvm run passes a non-terminal's bytes through unchanged). It outlives restarts of
 * the VM: a client stays attached to the next boot. A client that does not keep up
 * with the output is disconnected rather than allowed to stall the VM's log.
 */
#ifndef RACKVM_RACK_CONSOLE_RELAY_H
#define RACKVM_RACK_CONSOLE_RELAY_H

#include <poll.h>

#include "common.h"

#define RACK_CONSOLE_CLIENTS 4

struct console_relay {
    int listen_fd;
    int clients[RACK_CONSOLE_CLIENTS];  /* -1: free */
    int vm_in;                          /* write end of the VM's stdin; -1 while it is down */
    char path[108];
};

/* Listens on path (a file left there is replaced). -1 with why in err. */
int console_relay_open(struct console_relay *c, const char *path, char *err, size_t errlen);
/* Closes the socket and every client and removes the file. */
void console_relay_close(struct console_relay *c);
/* The fds to poll: at most 1 + RACK_CONSOLE_CLIENTS entries into fds; returns how many. */
unsigned console_relay_pollfds(const struct console_relay *c, struct pollfd *fds);
/* Accepts clients and passes their input on, from the revents of those entries. */
void console_relay_serve(struct console_relay *c, const struct pollfd *fds, unsigned n);
/* The VM's output, to every client. */
void console_relay_output(struct console_relay *c, const char *buf, size_t n);

#endif
