/* rackvm's entry point: dispatches to one subcommand per file (cmd_<name>.c). */
#include <stdio.h>
#include <string.h>

#include "cli/cmd_image.h"
#include "cli/cmd_rack.h"
#include "cli/cmd_run.h"
#include "cli/cmd_switch.h"
#include "cli/version.h"

static void usage(FILE *out)
{
    fputs("usage: rackvm <command> [options]\n"
          "\n"
          "commands:\n"
          "  run        boot one virtual machine (rackvm run --help)\n"
          "  image      build a bootable Debian disk image (rackvm image --help)\n"
          "  switch     run a virtual Ethernet switch for VMs (rackvm switch --help)\n"
          "  rack       run and supervise a rack of VMs from a YAML file (rackvm rack --help)\n"
          "\n"
          "  --help     show this help\n"
          "  --version  show the version\n"
          "\n",
          out);
    cmd_run_usage(out);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (!strcmp(argv[1], "run"))
        return cmd_run(argc - 1, argv + 1);
    if (!strcmp(argv[1], "image"))
        return cmd_image(argc - 1, argv + 1);
    if (!strcmp(argv[1], "rack"))
        return cmd_rack(argc - 1, argv + 1);
    if (!strcmp(argv[1], "switch"))
        return cmd_switch(argc - 1, argv + 1);
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        usage(stdout);
        return 0;
    }
    if (!strcmp(argv[1], "--version")) {
        printf("rackvm %s\n", RACKVM_VERSION);
        return 0;
    }
    fprintf(stderr, "rackvm: unknown command '%s' (try rackvm --help)\n", argv[1]);
    return 2;
}
