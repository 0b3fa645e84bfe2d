/* The shared field vectors (testdata/field/vectors.json) through the C
 * API: deterministic tokens are reproduced byte for byte, random-mode
 * tokens (fixed nonces) decrypt to their values, blind index terms match.
 * Usage: test_vectors LINES_FILE (written by ffi/tests/field_vectors.py). */
#include <stdint.h>

#include "check.h"

static size_t unhex(const char *h, uint8_t *out, size_t cap) {
    size_t n = strlen(h) / 2;
    if (n > cap) {
        fprintf(stderr, "vector too long\n");
        exit(2);
    }
    for (size_t i = 0; i < n; i++) {
        unsigned b;
        sscanf(h + 2 * i, "%2x", &b);
        out[i] = (uint8_t)b;
    }
    return n;
}

static strongroom_value_type type_of(const char *t) {
    const char *names[] = {"bytes", "text", "int", "float", "bool", "date", "timestamp", "decimal"};
    for (unsigned i = 0; i < 8; i++)
        if (strcmp(t, names[i]) == 0) return STRONGROOM_TYPE_BYTES + i;
    fprintf(stderr, "unknown type %s\n", t);
    exit(2);
}

static strongroom_normalizer norm_of(const char *n) {
    if (strcmp(n, "none") == 0) return STRONGROOM_NORMALIZE_NONE;
    if (strcmp(n, "trim-lowercase") == 0) return STRONGROOM_NORMALIZE_TRIM_LOWERCASE;
    if (strcmp(n, "nfkc-casefold") == 0) return STRONGROOM_NORMALIZE_NFKC_CASEFOLD;
    if (strcmp(n, "digits-only") == 0) return STRONGROOM_NORMALIZE_DIGITS_ONLY;
    fprintf(stderr, "unknown normalizer %s\n", n);
    exit(2);
}

static uint8_t kf[32], kd[32], kb[32];
static unsigned version;

static strongroom_field_cipher *cipher(const char *table, const char *column, strongroom_column_spec *spec) {
    strongroom_field_cipher *c = NULL;
    REQUIRE_OK(strongroom_field_cipher_new_with_keys(table, column, spec, version, kf, kd, kb, &c));
    return c;
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: %s LINES_FILE\n", argv[0]);
        return 2;
    }
    FILE *f = fopen(argv[1], "r");
    if (!f) {
        perror(argv[1]);
        return 2;
    }
    char kind[16], a[512], b[512], c[512], d[512], e[512], g[512], h[512];
    int det = 0, rnd = 0, bi = 0;
    while (fscanf(f, "%15s", kind) == 1) {
        strongroom_column_spec spec;
        memset(&spec, 0, sizeof spec);
        uint8_t value[512], tok[512], row[512], out[512];
        size_t vl = 0, tl = 0, rl = 0, ol = 0;
        bool is_null = false;
        if (strcmp(kind, "keys") == 0) {
            if (fscanf(f, "%511s %511s %511s %u", a, b, c, &version) != 4) return 2;
            unhex(a, kf, 32);
            unhex(b, kd, 32);
            unhex(c, kb, 32);
        } else if (strcmp(kind, "det") == 0) {
            if (fscanf(f, "%511s %511s %511s %511s %511s", a, b, c, d, e) != 5) return 2;
            spec.value_type = type_of(c);
            spec.mode = STRONGROOM_MODE_DETERMINISTIC;
            int null = strcmp(d, "-") == 0;
            spec.hide_null = null;
            strongroom_field_cipher *ci = cipher(a, b, &spec);
            tl = unhex(e, tok, sizeof tok);
            if (null) {
                EXPECT_OK(strongroom_field_encrypt_null(ci, NULL, 0, out, sizeof out, &ol));
            } else {
                vl = unhex(d, value, sizeof value);
                EXPECT_OK(strongroom_field_encrypt(ci, value, vl, NULL, 0, out, sizeof out, &ol));
            }
            EXPECT(ol == tl && memcmp(out, tok, tl) == 0);
            EXPECT_OK(strongroom_field_decrypt(ci, tok, tl, NULL, 0, out, sizeof out, &ol, &is_null));
            EXPECT(null ? is_null : (!is_null && ol == vl && memcmp(out, value, vl) == 0));
            strongroom_field_cipher_free(ci);
            det++;
        } else if (strcmp(kind, "rand") == 0) {
            if (fscanf(f, "%511s %511s %511s %511s %511s %511s", a, b, c, d, e, g) != 6) return 2;
            spec.value_type = type_of(c);
            spec.mode = STRONGROOM_MODE_RANDOM;
            int null = strcmp(d, "-") == 0;
            spec.hide_null = null;
            strongroom_field_cipher *ci = cipher(a, b, &spec);
            tl = unhex(g, tok, sizeof tok);
            int has_row = strcmp(e, "-") != 0;
            if (has_row) rl = unhex(e, row, sizeof row);
            EXPECT_OK(strongroom_field_decrypt(ci, tok, tl, has_row ? row : NULL, rl, out, sizeof out, &ol, &is_null));
            if (null) {
                EXPECT(is_null);
            } else {
                vl = unhex(d, value, sizeof value);
                EXPECT(!is_null && ol == vl && memcmp(out, value, vl) == 0);
            }
            /* The vector's token under another row fails. */
            EXPECT_STATUS(STRONGROOM_FIELD_AUTH_FAILED,
                          strongroom_field_decrypt(ci, tok, tl, (const uint8_t *)"other row", 9, out, sizeof out, &ol, &is_null));
            strongroom_token_info info;
            EXPECT_OK(strongroom_token_inspect(tok, tl, &info));
            EXPECT(info.key_version == version && info.mode == STRONGROOM_MODE_RANDOM);
            strongroom_field_cipher_free(ci);
            rnd++;
        } else if (strcmp(kind, "bi") == 0) {
            unsigned len;
            if (fscanf(f, "%511s %511s %511s %511s %u %511s %511s", a, b, c, d, &len, e, h) != 7) return 2;
            spec.value_type = type_of(c);
            spec.mode = STRONGROOM_MODE_RANDOM;
            spec.blind_index_len = len;
            spec.normalizer = norm_of(d);
            strongroom_field_cipher *ci = cipher(a, b, &spec);
            vl = unhex(e, value, sizeof value);
            tl = unhex(h, tok, sizeof tok);
            EXPECT_OK(strongroom_field_index(ci, value, vl, out, sizeof out, &ol));
            EXPECT(ol == tl && ol == len && memcmp(out, tok, tl) == 0);
            strongroom_field_cipher_free(ci);
            bi++;
        } else {
            fprintf(stderr, "unknown line kind %s\n", kind);
            return 2;
        }
    }
    fclose(f);
    EXPECT(det >= 5 && rnd >= 5 && bi >= 8);
    printf("vectors: %d deterministic, %d random, %d blind index\n", det, rnd, bi);
    return check_done("test_vectors");
}
