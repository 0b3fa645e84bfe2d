/* No byte of a chunk reaches memory the caller can see before that chunk
 * authenticated: while a decryption that fails (a damaged chunk near the
 * end) runs on one thread, another thread watches the caller's output
 * buffer, and not one byte of it may change. Covers every C call that
 * decrypts into a caller's buffer (random-access reads, the memory
 * decryptor, field values) and checks that the callback stream hands over
 * nothing past the last authenticated chunk.
 *
 * Usage: test_no_early_plaintext WORKDIR (an empty folder). */
#include <pthread.h>
#include <sched.h>
#include <stdint.h>

#include "check.h"

#define CHUNK 16384
#define FILE_LEN (6 * 1024 * 1024 + 5000)
#define SENTINEL 0xEE
/* Stop repeating a call once the watcher made this many passes during calls. */
#define PASSES_WANTED 200
#define MAX_ATTEMPTS 200

static char dir[512];
static char pbuf[4][768];

static const char *p(int slot, const char *name) {
    snprintf(pbuf[slot], sizeof pbuf[slot], "%s/%s", dir, name);
    return pbuf[slot];
}

/* The watcher: while `active`, compares sampled bytes of `buf` with the
 * sentinel, counting passes and changes. */
typedef struct {
    volatile const unsigned char *buf;
    size_t len;
    volatile int active, stop;
    volatile long passes, changes;
} watch_t;

static void *watcher(void *arg) {
    watch_t *w = arg;
    while (!__atomic_load_n(&w->stop, __ATOMIC_ACQUIRE)) {
        if (!__atomic_load_n(&w->active, __ATOMIC_ACQUIRE)) {
            sched_yield();
            continue;
        }
        size_t step = w->len > 4096 ? 4096 : 1;
        long changed = 0;
        for (size_t i = 0; i < w->len; i += step) changed += w->buf[i] != SENTINEL;
        if (w->len > 0) changed += w->buf[w->len - 1] != SENTINEL;
        if (__atomic_load_n(&w->active, __ATOMIC_ACQUIRE)) {
            __atomic_add_fetch(&w->passes, 1, __ATOMIC_RELAXED);
            __atomic_add_fetch(&w->changes, changed, __ATOMIC_RELAXED);
        }
    }
    return NULL;
}

typedef strongroom_status (*call_fn)(void *ctx);

/* Runs `call` (which must fail with `want`) with the watcher on `buf`,
 * again and again until the watcher has looked often enough during the
 * calls; expects that it never saw a change. */
static void watch_failing_call(const char *what, unsigned char *buf, size_t len, call_fn call, void *ctx,
                               strongroom_status want) {
    watch_t w;
    memset(&w, 0, sizeof w);
    w.buf = buf;
    w.len = len;
    memset(buf, SENTINEL, len);
    pthread_t t;
    if (pthread_create(&t, NULL, watcher, &w) != 0) {
        fprintf(stderr, "pthread_create failed\n");
        exit(2);
    }
    int attempts = 0, wrong_status = 0;
    while (attempts < MAX_ATTEMPTS && __atomic_load_n(&w.passes, __ATOMIC_RELAXED) < PASSES_WANTED) {
        __atomic_store_n(&w.active, 1, __ATOMIC_RELEASE);
        strongroom_status s = call(ctx);
        __atomic_store_n(&w.active, 0, __ATOMIC_RELEASE);
        if (s != want) {
            fprintf(stderr, "%s: expected %s, got %s: %s\n", what, strongroom_status_name(want),
                    strongroom_status_name(s), check_last_error());
            wrong_status++;
            break;
        }
        attempts++;
    }
    __atomic_store_n(&w.stop, 1, __ATOMIC_RELEASE);
    pthread_join(t, NULL);
    size_t after = 0;
    for (size_t i = 0; i < len; i++) after += buf[i] != SENTINEL;
    printf("%s: %d failing calls, %ld watcher passes during them, %ld changed bytes seen, %zu after\n", what,
           attempts, w.passes, w.changes, after);
    EXPECT(wrong_status == 0);
    EXPECT(w.passes > 0);    /* the watcher did look while the calls ran */
    EXPECT(w.changes == 0);  /* and never saw a byte of the buffer change */
    EXPECT(after == 0);      /* nor is anything left there afterwards */
}

/* Random-access read over the damaged chunk. */
typedef struct {
    strongroom_reader *r;
    unsigned char *buf;
    size_t cap;
} read_ctx;

static strongroom_status read_call(void *c) {
    read_ctx *x = c;
    size_t n = 0;
    return strongroom_reader_read_at(x->r, 0, x->buf, x->cap, &n);
}

/* One memory-decryptor update with the whole damaged message. */
typedef struct {
    strongroom_keys *keys;
    const unsigned char *ct;
    size_t ct_len;
    unsigned char *buf;
    size_t cap;
} dec_ctx;

static strongroom_status dec_call(void *c) {
    dec_ctx *x = c;
    strongroom_decryptor *d = NULL;
    REQUIRE_OK(strongroom_decryptor_new(x->keys, &d));
    size_t n = 0;
    strongroom_status s = strongroom_decryptor_update(d, x->ct, x->ct_len, x->buf, x->cap, &n);
    if (s == STRONGROOM_OK) s = strongroom_decryptor_finish(d, x->buf, x->cap, &n);
    strongroom_decryptor_free(d);
    return s;
}

/* A damaged field token, in binary and text form. */
typedef struct {
    strongroom_field_cipher *c;
    const uint8_t *tok;
    size_t tok_len;
    const char *text;
    size_t text_len;
    unsigned char *buf;
    size_t cap;
} field_ctx;

static strongroom_status field_call(void *c) {
    field_ctx *x = c;
    size_t n = 0;
    bool is_null = false;
    strongroom_status s = strongroom_field_decrypt(x->c, x->tok, x->tok_len, (const uint8_t *)"row", 3, x->buf, x->cap, &n, &is_null);
    if (s != STRONGROOM_FIELD_AUTH_FAILED) return s;
    return strongroom_field_decrypt_text(x->c, x->text, x->text_len, (const uint8_t *)"row", 3, x->buf, x->cap, &n, &is_null);
}

/* The callback stream: what the write callback receives. */
typedef struct {
    const unsigned char *data;
    size_t len, pos;
} src_t;
typedef struct {
    const unsigned char *plain;
    size_t got;
    int mismatch;
} sink_t;

static int64_t read_cb(void *ud, uint8_t *buf, size_t len) {
    src_t *s = ud;
    size_t n = s->len - s->pos;
    if (n > len) n = len;
    memcpy(buf, s->data + s->pos, n);
    s->pos += n;
    return (int64_t)n;
}

static int32_t write_cb(void *ud, const uint8_t *buf, size_t len) {
    sink_t *s = ud;
    if (memcmp(buf, s->plain + s->got, len) != 0) s->mismatch = 1;
    s->got += len;
    return 0;
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: %s WORKDIR\n", argv[0]);
        return 2;
    }
    snprintf(dir, sizeof dir, "%s", argv[1]);
    strongroom_kdf_params kdf = fast_kdf();
    strongroom_keyring *kr = NULL;
    REQUIRE_OK(strongroom_keyring_create(p(0, "k.srk"), (const uint8_t *)"watch pass", 10, &kdf, &kr));
    strongroom_keys keys;
    memset(&keys, 0, sizeof keys);
    keys.keyring = kr;

    /* A file whose chunk `bad` (near the end) is damaged. */
    unsigned char *plain = malloc(FILE_LEN);
    fill_pattern(plain, FILE_LEN, 9);
    REQUIRE_OK(write_all(p(1, "plain"), plain, FILE_LEN) == 0 ? STRONGROOM_OK : STRONGROOM_IO);
    REQUIRE_OK(strongroom_file_encrypt(p(1, "plain"), p(2, "plain.srf"), &keys, NULL));
    size_t ct_len = 0;
    unsigned char *ct = read_all(p(2, "plain.srf"), &ct_len);
    const size_t chunks = FILE_LEN / CHUNK + 1;
    const size_t bad = chunks - 3;
    /* Counted from the end: the short final chunk, then full chunks of
     * CHUNK + 16 bytes; a byte in the middle of chunk `bad`. */
    const size_t final_len = FILE_LEN % CHUNK + 16;
    const size_t bad_end = ct_len - final_len - (chunks - 2 - bad) * (CHUNK + 16);
    ct[bad_end - CHUNK / 2] ^= 0x01;
    REQUIRE_OK(write_all(p(3, "bad.srf"), ct, ct_len) == 0 ? STRONGROOM_OK : STRONGROOM_IO);

    /* Random access: 8 MiB from offset 0 runs into the damaged chunk. */
    strongroom_reader *r = NULL;
    REQUIRE_OK(strongroom_reader_open(p(3, "bad.srf"), &keys, &r));
    read_ctx rc = {r, malloc(8 << 20), 8 << 20};
    {
        /* The chunk is where the test thinks it is. */
        size_t n = 0;
        unsigned char probe[100];
        EXPECT_OK(strongroom_reader_read_at(r, (uint64_t)(bad - 1) * CHUNK, probe, sizeof probe, &n));
        EXPECT(n == sizeof probe && memcmp(probe, plain + (bad - 1) * CHUNK, n) == 0);
        EXPECT_STATUS(STRONGROOM_CHUNK_AUTH_FAILED, strongroom_reader_read_at(r, (uint64_t)bad * CHUNK, probe, sizeof probe, &n));
    }
    watch_failing_call("reader_read_at", rc.buf, rc.cap, read_call, &rc, STRONGROOM_CHUNK_AUTH_FAILED);
    strongroom_reader_free(r);
    free(rc.buf);

    /* Memory decryptor: the whole damaged message in one update. */
    strongroom_decryptor *d0 = NULL;
    size_t cap = 0;
    REQUIRE_OK(strongroom_decryptor_new(&keys, &d0));
    REQUIRE_OK(strongroom_decryptor_bound(d0, ct_len, &cap));
    strongroom_decryptor_free(d0);
    dec_ctx dc = {&keys, ct, ct_len, malloc(cap), cap};
    watch_failing_call("decryptor_update", dc.buf, dc.cap, dec_call, &dc, STRONGROOM_CHUNK_AUTH_FAILED);
    free(dc.buf);

    /* Callback stream: the write callback gets authenticated plaintext
     * only, none of the damaged chunk or after it. */
    src_t in = {ct, ct_len, 0};
    sink_t out = {plain, 0, 0};
    EXPECT_STATUS(STRONGROOM_CHUNK_AUTH_FAILED, strongroom_stream_decrypt(&keys, read_cb, &in, write_cb, &out));
    EXPECT(out.mismatch == 0 && out.got <= bad * CHUNK);

    /* Field values: a damaged token of a large value (so that a call lasts
     * long enough for the watcher to look), binary and text. */
    strongroom_column_spec spec;
    memset(&spec, 0, sizeof spec);
    spec.value_type = STRONGROOM_TYPE_BYTES;
    spec.mode = STRONGROOM_MODE_RANDOM;
    strongroom_field_cipher *fc = NULL;
    REQUIRE_OK(strongroom_field_cipher_new(kr, "t", "c", &spec, &fc));
    const size_t vlen = 4 << 20;
    size_t tcap = 0, xcap = 0;
    REQUIRE_OK(strongroom_field_token_bound(fc, vlen, &tcap));
    REQUIRE_OK(strongroom_field_token_text_bound(fc, vlen, &xcap));
    uint8_t *tok = malloc(tcap);
    char *text = malloc(xcap);
    size_t tl = 0;
    REQUIRE_OK(strongroom_field_encrypt(fc, plain, vlen, (const uint8_t *)"row", 3, tok, tcap, &tl));
    tok[tl - 20] ^= 0x80;
    size_t txl = 0;
    REQUIRE_OK(strongroom_token_to_text(tok, tl, text, xcap, &txl));
    field_ctx fx = {fc, tok, tl, text, txl, malloc(vlen), vlen};
    watch_failing_call("field_decrypt", fx.buf, fx.cap, field_call, &fx, STRONGROOM_FIELD_AUTH_FAILED);
    free(fx.buf);
    free(tok);
    free(text);
    strongroom_field_cipher_free(fc);

    free(ct);
    free(plain);
    strongroom_keyring_free(kr);
    return check_done("test_no_early_plaintext");
}
