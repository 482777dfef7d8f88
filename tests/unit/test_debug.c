/*
 * The debugger's view of guest memory (cpu/debug.h): reads and writes by virtual address
 * through a walk that leaves no trace (no A/D bits, no TLB entry, no exception), whatever
 * the page's permissions, stopping short at the first unmapped page.
 */
#include <string.h>

#include "cpu/csr.h"
#include "cpu/debug.h"
#include "cpu/hart.h"
#include "cpu/mmu.h"
#include "machine/machine.h"
#include "unit.h"

#define TABLES 0x80100000ULL   /* root, level 1, level 0 */
#define DATA 0x80200000ULL
#define PTE_V 1ULL
#define PTE_R 2ULL
#define PTE_X 8ULL
#define PTE_U 16ULL

int main(void)
{
    struct machine_config cfg = { .memory_size = 16 << 20, .nharts = 1, .firmware = FIRMWARE_NONE,
                                  .interpret_only = true };
    struct machine *m = machine_create(&cfg, false);
    CHECK(m);
    if (!m)
        UNIT_DONE();
    struct hart *h = m->harts[0];
    uint8_t *t = guest_ram_ptr(&m->bus.ram, TABLES, 0x3000);
    uint64_t *root = (uint64_t *)t, *l1 = (uint64_t *)(t + 0x1000), *l0 = (uint64_t *)(t + 0x2000);
    memset(t, 0, 0x3000);
    root[0] = ((TABLES + 0x1000) >> 12) << 10 | PTE_V;
    l1[0] = ((TABLES + 0x2000) >> 12) << 10 | PTE_V;
    /* va 0x1000: a user, execute-only page without A/D; va 0x2000: read-only; 0x3000 unmapped */
    l0[1] = (DATA >> 12) << 10 | PTE_V | PTE_X | PTE_U;
    l0[2] = ((DATA + 0x1000) >> 12) << 10 | PTE_V | PTE_R;
    const uint64_t pte1 = l0[1], pte2 = l0[2];
    uint8_t *data = guest_ram_ptr(&m->bus.ram, DATA, 0x2000);
    for (unsigned i = 0; i < 0x2000; i++)
        data[i] = (uint8_t)i;

    hart_reset(h, DATA);
    hart_set_priv(h, PRIV_S);
    h->arch.satp = (uint64_t)SATP_MODE_SV39 << 60 | TABLES >> 12;
    hart_tlb_flush(h);

    uint8_t buf[0x3000];
    /* Across the two mapped pages, stopping at the unmapped third. */
    CHECK_EQ_U64(debug_read_memory(h, 0x1ff0, buf, 0x2000), 0x1010);
    CHECK_EQ_U64(buf[0], 0xf0);
    CHECK_EQ_U64(buf[0x10], 0x00);  /* first byte of the second page, DATA + 0x1000 */
    CHECK_EQ_U64(debug_read_memory(h, 0x3000, buf, 8), 0);
    CHECK_EQ_U64(debug_read_memory(h, 0x1ULL << 40, buf, 8), 0); /* not canonical */
    /* Writes reach RAM, even on pages the guest may not write. */
    CHECK_EQ_U64(debug_write_memory(h, 0x2004, "\xaa\xbb", 2), 2);
    CHECK_EQ_U64(data[0x1004], 0xaa);
    CHECK_EQ_U64(data[0x1005], 0xbb);
    /* No trace: the PTEs have no A/D bits, the TLB holds nothing, nothing trapped. */
    CHECK_EQ_U64(l0[1], pte1);
    CHECK_EQ_U64(l0[2], pte2);
    for (unsigned c = 0; c < TLB_CONTEXTS; c++)
        for (unsigned i = 0; i < TLB_SIZE; i++)
            CHECK(h->ctx_tlb[c]->read[i].tag == ~0ULL && h->ctx_tlb[c]->write[i].tag == ~0ULL);
    CHECK_EQ_U64(h->arch.pc, DATA);
    CHECK_EQ_U64(h->arch.scause, 0);
    CHECK_EQ_U64(h->arch.mcause, 0);

    /* M-mode sees physical memory, unless MPRV makes its data accesses S-mode's. */
    hart_set_priv(h, PRIV_M);
    CHECK_EQ_U64(debug_read_memory(h, DATA + 0x1004, buf, 1), 1);
    CHECK_EQ_U64(buf[0], 0xaa);
    h->arch.mstatus |= MSTATUS_MPRV | (uint64_t)PRIV_S << MSTATUS_MPP_SHIFT;
    CHECK_EQ_U64(debug_read_memory(h, DATA, buf, 1), 0);
    CHECK_EQ_U64(debug_read_memory(h, 0x2004, buf, 1), 1);
    CHECK_EQ_U64(buf[0], 0xaa);
    /* Outside RAM (a device's registers): nothing is touched. */
    h->arch.mstatus &= ~MSTATUS_MPRV;
    CHECK_EQ_U64(debug_read_memory(h, 0x10000000, buf, 1), 0);

    machine_destroy(m);
    UNIT_DONE();
}
