
/*
 * Copyright (C) ngx_llm_router authors
 */


#ifndef _LLMR_TAP_H_INCLUDED_
#define _LLMR_TAP_H_INCLUDED_


/*
 * A minimal TAP producer for the core unit tests: each test program prints
 * "ok N - name" / "not ok N - name" lines and a trailing plan, and exits
 * non-zero when anything failed, so prove and plain make both see failures.
 */

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


static int  tap_n;
static int  tap_failed;


#define ok(cond, ...)                                                         \
    tap_ok(!!(cond), __FILE__, __LINE__, __VA_ARGS__)

#define is_int(got, want, ...)                                                \
    tap_is_int((long long) (got), (long long) (want), __FILE__, __LINE__,     \
               __VA_ARGS__)

#define is_str(got, want, ...)                                                \
    tap_is_str((got), (want), __FILE__, __LINE__, __VA_ARGS__)

/* a string literal and its length, for (data, len) arguments */
#define SL(s)  (s), sizeof(s) - 1


static void
tap_vok(int pass, const char *file, int line, const char *fmt, va_list ap)
{
    tap_n++;

    printf("%sok %d - ", pass ? "" : "not ", tap_n);
    vprintf(fmt, ap);
    printf("\n");

    if (!pass) {
        tap_failed++;
        printf("#   Failed test at %s line %d.\n", file, line);
    }

    fflush(stdout);
}


static int
tap_ok(int pass, const char *file, int line, const char *fmt, ...)
{
    va_list  ap;

    va_start(ap, fmt);
    tap_vok(pass, file, line, fmt, ap);
    va_end(ap);

    return pass;
}


static int
tap_is_int(long long got, long long want, const char *file, int line,
    const char *fmt, ...)
{
    int      pass;
    va_list  ap;

    pass = (got == want);

    va_start(ap, fmt);
    tap_vok(pass, file, line, fmt, ap);
    va_end(ap);

    if (!pass) {
        printf("#          got: %lld\n#     expected: %lld\n", got, want);
    }

    return pass;
}


static int
tap_is_str(const char *got, const char *want, const char *file, int line,
    const char *fmt, ...)
{
    int      pass;
    va_list  ap;

    pass = (got != NULL && want != NULL && strcmp(got, want) == 0)
           || (got == NULL && want == NULL);

    va_start(ap, fmt);
    tap_vok(pass, file, line, fmt, ap);
    va_end(ap);

    if (!pass) {
        printf("#          got: '%s'\n#     expected: '%s'\n",
               got ? got : "(null)", want ? want : "(null)");
    }

    return pass;
}


static int
tap_done(void)
{
    printf("1..%d\n", tap_n);

    if (tap_failed) {
        printf("# Looks like you failed %d test%s of %d.\n",
               tap_failed, tap_failed == 1 ? "" : "s", tap_n);
    }

    return tap_failed ? 1 : 0;
}


#endif /* _LLMR_TAP_H_INCLUDED_ */
