/* `rackvm run`: parses its options, boots one VM, and maps how it stopped to an exit status. */
#ifndef RACKVM_CMD_RUN_H
#define RACKVM_CMD_RUN_H

#include <stdio.h>

int cmd_run(int argc, char **argv);
/* The run command's option list, also shown by `rackvm --help`. */
void cmd_run_usage(FILE *out);

#endif
