/* encrypt_file: a small command-line file encryptor on libstrongroom.
 *
 *   encrypt_file encrypt IN OUT [--keyring PATH] [--passphrase] [--force]
 *   encrypt_file decrypt IN OUT [--keyring PATH] [--passphrase] [--force]
 *
 * Secrets come from the environment, never from the command line:
 *   STRONGROOM_KEYRING_PASSPHRASE  unlocks the keyring given with --keyring
 *   STRONGROOM_PASSPHRASE          the file passphrase (with --passphrase)
 * Argon2id cost of a new passphrase stanza: --argon2-memory-mib M
 * (default 64), --argon2-time T (3), --argon2-lanes P (4).
 *
 * Prints progress on stderr; the exit status is 0 on success, else the
 * hundred's class of the status (2 usage, 3 I/O, 4 format, 5 integrity,
 * 6 key, 7 conflict, 8 cancelled; 1 for a bug).
 *
 * Build: cc encrypt_file.c $(pkg-config --cflags --libs strongroom) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <strongroom.h>

static int fail(const char *what, strongroom_status s) {
    char msg[1024];
    size_t need = 0;
    if (strongroom_last_error(msg, sizeof msg, &need) != STRONGROOM_OK) {
        snprintf(msg, sizeof msg, "%s", strongroom_status_message(s));
    }
    fprintf(stderr, "encrypt_file: %s: %s (%s, %u)\n", what, msg, strongroom_status_name(s), (unsigned)s);
    unsigned class = s / 100;
    return class >= 2 && class <= 8 ? (int)class : 1;
}

static int32_t progress(uint64_t done, uint64_t total, void *user_data) {
    (void)user_data;
    if (total > 0) fprintf(stderr, "\r%3u%%", (unsigned)(done * 100 / total));
    if (done == total) fprintf(stderr, "\n");
    return 0; /* non-zero would cancel */
}

static int usage(void) {
    fprintf(stderr, "usage: encrypt_file encrypt|decrypt IN OUT [--keyring PATH] [--passphrase] [--force]\n"
                    "       [--argon2-memory-mib M] [--argon2-time T] [--argon2-lanes P]\n");
    return 2;
}

int main(int argc, char **argv) {
    if (argc < 4) return usage();
    const char *cmd = argv[1], *in = argv[2], *out = argv[3], *keyring_path = NULL;
    int use_pass = 0, force = 0;
    strongroom_kdf_params kdf = strongroom_kdf_params_default();
    for (int i = 4; i < argc; i++) {
        if (strcmp(argv[i], "--keyring") == 0 && i + 1 < argc) keyring_path = argv[++i];
        else if (strcmp(argv[i], "--passphrase") == 0) use_pass = 1;
        else if (strcmp(argv[i], "--force") == 0) force = 1;
        else if (strcmp(argv[i], "--argon2-memory-mib") == 0 && i + 1 < argc) kdf.memory_kib = (uint32_t)strtoul(argv[++i], NULL, 10) * 1024;
        else if (strcmp(argv[i], "--argon2-time") == 0 && i + 1 < argc) kdf.iterations = (uint32_t)strtoul(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--argon2-lanes") == 0 && i + 1 < argc) kdf.parallelism = (uint32_t)strtoul(argv[++i], NULL, 10);
        else return usage();
    }
    if (!keyring_path && !use_pass) {
        fprintf(stderr, "encrypt_file: give --keyring PATH, --passphrase, or both\n");
        return 2;
    }

    strongroom_keyring *kr = NULL;
    strongroom_status s;
    if (keyring_path) {
        s = strongroom_keyring_open_secret_env(keyring_path, STRONGROOM_SECRET_PASSPHRASE,
                                               "STRONGROOM_KEYRING_PASSPHRASE", &kr);
        if (s != STRONGROOM_OK) return fail("opening the keyring", s);
    }
    strongroom_keys keys;
    memset(&keys, 0, sizeof keys);
    keys.keyring = kr;
    keys.kdf = kdf;
    if (use_pass) {
        const char *p = getenv("STRONGROOM_PASSPHRASE");
        if (!p) {
            fprintf(stderr, "encrypt_file: set STRONGROOM_PASSPHRASE\n");
            strongroom_keyring_free(kr);
            return 2;
        }
        keys.passphrase = (const uint8_t *)p;
        keys.passphrase_len = strlen(p);
    }
    strongroom_file_options opts;
    memset(&opts, 0, sizeof opts);
    opts.overwrite = force;
    opts.progress = progress;

    int rc = 0;
    if (strcmp(cmd, "encrypt") == 0) {
        s = strongroom_file_encrypt(in, out, &keys, &opts);
        if (s != STRONGROOM_OK) rc = fail("encrypting", s);
    } else if (strcmp(cmd, "decrypt") == 0) {
        uint64_t n = 0;
        s = strongroom_file_decrypt(in, out, &keys, &opts, &n);
        if (s != STRONGROOM_OK) rc = fail("decrypting", s);
        else fprintf(stderr, "%llu bytes decrypted\n", (unsigned long long)n);
    } else {
        rc = usage();
    }
    strongroom_keyring_free(kr);
    return rc;
}
