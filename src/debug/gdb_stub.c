#include "debug/gdb_stub.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cpu/csr.h"
#include "cpu/debug.h"
#include "cpu/hart.h"

/* Largest packet either side sends, as told in qSupported (hex there). */
#define PACKET_SIZE 16384
/* How long a wait for the client or the harts sleeps before looking at the VM again. */
#define POLL_MS 10

/* gdb's RISC-V register numbers (gdb/riscv-tdep.h): CSRs follow at 65 + number. */
#define REG_PC 32
#define REG_F0 33
#define REG_CSR0 65
#define REG_PRIV (REG_CSR0 + 4096)

#define SIGNAL_INT 2
#define SIGNAL_TRAP 5

/* The CSRs described to gdb, by the names gdb knows them by. */
static const struct gdb_csr {
    unsigned number;
    const char *name;
} gdb_csrs[] = {
    { CSR_CYCLE, "cycle" }, { CSR_TIME, "time" }, { CSR_INSTRET, "instret" },
    { CSR_SSTATUS, "sstatus" }, { CSR_SIE, "sie" }, { CSR_STVEC, "stvec" },
    { CSR_SCOUNTEREN, "scounteren" }, { CSR_SENVCFG, "senvcfg" }, { CSR_SSCRATCH, "sscratch" },
    { CSR_SEPC, "sepc" }, { CSR_SCAUSE, "scause" }, { CSR_STVAL, "stval" }, { CSR_SIP, "sip" },
    { CSR_STIMECMP, "stimecmp" }, { CSR_SATP, "satp" },
    { CSR_MVENDORID, "mvendorid" }, { CSR_MARCHID, "marchid" }, { CSR_MIMPID, "mimpid" },
    { CSR_MHARTID, "mhartid" }, { CSR_MCONFIGPTR, "mconfigptr" },
    { CSR_MSTATUS, "mstatus" }, { CSR_MISA, "misa" }, { CSR_MEDELEG, "medeleg" },
    { CSR_MIDELEG, "mideleg" }, { CSR_MIE, "mie" }, { CSR_MTVEC, "mtvec" },
    { CSR_MCOUNTEREN, "mcounteren" }, { CSR_MENVCFG, "menvcfg" },
    { CSR_MCOUNTINHIBIT, "mcountinhibit" }, { CSR_MSCRATCH, "mscratch" }, { CSR_MEPC, "mepc" },
    { CSR_MCAUSE, "mcause" }, { CSR_MTVAL, "mtval" }, { CSR_MIP, "mip" },
    { CSR_MTINST, "mtinst" }, { CSR_MTVAL2, "mtval2" },
    { CSR_PMPCFG0, "pmpcfg0" }, { CSR_PMPCFG0 + 2, "pmpcfg2" },
    { CSR_PMPADDR0 + 0, "pmpaddr0" }, { CSR_PMPADDR0 + 1, "pmpaddr1" },
    { CSR_PMPADDR0 + 2, "pmpaddr2" }, { CSR_PMPADDR0 + 3, "pmpaddr3" },
    { CSR_PMPADDR0 + 4, "pmpaddr4" }, { CSR_PMPADDR0 + 5, "pmpaddr5" },
    { CSR_PMPADDR0 + 6, "pmpaddr6" }, { CSR_PMPADDR0 + 7, "pmpaddr7" },
    { CSR_PMPADDR0 + 8, "pmpaddr8" }, { CSR_PMPADDR0 + 9, "pmpaddr9" },
    { CSR_PMPADDR0 + 10, "pmpaddr10" }, { CSR_PMPADDR0 + 11, "pmpaddr11" },
    { CSR_PMPADDR0 + 12, "pmpaddr12" }, { CSR_PMPADDR0 + 13, "pmpaddr13" },
    { CSR_PMPADDR0 + 14, "pmpaddr14" }, { CSR_PMPADDR0 + 15, "pmpaddr15" },
    { CSR_MSECCFG, "mseccfg" }, { CSR_MCYCLE, "mcycle" }, { CSR_MINSTRET, "minstret" },
};

static const char *const gpr_names[32] = {
    "zero", "ra", "sp", "gp", "tp", "t0", "t1", "t2", "fp", "s1", "a0", "a1", "a2", "a3", "a4", "a5",
    "a6", "a7", "s2", "s3", "s4", "s5", "s6", "s7", "s8", "s9", "s10", "s11", "t3", "t4", "t5", "t6",
};

static const char *const fpr_names[32] = {
    "ft0", "ft1", "ft2", "ft3", "ft4", "ft5", "ft6", "ft7", "fs0", "fs1", "fa0", "fa1", "fa2", "fa3",
    "fa4", "fa5", "fa6", "fa7", "fs2", "fs3", "fs4", "fs5", "fs6", "fs7", "fs8", "fs9", "fs10", "fs11",
    "ft8", "ft9", "ft10", "ft11",
};

struct gdb_stub {
    struct machine *m;
    struct debugger dbg;
    struct gdb_address addr;
    int listen_fd, fd;
    pthread_t thread;
    _Atomic bool quit;
    bool noack;
    bool client_interrupted;  /* the client sent Ctrl-C: report SIGINT */
    bool paused;              /* the stub paused the VM (machine_pause) */
    struct hart *stop_hart;   /* the hart the last stop is reported for */
    struct hart *g_hart;      /* Hg: registers and memory */
    struct hart *c_hart;      /* Hc: legacy step */
    char *target_xml;
    size_t target_xml_len;
    uint8_t inbuf[4096];
    size_t inpos, inlen;
    char packet[PACKET_SIZE + 1];
    char reply[PACKET_SIZE + 1];
};

/* ---- the address ---- */

int gdb_parse_address(const char *arg, struct gdb_address *out, char *err, size_t errlen)
{
    const char *usage = "use tcp:HOST:PORT, e.g. tcp:127.0.0.1:1234 or tcp::1234";
    if (strncmp(arg, "tcp:", 4) != 0) {
        snprintf(err, errlen, "--gdb: '%s' is not a TCP address (%s)", arg, usage);
        return -1;
    }
    const char *host = arg + 4, *colon = strrchr(host, ':');
    if (!colon) {
        snprintf(err, errlen, "--gdb: '%s' has no port (%s)", arg, usage);
        return -1;
    }
    size_t hostlen = (size_t)(colon - host);
    char *end;
    long port = strtol(colon + 1, &end, 10);
    if (!colon[1] || *end || port < 1 || port > 65535) {
        snprintf(err, errlen, "--gdb: '%s' is not a port from 1 to 65535 (%s)", colon + 1, usage);
        return -1;
    }
    if (hostlen == 0 || (hostlen == 9 && !strncmp(host, "localhost", 9))) {
        snprintf(out->host, sizeof(out->host), "127.0.0.1");
    } else {
        struct in_addr a;
        if (hostlen >= sizeof(out->host) || (memcpy(out->host, host, hostlen), out->host[hostlen] = 0,
                                              inet_pton(AF_INET, out->host, &a) != 1)) {
            snprintf(err, errlen, "--gdb: '%.*s' is not an IPv4 address (%s)", (int)hostlen, host, usage);
            return -1;
        }
    }
    out->port = (uint16_t)port;
    return 0;
}

/* ---- target description ---- */

/* Appends to a growing string; false when out of memory. */
static bool append(char **s, size_t *len, size_t *cap, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static bool append(char **s, size_t *len, size_t *cap, const char *fmt, ...)
{
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(*s ? *s + *len : NULL, *s ? *cap - *len : 0, fmt, ap);
        va_end(ap);
        if (n < 0)
            return false;
        if (*s && *len + (size_t)n < *cap) {
            *len += (size_t)n;
            return true;
        }
        size_t cap2 = (*cap + (size_t)n + 1) * 2;
        char *s2 = realloc(*s, cap2);
        if (!s2)
            return false;
        *s = s2;
        *cap = cap2;
    }
}

static bool build_target_xml(struct gdb_stub *s)
{
    char *x = NULL;
    size_t len = 0, cap = 0;
    bool ok = append(&x, &len, &cap,
                     "<?xml version=\"1.0\"?>\n<!DOCTYPE target SYSTEM \"gdb-target.dtd\">\n"
                     "<target version=\"1.0\">\n<architecture>riscv:rv64</architecture>\n"
                     "<feature name=\"org.gnu.gdb.riscv.cpu\">\n");
    for (unsigned i = 0; ok && i < 32; i++)
        ok = append(&x, &len, &cap, "<reg name=\"%s\" bitsize=\"64\" regnum=\"%u\" type=\"%s\"/>\n",
                    gpr_names[i], i, i == 1 ? "code_ptr" : (i >= 2 && i <= 4) || i == 8 ? "data_ptr" : "int");
    ok = ok && append(&x, &len, &cap,
                      "<reg name=\"pc\" bitsize=\"64\" regnum=\"%d\" type=\"code_ptr\"/>\n</feature>\n"
                      "<feature name=\"org.gnu.gdb.riscv.fpu\">\n", REG_PC);
    for (unsigned i = 0; ok && i < 32; i++)
        ok = append(&x, &len, &cap, "<reg name=\"%s\" bitsize=\"64\" regnum=\"%u\" type=\"ieee_double\"/>\n",
                    fpr_names[i], REG_F0 + i);
    ok = ok && append(&x, &len, &cap,
                      "<reg name=\"fflags\" bitsize=\"32\" regnum=\"%d\" type=\"int\"/>\n"
                      "<reg name=\"frm\" bitsize=\"32\" regnum=\"%d\" type=\"int\"/>\n"
                      "<reg name=\"fcsr\" bitsize=\"32\" regnum=\"%d\" type=\"int\"/>\n</feature>\n"
                      "<feature name=\"org.gnu.gdb.riscv.csr\">\n",
                      REG_CSR0 + CSR_FFLAGS, REG_CSR0 + CSR_FRM, REG_CSR0 + CSR_FCSR);
    for (unsigned i = 0; ok && i < ARRAY_SIZE(gdb_csrs); i++)
        ok = append(&x, &len, &cap, "<reg name=\"%s\" bitsize=\"64\" regnum=\"%u\" type=\"int\"/>\n",
                    gdb_csrs[i].name, REG_CSR0 + gdb_csrs[i].number);
    ok = ok && append(&x, &len, &cap,
                      "</feature>\n<feature name=\"org.gnu.gdb.riscv.virtual\">\n"
                      "<reg name=\"priv\" bitsize=\"64\" regnum=\"%d\" type=\"int\"/>\n"
                      "</feature>\n</target>\n", REG_PRIV);
    if (!ok) {
        free(x);
        return false;
    }
    s->target_xml = x;
    s->target_xml_len = len;
    return true;
}

/* ---- registers ---- */

static const struct gdb_csr *find_csr(unsigned reg)
{
    for (unsigned i = 0; i < ARRAY_SIZE(gdb_csrs); i++)
        if (REG_CSR0 + gdb_csrs[i].number == reg)
            return &gdb_csrs[i];
    return NULL;
}

static bool is_fp_csr(unsigned reg)
{
    return reg >= REG_CSR0 + CSR_FFLAGS && reg <= REG_CSR0 + CSR_FCSR;
}

/* Register reg of h and its size in bytes; false when gdb has no such register here. */
static bool reg_read(struct hart *h, unsigned reg, uint64_t *v, unsigned *size)
{
    *size = 8;
    if (reg < 32)
        *v = h->arch.x[reg];
    else if (reg == REG_PC)
        *v = h->arch.pc;
    else if (reg >= REG_F0 && reg < REG_F0 + 32)
        *v = h->arch.f[reg - REG_F0];
    else if (reg == REG_PRIV)
        *v = h->arch.priv;
    else if (is_fp_csr(reg) || find_csr(reg)) {
        *size = is_fp_csr(reg) ? 4 : 8;
        return csr_read(h, reg - REG_CSR0, v);
    } else
        return false;
    return true;
}

static bool reg_write(struct hart *h, unsigned reg, uint64_t v)
{
    if (reg < 32) {
        if (reg)
            h->arch.x[reg] = v;
    } else if (reg == REG_PC) {
        h->arch.pc = v;
    } else if (reg >= REG_F0 && reg < REG_F0 + 32) {
        h->arch.f[reg - REG_F0] = v;
    } else if (reg == REG_PRIV) {
        if (v != PRIV_U && v != PRIV_S && v != PRIV_M)
            return false;
        hart_set_priv(h, (enum priv)v);
    } else if (is_fp_csr(reg) || find_csr(reg)) {
        return csr_write(h, reg - REG_CSR0, v);
    } else {
        return false;
    }
    return true;
}

/* ---- hex ---- */

/* A hex number at *p, advancing past it; false when there is none or it overflows. */
static bool parse_hex(const char **p, uint64_t *v)
{
    const char *s = *p;
    uint64_t n = 0;
    int d;
    while ((d = hex_digit(*s)) >= 0) {
        if (n >> 60)
            return false;
        n = n << 4 | (unsigned)d;
        s++;
    }
    if (s == *p)
        return false;
    *p = s;
    *v = n;
    return true;
}

/* n bytes of hex at p into out: false when they are not all hex. */
static bool hex_to_bytes(const char *p, uint8_t *out, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        int hi = hex_digit(p[2 * i]), lo = hi < 0 ? -1 : hex_digit(p[2 * i + 1]);
        if (lo < 0)
            return false;
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    return true;
}

static char *bytes_to_hex(char *out, const uint8_t *in, size_t n)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        *out++ = digits[in[i] >> 4];
        *out++ = digits[in[i] & 15];
    }
    *out = 0;
    return out;
}

/* A register value as gdb wants it: size bytes, target (little-endian) order. */
static char *reg_to_hex(char *out, uint64_t v, unsigned size)
{
    uint8_t b[8];
    for (unsigned i = 0; i < size; i++)
        b[i] = (uint8_t)(v >> (8 * i));
    return bytes_to_hex(out, b, size);
}

static bool hex_to_reg(const char *p, unsigned size, uint64_t *v)
{
    uint8_t b[8];
    if (!hex_to_bytes(p, b, size))
        return false;
    *v = 0;
    for (unsigned i = 0; i < size; i++)
        *v |= (uint64_t)b[i] << (8 * i);
    return true;
}

/* ---- the connection ---- */

static bool send_all(int fd, const void *buf, size_t len)
{
    const char *p = buf;
    while (len) {
        ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return false;
        p += n;
        len -= (size_t)n;
    }
    return true;
}

/* Sends payload as one packet. Acks are not awaited: a '-' from gdb is logged as lost. */
static bool send_packet(struct gdb_stub *s, const char *payload, size_t len)
{
    static char frame[PACKET_SIZE + 8];
    unsigned sum = 0;
    for (size_t i = 0; i < len; i++)
        sum += (uint8_t)payload[i];
    frame[0] = '$';
    memcpy(frame + 1, payload, len);
    snprintf(frame + 1 + len, 4, "#%02x", sum & 0xff);
    return send_all(s->fd, frame, len + 4);
}

static bool send_str(struct gdb_stub *s, const char *payload)
{
    return send_packet(s, payload, strlen(payload));
}

/* The next byte from the client: 0-255, -1 when none came within timeout_ms, -2 when
 * the connection is gone. */
static int read_byte(struct gdb_stub *s, int timeout_ms)
{
    if (s->inpos == s->inlen) {
        struct pollfd p = { .fd = s->fd, .events = POLLIN };
        int r = poll(&p, 1, timeout_ms);
        if (r < 0 && errno == EINTR)
            return -1;
        if (r <= 0)
            return r == 0 ? -1 : -2;
        ssize_t n = recv(s->fd, s->inbuf, sizeof(s->inbuf), 0);
        if (n < 0 && (errno == EINTR || errno == EAGAIN))
            return -1;
        if (n <= 0)
            return -2;
        s->inpos = 0;
        s->inlen = (size_t)n;
    }
    return s->inbuf[s->inpos++];
}

/* Whether the session should end: the stub is stopping, or the VM is. */
static bool session_over(struct gdb_stub *s)
{
    return atomic_load(&s->quit) || machine_stopping(s->m);
}

/*
 * Reads one packet into s->packet (NUL-terminated, escapes kept): its length, or -1 when
 * the connection or the VM is gone. A Ctrl-C between packets interrupts the harts.
 */
static int read_packet(struct gdb_stub *s)
{
    for (;;) {
        int c = read_byte(s, POLL_MS);
        if (c == -2 || (c == -1 && session_over(s)))
            return -1;
        if (c == 0x03) {
            s->client_interrupted = true;
            debugger_interrupt(&s->dbg, DEBUG_STOP_INTERRUPT);
        }
        if (c != '$')
            continue;
        size_t len = 0;
        unsigned sum = 0;
        while ((c = read_byte(s, 1000)) >= 0 && c != '#') {
            if (len == PACKET_SIZE)
                break;
            s->packet[len++] = (char)c;
            sum += (unsigned)c;
        }
        if (c != '#')
            return -1;
        int hi = read_byte(s, 1000), lo = read_byte(s, 1000);
        if (hi < 0 || lo < 0)
            return -1;
        s->packet[len] = 0;
        bool good = hex_digit((char)hi) >= 0 && hex_digit((char)lo) >= 0 &&
                    (unsigned)(hex_digit((char)hi) << 4 | hex_digit((char)lo)) == (sum & 0xff);
        if (!s->noack && !send_all(s->fd, good ? "+" : "-", 1))
            return -1;
        if (good || s->noack)
            return (int)len;
    }
}

/* ---- stopping and resuming ---- */

static unsigned hart_index(const struct gdb_stub *s, const struct hart *h)
{
    for (unsigned i = 0; i < s->m->nharts; i++)
        if (s->m->harts[i] == h)
            return i;
    return 0;
}

/* Thread ids are hart indices + 1 (gdb keeps 0 and -1 for "any" and "all"). */
static struct hart *hart_of_thread(const struct gdb_stub *s, int64_t tid)
{
    return tid >= 1 && tid <= (int64_t)s->m->nharts ? s->m->harts[tid - 1] : NULL;
}

/* The exit status gdb is told once the VM stopped. */
static unsigned exit_status(const struct machine *m)
{
    int why = atomic_load(&m->stop_reason);
    if (why == STOP_FAIL || why == STOP_SIGNAL)
        return (unsigned)m->stop_code & 0xff;
    return why == STOP_ERROR ? 1 : 0;
}

/*
 * Waits until every hart stopped, then, with report (the client resumed them and waits
 * for the stop), tells the client why, reading Ctrl-C meanwhile; without, the client's
 * bytes are left for read_packet. false once the session is over (the VM stopped: the
 * client was told it exited).
 */
static bool wait_for_stop(struct gdb_stub *s, bool report)
{
    struct hart *h;
    enum debug_stop why;
    while (!debugger_all_stopped(&s->dbg, &h, &why)) {
        if (session_over(s)) {
            if (machine_stopping(s->m)) {
                snprintf(s->reply, sizeof(s->reply), "W%02x", exit_status(s->m));
                send_str(s, s->reply);
            }
            return false;
        }
        if (!report) {
            poll(NULL, 0, POLL_MS);
            continue;
        }
        int c = read_byte(s, POLL_MS);
        if (c == -2)
            return false;
        if (c == 0x03) {
            s->client_interrupted = true;
            debugger_interrupt(&s->dbg, DEBUG_STOP_INTERRUPT);
        }
    }
    /* Freeze guest time and the devices too (the harts stopped exactly where they should
     * already; a VM that cannot be paused, stopping say, is still stopped). */
    s->paused = machine_pause(s->m);
    s->g_hart = s->c_hart = s->stop_hart = h;
    if (!report)
        return true;
    unsigned sig = why == DEBUG_STOP_INTERRUPT && s->client_interrupted ? SIGNAL_INT : SIGNAL_TRAP;
    s->client_interrupted = false;
    snprintf(s->reply, sizeof(s->reply), "T%02xthread:%x;", sig, hart_index(s, h) + 1);
    return send_str(s, s->reply);
}

/* Lets the harts go as actions say, and the VM run on if the stub paused it. */
static void resume(struct gdb_stub *s, const enum debug_action *actions)
{
    debugger_resume(&s->dbg, actions);
    if (s->paused)
        machine_resume(s->m);
    s->paused = false;
}

static void resume_all(struct gdb_stub *s, enum debug_action action)
{
    enum debug_action actions[DEBUG_MAX_HARTS];
    for (unsigned i = 0; i < s->m->nharts; i++)
        actions[i] = action;
    resume(s, actions);
}

/* "vCont;ACTION[:TID]...": the leftmost action naming a hart applies to it. */
static bool parse_vcont(struct gdb_stub *s, const char *p, enum debug_action *actions)
{
    bool set[DEBUG_MAX_HARTS] = { false };
    for (unsigned i = 0; i < s->m->nharts; i++)
        actions[i] = DEBUG_STAY;
    while (*p == ';') {
        p++;
        enum debug_action a;
        switch (*p) {
        case 'c': case 'C': a = DEBUG_CONTINUE; break;
        case 's': case 'S': a = DEBUG_STEP; break;
        case 't': a = DEBUG_STAY; break;
        default: return false;
        }
        uint64_t ignored_signal;
        p++;
        if ((p[-1] == 'C' || p[-1] == 'S') && !parse_hex(&p, &ignored_signal))
            return false;
        int64_t tid = -1;
        if (*p == ':') {
            p++;
            uint64_t t;
            if (*p == '-' && p[1] == '1')
                p += 2;
            else if (parse_hex(&p, &t))
                tid = (int64_t)t;
            else
                return false;
        }
        for (unsigned i = 0; i < s->m->nharts; i++) {
            if (!set[i] && (tid == -1 || tid == (int64_t)i + 1)) {
                actions[i] = a;
                set[i] = true;
            }
        }
    }
    return *p == 0;
}

/* ---- packets ---- */

/* Registers and memory go to the Hg hart; "any" is the one that stopped. */
static struct hart *g_hart(struct gdb_stub *s)
{
    return s->g_hart ? s->g_hart : s->m->harts[0];
}

static void reply_memory_read(struct gdb_stub *s, const char *p)
{
    uint64_t addr, len;
    if (!parse_hex(&p, &addr) || *p++ != ',' || !parse_hex(&p, &len) || *p) {
        snprintf(s->reply, sizeof(s->reply), "E01");
        return;
    }
    uint8_t buf[PACKET_SIZE / 2];
    if (len > sizeof(buf))
        len = sizeof(buf);
    size_t n = debug_read_memory(g_hart(s), addr, buf, len);
    if (n == 0 && len)
        snprintf(s->reply, sizeof(s->reply), "E14");
    else
        bytes_to_hex(s->reply, buf, n);
}

/* M (hex) and X (binary, escaped) writes. */
static void reply_memory_write(struct gdb_stub *s, const char *p, size_t packet_len, bool binary)
{
    const char *end = s->packet + packet_len;
    uint64_t addr, len;
    uint8_t buf[PACKET_SIZE];
    if (!parse_hex(&p, &addr) || *p++ != ',' || !parse_hex(&p, &len) || *p++ != ':' || len > sizeof(buf))
        goto bad;
    if (binary) {
        size_t n = 0;
        while (p < end && n < len) {
            char c = *p++;
            if (c == '}') {
                if (p == end)
                    goto bad;
                c = *p++ ^ 0x20;
            }
            buf[n++] = (uint8_t)c;
        }
        if (n != len)
            goto bad;
    } else if ((size_t)(end - p) != 2 * len || !hex_to_bytes(p, buf, len)) {
        goto bad;
    }
    snprintf(s->reply, sizeof(s->reply), "%s",
             debug_write_memory(g_hart(s), addr, buf, len) == len ? "OK" : "E14");
    return;
bad:
    snprintf(s->reply, sizeof(s->reply), "E01");
}

static void reply_all_registers(struct gdb_stub *s)
{
    char *out = s->reply;
    for (unsigned r = 0; r <= REG_PC; r++) {
        uint64_t v;
        unsigned size;
        reg_read(g_hart(s), r, &v, &size);
        out = reg_to_hex(out, v, size);
    }
}

static void write_all_registers(struct gdb_stub *s, const char *p)
{
    if (strlen(p) != 16 * (REG_PC + 1)) {
        snprintf(s->reply, sizeof(s->reply), "E01");
        return;
    }
    for (unsigned r = 0; r <= REG_PC; r++) {
        uint64_t v;
        if (!hex_to_reg(p + 16 * r, 8, &v)) {
            snprintf(s->reply, sizeof(s->reply), "E01");
            return;
        }
        reg_write(g_hart(s), r, v);
    }
    snprintf(s->reply, sizeof(s->reply), "OK");
}

static void reply_register(struct gdb_stub *s, const char *p, bool write)
{
    uint64_t reg, v;
    unsigned size;
    if (!parse_hex(&p, &reg) || reg > REG_PRIV || !reg_read(g_hart(s), (unsigned)reg, &v, &size)) {
        snprintf(s->reply, sizeof(s->reply), "E01");
        return;
    }
    if (!write) {
        reg_to_hex(s->reply, v, size);
        return;
    }
    bool ok = *p++ == '=' && strlen(p) == 2 * size && hex_to_reg(p, size, &v) &&
              reg_write(g_hart(s), (unsigned)reg, v);
    snprintf(s->reply, sizeof(s->reply), "%s", ok ? "OK" : "E01");
}

static void reply_breakpoint(struct gdb_stub *s, const char *p, bool insert)
{
    char type = *p++;
    uint64_t addr, kind;
    if ((type != '0' && type != '1')) {
        s->reply[0] = 0; /* watchpoints: not supported */
        return;
    }
    if (*p++ != ',' || !parse_hex(&p, &addr) || *p++ != ',' || !parse_hex(&p, &kind)) {
        snprintf(s->reply, sizeof(s->reply), "E01");
        return;
    }
    enum debug_breakpoint_kind k = type == '0' ? DEBUG_BREAK_SOFTWARE : DEBUG_BREAK_HARDWARE;
    bool ok = insert ? debugger_add_breakpoint(&s->dbg, addr, k) : (debugger_remove_breakpoint(&s->dbg, addr, k), true);
    snprintf(s->reply, sizeof(s->reply), "%s", ok ? "OK" : "E0c");
}

/* qXfer:features:read:target.xml:OFFSET,LENGTH */
static void reply_target_xml(struct gdb_stub *s, const char *p)
{
    uint64_t off, len;
    if (!parse_hex(&p, &off) || *p++ != ',' || !parse_hex(&p, &len)) {
        snprintf(s->reply, sizeof(s->reply), "E01");
        return;
    }
    if (off > s->target_xml_len)
        off = s->target_xml_len;
    if (len > PACKET_SIZE - 1)
        len = PACKET_SIZE - 1;
    size_t n = s->target_xml_len - off < len ? s->target_xml_len - off : len;
    s->reply[0] = off + n < s->target_xml_len ? 'm' : 'l';
    memcpy(s->reply + 1, s->target_xml + off, n); /* plain XML: no $, #, } or * in it */
    s->reply[1 + n] = 0;
}

static void reply_thread_info(struct gdb_stub *s)
{
    char *out = s->reply;
    *out++ = 'm';
    for (unsigned i = 0; i < s->m->nharts; i++)
        out += sprintf(out, "%s%x", i ? "," : "", i + 1);
}

static void reply_thread_extra(struct gdb_stub *s, const char *p)
{
    uint64_t tid;
    struct hart *h = parse_hex(&p, &tid) ? hart_of_thread(s, (int64_t)tid) : NULL;
    if (!h) {
        snprintf(s->reply, sizeof(s->reply), "E01");
        return;
    }
    char text[64];
    snprintf(text, sizeof(text), "hart %u%s", h->arch.id, atomic_load(&h->parked) ? " (parked)" : "");
    bytes_to_hex(s->reply, (const uint8_t *)text, strlen(text));
}

/* H[gc]TID: selects the hart later g/p/m/s packets act on; 0 and -1: keep the one that stopped. */
static void select_thread(struct gdb_stub *s, const char *p)
{
    char op = *p++;
    uint64_t tid = 0;
    struct hart *h = NULL;
    bool any = (p[0] == '-' && p[1] == '1') || (parse_hex(&p, &tid) && tid == 0);
    if (!any && !(h = hart_of_thread(s, (int64_t)tid))) {
        snprintf(s->reply, sizeof(s->reply), "E01");
        return;
    }
    if (op == 'g' && h)
        s->g_hart = h;
    else if (op == 'c' && h)
        s->c_hart = h;
    snprintf(s->reply, sizeof(s->reply), "OK");
}

enum after { STAY_STOPPED, RESUMED, END_SESSION };

/* Answers the packet in s->packet into s->reply: whether the harts now run, or the
 * session ends. */
static enum after handle_packet(struct gdb_stub *s, size_t len)
{
    const char *p = s->packet;
    s->reply[0] = 0;
    switch (p[0]) {
    case '?':
        snprintf(s->reply, sizeof(s->reply), "T%02xthread:%x;", SIGNAL_TRAP,
                 hart_index(s, s->stop_hart) + 1);
        break;
    case 'g': reply_all_registers(s); break;
    case 'G': write_all_registers(s, p + 1); break;
    case 'p': reply_register(s, p + 1, false); break;
    case 'P': reply_register(s, p + 1, true); break;
    case 'm': reply_memory_read(s, p + 1); break;
    case 'M': reply_memory_write(s, p + 1, len, false); break;
    case 'X': reply_memory_write(s, p + 1, len, true); break;
    case 'Z': reply_breakpoint(s, p + 1, true); break;
    case 'z': reply_breakpoint(s, p + 1, false); break;
    case 'H': select_thread(s, p + 1); break;
    case 'T': {
        uint64_t tid;
        const char *q = p + 1;
        bool alive = parse_hex(&q, &tid) && hart_of_thread(s, (int64_t)tid);
        snprintf(s->reply, sizeof(s->reply), "%s", alive ? "OK" : "E01");
        break;
    }
    case 'c':
        resume_all(s, DEBUG_CONTINUE);
        return RESUMED;
    case 's': {
        enum debug_action actions[DEBUG_MAX_HARTS];
        for (unsigned i = 0; i < s->m->nharts; i++)
            actions[i] = s->m->harts[i] == (s->c_hart ? s->c_hart : s->m->harts[0]) ? DEBUG_STEP : DEBUG_STAY;
        resume(s, actions);
        return RESUMED;
    }
    case 'D':
        debugger_clear_breakpoints(&s->dbg);
        resume_all(s, DEBUG_CONTINUE);
        send_str(s, "OK");
        return END_SESSION;
    case 'k':
        machine_request_stop(s->m, STOP_USER, 0, "killed from gdb");
        return END_SESSION;
    case 'v':
        if (!strcmp(p, "vCont?")) {
            snprintf(s->reply, sizeof(s->reply), "vCont;c;C;s;S;t");
        } else if (!strncmp(p, "vCont;", 6)) {
            enum debug_action actions[DEBUG_MAX_HARTS];
            if (!parse_vcont(s, p + 5, actions)) {
                snprintf(s->reply, sizeof(s->reply), "E01");
                break;
            }
            resume(s, actions);
            return RESUMED;
        } else if (!strncmp(p, "vKill", 5)) {
            send_str(s, "OK");
            machine_request_stop(s->m, STOP_USER, 0, "killed from gdb");
            return END_SESSION;
        }
        break;
    case 'q':
        if (!strncmp(p, "qSupported", 10))
            snprintf(s->reply, sizeof(s->reply), "PacketSize=%x;qXfer:features:read+;QStartNoAckMode+;vContSupported+",
                     PACKET_SIZE);
        else if (!strncmp(p, "qXfer:features:read:target.xml:", 31))
            reply_target_xml(s, p + 31);
        else if (!strcmp(p, "qfThreadInfo"))
            reply_thread_info(s);
        else if (!strcmp(p, "qsThreadInfo"))
            snprintf(s->reply, sizeof(s->reply), "l");
        else if (!strncmp(p, "qThreadExtraInfo,", 17))
            reply_thread_extra(s, p + 17);
        else if (!strcmp(p, "qC"))
            snprintf(s->reply, sizeof(s->reply), "QC%x", hart_index(s, g_hart(s)) + 1);
        else if (!strcmp(p, "qAttached"))
            snprintf(s->reply, sizeof(s->reply), "1");
        else if (!strncmp(p, "qSymbol", 7))
            snprintf(s->reply, sizeof(s->reply), "OK");
        break;
    case 'Q':
        if (!strcmp(p, "QStartNoAckMode")) {
            send_str(s, "OK");
            s->noack = true;
            return STAY_STOPPED;
        }
        break;
    }
    send_str(s, s->reply);
    return STAY_STOPPED;
}

/* One client, from its connection to its detach or disconnection. */
static void serve(struct gdb_stub *s)
{
    s->noack = false;
    s->client_interrupted = false;
    s->inpos = s->inlen = 0;
    s->g_hart = s->c_hart = NULL;
    debugger_interrupt(&s->dbg, DEBUG_STOP_INTERRUPT); /* a client finds the VM stopped */
    if (!wait_for_stop(s, false))
        goto gone;
    for (;;) {
        int len = read_packet(s);
        if (len < 0)
            break;
        enum after a = handle_packet(s, (size_t)len);
        if (a == END_SESSION)
            return;
        if (a == RESUMED && !wait_for_stop(s, true))
            break;
    }
gone:
    /* The client went away: the VM runs on without breakpoints. */
    debugger_clear_breakpoints(&s->dbg);
    resume_all(s, DEBUG_CONTINUE);
}

static void *stub_thread(void *arg)
{
    struct gdb_stub *s = arg;
    while (!session_over(s)) {
        struct pollfd p = { .fd = s->listen_fd, .events = POLLIN };
        if (poll(&p, 1, 50) <= 0)
            continue;
        s->fd = accept(s->listen_fd, NULL, NULL);
        if (s->fd < 0)
            continue;
        int one = 1;
        setsockopt(s->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        serve(s);
        close(s->fd);
        s->fd = -1;
    }
    return NULL;
}

struct gdb_stub *gdb_stub_start(struct machine *m, const struct gdb_address *addr, bool wait)
{
    struct gdb_stub *s = calloc(1, sizeof(*s));
    if (!s || !build_target_xml(s)) {
        rvm_error("out of memory");
        free(s);
        return NULL;
    }
    s->m = m;
    s->addr = *addr;
    s->fd = -1;
    if (debugger_init(&s->dbg, m->harts, m->nharts) < 0) {
        rvm_error("--gdb: at most %d harts can be debugged", DEBUG_MAX_HARTS);
        goto fail_xml;
    }
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(addr->port) };
    inet_pton(AF_INET, addr->host, &sa.sin_addr);
    s->listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    if (s->listen_fd < 0 || setsockopt(s->listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
        bind(s->listen_fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(s->listen_fd, 1) < 0) {
        rvm_error("--gdb tcp:%s:%u: cannot listen: %s", addr->host, addr->port, strerror(errno));
        goto fail_socket;
    }
    if (wait)
        debugger_interrupt(&s->dbg, DEBUG_STOP_INTERRUPT);
    int rc = thread_start(&s->thread, "gdb", stub_thread, s);
    if (rc) {
        rvm_error("cannot start the gdb stub's thread: %s", strerror(rc));
        goto fail_socket;
    }
    fprintf(stderr, "rackvm: gdb stub listening on tcp:%s:%u%s\n", addr->host, addr->port,
            wait ? " (the VM waits for gdb)" : "");
    return s;
fail_socket:
    if (s->listen_fd >= 0)
        close(s->listen_fd);
    debugger_destroy(&s->dbg);
fail_xml:
    free(s->target_xml);
    free(s);
    return NULL;
}

void gdb_stub_stop(struct gdb_stub *s)
{
    if (!s)
        return;
    atomic_store(&s->quit, true);
    pthread_join(s->thread, NULL);
    close(s->listen_fd);
    debugger_destroy(&s->dbg);
    free(s->target_xml);
    free(s);
}
