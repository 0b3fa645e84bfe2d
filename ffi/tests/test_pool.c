/* The library's worker threads: STRONGROOM_THREADS (read once, when the
 * size is first needed), strongroom_set_threads (for calls that start
 * afterwards; 0 = the default again) and strongroom_threads, observed in
 * the process's thread list (/proc/self/task/<tid>/comm: the pool's
 * threads are named "strongroom-<n>"). Its own program: the pool is
 * process-wide. Usage: test_pool WORKDIR (an empty folder). */
#include <dirent.h>
#include <stdint.h>
#include <time.h>

#include "check.h"

static char dir[512];

/* Threads of this process named like the pool's workers. */
static int count_workers(void) {
    DIR *d = opendir("/proc/self/task");
    if (!d) return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.') continue;
        char path[300], comm[64] = {0};
        snprintf(path, sizeof path, "/proc/self/task/%s/comm", e->d_name);
        FILE *f = fopen(path, "r");
        if (!f) continue; /* the thread exited meanwhile */
        if (fgets(comm, sizeof comm, f) && strncmp(comm, "strongroom-", 11) == 0) n++;
        fclose(f);
    }
    closedir(d);
    return n;
}

/* Waits (up to a minute: valgrind is slow) until exactly `want` workers
 * exist; the threads of a replaced pool exit once it is idle. */
static int wait_for_workers(int want) {
    for (int i = 0; i < 6000; i++) {
        if (count_workers() == want) return 1;
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    fprintf(stderr, "%d worker threads, expected %d\n", count_workers(), want);
    return 0;
}

/* A batch large enough to go parallel, checked value by value. */
static void batch_round_trip(strongroom_field_cipher *c) {
    enum { N = 5000 };
    static strongroom_item items[N];
    static char vals[N][16];
    for (size_t i = 0; i < N; i++) {
        int n = snprintf(vals[i], sizeof vals[i], "v%zu", i);
        items[i].data = (const uint8_t *)vals[i];
        items[i].len = (size_t)n;
        items[i].is_null = false;
    }
    strongroom_field_results *enc = NULL, *dec = NULL;
    REQUIRE_OK(strongroom_field_encrypt_batch(c, items, N, NULL, &enc, NULL));
    static strongroom_item toks[N];
    for (size_t i = 0; i < N; i++) {
        bool nul;
        strongroom_status st;
        REQUIRE_OK(strongroom_field_results_get(enc, i, &toks[i].data, &toks[i].len, &nul, &st));
        toks[i].is_null = false;
    }
    REQUIRE_OK(strongroom_field_decrypt_batch(c, toks, N, NULL, &dec));
    size_t good = 0;
    for (size_t i = 0; i < N; i++) {
        const uint8_t *d;
        size_t dl;
        bool nul;
        strongroom_status st;
        REQUIRE_OK(strongroom_field_results_get(dec, i, &d, &dl, &nul, &st));
        good += st == STRONGROOM_OK && dl == items[i].len && memcmp(d, items[i].data, dl) == 0;
    }
    EXPECT(good == N);
    strongroom_field_results_free(dec);
    strongroom_field_results_free(enc);
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: %s WORKDIR\n", argv[0]);
        return 2;
    }
    snprintf(dir, sizeof dir, "%s", argv[1]);
    /* Before the library first needs the size. */
    setenv("STRONGROOM_THREADS", "3", 1);
    unsetenv("RAYON_NUM_THREADS");

    size_t n = 0;
    EXPECT_OK(strongroom_threads(&n));
    EXPECT(n == 3);
    EXPECT(count_workers() == 0); /* nothing started yet */
    EXPECT_STATUS(STRONGROOM_NULL_ARGUMENT, strongroom_threads(NULL));

    char path[600];
    snprintf(path, sizeof path, "%s/pool.srk", dir);
    strongroom_kdf_params kdf = fast_kdf();
    strongroom_keyring *kr = NULL;
    REQUIRE_OK(strongroom_keyring_create(path, (const uint8_t *)"pool pass", 9, &kdf, &kr));
    strongroom_column_spec spec;
    memset(&spec, 0, sizeof spec);
    spec.value_type = STRONGROOM_TYPE_TEXT;
    spec.mode = STRONGROOM_MODE_RANDOM;
    strongroom_field_cipher *c = NULL;
    REQUIRE_OK(strongroom_field_cipher_new(kr, "t", "c", &spec, &c));

    /* The environment's size. */
    batch_round_trip(c);
    EXPECT(wait_for_workers(3));

    /* Single-threaded: one worker does everything. */
    EXPECT_OK(strongroom_set_threads(1));
    EXPECT_OK(strongroom_threads(&n));
    EXPECT(n == 1);
    batch_round_trip(c);
    EXPECT(wait_for_workers(1));

    /* Refused: more than 1024; nothing changes. */
    EXPECT_STATUS(STRONGROOM_INVALID_ARGUMENT, strongroom_set_threads(1025));
    EXPECT(strstr(check_last_error(), "1025") != NULL);
    EXPECT_OK(strongroom_threads(&n));
    EXPECT(n == 1);

    /* Grow; whole files run on the new pool too. */
    EXPECT_OK(strongroom_set_threads(2));
    char plain[600], enc[600], out[600];
    snprintf(plain, sizeof plain, "%s/plain", dir);
    snprintf(enc, sizeof enc, "%s/plain.srf", dir);
    snprintf(out, sizeof out, "%s/plain.out", dir);
    const size_t len = 3 * 1024 * 1024 + 11;
    unsigned char *data = malloc(len);
    fill_pattern(data, len, 5);
    REQUIRE_OK(write_all(plain, data, len) == 0 ? STRONGROOM_OK : STRONGROOM_IO);
    strongroom_keys keys;
    memset(&keys, 0, sizeof keys);
    keys.keyring = kr;
    EXPECT_OK(strongroom_file_encrypt(plain, enc, &keys, NULL));
    EXPECT_OK(strongroom_file_decrypt(enc, out, &keys, NULL, NULL));
    size_t back_len = 0;
    unsigned char *back = read_all(out, &back_len);
    EXPECT(back && back_len == len && memcmp(back, data, len) == 0);
    free(back);
    free(data);
    EXPECT(wait_for_workers(2));

    /* 0: back to the default (the environment, read once: still 3). */
    EXPECT_OK(strongroom_set_threads(0));
    EXPECT_OK(strongroom_threads(&n));
    EXPECT(n == 3);
    batch_round_trip(c);
    EXPECT(wait_for_workers(3));

    strongroom_field_cipher_free(c);
    strongroom_keyring_free(kr);
    return check_done("test_pool");
}
