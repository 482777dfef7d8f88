/*
 * The rack supervisor (`rackvm rack up`): runs the rack file's networks and VMs as child
 * processes and keeps them to their restart policies until `down` or SIGINT/SIGTERM.
 *
 * Every network is a `rackvm switch` child (a process, not a thread: the switch and its
 * NAT uplink parse guest traffic, so a fault there must not take the supervisor down);
 * every VM a `rackvm run ... --api-socket STATE/NAME.sock --on-reboot exit` child, each
 * sandboxed on its own, in its own process group (a terminal's Ctrl-C reaches only the
 * supervisor, which then stops the VMs in order). A VM's console (its stdout and stderr)
 * comes through a pipe into STATE/NAME.log, rotated to NAME.log.1 at RACK_LOG_MAX bytes.
 *
 * How a VM ended, whether its policy restarts it and after what back-off, within its
 * budget of restarts per window, is restart_policy.h's to say; a stop or down asked
 * for is never followed by a restart. A VM out of budget stays down, state "failed",
 * with the reason for `ps`.
 *
 * The rack's control socket STATE/rack.sock speaks the protocol of api/protocol.h
 * (commands: ps, logs, start, stop, restart, pause, resume, down; see rack_commands).
 */
#ifndef RACKVM_RACK_SUPERVISOR_H
#define RACKVM_RACK_SUPERVISOR_H

#include "rack/rack_file.h"

#define RACK_LOG_MAX (1024 * 1024)

/* Runs the rack until it is down: 0, or 1 when it could not start (said on stderr).
 * rackvm_exe: the rackvm binary the children run. State changes go to stdout. */
int rack_supervise(const struct rack_file *rf, const char *state_dir, const char *rackvm_exe);

/* The rack's control socket in state_dir (path holds at least 108 bytes). */
void rack_socket_path(const char *state_dir, char *path, size_t len);

#endif
