/* Test helper: creates a keyring with the cheapest Argon2id cost (for the
 * examples and the command-line checks of scripts/test-c.sh).
 * Usage: make_keyring PATH PASSPHRASE */
#include <stdio.h>
#include <string.h>

#include <strongroom.h>

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: make_keyring PATH PASSPHRASE\n");
        return 2;
    }
    strongroom_kdf_params kdf = {8192, 1, 1};
    strongroom_keyring *kr = NULL;
    strongroom_status s = strongroom_keyring_create(argv[1], (const uint8_t *)argv[2], strlen(argv[2]), &kdf, &kr);
    if (s != STRONGROOM_OK) {
        fprintf(stderr, "make_keyring: %s\n", strongroom_status_name(s));
        return 1;
    }
    strongroom_keyring_free(kr);
    return 0;
}
