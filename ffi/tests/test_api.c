/* Tests of the libstrongroom C API: round trips and every error path,
 * each asserting its status. Usage: test_api WORKDIR (an empty folder). */
#include <stdint.h>

#include "check.h"

static char dir[512];
static char pbuf[8][768];

static const char *p(int slot, const char *name) {
    snprintf(pbuf[slot], sizeof pbuf[slot], "%s/%s", dir, name);
    return pbuf[slot];
}

#define PASS "correct horse battery staple"
#define PASS_LEN (sizeof PASS - 1)

static void test_version_and_status(void) {
    EXPECT(strcmp(strongroom_version(), STRONGROOM_VERSION_STRING) == 0);
    char v[32];
    snprintf(v, sizeof v, "%d.%d.%d", STRONGROOM_VERSION_MAJOR, STRONGROOM_VERSION_MINOR,
             STRONGROOM_VERSION_PATCH);
    EXPECT(strcmp(v, STRONGROOM_VERSION_STRING) == 0);

    EXPECT(strcmp(strongroom_status_name(STRONGROOM_OK), "OK") == 0);
    EXPECT(strcmp(strongroom_status_name(STRONGROOM_CHUNK_AUTH_FAILED), "ChunkAuthFailed") == 0);
    EXPECT(strcmp(strongroom_status_name(STRONGROOM_NULL_ARGUMENT), "NullArgument") == 0);
    EXPECT(strcmp(strongroom_status_message(STRONGROOM_WRONG_PASSPHRASE), "wrong passphrase") == 0);
    EXPECT(strcmp(strongroom_status_name(12345), "Unknown") == 0);
    EXPECT(strcmp(strongroom_status_message(12345), "unknown status") == 0);
    EXPECT(strcmp(strongroom_status_message(UINT32_MAX), "unknown status") == 0);
    for (strongroom_status s = 0; s < 1000; s++) {
        EXPECT(strongroom_status_name(s) != NULL && strongroom_status_message(s) != NULL);
    }
    check_count -= 999; /* the loop counts as one check */

    /* last error: a failure stores a message; short buffers get the size
     * (the text's length, without its terminator). */
    EXPECT_STATUS(STRONGROOM_NULL_ARGUMENT, strongroom_keyring_open_passphrase(NULL, (const uint8_t *)"x", 1, NULL));
    size_t need = 0;
    EXPECT_STATUS(STRONGROOM_BUFFER_TOO_SMALL, strongroom_last_error(NULL, 0, &need));
    EXPECT(need > 1);
    char tiny[3] = {'a', 'b', 'c'};
    EXPECT_STATUS(STRONGROOM_BUFFER_TOO_SMALL, strongroom_last_error(tiny, sizeof tiny, &need));
    EXPECT(tiny[0] == 'a' && tiny[2] == 'c');
    char *msg = malloc(need + 1);
    size_t again = 0;
    EXPECT_STATUS(STRONGROOM_BUFFER_TOO_SMALL, strongroom_last_error(msg, need, &again)); /* no room for the NUL */
    EXPECT(again == need);
    EXPECT_OK(strongroom_last_error(msg, need + 1, &again));
    EXPECT(strstr(msg, "path is NULL") != NULL);
    EXPECT(strlen(msg) == need && again == need);
    free(msg);
    EXPECT_STATUS(STRONGROOM_NULL_ARGUMENT, strongroom_last_error(tiny, sizeof tiny, NULL));
    /* NULL with a capacity is NullArgument whatever the message's length,
     * and writes nothing. */
    size_t untouched = 777;
    EXPECT_STATUS(STRONGROOM_NULL_ARGUMENT, strongroom_last_error(NULL, 1, &untouched));
    EXPECT_STATUS(STRONGROOM_NULL_ARGUMENT, strongroom_last_error(NULL, 4096, &untouched));
    EXPECT(untouched == 777);
    EXPECT_STATUS(STRONGROOM_LENGTH_TOO_LARGE, strongroom_last_error(tiny, SIZE_MAX, &untouched));
    EXPECT(untouched == 777);
    /* A success does not clear the message (like errno). */
    EXPECT(strongroom_status_name(0) != NULL);
}

static strongroom_keyring *make_keyring(const char *path) {
    strongroom_kdf_params kdf = fast_kdf();
    strongroom_keyring *kr = NULL;
    REQUIRE_OK(strongroom_keyring_create(path, (const uint8_t *)PASS, PASS_LEN, &kdf, &kr));
    return kr;
}

static void test_keyrings(void) {
    strongroom_kdf_params kdf = fast_kdf();
    strongroom_keyring *kr = NULL, *kr2 = NULL;
    const char *path = p(0, "keys.srk");

    /* NULL arguments, each named. */
    EXPECT_STATUS(STRONGROOM_NULL_ARGUMENT, strongroom_keyring_create(NULL, (const uint8_t *)PASS, PASS_LEN, &kdf, &kr));
    EXPECT_STATUS(STRONGROOM_NULL_ARGUMENT, strongroom_keyring_create(path, NULL, PASS_LEN, &kdf, &kr));
    EXPECT_STATUS(STRONGROOM_NULL_ARGUMENT, strongroom_keyring_create(path, (const uint8_t *)PASS, PASS_LEN, NULL, &kr));
    EXPECT_STATUS(STRONGROOM_NULL_ARGUMENT, strongroom_keyring_create(path, (const uint8_t *)PASS, PASS_LEN, &kdf, NULL));
    EXPECT(!file_exists(path));
    /* Bad inputs. */
    EXPECT_STATUS(STRONGROOM_INVALID_UTF8, strongroom_keyring_create(path, (const uint8_t *)"\xff\xfe", 2, &kdf, &kr));
    EXPECT_STATUS(STRONGROOM_INVALID_ARGUMENT, strongroom_keyring_create(path, (const uint8_t *)"", 0, &kdf, &kr));
    strongroom_kdf_params weak = kdf;
    weak.memory_kib = 1024;
    EXPECT_STATUS(STRONGROOM_KDF_PARAMS, strongroom_keyring_create(path, (const uint8_t *)PASS, PASS_LEN, &weak, &kr));
    EXPECT(kr == NULL && !file_exists(path));

    strongroom_kdf_params d = strongroom_kdf_params_default();
    EXPECT(d.memory_kib == 65536 && d.iterations == 3 && d.parallelism == 4);

    kr = make_keyring(path);
    EXPECT_STATUS(STRONGROOM_ALREADY_EXISTS, strongroom_keyring_create(path, (const uint8_t *)PASS, PASS_LEN, &kdf, &kr2));
    EXPECT(kr2 == NULL);

    uint32_t primary = 0;
    EXPECT_OK(strongroom_keyring_primary_version(kr, &primary));
    EXPECT(primary == 1);
    EXPECT_STATUS(STRONGROOM_NULL_ARGUMENT, strongroom_keyring_primary_version(NULL, &primary));
    EXPECT_STATUS(STRONGROOM_NULL_ARGUMENT, strongroom_keyring_primary_version(kr, NULL));

    /* Versions: add, promote, two-call listing. */
    uint32_t v2 = 0, v3 = 0;
    EXPECT_OK(strongroom_keyring_add_version(kr, false, &v2));
    EXPECT(v2 == 2);
    EXPECT_OK(strongroom_keyring_add_version(kr, true, &v3));
    EXPECT(v3 == 3);
    EXPECT_OK(strongroom_keyring_primary_version(kr, &primary));
    EXPECT(primary == 3);
    EXPECT_OK(strongroom_keyring_promote(kr, 2));
    EXPECT_OK(strongroom_keyring_primary_version(kr, &primary));
    EXPECT(primary == 2);
    EXPECT_STATUS(STRONGROOM_UNKNOWN_KEY_VERSION, strongroom_keyring_promote(kr, 99));
    size_t count = 0;
    EXPECT_STATUS(STRONGROOM_BUFFER_TOO_SMALL, strongroom_keyring_versions(kr, NULL, 0, &count));
    EXPECT(count == 3);
    strongroom_key_version vs[3];
    memset(vs, 0xAB, sizeof vs);
    EXPECT_STATUS(STRONGROOM_BUFFER_TOO_SMALL, strongroom_keyring_versions(kr, vs, 2, &count));
    EXPECT(vs[0].version == 0xABABABABu); /* nothing written on failure */
    EXPECT(strstr(check_last_error(), "3 entries needed") != NULL);
    EXPECT_STATUS(STRONGROOM_NULL_ARGUMENT, strongroom_keyring_versions(kr, NULL, 3, &count));
    EXPECT_OK(strongroom_keyring_versions(kr, vs, 3, &count));
    EXPECT(vs[0].version == 1 && vs[0].status == STRONGROOM_KEY_DECRYPT_ONLY);
    EXPECT(vs[1].version == 2 && vs[1].status == STRONGROOM_KEY_PRIMARY);
    EXPECT(vs[2].version == 3 && vs[2].status == STRONGROOM_KEY_DECRYPT_ONLY);
    EXPECT(vs[0].created_at > 1600000000u);
    EXPECT_OK(strongroom_keyring_disable_version(kr, 3));
    EXPECT_OK(strongroom_keyring_enable_version(kr, 3));
    EXPECT_STATUS(STRONGROOM_INVALID_ARGUMENT, strongroom_keyring_destroy_version(kr, 2)); /* primary */
    EXPECT_OK(strongroom_keyring_destroy_version(kr, 3));
    EXPECT_STATUS(STRONGROOM_INVALID_ARGUMENT, strongroom_keyring_promote(kr, 3)); /* destroyed */
    EXPECT_OK(strongroom_keyring_versions(kr, vs, 3, &count));
    EXPECT(vs[2].status == STRONGROOM_KEY_DESTROYED);

    /* Recovery key. */
    char small[16];
    EXPECT_STATUS(STRONGROOM_BUFFER_TOO_SMALL, strongroom_keyring_add_recovery_key(kr, small, sizeof small));
    char rk[STRONGROOM_RECOVERY_KEY_BUF_LEN];
    EXPECT_OK(strongroom_keyring_add_recovery_key(kr, rk, sizeof rk));
    EXPECT(strncmp(rk, "SRRK-", 5) == 0);
    EXPECT_OK(strongroom_keyring_add_passphrase(kr, (const uint8_t *)"second pass", 11, &kdf));
    strongroom_keyring_free(kr);
    strongroom_keyring_free(NULL); /* accepted */

    /* Opening: passphrase, wrong passphrase, recovery key, file, env. */
    kr = NULL;
    EXPECT_STATUS(STRONGROOM_WRONG_PASSPHRASE, strongroom_keyring_open_passphrase(path, (const uint8_t *)"nope", 4, &kr));
    EXPECT(kr == NULL);
    EXPECT_STATUS(STRONGROOM_NOT_FOUND, strongroom_keyring_open_passphrase(p(1, "missing.srk"), (const uint8_t *)PASS, PASS_LEN, &kr));
    EXPECT(strstr(check_last_error(), p(1, "missing.srk")) != NULL); /* the detail names the file */
    EXPECT_STATUS(STRONGROOM_INVALID_UTF8, strongroom_keyring_open_passphrase(path, (const uint8_t *)"\xc3", 1, &kr));
    EXPECT_OK(strongroom_keyring_open_passphrase(path, (const uint8_t *)"second pass", 11, &kr));
    EXPECT_OK(strongroom_keyring_primary_version(kr, &primary));
    EXPECT(primary == 2);
    strongroom_keyring_free(kr);
    kr = NULL;
    EXPECT_OK(strongroom_keyring_open_recovery_key(path, rk, &kr));
    strongroom_keyring_free(kr);
    kr = NULL;
    char bad_rk[STRONGROOM_RECOVERY_KEY_BUF_LEN];
    memcpy(bad_rk, rk, sizeof rk);
    bad_rk[6] = bad_rk[6] == 'A' ? 'B' : 'A';
    strongroom_status s = strongroom_keyring_open_recovery_key(path, bad_rk, &kr);
    EXPECT(s == STRONGROOM_INVALID_RECOVERY_KEY || s == STRONGROOM_WRONG_RECOVERY_KEY);
    EXPECT_STATUS(STRONGROOM_INVALID_RECOVERY_KEY, strongroom_keyring_open_recovery_key(path, "SRRK-nonsense", &kr));
    EXPECT(kr == NULL);

    const char *secret = p(2, "secret.txt");
    EXPECT(write_all(secret, (const unsigned char *)PASS "\n", PASS_LEN + 1) == 0);
    EXPECT_OK(strongroom_keyring_open_secret_file(path, STRONGROOM_SECRET_PASSPHRASE, secret, &kr));
    strongroom_keyring_free(kr);
    kr = NULL;
    EXPECT(write_all(secret, (const unsigned char *)rk, strlen(rk)) == 0);
    EXPECT_OK(strongroom_keyring_open_secret_file(path, STRONGROOM_SECRET_RECOVERY_KEY, secret, &kr));
    strongroom_keyring_free(kr);
    kr = NULL;
    EXPECT_STATUS(STRONGROOM_INVALID_ARGUMENT, strongroom_keyring_open_secret_file(path, 77, secret, &kr));
    EXPECT_STATUS(STRONGROOM_NOT_FOUND, strongroom_keyring_open_secret_file(path, STRONGROOM_SECRET_PASSPHRASE, p(3, "nofile"), &kr));
    setenv("SR_C_TEST_PASS", PASS, 1);
    EXPECT_OK(strongroom_keyring_open_secret_env(path, STRONGROOM_SECRET_PASSPHRASE, "SR_C_TEST_PASS", &kr));
    strongroom_keyring_free(kr);
    kr = NULL;
    unsetenv("SR_C_TEST_UNSET");
    EXPECT_STATUS(STRONGROOM_INVALID_ARGUMENT, strongroom_keyring_open_secret_env(path, STRONGROOM_SECRET_PASSPHRASE, "SR_C_TEST_UNSET", &kr));
    setenv("SR_C_TEST_PASS", "wrong", 1);
    EXPECT_STATUS(STRONGROOM_WRONG_PASSPHRASE, strongroom_keyring_open_secret_env(path, STRONGROOM_SECRET_PASSPHRASE, "SR_C_TEST_PASS", &kr));
    EXPECT_STATUS(STRONGROOM_NULL_ARGUMENT, strongroom_keyring_open_secret_env(path, STRONGROOM_SECRET_PASSPHRASE, NULL, &kr));
    EXPECT(kr == NULL);

    /* A damaged keyring file. */
    size_t len = 0;
    unsigned char *bytes = read_all(path, &len);
    bytes[len - 5] ^= 1;
    EXPECT(write_all(p(4, "damaged.srk"), bytes, len) == 0);
    free(bytes);
    s = strongroom_keyring_open_passphrase(p(4, "damaged.srk"), (const uint8_t *)PASS, PASS_LEN, &kr);
    EXPECT(s == STRONGROOM_KEYRING_CORRUPT);
    EXPECT(kr == NULL);
}

static int progress_calls;
static int32_t count_progress(uint64_t done, uint64_t total, void *ud) {
    (void)done;
    (void)total;
    progress_calls++;
    return ud != NULL; /* cancel when given user data */
}

static void test_files(void) {
    strongroom_keyring *kr = make_keyring(p(0, "files.srk"));
    strongroom_keyring *other = make_keyring(p(1, "other.srk"));
    const size_t n = 5 * 1024 * 1024 + 123; /* more than one 4 MiB block */
    unsigned char *plain = malloc(n);
    fill_pattern(plain, n, 7);
    const char *src = p(2, "plain.bin"), *enc = p(3, "plain.bin.srf"), *out = p(4, "plain.out");
    EXPECT(write_all(src, plain, n) == 0);

    strongroom_keys to;
    memset(&to, 0, sizeof to);
    to.keyring = kr;
    to.passphrase = (const uint8_t *)"escrow pass";
    to.passphrase_len = 11;
    to.kdf = fast_kdf();
    strongroom_file_options opts;
    memset(&opts, 0, sizeof opts);
    opts.progress = count_progress;
    progress_calls = 0;
    EXPECT_OK(strongroom_file_encrypt(src, enc, &to, &opts));
    EXPECT(progress_calls >= 3);
    EXPECT_STATUS(STRONGROOM_ALREADY_EXISTS, strongroom_file_encrypt(src, enc, &to, NULL));
    opts.overwrite = true;
    EXPECT_OK(strongroom_file_encrypt(src, enc, &to, &opts));

    /* Decrypt with the keyring, then with the passphrase. */
    strongroom_keys with;
    memset(&with, 0, sizeof with);
    with.keyring = kr;
    uint64_t got = 0;
    EXPECT_OK(strongroom_file_decrypt(enc, out, &with, NULL, &got));
    EXPECT(got == n);
    size_t len = 0;
    unsigned char *back = read_all(out, &len);
    EXPECT(back && len == n && memcmp(back, plain, n) == 0);
    free(back);
    unlink(out);
    memset(&with, 0, sizeof with);
    with.passphrase = (const uint8_t *)"escrow pass";
    with.passphrase_len = 11;
    EXPECT_OK(strongroom_file_decrypt(enc, out, &with, NULL, NULL));
    unlink(out);

    /* Wrong keys: nothing written. */
    with.passphrase = (const uint8_t *)"wrong pass";
    with.passphrase_len = 10;
    EXPECT_STATUS(STRONGROOM_WRONG_PASSPHRASE, strongroom_file_decrypt(enc, out, &with, NULL, NULL));
    EXPECT(!file_exists(out));
    memset(&with, 0, sizeof with);
    with.keyring = other;
    strongroom_status s = strongroom_file_decrypt(enc, out, &with, NULL, NULL);
    EXPECT(s == STRONGROOM_WRONG_KEYRING || s == STRONGROOM_NO_MATCHING_KEY);
    EXPECT(!file_exists(out));
    memset(&with, 0, sizeof with);
    EXPECT_STATUS(STRONGROOM_INVALID_ARGUMENT, strongroom_file_decrypt(enc, out, &with, NULL, NULL));
    EXPECT_STATUS(STRONGROOM_NULL_ARGUMENT, strongroom_file_decrypt(enc, out, NULL, NULL, NULL));
    EXPECT_STATUS(STRONGROOM_NULL_ARGUMENT, strongroom_file_decrypt(NULL, out, &with, NULL, NULL));
    EXPECT_STATUS(STRONGROOM_NULL_ARGUMENT, strongroom_file_encrypt(src, NULL, &to, NULL));
    with.keyring = kr;
    EXPECT_STATUS(STRONGROOM_NOT_FOUND, strongroom_file_decrypt(p(5, "nope.srf"), out, &with, NULL, NULL));
    EXPECT(strstr(check_last_error(), p(5, "nope.srf")) != NULL);

    /* Tampered payload: nothing written. */
    unsigned char *ct = read_all(enc, &len);
    ct[len / 2] ^= 0x40;
    EXPECT(write_all(p(5, "tampered.srf"), ct, len) == 0);
    free(ct);
    EXPECT_STATUS(STRONGROOM_CHUNK_AUTH_FAILED, strongroom_file_decrypt(p(5, "tampered.srf"), out, &with, NULL, NULL));
    EXPECT(!file_exists(out));

    /* Cancellation: by the progress callback, and by a cancel flag. */
    memset(&opts, 0, sizeof opts);
    opts.progress = count_progress;
    opts.user_data = &opts; /* non-NULL: the callback cancels */
    EXPECT_STATUS(STRONGROOM_CANCELLED, strongroom_file_encrypt(src, p(6, "cancelled.srf"), &to, &opts));
    EXPECT(!file_exists(p(6, "cancelled.srf")));
    EXPECT_STATUS(STRONGROOM_CANCELLED, strongroom_file_decrypt(enc, out, &with, &opts, NULL));
    EXPECT(!file_exists(out));
    strongroom_cancel *cancel = NULL;
    EXPECT_OK(strongroom_cancel_new(&cancel));
    memset(&opts, 0, sizeof opts);
    opts.cancel = cancel;
    EXPECT_OK(strongroom_file_decrypt(enc, out, &with, &opts, NULL));
    unlink(out);
    EXPECT_OK(strongroom_cancel_request(cancel));
    EXPECT_STATUS(STRONGROOM_NULL_ARGUMENT, strongroom_cancel_request(NULL));
    EXPECT_STATUS(STRONGROOM_CANCELLED, strongroom_file_decrypt(enc, out, &with, &opts, NULL));
    EXPECT(!file_exists(out));
    EXPECT_OK(strongroom_cancel_reset(cancel));
    EXPECT_OK(strongroom_file_decrypt(enc, out, &with, &opts, NULL));
    unlink(out);
    strongroom_cancel_free(cancel);
    strongroom_cancel_free(NULL);
    EXPECT_STATUS(STRONGROOM_NULL_ARGUMENT, strongroom_cancel_new(NULL));

    /* Rewrap: add a passphrase, remove the escrow one; rekey to `other`. */
    strongroom_rewrap_plan plan;
    memset(&plan, 0, sizeof plan);
    plan.to_primary = kr;
    plan.add_passphrase = (const uint8_t *)"new pass";
    plan.add_passphrase_len = 8;
    plan.add_kdf = fast_kdf();
    plan.remove_passphrase = (const uint8_t *)"escrow pass";
    plan.remove_passphrase_len = 11;
    EXPECT_OK(strongroom_file_rewrap(enc, &with, &plan, NULL));
    strongroom_keys by_pass;
    memset(&by_pass, 0, sizeof by_pass);
    by_pass.passphrase = (const uint8_t *)"escrow pass";
    by_pass.passphrase_len = 11;
    EXPECT_STATUS(STRONGROOM_WRONG_PASSPHRASE, strongroom_file_decrypt(enc, out, &by_pass, NULL, NULL));
    by_pass.passphrase = (const uint8_t *)"new pass";
    by_pass.passphrase_len = 8;
    EXPECT_OK(strongroom_file_decrypt(enc, out, &by_pass, NULL, NULL));
    unlink(out);
    memset(&plan, 0, sizeof plan);
    plan.remove_passphrase = (const uint8_t *)"not there";
    plan.remove_passphrase_len = 9;
    EXPECT_STATUS(STRONGROOM_WRONG_PASSPHRASE, strongroom_file_rewrap(enc, &with, &plan, NULL));
    EXPECT_STATUS(STRONGROOM_NULL_ARGUMENT, strongroom_file_rewrap(enc, &with, NULL, NULL));

    strongroom_keys to_other;
    memset(&to_other, 0, sizeof to_other);
    to_other.keyring = other;
    EXPECT_OK(strongroom_file_rekey(enc, p(7, "rekeyed.srf"), &with, &to_other, NULL));
    EXPECT_STATUS(STRONGROOM_WRONG_KEYRING, strongroom_file_decrypt(p(7, "rekeyed.srf"), out, &with, NULL, NULL));
    EXPECT_OK(strongroom_file_decrypt(p(7, "rekeyed.srf"), out, &to_other, NULL, &got));
    EXPECT(got == n);
    unlink(out);
    /* In place, back to kr (same keyring in both: no deadlock). */
    EXPECT_OK(strongroom_file_rekey(p(7, "rekeyed.srf"), NULL, &to_other, &with, NULL));
    EXPECT_OK(strongroom_file_decrypt(p(7, "rekeyed.srf"), out, &with, NULL, NULL));
    unlink(out);
    EXPECT_OK(strongroom_file_rekey(p(7, "rekeyed.srf"), NULL, &with, &with, NULL));
    EXPECT_OK(strongroom_file_decrypt(p(7, "rekeyed.srf"), out, &with, NULL, NULL));
    unlink(out);
    /* A wrong key leaves the source intact. */
    EXPECT_STATUS(STRONGROOM_WRONG_KEYRING, strongroom_file_rekey(p(7, "rekeyed.srf"), NULL, &to_other, &with, NULL));
    EXPECT_OK(strongroom_file_decrypt(p(7, "rekeyed.srf"), out, &with, NULL, NULL));
    unlink(out);

    /* Random access. */
    strongroom_reader *r = NULL;
    EXPECT_OK(strongroom_reader_open(enc, &with, &r));
    uint64_t plen = 0;
    EXPECT_OK(strongroom_reader_len(r, &plen));
    EXPECT(plen == n);
    unsigned char buf[1000];
    size_t got_n = 0;
    EXPECT_OK(strongroom_reader_read_at(r, 4 * 1024 * 1024 + 17, buf, sizeof buf, &got_n));
    EXPECT(got_n == sizeof buf && memcmp(buf, plain + 4 * 1024 * 1024 + 17, sizeof buf) == 0);
    EXPECT_OK(strongroom_reader_read_at(r, n - 10, buf, sizeof buf, &got_n));
    EXPECT(got_n == 10 && memcmp(buf, plain + n - 10, 10) == 0);
    EXPECT_OK(strongroom_reader_read_at(r, n + 5, buf, sizeof buf, &got_n));
    EXPECT(got_n == 0);
    EXPECT_STATUS(STRONGROOM_NULL_ARGUMENT, strongroom_reader_read_at(r, 0, NULL, 10, &got_n));
    strongroom_reader_free(r);
    strongroom_reader_free(NULL);
    /* A damaged chunk: the read that touches it fails, the others work. */
    r = NULL;
    EXPECT_OK(strongroom_reader_open(p(5, "tampered.srf"), &with, &r));
    int ok = 0, failed_reads = 0;
    unsigned char *big = malloc(1 << 20);
    for (uint64_t off = 0; off < n; off += 1 << 20) {
        strongroom_status rs = strongroom_reader_read_at(r, off, big, 1 << 20, &got_n);
        if (rs == STRONGROOM_OK) ok++;
        else if (rs == STRONGROOM_CHUNK_AUTH_FAILED) failed_reads++;
    }
    EXPECT(failed_reads == 1 && ok == (int)(n >> 20));
    free(big);
    strongroom_reader_free(r);

    free(plain);
    strongroom_keyring_free(kr);
    strongroom_keyring_free(other);
}

/* Memory streams and callback streams. */
typedef struct {
    const unsigned char *data;
    size_t len, pos, step;
} src_t;
typedef struct {
    unsigned char *data;
    size_t len, cap;
    int fail;
} sink_t;

static int64_t read_cb(void *ud, uint8_t *buf, size_t len) {
    src_t *s = ud;
    size_t n = s->len - s->pos;
    if (n > len) n = len;
    if (n > s->step) n = s->step;
    memcpy(buf, s->data + s->pos, n);
    s->pos += n;
    return (int64_t)n;
}
static int64_t failing_read_cb(void *ud, uint8_t *buf, size_t len) {
    (void)ud; (void)buf; (void)len;
    return -1;
}
static int32_t write_cb(void *ud, const uint8_t *buf, size_t len) {
    sink_t *s = ud;
    if (s->fail) return -1;
    if (len == 0) return 0;
    if (s->len + len > s->cap) {
        size_t nc = (s->len + len) * 2;
        unsigned char *nd = realloc(s->data, nc);
        if (!nd) return -1;
        s->data = nd;
        s->cap = nc;
    }
    memcpy(s->data + s->len, buf, len);
    s->len += len;
    return 0;
}

static void test_streams(void) {
    strongroom_keyring *kr = make_keyring(p(0, "streams.srk"));
    strongroom_keys keys;
    memset(&keys, 0, sizeof keys);
    keys.keyring = kr;
    const size_t n = 3 * 1024 * 1024 + 5000;
    unsigned char *plain = malloc(n);
    fill_pattern(plain, n, 3);

    /* Memory encryptor, in uneven pieces. */
    strongroom_encryptor *enc = NULL;
    EXPECT_OK(strongroom_encryptor_new(&keys, &enc));
    sink_t ct = {0};
    size_t pos = 0, step = 70000;
    while (pos < n) {
        size_t k = n - pos < step ? n - pos : step;
        size_t cap = 0, outn = 0;
        EXPECT_OK(strongroom_encryptor_bound(enc, k, &cap));
        unsigned char *buf = malloc(cap);
        if (pos == 0) {
            size_t want = 0;
            EXPECT_STATUS(STRONGROOM_BUFFER_TOO_SMALL, strongroom_encryptor_update(enc, plain, k, buf, 1, &want));
            EXPECT(want == cap);
        }
        EXPECT_OK(strongroom_encryptor_update(enc, plain + pos, k, buf, cap, &outn));
        write_cb(&ct, buf, outn);
        free(buf);
        pos += k;
    }
    size_t cap = 0, outn = 0;
    EXPECT_OK(strongroom_encryptor_bound(enc, 0, &cap));
    unsigned char *fbuf = malloc(cap);
    EXPECT_OK(strongroom_encryptor_finish(enc, fbuf, cap, &outn));
    write_cb(&ct, fbuf, outn);
    EXPECT_STATUS(STRONGROOM_INVALID_STATE, strongroom_encryptor_finish(enc, fbuf, cap, &outn));
    EXPECT_STATUS(STRONGROOM_INVALID_STATE, strongroom_encryptor_update(enc, plain, 1, fbuf, cap, &outn));
    free(fbuf);
    strongroom_encryptor_free(enc);
    strongroom_encryptor_free(NULL);

    /* The memory ciphertext is a valid file. */
    EXPECT(write_all(p(1, "mem.srf"), ct.data, ct.len) == 0);
    uint64_t got = 0;
    EXPECT_OK(strongroom_file_decrypt(p(1, "mem.srf"), p(2, "mem.out"), &keys, NULL, &got));
    EXPECT(got == n);
    size_t blen = 0;
    unsigned char *back = read_all(p(2, "mem.out"), &blen);
    EXPECT(back && blen == n && memcmp(back, plain, n) == 0);
    free(back);

    /* Memory decryptor, in small pieces. */
    for (int tamper = 0; tamper < 3; tamper++) {
        unsigned char *c = malloc(ct.len);
        memcpy(c, ct.data, ct.len);
        size_t clen = ct.len;
        if (tamper == 1) c[clen / 2] ^= 1;
        if (tamper == 2) clen -= (n % 16384) + 16; /* the whole final chunk: Truncated */
        strongroom_decryptor *dec = NULL;
        EXPECT_OK(strongroom_decryptor_new(&keys, &dec));
        sink_t pt = {0};
        strongroom_status last = STRONGROOM_OK;
        for (size_t off = 0; off < clen && last == STRONGROOM_OK; off += 50001) {
            size_t k = clen - off < 50001 ? clen - off : 50001;
            size_t bcap = 0, got_n = 0;
            EXPECT_OK(strongroom_decryptor_bound(dec, k, &bcap));
            unsigned char *buf = malloc(bcap ? bcap : 1);
            last = strongroom_decryptor_update(dec, c + off, k, buf, bcap, &got_n);
            if (last == STRONGROOM_OK) write_cb(&pt, buf, got_n);
            free(buf);
        }
        if (last == STRONGROOM_OK) {
            size_t bcap = 0, got_n = 0;
            EXPECT_OK(strongroom_decryptor_bound(dec, 0, &bcap));
            unsigned char *buf = malloc(bcap ? bcap : 1);
            last = strongroom_decryptor_finish(dec, buf, bcap, &got_n);
            if (last == STRONGROOM_OK) write_cb(&pt, buf, got_n);
            free(buf);
        }
        if (tamper == 0) {
            EXPECT_STATUS(STRONGROOM_OK, last);
            EXPECT(pt.len == n && memcmp(pt.data, plain, n) == 0);
            size_t z = 0;
            EXPECT_STATUS(STRONGROOM_INVALID_STATE, strongroom_decryptor_finish(dec, NULL, 0, &z));
        } else if (tamper == 1) {
            EXPECT_STATUS(STRONGROOM_CHUNK_AUTH_FAILED, last);
            EXPECT(pt.len < n);
            size_t z = 0;
            EXPECT_STATUS(STRONGROOM_INVALID_STATE, strongroom_decryptor_finish(dec, NULL, 0, &z));
        } else {
            EXPECT_STATUS(STRONGROOM_TRUNCATED, last);
        }
        free(pt.data);
        free(c);
        strongroom_decryptor_free(dec);
    }
    strongroom_decryptor_free(NULL);
    strongroom_decryptor *dec = NULL;
    EXPECT_STATUS(STRONGROOM_NULL_ARGUMENT, strongroom_decryptor_new(NULL, &dec));

    /* Callbacks. */
    src_t in = {plain, n, 0, 12345};
    sink_t out = {0};
    EXPECT_OK(strongroom_stream_encrypt(&keys, read_cb, &in, write_cb, &out));
    src_t cin = {out.data, out.len, 0, 99999};
    sink_t pt = {0};
    EXPECT_OK(strongroom_stream_decrypt(&keys, read_cb, &cin, write_cb, &pt));
    EXPECT(pt.len == n && memcmp(pt.data, plain, n) == 0);
    free(pt.data);
    out.data[out.len - 3] ^= 1;
    cin.pos = 0;
    sink_t pt2 = {0};
    EXPECT_STATUS(STRONGROOM_CHUNK_AUTH_FAILED, strongroom_stream_decrypt(&keys, read_cb, &cin, write_cb, &pt2));
    free(pt2.data);
    memset(&pt2, 0, sizeof pt2);
    EXPECT_STATUS(STRONGROOM_IO, strongroom_stream_encrypt(&keys, failing_read_cb, NULL, write_cb, &pt2));
    free(pt2.data);
    sink_t failing = {0};
    failing.fail = 1;
    in.pos = 0;
    EXPECT_STATUS(STRONGROOM_IO, strongroom_stream_encrypt(&keys, read_cb, &in, write_cb, &failing));
    EXPECT_STATUS(STRONGROOM_NULL_ARGUMENT, strongroom_stream_encrypt(&keys, NULL, &in, write_cb, &out));
    EXPECT_STATUS(STRONGROOM_NULL_ARGUMENT, strongroom_stream_decrypt(&keys, read_cb, &in, NULL, &out));
    free(out.data);
    free(ct.data);
    free(plain);
    strongroom_keyring_free(kr);
}

static void test_fields(void) {
    strongroom_keyring *kr = make_keyring(p(0, "fields.srk"));
    strongroom_column_spec spec;
    memset(&spec, 0, sizeof spec);
    spec.value_type = STRONGROOM_TYPE_TEXT;
    spec.mode = STRONGROOM_MODE_RANDOM;
    spec.blind_index_len = 8;
    spec.normalizer = STRONGROOM_NORMALIZE_TRIM_LOWERCASE;
    strongroom_field_cipher *email = NULL;
    EXPECT_OK(strongroom_field_cipher_new(kr, "users", "email", &spec, &email));
    EXPECT_STATUS(STRONGROOM_NULL_ARGUMENT, strongroom_field_cipher_new(NULL, "users", "email", &spec, &email));
    EXPECT_STATUS(STRONGROOM_NULL_ARGUMENT, strongroom_field_cipher_new(kr, NULL, "email", &spec, &email));
    EXPECT_STATUS(STRONGROOM_INVALID_UTF8, strongroom_field_cipher_new(kr, "us\xffrs", "email", &spec, &email));
    strongroom_column_spec bad = spec;
    bad.value_type = 99;
    strongroom_field_cipher *nc = NULL;
    EXPECT_STATUS(STRONGROOM_INVALID_ARGUMENT, strongroom_field_cipher_new(kr, "users", "email", &bad, &nc));
    bad = spec;
    bad.mode = 0;
    EXPECT_STATUS(STRONGROOM_INVALID_ARGUMENT, strongroom_field_cipher_new(kr, "users", "email", &bad, &nc));
    bad = spec;
    bad.blind_index_len = 33;
    EXPECT_STATUS(STRONGROOM_INVALID_ARGUMENT, strongroom_field_cipher_new(kr, "users", "email", &bad, &nc));
    EXPECT(nc == NULL);

    const char *v = "alice@example.com";
    uint8_t tok[256], tok2[256];
    size_t tl = 0, tl2 = 0, maxl = 0, old_maxl = 0;
    EXPECT_OK(strongroom_field_token_bound(email, strlen(v), &maxl));
    /* The former name still works (for programs built against 0.1.0). */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
    EXPECT_OK(strongroom_field_token_max_len(email, strlen(v), &old_maxl));
#pragma GCC diagnostic pop
    EXPECT(old_maxl == maxl);
    EXPECT_OK(strongroom_field_encrypt(email, (const uint8_t *)v, strlen(v), (const uint8_t *)"row-1", 5, tok, sizeof tok, &tl));
    EXPECT(tl > strlen(v) && tl <= maxl);
    /* Short buffer: the size, nothing written. */
    uint8_t shortbuf[10];
    memset(shortbuf, 0x5A, sizeof shortbuf);
    size_t need = 0;
    EXPECT_STATUS(STRONGROOM_BUFFER_TOO_SMALL, strongroom_field_encrypt(email, (const uint8_t *)v, strlen(v), NULL, 0, shortbuf, sizeof shortbuf, &need));
    EXPECT(need == tl && shortbuf[0] == 0x5A);
    EXPECT_STATUS(STRONGROOM_NULL_ARGUMENT, strongroom_field_encrypt(email, NULL, 0, NULL, 0, tok2, sizeof tok2, &tl2));
    EXPECT_STATUS(STRONGROOM_NULL_ARGUMENT, strongroom_field_encrypt(email, (const uint8_t *)v, 1, NULL, 0, NULL, 10, &tl2));
    EXPECT_STATUS(STRONGROOM_NULL_ARGUMENT, strongroom_field_encrypt(email, (const uint8_t *)v, 1, NULL, 0, tok2, sizeof tok2, NULL));
    EXPECT_STATUS(STRONGROOM_NULL_ARGUMENT, strongroom_field_encrypt(NULL, (const uint8_t *)v, 1, NULL, 0, tok2, sizeof tok2, &tl2));
    EXPECT_STATUS(STRONGROOM_INVALID_UTF8, strongroom_field_encrypt(email, (const uint8_t *)"\xff", 1, NULL, 0, tok2, sizeof tok2, &tl2));

    char plainbuf[256];
    size_t pl = 0;
    bool is_null = true;
    EXPECT_OK(strongroom_field_decrypt(email, tok, tl, (const uint8_t *)"row-1", 5, (uint8_t *)plainbuf, sizeof plainbuf, &pl, &is_null));
    EXPECT(!is_null && pl == strlen(v) && memcmp(plainbuf, v, pl) == 0);
    /* Two-call size query. */
    EXPECT_STATUS(STRONGROOM_BUFFER_TOO_SMALL, strongroom_field_decrypt(email, tok, tl, (const uint8_t *)"row-1", 5, NULL, 0, &need, &is_null));
    EXPECT(need == strlen(v));
    /* Wrong row, no row, tampered token, other column. */
    EXPECT_STATUS(STRONGROOM_FIELD_AUTH_FAILED, strongroom_field_decrypt(email, tok, tl, (const uint8_t *)"row-2", 5, (uint8_t *)plainbuf, sizeof plainbuf, &pl, &is_null));
    EXPECT_STATUS(STRONGROOM_FIELD_AUTH_FAILED, strongroom_field_decrypt(email, tok, tl, NULL, 0, (uint8_t *)plainbuf, sizeof plainbuf, &pl, &is_null));
    memcpy(tok2, tok, tl);
    tok2[tl - 1] ^= 1;
    EXPECT_STATUS(STRONGROOM_FIELD_AUTH_FAILED, strongroom_field_decrypt(email, tok2, tl, (const uint8_t *)"row-1", 5, (uint8_t *)plainbuf, sizeof plainbuf, &pl, &is_null));
    EXPECT_STATUS(STRONGROOM_TRUNCATED, strongroom_field_decrypt(email, tok, 3, NULL, 0, (uint8_t *)plainbuf, sizeof plainbuf, &pl, &is_null));
    memcpy(tok2, tok, tl);
    tok2[0] = 9;
    EXPECT_STATUS(STRONGROOM_UNSUPPORTED_VERSION, strongroom_field_decrypt(email, tok2, tl, NULL, 0, (uint8_t *)plainbuf, sizeof plainbuf, &pl, &is_null));
    strongroom_field_cipher *name = NULL;
    spec.blind_index_len = 0;
    EXPECT_OK(strongroom_field_cipher_new(kr, "users", "name", &spec, &name));
    EXPECT_STATUS(STRONGROOM_FIELD_AUTH_FAILED, strongroom_field_decrypt(name, tok, tl, (const uint8_t *)"row-1", 5, (uint8_t *)plainbuf, sizeof plainbuf, &pl, &is_null));
    EXPECT_STATUS(STRONGROOM_INVALID_ARGUMENT, strongroom_field_index(name, (const uint8_t *)v, strlen(v), tok2, sizeof tok2, &tl2));

    /* NULL kept as NULL, and a hidden NULL. */
    EXPECT_OK(strongroom_field_encrypt_null(email, NULL, 0, tok2, sizeof tok2, &tl2));
    EXPECT(tl2 == 0);
    strongroom_column_spec hide = spec;
    hide.hide_null = true;
    strongroom_field_cipher *hidden = NULL;
    EXPECT_OK(strongroom_field_cipher_new(kr, "users", "nick", &hide, &hidden));
    EXPECT_OK(strongroom_field_encrypt_null(hidden, NULL, 0, tok2, sizeof tok2, &tl2));
    EXPECT(tl2 > 0);
    is_null = false;
    EXPECT_OK(strongroom_field_decrypt(hidden, tok2, tl2, NULL, 0, (uint8_t *)plainbuf, sizeof plainbuf, &pl, &is_null));
    EXPECT(is_null && pl == 0);
    strongroom_field_cipher_free(hidden);

    /* Blind index: normalised, stable. */
    uint8_t idx1[32], idx2[32];
    size_t il1 = 0, il2 = 0;
    EXPECT_OK(strongroom_field_index(email, (const uint8_t *)"  Alice@Example.COM ", 20, idx1, sizeof idx1, &il1));
    EXPECT_OK(strongroom_field_index(email, (const uint8_t *)v, strlen(v), idx2, sizeof idx2, &il2));
    EXPECT(il1 == 8 && il2 == 8 && memcmp(idx1, idx2, 8) == 0);
    EXPECT_STATUS(STRONGROOM_BUFFER_TOO_SMALL, strongroom_field_index(email, (const uint8_t *)v, strlen(v), idx2, 4, &il2));
    EXPECT(il2 == 8);

    /* Token header and text form. */
    strongroom_token_info info;
    EXPECT_OK(strongroom_token_inspect(tok, tl, &info));
    EXPECT(info.version == 1 && info.mode == STRONGROOM_MODE_RANDOM && info.key_version == 1);
    EXPECT_STATUS(STRONGROOM_TRUNCATED, strongroom_token_inspect(tok, 2, &info));
    char text[512];
    size_t textlen = 0;
    EXPECT_STATUS(STRONGROOM_BUFFER_TOO_SMALL, strongroom_token_to_text(tok, tl, text, 5, &textlen));
    EXPECT(textlen > tl);
    size_t short_len = textlen;
    EXPECT_STATUS(STRONGROOM_BUFFER_TOO_SMALL, strongroom_token_to_text(tok, tl, text, short_len, &textlen));
    EXPECT_OK(strongroom_token_to_text(tok, tl, text, short_len + 1, &textlen));
    EXPECT(strncmp(text, "sr1.", 4) == 0 && strlen(text) == textlen && textlen == short_len);
    EXPECT_OK(strongroom_token_from_text(text, tok2, sizeof tok2, &tl2));
    EXPECT(tl2 == tl && memcmp(tok, tok2, tl) == 0);
    EXPECT_STATUS(STRONGROOM_MALFORMED, strongroom_token_from_text("sr1.!!!", tok2, sizeof tok2, &tl2));

    /* Typed columns through their text forms. */
    struct { strongroom_value_type t; const char *in; const char *canon; } typed[] = {
        {STRONGROOM_TYPE_INT, "-42", "-42"},
        {STRONGROOM_TYPE_INT, "+007", "7"},
        {STRONGROOM_TYPE_FLOAT, "1.5", "1.5"},
        {STRONGROOM_TYPE_BOOL, "t", "true"},
        {STRONGROOM_TYPE_DATE, "2024-02-29", "2024-02-29"},
        {STRONGROOM_TYPE_TIMESTAMP, "2024-02-29T12:00:00+02:00", "2024-02-29T10:00:00Z"},
        {STRONGROOM_TYPE_DECIMAL, "-12.50", "-12.50"},
        {STRONGROOM_TYPE_BYTES, "\x00\x01\xff", "\x00\x01\xff"},
    };
    for (size_t i = 0; i < sizeof typed / sizeof typed[0]; i++) {
        strongroom_column_spec ts;
        memset(&ts, 0, sizeof ts);
        ts.value_type = typed[i].t;
        ts.mode = (i % 2) ? STRONGROOM_MODE_DETERMINISTIC : STRONGROOM_MODE_RANDOM;
        strongroom_field_cipher *c = NULL;
        REQUIRE_OK(strongroom_field_cipher_new(kr, "t", "c", &ts, &c));
        size_t inlen = typed[i].t == STRONGROOM_TYPE_BYTES ? 3 : strlen(typed[i].in);
        size_t canonlen = typed[i].t == STRONGROOM_TYPE_BYTES ? 3 : strlen(typed[i].canon);
        EXPECT_OK(strongroom_field_encrypt(c, (const uint8_t *)typed[i].in, inlen, NULL, 0, tok2, sizeof tok2, &tl2));
        EXPECT_OK(strongroom_field_decrypt(c, tok2, tl2, NULL, 0, (uint8_t *)plainbuf, sizeof plainbuf, &pl, &is_null));
        EXPECT(pl == canonlen && memcmp(plainbuf, typed[i].canon, pl) == 0);
        EXPECT(pl <= tl2);
        if (typed[i].t != STRONGROOM_TYPE_BYTES) {
            EXPECT_STATUS(STRONGROOM_INVALID_VALUE, strongroom_field_encrypt(c, (const uint8_t *)"x!", 2, NULL, 0, tok2, sizeof tok2, &tl2));
        }
        /* A random token of another column: refused by mode or by authentication. */
        EXPECT_STATUS(ts.mode == STRONGROOM_MODE_DETERMINISTIC ? STRONGROOM_MODE_NOT_ACCEPTED : STRONGROOM_FIELD_AUTH_FAILED,
                      strongroom_field_decrypt(c, tok, tl, NULL, 0, (uint8_t *)plainbuf, sizeof plainbuf, &pl, &is_null));
        if (ts.mode == STRONGROOM_MODE_DETERMINISTIC) {
            EXPECT_STATUS(STRONGROOM_INVALID_ARGUMENT, strongroom_field_encrypt(c, (const uint8_t *)typed[i].in, inlen, (const uint8_t *)"r", 1, tok2, sizeof tok2, &tl2));
        }
        strongroom_field_cipher_free(c);
    }

    /* Batches: encrypt (a failing index), decrypt (per-item status), index. */
    strongroom_item items[4] = {
        {(const uint8_t *)"a@x.org", 7, false},
        {NULL, 0, true},
        {(const uint8_t *)"b@x.org", 7, false},
        {(const uint8_t *)"c@x.org", 7, false},
    };
    strongroom_slice rows[4] = {{(const uint8_t *)"1", 1}, {(const uint8_t *)"2", 1}, {(const uint8_t *)"3", 1}, {(const uint8_t *)"4", 1}};
    strongroom_field_results *res = NULL;
    size_t failed = 999;
    EXPECT_OK(strongroom_field_encrypt_batch(email, items, 4, rows, &res, &failed));
    EXPECT(failed == 999);
    size_t count = 0;
    EXPECT_OK(strongroom_field_results_count(res, &count));
    EXPECT(count == 4);
    strongroom_item toks[4];
    uint8_t tokcopy[4][256];
    for (size_t i = 0; i < 4; i++) {
        const uint8_t *d = NULL;
        size_t dl = 0;
        bool nul = false;
        strongroom_status st = 1;
        EXPECT_OK(strongroom_field_results_get(res, i, &d, &dl, &nul, &st));
        EXPECT(st == STRONGROOM_OK && nul == (i == 1));
        memcpy(tokcopy[i], d, dl);
        toks[i].data = tokcopy[i];
        toks[i].len = dl;
        toks[i].is_null = nul;
    }
    const uint8_t *d = NULL;
    size_t dl = 0;
    bool nul = false;
    strongroom_status st = 0;
    EXPECT_STATUS(STRONGROOM_INVALID_ARGUMENT, strongroom_field_results_get(res, 4, &d, &dl, &nul, &st));
    EXPECT_STATUS(STRONGROOM_NULL_ARGUMENT, strongroom_field_results_get(res, 0, NULL, &dl, &nul, &st));
    strongroom_field_results_free(res);
    strongroom_field_results_free(NULL);
    tokcopy[2][toks[2].len - 1] ^= 1; /* tamper with one */
    res = NULL;
    EXPECT_OK(strongroom_field_decrypt_batch(email, toks, 4, rows, &res));
    const char *want[4] = {"a@x.org", NULL, NULL, "c@x.org"};
    for (size_t i = 0; i < 4; i++) {
        EXPECT_OK(strongroom_field_results_get(res, i, &d, &dl, &nul, &st));
        if (i == 2) {
            EXPECT(st == STRONGROOM_FIELD_AUTH_FAILED);
        } else if (i == 1) {
            EXPECT(st == STRONGROOM_OK && nul);
        } else {
            EXPECT(st == STRONGROOM_OK && !nul && dl == 7 && memcmp(d, want[i], 7) == 0);
        }
    }
    strongroom_field_results_free(res);
    /* Wrong rows for all: each fails on its own. */
    res = NULL;
    EXPECT_OK(strongroom_field_decrypt_batch(email, toks, 4, NULL, &res));
    EXPECT_OK(strongroom_field_results_get(res, 0, &d, &dl, &nul, &st));
    EXPECT(st == STRONGROOM_FIELD_AUTH_FAILED);
    strongroom_field_results_free(res);
    /* A failing input names its index; nothing is returned. */
    strongroom_item badv[3] = {{(const uint8_t *)"ok", 2, false}, {(const uint8_t *)"ok", 2, false}, {(const uint8_t *)"\xff", 1, false}};
    res = NULL;
    failed = 999;
    EXPECT_STATUS(STRONGROOM_INVALID_UTF8, strongroom_field_encrypt_batch(email, badv, 3, NULL, &res, &failed));
    EXPECT(failed == 2 && res == NULL);
    strongroom_column_spec is = {0};
    is.value_type = STRONGROOM_TYPE_INT;
    is.mode = STRONGROOM_MODE_DETERMINISTIC;
    is.blind_index_len = 4;
    strongroom_field_cipher *ints = NULL;
    EXPECT_OK(strongroom_field_cipher_new(kr, "t", "n", &is, &ints));
    strongroom_item badi[3] = {{(const uint8_t *)"1", 1, false}, {(const uint8_t *)"zz", 2, false}, {(const uint8_t *)"3", 1, false}};
    failed = 999;
    EXPECT_STATUS(STRONGROOM_INVALID_VALUE, strongroom_field_encrypt_batch(ints, badi, 3, NULL, &res, &failed));
    EXPECT(failed == 1 && res == NULL);
    failed = 999;
    EXPECT_STATUS(STRONGROOM_INVALID_VALUE, strongroom_field_index_batch(ints, badi, 3, &res, &failed));
    EXPECT(failed == 1 && res == NULL);
    /* Row keys in a deterministic column: the batch reports item 0. */
    failed = 999;
    EXPECT_STATUS(STRONGROOM_INVALID_ARGUMENT, strongroom_field_encrypt_batch(ints, badi, 1, rows, &res, &failed));
    EXPECT(failed == 0 && res == NULL);
    /* The lowest failing index wins whatever the kind of failure: item 0
     * (a row key in a deterministic column) before item 1 (not an int). */
    failed = 999;
    EXPECT_STATUS(STRONGROOM_INVALID_ARGUMENT, strongroom_field_encrypt_batch(ints, badi, 3, rows, &res, &failed));
    EXPECT(failed == 0 && res == NULL);
    EXPECT_OK(strongroom_field_index_batch(email, items, 4, &res, &failed));
    EXPECT_OK(strongroom_field_results_get(res, 1, &d, &dl, &nul, &st));
    EXPECT(nul);
    EXPECT_OK(strongroom_field_results_get(res, 0, &d, &dl, &nul, &st));
    uint8_t a_idx[32];
    size_t a_len = 0;
    EXPECT_OK(strongroom_field_index(email, (const uint8_t *)"A@X.org ", 8, a_idx, sizeof a_idx, &a_len));
    EXPECT(!nul && dl == 8 && a_len == 8 && memcmp(d, a_idx, 8) == 0);
    strongroom_field_results_free(res);
    EXPECT_OK(strongroom_field_encrypt_batch(email, NULL, 0, NULL, &res, &failed));
    EXPECT_OK(strongroom_field_results_count(res, &count));
    EXPECT(count == 0);
    strongroom_field_results_free(res);
    EXPECT_STATUS(STRONGROOM_NULL_ARGUMENT, strongroom_field_encrypt_batch(email, NULL, 2, NULL, &res, &failed));
    /* A NULL data pointer names its position, like any bad item: the
     * lowest failing index wins. */
    strongroom_item nulldata[3] = {{(const uint8_t *)"ok", 2, false}, {NULL, 0, true}, {NULL, 3, false}};
    res = NULL;
    failed = 999;
    EXPECT_STATUS(STRONGROOM_NULL_ARGUMENT, strongroom_field_encrypt_batch(email, nulldata, 3, NULL, &res, &failed));
    EXPECT(failed == 2);
    EXPECT(strstr(check_last_error(), "values[2].data is NULL") != NULL);
    failed = 999;
    EXPECT_STATUS(STRONGROOM_NULL_ARGUMENT, strongroom_field_encrypt_batch_text(email, nulldata, 3, NULL, &res, &failed));
    EXPECT(failed == 2);
    failed = 999;
    EXPECT_STATUS(STRONGROOM_NULL_ARGUMENT, strongroom_field_index_batch(email, nulldata, 3, &res, &failed));
    EXPECT(failed == 2);
    EXPECT_STATUS(STRONGROOM_NULL_ARGUMENT, strongroom_field_decrypt_batch(email, nulldata, 3, NULL, &res));
    EXPECT(strstr(check_last_error(), "tokens[2].data is NULL") != NULL);
    strongroom_item nullfirst[2] = {{(const uint8_t *)"\xff", 1, false}, {NULL, 1, false}};
    failed = 999;
    EXPECT_STATUS(STRONGROOM_INVALID_UTF8, strongroom_field_encrypt_batch(email, nullfirst, 2, NULL, &res, &failed));
    EXPECT(failed == 0);
    EXPECT(res == NULL);
    /* A batch of several chunks (converted and encrypted chunk by chunk on
     * the pool): every token decrypts to its value with its row; with bad
     * values in two chunks, the lower index is the one reported. */
    {
        enum { BIG = 5000 };
        static strongroom_item big[BIG];
        static strongroom_slice big_rows[BIG];
        static char vals[BIG][16], keys[BIG][16];
        for (size_t i = 0; i < BIG; i++) {
            int n = snprintf(vals[i], sizeof vals[i], "v%zu@x.org", i);
            big[i].data = (const uint8_t *)vals[i];
            big[i].len = (size_t)n;
            big[i].is_null = (i % 997 == 5);
            n = snprintf(keys[i], sizeof keys[i], "row-%zu", i);
            big_rows[i].data = (const uint8_t *)keys[i];
            big_rows[i].len = (size_t)n;
        }
        res = NULL;
        EXPECT_OK(strongroom_field_encrypt_batch(email, big, BIG, big_rows, &res, &failed));
        EXPECT_OK(strongroom_field_results_count(res, &count));
        EXPECT(count == BIG);
        size_t good = 0;
        for (size_t i = 0; i < BIG; i++) {
            EXPECT_OK(strongroom_field_results_get(res, i, &d, &dl, &nul, &st));
            if (big[i].is_null) {
                good += nul && dl == 0;
                continue;
            }
            uint8_t back[32];
            size_t bl = 0;
            bool bn = true;
            if (strongroom_field_decrypt(email, d, dl, big_rows[i].data, big_rows[i].len, back, sizeof back, &bl, &bn) == STRONGROOM_OK
                && !bn && bl == big[i].len && memcmp(back, big[i].data, bl) == 0)
                good++;
        }
        EXPECT(good == BIG);
        strongroom_field_results_free(res);
        big[4100].data = (const uint8_t *)"\xff";
        big[4100].len = 1;
        big[4100].is_null = false;
        res = NULL;
        failed = 999;
        EXPECT_STATUS(STRONGROOM_INVALID_UTF8, strongroom_field_encrypt_batch(email, big, BIG, big_rows, &res, &failed));
        EXPECT(failed == 4100 && res == NULL);
        big[1500].data = (const uint8_t *)"\xc3";
        big[1500].len = 1;
        big[1500].is_null = false;
        failed = 999;
        EXPECT_STATUS(STRONGROOM_INVALID_UTF8, strongroom_field_encrypt_batch(email, big, BIG, big_rows, &res, &failed));
        EXPECT(failed == 1500 && res == NULL);
    }
    strongroom_field_cipher_free(ints);

    /* Rotation: rewrap to the new primary; a destroyed version. */
    uint32_t v2 = 0;
    EXPECT_OK(strongroom_keyring_add_version(kr, true, &v2));
    strongroom_field_cipher *email2 = NULL;
    EXPECT_OK(strongroom_field_cipher_new(kr, "users", "email", &spec, &email2));
    bool needs = false;
    EXPECT_OK(strongroom_field_needs_rewrap(email2, tok, tl, &needs));
    EXPECT(needs);
    EXPECT_OK(strongroom_field_rewrap(email2, tok, tl, (const uint8_t *)"row-1", 5, tok2, sizeof tok2, &tl2));
    EXPECT_OK(strongroom_token_inspect(tok2, tl2, &info));
    EXPECT(info.key_version == 2);
    EXPECT_OK(strongroom_field_needs_rewrap(email2, tok2, tl2, &needs));
    EXPECT(!needs);
    EXPECT_OK(strongroom_field_decrypt(email2, tok2, tl2, (const uint8_t *)"row-1", 5, (uint8_t *)plainbuf, sizeof plainbuf, &pl, &is_null));
    EXPECT(pl == strlen(v) && memcmp(plainbuf, v, pl) == 0);
    EXPECT_STATUS(STRONGROOM_FIELD_AUTH_FAILED, strongroom_field_rewrap(email2, tok, tl, (const uint8_t *)"row-9", 5, tok2, sizeof tok2, &tl2));
    EXPECT_OK(strongroom_keyring_destroy_version(kr, 1));
    strongroom_field_cipher *email3 = NULL;
    EXPECT_OK(strongroom_field_cipher_new(kr, "users", "email", &spec, &email3));
    EXPECT_STATUS(STRONGROOM_KEY_VERSION_UNUSABLE, strongroom_field_decrypt(email3, tok, tl, (const uint8_t *)"row-1", 5, (uint8_t *)plainbuf, sizeof plainbuf, &pl, &is_null));
    /* The cipher built before is a snapshot: it still holds version 1. */
    EXPECT_OK(strongroom_field_decrypt(email, tok, tl, (const uint8_t *)"row-1", 5, (uint8_t *)plainbuf, sizeof plainbuf, &pl, &is_null));

    /* A file encrypted under a destroyed version. */
    strongroom_field_cipher_free(email3);
    strongroom_field_cipher_free(email2);
    strongroom_field_cipher_free(name);
    strongroom_field_cipher_free(email);
    strongroom_field_cipher_free(NULL);
    strongroom_keyring_free(kr);
}

static void test_destroyed_file_version(void) {
    strongroom_keyring *kr = make_keyring(p(0, "destroy.srk"));
    unsigned char data[1000];
    fill_pattern(data, sizeof data, 1);
    EXPECT(write_all(p(1, "d.bin"), data, sizeof data) == 0);
    strongroom_keys k;
    memset(&k, 0, sizeof k);
    k.keyring = kr;
    EXPECT_OK(strongroom_file_encrypt(p(1, "d.bin"), p(2, "d.srf"), &k, NULL));
    uint32_t v2;
    EXPECT_OK(strongroom_keyring_add_version(kr, true, &v2));
    EXPECT_OK(strongroom_file_decrypt(p(2, "d.srf"), p(3, "d.out"), &k, NULL, NULL));
    unlink(p(3, "d.out"));
    EXPECT_OK(strongroom_keyring_destroy_version(kr, 1));
    EXPECT_STATUS(STRONGROOM_KEY_VERSION_UNUSABLE, strongroom_file_decrypt(p(2, "d.srf"), p(3, "d.out"), &k, NULL, NULL));
    EXPECT(!file_exists(p(3, "d.out")));
    strongroom_keyring_free(kr);
}

/* Text tokens in one call: encrypt to `sr1.` text, decrypt text given with
 * a length (as a TEXT column holds it), batches of text tokens. */
static void test_text_tokens(void) {
    strongroom_keyring *kr = make_keyring(p(0, "text.srk"));
    strongroom_column_spec spec;
    memset(&spec, 0, sizeof spec);
    spec.value_type = STRONGROOM_TYPE_TEXT;
    spec.mode = STRONGROOM_MODE_RANDOM;
    strongroom_field_cipher *c = NULL;
    REQUIRE_OK(strongroom_field_cipher_new(kr, "users", "email", &spec, &c));
    const char *v = "alice@example.com";
    const size_t vlen = strlen(v);

    size_t bound = 0, tl = 0;
    EXPECT_OK(strongroom_field_token_text_bound(c, vlen, &bound));
    char text[256];
    EXPECT_OK(strongroom_field_encrypt_text(c, (const uint8_t *)v, vlen, (const uint8_t *)"row-1", 5, text, sizeof text, &tl));
    EXPECT(strncmp(text, "sr1.", 4) == 0 && strlen(text) == tl && tl + 1 <= bound);
    /* The text form of the same token the binary calls give. */
    uint8_t bin[256];
    size_t bl = 0;
    EXPECT_OK(strongroom_token_from_text(text, bin, sizeof bin, &bl));
    char again[256];
    size_t al = 0;
    EXPECT_OK(strongroom_token_to_text(bin, bl, again, sizeof again, &al));
    EXPECT(al == tl && strcmp(again, text) == 0);
    /* A buffer without room for the NUL: the length, nothing written. */
    char shortbuf[256];
    memset(shortbuf, 'Z', sizeof shortbuf);
    size_t need = 0;
    EXPECT_STATUS(STRONGROOM_BUFFER_TOO_SMALL, strongroom_field_encrypt_text(c, (const uint8_t *)v, vlen, NULL, 0, shortbuf, tl, &need));
    EXPECT(need == tl && shortbuf[0] == 'Z');
    EXPECT_STATUS(STRONGROOM_INVALID_UTF8, strongroom_field_encrypt_text(c, (const uint8_t *)"\xff", 1, NULL, 0, shortbuf, sizeof shortbuf, &need));

    /* Decrypting text with a length: no NUL needed (the bytes after it are
     * not read), the row key checked. */
    char column[300];
    memcpy(column, text, tl);
    memset(column + tl, 'X', 20);
    uint8_t out[256];
    size_t ol = 0;
    bool is_null = true;
    EXPECT_OK(strongroom_field_decrypt_text(c, column, tl, (const uint8_t *)"row-1", 5, out, sizeof out, &ol, &is_null));
    EXPECT(!is_null && ol == vlen && memcmp(out, v, vlen) == 0);
    EXPECT_STATUS(STRONGROOM_FIELD_AUTH_FAILED, strongroom_field_decrypt_text(c, column, tl, (const uint8_t *)"row-2", 5, out, sizeof out, &ol, &is_null));
    EXPECT_STATUS(STRONGROOM_MALFORMED, strongroom_field_decrypt_text(c, column, tl + 1, (const uint8_t *)"row-1", 5, out, sizeof out, &ol, &is_null));
    EXPECT_STATUS(STRONGROOM_MALFORMED, strongroom_field_decrypt_text(c, "sr1.!!", 6, NULL, 0, out, sizeof out, &ol, &is_null));
    EXPECT_STATUS(STRONGROOM_MALFORMED, strongroom_field_decrypt_text(c, "sr2.AAAA", 8, NULL, 0, out, sizeof out, &ol, &is_null));
    EXPECT_STATUS(STRONGROOM_INVALID_UTF8, strongroom_field_decrypt_text(c, "sr1.\xc3", 5, NULL, 0, out, sizeof out, &ol, &is_null));
    EXPECT_STATUS(STRONGROOM_NULL_ARGUMENT, strongroom_field_decrypt_text(c, NULL, 0, NULL, 0, out, sizeof out, &ol, &is_null));
    /* token_from_text with a length. */
    uint8_t bin2[256];
    size_t bl2 = 0;
    EXPECT_OK(strongroom_token_from_text_n(column, tl, bin2, sizeof bin2, &bl2));
    EXPECT(bl2 == bl && memcmp(bin, bin2, bl) == 0);
    EXPECT_STATUS(STRONGROOM_MALFORMED, strongroom_token_from_text_n(column, tl + 3, bin2, sizeof bin2, &bl2));
    EXPECT_STATUS(STRONGROOM_BUFFER_TOO_SMALL, strongroom_token_from_text_n(column, tl, NULL, 0, &bl2));
    EXPECT(bl2 == bl);

    /* NULL: kept as NULL (empty text, length 0), or hidden in a token. */
    EXPECT_OK(strongroom_field_encrypt_null_text(c, NULL, 0, shortbuf, sizeof shortbuf, &need));
    EXPECT(need == 0 && shortbuf[0] == 0);
    strongroom_column_spec hide = spec;
    hide.hide_null = true;
    strongroom_field_cipher *hidden = NULL;
    REQUIRE_OK(strongroom_field_cipher_new(kr, "users", "nick", &hide, &hidden));
    EXPECT_OK(strongroom_field_encrypt_null_text(hidden, (const uint8_t *)"r", 1, shortbuf, sizeof shortbuf, &need));
    EXPECT(need > 4 && strncmp(shortbuf, "sr1.", 4) == 0);
    is_null = false;
    EXPECT_OK(strongroom_field_decrypt_text(hidden, shortbuf, need, (const uint8_t *)"r", 1, out, sizeof out, &ol, &is_null));
    EXPECT(is_null && ol == 0);
    strongroom_field_cipher_free(hidden);

    /* Batches of text tokens, with a kept NULL and row keys. */
    strongroom_item values[3] = {{(const uint8_t *)"a@x.org", 7, false}, {NULL, 0, true}, {(const uint8_t *)"b@x.org", 7, false}};
    strongroom_slice rows[4] = {{(const uint8_t *)"1", 1}, {(const uint8_t *)"2", 1}, {(const uint8_t *)"3", 1}, {(const uint8_t *)"4", 1}};
    strongroom_field_results *res = NULL;
    size_t failed = 999;
    EXPECT_OK(strongroom_field_encrypt_batch_text(c, values, 3, rows, &res, &failed));
    EXPECT(failed == 999);
    char texts[3][128];
    strongroom_item back[4];
    for (size_t i = 0; i < 3; i++) {
        const uint8_t *d = NULL;
        size_t dl = 0;
        bool nul = false;
        strongroom_status st = 1;
        EXPECT_OK(strongroom_field_results_get(res, i, &d, &dl, &nul, &st));
        EXPECT(st == STRONGROOM_OK && nul == (i == 1));
        if (!nul) {
            /* Text, NUL-terminated after its length. */
            EXPECT(dl > 4 && memcmp(d, "sr1.", 4) == 0 && d[dl] == 0 && strlen((const char *)d) == dl);
            EXPECT(dl < sizeof texts[i]);
            memcpy(texts[i], d, dl);
        }
        back[i].data = (const uint8_t *)texts[i];
        back[i].len = dl;
        back[i].is_null = nul;
    }
    strongroom_field_results_free(res);
    /* Decrypting them, plus a text that is no token and one that is not
     * UTF-8: each has its own status. */
    strongroom_item mixed[5];
    memcpy(mixed, back, 3 * sizeof back[0]);
    mixed[3].data = (const uint8_t *)"sr1.nope!";
    mixed[3].len = 9;
    mixed[3].is_null = false;
    mixed[4].data = (const uint8_t *)"\xfe";
    mixed[4].len = 1;
    mixed[4].is_null = false;
    strongroom_slice rows5[5] = {{(const uint8_t *)"1", 1}, {(const uint8_t *)"2", 1}, {(const uint8_t *)"3", 1}, {(const uint8_t *)"4", 1}, {(const uint8_t *)"5", 1}};
    res = NULL;
    EXPECT_OK(strongroom_field_decrypt_batch_text(c, mixed, 5, rows5, &res));
    strongroom_status want_st[5] = {STRONGROOM_OK, STRONGROOM_OK, STRONGROOM_OK, STRONGROOM_MALFORMED, STRONGROOM_INVALID_UTF8};
    const char *want_v[5] = {"a@x.org", NULL, "b@x.org", NULL, NULL};
    for (size_t i = 0; i < 5; i++) {
        const uint8_t *d = NULL;
        size_t dl = 0;
        bool nul = false;
        strongroom_status st = 1;
        EXPECT_OK(strongroom_field_results_get(res, i, &d, &dl, &nul, &st));
        EXPECT(st == want_st[i]);
        if (want_v[i]) EXPECT(!nul && dl == strlen(want_v[i]) && memcmp(d, want_v[i], dl) == 0);
        if (i == 1) EXPECT(nul);
    }
    strongroom_field_results_free(res);
    /* Wrong rows: authentication fails per item. */
    res = NULL;
    EXPECT_OK(strongroom_field_decrypt_batch_text(c, back, 3, rows + 1, &res));
    const uint8_t *d = NULL;
    size_t dl = 0;
    bool nul = false;
    strongroom_status st = 0;
    EXPECT_OK(strongroom_field_results_get(res, 0, &d, &dl, &nul, &st));
    EXPECT(st == STRONGROOM_FIELD_AUTH_FAILED);
    strongroom_field_results_free(res);

    /* A batch of several chunks (decoded on the pool): every value back. */
    {
        enum { BIG = 3000 };
        static strongroom_item big[BIG];
        static char vals[BIG][16];
        for (size_t i = 0; i < BIG; i++) {
            int n = snprintf(vals[i], sizeof vals[i], "v%zu@x.org", i);
            big[i].data = (const uint8_t *)vals[i];
            big[i].len = (size_t)n;
            big[i].is_null = (i % 500 == 7);
        }
        res = NULL;
        EXPECT_OK(strongroom_field_encrypt_batch_text(c, big, BIG, NULL, &res, &failed));
        static strongroom_item toks[BIG];
        for (size_t i = 0; i < BIG; i++) {
            EXPECT_OK(strongroom_field_results_get(res, i, &d, &dl, &nul, &st));
            toks[i].data = d; /* valid until the free below */
            toks[i].len = dl;
            toks[i].is_null = nul;
        }
        strongroom_field_results *dec = NULL;
        EXPECT_OK(strongroom_field_decrypt_batch_text(c, toks, BIG, NULL, &dec));
        size_t good = 0;
        for (size_t i = 0; i < BIG; i++) {
            EXPECT_OK(strongroom_field_results_get(dec, i, &d, &dl, &nul, &st));
            if (big[i].is_null) good += nul && st == STRONGROOM_OK;
            else good += st == STRONGROOM_OK && !nul && dl == big[i].len && memcmp(d, big[i].data, dl) == 0;
        }
        EXPECT(good == BIG);
        strongroom_field_results_free(dec);
        strongroom_field_results_free(res);
    }

    /* Deterministic columns give equal text for equal values. */
    strongroom_column_spec det = spec;
    det.mode = STRONGROOM_MODE_DETERMINISTIC;
    strongroom_field_cipher *dc = NULL;
    REQUIRE_OK(strongroom_field_cipher_new(kr, "users", "ssn", &det, &dc));
    char t1[256], t2[256];
    size_t l1 = 0, l2 = 0;
    EXPECT_OK(strongroom_field_encrypt_text(dc, (const uint8_t *)"123", 3, NULL, 0, t1, sizeof t1, &l1));
    EXPECT_OK(strongroom_field_encrypt_text(dc, (const uint8_t *)"123", 3, NULL, 0, t2, sizeof t2, &l2));
    EXPECT(l1 == l2 && strcmp(t1, t2) == 0);
    strongroom_field_cipher_free(dc);
    strongroom_field_cipher_free(c);
    strongroom_keyring_free(kr);
}

/* Lengths above PTRDIFF_MAX: refused before any memory is touched, with a
 * status of their own and the argument named. */
static void test_lengths_too_large(void) {
    strongroom_keyring *kr = make_keyring(p(0, "lengths.srk"));
    strongroom_column_spec spec;
    memset(&spec, 0, sizeof spec);
    spec.value_type = STRONGROOM_TYPE_BYTES;
    spec.mode = STRONGROOM_MODE_RANDOM;
    spec.blind_index_len = 8;
    strongroom_field_cipher *c = NULL;
    REQUIRE_OK(strongroom_field_cipher_new(kr, "t", "c", &spec, &c));
    const size_t huge = (size_t)PTRDIFF_MAX + 1;
    const uint8_t v[4] = {1, 2, 3, 4};
    uint8_t out[256];
    size_t ol = 777;
    bool is_null = false;
    EXPECT_STATUS(STRONGROOM_LENGTH_TOO_LARGE, strongroom_field_encrypt(c, v, huge, NULL, 0, out, sizeof out, &ol));
    EXPECT(strstr(check_last_error(), "value") != NULL && ol == 777);
    EXPECT_STATUS(STRONGROOM_LENGTH_TOO_LARGE, strongroom_field_encrypt(c, v, SIZE_MAX, NULL, 0, out, sizeof out, &ol));
    EXPECT_STATUS(STRONGROOM_LENGTH_TOO_LARGE, strongroom_field_encrypt(c, v, 4, v, huge, out, sizeof out, &ol));
    EXPECT(strstr(check_last_error(), "row_len") != NULL);
    EXPECT_STATUS(STRONGROOM_LENGTH_TOO_LARGE, strongroom_field_encrypt(c, v, 4, NULL, 0, out, huge, &ol));
    EXPECT_STATUS(STRONGROOM_LENGTH_TOO_LARGE, strongroom_field_decrypt(c, v, huge, NULL, 0, out, sizeof out, &ol, &is_null));
    EXPECT_STATUS(STRONGROOM_LENGTH_TOO_LARGE, strongroom_field_index(c, v, huge, out, sizeof out, &ol));
    EXPECT_STATUS(STRONGROOM_LENGTH_TOO_LARGE, strongroom_field_token_bound(c, SIZE_MAX, &ol));
    EXPECT_STATUS(STRONGROOM_LENGTH_TOO_LARGE, strongroom_field_token_text_bound(c, huge, &ol));
    EXPECT_STATUS(STRONGROOM_LENGTH_TOO_LARGE, strongroom_token_inspect(v, huge, NULL));
    EXPECT_STATUS(STRONGROOM_LENGTH_TOO_LARGE, strongroom_field_decrypt_text(c, "sr1.", huge, NULL, 0, out, sizeof out, &ol, &is_null));
    EXPECT_STATUS(STRONGROOM_LENGTH_TOO_LARGE, strongroom_token_from_text_n("sr1.", huge, out, sizeof out, &ol));
    EXPECT(ol == 777);
    /* Batches: a count no array can have, an item or a row key too long. */
    strongroom_item items[2] = {{v, 4, false}, {v, huge, false}};
    strongroom_field_results *res = NULL;
    size_t failed = 999;
    EXPECT_STATUS(STRONGROOM_LENGTH_TOO_LARGE, strongroom_field_encrypt_batch(c, items, SIZE_MAX / 8, NULL, &res, &failed));
    EXPECT(failed == 999 && res == NULL);
    EXPECT_STATUS(STRONGROOM_LENGTH_TOO_LARGE, strongroom_field_encrypt_batch(c, items, 2, NULL, &res, &failed));
    EXPECT(failed == 1 && res == NULL);
    failed = 999;
    EXPECT_STATUS(STRONGROOM_LENGTH_TOO_LARGE, strongroom_field_index_batch(c, items, 2, &res, &failed));
    EXPECT(failed == 1 && res == NULL);
    EXPECT_STATUS(STRONGROOM_LENGTH_TOO_LARGE, strongroom_field_decrypt_batch(c, items, 2, NULL, &res));
    strongroom_slice rows[1] = {{v, huge}};
    EXPECT_STATUS(STRONGROOM_LENGTH_TOO_LARGE, strongroom_field_encrypt_batch(c, items, 1, rows, &res, &failed));
    EXPECT(res == NULL);
    /* Keyrings, keys and streams. */
    strongroom_keyring *kr2 = NULL;
    EXPECT_STATUS(STRONGROOM_LENGTH_TOO_LARGE, strongroom_keyring_open_passphrase(p(0, "lengths.srk"), (const uint8_t *)PASS, huge, &kr2));
    EXPECT(kr2 == NULL);
    strongroom_key_version vs[2];
    size_t count = 0;
    EXPECT_STATUS(STRONGROOM_LENGTH_TOO_LARGE, strongroom_keyring_versions(kr, vs, SIZE_MAX / 4, &count));
    strongroom_keys keys;
    memset(&keys, 0, sizeof keys);
    keys.passphrase = (const uint8_t *)PASS;
    keys.passphrase_len = huge;
    strongroom_decryptor *dec = NULL;
    EXPECT_STATUS(STRONGROOM_LENGTH_TOO_LARGE, strongroom_decryptor_new(&keys, &dec));
    EXPECT(dec == NULL);
    keys.passphrase_len = PASS_LEN;
    REQUIRE_OK(strongroom_decryptor_new(&keys, &dec));
    EXPECT_STATUS(STRONGROOM_LENGTH_TOO_LARGE, strongroom_decryptor_update(dec, v, huge, out, sizeof out, &ol));
    EXPECT_STATUS(STRONGROOM_LENGTH_TOO_LARGE, strongroom_decryptor_bound(dec, SIZE_MAX, &ol));
    strongroom_decryptor_free(dec);
    keys.kdf = fast_kdf();
    strongroom_encryptor *enc = NULL;
    REQUIRE_OK(strongroom_encryptor_new(&keys, &enc));
    EXPECT_STATUS(STRONGROOM_LENGTH_TOO_LARGE, strongroom_encryptor_bound(enc, huge, &ol));
    EXPECT_STATUS(STRONGROOM_LENGTH_TOO_LARGE, strongroom_encryptor_update(enc, v, huge, out, sizeof out, &ol));
    strongroom_encryptor_free(enc);
    char rk[STRONGROOM_RECOVERY_KEY_BUF_LEN];
    EXPECT_STATUS(STRONGROOM_LENGTH_TOO_LARGE, strongroom_keyring_add_recovery_key(kr, rk, huge));
    EXPECT_STATUS(STRONGROOM_LENGTH_TOO_LARGE, strongroom_last_error(rk, huge, &ol));
    strongroom_field_cipher_free(c);
    strongroom_keyring_free(kr);
}

/* The read callback's contract: more than asked is the callback's bug and
 * says so; a negative value is an I/O error. */
static int64_t too_much_cb(void *ud, uint8_t *buf, size_t len) {
    (void)ud;
    (void)buf;
    return (int64_t)len + 5; /* claims more than it was given room for */
}
static int64_t minus_two_cb(void *ud, uint8_t *buf, size_t len) {
    (void)ud; (void)buf; (void)len;
    return -2;
}
static int32_t discard_cb(void *ud, const uint8_t *buf, size_t len) {
    (void)ud; (void)buf; (void)len;
    return 0;
}
static int32_t refuse_cb(void *ud, const uint8_t *buf, size_t len) {
    (void)ud; (void)buf; (void)len;
    return 7;
}

static void test_callback_contract(void) {
    strongroom_keys keys;
    memset(&keys, 0, sizeof keys);
    keys.passphrase = (const uint8_t *)PASS;
    keys.passphrase_len = PASS_LEN;
    keys.kdf = fast_kdf();
    EXPECT_STATUS(STRONGROOM_INVALID_ARGUMENT, strongroom_stream_encrypt(&keys, too_much_cb, NULL, discard_cb, NULL));
    const char *m = check_last_error();
    EXPECT(strstr(m, "read callback returned") != NULL && strstr(m, "more than the") != NULL);
    EXPECT_STATUS(STRONGROOM_INVALID_ARGUMENT, strongroom_stream_decrypt(&keys, too_much_cb, NULL, discard_cb, NULL));
    EXPECT(strstr(check_last_error(), "more than the") != NULL);
    EXPECT_STATUS(STRONGROOM_IO, strongroom_stream_encrypt(&keys, minus_two_cb, NULL, discard_cb, NULL));
    EXPECT(strstr(check_last_error(), "read callback reported an error (it returned -2)") != NULL);
    src_t in = {(const unsigned char *)"hello", 5, 0, 5};
    EXPECT_STATUS(STRONGROOM_IO, strongroom_stream_encrypt(&keys, read_cb, &in, refuse_cb, NULL));
    EXPECT(strstr(check_last_error(), "write callback reported an error (it returned 7)") != NULL);
}

/* The detailed message of an I/O failure is the core's whole message. */
static void test_io_messages(void) {
    strongroom_keyring *kr = NULL;
    EXPECT_STATUS(STRONGROOM_NOT_FOUND, strongroom_keyring_open_passphrase(p(0, "no-such.srk"), (const uint8_t *)PASS, PASS_LEN, &kr));
    const char *m = check_last_error();
    EXPECT(strstr(m, "No such file or directory") != NULL);
}

/* The Argon2id budget: a stanza dearer than the budget is not tried
 * (KDF_BUDGET_EXCEEDED, nothing written); a larger budget opens it. Test
 * parameters are tiny, with a budget lowered below them. */
static void test_kdf_budget(void) {
    strongroom_kdf_budget d = strongroom_kdf_budget_default();
    EXPECT(d.max_memory_kib == 1024 * 1024 && d.max_passes == 6);
    strongroom_kdf_budget u = strongroom_kdf_budget_unlimited();
    EXPECT(u.max_memory_kib == 2 * 1024 * 1024 && u.max_passes == UINT32_MAX);
    EXPECT(strcmp(strongroom_status_name(STRONGROOM_KDF_BUDGET_EXCEEDED), "KdfBudgetExceeded") == 0);

    strongroom_kdf_params k16 = fast_kdf();
    k16.memory_kib = 16384;
    const char *path = p(0, "budget.srk");
    strongroom_keyring *kr = NULL;
    EXPECT_OK(strongroom_keyring_create(path, (const uint8_t *)PASS, PASS_LEN, &k16, &kr));
    strongroom_keyring_free(kr);
    kr = NULL;
    strongroom_kdf_budget small = {8192, 4};
    EXPECT_STATUS(STRONGROOM_KDF_BUDGET_EXCEEDED,
                  strongroom_keyring_open_passphrase_with_budget(path, (const uint8_t *)PASS, PASS_LEN, &small, &kr));
    EXPECT(kr == NULL);
    EXPECT(strstr(check_last_error(), "16 MiB and 1 passes") != NULL);
    strongroom_kdf_budget enough = {16384, 1};
    EXPECT_OK(strongroom_keyring_open_passphrase_with_budget(path, (const uint8_t *)PASS, PASS_LEN, &enough, &kr));
    strongroom_keyring_free(kr);
    kr = NULL;
    EXPECT_OK(strongroom_keyring_open_passphrase_with_budget(path, (const uint8_t *)PASS, PASS_LEN, NULL, &kr));
    strongroom_keyring_free(kr);

    const char *src = p(1, "budget.txt"), *enc = p(2, "budget.srf"), *out = p(3, "budget.out");
    EXPECT(write_all(src, (const unsigned char *)"hello", 5) == 0);
    strongroom_keys to;
    memset(&to, 0, sizeof to);
    to.passphrase = (const uint8_t *)PASS;
    to.passphrase_len = PASS_LEN;
    to.kdf = k16;
    EXPECT_OK(strongroom_file_encrypt(src, enc, &to, NULL));
    strongroom_keys with;
    memset(&with, 0, sizeof with);
    with.passphrase = (const uint8_t *)PASS;
    with.passphrase_len = PASS_LEN;
    with.kdf_budget = small;
    EXPECT_STATUS(STRONGROOM_KDF_BUDGET_EXCEEDED, strongroom_file_decrypt(enc, out, &with, NULL, NULL));
    EXPECT(!file_exists(out));
    with.kdf_budget.max_passes = 0; /* a field left zero takes the default's */
    EXPECT_STATUS(STRONGROOM_KDF_BUDGET_EXCEEDED, strongroom_file_decrypt(enc, out, &with, NULL, NULL));
    with.kdf_budget = enough;
    EXPECT_OK(strongroom_file_decrypt(enc, out, &with, NULL, NULL));
    unlink(out);
    memset(&with.kdf_budget, 0, sizeof with.kdf_budget); /* the default */
    EXPECT_OK(strongroom_file_decrypt(enc, out, &with, NULL, NULL));
}

/* unlinkable_batches: every token of a batch has its own nonce prefix
 * (bytes 6 to 17); by default the batch shares one. */
static void test_unlinkable_batches(void) {
    strongroom_keyring *kr = make_keyring(p(0, "unlinkable.srk"));
    strongroom_item items[3] = {
        {(const uint8_t *)"a", 1, false},
        {(const uint8_t *)"b", 1, false},
        {(const uint8_t *)"c", 1, false},
    };
    for (int unlinkable = 0; unlinkable < 2; unlinkable++) {
        strongroom_column_spec spec;
        memset(&spec, 0, sizeof spec);
        spec.value_type = STRONGROOM_TYPE_BYTES;
        spec.mode = STRONGROOM_MODE_RANDOM;
        spec.unlinkable_batches = unlinkable;
        strongroom_field_cipher *c = NULL;
        EXPECT_OK(strongroom_field_cipher_new(kr, "t", "c", &spec, &c));
        strongroom_field_results *res = NULL;
        size_t failed = 0;
        EXPECT_OK(strongroom_field_encrypt_batch(c, items, 3, NULL, &res, &failed));
        uint8_t prefix[3][12];
        for (size_t i = 0; i < 3; i++) {
            const uint8_t *d = NULL;
            size_t dl = 0;
            bool nul = false;
            strongroom_status st = 1;
            EXPECT_OK(strongroom_field_results_get(res, i, &d, &dl, &nul, &st));
            EXPECT(st == STRONGROOM_OK && dl > 18);
            memcpy(prefix[i], d + 6, 12);
            uint8_t plain[8];
            size_t pl = 0;
            bool is_null = true;
            EXPECT_OK(strongroom_field_decrypt(c, d, dl, NULL, 0, plain, sizeof plain, &pl, &is_null));
            EXPECT(pl == 1 && plain[0] == (uint8_t)('a' + i) && !is_null);
        }
        bool same01 = memcmp(prefix[0], prefix[1], 12) == 0, same12 = memcmp(prefix[1], prefix[2], 12) == 0;
        EXPECT(unlinkable ? (!same01 && !same12) : (same01 && same12));
        strongroom_field_results_free(res);
        strongroom_field_cipher_free(c);
        if (unlinkable) {
            spec.mode = STRONGROOM_MODE_DETERMINISTIC;
            c = NULL;
            EXPECT_STATUS(STRONGROOM_INVALID_ARGUMENT, strongroom_field_cipher_new(kr, "t", "c", &spec, &c));
            EXPECT(c == NULL);
        }
    }
    strongroom_keyring_free(kr);
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: %s WORKDIR\n", argv[0]);
        return 2;
    }
    snprintf(dir, sizeof dir, "%s", argv[1]);
    test_version_and_status();
    test_keyrings();
    test_files();
    test_streams();
    test_fields();
    test_destroyed_file_version();
    test_text_tokens();
    test_lengths_too_large();
    test_callback_contract();
    test_io_messages();
    test_kdf_budget();
    test_unlinkable_batches();
    return check_done("test_api");
}
