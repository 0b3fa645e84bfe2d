/* One keyring and one field cipher shared by 8 threads at once: field
 * encryption, decryption and indexing, whole-file encryption and
 * decryption, version listing, and a version added while the others work.
 * Usage: test_threads WORKDIR */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <stdint.h>

#include "check.h"

#define THREADS 8
#define ROUNDS 200

static strongroom_keyring *kr;
static strongroom_field_cipher *fc;
static char dir[512];
static int failures[THREADS];

static void *work(void *arg) {
    int id = (int)(intptr_t)arg;
    int bad = 0;
    char value[64], row[16], path[700], enc[720], out[720];
    uint8_t tok[256], idx[32], idx2[32], plain[256];
    for (int i = 0; i < ROUNDS; i++) {
        int vl = snprintf(value, sizeof value, "user-%d-%d@example.com", id, i);
        int rl = snprintf(row, sizeof row, "%d:%d", id, i);
        size_t tl = 0, pl = 0, il = 0, il2 = 0;
        bool is_null = true;
        bad += strongroom_field_encrypt(fc, (const uint8_t *)value, (size_t)vl, (const uint8_t *)row, (size_t)rl, tok, sizeof tok, &tl) != 0;
        bad += strongroom_field_decrypt(fc, tok, tl, (const uint8_t *)row, (size_t)rl, plain, sizeof plain, &pl, &is_null) != 0;
        bad += is_null || pl != (size_t)vl || memcmp(plain, value, pl) != 0;
        bad += strongroom_field_index(fc, (const uint8_t *)value, (size_t)vl, idx, sizeof idx, &il) != 0;
        bad += strongroom_field_index(fc, (const uint8_t *)value, (size_t)vl, idx2, sizeof idx2, &il2) != 0;
        bad += il != 8 || memcmp(idx, idx2, 8) != 0;
        /* An error on one thread leaves a message on that thread only. */
        bad += strongroom_field_decrypt(fc, tok, tl, NULL, 0, plain, sizeof plain, &pl, &is_null) != STRONGROOM_FIELD_AUTH_FAILED;
        char msg[512];
        size_t need;
        bad += strongroom_last_error(msg, sizeof msg, &need) != 0 || strstr(msg, "authentication") == NULL;
    }
    strongroom_item items[16];
    for (int i = 0; i < 16; i++) {
        items[i].data = (const uint8_t *)"batch value";
        items[i].len = 11;
        items[i].is_null = false;
    }
    strongroom_field_results *res = NULL;
    size_t failed;
    bad += strongroom_field_encrypt_batch(fc, items, 16, NULL, &res, &failed) != 0;
    strongroom_field_results_free(res);

    snprintf(path, sizeof path, "%s/t%d.bin", dir, id);
    snprintf(enc, sizeof enc, "%s.srf", path);
    snprintf(out, sizeof out, "%s.out", path);
    unsigned char data[100000];
    fill_pattern(data, sizeof data, (unsigned)id);
    bad += write_all(path, data, sizeof data) != 0;
    strongroom_keys k;
    memset(&k, 0, sizeof k);
    k.keyring = kr;
    for (int i = 0; i < 3; i++) {
        strongroom_file_options o;
        memset(&o, 0, sizeof o);
        o.overwrite = true;
        uint64_t n = 0;
        bad += strongroom_file_encrypt(path, enc, &k, &o) != 0;
        bad += strongroom_file_decrypt(enc, out, &k, &o, &n) != 0;
        bad += n != sizeof data;
        size_t count = 0;
        bad += strongroom_keyring_versions(kr, NULL, 0, &count) != STRONGROOM_BUFFER_TOO_SMALL;
        bad += count < 1;
    }
    if (id == 0) {
        uint32_t v = 0;
        bad += strongroom_keyring_add_version(kr, false, &v) != 0;
    }
    failures[id] = bad;
    return NULL;
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: %s WORKDIR\n", argv[0]);
        return 2;
    }
    snprintf(dir, sizeof dir, "%s", argv[1]);
    char path[600];
    snprintf(path, sizeof path, "%s/threads.srk", dir);
    strongroom_kdf_params kdf = fast_kdf();
    REQUIRE_OK(strongroom_keyring_create(path, (const uint8_t *)"thread pass", 11, &kdf, &kr));
    strongroom_column_spec spec;
    memset(&spec, 0, sizeof spec);
    spec.value_type = STRONGROOM_TYPE_TEXT;
    spec.mode = STRONGROOM_MODE_RANDOM;
    spec.blind_index_len = 8;
    REQUIRE_OK(strongroom_field_cipher_new(kr, "users", "email", &spec, &fc));
    pthread_t t[THREADS];
    for (int i = 0; i < THREADS; i++) EXPECT(pthread_create(&t[i], NULL, work, (void *)(intptr_t)i) == 0);
    for (int i = 0; i < THREADS; i++) EXPECT(pthread_join(t[i], NULL) == 0);
    for (int i = 0; i < THREADS; i++) EXPECT(failures[i] == 0);
    size_t count = 0;
    EXPECT_STATUS(STRONGROOM_BUFFER_TOO_SMALL, strongroom_keyring_versions(kr, NULL, 0, &count));
    EXPECT(count == 2);
    strongroom_field_cipher_free(fc);
    strongroom_keyring_free(kr);
    return check_done("test_threads");
}
