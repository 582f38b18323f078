/* test_access_log.c - the access log's formatter (fields, escaping, bounds) and writer (per-worker
 * buffers, reopen after a rename, write errors counted), and rpc_response_error_code. */
#include "test.h"

#include "rpc/rpc.h"
#include "transport/access_log.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sys/socket.h>
#include <stdio.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static mcp_access_record full_record(void)
{
    return (mcp_access_record){.time_unix_ms = 1796317200123ull, /* 2026-12-03T17:00:00.123Z */
                               .client = "127.0.0.1:51234",
                               .http_method = "POST",
                               .path = "/mcp",
                               .mcp_method = "tools/call",
                               .name = "echo",
                               .status = 200,
                               .rpc_error = -32602,
                               .duration_us = 1234,
                               .bytes_in = 321,
                               .bytes_out = 654,
                               .session = "0123abcd",
                               .principal = "alice",
                               .batch = 0,
                               .aborted = false};
}

static const char *fmt(const mcp_access_record *r, bool json)
{
    static char line[ACCESS_LINE_MAX + 1];
    size_t n = access_format(line, ACCESS_LINE_MAX, r, json);
    line[n] = '\0';
    return line;
}

/* The line has exactly one newline, at its end, and nothing below 0x20 elsewhere. */
static bool one_clean_line(const char *s)
{
    size_t n = strlen(s);
    if (!n || s[n - 1] != '\n') return false;
    for (size_t i = 0; i + 1 < n; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f) return false;
    return true;
}

TEST(json_fields)
{
    mcp_access_record r = full_record();
    CHECK_STR(fmt(&r, true),
              "{\"time\":\"2026-12-03T17:00:00.123Z\",\"client\":\"127.0.0.1:51234\","
              "\"method\":\"POST\",\"path\":\"/mcp\",\"status\":200,\"mcp_method\":\"tools/call\","
              "\"name\":\"echo\",\"rpc_error\":-32602,\"duration_ms\":1.234,\"bytes_in\":321,"
              "\"bytes_out\":654,\"session\":\"0123abcd\",\"principal\":\"alice\",\"batch\":0,"
              "\"aborted\":false}\n");
}

TEST(text_fields)
{
    mcp_access_record r = full_record();
    CHECK_STR(fmt(&r, false),
              "time=2026-12-03T17:00:00.123Z client=\"127.0.0.1:51234\" method=\"POST\" "
              "path=\"/mcp\" status=200 mcp_method=\"tools/call\" name=\"echo\" rpc_error=-32602 "
              "duration_ms=1.234 bytes_in=321 bytes_out=654 session=\"0123abcd\" "
              "principal=\"alice\" batch=0 aborted=false\n");
}

TEST(absent_fields)
{
    mcp_access_record r = {.time_unix_ms = 0, .client = "-", .duration_us = 5, .aborted = true};
    CHECK_STR(fmt(&r, true),
              "{\"time\":\"1970-01-01T00:00:00.000Z\",\"client\":\"-\",\"method\":null,"
              "\"path\":null,\"status\":0,\"mcp_method\":null,\"name\":null,\"rpc_error\":null,"
              "\"duration_ms\":0.005,\"bytes_in\":0,\"bytes_out\":0,\"session\":null,"
              "\"principal\":null,\"batch\":0,\"aborted\":true}\n");
    CHECK_STR(fmt(&r, false),
              "time=1970-01-01T00:00:00.000Z client=\"-\" method=- path=- status=0 mcp_method=- "
              "name=- rpc_error=- duration_ms=0.005 bytes_in=0 bytes_out=0 session=- principal=- "
              "batch=0 aborted=true\n");
}

/* A client's name that tries to end the line and start a forged one. */
TEST(escaping_forgery)
{
    mcp_access_record r = full_record();
    r.name = "x\"}\n{\"time\":\"forged\"\r\t\x01\x7f\\";
    const char *j = fmt(&r, true);
    CHECK(one_clean_line(j));
    CHECK(strstr(j, "\"name\":\"x\\\"}\\u000a{\\\"time\\\":\\\"forged\\\"\\u000d\\u0009\\u0001"
                    "\\u007f\\\\\",") != NULL);
    const char *t = fmt(&r, false);
    CHECK(one_clean_line(t));
    CHECK(strstr(t, " name=\"x\\\"}\\x0a{\\\"time\\\":\\\"forged\\\"\\x0d\\x09\\x01\\x7f\\\\\" ") !=
          NULL);
}

TEST(escaping_utf8)
{
    mcp_access_record r = full_record();
    r.name = "caf\xc3\xa9 \xff\xc0\xaf \xed\xa0\x80 \xf0\x9f\x98\x80";
    const char *j = fmt(&r, true);
    CHECK(one_clean_line(j));
    /* valid UTF-8 kept; a stray byte, an overlong and a surrogate become U+FFFD per byte */
    CHECK(strstr(j, "\"name\":\"caf\xc3\xa9 \\ufffd\\ufffd\\ufffd \\ufffd\\ufffd\\ufffd "
                    "\xf0\x9f\x98\x80\"") != NULL);
    const char *t = fmt(&r, false);
    CHECK(
        strstr(t, "name=\"caf\\xc3\\xa9 \\xff\\xc0\\xaf \\xed\\xa0\\x80 \\xf0\\x9f\\x98\\x80\"") !=
        NULL);
}

TEST(bounds)
{
    static char big[20000];
    memset(big, '\x01', sizeof big - 1);
    mcp_access_record r = full_record();
    r.client = r.http_method = r.path = r.mcp_method = r.name = r.session = r.principal = big;
    for (int json = 0; json < 2; json++) {
        char line[ACCESS_LINE_MAX];
        size_t n = access_format(line, sizeof line, &r, json);
        CHECK(n < ACCESS_LINE_MAX);
        CHECK(line[n - 1] == '\n');
        CHECK(memchr(line, '\n', n - 1) == NULL);
    }
    /* a cut value ends with "...", after exactly its bound */
    memset(big, 'a', sizeof big - 1);
    r = full_record();
    r.name = big;
    const char *j = fmt(&r, true);
    char want[ACCESS_NAME_MAX + 32];
    snprintf(want, sizeof want, "\"name\":\"%.*s...\",", ACCESS_NAME_MAX, big);
    CHECK(strstr(j, want) != NULL);
    /* a character is never cut in JSON: 255 bytes and a 2-byte one do not fit in 256 */
    char cut[300];
    memset(cut, 'b', 255);
    memcpy(cut + 255, "\xc3\xa9", 3);
    r.name = cut;
    j = fmt(&r, true);
    snprintf(want, sizeof want, "\"name\":\"%.255s...\",", cut);
    CHECK(strstr(j, want) != NULL);
    /* exactly at the bound: no cut */
    cut[256] = '\0';
    memset(cut, 'c', 256);
    j = fmt(&r, true);
    snprintf(want, sizeof want, "\"name\":\"%.256s\",", cut);
    CHECK(strstr(j, want) != NULL);
}

/* The hand-made UTC date agrees with gmtime_r over leap days, centuries and far years. */
TEST(time_format)
{
    static const uint64_t secs[] = {0,          951782400,  951868800,   1709164800,  1796317200,
                                    4107542400, 4102444799, 32503680000, 253402300799};
    for (size_t i = 0; i < sizeof secs / sizeof *secs; i++)
        for (uint64_t k = 0; k < 3; k++) {
            uint64_t ms = (secs[i] + k * 86399) * 1000 + 7;
            time_t t = (time_t)(ms / 1000);
            struct tm tm;
            gmtime_r(&t, &tm);
            char want[64], got[ACCESS_LINE_MAX];
            strftime(want, sizeof want, "{\"time\":\"%Y-%m-%dT%H:%M:%S.007Z\",", &tm);
            mcp_access_record r = full_record();
            r.time_unix_ms = ms;
            size_t n = access_format(got, sizeof got, &r, true);
            got[n] = '\0';
            if (strncmp(got, want, strlen(want))) T_FAIL("%s != %s", got, want);
        }
}

TEST(rpc_error_code)
{
    const char *ok = "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{\"error\":{\"code\":5}}}";
    CHECK_INT(rpc_response_error_code(ok, strlen(ok)), 0);
    const char *e1 = "{\"jsonrpc\":\"2.0\",\"id\":7,\"error\":{\"code\":-32602,\"message\":\"x\"}}";
    CHECK_INT(rpc_response_error_code(e1, strlen(e1)), -32602);
    const char *e2 = "{\"jsonrpc\":\"2.0\",\"id\":\"a\\\",\\\"error\\\":{\\\"code\\\":1\","
                     "\"error\":{\"code\":-32000,\"message\":\"x\"}}";
    CHECK_INT(rpc_response_error_code(e2, strlen(e2)), -32000);
    const char *e3 = "{\"jsonrpc\":\"2.0\",\"id\":null,\"error\":{\"code\":-32700}}";
    CHECK_INT(rpc_response_error_code(e3, strlen(e3)), -32700);
    CHECK_INT(rpc_response_error_code(e3, 10), 0);
    CHECK_INT(rpc_response_error_code("[1]", 3), 0);
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    static char buf[1 << 16];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

static int count_lines(const char *s)
{
    int n = 0;
    for (; s && *s; s++) n += *s == '\n';
    return n;
}

TEST(writer_reopen)
{
    char dir[] = "/tmp/test_access_logXXXXXX", path[128], moved[128], err[256] = "";
    CHECK(mkdtemp(dir) != NULL);
    snprintf(path, sizeof path, "%s/access.log", dir);
    snprintf(moved, sizeof moved, "%s/access.log.1", dir);
    access_log *l = access_log_open(path, "json", 2, err, sizeof err);
    CHECK(l != NULL);
    struct stat st;
    CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0640);
    mcp_access_record r = full_record();
    access_log_add(l, 0, &r);
    access_log_add(l, 1, &r);
    CHECK_INT(count_lines(slurp(path)), 0); /* buffered */
    access_log_flush(l, 0);
    CHECK_INT(count_lines(slurp(path)), 1);
    CHECK(rename(path, moved) == 0);
    CHECK_INT(access_log_reopen(l), 0);
    access_log_add(l, 0, &r);
    access_log_close(l); /* flushes both workers */
    CHECK_INT(count_lines(slurp(moved)), 1);
    CHECK_INT(count_lines(slurp(path)), 2);
    /* many lines: the buffer goes out whole lines at a time as it fills */
    l = access_log_open(path, NULL, 1, err, sizeof err);
    for (int i = 0; i < 300; i++) access_log_add(l, 0, &r);
    access_log_close(l);
    FILE *f = fopen(path, "rb");
    char line[ACCESS_LINE_MAX];
    int n = 0, bad = 0;
    while (fgets(line, sizeof line, f)) {
        n++;
        bad += strncmp(line, "time=", 5) != 0 && strncmp(line, "{\"time\"", 7) != 0;
    }
    fclose(f);
    CHECK_INT(n, 302);
    CHECK_INT(bad, 0);
    unlink(path);
    unlink(moved);
    rmdir(dir);
}

TEST(writer_errors)
{
    char err[256] = "";
    CHECK(access_log_open("/tmp", "json", 1, err, sizeof err) == NULL);
    CHECK(strstr(err, "cannot open the access log /tmp") != NULL);
    CHECK(access_log_open("/dev/null", "xml", 1, err, sizeof err) == NULL);
    CHECK_STR(err, "access log format must be \"text\" or \"json\", not \"xml\"");
    access_log *l = access_log_open("/dev/full", "text", 1, err, sizeof err);
    CHECK(l != NULL);
    mcp_access_record r = full_record();
    access_log_add(l, 0, &r);
    access_log_add(l, 0, &r);
    access_log_flush(l, 0); /* ENOSPC: counted, logged once, not fatal */
    access_log_add(l, 0, &r);
    access_log_flush(l, 0);
    CHECK_INT(access_log_errors(l), 3);
    CHECK_INT(access_log_reopen(l), 0);
    access_log_close(l);
}

/* ---- the C hook, through a running HTTP transport ---------------------------------------- */

static void ok_tool(mcp_ctx *c, void *ud)
{
    mcp_ctx_text(c, "fine");
    mcp_ctx_finish(c);
}

typedef struct principal {
    const char *name;
} principal;
static const principal alice = {"alice"};

static const void *auth(void *ud, const char *authorization)
{
    return authorization && !strcmp(authorization, "Bearer s3cret") ? &alice : NULL;
}

static const char *name_of(void *ud, const void *p)
{
    return ((const principal *)p)->name;
}

static struct {
    pthread_mutex_t mu;
    int n;
    char line[ACCESS_LINE_MAX];
} seen = {.mu = PTHREAD_MUTEX_INITIALIZER};

static void hook(void *ud, const mcp_access_record *r)
{
    pthread_mutex_lock(&seen.mu);
    seen.n++;
    mcp_access_record c = *r;
    c.time_unix_ms = 0; /* the variable parts, checked below */
    c.duration_us = 0;
    c.client = "C";
    size_t n = access_format(seen.line, sizeof seen.line, &c, true);
    seen.line[n] = '\0';
    pthread_mutex_unlock(&seen.mu);
}

/* Sends req on a new connection to port and reads until the server closes it. */
static size_t roundtrip(int port, const char *req)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&a, sizeof a)) return 0;
    if (write(fd, req, strlen(req)) != (ssize_t)strlen(req)) return 0;
    char buf[4096];
    size_t total = 0;
    ssize_t k;
    while ((k = read(fd, buf, sizeof buf)) > 0) total += (size_t)k;
    close(fd);
    return total;
}

TEST(hook_through_http)
{
    char err[256];
    mcp_server *s =
        mcp_server_new_err(&(mcp_server_info){.name = "m", .version = "1"}, err, sizeof err);
    CHECK(s != NULL);
    mcp_tool_def t = {.name = "good", .handler = ok_tool};
    CHECK_INT(mcp_server_add_tool(s, &t, err, sizeof err), 0);
    mcp_http_options o = {.host = "127.0.0.1",
                          .workers = 1,
                          .auth = auth,
                          .access_hook = hook,
                          .principal_name = name_of};
    mcp_http *h = mcp_http_start(s, &o, err, sizeof err);
    CHECK(h != NULL);
    static const char body[] =
        "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":\"good\","
        "\"arguments\":{},\"_meta\":{\"io.modelcontextprotocol/protocolVersion\":\"2026-07-28\","
        "\"io.modelcontextprotocol/clientCapabilities\":{},"
        "\"io.modelcontextprotocol/clientInfo\":{\"name\":\"t\",\"version\":\"1\"}}}}";
    char req[2048];
    int n = snprintf(req, sizeof req,
                     "POST /mcp?k=v HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
                     "Authorization: Bearer s3cret\r\nContent-Type: application/json\r\n"
                     "Accept: application/json\r\nMCP-Protocol-Version: 2026-07-28\r\n"
                     "Mcp-Method: tools/call\r\nMcp-Name: good\r\nContent-Length: %zu\r\n\r\n%s",
                     strlen(body), body);
    size_t got = roundtrip(mcp_http_port(h), req);
    CHECK(got > 0);
    for (int i = 0; i < 1000; i++) { /* the hook runs as the last byte goes: soon after */
        pthread_mutex_lock(&seen.mu);
        int k = seen.n;
        pthread_mutex_unlock(&seen.mu);
        if (k) break;
        usleep(10000);
    }
    CHECK_INT(mcp_http_stop(h), MCP_SERVE_OK);
    mcp_server_free(s);
    CHECK_INT(seen.n, 1);
    char want[1024];
    snprintf(want, sizeof want,
             "{\"time\":\"1970-01-01T00:00:00.000Z\",\"client\":\"C\",\"method\":\"POST\","
             "\"path\":\"/mcp\",\"status\":200,\"mcp_method\":\"tools/call\",\"name\":\"good\","
             "\"rpc_error\":null,\"duration_ms\":0.000,\"bytes_in\":%d,\"bytes_out\":%zu,"
             "\"session\":null,\"principal\":\"alice\",\"batch\":0,\"aborted\":false}\n",
             n, got);
    CHECK_STR(seen.line, want);
    /* a bad format is refused at start */
    s = mcp_server_new_err(&(mcp_server_info){.name = "m", .version = "1"}, err, sizeof err);
    o.access_log_format = "yaml";
    CHECK(mcp_http_start(s, &o, err, sizeof err) == NULL);
    CHECK_STR(err, "access log format must be \"text\" or \"json\", not \"yaml\"");
    mcp_server_free(s);
}

int main(void)
{
    RUN(json_fields);
    RUN(text_fields);
    RUN(absent_fields);
    RUN(escaping_forgery);
    RUN(escaping_utf8);
    RUN(bounds);
    RUN(time_format);
    RUN(rpc_error_code);
    RUN(writer_reopen);
    RUN(writer_errors);
    RUN(hook_through_http);
    printf("%d passed, %d failed\n", t_passed, t_failed);
    return t_failed ? 1 : 0;
}
