/*
 * The compressed-instruction expander against the assembler: every C-extension form is
 * assembled twice, with .option rvc (all compress) and .option norvc, and each 16-bit
 * encoding must expand to exactly the 32-bit encoding gas produced. Reserved encodings
 * must expand to 0 (illegal). binutils 2.40 has no Zcb, so its forms are encoded here
 * from the Zc specification's layouts and only their 32-bit side comes from gas.
 */
#include <stdlib.h>
#include <string.h>

#include "cpu/rvc.h"
#include "unit.h"

static const char *const forms[] = {
    "addi a0, sp, 16", "addi s1, sp, 1020", "fld fa0, 8(a1)", "fld fs1, 248(s0)", "lw a0, 4(a1)",
    "lw a5, 124(a4)", "ld a0, 8(a1)", "ld s0, 248(a5)", "fsd fa0, 8(a1)", "sw a0, 4(a1)",
    "sd a3, 248(a2)", "nop", "addi a0, a0, -5", "addi t6, t6, 31", "addiw a0, a0, 7",
    "addiw ra, ra, -32", "li a0, -3", "li t0, 31", "addi sp, sp, -64", "addi sp, sp, 496",
    "lui a0, 0x1f", "lui s11, 0xfffff", "lui t1, 1", "srli a0, a0, 3", "srli s1, s1, 63",
    "srai a1, a1, 33", "andi a2, a2, -1", "andi a3, a3, 7", "sub a0, a0, a1", "xor s0, s0, s1",
    "or a4, a4, a5", "and a2, a2, a3", "subw a0, a0, a5", "addw s1, s1, a1", "j .+8",
    "j .-2048", "j .+2046", "beqz a0, .+16", "beqz s1, .-256", "bnez a5, .+254",
    "slli a0, a0, 63", "slli t3, t3, 1", "fld ft0, 504(sp)", "lw a0, 252(sp)", "ld ra, 504(sp)",
    "ld s0, 0(sp)", "jr ra", "jr t5", "add a0, zero, a1", "ebreak", "jalr a5", "add a0, a0, a1",
    "fsd fs0, 504(sp)", "sw ra, 252(sp)", "sd ra, 504(sp)",
};
#define NFORMS (sizeof(forms) / sizeof(forms[0]))

/* Zcb: each encoding with the instruction it expands to. */
static const struct {
    uint16_t c;
    const char *form;
} zcb[] = {
    { 0x81e8, "lbu a0, 3(a1)" }, { 0x8380, "lbu s0, 0(a5)" }, { 0x84b0, "lhu a2, 2(s1)" },
    { 0x8574, "lh a3, 2(a0)" }, { 0x855c, "lh a5, 0(a0)" }, { 0x8a58, "sb a4, 1(a2)" },
    { 0x8864, "sb s1, 3(s0)" }, { 0x8eac, "sh a1, 2(a3)" }, { 0x9d61, "andi a0, a0, 255" },
    { 0x9de5, "sext.b a1, a1" }, { 0x9e69, "zext.h a2, a2" }, { 0x9ced, "sext.h s1, s1" },
    { 0x9ff1, "zext.w a5, a5" }, { 0x9c75, "not s0, s0" }, { 0x9d4d, "mul a0, a0, a1" },
};
#define NZCB (sizeof(zcb) / sizeof(zcb[0]))

/* Assembles nforms forms (form(i)) with the given .option; returns the .text bytes read into buf. */
static size_t assemble(const char *dir, const char *option, const char *(*form)(size_t), size_t nforms,
                       uint8_t *buf, size_t max)
{
    char path[512], cmd[2048];
    snprintf(path, sizeof(path), "%s/%s.S", dir, option);
    FILE *f = fopen(path, "w");
    if (!f)
        return 0;
    fprintf(f, ".option %s\n", option);
    for (size_t i = 0; i < nforms; i++)
        fprintf(f, "  %s\n", form(i));
    fclose(f);
    snprintf(cmd, sizeof(cmd),
             "riscv64-unknown-elf-gcc -march=rv64gc_zba_zbb -mabi=lp64d -c %s/%s.S -o %s/%s.o && "
             "riscv64-unknown-elf-objcopy -O binary -j .text %s/%s.o %s/%s.bin",
             dir, option, dir, option, dir, option, dir, option);
    if (system(cmd) != 0)
        return 0;
    snprintf(path, sizeof(path), "%s/%s.bin", dir, option);
    f = fopen(path, "rb");
    if (!f)
        return 0;
    size_t n = fread(buf, 1, max, f);
    fclose(f);
    return n;
}

static const char *c_form(size_t i) { return forms[i]; }
static const char *zcb_form(size_t i) { return zcb[i].form; }

static void test_against_assembler(void)
{
    char dir[] = "/tmp/rackvm-rvc-XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    uint8_t c[4 * NFORMS], n[4 * NFORMS], z[4 * NZCB];
    size_t clen = assemble(dir, "rvc", c_form, NFORMS, c, sizeof(c));
    size_t nlen = assemble(dir, "norvc", c_form, NFORMS, n, sizeof(n));
    CHECK_EQ_U64(clen, 2 * NFORMS); /* every form compressed */
    CHECK_EQ_U64(nlen, 4 * NFORMS);
    for (size_t i = 0; i < NFORMS && clen == 2 * NFORMS && nlen == 4 * NFORMS; i++) {
        uint16_t half;
        uint32_t full;
        memcpy(&half, c + 2 * i, 2);
        memcpy(&full, n + 4 * i, 4);
        if (rvc_expand(half) != full)
            fprintf(stderr, "form '%s': %04x expands to %08x, gas says %08x\n", forms[i], half,
                    rvc_expand(half), full);
        CHECK_EQ_U64(rvc_expand(half), full);
    }
    size_t zlen = assemble(dir, "norvc", zcb_form, NZCB, z, sizeof(z));
    CHECK_EQ_U64(zlen, 4 * NZCB);
    for (size_t i = 0; i < NZCB && zlen == 4 * NZCB; i++) {
        uint32_t full;
        memcpy(&full, z + 4 * i, 4);
        if (rvc_expand(zcb[i].c) != full)
            fprintf(stderr, "Zcb '%s': %04x expands to %08x, gas says %08x\n", zcb[i].form, zcb[i].c,
                    rvc_expand(zcb[i].c), full);
        CHECK_EQ_U64(rvc_expand(zcb[i].c), full);
    }
    char cmd[600];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    CHECK(system(cmd) == 0);
}

static void test_reserved_encodings(void)
{
    CHECK_EQ_U64(rvc_expand(0x0000), 0); /* all zero: defined illegal */
    CHECK_EQ_U64(rvc_expand(0x0010), 0); /* c.addi4spn with nzuimm = 0 */
    CHECK_EQ_U64(rvc_expand(0x4002), 0); /* c.lwsp rd = 0 */
    CHECK_EQ_U64(rvc_expand(0x6002), 0); /* c.ldsp rd = 0 */
    CHECK_EQ_U64(rvc_expand(0x8002), 0); /* c.jr rs1 = 0 */
    CHECK_EQ_U64(rvc_expand(0x6101), 0); /* c.addi16sp with nzimm = 0 */
    CHECK_EQ_U64(rvc_expand(0x6501), 0); /* c.lui with nzimm = 0 */
    CHECK_EQ_U64(rvc_expand(0x2001), 0); /* c.addiw rd = 0 */
    CHECK_EQ_U64(rvc_expand(0x9000), 0); /* quadrant 0 funct3 100, bits 12:10 = 100: reserved */
    CHECK_EQ_U64(rvc_expand(0x8eec), 0); /* c.sh with bit 6 set: reserved */
    CHECK_EQ_U64(rvc_expand(0x9c79), 0); /* Zcb one-operand slot 110: reserved */
    CHECK_EQ_U64(rvc_expand(0x9c7d), 0); /* Zcb one-operand slot 111: reserved */
}

static void test_table_matches_expander(void)
{
    rvc_init();
    unsigned mismatches = 0, illegal = 0;
    for (unsigned c = 0; c < 65536; c++) {
        uint32_t want = (c & 3) == 3 ? 0 : rvc_expand(c);
        mismatches += rvc_table[c] != want;
        illegal += (c & 3) != 3 && want == 0;
        if (want)
            mismatches += (want & 3) != 3; /* expansions are 32-bit encodings */
    }
    CHECK_EQ_U64(mismatches, 0);
    CHECK(illegal > 0 && illegal < 49152);
}

int main(void)
{
    test_against_assembler();
    test_reserved_encodings();
    test_table_matches_expander();
    UNIT_DONE();
}
