/* `rackvm switch`: runs a virtual Ethernet switch (switch/switch.h) until SIGINT/SIGTERM. */
#ifndef RACKVM_CMD_SWITCH_H
#define RACKVM_CMD_SWITCH_H

#include <stdio.h>

int cmd_switch(int argc, char **argv);
void cmd_switch_usage(FILE *out);

#endif
