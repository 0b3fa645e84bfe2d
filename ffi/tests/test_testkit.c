/* Every case of the testkit manifest (testdata/testkit/manifest.json)
 * through the C API, each with its expected status: whole-file decryption
 * (which must leave no output on failure), callback-stream decryption and
 * the memory decryptor.
 *
 * Usage: test_testkit TESTKIT_DIR CASES_FILE WORKDIR
 * CASES_FILE has one line per case, "file opener ExpectedStatusName"
 * (scripts/test-c.sh writes it from manifest.json; "ok" means success). */
#include <stdint.h>

#include "check.h"

typedef struct { const unsigned char *d; size_t len, pos; } rd_t;
typedef struct { size_t len; } wr_t;

static int64_t rd(void *ud, uint8_t *buf, size_t len) {
    rd_t *r = ud;
    size_t n = r->len - r->pos;
    if (n > len) n = len;
    if (n > 4000) n = 4000; /* small reads: exercise the reader's buffering */
    if (n) memcpy(buf, r->d + r->pos, n);
    r->pos += n;
    return (int64_t)n;
}
static int32_t wr(void *ud, const uint8_t *buf, size_t len) {
    (void)buf;
    ((wr_t *)ud)->len += len;
    return 0;
}

/* The memory decryptor over the whole input in 1000-byte pieces. */
static strongroom_status memory_decrypt(const strongroom_keys *k, const unsigned char *d, size_t len, size_t *plain) {
    strongroom_decryptor *dec = NULL;
    strongroom_status s = strongroom_decryptor_new(k, &dec);
    if (s) return s;
    *plain = 0;
    for (size_t off = 0; off <= len && s == STRONGROOM_OK; off += 1000) {
        size_t n = len - off < 1000 ? len - off : 1000, cap = 0, got = 0;
        int last = off + n >= len;
        s = strongroom_decryptor_bound(dec, last ? 0 : n, &cap);
        if (s) break;
        if (!last || n) {
            size_t c2 = 0;
            s = strongroom_decryptor_bound(dec, n, &c2);
            if (s) break;
            if (c2 > cap) cap = c2;
        }
        unsigned char *buf = malloc(cap ? cap : 1);
        if (n) s = strongroom_decryptor_update(dec, d + off, n, buf, cap, &got);
        if (s == STRONGROOM_OK) *plain += got;
        if (s == STRONGROOM_OK && last) {
            size_t c3 = 0;
            s = strongroom_decryptor_bound(dec, 0, &c3);
            if (!s) {
                unsigned char *b3 = realloc(buf, c3 ? c3 : 1);
                if (b3) buf = b3;
                s = strongroom_decryptor_finish(dec, buf, c3, &got);
                if (!s) *plain += got;
            }
            free(buf);
            break;
        }
        free(buf);
    }
    strongroom_decryptor_free(dec);
    return s;
}

int main(int argc, char **argv) {
    if (argc != 4) {
        fprintf(stderr, "usage: %s TESTKIT_DIR CASES_FILE WORKDIR\n", argv[0]);
        return 2;
    }
    const char *kit = argv[1], *work = argv[3];
    char path[1024], out[1024];
    const char *kpass = "testkit keyring passphrase";
    strongroom_keyring *kr = NULL, *other = NULL;
    snprintf(path, sizeof path, "%s/keyring.srk", kit);
    REQUIRE_OK(strongroom_keyring_open_passphrase(path, (const uint8_t *)kpass, strlen(kpass), &kr));
    snprintf(path, sizeof path, "%s/other.srk", kit);
    REQUIRE_OK(strongroom_keyring_open_passphrase(path, (const uint8_t *)kpass, strlen(kpass), &other));

    FILE *cases = fopen(argv[2], "r");
    if (!cases) {
        perror(argv[2]);
        return 2;
    }
    char file[256], opener[64], expect[64];
    int n = 0;
    while (fscanf(cases, "%255s %63s %63s", file, opener, expect) == 3) {
        n++;
        strongroom_keys k;
        memset(&k, 0, sizeof k);
        if (strcmp(opener, "keyring") == 0) {
            k.keyring = kr;
        } else if (strcmp(opener, "other-keyring") == 0) {
            k.keyring = other;
        } else if (strcmp(opener, "passphrase") == 0) {
            k.passphrase = (const uint8_t *)"testkit file passphrase";
            k.passphrase_len = strlen("testkit file passphrase");
        } else if (strcmp(opener, "wrong-passphrase") == 0) {
            k.passphrase = (const uint8_t *)"not the testkit passphrase";
            k.passphrase_len = strlen("not the testkit passphrase");
        } else {
            fprintf(stderr, "unknown opener %s\n", opener);
            return 2;
        }
        const char *want = strcmp(expect, "ok") == 0 ? "OK" : expect;
        snprintf(path, sizeof path, "%s/%s", kit, file);
        snprintf(out, sizeof out, "%s/%s.out", work, file);

        /* Whole file: the status, and no output unless it succeeded. */
        uint64_t plain = 0;
        strongroom_status s = strongroom_file_decrypt(path, out, &k, NULL, &plain);
        check_count++;
        if (strcmp(strongroom_status_name(s), want) != 0) {
            check_failures++;
            fprintf(stderr, "%s (file): expected %s, got %s: %s\n", file, want, strongroom_status_name(s),
                    s ? check_last_error() : "");
        }
        EXPECT(s == STRONGROOM_OK ? (file_exists(out) && plain == 40000) : !file_exists(out));
        unlink(out);

        /* Callback stream: the same status. */
        size_t len = 0;
        unsigned char *data = read_all(path, &len);
        rd_t r = {data, len, 0};
        wr_t w = {0};
        s = strongroom_stream_decrypt(&k, rd, &r, wr, &w);
        check_count++;
        if (strcmp(strongroom_status_name(s), want) != 0) {
            check_failures++;
            fprintf(stderr, "%s (stream): expected %s, got %s: %s\n", file, want, strongroom_status_name(s),
                    s ? check_last_error() : "");
        }
        EXPECT(s != STRONGROOM_OK || w.len == 40000);

        /* Memory decryptor: the same status. */
        size_t mplain = 0;
        s = memory_decrypt(&k, data, len, &mplain);
        check_count++;
        if (strcmp(strongroom_status_name(s), want) != 0) {
            check_failures++;
            fprintf(stderr, "%s (memory): expected %s, got %s: %s\n", file, want, strongroom_status_name(s),
                    s ? check_last_error() : "");
        }
        EXPECT(s != STRONGROOM_OK || mplain == 40000);
        free(data);
    }
    fclose(cases);
    EXPECT(n >= 50);
    strongroom_keyring_free(kr);
    strongroom_keyring_free(other);
    return check_done("test_testkit");
}
