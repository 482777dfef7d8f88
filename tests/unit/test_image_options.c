/*
 * `rackvm image create` option parsing: what is accepted, and each refusal with the
 * message the user sees after "rackvm: image create: ". The parser opens no file.
 */
#include <string.h>

#include "cli/cmd_image.h"
#include "common.h"
#include "unit.h"

static struct image_options opts;
static char err[512];

/* Parses a NULL-terminated word list, "create" first (the parser may permute argv). */
static enum image_parse parse(const char **words)
{
    char *argv[32];
    int argc = 0;
    while (words[argc] && argc < 31) {
        argv[argc] = (char *)words[argc];
        argc++;
    }
    argv[argc] = NULL;
    err[0] = '\0';
    return image_options_parse(argc, argv, &opts, err, sizeof(err));
}

#define WORDS(...) ((const char *[]){ "create", __VA_ARGS__, NULL })
#define CHECK_REFUSED(msg, words)                                                        \
    do {                                                                                 \
        CHECK(parse(words) == IMAGE_PARSE_BAD);                                          \
        CHECK_STREQ(err, (msg));                                                         \
    } while (0)

static void test_accepted(void)
{
    CHECK(parse(WORDS("d.img")) == IMAGE_PARSE_OK);
    CHECK(!strcmp(opts.output, "d.img") && !strcmp(opts.hostname, "debian"));
    CHECK_EQ_U64(opts.size, 4ULL << 30);
    CHECK(!strcmp(opts.packages, "") && !opts.ssh_key && !opts.password_file && !opts.force);
    CHECK(parse(WORDS("--size", "3G", "d.img", "--packages", "nginx,libc6-dev,g++-14,x.y",
                      "--hostname", "web-1", "--ssh-key", "k.pub", "--root-password-file", "pw",
                      "--force")) == IMAGE_PARSE_OK);
    CHECK_EQ_U64(opts.size, 3ULL << 30);
    CHECK(!strcmp(opts.packages, "nginx,libc6-dev,g++-14,x.y") && !strcmp(opts.hostname, "web-1"));
    CHECK(!strcmp(opts.ssh_key, "k.pub") && !strcmp(opts.password_file, "pw") && opts.force);
    CHECK(parse(WORDS("--help")) == IMAGE_PARSE_HELP);
}

static void test_refused(void)
{
    CHECK_REFUSED("which image? (rackvm image create IMG [options])", WORDS("--force"));
    CHECK_REFUSED("unexpected argument 'b.img' (try rackvm image --help)", WORDS("a.img", "b.img"));
    CHECK_REFUSED("--size: 1G is too small (2 GiB to 16 TiB: Debian with its kernel needs "
                  "about 1.2 GB)", WORDS("d.img", "--size", "1G"));
    CHECK_REFUSED("--size: invalid size 'big' (use e.g. 4G)", WORDS("d.img", "--size", "big"));
    /* each bad name is named alone: upper case, empty between commas, one letter, a ';' */
    static const char *const bad_lists[][2] = {
        { "a1,Nginx", "Nginx" }, { "less,,vim", "" }, { "x", "x" }, { "a;rm", "a;rm" } };
    for (size_t i = 0; i < ARRAY_SIZE(bad_lists); i++) {
        char msg[200];
        snprintf(msg, sizeof(msg), "--packages: '%s' is not a Debian package name (lower case "
                 "letters, digits, + - .; separated by commas)", bad_lists[i][1]);
        CHECK_REFUSED(msg, WORDS("d.img", "--packages", bad_lists[i][0]));
    }
    CHECK_REFUSED("--hostname: 'web_1' is not a host name (letters, digits and inner hyphens, "
                  "at most 63)", WORDS("d.img", "--hostname", "web_1"));
    CHECK_REFUSED("--hostname: '-web' is not a host name (letters, digits and inner hyphens, "
                  "at most 63)", WORDS("d.img", "--hostname", "-web"));
    CHECK_REFUSED("option '--ssh-key' needs a value", WORDS("d.img", "--ssh-key"));
    CHECK_REFUSED("unknown option '--sise' (try rackvm image --help)",
                  WORDS("d.img", "--sise", "4G"));
}

int main(void)
{
    test_accepted();
    test_refused();
    UNIT_DONE();
}
