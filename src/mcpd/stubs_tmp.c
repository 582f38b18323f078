/* stubs_tmp.c - placeholders for the core functions of kind.h while config.c and guard.c are
 * written; they let kinds link. Removed when those land. */
#include "kind.h"

#include <stdio.h>

struct mcpd_errs {
    size_t n;
};

void mcpd_verr(mcpd_errs *e, const char *pointer, const char *fmt, va_list ap)
{
    e->n++;
    fprintf(stderr, "mcpd: %s: ", pointer ? pointer : "");
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
}

void mcpd_err(mcpd_errs *e, const char *pointer, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    mcpd_verr(e, pointer, fmt, ap);
    va_end(ap);
}

size_t mcpd_err_count(const mcpd_errs *e)
{
    return e->n;
}

void mcpd_call_fail(mcpd_call *c, mcpd_outcome outcome, const char *fmt, ...) {}
