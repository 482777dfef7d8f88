/*
 * libFuzzer target: `rackvm run`'s option parser over an argv built from the input, split
 * at NUL bytes (at most MAX_ARGS words of MAX_INPUT bytes in all). The parser must
 * answer every argv by return value, never exit or print, and what it accepts must be a
 * configuration the board can build: harts, memory and virtio slots within bounds.
 */
#include <stdlib.h>
#include <string.h>

#include "cli/cmd_run.h"

#define MAX_INPUT 4096
#define MAX_ARGS 64

static void check_config(const struct run_options *o)
{
    const struct machine_config *c = &o->cfg;
    if (c->nharts < 1 || c->nharts > MACHINE_MAX_HARTS)
        abort();
    if (c->memory_size < (16ULL << 20) || c->memory_size > (64ULL << 30))
        abort();
    if (c->ndisks + c->rng + (c->console == CONSOLE_VIRTIO) + c->nnets > VIRT_VIRTIO_COUNT)
        abort();
    if (!c->kernel_path && c->firmware != FIRMWARE_FILE && !o->restore_dir)
        abort();  /* only a snapshot to resume does without something to boot */
    if ((c->firmware == FIRMWARE_FILE && !c->firmware_path) || !c->cmdline)
        abort();  /* a later --firmware builtin may leave an unused path behind */
    if (c->nnets && c->nets != o->nets)
        abort();
    for (unsigned i = 0; i < c->ndisks; i++)
        if (!c->disks[i].path || !c->disks[i].path[0])
            abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char buf[MAX_INPUT + 1];
    static char word0[] = "run";
    char *argv[MAX_ARGS + 2];
    if (size > MAX_INPUT)
        size = MAX_INPUT;
    memcpy(buf, data, size);
    buf[size] = '\0';
    int argc = 0;
    argv[argc++] = word0;
    for (char *p = buf; p < buf + size && argc <= MAX_ARGS; p += strlen(p) + 1)
        argv[argc++] = p;
    argv[argc] = NULL;

    struct run_options o;
    char err[512] = "";
    switch (run_options_parse(argc, argv, &o, err, sizeof(err))) {
    case RUN_PARSE_OK: check_config(&o); break;
    case RUN_PARSE_BAD:
        if (!err[0])
            abort();  /* a refusal always says why */
        break;
    case RUN_PARSE_HELP:
    case RUN_PARSE_VERSION: break;
    default: abort();
    }
    return 0;
}
