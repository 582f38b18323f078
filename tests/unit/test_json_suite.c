/* test_json_suite.c - the JSONTestSuite parsing corpus against json_parse.
 *
 * Every y_ file must parse and every n_ file must be rejected. The i_ files (implementation
 * defined) must give the answer listed in i_decisions below, which is the table documented in
 * docs/internals/json.md; a new i_ file with no entry fails the test so that it gets decided.
 * The two y_ files with duplicate member names are accepted only with allow_duplicate_keys:
 * our default rejects them on purpose (see the design note). Every accepted y_ file must also
 * round-trip (so does every accepted i_ file): parse, serialize, parse again gives an equal DOM and
 * the same serialization. */
#include "json/json.h"
#include "test.h"

#include <dirent.h>

#define SUITE_DIR MCP_TESTDATA "/json-parsing/"

typedef struct decision {
    const char *file;
    bool accept;
} decision;

/* Numbers are accepted (out-of-range values become +-inf or 0, big integers doubles); every
 * malformed Unicode is rejected; 500 nested arrays exceed the default depth of 128; a BOM is
 * refused. */
static const decision i_decisions[] = {
    {"i_number_double_huge_neg_exp.json", true},
    {"i_number_huge_exp.json", true},
    {"i_number_neg_int_huge_exp.json", true},
    {"i_number_pos_double_huge_exp.json", true},
    {"i_number_real_neg_overflow.json", true},
    {"i_number_real_pos_overflow.json", true},
    {"i_number_real_underflow.json", true},
    {"i_number_too_big_neg_int.json", true},
    {"i_number_too_big_pos_int.json", true},
    {"i_number_very_big_negative_int.json", true},
    {"i_object_key_lone_2nd_surrogate.json", false},
    {"i_string_1st_surrogate_but_2nd_missing.json", false},
    {"i_string_1st_valid_surrogate_2nd_invalid.json", false},
    {"i_string_UTF-16LE_with_BOM.json", false},
    {"i_string_UTF-8_invalid_sequence.json", false},
    {"i_string_UTF8_surrogate_U+D800.json", false},
    {"i_string_incomplete_surrogate_and_escape_valid.json", false},
    {"i_string_incomplete_surrogate_pair.json", false},
    {"i_string_incomplete_surrogates_escape_valid.json", false},
    {"i_string_invalid_lonely_surrogate.json", false},
    {"i_string_invalid_surrogate.json", false},
    {"i_string_invalid_utf-8.json", false},
    {"i_string_inverted_surrogates_U+1D11E.json", false},
    {"i_string_iso_latin_1.json", false},
    {"i_string_lone_second_surrogate.json", false},
    {"i_string_lone_utf8_continuation_byte.json", false},
    {"i_string_not_in_unicode_range.json", false},
    {"i_string_overlong_sequence_2_bytes.json", false},
    {"i_string_overlong_sequence_6_bytes.json", false},
    {"i_string_overlong_sequence_6_bytes_null.json", false},
    {"i_string_truncated-utf-8.json", false},
    {"i_string_utf16BE_no_BOM.json", false},
    {"i_string_utf16LE_no_BOM.json", false},
    {"i_structure_500_nested_arrays.json", false},
    {"i_structure_UTF-8_BOM_empty_object.json", false},
};

/* y_ files that our defaults reject on purpose: duplicate member names. */
static const char *const dup_key_files[] = {"y_object_duplicated_key.json",
                                            "y_object_duplicated_key_and_value.json"};

static int y_total, y_ok, n_total, n_ok, i_total, i_ok, rt_total, rt_ok;

static const decision *find_decision(const char *name)
{
    for (size_t i = 0; i < sizeof i_decisions / sizeof i_decisions[0]; i++)
        if (strcmp(i_decisions[i].file, name) == 0) return &i_decisions[i];
    return NULL;
}

static bool is_dup_key_file(const char *name)
{
    for (size_t i = 0; i < sizeof dup_key_files / sizeof dup_key_files[0]; i++)
        if (strcmp(dup_key_files[i], name) == 0) return true;
    return false;
}

/* Serializes v, parses the text again, and checks DOM equality and a stable serialization,
 * compact and pretty. */
static bool round_trip(const char *name, const json_value *v, const json_limits *lim)
{
    for (int pretty = 0; pretty <= 1; pretty++) {
        mcp_arena a;
        mcp_buf b1, b2;
        json_error err;
        mcp_arena_init(&a, NULL, 0);
        mcp_buf_init(&b1, NULL, 0, 0);
        mcp_buf_init(&b2, NULL, 0, 0);
        bool ok = json_serialize(&b1, v, pretty) == 0;
        const json_value *v2 = ok ? json_parse(b1.data, b1.len, &a, lim, &err) : NULL;
        ok = v2 && json_equal(v, v2) && json_serialize(&b2, v2, pretty) == 0 && b1.len == b2.len &&
             memcmp(b1.data, b2.data, b1.len) == 0;
        if (!ok) fprintf(stderr, "round trip failed (pretty=%d): %s\n", pretty, name);
        mcp_buf_free(&b1);
        mcp_buf_free(&b2);
        mcp_arena_free(&a);
        if (!ok) return false;
    }
    return true;
}

/* Parses one file with the given limits; returns whether it was accepted. */
static bool parse_file(const char *name, const json_limits *lim, bool check_round_trip)
{
    char path[1024];
    size_t len = 0;
    snprintf(path, sizeof path, "%s%s", SUITE_DIR, name);
    char *data = test_read_file(path, &len);
    if (!data) T_FAIL("cannot read %s", path);
    mcp_arena a;
    json_error err;
    mcp_arena_init(&a, NULL, 0);
    json_value *v = json_parse(data, len, &a, lim, &err);
    if (v && check_round_trip) {
        rt_total++;
        if (round_trip(name, v, lim))
            rt_ok++;
        else
            t_cur_failed = 1;
    }
    mcp_arena_free(&a);
    free(data);
    return v != NULL;
}

static void check_file(const char *name)
{
    json_limits dups = json_default_limits;
    dups.allow_duplicate_keys = true;
    if (name[0] == 'y') {
        y_total++;
        bool dup = is_dup_key_file(name);
        if (dup && parse_file(name, NULL, false)) {
            fprintf(stderr, "accepted with default limits (duplicate keys): %s\n", name);
            t_cur_failed = 1;
        } else if (parse_file(name, dup ? &dups : NULL, true)) {
            y_ok++;
        } else {
            fprintf(stderr, "rejected y_ file: %s\n", name);
            t_cur_failed = 1;
        }
    } else if (name[0] == 'n') {
        n_total++;
        if (!parse_file(name, NULL, false)) {
            n_ok++;
        } else {
            fprintf(stderr, "accepted n_ file: %s\n", name);
            t_cur_failed = 1;
        }
    } else if (name[0] == 'i') {
        const decision *d = find_decision(name);
        i_total++;
        if (!d)
            fprintf(stderr, "i_ file with no documented decision: %s\n", name);
        else if (parse_file(name, NULL, d->accept) == d->accept)
            i_ok++;
        else
            fprintf(stderr, "i_ file not as documented: %s\n", name);
        if (!d || i_ok != i_total) t_cur_failed = 1;
    }
}

TEST(corpus)
{
    DIR *dir = opendir(SUITE_DIR);
    if (!dir) T_FAIL("cannot open %s", SUITE_DIR);
    for (struct dirent *e; (e = readdir(dir)) != NULL;) {
        size_t n = strlen(e->d_name);
        if (n > 5 && strcmp(e->d_name + n - 5, ".json") == 0) check_file(e->d_name);
    }
    closedir(dir);
    printf("y: %d/%d accepted (2 with allow_duplicate_keys), n: %d/%d rejected, "
           "i: %d/%d as documented, round trip: %d/%d accepted y_ and i_ files\n",
           y_ok, y_total, n_ok, n_total, i_ok, i_total, rt_ok, rt_total);
    CHECK(y_total >= 95);
    CHECK(n_total >= 188);
    CHECK_INT(i_total, (int)(sizeof i_decisions / sizeof i_decisions[0]));
    if (t_cur_failed) T_FAIL("see the files listed above");
}

/* The two duplicate-key y_ files: rejected by default with a precise message, accepted when
 * allowed, and then all members are kept in order. */
TEST(duplicate_key_files)
{
    size_t len;
    char *data = test_read_file(SUITE_DIR "y_object_duplicated_key.json", &len);
    CHECK(data != NULL);
    mcp_arena a;
    json_error err;
    mcp_arena_init(&a, NULL, 0);
    CHECK(json_parse(data, len, &a, NULL, &err) == NULL);
    CHECK_STR(err.msg, "duplicate member name \"a\"");
    json_limits lim = json_default_limits;
    lim.allow_duplicate_keys = true;
    json_value *v = json_parse(data, len, &a, &lim, &err);
    CHECK(v && v->type == JSON_OBJECT);
    CHECK_INT(v->len, 2);
    CHECK_STR(v->u.members[1].value.u.str, "c");
    mcp_arena_free(&a);
    free(data);
}

/* The i_ file over our depth limit parses when the caller raises the limit. */
TEST(nested_500_with_higher_limit)
{
    size_t len;
    char *data = test_read_file(SUITE_DIR "i_structure_500_nested_arrays.json", &len);
    CHECK(data != NULL);
    mcp_arena a;
    json_error err;
    mcp_arena_init(&a, NULL, 0);
    json_limits lim = json_default_limits;
    lim.max_depth = 500;
    CHECK(json_parse(data, len, &a, &lim, &err) != NULL);
    lim.max_depth = 499;
    CHECK(json_parse(data, len, &a, &lim, &err) == NULL);
    CHECK_STR(err.msg, "nesting deeper than 499");
    mcp_arena_free(&a);
    free(data);
}

int main(void)
{
    RUN(corpus);
    RUN(duplicate_key_files);
    RUN(nested_500_with_higher_limit);
    return test_summary();
}
