/*
 * The C extension, expanded once: rvc_expand() maps every 16-bit encoding to the 32-bit
 * instruction it stands for, so the interpreter has a single decoder. rvc_init() fills a
 * 64K-entry table at start-up; 0 marks a reserved or illegal encoding.
 */
#ifndef RACKVM_RVC_H
#define RACKVM_RVC_H

#include "common.h"

extern uint32_t rvc_table[65536];
void rvc_init(void);
uint32_t rvc_expand(uint16_t c);

#endif
