/* The rack file's reader: libyaml's document tree, checked node by node (rack_file.h). */
#include "rack/rack_file.h"

#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <yaml.h>

#include "host/net_config.h"

/* What the checks need: the document, the file's name and directory, the error buffer. */
struct reader {
    yaml_document_t *doc;
    const char *path;
    char dir[PATH_MAX];
    yaml_node_t *key_node;  /* of the pair being read: errors about the key name its line */
    char *err;
    size_t errlen;
};

static int bad(struct reader *r, yaml_node_t *node, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* "FILE:LINE: KEY: message"; always -1. */
static int bad(struct reader *r, yaml_node_t *node, const char *key, const char *fmt, ...)
{
    char message[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(message, sizeof(message), fmt, ap);
    va_end(ap);
    snprintf(r->err, r->errlen, "%s:%zu: %s: %s", r->path,
             node ? node->start_mark.line + 1 : 1, key, message);
    return -1;
}

static const char *scalar(yaml_node_t *n)
{
    return n && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

static yaml_node_t *node_at(struct reader *r, int index)
{
    return yaml_document_get_node(r->doc, index);
}

static int want_string(struct reader *r, yaml_node_t *n, const char *key, char **out)
{
    const char *s = scalar(n);
    if (!s || !*s)
        return bad(r, n, key, "needs a non-empty string");
    free(*out);
    if (!(*out = strdup(s)))
        return bad(r, n, key, "out of memory");
    return 0;
}

static int want_uint(struct reader *r, yaml_node_t *n, const char *key, unsigned min,
                     unsigned max, unsigned *out)
{
    const char *s = scalar(n);
    char *end;
    errno = 0;
    unsigned long v = s && *s >= '0' && *s <= '9' ? strtoul(s, &end, 10) : 0;
    if (!s || *s < '0' || *s > '9' || *end || errno || v < min || v > max)
        return bad(r, n, key, "needs a whole number from %u to %u, not '%s'", min, max,
                   s ? s : "(a list or map)");
    *out = (unsigned)v;
    return 0;
}

static int want_bool(struct reader *r, yaml_node_t *n, const char *key, bool *out)
{
    const char *s = scalar(n);
    if (s && (!strcmp(s, "true") || !strcmp(s, "yes") || !strcmp(s, "on")))
        *out = true;
    else if (s && (!strcmp(s, "false") || !strcmp(s, "no") || !strcmp(s, "off")))
        *out = false;
    else
        return bad(r, n, key, "needs true or false");
    return 0;
}

/* A path relative to the rack file's directory, which must name an existing file. */
static int want_file(struct reader *r, yaml_node_t *n, const char *key, char **out)
{
    char *rel = NULL;
    if (want_string(r, n, key, &rel) < 0)
        return -1;
    char full[PATH_MAX * 2];
    snprintf(full, sizeof(full), "%s%s%s", rel[0] == '/' ? "" : r->dir,
             rel[0] == '/' ? "" : "/", rel);
    if (access(full, R_OK) != 0) {
        int e = errno;
        bad(r, n, key, "%s: %s", full, strerror(e));
        free(rel);
        return -1;
    }
    free(rel);
    free(*out);
    if (!(*out = strdup(full)))
        return bad(r, n, key, "out of memory");
    return 0;
}

/* Calls each(r, key, value, ctx) for every pair of a map; keys must be strings. */
typedef int (*pair_fn)(struct reader *r, const char *key, yaml_node_t *value, void *ctx);

static int each_pair(struct reader *r, yaml_node_t *map, const char *what, pair_fn each, void *ctx)
{
    if (!map || map->type != YAML_MAPPING_NODE)
        return bad(r, map, what, "needs a map (key: value lines)");
    for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++) {
        yaml_node_t *k = node_at(r, p->key);
        const char *key = scalar(k);
        if (!key)
            return bad(r, k, what, "a key must be a plain string");
        r->key_node = k;
        if (each(r, key, node_at(r, p->value), ctx) < 0)
            return -1;
    }
    return 0;
}

static int each_item(struct reader *r, yaml_node_t *seq, const char *what, unsigned max,
                     int (*each)(struct reader *, yaml_node_t *, void *), void *ctx)
{
    if (!seq || seq->type != YAML_SEQUENCE_NODE)
        return bad(r, seq, what, "needs a list");
    if ((size_t)(seq->data.sequence.items.top - seq->data.sequence.items.start) > max)
        return bad(r, seq, what, "at most %u entries", max);
    for (yaml_node_item_t *i = seq->data.sequence.items.start; i < seq->data.sequence.items.top; i++)
        if (each(r, node_at(r, *i), ctx) < 0)
            return -1;
    return 0;
}

static int unknown(struct reader *r, const char *key, const char *known)
{
    return bad(r, r->key_node, key, "unknown key (known: %s)", known);
}

/* ---- networks ---- */

struct network_ctx {
    struct rack_file *rf;
    struct rack_network *net;
};

static int hostfwd_item(struct reader *r, yaml_node_t *n, void *ctx)
{
    struct rack_network *net = ctx;
    char *fwd = NULL;
    if (want_string(r, n, "hostfwd", &fwd) < 0)
        return -1;
    char spec[256], why[160];
    struct net_config check;
    snprintf(spec, sizeof(spec), "user,hostfwd=%s", fwd);
    if (net_config_parse(spec, &check, why, sizeof(why)) < 0) {
        free(fwd);
        return bad(r, n, "hostfwd", "%s", why);
    }
    net->hostfwd[net->nhostfwd++] = fwd;
    return 0;
}

static int uplink_pair(struct reader *r, const char *key, yaml_node_t *v, void *ctx)
{
    struct rack_network *net = ctx;
    if (!strcmp(key, "type")) {
        const char *s = scalar(v);
        if (!s || strcmp(s, "user"))
            return bad(r, v, key, "the only uplink type is user (NAT to the host)");
        return 0;
    }
    if (!strcmp(key, "hostfwd"))
        return each_item(r, v, key, RACK_MAX_HOSTFWD, hostfwd_item, net);
    return unknown(r, key, "type, hostfwd");
}

static int network_pair(struct reader *r, const char *key, yaml_node_t *v, void *ctx)
{
    struct rack_network *net = ctx;
    if (!strcmp(key, "uplink")) {
        net->uplink = true;
        return each_pair(r, v, key, uplink_pair, net);
    }
    return unknown(r, key, "uplink");
}

static int networks_pair(struct reader *r, const char *key, yaml_node_t *v, void *ctx)
{
    struct rack_file *rf = ctx;
    for (unsigned i = 0; i < rf->nnetworks; i++)
        if (!strcmp(rf->networks[i].name, key))
            return bad(r, r->key_node, key, "a second network of that name");
    struct rack_network *net = &rf->networks[rf->nnetworks];
    if (!(net->name = strdup(key)))
        return bad(r, v, key, "out of memory");
    rf->nnetworks++;
    /* `lan:` with nothing after it is a network without an uplink. */
    if (v->type == YAML_SCALAR_NODE && !*scalar(v))
        return 0;
    return each_pair(r, v, key, network_pair, net);
}

/* ---- VMs ---- */

struct vm_ctx {
    struct rack_file *rf;
    struct rack_vm *vm;
};

static int disk_pair(struct reader *r, const char *key, yaml_node_t *v, void *ctx)
{
    struct rack_disk *d = ctx;
    if (!strcmp(key, "path"))
        return want_file(r, v, key, &d->path);
    if (!strcmp(key, "readonly"))
        return want_bool(r, v, key, &d->readonly);
    return unknown(r, key, "path, readonly");
}

static int disk_item(struct reader *r, yaml_node_t *n, void *ctx)
{
    struct rack_vm *vm = ctx;
    struct rack_disk *d = &vm->disks[vm->ndisks++];
    if (each_pair(r, n, "disks", disk_pair, d) < 0)
        return -1;
    return d->path ? 0 : bad(r, n, "disks", "a disk needs a path");
}

static int nic_pair(struct reader *r, const char *key, yaml_node_t *v, void *ctx)
{
    struct vm_ctx *c = ctx;
    struct rack_nic *nic = &c->vm->nics[c->vm->nnics - 1];
    if (!strcmp(key, "network")) {
        const char *s = scalar(v);
        for (unsigned i = 0; s && i < c->rf->nnetworks; i++) {
            if (!strcmp(c->rf->networks[i].name, s)) {
                nic->network = i + 1;  /* 0 while unset; made an index below */
                return 0;
            }
        }
        return bad(r, v, key, "'%s' is not one of the rack's networks", s ? s : "");
    }
    if (!strcmp(key, "mac")) {
        if (want_string(r, v, key, &nic->mac) < 0)
            return -1;
        char spec[64], why[160];
        struct net_config check;
        snprintf(spec, sizeof(spec), "switch=x,mac=%.20s", nic->mac);
        if (strlen(nic->mac) > 20 || net_config_parse(spec, &check, why, sizeof(why)) < 0)
            return bad(r, v, key, "'%s' is not a MAC address like 52:54:00:12:34:56", nic->mac);
        return 0;
    }
    return unknown(r, key, "network, mac");
}

static int nic_item(struct reader *r, yaml_node_t *n, void *ctx)
{
    struct vm_ctx *c = ctx;
    struct rack_nic *nic = &c->vm->nics[c->vm->nnics++];
    if (each_pair(r, n, "nics", nic_pair, c) < 0)
        return -1;
    if (!nic->network)
        return bad(r, n, "nics", "a NIC needs a network");
    nic->network--;
    return 0;
}

static int limit_pair(struct reader *r, const char *key, yaml_node_t *v, void *ctx)
{
    struct rack_vm *vm = ctx;
    if (!strcmp(key, "count"))
        return want_uint(r, v, key, 0, 1000, &vm->restart_count);
    if (!strcmp(key, "window"))
        return want_uint(r, v, key, 1, 86400, &vm->restart_window);
    return unknown(r, key, "count, window");
}

static int limits_pair(struct reader *r, const char *key, yaml_node_t *v, void *ctx)
{
    struct rack_vm *vm = ctx;
    if (!strcmp(key, "memory"))
        return want_uint(r, v, key, 16, 1 << 20, &vm->limit_memory_mib);
    if (!strcmp(key, "cpu")) {
        /* CPUs as a decimal (1.5: one and a half), kept in thousandths. */
        const char *s = scalar(v);
        char *end;
        errno = 0;
        double cpus = s && *s >= '0' && *s <= '9' ? strtod(s, &end) : 0;
        if (!s || *s < '0' || *s > '9' || *end || errno || cpus < 0.01 || cpus > 64)
            return bad(r, v, key, "needs a number of CPUs from 0.01 to 64 (1.5: one and a half), "
                       "not '%s'", s ? s : "(a list or map)");
        vm->limit_cpu_millis = (unsigned)(cpus * 1000 + 0.5);
        return 0;
    }
    return unknown(r, key, "memory, cpu");
}

static int vm_pair(struct reader *r, const char *key, yaml_node_t *v, void *ctx)
{
    struct vm_ctx *c = ctx;
    struct rack_vm *vm = c->vm;
    if (!strcmp(key, "kernel"))
        return want_file(r, v, key, &vm->kernel);
    if (!strcmp(key, "initrd"))
        return want_file(r, v, key, &vm->initrd);
    if (!strcmp(key, "firmware"))
        return want_file(r, v, key, &vm->firmware);
    if (!strcmp(key, "cmdline"))
        return want_string(r, v, key, &vm->cmdline);
    if (!strcmp(key, "memory"))
        return want_uint(r, v, key, 16, 65536, &vm->memory_mib);
    if (!strcmp(key, "cpus"))
        return want_uint(r, v, key, 1, 8, &vm->cpus);
    if (!strcmp(key, "disks"))
        return each_item(r, v, key, RACK_MAX_DISKS, disk_item, vm);
    if (!strcmp(key, "nics"))
        return each_item(r, v, key, RACK_MAX_NICS, nic_item, c);
    if (!strcmp(key, "restart")) {
        const char *s = scalar(v);
        if (s && !strcmp(s, "no"))
            vm->restart = RACK_RESTART_NO;
        else if (s && !strcmp(s, "on-failure"))
            vm->restart = RACK_RESTART_ON_FAILURE;
        else if (s && !strcmp(s, "always"))
            vm->restart = RACK_RESTART_ALWAYS;
        else
            return bad(r, v, key, "needs no, on-failure or always");
        return 0;
    }
    if (!strcmp(key, "restart_limit"))
        return each_pair(r, v, key, limit_pair, vm);
    if (!strcmp(key, "shutdown_timeout"))
        return want_uint(r, v, key, 0, 3600, &vm->shutdown_timeout);
    if (!strcmp(key, "limits"))
        return each_pair(r, v, key, limits_pair, vm);
    return unknown(r, key, "kernel, initrd, cmdline, firmware, memory, cpus, disks, nics, "
                   "restart, restart_limit, shutdown_timeout, limits");
}

static int vms_pair(struct reader *r, const char *key, yaml_node_t *v, void *ctx)
{
    struct rack_file *rf = ctx;
    for (unsigned i = 0; i < rf->nvms; i++)
        if (!strcmp(rf->vms[i].name, key))
            return bad(r, r->key_node, key, "a second VM of that name");
    for (const char *p = key; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              *p == '-' || *p == '_'))
            return bad(r, r->key_node, key, "a VM name is letters, digits, - and _");
    struct rack_vm *vm = &rf->vms[rf->nvms];
    *vm = (struct rack_vm){ .memory_mib = 128, .cpus = 1, .restart = RACK_RESTART_NO,
                            .restart_count = 5, .restart_window = 60,
                            .shutdown_timeout = 10 };
    if (!(vm->name = strdup(key)))
        return bad(r, v, key, "out of memory");
    rf->nvms++;
    struct vm_ctx c = { rf, vm };
    if (each_pair(r, v, key, vm_pair, &c) < 0)
        return -1;
    if (!vm->kernel && !vm->firmware)
        return bad(r, v, key, "needs a kernel or a firmware");
    unsigned least = rack_vm_default_memory_limit(vm);
    if (!vm->limit_memory_mib)
        vm->limit_memory_mib = least;
    else if (vm->limit_memory_mib < vm->memory_mib)
        return bad(r, v, key, "limits: memory %u MiB is less than the VM's memory (%u MiB); "
                   "the default is %u MiB", vm->limit_memory_mib, vm->memory_mib, least);
    return 0;
}

static size_t map_size(yaml_node_t *n)
{
    return n && n->type == YAML_MAPPING_NODE
               ? (size_t)(n->data.mapping.pairs.top - n->data.mapping.pairs.start) : 0;
}

static int users_pair(struct reader *r, const char *key, yaml_node_t *v, void *ctx)
{
    struct rack_file *rf = ctx;
    if (!strcmp(key, "first_id"))
        return want_uint(r, v, key, RACK_FIRST_ID_MIN, INT32_MAX, &rf->first_id);
    return unknown(r, key, "first_id");
}

static int top_pair(struct reader *r, const char *key, yaml_node_t *v, void *ctx)
{
    struct rack_file *rf = ctx;
    if (!strcmp(key, "users"))
        return each_pair(r, v, key, users_pair, rf);
    if (!strcmp(key, "networks")) {
        if (rf->networks)
            return bad(r, v, key, "given twice");
        if (!(rf->networks = calloc(map_size(v) + 1, sizeof(*rf->networks))))
            return bad(r, v, key, "out of memory");
        return each_pair(r, v, key, networks_pair, rf);
    }
    if (!strcmp(key, "vms")) {
        if (rf->vms)
            return bad(r, v, key, "given twice");
        if (!(rf->vms = calloc(map_size(v) + 1, sizeof(*rf->vms))))
            return bad(r, v, key, "out of memory");
        return each_pair(r, v, key, vms_pair, rf);
    }
    return unknown(r, key, "networks, vms, users");
}

/* Networks first, whatever their place in the file, so that NICs can name them. */
static int read_top(struct reader *r, struct rack_file *rf, yaml_node_t *root)
{
    if (!root || root->type != YAML_MAPPING_NODE)
        return bad(r, root, "(top)", "the file needs a map with networks: and vms:");
    yaml_node_t *vms = NULL;
    yaml_node_t *vms_key = NULL;
    for (yaml_node_pair_t *p = root->data.mapping.pairs.start; p < root->data.mapping.pairs.top; p++) {
        yaml_node_t *k = node_at(r, p->key);
        if (scalar(k) && !strcmp(scalar(k), "vms")) {
            if (vms)
                return bad(r, k, "vms", "given twice");
            vms = node_at(r, p->value);
            vms_key = k;
        } else if (!scalar(k)) {
            return bad(r, k, "(top)", "a key must be a plain string");
        } else {
            r->key_node = k;
            if (top_pair(r, scalar(k), node_at(r, p->value), rf) < 0)
                return -1;
        }
    }
    if (!rf->networks && !(rf->networks = calloc(1, sizeof(*rf->networks))))
        return bad(r, root, "networks", "out of memory");
    if (!vms)
        return bad(r, root, "vms", "missing: a rack needs at least one VM");
    if (!map_size(vms))
        return bad(r, vms_key, "vms", "needs at least one VM");
    r->key_node = vms_key;
    if (top_pair(r, "vms", vms, rf) < 0)
        return -1;
    /* uid_t is unsigned, but tools that take ids as signed misread those past 2^31 - 1. */
    if (rf->first_id + (uint64_t)rack_ids_used(rf) - 1 > INT32_MAX)
        return bad(r, root, "users", "first_id %u + %u ids goes past %d", rf->first_id,
                   rack_ids_used(rf), INT32_MAX);
    return 0;
}

struct rack_file *rack_file_load(const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return NULL;
    }
    struct reader r = { .path = path, .err = err, .errlen = errlen };
    char copy[PATH_MAX];
    snprintf(copy, sizeof(copy), "%s", path);
    if (!realpath(dirname(copy), r.dir))
        snprintf(r.dir, sizeof(r.dir), ".");
    yaml_parser_t parser;
    yaml_document_t doc;
    yaml_parser_initialize(&parser);
    yaml_parser_set_input_file(&parser, f);
    int loaded = yaml_parser_load(&parser, &doc);
    if (!loaded) {
        snprintf(err, errlen, "%s:%zu: YAML: %s%s%s", path, parser.problem_mark.line + 1,
                 parser.problem ? parser.problem : "cannot parse",
                 parser.context ? " " : "", parser.context ? parser.context : "");
    }
    yaml_parser_delete(&parser);
    fclose(f);
    if (!loaded)
        return NULL;
    struct rack_file *rf = calloc(1, sizeof(*rf));
    if (rf)
        rf->first_id = RACK_FIRST_ID_DEFAULT;
    r.doc = &doc;
    int rc = rf ? 0 : -1;
    if (!rf)
        snprintf(err, errlen, "%s: out of memory", path);
    else if (!(rf->path = strdup(path)))
        rc = bad(&r, NULL, "(top)", "out of memory");
    else
        rc = read_top(&r, rf, yaml_document_get_root_node(&doc));
    yaml_document_delete(&doc);
    if (rc < 0) {
        rack_file_free(rf);
        return NULL;
    }
    return rf;
}

void rack_file_free(struct rack_file *rf)
{
    if (!rf)
        return;
    for (unsigned i = 0; i < rf->nvms; i++) {
        struct rack_vm *vm = &rf->vms[i];
        free(vm->name);
        free(vm->kernel);
        free(vm->initrd);
        free(vm->cmdline);
        free(vm->firmware);
        for (unsigned d = 0; d < RACK_MAX_DISKS; d++)
            free(vm->disks[d].path);
        for (unsigned n = 0; n < RACK_MAX_NICS; n++)
            free(vm->nics[n].mac);
    }
    for (unsigned i = 0; i < rf->nnetworks; i++) {
        free(rf->networks[i].name);
        for (unsigned h = 0; h < rf->networks[i].nhostfwd; h++)
            free(rf->networks[i].hostfwd[h]);
    }
    free(rf->vms);
    free(rf->networks);
    free(rf->path);
    free(rf);
}

unsigned rack_ids_used(const struct rack_file *rf)
{
    return rf->nvms + rf->nnetworks;
}

uid_t rack_vm_id(const struct rack_file *rf, unsigned vm)
{
    return (uid_t)(rf->first_id + vm);
}

gid_t rack_network_gid(const struct rack_file *rf, unsigned network)
{
    return (gid_t)(rf->first_id + rf->nvms + network);
}

unsigned rack_vm_default_memory_limit(const struct rack_vm *vm)
{
    return vm->memory_mib + vm->cpus * RACK_JIT_MIB_PER_CPU + RACK_MONITOR_MIB;
}

const char *rack_restart_name(enum rack_restart r)
{
    static const char *const names[] = { "no", "on-failure", "always" };
    return names[r];
}
