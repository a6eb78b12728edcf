/* libFuzzer target: whatever text a journal file holds (core/journal.c),
 * the parser reads a whole journal or refuses it: no crash, no leak, no
 * abort. The parser is static, so this file includes journal.c itself (the
 * harness links none of cs_core's journal.o) and calls parse() as recovery
 * does, on the bytes cs_file_read returns (NUL-terminated). Recovery itself
 * renames and unlinks the paths a journal names: not something to run on
 * fuzzed paths. With CS_FUZZ_SEEDS=dir, journals as cs_journal_stage writes
 * them go there. Build with -DCS_FUZZ=ON and CC=clang; see
 * tests/fuzz/README.md. */
#include "../../core/journal.c"

#include "fuzz_common.h"

static void seeds(const char *dir)
{
    static const char *const texts[] = {
        MAGIC "\nserial 3F09A1\nissuer C=SE, O=Simple Inc, CN=Simple Intermediate CA\n"
              "file 0 644 /ca/certs/x.pem.tmp-0a1b\t/ca/certs/x.pem\n"
              "file 1 600 /ca/keys/x.key.tmp-0a1b\t/ca/keys/x.key\nend\n",
        MAGIC "\nserial 01\nissuer CN=a\nend\n",
        MAGIC "\nissuer CN=a\tb\nserial 7F\nfile 1 0777 a\tb\nfile 0 0 \t\nend\n",
        /* a build that moves a key to a token: the old form's file goes */
        MAGIC "\nmark 5c1e\nfile 1 644 /ca/root.key.uri.tmp-0a1b\t/ca/root.key.uri\n"
              "remove /ca/root.key\nend\n",
    };
    char name[32];

    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
        snprintf(name, sizeof name, "journal-%zu", i);
        fz_seed(dir, name, texts[i], strlen(texts[i]));
    }
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    if (fz_seed_dir())
        seeds(fz_seed_dir());
    return 0;
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    char *text;
    jtext t;

    if (size > JOURNAL_MAX)
        return 0; /* cs_file_read refuses larger files */
    text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    if (parse(text, &t) == 0)
        jtext_free(&t);
    free(text);
    return 0;
}
