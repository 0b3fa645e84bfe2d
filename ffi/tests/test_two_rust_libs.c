/* A program that links libstrongroom.a together with another Rust static
 * library (ffi/tests/static/other_rust_lib.rs): both work side by side,
 * each with its own copy of the Rust standard library, because the installed
 * libstrongroom.a keeps only the C API's symbols global.
 * Usage: test_two_rust_libs WORKDIR (an empty folder). */
#include <stdint.h>

#include "check.h"

uint64_t other_rust_sum(uint32_t n);

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: %s WORKDIR\n", argv[0]);
        return 2;
    }
    /* The other library: threads, allocation, a panic it catches itself. */
    EXPECT(other_rust_sum(10) == 45);
    EXPECT(other_rust_sum(0) == UINT64_MAX);

    /* strongroom: a keyring (Argon2id on the worker pool), a batch of field
     * values on every core, and a caught failure. */
    char path[600];
    snprintf(path, sizeof path, "%s/two.srk", argv[1]);
    strongroom_kdf_params kdf = fast_kdf();
    strongroom_keyring *kr = NULL;
    REQUIRE_OK(strongroom_keyring_create(path, (const uint8_t *)"two libs", 8, &kdf, &kr));
    strongroom_column_spec spec;
    memset(&spec, 0, sizeof spec);
    spec.value_type = STRONGROOM_TYPE_INT;
    spec.mode = STRONGROOM_MODE_DETERMINISTIC;
    strongroom_field_cipher *c = NULL;
    REQUIRE_OK(strongroom_field_cipher_new(kr, "t", "n", &spec, &c));
    enum { N = 3000 };
    static strongroom_item items[N];
    static char vals[N][12];
    for (size_t i = 0; i < N; i++) {
        items[i].len = (size_t)snprintf(vals[i], sizeof vals[i], "%zu", i * 7);
        items[i].data = (const uint8_t *)vals[i];
        items[i].is_null = false;
    }
    strongroom_field_results *res = NULL;
    EXPECT_OK(strongroom_field_encrypt_batch_text(c, items, N, NULL, &res, NULL));
    const uint8_t *tok;
    size_t tl;
    bool nul;
    strongroom_status st;
    EXPECT_OK(strongroom_field_results_get(res, N - 1, &tok, &tl, &nul, &st));
    uint8_t out[32];
    size_t ol = 0;
    EXPECT_OK(strongroom_field_decrypt_text(c, (const char *)tok, tl, NULL, 0, out, sizeof out, &ol, &nul));
    EXPECT(ol == items[N - 1].len && memcmp(out, vals[N - 1], ol) == 0);
    strongroom_field_results_free(res);
    EXPECT_STATUS(STRONGROOM_INVALID_VALUE, strongroom_field_encrypt_text(c, (const uint8_t *)"x", 1, NULL, 0, (char *)out, sizeof out, &ol));

    /* And the other library again, after strongroom's threads started. */
    EXPECT(other_rust_sum(100) == 4950);
    strongroom_field_cipher_free(c);
    strongroom_keyring_free(kr);
    return check_done("test_two_rust_libs");
}
