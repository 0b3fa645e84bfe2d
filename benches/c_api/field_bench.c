/* The C side of the fields group of the benchmark harness (benches/harness):
 * a BYTES-byte text value (default 32) encrypted and decrypted one call at
 * a time N times, and in batches of 10 000, through libstrongroom;
 * field_bench.rs makes the same calls in Rust. Prints one line per case:
 * "c CASE NS ns" (nanoseconds per value).
 * Usage: field_bench [N [BYTES]] */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <strongroom.h>

static double now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e9 + (double)t.tv_nsec;
}

#define CHECK(x) do { if ((x) != STRONGROOM_OK) { fprintf(stderr, "%s failed\n", #x); exit(1); } } while (0)

int main(int argc, char **argv) {
    size_t n = argc > 1 ? strtoul(argv[1], NULL, 10) : 200000;
    size_t bytes = argc > 2 ? strtoul(argv[2], NULL, 10) : 32;
    if (n == 0 || bytes == 0 || bytes > 65536) {
        fprintf(stderr, "usage: field_bench [N [BYTES]] (N > 0, 0 < BYTES <= 65536)\n");
        return 2;
    }
    uint8_t kf[32], kd[32], kb[32];
    memset(kf, 1, 32);
    memset(kd, 2, 32);
    memset(kb, 3, 32);
    strongroom_column_spec spec;
    memset(&spec, 0, sizeof spec);
    spec.value_type = STRONGROOM_TYPE_TEXT;
    spec.mode = STRONGROOM_MODE_RANDOM;
    strongroom_field_cipher *c = NULL;
    CHECK(strongroom_field_cipher_new_with_keys("users", "email", &spec, 1, kf, kd, kb, &c));
    char *text = malloc(bytes);
    size_t cap = bytes * 2 + 256;
    uint8_t *tok = malloc(cap), *out = malloc(cap);
    if (text == NULL || tok == NULL || out == NULL) return 1;
    memset(text, 'a', bytes);
    const uint8_t *row = (const uint8_t *)"row-42";
    size_t tl = 0, ol = 0;
    bool is_null;

    double t0 = now_ns();
    for (size_t i = 0; i < n; i++) {
        CHECK(strongroom_field_encrypt(c, (const uint8_t *)text, bytes, row, 6, tok, cap, &tl));
    }
    double enc = (now_ns() - t0) / (double)n;
    t0 = now_ns();
    for (size_t i = 0; i < n; i++) {
        CHECK(strongroom_field_decrypt(c, tok, tl, row, 6, out, cap, &ol, &is_null));
    }
    double dec = (now_ns() - t0) / (double)n;
    if (ol != bytes || memcmp(out, text, bytes) != 0) return 1;

    enum { BATCH = 10000 };
    static strongroom_item items[BATCH];
    for (size_t i = 0; i < BATCH; i++) {
        items[i].data = (const uint8_t *)text;
        items[i].len = bytes;
        items[i].is_null = false;
    }
    size_t reps = n / BATCH < 3 ? 3 : n / BATCH, failed;
    t0 = now_ns();
    for (size_t r = 0; r < reps; r++) {
        strongroom_field_results *res = NULL;
        CHECK(strongroom_field_encrypt_batch(c, items, BATCH, NULL, &res, &failed));
        strongroom_field_results_free(res);
    }
    double batch = (now_ns() - t0) / (double)(reps * BATCH);
    printf("c single_encrypt %.1f ns\n", enc);
    printf("c single_decrypt %.1f ns\n", dec);
    printf("c batch_encrypt %.1f ns\n", batch);
    strongroom_field_cipher_free(c);
    free(text);
    free(tok);
    free(out);
    return 0;
}
