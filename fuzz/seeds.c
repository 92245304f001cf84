
/*
 * Copyright (C) ngx_llm_router authors
 */


/*
 * Writes the fuzz seed corpora from the unit tests' own tables: built
 * once per test file (-DSEEDS_EXTRACT, _REWRITE, _USAGE), it includes the
 * test program (its main renamed) and writes every body, with the header
 * bytes the target reads (see fuzz.h), into the directory given.
 *
 *   make fuzz-seeds     regenerates fuzz/corpus/{extract,rewrite,usage}
 */


#define main  llmr_test_main

#if defined(SEEDS_EXTRACT)
#include "../core/tests/test_extract.c"
#elif defined(SEEDS_REWRITE)
#include "../core/tests/test_rewrite.c"
#elif defined(SEEDS_USAGE)
#include "../core/tests/test_usage.c"
#endif

#undef main


static const char  *seeds_dir;
static unsigned     seeds_n;


static void
seed(unsigned char b0, unsigned char b1, const char *body)
{
    char      path[4096];
    char     *s;
    FILE     *f;
    size_t    len, i;
    uint32_t  h;

    /* the tests write ' for " */
    s = json(body);
    len = strlen(s);

    h = 2166136261u;
    h = (h ^ b0) * 16777619u;
    h = (h ^ b1) * 16777619u;

    for (i = 0; i < len; i++) {
        h = (h ^ (unsigned char) s[i]) * 16777619u;
    }

    snprintf(path, sizeof(path), "%s/seed-%08x", seeds_dir, h);

    f = fopen(path, "wb");
    if (f == NULL) {
        perror(path);
        exit(1);
    }

    fputc(b0, f);
    fputc(b1, f);
    fwrite(s, 1, len, f);
    fclose(f);

    free(s);
    seeds_n++;
}


int
main(int argc, char **argv)
{
    size_t  i;

    if (argc != 2) {
        fprintf(stderr, "usage: %s DIR\n", argv[0]);
        return 2;
    }

    seeds_dir = argv[1];

#if defined(SEEDS_EXTRACT)

    /* every hint once whole, once in small chunks */
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        seed((unsigned char) (cases[i].hint < 0 ? 0 : cases[i].hint),
             (unsigned char) (i * 4 + 3), cases[i].body);
        seed((unsigned char) (0x80 | (cases[i].hint < 0 ? 0 : cases[i].hint)),
             (unsigned char) (i * 4 + (i % 3)), cases[i].body);
    }

    for (i = 0; i < sizeof(bads) / sizeof(bads[0]); i++) {
        seed(0, (unsigned char) (i * 4 + (i % 4)), bads[i].body);
    }

    /* long strings, for the extractor's own lexer (against yajl's) */
    for (i = 0; i < sizeof(fast_pieces) / sizeof(fast_pieces[0]); i++) {
        char  str[1024], body[4096];

        fast_string(str, i, i % 4);
        fast_body(body, fast_frames[i % (sizeof(fast_frames)
                                         / sizeof(fast_frames[0]))], str);
        seed(0, (unsigned char) (i * 4 + (i % 4)), body);
    }

#elif defined(SEEDS_REWRITE)

    for (i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
        seed((unsigned char) (bodies[i].hint | ((i & 1) ? 8 : 0)),
             (unsigned char) i, bodies[i].body);
    }

#elif defined(SEEDS_USAGE)

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        seed((unsigned char) (cases[i].hint
                              | ((cases[i].stream + 1) << 4)),
             (unsigned char) (i * 4 + (i % 4)), cases[i].body);
    }

#endif

    (void) llmr_test_main;

    printf("%u seeds in %s\n", seeds_n, seeds_dir);

    return 0;
}
