/* `rackvm run`: parses its options, boots one VM, and maps how it stopped to an exit status. */
#ifndef RACKVM_CMD_RUN_H
#define RACKVM_CMD_RUN_H

int cmd_run(int argc, char **argv);

#endif
