/* `rackvm rack`: runs a rack of VMs from a YAML file (rack/supervisor.h) and drives it
 * through the rack's control socket (ps, logs, start, stop, restart, pause, resume, down). */
#ifndef RACKVM_CMD_RACK_H
#define RACKVM_CMD_RACK_H

#include <stdio.h>

int cmd_rack(int argc, char **argv);
void cmd_rack_usage(FILE *out);

#endif
