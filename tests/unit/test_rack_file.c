/* The rack file's reader: a good file read whole, and bad ones refused with file:line: key. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rack/rack_file.h"
#include "unit.h"

static char dir[] = "/tmp/rackvm-rackfile-XXXXXX";

static void write_file(const char *name, const char *text)
{
    char path[128];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    fputs(text, f);
    fclose(f);
}

/* Loads text as rack.yaml; on failure err holds the message. */
static struct rack_file *load(const char *text, char *err, size_t errlen)
{
    write_file("rack.yaml", text);
    char path[128];
    snprintf(path, sizeof(path), "%s/rack.yaml", dir);
    err[0] = '\0';
    return rack_file_load(path, err, errlen);
}

/* The file is refused and the message contains each of want (":LINE: KEY:" etc). */
static void refused(const char *text, const char *want1, const char *want2)
{
    char err[1024];
    struct rack_file *rf = load(text, err, sizeof(err));
    CHECK(rf == NULL);
    rack_file_free(rf);
    if (!strstr(err, want1) || (want2 && !strstr(err, want2))) {
        fprintf(stderr, "message '%s' lacks '%s' / '%s'\n", err, want1, want2 ? want2 : "");
        unit_failures++;
    }
    CHECK(strstr(err, "rack.yaml:") != NULL);
}

static const char good[] =
    "networks:\n"
    "  lan:\n"
    "    uplink:\n"
    "      type: user\n"
    "      hostfwd: [\"tcp::8080-:80\", \"udp:127.0.0.1:5353-10.0.2.16:53\"]\n"
    "  back:\n"
    "vms:\n"
    "  web:\n"
    "    kernel: Image\n"
    "    initrd: initrd.gz\n"
    "    cmdline: console=ttyS0 quiet\n"
    "    memory: 96\n"
    "    cpus: 2\n"
    "    disks:\n"
    "      - {path: web.img, readonly: true}\n"
    "    nics:\n"
    "      - {network: lan, mac: \"52:54:00:00:00:01\"}\n"
    "      - network: back\n"
    "    restart: on-failure\n"
    "    restart_limit: {count: 3, window: 30}\n"
    "    shutdown_timeout: 2\n"
    "    limits: {memory: 300, cpu: 1.5}\n"
    "  db:\n"
    "    firmware: /dev/null\n";

int main(void)
{
    if (!mkdtemp(dir))
        return 1;
    write_file("Image", "k");
    write_file("initrd.gz", "i");
    write_file("web.img", "d");
    char err[1024];

    struct rack_file *rf = load(good, err, sizeof(err));
    CHECK(rf != NULL);
    if (!rf)
        fprintf(stderr, "good file refused: %s\n", err);
    if (rf) {
        CHECK(rf->nnetworks == 2 && rf->nvms == 2);
        CHECK(!strcmp(rf->networks[0].name, "lan") && rf->networks[0].uplink);
        CHECK(rf->networks[0].nhostfwd == 2 && !strcmp(rf->networks[0].hostfwd[0], "tcp::8080-:80"));
        CHECK(!strcmp(rf->networks[1].name, "back") && !rf->networks[1].uplink);
        struct rack_vm *web = &rf->vms[0];
        CHECK(!strcmp(web->name, "web"));
        /* Paths are the file's directory's, whatever the working directory. */
        CHECK(web->kernel && !strncmp(web->kernel, dir, strlen(dir)) && strstr(web->kernel, "/Image"));
        CHECK(web->initrd && strstr(web->initrd, "/initrd.gz"));
        CHECK(!strcmp(web->cmdline, "console=ttyS0 quiet"));
        CHECK(web->memory_mib == 96 && web->cpus == 2);
        CHECK(web->ndisks == 1 && web->disks[0].readonly && strstr(web->disks[0].path, "/web.img"));
        CHECK(web->nnics == 2 && web->nics[0].network == 0 && web->nics[1].network == 1);
        CHECK(!strcmp(web->nics[0].mac, "52:54:00:00:00:01") && !web->nics[1].mac);
        CHECK(web->restart == RACK_RESTART_ON_FAILURE);
        CHECK(web->restart_count == 3 && web->restart_window == 30 && web->shutdown_timeout == 2);
        struct rack_vm *db = &rf->vms[1];
        CHECK(!strcmp(db->firmware, "/dev/null") && !db->kernel);
        CHECK(db->memory_mib == 128 && db->cpus == 1 && db->restart == RACK_RESTART_NO);
        CHECK(db->shutdown_timeout == 10 && db->restart_count == 5);
        /* Limits: as given; by default guest RAM + 32 MiB a vCPU + 64 MiB, no CPU limit. */
        CHECK(web->limit_memory_mib == 300 && web->limit_cpu_millis == 1500);
        CHECK(db->limit_memory_mib == 128 + 32 + 64 && db->limit_cpu_millis == 0);
        /* A root rack's ids by default: web, db, then lan's and back's groups. */
        CHECK(rf->first_id == RACK_FIRST_ID_DEFAULT && rack_ids_used(rf) == 4);
        CHECK(rack_vm_id(rf, 1) == RACK_FIRST_ID_DEFAULT + 1);
        CHECK(rack_network_gid(rf, 0) == RACK_FIRST_ID_DEFAULT + 2);
    }
    rack_file_free(rf);
    rf = load("users: {first_id: 3000}\nvms:\n  a:\n    kernel: Image\n", err, sizeof(err));
    CHECK(rf && rf->first_id == 3000 && rack_vm_id(rf, 0) == 3000);
    rack_file_free(rf);

    refused("vms: [\n", "YAML", NULL);
    refused("vms:\n  a:\n    kernel: Image\n    colour: red\n", ":4: colour: unknown key", NULL);
    refused("vms:\n  a:\n    kernel: Image\n  a:\n    kernel: Image\n", ":4: a: a second VM", NULL);
    refused("vms:\n  a:\n    kernel: missing.img\n", ":3: kernel:", "missing.img: No such file");
    refused("vms:\n  a:\n    kernel: Image\n    memory: lots\n", ":4: memory: needs a whole number", NULL);
    refused("vms:\n  a:\n    kernel: Image\n    cpus: 0\n", ":4: cpus:", NULL);
    refused("vms:\n  a:\n    kernel: Image\n    restart: sometimes\n", ":4: restart: needs no, on-failure", NULL);
    refused("vms:\n  a:\n    kernel: Image\n    nics: [{network: wan}]\n", ":4: network: 'wan' is not", NULL);
    refused("networks:\n  lan:\nvms:\n  a:\n    kernel: Image\n    nics: [{network: lan, mac: nope}]\n",
            ":6: mac:", NULL);
    refused("networks:\n  lan:\n    uplink: {hostfwd: [\"tcp::x-:80\"]}\nvms:\n  a:\n    kernel: Image\n",
            ":3: hostfwd:", NULL);
    refused("networks:\n  lan:\n    uplink: {type: tap}\nvms:\n  a:\n    kernel: Image\n", ":3: type:", NULL);
    refused("vms:\n  a:\n    cmdline: x\n", ":3: a: needs a kernel or a firmware", NULL);
    refused("networks: {}\n", "vms: missing", NULL);
    refused("vms:\n  a b:\n    kernel: Image\n", "a b: a VM name", NULL);
    refused("vm:\n  a:\n    kernel: Image\n", ":1: vm: unknown key", NULL);
    refused("users: {first_id: 0}\nvms:\n  a:\n    kernel: Image\n", ":1: first_id:", "1000 to");
    refused("users: {first_id: 2147483647}\nvms:\n  a:\n    kernel: Image\n  b:\n    kernel: Image\n",
            "users: first_id 2147483647 + 2 ids goes past", NULL);
    refused("users: {uid: 5}\nvms:\n  a:\n    kernel: Image\n", ":1: uid: unknown key", NULL);
    refused("vms:\n  a:\n    kernel: Image\n    limits: {cpu: lots}\n", ":4: cpu: needs a number of CPUs", NULL);
    refused("vms:\n  a:\n    kernel: Image\n    limits: {cpu: 0}\n", ":4: cpu:", "0.01 to 64");
    refused("vms:\n  a:\n    kernel: Image\n    limits: {swap: 1}\n", ":4: swap: unknown key", NULL);
    refused("vms:\n  a:\n    kernel: Image\n    memory: 256\n    limits: {memory: 200}\n",
            ":3: a: limits: memory 200 MiB is less than the VM's memory (256 MiB)", NULL);

    CHECK(rack_file_load("/nonexistent/rack.yaml", err, sizeof(err)) == NULL);
    CHECK(strstr(err, "/nonexistent/rack.yaml: No such file") != NULL);

    const char *names[] = { "rack.yaml", "Image", "initrd.gz", "web.img" };
    for (unsigned i = 0; i < 4; i++) {
        char path[128];
        snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
        unlink(path);
    }
    rmdir(dir);
    UNIT_DONE();
}
