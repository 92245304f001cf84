
/*
 * Copyright (C) ngx_llm_router authors
 */


/*
 * The classifier's model file: text, one line a weight, so that a model
 * can be read, diffed and reviewed like any configuration file.
 *
 *   llmr-model 1 features=3 dense=52 hash_bits=16 \
 *       thresholds=0.2,0.4,0.6,0.8 checksum=crc32:1a2b3c4d
 *   bias -1.234567
 *   d 0 0.45120001
 *   h 40213 -0.0213
 *   ...
 *
 * The first line (one line: the "\" above is for this comment only)
 * names the format version, the feature set the weights were learned on
 * (LLMR_FEATURES_VERSION), the dense vector's size, the bits of the gram
 * hash (0: no grams), the four score -> tier thresholds and the CRC-32
 * (IEEE, as zlib's crc32()) of every byte after that line.  Then "bias",
 * "d INDEX WEIGHT" for the dense features and "h INDEX WEIGHT" for the
 * hashed grams; weights left out are 0.  Blank lines and lines starting
 * with '#' are allowed in the body (and covered by the checksum).
 */


#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <llmr/classify.h>

#include "llmr_features.h"


#define LLMR_MODEL_MAGIC        "llmr-model "
#define LLMR_MODEL_MAX_SIZE     (64 * 1024 * 1024)
#define LLMR_MODEL_WEIGHT_MAX   1000.0

/* a header key is one of five short names: longer ones are cut, unknown */
#define LLMR_MODEL_KEY_SIZE     32

/* checksum=crc32:XXXXXXXX, 8 hex digits */
#define LLMR_MODEL_CRC          "crc32:"
#define LLMR_MODEL_CRC_LEN      (sizeof(LLMR_MODEL_CRC) - 1 + 8)

/* the header fields seen; all are required */
#define LLMR_HDR_FEATURES       0x01
#define LLMR_HDR_DENSE          0x02
#define LLMR_HDR_HASH_BITS      0x04
#define LLMR_HDR_THRESHOLDS     0x08
#define LLMR_HDR_CHECKSUM       0x10
#define LLMR_HDR_ALL            0x1f


static uint32_t llmr_crc32(const char *p, size_t len);
static int llmr_model_header(llmr_classifier_t *cl, const char *p,
    size_t len, uint32_t *crc, char *err, size_t errlen);
static int llmr_model_header_field(llmr_classifier_t *cl, const char *name,
    const char **p, const char *end, uint32_t *crc, unsigned *got,
    char *err, size_t errlen);
static int llmr_model_crc(const char **p, const char *end, uint32_t *crc);
static int llmr_model_line(llmr_classifier_t *cl, const char *p, size_t len,
    unsigned char *seen, unsigned line, char *err, size_t errlen);
static int llmr_model_number(const char **p, const char *end, double *v);
static int llmr_model_index(const char **p, const char *end, size_t *v);
static void llmr_model_err(char *err, size_t errlen, const char *fmt, ...);


/* CRC-32 (IEEE 802.3, as zlib's crc32()), a byte at a time by a table */

static uint32_t
llmr_crc32(const char *p, size_t len)
{
    int       k;
    size_t    i;
    uint32_t  crc, c, table[256];

    for (i = 0; i < 256; i++) {
        c = (uint32_t) i;

        for (k = 0; k < 8; k++) {
            c = (c >> 1) ^ (0xedb88320 & (0 - (c & 1)));
        }

        table[i] = c;
    }

    crc = 0xffffffff;

    for (i = 0; i < len; i++) {
        crc = table[(crc ^ (unsigned char) p[i]) & 0xff] ^ (crc >> 8);
    }

    return crc ^ 0xffffffff;
}


llmr_classifier_t *
llmr_classifier_load(const char *path, char *err, size_t errlen)
{
    long                n;
    FILE               *f;
    char               *buf;
    size_t              len;
    llmr_classifier_t  *cl;

    f = fopen(path, "rb");
    if (f == NULL) {
        llmr_model_err(err, errlen, "cannot open \"%s\": %s", path,
                       strerror(errno));
        return NULL;
    }

    if (fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0
        || fseek(f, 0, SEEK_SET) != 0)
    {
        llmr_model_err(err, errlen, "cannot read \"%s\": %s", path,
                       strerror(errno));
        fclose(f);
        return NULL;
    }

    if (n > LLMR_MODEL_MAX_SIZE) {
        llmr_model_err(err, errlen, "\"%s\" is larger than %d MB", path,
                       LLMR_MODEL_MAX_SIZE / (1024 * 1024));
        fclose(f);
        return NULL;
    }

    buf = malloc(n + 1);
    if (buf == NULL) {
        llmr_model_err(err, errlen, "out of memory");
        fclose(f);
        return NULL;
    }

    len = fread(buf, 1, n, f);

    if (len != (size_t) n || ferror(f)) {
        llmr_model_err(err, errlen, "cannot read \"%s\"", path);
        free(buf);
        fclose(f);
        return NULL;
    }

    fclose(f);

    cl = llmr_classifier_load_buffer(buf, len, err, errlen);

    free(buf);

    return cl;
}


llmr_classifier_t *
llmr_classifier_load_buffer(const char *data, size_t len, char *err,
    size_t errlen)
{
    size_t              n;
    unsigned            line;
    uint32_t            crc;
    const char         *p, *q, *end;
    unsigned char      *seen;
    llmr_classifier_t  *cl;

    if (data == NULL || len == 0) {
        llmr_model_err(err, errlen, "empty model");
        return NULL;
    }

    if (len > LLMR_MODEL_MAX_SIZE) {
        llmr_model_err(err, errlen, "model larger than %d MB",
                       LLMR_MODEL_MAX_SIZE / (1024 * 1024));
        return NULL;
    }

    cl = calloc(1, sizeof(llmr_classifier_t));
    if (cl == NULL) {
        llmr_model_err(err, errlen, "out of memory");
        return NULL;
    }

    llmr_features_init();

    end = data + len;
    q = memchr(data, '\n', len);

    if (len < sizeof(LLMR_MODEL_MAGIC) - 1
        || memcmp(data, LLMR_MODEL_MAGIC, sizeof(LLMR_MODEL_MAGIC) - 1) != 0)
    {
        llmr_model_err(err, errlen, "line 1: not an llmr model file "
                       "(it must start with \"%s\")", LLMR_MODEL_MAGIC);
        goto failed;
    }

    if (q == NULL) {
        llmr_model_err(err, errlen, "line 1: truncated model (no body)");
        goto failed;
    }

    if (llmr_model_header(cl, data, q - data, &crc, err, errlen)
        != LLMR_OK)
    {
        goto failed;
    }

    p = q + 1;

    if (llmr_crc32(p, end - p) != crc) {
        llmr_model_err(err, errlen, "checksum mismatch: the model is "
                       "truncated or was edited (crc32 %08x, the header "
                       "says %08x)", (unsigned) llmr_crc32(p, end - p),
                       (unsigned) crc);
        goto failed;
    }

    if (end[-1] != '\n') {
        llmr_model_err(err, errlen, "truncated model: no final new line");
        goto failed;
    }

    if (cl->gram_bits) {
        n = (size_t) 1 << cl->gram_bits;

        cl->gram_w = calloc(n, sizeof(float));
        if (cl->gram_w == NULL) {
            llmr_model_err(err, errlen, "out of memory");
            goto failed;
        }

        cl->owned = 1;
    }

    /* what was seen: the bias, then the dense weights */

    seen = calloc(1, 1 + LLMR_F_N);
    if (seen == NULL) {
        llmr_model_err(err, errlen, "out of memory");
        goto failed;
    }

    for (line = 2; p < end; line++) {
        q = memchr(p, '\n', end - p);

        if (llmr_model_line(cl, p, q - p, seen, line, err, errlen)
            != LLMR_OK)
        {
            free(seen);
            goto failed;
        }

        p = q + 1;
    }

    if (!seen[0]) {
        free(seen);
        llmr_model_err(err, errlen, "no \"bias\" line");
        goto failed;
    }

    free(seen);

    return cl;

failed:

    if (cl->owned) {
        free(cl->gram_w);
    }

    free(cl);

    return NULL;
}


static int
llmr_model_header(llmr_classifier_t *cl, const char *p, size_t len,
    uint32_t *crc, char *err, size_t errlen)
{
    int          rc;
    char         name[LLMR_MODEL_KEY_SIZE];
    size_t       i, n, v;
    unsigned     got;
    const char  *end;

    end = p + len;

    if (len && end[-1] == '\r') {
        end--;
    }

    n = sizeof(LLMR_MODEL_MAGIC) - 1;

    if (len < n || memcmp(p, LLMR_MODEL_MAGIC, n) != 0) {
        llmr_model_err(err, errlen, "line 1: not an llmr model file "
                       "(it must start with \"%s\")", LLMR_MODEL_MAGIC);
        return LLMR_ERROR;
    }

    p += n;

    if (llmr_model_index(&p, end, &v) != LLMR_OK) {
        llmr_model_err(err, errlen, "line 1: no format version");
        return LLMR_ERROR;
    }

    if (v != LLMR_MODEL_VERSION) {
        llmr_model_err(err, errlen, "line 1: model format version %zu, "
                       "this build reads version %d", v, LLMR_MODEL_VERSION);
        return LLMR_ERROR;
    }

    got = 0;

    while (p < end) {
        while (p < end && *p == ' ') {
            p++;
        }

        if (p == end) {
            break;
        }

        for (i = 0; p < end && *p != '=' && *p != ' '; p++) {
            if (i + 1 < sizeof(name)) {
                name[i++] = *p;
            }
        }

        name[i] = '\0';

        if (p == end || *p != '=') {
            llmr_model_err(err, errlen, "line 1: \"%s\" has no value", name);
            return LLMR_ERROR;
        }

        p++;

        rc = llmr_model_header_field(cl, name, &p, end, crc, &got, err,
                                     errlen);

        if (rc == LLMR_OK && p < end && *p != ' ') {
            rc = LLMR_DECLINED;
        }

        if (rc == LLMR_DECLINED) {
            llmr_model_err(err, errlen, "line 1: invalid \"%s\" value", name);
            return LLMR_ERROR;
        }

        if (rc != LLMR_OK) {
            return LLMR_ERROR;
        }
    }

    if (got != LLMR_HDR_ALL) {
        llmr_model_err(err, errlen, "line 1: the header needs features=, "
                       "dense=, hash_bits=, thresholds= and checksum=");
        return LLMR_ERROR;
    }

    return LLMR_OK;
}


/*
 * The value of the header field name at *p, moved past it; *got gets the
 * field's LLMR_HDR_* bit.  LLMR_DECLINED: the value does not parse;
 * LLMR_ERROR: it parses but this build cannot use it (err says why).
 */

static int
llmr_model_header_field(llmr_classifier_t *cl, const char *name,
    const char **p, const char *end, uint32_t *crc, unsigned *got,
    char *err, size_t errlen)
{
    size_t  i, v;
    double  t;

    if (strcmp(name, "features") == 0) {
        if (llmr_model_index(p, end, &v) != LLMR_OK) {
            return LLMR_DECLINED;
        }

        if (v != LLMR_FEATURES_VERSION) {
            llmr_model_err(err, errlen, "line 1: the model was trained "
                           "on feature set %zu, this build computes "
                           "feature set %d: retrain it (llmr train)", v,
                           LLMR_FEATURES_VERSION);
            return LLMR_ERROR;
        }

        *got |= LLMR_HDR_FEATURES;

    } else if (strcmp(name, "dense") == 0) {
        if (llmr_model_index(p, end, &v) != LLMR_OK) {
            return LLMR_DECLINED;
        }

        if (v != LLMR_F_N) {
            llmr_model_err(err, errlen, "line 1: dense=%zu, this build "
                           "has %d dense features", v, LLMR_F_N);
            return LLMR_ERROR;
        }

        *got |= LLMR_HDR_DENSE;

    } else if (strcmp(name, "hash_bits") == 0) {
        if (llmr_model_index(p, end, &v) != LLMR_OK) {
            return LLMR_DECLINED;
        }

        if (v != 0 && (v < LLMR_MODEL_BITS_MIN || v > LLMR_MODEL_BITS_MAX)) {
            llmr_model_err(err, errlen, "line 1: hash_bits=%zu, it must "
                           "be 0 or %d..%d", v, LLMR_MODEL_BITS_MIN,
                           LLMR_MODEL_BITS_MAX);
            return LLMR_ERROR;
        }

        cl->gram_bits = (unsigned) v;
        *got |= LLMR_HDR_HASH_BITS;

    } else if (strcmp(name, "thresholds") == 0) {
        for (i = 0; i < LLMR_THRESHOLDS_N; i++) {
            if (i && (*p == end || *(*p)++ != ',')) {
                return LLMR_DECLINED;
            }

            if (llmr_model_number(p, end, &t) != LLMR_OK) {
                return LLMR_DECLINED;
            }

            cl->threshold[i] = t;
        }

        if (llmr_classifier_set_thresholds(cl, cl->threshold,
                                           LLMR_THRESHOLDS_N)
            != LLMR_OK)
        {
            llmr_model_err(err, errlen, "line 1: the thresholds must "
                           "increase strictly inside (0, 1)");
            return LLMR_ERROR;
        }

        *got |= LLMR_HDR_THRESHOLDS;

    } else if (strcmp(name, "checksum") == 0) {
        if (llmr_model_crc(p, end, crc) != LLMR_OK) {
            return LLMR_DECLINED;
        }

        *got |= LLMR_HDR_CHECKSUM;

    } else {
        llmr_model_err(err, errlen, "line 1: unknown \"%s\"", name);
        return LLMR_ERROR;
    }

    return LLMR_OK;
}


/* "crc32:" and 8 lowercase hex digits */

static int
llmr_model_crc(const char **p, const char *end, uint32_t *crc)
{
    const char  *q, *hex;

    if ((size_t) (end - *p) < LLMR_MODEL_CRC_LEN
        || memcmp(*p, LLMR_MODEL_CRC, sizeof(LLMR_MODEL_CRC) - 1) != 0)
    {
        return LLMR_ERROR;
    }

    *crc = 0;
    hex = *p + sizeof(LLMR_MODEL_CRC) - 1;

    for (q = hex; q < *p + LLMR_MODEL_CRC_LEN; q++) {
        if (*q >= '0' && *q <= '9') {
            *crc = *crc * 16 + (*q - '0');

        } else if (*q >= 'a' && *q <= 'f') {
            *crc = *crc * 16 + (*q - 'a' + 10);

        } else {
            return LLMR_ERROR;
        }
    }

    *p += LLMR_MODEL_CRC_LEN;

    return LLMR_OK;
}


static int
llmr_model_line(llmr_classifier_t *cl, const char *p, size_t len,
    unsigned char *seen, unsigned line, char *err, size_t errlen)
{
    char         kind;
    size_t       i;
    double       w;
    const char  *end;

    end = p + len;

    if (len && end[-1] == '\r') {
        end--;
    }

    if (p == end || *p == '#') {
        return LLMR_OK;
    }

    if (end - p > 5 && memcmp(p, "bias ", 5) == 0) {
        p += 5;

        if (llmr_model_number(&p, end, &w) != LLMR_OK || p != end) {
            goto invalid;
        }

        if (seen[0]) {
            llmr_model_err(err, errlen, "line %u: a second \"bias\"", line);
            return LLMR_ERROR;
        }

        seen[0] = 1;
        i = 0;
        kind = 'b';
        goto weight;
    }

    if (end - p < 2 || (p[0] != 'd' && p[0] != 'h') || p[1] != ' ') {
        goto invalid;
    }

    kind = p[0];
    p += 2;

    if (llmr_model_index(&p, end, &i) != LLMR_OK || p == end || *p++ != ' '
        || llmr_model_number(&p, end, &w) != LLMR_OK || p != end)
    {
        goto invalid;
    }

    if (kind == 'd') {
        if (i >= LLMR_F_N) {
            llmr_model_err(err, errlen, "line %u: dense index %zu out of "
                           "range (dense=%d)", line, i, LLMR_F_N);
            return LLMR_ERROR;
        }

        if (seen[1 + i]) {
            llmr_model_err(err, errlen, "line %u: dense index %zu twice",
                           line, i);
            return LLMR_ERROR;
        }

        seen[1 + i] = 1;

    } else {
        if (cl->gram_w == NULL || i >= ((size_t) 1 << cl->gram_bits)) {
            llmr_model_err(err, errlen, "line %u: gram index %zu out of "
                           "range (hash_bits=%u)", line, i, cl->gram_bits);
            return LLMR_ERROR;
        }

        if (cl->gram_w[i] != 0) {
            llmr_model_err(err, errlen, "line %u: gram index %zu twice",
                           line, i);
            return LLMR_ERROR;
        }
    }

weight:

    if (!isfinite(w) || fabs(w) > LLMR_MODEL_WEIGHT_MAX) {
        llmr_model_err(err, errlen, "line %u: weight out of range "
                       "(|w| <= %.0f)", line, LLMR_MODEL_WEIGHT_MAX);
        return LLMR_ERROR;
    }

    switch (kind) {
    case 'b':
        cl->bias = w;
        break;
    case 'd':
        cl->weight[i] = w;
        break;
    default:
        cl->gram_w[i] = (float) w;
    }

    return LLMR_OK;

invalid:

    llmr_model_err(err, errlen, "line %u: expected \"bias W\", \"d INDEX W\" "
                   "or \"h INDEX W\"", line);

    return LLMR_ERROR;
}


/* a decimal number as printf("%.9g") writes it, no locale involved */

static int
llmr_model_number(const char **p, const char *end, double *v)
{
    char         buf[64], *e;
    size_t       n;
    const char  *q;

    for (q = *p, n = 0; q < end && n + 1 < sizeof(buf); q++, n++) {
        if (!((*q >= '0' && *q <= '9') || *q == '-' || *q == '+'
              || *q == '.' || *q == 'e' || *q == 'E'))
        {
            break;
        }

        buf[n] = *q;
    }

    if (n == 0) {
        return LLMR_ERROR;
    }

    buf[n] = '\0';
    *v = strtod(buf, &e);

    if (*e != '\0') {
        return LLMR_ERROR;
    }

    *p = q;

    return LLMR_OK;
}


static int
llmr_model_index(const char **p, const char *end, size_t *v)
{
    size_t       n;
    const char  *q;

    n = 0;

    for (q = *p; q < end && *q >= '0' && *q <= '9'; q++) {
        if (n > 100000000) {
            return LLMR_ERROR;
        }

        n = n * 10 + (*q - '0');
    }

    if (q == *p) {
        return LLMR_ERROR;
    }

    *p = q;
    *v = n;

    return LLMR_OK;
}


static void
llmr_model_err(char *err, size_t errlen, const char *fmt, ...)
{
    va_list  ap;

    if (err == NULL || errlen == 0) {
        return;
    }

    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}


/* the model as a file's text: a malloc()ed string, *len bytes */

char *
llmr_classifier_dump(const llmr_classifier_t *cl, size_t *len)
{
    int       n;
    char     *buf, *p, *body;
    size_t    i, cap, used, grams;

    if (cl == NULL) {
        cl = llmr_classifier_default();
    }

    grams = cl->gram_w ? (size_t) 1 << cl->gram_bits : 0;
    cap = 256 + 48 * (1 + LLMR_F_N);

    for (i = 0; i < grams; i++) {
        cap += (cl->gram_w[i] != 0) ? 32 : 0;
    }

    buf = malloc(cap);
    if (buf == NULL) {
        return NULL;
    }

    /* the body first, at a fixed offset; the header goes before it */

    body = buf + 192;
    p = body;

    n = snprintf(p, cap - (p - buf), "bias %.9g\n", cl->bias);
    p += n;

    for (i = 0; i < LLMR_F_N; i++) {
        if (cl->weight[i] != 0) {
            n = snprintf(p, cap - (p - buf), "d %zu %.9g\n", i,
                         cl->weight[i]);
            p += n;
        }
    }

    for (i = 0; i < grams; i++) {
        if (cl->gram_w[i] != 0) {
            n = snprintf(p, cap - (p - buf), "h %zu %.5g\n", i,
                         (double) cl->gram_w[i]);
            p += n;
        }
    }

    used = p - body;

    n = snprintf(buf, 192, "llmr-model %d features=%d dense=%d hash_bits=%u "
                 "thresholds=%.6g,%.6g,%.6g,%.6g checksum=crc32:%08x\n",
                 LLMR_MODEL_VERSION, LLMR_FEATURES_VERSION, LLMR_F_N,
                 cl->gram_w ? cl->gram_bits : 0, cl->threshold[0],
                 cl->threshold[1], cl->threshold[2], cl->threshold[3],
                 (unsigned) llmr_crc32(body, used));

    memmove(buf + n, body, used);
    *len = n + used;
    buf[*len] = '\0';

    return buf;
}


int
llmr_classifier_save(const llmr_classifier_t *cl, const char *path,
    char *err, size_t errlen)
{
    FILE    *f;
    char    *text;
    size_t   len;

    text = llmr_classifier_dump(cl, &len);
    if (text == NULL) {
        llmr_model_err(err, errlen, "out of memory");
        return LLMR_ERROR;
    }

    f = fopen(path, "wb");
    if (f == NULL) {
        llmr_model_err(err, errlen, "cannot open \"%s\": %s", path,
                       strerror(errno));
        free(text);
        return LLMR_ERROR;
    }

    if (fwrite(text, 1, len, f) != len || fclose(f) != 0) {
        llmr_model_err(err, errlen, "cannot write \"%s\"", path);
        free(text);
        return LLMR_ERROR;
    }

    free(text);

    return LLMR_OK;
}
