#include "common.h"

#include <stdarg.h>
#include <stdio.h>

void rvm_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("rackvm: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}
