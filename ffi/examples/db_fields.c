/* db_fields: encrypts two columns of a SQLite table through libstrongroom,
 * then finds a row by the blind index of its e-mail address.
 *
 *   db_fields DATABASE KEYRING      (keyring passphrase in STRONGROOM_KEYRING_PASSPHRASE)
 *
 * The table `people(id, email, phone)` starts in plaintext. The program
 * adds `email_token` (random mode, bound to the row id, with an 8-byte
 * blind index in `email_idx`) and `phone_token` (deterministic: equal
 * numbers give equal tokens), fills them with one batch call per column,
 * wipes the plaintext columns, and looks up "Carol@Example.com" (the index
 * is case- and space-insensitive) with `WHERE email_idx = ?`.
 *
 * Build: cc db_fields.c $(pkg-config --cflags --libs strongroom sqlite3) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>
#include <strongroom.h>

static int die_sr(const char *what, strongroom_status s) {
    char msg[1024];
    size_t need;
    if (strongroom_last_error(msg, sizeof msg, &need) != STRONGROOM_OK) msg[0] = 0;
    fprintf(stderr, "db_fields: %s: %s (%s)\n", what, msg, strongroom_status_name(s));
    exit(1);
}

static void die_db(sqlite3 *db, const char *what) {
    fprintf(stderr, "db_fields: %s: %s\n", what, sqlite3_errmsg(db));
    exit(1);
}

#define SR(what, call)                                \
    do {                                              \
        strongroom_status s_ = (call);                \
        if (s_ != STRONGROOM_OK) die_sr((what), s_);  \
    } while (0)

static void exec(sqlite3 *db, const char *sql) {
    char *err = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK) {
        fprintf(stderr, "db_fields: %s: %s\n", sql, err);
        sqlite3_free(err);
        exit(1);
    }
}

#define ROWS 5
static const char *emails[ROWS] = {"alice@example.com", "bob@example.com", "carol@example.com", NULL, "dave@example.com"};
static const char *phones[ROWS] = {"5550100", "5550101", "5550102", "5550103", "5550100"};

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: db_fields DATABASE KEYRING\n");
        return 2;
    }
    sqlite3 *db = NULL;
    if (sqlite3_open(argv[1], &db) != SQLITE_OK) die_db(db, "open");
    strongroom_keyring *kr = NULL;
    SR("opening the keyring",
       strongroom_keyring_open_secret_env(argv[2], STRONGROOM_SECRET_PASSPHRASE, "STRONGROOM_KEYRING_PASSPHRASE", &kr));

    /* The plaintext table, as an application would have it. */
    exec(db, "DROP TABLE IF EXISTS people;"
             "CREATE TABLE people (id INTEGER PRIMARY KEY, email TEXT, phone TEXT,"
             " email_token BLOB, email_idx BLOB, phone_token BLOB);");
    sqlite3_stmt *ins;
    if (sqlite3_prepare_v2(db, "INSERT INTO people (id, email, phone) VALUES (?, ?, ?)", -1, &ins, NULL)) die_db(db, "prepare");
    for (int i = 0; i < ROWS; i++) {
        sqlite3_bind_int(ins, 1, i + 1);
        if (emails[i]) sqlite3_bind_text(ins, 2, emails[i], -1, SQLITE_STATIC);
        else sqlite3_bind_null(ins, 2);
        sqlite3_bind_text(ins, 3, phones[i], -1, SQLITE_STATIC);
        if (sqlite3_step(ins) != SQLITE_DONE) die_db(db, "insert");
        sqlite3_reset(ins);
    }
    sqlite3_finalize(ins);

    /* One cipher per column. */
    strongroom_column_spec email_spec;
    memset(&email_spec, 0, sizeof email_spec);
    email_spec.value_type = STRONGROOM_TYPE_TEXT;
    email_spec.mode = STRONGROOM_MODE_RANDOM;
    email_spec.blind_index_len = 8;
    email_spec.normalizer = STRONGROOM_NORMALIZE_TRIM_LOWERCASE;
    strongroom_column_spec phone_spec;
    memset(&phone_spec, 0, sizeof phone_spec);
    phone_spec.value_type = STRONGROOM_TYPE_INT;
    phone_spec.mode = STRONGROOM_MODE_DETERMINISTIC;
    strongroom_field_cipher *email = NULL, *phone = NULL;
    SR("email cipher", strongroom_field_cipher_new(kr, "people", "email", &email_spec, &email));
    SR("phone cipher", strongroom_field_cipher_new(kr, "people", "phone", &phone_spec, &phone));

    /* Read the plaintext, encrypt both columns in batches, write back. */
    strongroom_item ev[ROWS], pv[ROWS];
    strongroom_slice rows[ROWS];
    char ids[ROWS][16];
    for (int i = 0; i < ROWS; i++) {
        ev[i].data = (const uint8_t *)(emails[i] ? emails[i] : "");
        ev[i].len = emails[i] ? strlen(emails[i]) : 0;
        ev[i].is_null = emails[i] == NULL;
        pv[i].data = (const uint8_t *)phones[i];
        pv[i].len = strlen(phones[i]);
        pv[i].is_null = false;
        int n = snprintf(ids[i], sizeof ids[i], "%d", i + 1); /* the row key: the primary key */
        rows[i].data = (const uint8_t *)ids[i];
        rows[i].len = (size_t)n;
    }
    strongroom_field_results *etok = NULL, *eidx = NULL, *ptok = NULL;
    size_t bad = 0;
    SR("encrypting emails", strongroom_field_encrypt_batch(email, ev, ROWS, rows, &etok, &bad));
    SR("indexing emails", strongroom_field_index_batch(email, ev, ROWS, &eidx, &bad));
    SR("encrypting phones", strongroom_field_encrypt_batch(phone, pv, ROWS, NULL, &ptok, &bad));
    exec(db, "BEGIN");
    sqlite3_stmt *up;
    if (sqlite3_prepare_v2(db, "UPDATE people SET email = NULL, phone = NULL, email_token = ?, email_idx = ?, phone_token = ? WHERE id = ?", -1, &up, NULL)) die_db(db, "prepare");
    for (int i = 0; i < ROWS; i++) {
        const uint8_t *d;
        size_t len;
        bool is_null;
        strongroom_status st;
        strongroom_field_results *cols[3] = {etok, eidx, ptok};
        for (int c = 0; c < 3; c++) {
            SR("reading a result", strongroom_field_results_get(cols[c], (size_t)i, &d, &len, &is_null, &st));
            if (is_null) sqlite3_bind_null(up, c + 1);
            else sqlite3_bind_blob(up, c + 1, d, (int)len, SQLITE_TRANSIENT);
        }
        sqlite3_bind_int(up, 4, i + 1);
        if (sqlite3_step(up) != SQLITE_DONE) die_db(db, "update");
        sqlite3_reset(up);
    }
    sqlite3_finalize(up);
    exec(db, "COMMIT");
    strongroom_field_results_free(etok);
    strongroom_field_results_free(eidx);
    strongroom_field_results_free(ptok);

    /* Look a row up by the blind index of a differently written address. */
    const char *wanted = "  Carol@Example.com ";
    uint8_t idx[32];
    size_t idx_len = 0;
    SR("index of the search term", strongroom_field_index(email, (const uint8_t *)wanted, strlen(wanted), idx, sizeof idx, &idx_len));
    sqlite3_stmt *q;
    if (sqlite3_prepare_v2(db, "SELECT id, email_token, phone_token FROM people WHERE email_idx = ?", -1, &q, NULL)) die_db(db, "prepare");
    sqlite3_bind_blob(q, 1, idx, (int)idx_len, SQLITE_STATIC);
    int found = 0;
    while (sqlite3_step(q) == SQLITE_ROW) {
        int id = sqlite3_column_int(q, 0);
        char row[16];
        int rl = snprintf(row, sizeof row, "%d", id);
        uint8_t plain[256];
        size_t pl = 0;
        bool is_null;
        /* Candidates share an index term; the decryption confirms the match. */
        SR("decrypting the email",
           strongroom_field_decrypt(email, sqlite3_column_blob(q, 1), (size_t)sqlite3_column_bytes(q, 1),
                                    (const uint8_t *)row, (size_t)rl, plain, sizeof plain, &pl, &is_null));
        printf("row %d: email %.*s", id, (int)pl, (const char *)plain);
        SR("decrypting the phone",
           strongroom_field_decrypt(phone, sqlite3_column_blob(q, 2), (size_t)sqlite3_column_bytes(q, 2), NULL, 0,
                                    plain, sizeof plain, &pl, &is_null));
        printf(", phone %.*s\n", (int)pl, (const char *)plain);
        if (id == 3 && pl == 7 && memcmp(plain, "5550102", 7) == 0) found = 1;
    }
    sqlite3_finalize(q);

    /* Deterministic tokens: equal phone numbers share a token. */
    sqlite3_stmt *dup;
    if (sqlite3_prepare_v2(db, "SELECT COUNT(*) FROM people a JOIN people b ON a.phone_token = b.phone_token AND a.id < b.id", -1, &dup, NULL)) die_db(db, "prepare");
    int same = sqlite3_step(dup) == SQLITE_ROW ? sqlite3_column_int(dup, 0) : -1;
    sqlite3_finalize(dup);
    printf("rows sharing a phone number: %d pair(s)\n", same);

    /* Moving a token to another row is detected. */
    sqlite3_stmt *mv;
    if (sqlite3_prepare_v2(db, "SELECT email_token FROM people WHERE id = 1", -1, &mv, NULL)) die_db(db, "prepare");
    int moved_detected = 0;
    if (sqlite3_step(mv) == SQLITE_ROW) {
        uint8_t plain[256];
        size_t pl;
        bool is_null;
        strongroom_status s = strongroom_field_decrypt(email, sqlite3_column_blob(mv, 0), (size_t)sqlite3_column_bytes(mv, 0),
                                                       (const uint8_t *)"2", 1, plain, sizeof plain, &pl, &is_null);
        moved_detected = s == STRONGROOM_FIELD_AUTH_FAILED;
    }
    sqlite3_finalize(mv);
    printf("row 1's token read as row 2: %s\n", moved_detected ? "refused (FieldAuthFailed)" : "ACCEPTED");

    strongroom_field_cipher_free(email);
    strongroom_field_cipher_free(phone);
    strongroom_keyring_free(kr);
    sqlite3_close(db);
    if (!found || same != 1 || !moved_detected) {
        fprintf(stderr, "db_fields: unexpected result\n");
        return 1;
    }
    printf("found row 3 by its blind index\n");
    return 0;
}
