/* Keyring formats and revocation through the C API: the worked examples of
 * docs/SPEC.md section 4 (format 3 and format 2) open with their secrets;
 * the format-2 one decrypts but refuses to encrypt and to change until
 * upgraded; removals rotate; re-enrollment; the record of keyrings seen
 * refuses a rolled-back or downgraded keyring. Each failure asserts its
 * status. Usage: test_keyring TESTDATA_KEYRING_DIR WORKDIR (empty). */
#include <stdint.h>

#include "check.h"

static char dir[512];
static char pbuf[8][768];

static const char *p(int slot, const char *name) {
    snprintf(pbuf[slot], sizeof pbuf[slot], "%s/%s", dir, name);
    return pbuf[slot];
}

#define EX_PASS "correct horse battery staple"
#define EX_RK "SRRK-G20R5-0W4GP-38F24-9HA5R-S3CEH-Y8934-MKJJA-SD5WR-K6D9Q-74XKT-FSGD0"
#define PASS "c keyring passphrase"
#define PASS2 "second c passphrase"

/* Writes the bytes of a hex file (whitespace ignored) to `out`. */
static void unhex_file(const char *hex_path, const char *out) {
    size_t len = 0;
    unsigned char *text = read_all(hex_path, &len);
    if (!text) {
        fprintf(stderr, "cannot read %s\n", hex_path);
        exit(2);
    }
    unsigned char *bytes = malloc(len / 2 + 1);
    size_t n = 0;
    int hi = -1;
    for (size_t i = 0; i < len; i++) {
        int c = text[i], v;
        if (c >= '0' && c <= '9') v = c - '0';
        else if (c >= 'a' && c <= 'f') v = c - 'a' + 10;
        else continue;
        if (hi < 0) hi = v;
        else { bytes[n++] = (unsigned char)(hi << 4 | v); hi = -1; }
    }
    if (write_all(out, bytes, n) != 0) {
        fprintf(stderr, "cannot write %s\n", out);
        exit(2);
    }
    free(bytes);
    free(text);
}

static void copy_file(const char *from, const char *to) {
    size_t len = 0;
    unsigned char *b = read_all(from, &len);
    if (!b || write_all(to, b, len) != 0) {
        fprintf(stderr, "cannot copy %s\n", from);
        exit(2);
    }
    free(b);
}

static strongroom_secret secret_of(strongroom_secret_kind kind, const char *s) {
    strongroom_secret x;
    x.kind = kind;
    x.secret = (const uint8_t *)s;
    x.len = strlen(s);
    return x;
}

static void test_examples(const char *testdata) {
    char hex[768];
    const char *v3 = p(0, "example.srk"), *v2 = p(1, "example-v2.srk");
    snprintf(hex, sizeof hex, "%s/example.hex", testdata);
    unhex_file(hex, v3);
    snprintf(hex, sizeof hex, "%s/example-v2.hex", testdata);
    unhex_file(hex, v2);

    strongroom_keyring *kr = NULL;
    uint32_t u = 0;
    EXPECT_OK(strongroom_keyring_open_passphrase(v3, (const uint8_t *)EX_PASS, strlen(EX_PASS), &kr));
    EXPECT_OK(strongroom_keyring_format_version(kr, &u));
    EXPECT(u == 3);
    EXPECT_OK(strongroom_keyring_primary_version(kr, &u));
    EXPECT(u == 4);
    strongroom_protector ps[4];
    size_t count = 0;
    EXPECT_STATUS(STRONGROOM_BUFFER_TOO_SMALL, strongroom_keyring_protectors(kr, ps, 1, &count));
    EXPECT(count == 2);
    EXPECT_OK(strongroom_keyring_protectors(kr, ps, 4, &count));
    EXPECT(count == 2 && ps[0].id == 1 && ps[0].kind == STRONGROOM_PROTECTOR_PASSPHRASE && !ps[0].legacy);
    EXPECT(ps[1].id == 2 && ps[1].kind == STRONGROOM_PROTECTOR_RECOVERY_KEY && ps[1].created_at == 1700000100u);
    strongroom_keyring_free(kr);
    kr = NULL;
    EXPECT_OK(strongroom_keyring_open_recovery_key(v3, EX_RK, &kr));
    strongroom_keyring_free(kr);
    kr = NULL;
    EXPECT_STATUS(STRONGROOM_WRONG_PASSPHRASE, strongroom_keyring_open_passphrase(v3, (const uint8_t *)"no", 2, &kr));
    EXPECT(kr == NULL);

    /* Format 2: opens and decrypts, refuses to encrypt and to change. */
    EXPECT_OK(strongroom_keyring_open_passphrase(v2, (const uint8_t *)EX_PASS, strlen(EX_PASS), &kr));
    EXPECT_OK(strongroom_keyring_format_version(kr, &u));
    EXPECT(u == 2);
    EXPECT_OK(strongroom_keyring_protectors(kr, ps, 4, &count));
    EXPECT(count == 2 && ps[0].legacy && ps[1].legacy);
    const char *plain = p(2, "plain.txt"), *enc = p(3, "plain.srf");
    EXPECT(write_all(plain, (const unsigned char *)"attack at dawn", 14) == 0);
    strongroom_keys to;
    memset(&to, 0, sizeof to);
    to.keyring = kr;
    EXPECT_STATUS(STRONGROOM_KEYRING_NEEDS_UPGRADE, strongroom_file_encrypt(plain, enc, &to, NULL));
    EXPECT(!file_exists(enc));
    EXPECT_STATUS(STRONGROOM_KEYRING_NEEDS_UPGRADE, strongroom_keyring_add_version(kr, true, &u));
    EXPECT_STATUS(STRONGROOM_KEYRING_NEEDS_UPGRADE, strongroom_keyring_rekey(kr));
    /* The upgrade needs the recovery key's secret (or its removal). */
    EXPECT_STATUS(STRONGROOM_PROTECTORS_NEED_UPGRADE, strongroom_keyring_upgrade(kr, NULL, 0, NULL, 0, true, &u));
    EXPECT(strstr(check_last_error(), "protector(s) 2") != NULL);
    strongroom_secret wrong = secret_of(STRONGROOM_SECRET_PASSPHRASE, "not a protector");
    EXPECT_STATUS(STRONGROOM_WRONG_PASSPHRASE, strongroom_keyring_upgrade(kr, &wrong, 1, NULL, 0, true, &u));
    EXPECT_STATUS(STRONGROOM_NULL_ARGUMENT, strongroom_keyring_upgrade(kr, NULL, 1, NULL, 0, true, &u));
    strongroom_secret rk = secret_of(STRONGROOM_SECRET_RECOVERY_KEY, EX_RK);
    u = 99;
    EXPECT_OK(strongroom_keyring_upgrade(kr, &rk, 1, NULL, 0, true, &u));
    EXPECT(u == 5);
    EXPECT_OK(strongroom_keyring_format_version(kr, &u));
    EXPECT(u == 3);
    EXPECT_OK(strongroom_file_encrypt(plain, enc, &to, NULL));
    strongroom_keyring_free(kr);
    kr = NULL;
    EXPECT_OK(strongroom_keyring_open_recovery_key(v2, EX_RK, &kr));
    strongroom_keyring_free(kr);
}

static void test_revocation_and_record(void) {
    strongroom_kdf_params kdf = fast_kdf();
    strongroom_keyring *kr = NULL, *other = NULL;
    const char *path = p(0, "keys.srk"), *record = p(1, "state/keyrings-seen"), *copy = p(2, "copy.srk");
    REQUIRE_OK(strongroom_keyring_create(path, (const uint8_t *)PASS, strlen(PASS), &kdf, &kr));
    EXPECT_OK(strongroom_keyring_use_seen_record(kr, record));
    EXPECT(file_exists(record));
    EXPECT_OK(strongroom_keyring_add_passphrase(kr, (const uint8_t *)PASS2, strlen(PASS2), &kdf));
    EXPECT_OK(strongroom_keyring_add_passphrase(kr, (const uint8_t *)"third", 5, &kdf));
    copy_file(path, copy);

    /* A removal rotates by default; without, the primary stays. */
    uint32_t ids[1] = {3}, np = 99, primary = 0;
    EXPECT_OK(strongroom_keyring_remove_protectors(kr, ids, 1, true, &np));
    EXPECT(np == 2);
    EXPECT_OK(strongroom_keyring_primary_version(kr, &primary));
    EXPECT(primary == 2);
    EXPECT_STATUS(STRONGROOM_INVALID_ARGUMENT, strongroom_keyring_remove_protectors(kr, ids, 1, true, &np));
    EXPECT_STATUS(STRONGROOM_NULL_ARGUMENT, strongroom_keyring_remove_protectors(kr, NULL, 1, true, &np));
    EXPECT_STATUS(STRONGROOM_WRONG_PASSPHRASE,
                  strongroom_keyring_open_passphrase(path, (const uint8_t *)"third", 5, &other));

    /* Re-enrollment with the other protector's secret; a wrong one
     * changes nothing. */
    strongroom_secret good = secret_of(STRONGROOM_SECRET_PASSPHRASE, PASS2);
    strongroom_secret bad = secret_of(STRONGROOM_SECRET_PASSPHRASE, "nobody");
    EXPECT_STATUS(STRONGROOM_WRONG_PASSPHRASE, strongroom_keyring_reenroll(kr, &bad, 1));
    EXPECT_OK(strongroom_keyring_reenroll(kr, &good, 1));
    EXPECT_OK(strongroom_keyring_open_passphrase(path, (const uint8_t *)PASS2, strlen(PASS2), &other));
    strongroom_keyring_free(other);
    other = NULL;
    ids[0] = 2;
    EXPECT_OK(strongroom_keyring_remove_protectors(kr, ids, 1, false, &np));
    EXPECT(np == 0);
    EXPECT_OK(strongroom_keyring_primary_version(kr, &primary));
    EXPECT(primary == 2);

    /* The old copy put back: refused by the record, by this handle too. */
    copy_file(copy, path);
    EXPECT_STATUS(STRONGROOM_KEYRING_ROLLED_BACK, strongroom_keyring_add_version(kr, true, &np));
    EXPECT_OK(strongroom_keyring_open_passphrase(path, (const uint8_t *)PASS, strlen(PASS), &other));
    EXPECT_STATUS(STRONGROOM_KEYRING_ROLLED_BACK, strongroom_keyring_use_seen_record(other, record));
    strongroom_keyring_free(other);
    strongroom_keyring_free(kr);
}

static void test_downgrade(const char *testdata) {
    /* The format-3 example seen, then the format-2 one (same keyring id). */
    char hex[768];
    const char *v3 = p(0, "ex3.srk"), *v2 = p(1, "ex2.srk"), *record = p(2, "seen/keyrings-seen");
    snprintf(hex, sizeof hex, "%s/example.hex", testdata);
    unhex_file(hex, v3);
    snprintf(hex, sizeof hex, "%s/example-v2.hex", testdata);
    unhex_file(hex, v2);
    strongroom_keyring *kr = NULL;
    EXPECT_OK(strongroom_keyring_open_recovery_key(v2, EX_RK, &kr));
    EXPECT_OK(strongroom_keyring_use_seen_record(kr, record)); /* not recorded: format 2 */
    strongroom_keyring_free(kr);
    kr = NULL;
    EXPECT_OK(strongroom_keyring_open_recovery_key(v3, EX_RK, &kr));
    EXPECT_OK(strongroom_keyring_use_seen_record(kr, record));
    strongroom_keyring_free(kr);
    kr = NULL;
    EXPECT_OK(strongroom_keyring_open_recovery_key(v2, EX_RK, &kr));
    EXPECT_STATUS(STRONGROOM_KEYRING_DOWNGRADED, strongroom_keyring_use_seen_record(kr, record));
    EXPECT_STATUS(STRONGROOM_NULL_ARGUMENT, strongroom_keyring_use_seen_record(NULL, record));
    strongroom_keyring_free(kr);
}

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: %s TESTDATA_KEYRING_DIR WORKDIR\n", argv[0]);
        return 2;
    }
    snprintf(dir, sizeof dir, "%s", argv[2]);
    test_examples(argv[1]);
    test_revocation_and_record();
    test_downgrade(argv[1]);
    EXPECT(strcmp(strongroom_status_name(STRONGROOM_KEYRING_NEEDS_UPGRADE), "KeyringNeedsUpgrade") == 0);
    EXPECT(strcmp(strongroom_status_name(STRONGROOM_KEYRING_ROLLED_BACK), "KeyringRolledBack") == 0);
    EXPECT(strcmp(strongroom_status_name(STRONGROOM_KEYRING_DOWNGRADED), "KeyringDowngraded") == 0);
    EXPECT(strcmp(strongroom_status_name(STRONGROOM_UNKNOWN_PROTECTOR_KIND), "UnknownProtectorKind") == 0);
    return check_done("test_keyring");
}
