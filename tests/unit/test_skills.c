/* test_skills.c - the skills extension (src/mcp/skills.c) through the public API and the engine.
 *
 * Registration (every refusal, the rollback of half-registered resources), the frontmatter
 * subset of YAML (what it turns into JSON, what it refuses), skills/list with pagination and
 * cursors, skills/get, resources/directory/read, the digests against known SHA-256 values, the
 * resources each file becomes, and the era and capability gating. Requests go through a
 * recording sink on a stdio conn, in the modern era unless a test opens a legacy session. */
#include "test.h"

#include "mcp/engine.h"
#include "mcp/internal.h"

/* ---- a recording sink ---------------------------------------------------------------------- */

static char *outs[64];
static int nout;

static void rec_send(void *ud, const mcp_out *o)
{
    (void)ud;
    if (nout < 64) outs[nout++] = strndup(o->data, o->len);
}

static void rec_clear(void)
{
    for (int i = 0; i < nout; i++) free(outs[i]);
    nout = 0;
}

static const char *last(void)
{
    return nout ? outs[nout - 1] : NULL;
}

#include "jpath.h"

/* The compact JSON text of msg at path (static buffer). */
static const char *jtext(const char *msg, const char *path)
{
    static char copy[8192];
    const json_value *v = jpath(msg, path);
    if (!v) return NULL;
    mcp_buf b;
    mcp_buf_init(&b, NULL, 0, 0);
    json_writer w;
    json_writer_init(&w, &b, false);
    json_write_value(&w, v);
    snprintf(copy, sizeof copy, "%.*s", (int)b.len, b.data);
    mcp_buf_free(&b);
    return copy;
}

static int64_t jlen(const char *msg, const char *path)
{
    const json_value *v = jpath(msg, path);
    return v && (v->type == JSON_ARRAY || v->type == JSON_OBJECT) ? (int64_t)v->len : -1;
}

#define CHECK_CODE(msg, code) CHECK_INT(jint((msg), "error.code"), (code))

/* ---- server and requests ------------------------------------------------------------------- */

static mcp_server *srv;
static mcp_conn *conn;

static void fresh(unsigned page_size)
{
    if (conn) mcp_conn_close(conn);
    if (srv) mcp_server_free(srv);
    rec_clear();
    mcp_server_info info = {.name = "t", .version = "1"};
    srv = mcp_server_new(&info);
    mcp_server_set_page_size(srv, page_size);
    conn = mcp_conn_new(srv, &(mcp_conn_options){.sink = {rec_send, NULL}});
}

static void done(void)
{
    if (conn) mcp_conn_close(conn);
    if (srv) mcp_server_free(srv);
    conn = NULL, srv = NULL;
    rec_clear();
    mcp_arena_free(&jarena);
}

#define META                                                                                       \
    "\"_meta\":{\"io.modelcontextprotocol/protocolVersion\":\"2026-07-28\","                       \
    "\"io.modelcontextprotocol/clientCapabilities\":{}}"

/* Sends a modern request with params members `members` (each followed by a comma, or ""). */
static const char *req(const char *method, const char *members)
{
    char msg[4096];
    snprintf(msg, sizeof msg,
             "{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"%s\",\"params\":{%s" META "}}", method,
             members);
    mcp_conn_handle(conn, msg, strlen(msg), NULL, NULL);
    return last();
}

static const char *req_cursor(const char *method, const char *members, const char *cursor)
{
    char m[2048];
    snprintf(m, sizeof m, "%s\"cursor\":\"%s\",", members, cursor);
    return req(method, m);
}

static int add(const mcp_skill_def *d, char *err, size_t n)
{
    err[0] = '\0';
    return mcp_server_add_skill(srv, d, err, n);
}

static int add_md(const char *md, char *err, size_t n)
{
    mcp_skill_def d = {.skill_md = md};
    return add(&d, err, n);
}

#define MD(fm) "---\n" fm "---\nbody\n"
#define BASIC  MD("name: basic\ndescription: A basic skill.\n")

/* The frontmatter JSON of the single registered skill (static buffer). */
static const char *frontmatter_of(const char *md)
{
    char err[256];
    fresh(100);
    int rc = add_md(md, err, sizeof err);
    if (rc) {
        fprintf(stderr, "  (add: %s)\n", err);
        return NULL;
    }
    return jtext(req("skills/list", ""), "result.skills.0.frontmatter");
}

/* The error registering md gives (static buffer), or NULL if it registers. */
static const char *refusal(const char *md)
{
    static char err[256];
    fresh(100);
    return add_md(md, err, sizeof err) == MCP_EINVAL ? err : NULL;
}

/* ---- registration ---------------------------------------------------------------------------- */

TEST(register_errors)
{
    char err[256];
    fresh(100);
    mcp_skill_def d = {0};
    CHECK_INT(add(&d, err, sizeof err), MCP_EINVAL);
    CHECK_CONTAINS(err, "skill_md: required");
    CHECK_INT(add_md("name: x\n", err, sizeof err), MCP_EINVAL);
    CHECK_CONTAINS(err, "must begin with a '---' line");
    CHECK_INT(add_md("---\nname: x\ndescription: y\n", err, sizeof err), MCP_EINVAL);
    CHECK_CONTAINS(err, "no closing '---'");
    const char *bad_names[] = {"Bad", "a--b", "-a", "a-", "a_b", "\"\""};
    for (size_t i = 0; i < sizeof bad_names / sizeof *bad_names; i++) {
        char md[256];
        snprintf(md, sizeof md, "---\nname: %s\ndescription: d\n---\n", bad_names[i]);
        CHECK_INT(add_md(md, err, sizeof err), MCP_EINVAL);
        CHECK_CONTAINS(err, "name: required, 1-64");
    }
    char long_name[80];
    memset(long_name, 'a', 65);
    long_name[65] = '\0';
    char md[512];
    snprintf(md, sizeof md, "---\nname: %s\ndescription: d\n---\n", long_name);
    CHECK_INT(add_md(md, err, sizeof err), MCP_EINVAL);
    long_name[64] = '\0';
    snprintf(md, sizeof md, "---\nname: %s\ndescription: d\n---\n", long_name);
    CHECK_INT(add_md(md, err, sizeof err), 0);
    CHECK_INT(add_md(MD("name: nodesc\n"), err, sizeof err), MCP_EINVAL);
    CHECK_CONTAINS(err, "description: required");
    CHECK_INT(add_md(MD("name: nodesc\ndescription: ''\n"), err, sizeof err), MCP_EINVAL);
    CHECK_INT(add_md(MD("name: nodesc\ndescription: 12\n"), err, sizeof err), MCP_EINVAL);
    CHECK_INT(add_md("---\nname: x\ndescription: \xff\n---\n", err, sizeof err), MCP_EINVAL);
    CHECK_CONTAINS(err, "not UTF-8");

    d = (mcp_skill_def){.skill_md = BASIC, .authority = "has space"};
    CHECK_INT(add(&d, err, sizeof err), MCP_EINVAL);
    CHECK_CONTAINS(err, "authority");
    CHECK_INT(mcp_server_set_skill_authority(srv, "a/b"), MCP_EINVAL);
    done();
}

TEST(register_file_errors)
{
    char err[256];
    fresh(100);
    const char *bad_paths[] = {"../x",   "/abs",   "a//b", "a/",      "./a",
                               "a/../b", "sp ace", "",     "SKILL.md"};
    for (size_t i = 0; i < sizeof bad_paths / sizeof *bad_paths; i++) {
        mcp_skill_file f = {.path = bad_paths[i], .text = "x"};
        mcp_skill_def d = {.skill_md = BASIC, .files = &f, .nfiles = 1};
        if (add(&d, err, sizeof err) != MCP_EINVAL) T_FAIL("path '%s' accepted", bad_paths[i]);
    }
    mcp_skill_file twice[] = {{.path = "a.md", .text = "1"}, {.path = "a.md", .text = "2"}};
    mcp_skill_def d = {.skill_md = BASIC, .files = twice, .nfiles = 2};
    CHECK_INT(add(&d, err, sizeof err), MCP_EINVAL);
    CHECK_CONTAINS(err, "given twice");
    mcp_skill_file file_dir[] = {{.path = "x", .text = "1"}, {.path = "x/y", .text = "2"}};
    d.files = file_dir;
    CHECK_INT(add(&d, err, sizeof err), MCP_EINVAL);
    mcp_skill_file dir_file[] = {{.path = "x/y", .text = "1"}, {.path = "x", .text = "2"}};
    d.files = dir_file;
    CHECK_INT(add(&d, err, sizeof err), MCP_EINVAL);
    mcp_skill_file not_utf8 = {.path = "b.txt", .text = "\xc3("};
    d = (mcp_skill_def){.skill_md = BASIC, .files = &not_utf8, .nfiles = 1};
    CHECK_INT(add(&d, err, sizeof err), MCP_EINVAL);
    CHECK_CONTAINS(err, "not UTF-8");
    mcp_skill_file no_data = {.path = "b.bin", .len = 4};
    d.files = &no_data;
    CHECK_INT(add(&d, err, sizeof err), MCP_EINVAL);

    /* limits: 512 files with SKILL.md, 16 MiB */
    static mcp_skill_file many[512];
    static char names[512][16];
    for (int i = 0; i < 512; i++) {
        snprintf(names[i], sizeof names[i], "f%d", i);
        many[i] = (mcp_skill_file){.path = names[i], .text = "x"};
    }
    d = (mcp_skill_def){.skill_md = BASIC, .files = many, .nfiles = 512};
    CHECK_INT(add(&d, err, sizeof err), MCP_EINVAL);
    CHECK_CONTAINS(err, "at most 512");
    mcp_skill_file big = {.path = "big.bin", .data = "", .len = (16u << 20)};
    d = (mcp_skill_def){.skill_md = BASIC, .files = &big, .nfiles = 1};
    CHECK_INT(add(&d, err, sizeof err), MCP_EINVAL);
    CHECK_CONTAINS(err, "16 MiB");
    /* nothing of the refused skills stayed behind */
    CHECK_INT(jlen(req("resources/list", ""), "result.resources"), 0);
    CHECK_CODE(req("skills/list", ""), -32601);
    d = (mcp_skill_def){.skill_md = BASIC, .files = many, .nfiles = 511};
    CHECK_INT(add(&d, err, sizeof err), 0);
    done();
}

static void h_text(mcp_ctx *c, void *ud)
{
    (void)ud;
    mcp_ctx_text(c, "mine");
    mcp_ctx_finish(c);
}

TEST(register_conflicts_roll_back)
{
    char err[256];
    fresh(100);
    CHECK_INT(add_md(BASIC, err, sizeof err), 0);
    CHECK_INT(add_md(BASIC, err, sizeof err), MCP_EEXIST);
    CHECK_CONTAINS(err, "skill://basic/SKILL.md: already registered");
    /* a file whose URI is taken: the files registered before it are removed again */
    mcp_resource_def r = {.uri = "skill://other/b.md", .name = "b", .size = -1, .handler = h_text};
    CHECK_INT(mcp_server_add_resource(srv, &r, err, sizeof err), 0);
    mcp_skill_file f[] = {{.path = "a.md", .text = "a"}, {.path = "b.md", .text = "b"}};
    mcp_skill_def d = {.skill_md = MD("name: other\ndescription: d\n"), .files = f, .nfiles = 2};
    CHECK_INT(add(&d, err, sizeof err), MCP_EEXIST);
    CHECK_CONTAINS(err, "skill://other/b.md");
    const char *l = req("resources/list", "");
    CHECK_INT(jlen(l, "result.resources"), 2); /* basic's SKILL.md and the foreign one */
    CHECK_STR(jstr(l, "result.resources.1.uri"), "skill://other/b.md");
    CHECK_INT(jlen(req("skills/list", ""), "result.skills"), 1);
    /* same name under another authority is allowed (hosts disambiguate) */
    d = (mcp_skill_def){.skill_md = BASIC, .authority = "example.com"};
    CHECK_INT(add(&d, err, sizeof err), 0);
    CHECK_INT(jlen(req("skills/list", ""), "result.skills"), 2);
    done();
}

/* ---- frontmatter ----------------------------------------------------------------------------- */

TEST(frontmatter_accepted)
{
    /* each pair: the YAML block, and the JSON the `yaml` package (YAML 1.2 core) makes of it */
    static const char *const cases[][2] = {
        {"name: a\ndescription: plain text, with commas & stuff\n",
         "{\"name\":\"a\",\"description\":\"plain text, with commas & stuff\"}"},
        {"name: a   # a comment\ndescription: \"q \\\"x\\\" \\\\ \\/ \\n\\t \\u00e9\"  # c\n",
         "{\"name\":\"a\",\"description\":\"q \\\"x\\\" \\\\ / \\n\\t \xc3\xa9\"}"},
        {"name: 'a'\ndescription: 'it''s: fine # not a comment'\n",
         "{\"name\":\"a\",\"description\":\"it's: fine # not a comment\"}"},
        {"# leading comment\n\nname: a\ndescription: d\nlicense:\nflag: true\noff: False\n"
         "count: -12\nplus: +3\nnothing: ~\nnull2: null\n",
         "{\"name\":\"a\",\"description\":\"d\",\"license\":null,\"flag\":true,\"off\":false,"
         "\"count\":-12,\"plus\":3,\"nothing\":null,\"null2\":null}"},
        {"name: a\ndescription: d\nmetadata:\n  author: me\n  version: \"1.0\"\n\n  # c\n"
         "  io.example/x: y\nallowed-tools: Bash(git:*) Read\n",
         "{\"name\":\"a\",\"description\":\"d\",\"metadata\":{\"author\":\"me\",\"version\":\"1."
         "0\","
         "\"io.example/x\":\"y\"},\"allowed-tools\":\"Bash(git:*) Read\"}"},
        {"name: a\ndescription: d\nmetadata:\n    deep: 1\n    e:\n",
         "{\"name\":\"a\",\"description\":\"d\",\"metadata\":{\"deep\":1,\"e\":null}}"},
        {"name: a\ndescription: a#b c:d -x 0x1g 1.2.3 .5x yes\n",
         "{\"name\":\"a\",\"description\":\"a#b c:d -x 0x1g 1.2.3 .5x yes\"}"},
        {"name: a\ndescription: d\nmetadata:\n",
         "{\"name\":\"a\",\"description\":\"d\",\"metadata\":null}"},
        {"name: a\ndescription: d\nv: 0x1g\nw: 0o8\nx: 1_000\ny: -.nan\n",
         "{\"name\":\"a\",\"description\":\"d\",\"v\":\"0x1g\",\"w\":\"0o8\",\"x\":\"1_000\","
         "\"y\":\"-.nan\"}"},
        /* what the libyaml reader accepts beyond the old one-line subset */
        {"name: a\ndescription: |\n  block\n  two\nf: >\n  folded\n  text\n",
         "{\"name\":\"a\",\"description\":\"block\\ntwo\\n\",\"f\":\"folded text\\n\"}"},
        {"name: a\ndescription: d\nlist: [a, 1, {b: true}]\nmap: {a: b, c: ~}\n",
         "{\"name\":\"a\",\"description\":\"d\",\"list\":[\"a\",1,{\"b\":true}],\"map\":{\"a\":"
         "\"b\",\"c\":null}}"},
        {"name: a\ndescription: d\nseq:\n  - x\n  - y: 1\nm:\n  a:\n    b: 2\n",
         "{\"name\":\"a\",\"description\":\"d\",\"seq\":[\"x\",{\"y\":1}],\"m\":{\"a\":{\"b\":2}}"
         "}"},
        {"name: a\ndescription: first\n  second\nk: \"multi\n  line\"\n\"quoted key\": 1\n",
         "{\"name\":\"a\",\"description\":\"first second\",\"k\":\"multi line\",\"quoted "
         "key\":1}"},
        {"name: a\ndescription: \"\\x41 \\U0001F600 \\e\"\nd: 2026-01-01\nyes: on\n? complex\n: "
         "v\n",
         "{\"name\":\"a\",\"description\":\"A \xf0\x9f\x98\x80 \\u001b\",\"d\":\"2026-01-01\","
         "\"yes\":\"on\",\"complex\":\"v\"}"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char md[1024];
        snprintf(md, sizeof md, "---\n%s---\nbody", cases[i][0]);
        const char *got = frontmatter_of(md);
        if (!got || strcmp(got, cases[i][1]))
            T_FAIL("case %zu: got %s, want %s", i, got ? got : "(refused)", cases[i][1]);
    }
    /* CRLF lines, a closing line with trailing blanks, at the very end */
    CHECK_STR(frontmatter_of("---\r\nname: a\r\ndescription: d\r\n---  "),
              "{\"name\":\"a\",\"description\":\"d\"}");
    done();
}

TEST(frontmatter_refused)
{
    static const char *const cases[][2] = {
        {"version: 1.0\n", "YAML number"},
        {"version: 1e3\n", "YAML number"},
        {"version: .inf\n", "YAML number"},
        {"version: 0x1f\n", "YAML number"},
        {"version: 0o17\n", "YAML number"},
        {"version: 007\n", "JSON cannot carry"},
        {"version: -0\n", "JSON cannot carry"},
        {"version: 12345678901234567\n", "JSON cannot carry"},
        {"list: [1.5]\n", "YAML number"},
        {"ref: &x a\n", "anchors (&x)"},
        {"ref: *x\n", "aliases"},
        {"m: &m {a: 1}\n", "anchors (&m)"},
        {"tag: !!str x\n", "tags"},
        {"tag: !local x\n", "tags (!local)"},
        {"more: a: b\n", "mapping values are not allowed"},
        {"m:\n\ta: 1\n", "cannot start any token"},
        {"dup: 1\ndup: 2\n", "duplicate key 'dup'"},
        {"m:\n  k: 1\n  k: 2\n", "duplicate key 'k'"},
        {"m: {a: 1, a: 2}\n", "duplicate key 'a'"},
        {"q: \"open\n", "end of stream while scanning a quoted scalar"},
        {"q: 'a' b\n", "did not find expected key"},
        {"q: \"\\u0000\"\n", "NUL character"},
        {"q: \"\\ud800\"\n", "invalid Unicode character escape"},
        {"key:value\n", "could not find expected ':'"},
        {"true: 1\n", "not a string in YAML"},
        {"1: x\n", "not a string in YAML"},
        {"[a]: 1\n", "map keys must be strings"},
        {"- item\n", "did not find expected key"},
        {"x: 1\n...\ny: 2\n", "expected <document start>"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char md[512];
        snprintf(md, sizeof md, "---\nname: a\ndescription: d\n%s---\n", cases[i][0]);
        const char *err = refusal(md);
        if (!err || !strstr(err, cases[i][1]))
            T_FAIL("case %zu (%s): got %s, want ...%s...", i, cases[i][0], err ? err : "(accepted)",
                   cases[i][1]);
    }
    CHECK_CONTAINS(refusal("---\nname: a\ndescription: d\nx: 1.5\n---\n"), "line 4");
    CHECK_CONTAINS(refusal("---\nname: a\ndescription: d\ndup: 1\ndup: 2\n---\n"), "line 5");
    CHECK_CONTAINS(refusal("---\n- a\n---\n"), "must be a map");
    CHECK_CONTAINS(refusal("---\n# only a comment\n---\n"), "name: required");
    CHECK_CONTAINS(refusal("---\nname: 12\ndescription: d\n---\n"), "name: required");
    done();
}

static void bputs(mcp_buf *b, const char *s)
{
    mcp_buf_append(b, s, strlen(s));
}

/* The limits: size of the block, depth, keys per map, values in all. */
TEST(frontmatter_limits)
{
    mcp_buf b;
    mcp_buf_init(&b, NULL, 0, 0);
    /* nesting: 16 levels below the root are fine, 17 are not */
    for (int depth = 16; depth <= 17; depth++) {
        b.len = 0;
        bputs(&b, "---\nname: a\ndescription: d\nx: ");
        for (int i = 1; i < depth; i++) mcp_buf_putc(&b, '[');
        mcp_buf_putc(&b, '1');
        for (int i = 1; i < depth; i++) mcp_buf_putc(&b, ']');
        bputs(&b, "\n---\n");
        mcp_buf_putc(&b, '\0');
        const char *err = refusal(b.data);
        if (depth == 16) CHECK(err == NULL);
        if (depth == 17) CHECK_CONTAINS(err, "nested more than 16 deep");
    }
    /* keys: 64 in a map, not 65 */
    for (int keys = 64; keys <= 65; keys++) {
        b.len = 0;
        bputs(&b, "---\nname: a\ndescription: d\nm:\n");
        for (int i = 0; i < keys; i++) {
            char line[32];
            mcp_buf_append(&b, line, (size_t)snprintf(line, sizeof line, "  k%d: %d\n", i, i));
        }
        bputs(&b, "---\n");
        mcp_buf_putc(&b, '\0');
        const char *err = refusal(b.data);
        if (keys == 64) CHECK(err == NULL);
        if (keys == 65) CHECK_CONTAINS(err, "more than 64 keys");
    }
    /* values in all */
    b.len = 0;
    bputs(&b, "---\nname: a\ndescription: d\nl: [");
    for (int i = 0; i < 5000; i++) bputs(&b, "1,");
    bputs(&b, "1]\n---\n");
    mcp_buf_putc(&b, '\0');
    CHECK_CONTAINS(refusal(b.data), "more than 4096 values");
    /* size: the block over 64 KiB */
    b.len = 0;
    bputs(&b, "---\nname: a\ndescription: d\nx: \"");
    for (int i = 0; i < 70000; i++) mcp_buf_putc(&b, 'x');
    bputs(&b, "\"\n---\n");
    mcp_buf_putc(&b, '\0');
    CHECK_CONTAINS(refusal(b.data), "over 65536 bytes");
    mcp_buf_free(&b);
    done();
}

/* ---- skills/list, skills/get ---------------------------------------------------------------- */

TEST(list_and_get)
{
    char err[256];
    fresh(100);
    mcp_skill_file files[] = {
        {.path = "abc.txt", .text = "abc"},
        {.path = "bin/empty.bin", .data = "", .len = 0, .mime_type = "application/x-empty"},
    };
    mcp_skill_def d = {.skill_md = "---\nname: digests\ndescription: Known digests.\n---\n",
                       .files = files,
                       .nfiles = 2};
    CHECK_INT(add(&d, err, sizeof err), 0);
    const char *l = req("skills/list", "");
    CHECK_INT(jlen(l, "result.skills"), 1);
    CHECK_STR(jstr(l, "result.skills.0.uri"), "skill://digests/SKILL.md");
    CHECK_STR(jtext(l, "result.skills.0.frontmatter"),
              "{\"name\":\"digests\",\"description\":\"Known digests.\"}");
    CHECK_INT(jlen(l, "result.skills.0.resources"), 3);
    CHECK_STR(jstr(l, "result.skills.0.resources.0.uri"), "skill://digests/SKILL.md");
    /* printf -- '---\nname: digests\ndescription: Known digests.\n---\n' | sha256sum */
    CHECK_STR(jstr(l, "result.skills.0.resources.0.digest"),
              "sha256:53a39bdb0320eef36a3e3fa533e2fc1be35f31b40c0a5af5881d40644b2d5d58");
    CHECK_INT(jint(l, "result.skills.0.resources.0.size"), 50);
    CHECK_STR(jstr(l, "result.skills.0.resources.1.uri"), "skill://digests/abc.txt");
    CHECK_STR(jstr(l, "result.skills.0.resources.1.digest"),
              "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    CHECK_INT(jint(l, "result.skills.0.resources.1.size"), 3);
    CHECK_STR(jstr(l, "result.skills.0.resources.2.uri"), "skill://digests/bin/empty.bin");
    CHECK_STR(jstr(l, "result.skills.0.resources.2.digest"),
              "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    CHECK_INT(jint(l, "result.skills.0.resources.2.size"), 0);
    CHECK_STR(jstr(l, "result.resultType"), "complete");
    CHECK_INT(jint(l, "result.ttlMs"), 60000);
    CHECK_STR(jstr(l, "result.cacheScope"), "public");
    CHECK(!jpath(l, "result.nextCursor"));

    const char *g = req("skills/get", "\"uri\":\"skill://digests/SKILL.md\",");
    CHECK_STR(jstr(g, "result.skill.uri"), "skill://digests/SKILL.md");
    CHECK_INT(jlen(g, "result.skill.resources"), 3);
    CHECK_INT(jint(g, "result.ttlMs"), 60000);
    CHECK(!jpath(g, "result.nextCursor"));
    CHECK_CODE(req("skills/get", "\"uri\":\"skill://nope/SKILL.md\","), -32602);
    CHECK_CODE(req("skills/get", "\"uri\":\"skill://digests\","), -32602);
    CHECK_CODE(req("skills/get", ""), -32602);
    CHECK_CODE(req("skills/get", "\"uri\":5,"), -32602);

    /* discover declares the extension, with directoryRead */
    const char *disc = req("server/discover", "");
    CHECK_STR(jtext(disc, "result.capabilities.extensions"),
              "{\"io.modelcontextprotocol/skills\":{\"directoryRead\":true}}");
    CHECK(jpath(disc, "result.capabilities.resources") != NULL);
    done();
}

TEST(no_skills_no_methods)
{
    fresh(100);
    CHECK_CODE(req("skills/list", ""), -32601);
    CHECK_CODE(req("skills/get", "\"uri\":\"skill://a/SKILL.md\","), -32601);
    CHECK_CODE(req("resources/directory/read", "\"uri\":\"skill://a\","), -32601);
    CHECK(!jpath(req("server/discover", ""), "result.capabilities.extensions"));
    done();
}

TEST(legacy_era_has_no_skills)
{
    char err[256];
    fresh(100);
    CHECK_INT(add_md(BASIC, err, sizeof err), 0);
    const char *init = "{\"jsonrpc\":\"2.0\",\"id\":0,\"method\":\"initialize\",\"params\":{"
                       "\"protocolVersion\":\"2025-11-25\",\"capabilities\":{},\"clientInfo\":{"
                       "\"name\":\"t\",\"version\":\"1\"}}}";
    mcp_conn_handle(conn, init, strlen(init), NULL, NULL);
    CHECK(!jpath(last(), "result.capabilities.extensions"));
    const char *n = "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}";
    mcp_conn_handle(conn, n, strlen(n), NULL, NULL);
    const char *m = "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"skills/list\"}";
    mcp_conn_handle(conn, m, strlen(m), NULL, NULL);
    CHECK_CODE(last(), -32601);
    /* the files are ordinary resources there */
    m = "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"resources/read\",\"params\":{\"uri\":"
        "\"skill://basic/SKILL.md\"}}";
    mcp_conn_handle(conn, m, strlen(m), NULL, NULL);
    CHECK_STR(jstr(last(), "result.contents.0.text"), BASIC);
    done();
}

TEST(list_pagination)
{
    char err[256];
    fresh(2);
    const char *names[] = {"one", "two", "three", "four", "five"};
    for (int i = 0; i < 5; i++) {
        char md[128];
        snprintf(md, sizeof md, "---\nname: %s\ndescription: skill %d\n---\n", names[i], i);
        CHECK_INT(add_md(md, err, sizeof err), 0);
    }
    char cursor[4096] = "";
    int seen = 0, pages = 0;
    do {
        const char *r = cursor[0] ? req_cursor("skills/list", "", cursor) : req("skills/list", "");
        int n = (int)jlen(r, "result.skills");
        CHECK(n >= 1 && n <= 2);
        for (int i = 0; i < n; i++) {
            char p[64];
            snprintf(p, sizeof p, "result.skills.%d.frontmatter.name", i);
            CHECK_STR(jstr(r, p), names[seen++]);
        }
        const char *c = jstr(r, "result.nextCursor");
        snprintf(cursor, sizeof cursor, "%s", c ? c : "");
        pages++;
    } while (cursor[0] && pages < 10);
    CHECK_INT(seen, 5);
    CHECK_INT(pages, 3);
    CHECK_CODE(req_cursor("skills/list", "", "garbage"), -32602);
    /* a cursor of another list is refused both ways */
    mcp_resource_def r = {.uri = "test://x", .name = "x", .size = -1, .handler = h_text};
    CHECK_INT(mcp_server_add_resource(srv, &r, err, sizeof err), 0);
    const char *rl = req("resources/list", "");
    char rc[4096];
    snprintf(rc, sizeof rc, "%s", jstr(rl, "result.nextCursor"));
    CHECK_CODE(req_cursor("skills/list", "", rc), -32602);
    CHECK_CONTAINS(jstr(last(), "error.message"), "another list");
    snprintf(cursor, sizeof cursor, "%s", jstr(req("skills/list", ""), "result.nextCursor"));
    CHECK_CODE(req_cursor("resources/list", "", cursor), -32602);
    done();
}

/* ---- files as resources, directories -------------------------------------------------------- */

TEST(files_are_resources)
{
    char err[256];
    fresh(100);
    mcp_skill_file f[] = {{.path = "ref/a.md", .text = "# A\n", .mime_type = "text/markdown"},
                          {.path = "logo.bin", .data = "\x00\x01\x02", .len = 3}};
    mcp_skill_def d = {.skill_md = BASIC, .authority = "acme.example", .files = f, .nfiles = 2};
    CHECK_INT(add(&d, err, sizeof err), 0);
    const char *l = req("resources/list", "");
    CHECK_INT(jlen(l, "result.resources"), 3);
    CHECK_STR(jstr(l, "result.resources.0.uri"), "skill://acme.example/basic/SKILL.md");
    CHECK_STR(jstr(l, "result.resources.0.name"), "basic");
    CHECK_STR(jstr(l, "result.resources.0.description"), "A basic skill.");
    CHECK_STR(jstr(l, "result.resources.0.mimeType"), "text/markdown");
    CHECK_INT(jint(l, "result.resources.0.size"), (int64_t)strlen(BASIC));
    CHECK_STR(jstr(l, "result.resources.1.name"), "basic/ref/a.md");
    CHECK_STR(jstr(l, "result.resources.1.description"), "ref/a.md, a file of the skill basic");
    CHECK_STR(jstr(l, "result.resources.2.mimeType"), "application/octet-stream");
    const char *r = req("resources/read", "\"uri\":\"skill://acme.example/basic/SKILL.md\",");
    CHECK_STR(jstr(r, "result.contents.0.text"), BASIC);
    CHECK_STR(jstr(r, "result.contents.0.mimeType"), "text/markdown");
    r = req("resources/read", "\"uri\":\"skill://acme.example/basic/logo.bin\",");
    CHECK_STR(jstr(r, "result.contents.0.blob"), "AAEC");
    r = req("resources/read", "\"uri\":\"skill://acme.example/basic/ref/a.md\",");
    CHECK_STR(jstr(r, "result.contents.0.text"), "# A\n");
    done();
}

TEST(default_authority)
{
    char err[256];
    fresh(100);
    CHECK_INT(mcp_server_set_skill_authority(srv, "skills.example"), 0);
    CHECK_INT(add_md(BASIC, err, sizeof err), 0);
    CHECK_INT(mcp_server_set_skill_authority(srv, NULL), 0);
    CHECK_INT(add_md(MD("name: plain\ndescription: d\n"), err, sizeof err), 0);
    const char *l = req("skills/list", "");
    CHECK_STR(jstr(l, "result.skills.0.uri"), "skill://skills.example/basic/SKILL.md");
    CHECK_STR(jstr(l, "result.skills.1.uri"), "skill://plain/SKILL.md");
    done();
}

/* The server's item filter hides a skill with its SKILL.md, a directory with its URI: hidden is
 * answered as missing. */
static bool hide_basic(void *ud, const void *principal, mcp_item_kind kind, const char *key)
{
    (void)ud, (void)principal, (void)kind;
    return strncmp(key, "skill://basic", 13) != 0;
}

TEST(filtered)
{
    char err[256];
    fresh(100);
    mcp_skill_file f[] = {{.path = "scripts/lint.sh", .text = "l"}};
    mcp_skill_def d = {.skill_md = BASIC, .files = f, .nfiles = 1};
    CHECK_INT(add(&d, err, sizeof err), 0);
    CHECK_INT(add_md(MD("name: other\ndescription: Another.\n"), err, sizeof err), 0);
    mcp_server_set_item_filter(srv, hide_basic, NULL);
    const char *l = req("skills/list", "");
    CHECK_INT(jlen(l, "result.skills"), 1);
    CHECK_STR(jstr(l, "result.skills.0.uri"), "skill://other/SKILL.md");
    CHECK_STR(jstr(l, "result.cacheScope"), "public"); /* no principal: the same for all */
    const char *g = req("skills/get", "\"uri\":\"skill://basic/SKILL.md\",");
    CHECK_CODE(g, -32602);
    CHECK_STR(jstr(g, "error.message"),
              "invalid params: no skill has the uri 'skill://basic/SKILL.md'");
    const char *r = req("resources/directory/read", "\"uri\":\"skill://basic/scripts\",");
    CHECK_STR(jstr(r, "error.message"),
              "invalid params: 'skill://basic/scripts' is not a directory of a skill");
    CHECK_CODE(req("resources/read", "\"uri\":\"skill://basic/scripts/lint.sh\","), -32602);
    CHECK(jpath(req("resources/directory/read", "\"uri\":\"skill://other\","), "result"));
    done();
}

TEST(directory_read)
{
    char err[256];
    fresh(100);
    mcp_skill_file f[] = {{.path = "checklist.md", .text = "c", .mime_type = "text/markdown"},
                          {.path = "scripts/lint.sh", .text = "l"},
                          {.path = "scripts/lib/x.sh", .text = "x"},
                          {.path = "a.txt", .text = "a"}};
    mcp_skill_def d = {.skill_md = BASIC, .files = f, .nfiles = 4};
    CHECK_INT(add(&d, err, sizeof err), 0);
    const char *r = req("resources/directory/read", "\"uri\":\"skill://basic\",");
    CHECK_INT(jlen(r, "result.resources"), 4);
    CHECK_STR(jtext(r, "result.resources.0"),
              "{\"uri\":\"skill://basic/SKILL.md\",\"name\":\"SKILL.md\",\"mimeType\":"
              "\"text/markdown\",\"size\":53}"); /* strlen(BASIC) */
    CHECK_STR(jstr(r, "result.resources.1.uri"), "skill://basic/checklist.md");
    CHECK_STR(jtext(r, "result.resources.2"),
              "{\"uri\":\"skill://basic/scripts\",\"name\":\"scripts\",\"mimeType\":"
              "\"inode/directory\"}");
    CHECK_STR(jstr(r, "result.resources.3.uri"), "skill://basic/a.txt");
    CHECK_INT(jint(r, "result.ttlMs"), 60000);
    CHECK(!jpath(r, "result.nextCursor"));
    r = req("resources/directory/read", "\"uri\":\"skill://basic/scripts/\",");
    CHECK_INT(jlen(r, "result.resources"), 2);
    CHECK_STR(jstr(r, "result.resources.0.uri"), "skill://basic/scripts/lint.sh");
    CHECK_STR(jstr(r, "result.resources.0.mimeType"), "text/plain");
    CHECK_STR(jstr(r, "result.resources.1.name"), "lib");
    CHECK_STR(jstr(r, "result.resources.1.mimeType"), "inode/directory");
    r = req("resources/directory/read", "\"uri\":\"skill://basic/scripts/lib\",");
    CHECK_STR(jstr(r, "result.resources.0.uri"), "skill://basic/scripts/lib/x.sh");
    CHECK_CODE(req("resources/directory/read", "\"uri\":\"skill://basic/SKILL.md\","), -32602);
    CHECK_CODE(req("resources/directory/read", "\"uri\":\"skill://basic/a.txt\","), -32602);
    CHECK_CODE(req("resources/directory/read", "\"uri\":\"skill://nothing\","), -32602);
    CHECK_CODE(req("resources/directory/read", ""), -32602);
    done();
}

TEST(directory_pagination)
{
    char err[256];
    fresh(2);
    mcp_skill_file f[] = {{.path = "a", .text = "a"},
                          {.path = "b", .text = "b"},
                          {.path = "c", .text = "c"},
                          {.path = "sub/d", .text = "d"}};
    mcp_skill_def d = {.skill_md = BASIC, .files = f, .nfiles = 4};
    CHECK_INT(add(&d, err, sizeof err), 0);
    const char *want[] = {"skill://basic/SKILL.md", "skill://basic/a", "skill://basic/b",
                          "skill://basic/c", "skill://basic/sub"};
    const char *m = "\"uri\":\"skill://basic\",";
    char cursor[4096] = "", first[4096] = "";
    int seen = 0, pages = 0;
    do {
        const char *r = cursor[0] ? req_cursor("resources/directory/read", m, cursor)
                                  : req("resources/directory/read", m);
        int n = (int)jlen(r, "result.resources");
        CHECK(n >= 1 && n <= 2);
        for (int i = 0; i < n; i++) {
            char p[64];
            snprintf(p, sizeof p, "result.resources.%d.uri", i);
            CHECK_STR(jstr(r, p), want[seen++]);
        }
        const char *c = jstr(r, "result.nextCursor");
        snprintf(cursor, sizeof cursor, "%s", c ? c : "");
        if (!first[0]) snprintf(first, sizeof first, "%s", cursor);
        pages++;
    } while (cursor[0] && pages < 10);
    CHECK_INT(seen, 5);
    CHECK_INT(pages, 3);
    /* a cursor is good for its directory only, and for no list */
    CHECK_CODE(req_cursor("resources/directory/read", "\"uri\":\"skill://basic/sub\",", first),
               -32602);
    CHECK_CONTAINS(jstr(last(), "error.message"),
                   "invalid cursor (it belongs to another directory)");
    CHECK_CODE(req_cursor("skills/list", "", first), -32602);
    CHECK_CONTAINS(jstr(last(), "error.message"), "invalid cursor (it belongs to another list)");
    CHECK_CODE(req_cursor("tools/list", "", first), -32602);
    CHECK_CONTAINS(jstr(last(), "error.message"), "another list");
    done();
}

int main(void)
{
    RUN(register_errors);
    RUN(register_file_errors);
    RUN(register_conflicts_roll_back);
    RUN(frontmatter_accepted);
    RUN(frontmatter_refused);
    RUN(frontmatter_limits);
    RUN(list_and_get);
    RUN(filtered);
    RUN(no_skills_no_methods);
    RUN(legacy_era_has_no_skills);
    RUN(list_pagination);
    RUN(files_are_resources);
    RUN(default_authority);
    RUN(directory_read);
    RUN(directory_pagination);
    done();
    return test_summary();
}
