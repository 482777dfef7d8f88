#include "cpu/rvc.h"

#include <pthread.h>

uint32_t rvc_table[65536];

static uint32_t b(uint32_t c, unsigned hi, unsigned lo)
{
    return (c >> lo) & ((1u << (hi - lo + 1)) - 1);
}

static uint32_t itype(int32_t imm, unsigned rs1, unsigned f3, unsigned rd, unsigned op)
{
    return ((uint32_t)imm & 0xfff) << 20 | rs1 << 15 | f3 << 12 | rd << 7 | op;
}

static uint32_t stype(int32_t imm, unsigned rs2, unsigned rs1, unsigned f3, unsigned op)
{
    uint32_t i = (uint32_t)imm;
    return ((i >> 5) & 0x7f) << 25 | rs2 << 20 | rs1 << 15 | f3 << 12 | (i & 0x1f) << 7 | op;
}

static uint32_t btype(int32_t imm, unsigned rs2, unsigned rs1, unsigned f3)
{
    uint32_t i = (uint32_t)imm;
    return ((i >> 12) & 1) << 31 | ((i >> 5) & 0x3f) << 25 | rs2 << 20 | rs1 << 15 | f3 << 12 |
           ((i >> 1) & 0xf) << 8 | ((i >> 11) & 1) << 7 | 0x63;
}

static uint32_t jtype(int32_t imm, unsigned rd)
{
    uint32_t i = (uint32_t)imm;
    return ((i >> 20) & 1) << 31 | ((i >> 1) & 0x3ff) << 21 | ((i >> 11) & 1) << 20 |
           ((i >> 12) & 0xff) << 12 | rd << 7 | 0x6f;
}

static uint32_t rtype(unsigned f7, unsigned rs2, unsigned rs1, unsigned f3, unsigned rd, unsigned op)
{
    return f7 << 25 | rs2 << 20 | rs1 << 15 | f3 << 12 | rd << 7 | op;
}

static int32_t sext(uint32_t v, unsigned bits)
{
    return (int32_t)(v << (32 - bits)) >> (32 - bits);
}

uint32_t rvc_expand(uint16_t c)
{
    unsigned rd = b(c, 11, 7), rs2 = b(c, 6, 2);
    unsigned rdp = 8 + b(c, 4, 2), rs1p = 8 + b(c, 9, 7);
    int32_t imm6 = sext(b(c, 12, 12) << 5 | b(c, 6, 2), 6);
    switch ((c & 3) << 3 | b(c, 15, 13)) {
    case 000: { /* C.ADDI4SPN */
        uint32_t nz = b(c, 12, 11) << 4 | b(c, 10, 7) << 6 | b(c, 6, 6) << 2 | b(c, 5, 5) << 3;
        return nz ? itype(nz, 2, 0, rdp, 0x13) : 0;
    }
    case 001: return itype(b(c, 12, 10) << 3 | b(c, 6, 5) << 6, rs1p, 3, rdp, 0x07);  /* C.FLD */
    case 002: return itype(b(c, 12, 10) << 3 | b(c, 6, 6) << 2 | b(c, 5, 5) << 6, rs1p, 2, rdp, 0x03); /* C.LW */
    case 003: return itype(b(c, 12, 10) << 3 | b(c, 6, 5) << 6, rs1p, 3, rdp, 0x03);  /* C.LD */
    case 004: { /* Zcb: byte and halfword loads and stores */
        unsigned u = b(c, 5, 5) << 1 | b(c, 6, 6);
        switch (b(c, 12, 10)) {
        case 0: return itype(u, rs1p, 4, rdp, 0x03);                               /* C.LBU */
        case 1: return itype(u & 2, rs1p, b(c, 6, 6) ? 1 : 5, rdp, 0x03);          /* C.LH / C.LHU */
        case 2: return stype(u, rdp, rs1p, 0, 0x23);                               /* C.SB */
        case 3: return b(c, 6, 6) ? 0 : stype(u, rdp, rs1p, 1, 0x23);              /* C.SH */
        default: return 0;
        }
    }
    case 005: return stype(b(c, 12, 10) << 3 | b(c, 6, 5) << 6, rdp, rs1p, 3, 0x27);  /* C.FSD */
    case 006: return stype(b(c, 12, 10) << 3 | b(c, 6, 6) << 2 | b(c, 5, 5) << 6, rdp, rs1p, 2, 0x23); /* C.SW */
    case 007: return stype(b(c, 12, 10) << 3 | b(c, 6, 5) << 6, rdp, rs1p, 3, 0x23);  /* C.SD */

    case 010: return itype(imm6, rd, 0, rd, 0x13);                   /* C.ADDI / C.NOP */
    case 011: return rd ? itype(imm6, rd, 0, rd, 0x1b) : 0;          /* C.ADDIW */
    case 012: return itype(imm6, 0, 0, rd, 0x13);                    /* C.LI */
    case 013:
        if (rd == 2) { /* C.ADDI16SP */
            int32_t nz = sext(b(c, 12, 12) << 9 | b(c, 6, 6) << 4 | b(c, 5, 5) << 6 |
                              b(c, 4, 3) << 7 | b(c, 2, 2) << 5, 10);
            return nz ? itype(nz, 2, 0, 2, 0x13) : 0;
        }
        return imm6 ? ((uint32_t)imm6 << 12 | rd << 7 | 0x37) : 0;   /* C.LUI */
    case 014: {
        unsigned shamt = b(c, 12, 12) << 5 | b(c, 6, 2);
        unsigned rs2p = 8 + b(c, 4, 2);
        switch (b(c, 11, 10)) {
        case 0: return itype(shamt, rs1p, 5, rs1p, 0x13);            /* C.SRLI */
        case 1: return itype(0x400 | shamt, rs1p, 5, rs1p, 0x13);    /* C.SRAI */
        case 2: return itype(imm6, rs1p, 7, rs1p, 0x13);             /* C.ANDI */
        default: {
            static const unsigned f3[4] = { 0, 4, 6, 7 };
            unsigned op = b(c, 6, 5);
            if (!b(c, 12, 12))
                return rtype(op == 0 ? 0x20 : 0, rs2p, rs1p, f3[op], rs1p, 0x33); /* SUB XOR OR AND */
            if (op == 0)
                return rtype(0x20, rs2p, rs1p, 0, rs1p, 0x3b);       /* C.SUBW */
            if (op == 1)
                return rtype(0, rs2p, rs1p, 0, rs1p, 0x3b);          /* C.ADDW */
            if (op == 2)
                return rtype(1, rs2p, rs1p, 0, rs1p, 0x33);          /* C.MUL (Zcb) */
            switch (b(c, 4, 2)) { /* Zcb: one-operand forms of Zbb/Zba ops */
            case 0: return itype(0xff, rs1p, 7, rs1p, 0x13);         /* C.ZEXT.B: andi */
            case 1: return itype(0x604, rs1p, 1, rs1p, 0x13);        /* C.SEXT.B */
            case 2: return rtype(0x04, 0, rs1p, 4, rs1p, 0x3b);      /* C.ZEXT.H */
            case 3: return itype(0x605, rs1p, 1, rs1p, 0x13);        /* C.SEXT.H */
            case 4: return rtype(0x04, 0, rs1p, 0, rs1p, 0x3b);      /* C.ZEXT.W: add.uw rd, rd, x0 */
            case 5: return itype(-1, rs1p, 4, rs1p, 0x13);           /* C.NOT: xori -1 */
            default: return 0;
            }
        }
        }
    }
    case 015: /* C.J */
        return jtype(sext(b(c, 12, 12) << 11 | b(c, 11, 11) << 4 | b(c, 10, 9) << 8 | b(c, 8, 8) << 10 |
                          b(c, 7, 7) << 6 | b(c, 6, 6) << 7 | b(c, 5, 3) << 1 | b(c, 2, 2) << 5, 12), 0);
    case 016: case 017: { /* C.BEQZ / C.BNEZ */
        int32_t off = sext(b(c, 12, 12) << 8 | b(c, 11, 10) << 3 | b(c, 6, 5) << 6 | b(c, 4, 3) << 1 |
                           b(c, 2, 2) << 5, 9);
        return btype(off, 0, rs1p, b(c, 13, 13));
    }

    case 020: return itype(b(c, 12, 12) << 5 | b(c, 6, 2), rd, 1, rd, 0x13);          /* C.SLLI */
    case 021: return itype(b(c, 12, 12) << 5 | b(c, 6, 5) << 3 | b(c, 4, 2) << 6, 2, 3, rd, 0x07); /* C.FLDSP */
    case 022: return rd ? itype(b(c, 12, 12) << 5 | b(c, 6, 4) << 2 | b(c, 3, 2) << 6, 2, 2, rd, 0x03) : 0; /* C.LWSP */
    case 023: return rd ? itype(b(c, 12, 12) << 5 | b(c, 6, 5) << 3 | b(c, 4, 2) << 6, 2, 3, rd, 0x03) : 0; /* C.LDSP */
    case 024:
        if (!b(c, 12, 12)) {
            if (rs2 == 0)
                return rd ? itype(0, rd, 0, 0, 0x67) : 0;             /* C.JR */
            return rtype(0, rs2, 0, 0, rd, 0x33);                     /* C.MV */
        }
        if (rs2 == 0)
            return rd ? itype(0, rd, 0, 1, 0x67) : 0x00100073;        /* C.JALR / C.EBREAK */
        return rtype(0, rs2, rd, 0, rd, 0x33);                        /* C.ADD */
    case 025: return stype(b(c, 12, 10) << 3 | b(c, 9, 7) << 6, rs2, 2, 3, 0x27);     /* C.FSDSP */
    case 026: return stype(b(c, 12, 9) << 2 | b(c, 8, 7) << 6, rs2, 2, 2, 0x23);      /* C.SWSP */
    case 027: return stype(b(c, 12, 10) << 3 | b(c, 9, 7) << 6, rs2, 2, 3, 0x23);     /* C.SDSP */
    default: return 0;
    }
}

static void rvc_fill(void)
{
    for (unsigned c = 0; c < 65536; c++)
        rvc_table[c] = (c & 3) == 3 ? 0 : rvc_expand(c);
}

void rvc_init(void)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, rvc_fill);
}
