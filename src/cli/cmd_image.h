/*
 * `rackvm image create IMG [options]`: a bootable Debian 13 riscv64 disk image. This file
 * checks the options and the host (output, key and password files, root) so that bad
 * input fails before anything is built, then hands over to scripts/image-create.sh,
 * found next to the binary (BIN/../scripts: build/rackvm runs from its source tree),
 * which debootstraps on the host and runs the riscv64 half in a rackvm VM.
 */
#ifndef RACKVM_CMD_IMAGE_H
#define RACKVM_CMD_IMAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

int cmd_image(int argc, char **argv);
void cmd_image_usage(FILE *out);

struct image_options {
    const char *output;          /* IMG */
    uint64_t size;               /* --size, bytes */
    const char *packages;        /* --packages, comma-separated; "" for none */
    const char *hostname;        /* --hostname */
    const char *ssh_key;         /* --ssh-key FILE.pub, or NULL */
    const char *password_file;   /* --root-password-file FILE, or NULL */
    bool force;                  /* --force: replace an existing IMG */
};

enum image_parse { IMAGE_PARSE_OK, IMAGE_PARSE_HELP, IMAGE_PARSE_BAD };

/*
 * Parses `create`'s argv (argv[0] is "create") into *o without touching files; on
 * IMAGE_PARSE_BAD err holds the message shown after "rackvm: image create: ".
 */
enum image_parse image_options_parse(int argc, char **argv, struct image_options *o, char *err,
                                     size_t errlen);

#endif
