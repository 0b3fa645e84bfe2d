/* Small assertion helpers shared by the C tests of libstrongroom. */
#ifndef STRONGROOM_TEST_CHECK_H
#define STRONGROOM_TEST_CHECK_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <strongroom.h>

static int check_failures = 0;
static int check_count = 0;

static inline const char * check_last_error(void) {
    static char buf[1024];
    size_t need = 0;
    if (strongroom_last_error(buf, sizeof buf, &need) != STRONGROOM_OK) {
        snprintf(buf, sizeof buf, "(last error needs %zu bytes)", need + 1);
    }
    return buf;
}

/* Asserts that `expr` returns exactly status `want`. */
#define EXPECT_STATUS(want, expr)                                                      \
    do {                                                                               \
        strongroom_status got_ = (expr);                                               \
        check_count++;                                                                 \
        if (got_ != (strongroom_status)(want)) {                                       \
            check_failures++;                                                          \
            fprintf(stderr, "%s:%d: %s\n  expected %s (%u), got %s (%u): %s\n",        \
                    __FILE__, __LINE__, #expr, strongroom_status_name(want),           \
                    (unsigned)(want), strongroom_status_name(got_), (unsigned)got_,    \
                    got_ ? check_last_error() : "");                                   \
        }                                                                              \
    } while (0)

#define EXPECT_OK(expr) EXPECT_STATUS(STRONGROOM_OK, expr)

/* Asserts a condition. */
#define EXPECT(cond)                                                                   \
    do {                                                                               \
        check_count++;                                                                 \
        if (!(cond)) {                                                                 \
            check_failures++;                                                          \
            fprintf(stderr, "%s:%d: expected %s\n", __FILE__, __LINE__, #cond);        \
        }                                                                              \
    } while (0)

/* Stops at once (setup steps that later checks depend on). */
#define REQUIRE_OK(expr)                                                               \
    do {                                                                               \
        strongroom_status got_ = (expr);                                               \
        if (got_ != STRONGROOM_OK) {                                                   \
            fprintf(stderr, "%s:%d: %s failed: %s (%u): %s\n", __FILE__, __LINE__,     \
                    #expr, strongroom_status_name(got_), (unsigned)got_,               \
                    check_last_error());                                               \
            exit(2);                                                                   \
        }                                                                              \
    } while (0)

static inline int check_done(const char *name) {
    if (check_failures) {
        fprintf(stderr, "%s: %d of %d checks FAILED\n", name, check_failures, check_count);
        return 1;
    }
    printf("%s: all %d checks passed\n", name, check_count);
    return 0;
}

static inline int file_exists(const char *path) {
    struct stat st;
    return stat(path, &st) == 0;
}

static inline unsigned char * read_all(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    size_t cap = 1 << 16, n = 0;
    unsigned char *buf = malloc(cap);
    size_t r;
    while (buf && (r = fread(buf + n, 1, cap - n, f)) > 0) {
        n += r;
        if (n == cap) {
            unsigned char *nb = realloc(buf, cap *= 2);
            if (!nb) { free(buf); buf = NULL; break; }
            buf = nb;
        }
    }
    fclose(f);
    *len = n;
    return buf;
}

static inline int write_all(const char *path, const unsigned char *data, size_t len) {
    FILE *f = fopen(path, "wb");
    if (!f) return -1;
    size_t w = fwrite(data, 1, len, f);
    return (fclose(f) == 0 && w == len) ? 0 : -1;
}

/* The cheapest Argon2id cost the library accepts: keeps tests fast,
 * including under valgrind. Never use it for real data. */
static inline strongroom_kdf_params fast_kdf(void) {
    strongroom_kdf_params k;
    k.memory_kib = 8192;
    k.iterations = 1;
    k.parallelism = 1;
    return k;
}

static inline void fill_pattern(unsigned char *p, size_t n, unsigned seed) {
    for (size_t i = 0; i < n; i++) p[i] = (unsigned char)((i * 2654435761u) >> 13) ^ (unsigned char)seed;
}

#endif
