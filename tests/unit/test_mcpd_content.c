/* test_mcpd_content.c - mcpd's "resources" and "prompts" config sections through libmcp's
 * engine: what a directory becomes (list, read as text or blob, caps, hidden files, the {path}
 * template and its completion), every refusal (`..`, symlinks out, hidden, too large), the
 * watcher (a file created, written, removed: list_changed and resources/updated to a
 * subscribed legacy session), prompts with arguments and completion, config mistakes at their
 * JSON Pointers, and reloads (a good one keeps serving, a failed one leaves the old config). */
#define MAXOUT 4096
#include "test.h"

#include "../../src/mcpd/content.h"
#include "jpath.h"
#include "mcp/engine.h"
#include "recorder.h"

#include <mcp/json.h>

#include <stdarg.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* ---- the core's error collector, as config.c provides it ---------------------------------- */
struct mcpd_errs {
    size_t n;
    char text[4096];
};

void mcpd_verr(mcpd_errs *e, const char *pointer, const char *fmt, va_list ap)
{
    size_t o = strlen(e->text);
    o += (size_t)snprintf(e->text + o, sizeof e->text - o, "%s: ", pointer ? pointer : "");
    if (o < sizeof e->text) o += (size_t)vsnprintf(e->text + o, sizeof e->text - o, fmt, ap);
    if (o < sizeof e->text - 1) strcat(e->text, "\n");
    e->n++;
}

void mcpd_err(mcpd_errs *e, const char *pointer, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    mcpd_verr(e, pointer, fmt, ap);
    va_end(ap);
}

size_t mcpd_err_count(const mcpd_errs *e)
{
    return e->n;
}

/* ---- fixtures ------------------------------------------------------------------------------ */
static char dir[256];
static mcp_server *srv;
static mcp_conn *conn;
static int next_id = 1;

static void sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void sh(const char *fmt, ...)
{
    char cmd[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    if (system(cmd)) {
        fprintf(stderr, "failed: %s\n", cmd);
        abort();
    }
}

static void put(const char *rel, const char *text)
{
    char p[512];
    snprintf(p, sizeof p, "%s/docs/%s", dir, rel);
    FILE *f = fopen(p, "w");
    if (!f) abort();
    fputs(text, f);
    fclose(f);
}

/* The response to request id (a static copy): the watcher thread may add notifications
 * meanwhile, so the last output is not necessarily it. */
static const char *response(int id)
{
    static char copy[65536];
    char needle[32];
    snprintf(needle, sizeof needle, "\"id\":%d,", id);
    copy[0] = '\0';
    pthread_mutex_lock(&rec_mu);
    for (int i = nout; i-- > 0;)
        if (strstr(outs[i].data, needle)) {
            snprintf(copy, sizeof copy, "%s", outs[i].data);
            break;
        }
    pthread_mutex_unlock(&rec_mu);
    return copy[0] ? copy : NULL;
}

/* Sends a legacy request; returns its response. */
static const char *req(const char *method, const char *params)
{
    char msg[4096];
    int id = next_id++;
    snprintf(msg, sizeof msg, "{\"jsonrpc\":\"2.0\",\"id\":%d,\"method\":\"%s\",\"params\":%s}", id,
             method, params);
    mcp_conn_handle(conn, msg, strlen(msg), NULL, NULL);
    return response(id);
}

/* Sends a modern request on a fresh stdio conn; returns its response (static copy). */
static const char *req_modern(const char *method, const char *members)
{
    mcp_conn *c = mcp_conn_new(srv, &(mcp_conn_options){.sink = {rec_send, NULL}});
    char msg[4096];
    int id = next_id++;
    snprintf(msg, sizeof msg,
             "{\"jsonrpc\":\"2.0\",\"id\":%d,\"method\":\"%s\",\"params\":{%s\"_meta\":{"
             "\"io.modelcontextprotocol/protocolVersion\":\"2026-07-28\","
             "\"io.modelcontextprotocol/clientCapabilities\":{}}}}",
             id, method, members);
    mcp_conn_handle(c, msg, strlen(msg), NULL, NULL);
    mcp_conn_close(c);
    return response(id);
}

static int64_t jlen_(const char *msg)
{
    const json_value *v = jpath(msg, "result.prompts");
    return v ? (int64_t)v->len : -1;
}

static void session(void)
{
    rec_clear();
    mcp_server_info info = {.name = "t", .version = "1"};
    srv = mcp_server_new(&info);
    mcp_server_set_page_size(srv, 1000);
    conn = mcp_conn_new(srv, &(mcp_conn_options){.sink = {rec_send, NULL}});
    req("initialize", "{\"protocolVersion\":\"2025-11-25\",\"capabilities\":{},"
                      "\"clientInfo\":{\"name\":\"t\",\"version\":\"1\"}}");
    const char *n = "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}";
    mcp_conn_handle(conn, n, strlen(n), NULL, NULL);
}

static void end_session(void)
{
    mcp_conn_close(conn);
    mcp_server_free(srv);
    conn = NULL, srv = NULL;
    rec_clear();
    mcp_arena_free(&jarena);
}

static mcpd_env env(void)
{
    return (mcpd_env){.server = srv, .config_path = "test.json", .config_dir = dir};
}

typedef int (*configure_fn)(const mcpd_env *, const mcp_json *, const char *, mcpd_errs *, void **);

/* Configures a section from JSON text; returns the instance or NULL with errs filled. */
static void *section(configure_fn fn, const char *json, mcpd_errs *errs)
{
    mcp_json_error jerr;
    mcp_json_doc *doc = mcp_json_parse(json, strlen(json), 0, &jerr);
    if (!doc) {
        fprintf(stderr, "bad test JSON: %s\n", jerr.message);
        abort();
    }
    memset(errs, 0, sizeof *errs);
    mcpd_env e = env();
    void *inst = NULL;
    int rc = fn(&e, mcp_json_root(doc), fn == mcpd_prompts_configure ? "/prompts" : "/resources",
                errs, &inst);
    mcp_json_doc_free(doc);
    return rc ? NULL : inst;
}

static void *resources(const char *json, mcpd_errs *errs)
{
    void *r = section(mcpd_resources_configure, json, errs);
    if (r) mcpd_resources_activate(r);
    return r;
}

static bool listed(const char *uri)
{
    const char *out = req("resources/list", "{}");
    char needle[300];
    snprintf(needle, sizeof needle, "\"uri\":\"%s\"", uri);
    return out && strstr(out, needle);
}

static const char *read_uri(const char *uri)
{
    char p[600];
    snprintf(p, sizeof p, "{\"uri\":\"%s\"}", uri);
    return req("resources/read", p);
}

/* Waits (up to 20 s) for an output containing needle since output index from. */
static bool wait_for(int from, const char *needle)
{
    for (int i = 0; i < 2000; i++) {
        pthread_mutex_lock(&rec_mu);
        bool found = false;
        for (int k = from; k < nout && !found; k++) found = strstr(outs[k].data, needle) != NULL;
        pthread_mutex_unlock(&rec_mu);
        if (found) return true;
        nanosleep(&(struct timespec){0, 10 * 1000 * 1000}, NULL);
    }
    return false;
}

static void setup(void)
{
    snprintf(dir, sizeof dir, "/tmp/mcpd_content_%d", (int)getpid());
    sh("rm -rf %s && mkdir -p %s/docs/sub %s/outside %s/prompts", dir, dir, dir, dir);
    put("a.md", "# A\n");
    put("sub/b.txt", "bee");
    put(".env", "SECRET=1");
    put("big.txt", "0123456789012345678901234567890123456789");
    put("blob.png", "\x89PNG\r\n");
    sh("printf 'x\\000y' > %s/docs/nul.dat", dir);
    sh("echo secret > %s/outside/secret && ln -s ../outside/secret %s/docs/out.txt", dir, dir);
    sh("ln -s a.md %s/docs/alias.md && ln -s ../outside %s/docs/outdir", dir, dir);
    sh("mkfifo %s/docs/fifo.txt", dir);
    sh("printf x > %s/docs/$(printf 'bad\\377name.txt')", dir); /* a name that is not UTF-8 */
}

/* ---- resources ------------------------------------------------------------------------------ */

#define DOCS(extra) "[{\"name\":\"docs\",\"path\":\"docs\",\"max_file_bytes\":32" extra "}]"

TEST(directory_listed)
{
    session();
    mcpd_errs errs;
    void *r = resources(DOCS(",\"watch\":false"), &errs);
    CHECK_STR(errs.text, "");
    CHECK(listed("file:///docs/a.md"));
    CHECK(listed("file:///docs/sub/b.txt"));
    CHECK(listed("file:///docs/alias.md")); /* a symlink that stays inside */
    CHECK(!listed("file:///docs/.env"));
    CHECK(!listed("file:///docs/out.txt"));
    CHECK(!listed("file:///docs/outdir/secret"));
    CHECK(!listed("file:///docs/fifo.txt"));
    CHECK(!listed("file:///docs/bad%FFname.txt"));
    const char *t = req("resources/templates/list", "{}");
    CHECK_STR(jstr(t, "result.resourceTemplates.0.uriTemplate"), "file:///docs/{path}");
    mcpd_resources_free(r);
    CHECK(!listed("file:///docs/a.md"));
    end_session();
}

TEST(listing_is_paged)
{
    session();
    mcp_server_set_page_size(srv, 2);
    mcpd_errs errs;
    void *r = resources(DOCS(",\"watch\":false"), &errs);
    int pages = 0, seen = 0;
    char params[4200] = "{}";
    for (;;) {
        const char *o = req("resources/list", params);
        const json_value *v = jpath(o, "result.resources");
        CHECK(v != NULL && v->len <= 2);
        seen += (int)v->len;
        pages++;
        const char *next = jstr(o, "result.nextCursor");
        if (!next) break;
        snprintf(params, sizeof params, "{\"cursor\":\"%s\"}", next);
        CHECK(pages < 10);
    }
    CHECK_INT(seen, 6); /* a.md, alias.md, big.txt, blob.png, nul.dat, sub/b.txt */
    CHECK(pages >= 3);
    mcpd_resources_free(r);
    end_session();
}

TEST(reads_and_refusals)
{
    session();
    mcpd_errs errs;
    void *r = resources(DOCS(",\"watch\":false,\"mime\":{\"dat\":\"application/x-dat\"}"), &errs);
    const char *o = read_uri("file:///docs/a.md");
    CHECK_STR(jstr(o, "result.contents.0.text"), "# A\n");
    CHECK_STR(jstr(o, "result.contents.0.mimeType"), "text/markdown");
    o = read_uri("file:///docs/blob.png");
    CHECK_STR(jstr(o, "result.contents.0.mimeType"), "image/png");
    CHECK_STR(jstr(o, "result.contents.0.blob"), "iVBORw0K");
    o = read_uri("file:///docs/nul.dat");
    CHECK_STR(jstr(o, "result.contents.0.mimeType"), "application/x-dat");
    CHECK_STR(jstr(o, "result.contents.0.blob"), "eAB5");
    o = read_uri("file:///docs/sub%2Fb.txt"); /* through the template */
    CHECK_STR(jstr(o, "result.contents.0.text"), "bee");
    o = read_uri("file:///docs/big.txt");
    CHECK_CONTAINS(jstr(o, "error.message"),
                   "the file is 40 bytes, over this server's limit of 32 bytes");
    o = read_uri("file:///docs/..%2F..%2Fetc%2Fpasswd");
    CHECK_INT(jint(o, "error.code"), -32602);
    CHECK_CONTAINS(jstr(o, "error.message"), "'..' segments are not allowed");
    o = read_uri("file:///docs/out.txt");
    CHECK_CONTAINS(jstr(o, "error.message"), "leads out of the served directory");
    o = read_uri("file:///docs/outdir%2Fsecret");
    CHECK_CONTAINS(jstr(o, "error.message"), "leads out of the served directory");
    o = read_uri("file:///docs/.env");
    CHECK_CONTAINS(jstr(o, "error.message"), "hidden files are not served");
    o = read_uri("file:///docs/fifo.txt"); /* must not hang */
    CHECK_CONTAINS(jstr(o, "error.message"), "not a regular file");
    o = read_uri("file:///docs/missing.md");
    CHECK_INT(jint(o, "error.code"), -32002);
    o = req_modern("resources/read", "\"uri\":\"file:///docs/missing.md\",");
    CHECK_INT(jint(o, "error.code"), -32602);
    o = req("completion/complete", "{\"ref\":{\"type\":\"ref/resource\",\"uri\":"
                                   "\"file:///docs/{path}\"},\"argument\":{\"name\":\"path\","
                                   "\"value\":\"su\"}}");
    CHECK_STR(jstr(o, "result.completion.values.0"), "sub/b.txt");
    CHECK_INT(jint(o, "result.completion.total"), 1);
    mcpd_resources_free(r);
    end_session();
}

TEST(watcher_follows_changes)
{
    session();
    mcpd_errs errs;
    void *r = resources("[{\"name\":\"docs\",\"path\":\"docs\",\"uri_prefix\":\"docs://files/\"}]",
                        &errs);
    CHECK_STR(errs.text, "");
    CHECK(listed("docs://files/a.md"));
    req("resources/subscribe", "{\"uri\":\"docs://files/a.md\"}");
    int from = rec_count();
    put("a.md", "# A changed\n");
    CHECK(wait_for(from, "\"method\":\"notifications/resources/updated\",\"params\":{\"uri\":"
                         "\"docs://files/a.md\"}"));
    CHECK_STR(jstr(read_uri("docs://files/a.md"), "result.contents.0.text"), "# A changed\n");

    /* a file written in many pieces: the events are coalesced, not one notification each */
    from = rec_count();
    char path[512];
    snprintf(path, sizeof path, "%s/docs/a.md", dir);
    FILE *f = fopen(path, "w");
    for (int i = 0; i < 200; i++) {
        fputs("line\n", f);
        fflush(f);
    }
    fclose(f);
    const char *upd = "\"method\":\"notifications/resources/updated\",\"params\":{\"uri\":"
                      "\"docs://files/a.md\"}";
    CHECK(wait_for(from, upd));
    nanosleep(&(struct timespec){0, 200 * 1000 * 1000}, NULL);
    int updates = 0;
    pthread_mutex_lock(&rec_mu);
    for (int k = from; k < nout; k++) updates += strstr(outs[k].data, upd) != NULL;
    pthread_mutex_unlock(&rec_mu);
    if (updates >= 200) T_FAIL("%d updates for 200 writes: not coalesced", updates);

    from = rec_count();
    put("new.md", "new");
    CHECK(wait_for(from, "notifications/resources/list_changed"));
    CHECK(listed("docs://files/new.md"));

    from = rec_count();
    sh("mkdir -p %s/docs/later/deeper && echo deep > %s/docs/later/deeper/d.md", dir, dir);
    for (int i = 0; i < 2000 && !listed("docs://files/later/deeper/d.md"); i++)
        nanosleep(&(struct timespec){0, 10 * 1000 * 1000}, NULL);
    CHECK(listed("docs://files/later/deeper/d.md"));

    from = rec_count();
    sh("rm -rf %s/docs/later %s/docs/new.md", dir, dir);
    CHECK(wait_for(from, "notifications/resources/list_changed"));
    for (int i = 0; i < 2000 && listed("docs://files/new.md"); i++)
        nanosleep(&(struct timespec){0, 10 * 1000 * 1000}, NULL);
    CHECK(!listed("docs://files/new.md"));
    CHECK(!listed("docs://files/later/deeper/d.md"));
    mcpd_resources_free(r);
    put("a.md", "# A\n");
    end_session();
}

TEST(max_depth_zero_serves_the_top_only)
{
    session();
    mcpd_errs errs;
    void *r = resources(DOCS(",\"watch\":false,\"max_depth\":0"), &errs);
    CHECK_STR(errs.text, "");
    CHECK(listed("file:///docs/a.md"));
    CHECK(!listed("file:///docs/sub/b.txt"));
    mcpd_resources_free(r);
    end_session();
}

TEST(optional_directory_may_be_missing)
{
    session();
    mcpd_errs errs;
    void *r = resources("[{\"name\":\"gone\",\"path\":\"nope\",\"optional\":true},"
                        "{\"name\":\"docs\",\"path\":\"docs\",\"watch\":false}]",
                        &errs);
    CHECK_STR(errs.text, "");
    CHECK(r != NULL);
    CHECK(listed("file:///docs/a.md"));
    mcpd_resources_free(r);
    end_session();
}

TEST(reload_keeps_serving)
{
    session();
    mcpd_errs errs;
    void *old = resources(DOCS(",\"watch\":false"), &errs);
    /* a failed reload: the new section is freed, the old one serves on */
    void *bad = section(mcpd_resources_configure,
                        "["
                        "{\"name\":\"docs\",\"path\":\"docs\"},"
                        "{\"name\":\"x\",\"path\":\"nope\"}]",
                        &errs);
    CHECK(bad == NULL);
    CHECK_CONTAINS(errs.text, "/resources/1/path: expected a directory");
    CHECK(listed("file:///docs/a.md"));
    CHECK_STR(jstr(read_uri("file:///docs/a.md"), "result.contents.0.text"), "# A\n");
    /* a good reload: new activated, then old freed; nothing vanishes */
    void *fresh = resources(DOCS(",\"watch\":false"), &errs);
    CHECK(fresh != NULL);
    mcpd_resources_free(old);
    CHECK(listed("file:///docs/a.md"));
    CHECK_STR(jstr(read_uri("file:///docs/a.md"), "result.contents.0.text"), "# A\n");
    CHECK_STR(jstr(req("resources/templates/list", "{}"), "result.resourceTemplates.0.name"),
              "docs");
    mcpd_resources_free(fresh);
    CHECK(!listed("file:///docs/a.md"));
    end_session();
}

TEST(resource_config_mistakes)
{
    session();
    static const struct {
        const char *json, *expect;
    } cases[] = {
        {"{}", "/resources: expected an array, got object"},
        {"[1]", "/resources/0: expected an object, got integer"},
        {"[{\"path\":\"docs\"}]", "/resources/0: missing required key 'name'"},
        {"[{\"name\":\"d\"}]", "/resources/0: missing required key 'path'"},
        {"[{\"name\":\"d\",\"path\":\"docs\",\"wacth\":true}]",
         "/resources/0/wacth: unknown key 'wacth' (expected one of: name, path, uri_prefix"},
        {"[{\"name\":\"d\",\"path\":7}]", "/resources/0/path: expected a string, got integer"},
        {"[{\"name\":\"d\",\"path\":\"docs\",\"max_file_bytes\":0}]",
         "/resources/0/max_file_bytes: expected an integer from 1 to 67108864, got 0"},
        {"[{\"name\":\"d\",\"path\":\"docs\",\"watch\":\"yes\"}]",
         "/resources/0/watch: expected true or false, got string"},
        {"[{\"name\":\"d\",\"path\":\"docs\",\"uri_prefix\":\"docs\"}]",
         "/resources/0: uri_prefix: expected an absolute URI ending in '/'"},
        {"[{\"name\":\"d\",\"path\":\"docs/a.md\"}]", "/resources/0/path: expected a directory:"},
        {"[{\"name\":\"d\",\"path\":\"docs/a.md\",\"optional\":true}]",
         "/resources/0/path: expected a directory:"},
        {"[{\"name\":\"d\",\"path\":\"docs\",\"optional\":1}]",
         "/resources/0/optional: expected true or false, got integer"},
        {"[{\"name\":\"d\",\"path\":\"docs\",\"mime\":{\"x\":1}}]",
         "/resources/0/mime/x: expected a MIME type string"},
        {"[{\"name\":\"d\",\"path\":\"docs\",\"mime\":{\"x\":\"nope\"}}]",
         "/resources/0: mime: expected {\"ext\": \"type/subtype\"}"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        mcpd_errs errs;
        void *r = section(mcpd_resources_configure, cases[i].json, &errs);
        if (r) T_FAIL("case %zu accepted: %s", i, cases[i].json);
        if (!strstr(errs.text, cases[i].expect))
            T_FAIL("case %zu: \"%s\" lacks \"%s\"", i, errs.text, cases[i].expect);
    }
    end_session();
}

/* ---- prompts -------------------------------------------------------------------------------- */

#define REVIEW                                                                                     \
    "[{\"name\":\"review\",\"description\":\"Review code\",\"file\":\"prompts/review.md\","        \
    "\"arguments\":[{\"name\":\"code\",\"required\":true},{\"name\":\"language\","                 \
    "\"completions\":[\"c\",\"c++\",\"python\",\"Perl\"]}]}]"

TEST(prompts_rendered_and_completed)
{
    session();
    char p[512];
    snprintf(p, sizeof p, "%s/prompts/review.md", dir);
    FILE *f = fopen(p, "w");
    fputs("Review this{{#language}} {{language}}{{/language}} code:\n{{code}}\n"
          "{{@assistant}}\nI will.",
          f);
    fclose(f);
    mcpd_errs errs;
    void *ps = section(mcpd_prompts_configure, REVIEW, &errs);
    CHECK_STR(errs.text, "");
    CHECK(ps != NULL);
    CHECK_INT(mcpd_prompts_activate(ps, &errs), 0);
    const char *o = req("prompts/list", "{}");
    CHECK_STR(jstr(o, "result.prompts.0.name"), "review");
    CHECK_STR(jstr(o, "result.prompts.0.arguments.0.name"), "code");
    o = req("prompts/get", "{\"name\":\"review\",\"arguments\":{\"code\":\"x = $(rm -rf /)\","
                           "\"language\":\"{{code}}\"}}");
    CHECK_STR(jstr(o, "result.messages.0.role"), "user");
    CHECK_STR(jstr(o, "result.messages.0.content.text"),
              "Review this {{code}} code:\nx = $(rm -rf /)");
    CHECK_STR(jstr(o, "result.messages.1.role"), "assistant");
    CHECK_STR(jstr(o, "result.messages.1.content.text"), "I will.");
    CHECK_STR(jstr(o, "result.description"), "Review code");
    o = req("prompts/get", "{\"name\":\"review\",\"arguments\":{}}");
    CHECK_INT(jint(o, "error.code"), -32602);
    o = req("completion/complete", "{\"ref\":{\"type\":\"ref/prompt\",\"name\":\"review\"},"
                                   "\"argument\":{\"name\":\"language\",\"value\":\"P\"}}");
    CHECK_STR(jstr(o, "result.completion.values.0"), "python");
    CHECK_STR(jstr(o, "result.completion.values.1"), "Perl");
    CHECK_INT(jint(o, "result.completion.total"), 2);
    /* reload with a changed template: the new text is served, the prompt never vanishes */
    void *ps2 = section(mcpd_prompts_configure,
                        "[{\"name\":\"review\",\"text\":\"v2 {{code}}\",\"arguments\":["
                        "{\"name\":\"code\",\"required\":true}]}]",
                        &errs);
    CHECK(ps2 != NULL);
    CHECK_INT(mcpd_prompts_activate(ps2, &errs), 0);
    mcpd_prompts_free(ps);
    o = req("prompts/get", "{\"name\":\"review\",\"arguments\":{\"code\":\"k\"}}");
    CHECK_STR(jstr(o, "result.messages.0.content.text"), "v2 k");
    /* only the text changes: the registration stays (no list_changed, never missing) */
    int from = rec_count();
    void *ps3 = section(mcpd_prompts_configure,
                        "[{\"name\":\"review\",\"text\":\"v3 {{code}}\",\"arguments\":["
                        "{\"name\":\"code\",\"required\":true}]}]",
                        &errs);
    CHECK_INT(mcpd_prompts_activate(ps3, &errs), 0);
    mcpd_prompts_free(ps2);
    o = req("prompts/get", "{\"name\":\"review\",\"arguments\":{\"code\":\"k\"}}");
    CHECK_STR(jstr(o, "result.messages.0.content.text"), "v3 k");
    pthread_mutex_lock(&rec_mu);
    for (int k = from; k < nout; k++)
        if (strstr(outs[k].data, "prompts/list_changed")) {
            pthread_mutex_unlock(&rec_mu);
            T_FAIL("list_changed sent for a text-only change");
        }
    pthread_mutex_unlock(&rec_mu);
    ps2 = ps3;
    mcpd_prompts_free(ps2);
    o = req("prompts/list", "{}");
    CHECK_INT(jlen_(o), 0);
    end_session();
}

TEST(prompt_config_mistakes)
{
    session();
    static const struct {
        const char *json, *expect;
    } cases[] = {
        {"[{\"name\":\"p\"}]",
         "/prompts/0: expected exactly one of 'file' (a template file) or 'text'"},
        {"[{\"name\":\"p\",\"text\":\"a\",\"file\":\"b\"}]", "/prompts/0: expected exactly one"},
        {"[{\"name\":\"p\",\"text\":\"{{nme}}\",\"arguments\":[{\"name\":\"name\"}]}]",
         "/prompts/0/text: template:1:1: unknown argument 'nme' (declared: name)"},
        {"[{\"name\":\"p\",\"file\":\"prompts/missing.md\"}]",
         "/prompts/0/file: cannot open the template"},
        {"[{\"name\":\"p\",\"text\":\"x\",\"arguments\":[{\"name\":\"a\",\"completions\":[1]}]}]",
         "/prompts/0/arguments/0/completions/0: expected a string"},
        {"[{\"name\":\"p\",\"text\":\"x\",\"arguments\":[{\"name\":\"a\"},{\"name\":\"a\"}]}]",
         "/prompts/0: arguments/1/name: 'a' is declared twice"},
        {"[{\"name\":\"p\",\"text\":\"x\"},{\"name\":\"p\",\"text\":\"y\"}]",
         "/prompts/1/name: the prompt 'p' is already defined at /prompts/0"},
        {"[{\"name\":\"p\",\"text\":\"x\",\"argument\":[]}]",
         "/prompts/0/argument: unknown key 'argument'"},
        {"[{\"name\":\"p\",\"text\":\"x\",\"arguments\":[{\"name\":\"a\",\"requird\":true}]}]",
         "/prompts/0/arguments/0/requird: unknown key 'requird'"},
        {"[{\"name\":\"p\",\"text\":\"{{#a}}\",\"arguments\":[{\"name\":\"a\"}]}]",
         "/prompts/0/text: template:1:7: {{#a}} is never closed"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        mcpd_errs errs;
        void *r = section(mcpd_prompts_configure, cases[i].json, &errs);
        if (r) T_FAIL("case %zu accepted: %s", i, cases[i].json);
        if (!strstr(errs.text, cases[i].expect))
            T_FAIL("case %zu: \"%s\" lacks \"%s\"", i, errs.text, cases[i].expect);
    }
    CHECK(!strstr(req("prompts/list", "{}"), "\"name\":\"p\""));
    end_session();
}

TEST(check_only_registers_nothing)
{
    session();
    mcpd_errs errs;
    mcp_server *keep = srv;
    srv = NULL; /* mcpd --check-config configures with no server */
    void *r = section(mcpd_resources_configure, DOCS(""), &errs);
    void *p = section(mcpd_prompts_configure, "[{\"name\":\"p\",\"text\":\"x\"}]", &errs);
    srv = keep;
    CHECK(r != NULL && p != NULL);
    mcpd_resources_activate(r);
    if (mcpd_prompts_activate(p, &errs)) T_FAIL("activate: %s", errs.text);
    CHECK(!listed("file:///docs/a.md"));
    CHECK(!strstr(req("prompts/list", "{}"), "\"name\":\"p\""));
    mcpd_resources_free(r);
    mcpd_prompts_free(p);
    /* and a mistake is still found */
    srv = NULL;
    CHECK(section(mcpd_resources_configure, "[{\"name\":\"d\",\"path\":\"nope\"}]", &errs) == NULL);
    srv = keep;
    CHECK_CONTAINS(errs.text, "/resources/0/path: expected a directory");
    end_session();
}

int main(void)
{
    setup();
    RUN(directory_listed);
    RUN(listing_is_paged);
    RUN(reads_and_refusals);
    RUN(watcher_follows_changes);
    RUN(max_depth_zero_serves_the_top_only);
    RUN(optional_directory_may_be_missing);
    RUN(reload_keeps_serving);
    RUN(resource_config_mistakes);
    RUN(prompts_rendered_and_completed);
    RUN(prompt_config_mistakes);
    RUN(check_only_registers_nothing);
    sh("rm -rf %s", dir);
    return test_summary();
}
