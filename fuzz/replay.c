
/*
 * Copyright (C) ngx_llm_router authors
 */


/*
 * A main for a fuzz target without libFuzzer: runs LLVMFuzzerTestOneInput
 * once on every file of fuzz/corpus/TARGET and fuzz/regress/TARGET (or of
 * the files and directories given) and prints TAP.  Built with the unit
 * tests' ASan + UBSan flags, a property failure or a sanitizer report
 * aborts it, so prove reports the input named in the last "#" line.
 */


#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);


static unsigned  replay_n;


static int
replay_cmp(const void *a, const void *b)
{
    return strcmp(*(char * const *) a, *(char * const *) b);
}


static void
replay_file(const char *path)
{
    long            n;
    FILE           *f;
    unsigned char  *data;

    f = fopen(path, "rb");
    if (f == NULL) {
        printf("not ok %u - cannot open %s\n", ++replay_n, path);
        return;
    }

    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);

    /* an exact-size copy, as libFuzzer gives it */
    data = malloc(n > 0 ? (size_t) n : 1);

    if (data == NULL || (n > 0 && fread(data, 1, (size_t) n, f) != (size_t) n))
    {
        printf("not ok %u - cannot read %s\n", ++replay_n, path);
        fclose(f);
        free(data);
        return;
    }

    fclose(f);

    printf("# %s\n", path);
    fflush(stdout);

    LLVMFuzzerTestOneInput(data, (size_t) n);
    free(data);

    printf("ok %u - %s %s\n", ++replay_n, FUZZ_TARGET, path);
}


static void
replay_path(const char *path)
{
    char            full[4096];
    static char    *names[65536];
    DIR             *d;
    size_t           n, i;
    struct stat      st;
    struct dirent   *e;

    if (stat(path, &st) != 0) {
        return;
    }

    if (!S_ISDIR(st.st_mode)) {
        replay_file(path);
        return;
    }

    d = opendir(path);
    if (d == NULL) {
        return;
    }

    n = 0;

    while ((e = readdir(d)) != NULL && n < 65536) {
        if (e->d_name[0] != '.') {
            names[n++] = strdup(e->d_name);
        }
    }

    closedir(d);

    qsort(names, n, sizeof(char *), replay_cmp);

    for (i = 0; i < n; i++) {
        snprintf(full, sizeof(full), "%s/%s", path, names[i]);
        replay_file(full);
        free(names[i]);
    }
}


int
main(int argc, char **argv)
{
    int  i;

    if (argc > 1) {
        for (i = 1; i < argc; i++) {
            replay_path(argv[i]);
        }

    } else {
        replay_path("fuzz/corpus/" FUZZ_TARGET);
        replay_path("fuzz/regress/" FUZZ_TARGET);
    }

    printf("1..%u\n", replay_n);

    return replay_n ? 0 : 1;
}
