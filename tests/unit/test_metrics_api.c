/* test_metrics_api.c - the public metrics API (include/mcp/metrics.h) and the engine's request
 * observer behind the per-method and per-tool series: a program's counters and gauges, bad
 * names refused, every request begun and ended once with the right outcome, tool names only
 * for registered tools, and a running HTTP transport's snapshot holding all of it. */
#include "test.h"

#include "mcp/engine.h"
#include "mcp/metrics.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void ok_tool(mcp_ctx *c, void *ud)
{
    (void)ud;
    mcp_ctx_text(c, "fine");
    mcp_ctx_finish(c);
}

static void bad_tool(mcp_ctx *c, void *ud)
{
    (void)ud;
    mcp_ctx_tool_error(c, "broken");
}

static mcp_server *make_server(void)
{
    char err[256];
    mcp_server *s =
        mcp_server_new_err(&(mcp_server_info){.name = "m", .version = "1"}, err, sizeof err);
    mcp_tool_def a = {.name = "good", .handler = ok_tool};
    mcp_tool_def b = {.name = "bad", .handler = bad_tool};
    if (mcp_server_add_tool(s, &a, err, sizeof err) || mcp_server_add_tool(s, &b, err, sizeof err))
        abort();
    return s;
}

TEST(program_series)
{
    mcp_server *s = make_server();
    int c = mcp_metrics_counter(s, "app_reloads_total", NULL, "Reloads.");
    int g = mcp_metrics_gauge(s, "mcpd_breaker_state", "tool=\"good\"", "Breaker.");
    CHECK(c >= 0 && g >= 0);
    CHECK_INT(mcp_metrics_counter(s, "9bad", NULL, NULL), MCP_EINVAL);
    CHECK_INT(mcp_metrics_counter(s, "bad-name", NULL, NULL), MCP_EINVAL);
    CHECK_INT(mcp_metrics_gauge(s, "ok", "tool=\"a\"b\"", NULL), MCP_EINVAL);
    CHECK_INT(mcp_metrics_gauge(s, "ok", "tool=unquoted", NULL), MCP_EINVAL);
    CHECK_INT(mcp_metrics_gauge(s, "ok", NULL, "two\nlines"), MCP_EINVAL);
    mcp_metrics_add(s, c, 3);
    mcp_metrics_set(s, g, 2);
    mcp_metrics_set(s, g, 1);
    CHECK_INT(mcp_metrics_get(s, c), 3);
    CHECK_INT(mcp_metrics_get(s, g), 1);
    mcp_server_free(s);
}

/* ---- the collector ---------------------------------------------------------------------------
 */

static int collect_calls, collect_rc[8];

static void collect(void *ud, mcp_metrics_writer *w)
{
    int *tools = ud;
    collect_calls++;
    char labels[64];
    for (int i = 0; i < *tools; i++) { /* interleaved families: rendered grouped */
        snprintf(labels, sizeof labels, "tool=\"t%d\"", i);
        mcp_metrics_write(w, "app_breaker_state", labels, MCP_METRIC_GAUGE, "Breaker.", i);
        mcp_metrics_write(w, "app_refused_total", labels, MCP_METRIC_COUNTER, "Refused.", 10 * i);
    }
    collect_rc[0] = mcp_metrics_write(w, "app_reloads_total", NULL, MCP_METRIC_COUNTER, NULL, 1);
    collect_rc[1] = mcp_metrics_write(w, "app_refused_total", "tool=\"t0\"", MCP_METRIC_COUNTER,
                                      NULL, 1); /* written already */
    collect_rc[2] = mcp_metrics_write(w, "app_breaker_state", "x=\"1\"", MCP_METRIC_COUNTER, NULL,
                                      1); /* a gauge family */
    collect_rc[3] = mcp_metrics_write(w, "bad-name", NULL, MCP_METRIC_GAUGE, NULL, 1);
    collect_rc[4] =
        mcp_metrics_write(w, "app_time_seconds", NULL, MCP_METRIC_GAUGE, "T.", 1764800000.5);
}

TEST(collector_writes_series_at_each_read)
{
    mcp_server *s = make_server();
    int c = mcp_metrics_counter(s, "app_reloads_total", NULL, "Reloads.");
    int tools = 2;
    CHECK_INT(mcp_metrics_collector(s, collect, &tools), 0);
    mcp_metrics_add(s, c, 1);
    mcp_buf b;
    mcp_buf_init(&b, NULL, 0, 0);
    mcp_server_metrics_render(s, &b);
    mcp_buf_append(&b, "", 1);
    CHECK_INT(collect_calls, 1);
    CHECK_INT(collect_rc[0], MCP_EINVAL); /* registered: not collected too */
    CHECK_INT(collect_rc[1], MCP_EINVAL);
    CHECK_INT(collect_rc[2], MCP_EINVAL);
    CHECK_INT(collect_rc[3], MCP_EINVAL);
    CHECK_INT(collect_rc[4], 0);
    CHECK_STR(b.data, "# HELP app_reloads_total Reloads.\n# TYPE app_reloads_total counter\n"
                      "app_reloads_total 1\n"
                      "# HELP app_breaker_state Breaker.\n# TYPE app_breaker_state gauge\n"
                      "app_breaker_state{tool=\"t0\"} 0\napp_breaker_state{tool=\"t1\"} 1\n"
                      "# HELP app_refused_total Refused.\n# TYPE app_refused_total counter\n"
                      "app_refused_total{tool=\"t0\"} 0\napp_refused_total{tool=\"t1\"} 10\n"
                      "# HELP app_time_seconds T.\n# TYPE app_time_seconds gauge\n"
                      "app_time_seconds 1764800000.5\n");
    /* a reload that drops a tool: the next read has one series fewer */
    tools = 1;
    b.len = 0;
    mcp_server_metrics_render(s, &b);
    mcp_buf_append(&b, "", 1);
    CHECK(strstr(b.data, "tool=\"t1\"") == NULL);
    CHECK(strstr(b.data, "app_breaker_state{tool=\"t0\"} 0\n") != NULL);
    mcp_buf_free(&b);
    CHECK_INT(mcp_metrics_collector(NULL, collect, &tools), MCP_EINVAL);
    mcp_server_free(s);
}

/* ---- the observer -----------------------------------------------------------------------------
 */

static struct {
    int begun, ended;
    int outcome[MCP_OUTCOME_COUNT];
    char last_tool[64], last_method[64];
} seen;

static void observer(void *ud, const mcp_req_event *e)
{
    (void)ud;
    if (!e->end) {
        seen.begun++;
        return;
    }
    seen.ended++;
    seen.outcome[e->outcome]++;
    snprintf(seen.last_tool, sizeof seen.last_tool, "%s", e->tool ? e->tool : "(null)");
    snprintf(seen.last_method, sizeof seen.last_method, "%s", e->method ? e->method : "(null)");
}

static void sink(void *ud, const mcp_out *o)
{
    (void)ud;
    (void)o;
}

static void send_msg(mcp_conn *c, const char *msg)
{
    mcp_conn_handle(c, msg, strlen(msg), NULL, NULL);
}

TEST(observer_outcomes)
{
    mcp_server *s = make_server();
    memset(&seen, 0, sizeof seen);
    mcp_server_set_observer(s, observer, NULL);
    mcp_conn *c = mcp_conn_new(s, &(mcp_conn_options){.sink = {sink, NULL}});
    send_msg(c, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"initialize\",\"params\":{"
                "\"protocolVersion\":\"2025-11-25\",\"capabilities\":{},"
                "\"clientInfo\":{\"name\":\"t\",\"version\":\"1\"}}}");
    send_msg(c, "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}");
    CHECK_INT(seen.begun, 1); /* a notification is not a request */
    send_msg(c, "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"tools/call\",\"params\":{"
                "\"name\":\"good\",\"arguments\":{}}}");
    CHECK_STR(seen.last_tool, "good");
    CHECK_STR(seen.last_method, "tools/call");
    send_msg(c, "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"tools/call\",\"params\":{"
                "\"name\":\"bad\",\"arguments\":{}}}");
    CHECK_STR(seen.last_tool, "bad");
    send_msg(c, "{\"jsonrpc\":\"2.0\",\"id\":4,\"method\":\"tools/call\",\"params\":{"
                "\"name\":\"nope\",\"arguments\":{}}}");
    CHECK_STR(seen.last_tool, "(null)"); /* unknown names are never handed out */
    send_msg(c, "{\"jsonrpc\":\"2.0\",\"id\":5,\"method\":\"no/such/method\"}");
    CHECK_STR(seen.last_method, "(null)");
    CHECK_INT(seen.begun, 5);
    CHECK_INT(seen.ended, 5);
    CHECK_INT(seen.outcome[MCP_OUTCOME_OK], 2); /* initialize, good */
    CHECK_INT(seen.outcome[MCP_OUTCOME_TOOL_ERROR], 1);
    CHECK_INT(seen.outcome[MCP_OUTCOME_ERROR], 2);
    mcp_conn_close(c);
    mcp_server_free(s);
}

TEST(http_snapshot_holds_every_series)
{
    mcp_server *s = make_server();
    int g = mcp_metrics_gauge(s, "mcpd_alert_active", "rule=\"p99\"", "Alert raised.");
    mcp_metrics_set(s, g, 1);
    char err[256];
    mcp_http *h =
        mcp_http_start(s, &(mcp_http_options){.host = "127.0.0.1", .workers = 1}, err, sizeof err);
    CHECK(h != NULL);
    CHECK_INT(mcp_http_admin_port(h), 0);
    size_t len = 0;
    char *text = mcp_http_metrics_text(h, &len);
    CHECK_INT(strlen(text), len);
    CHECK_CONTAINS(text, "# TYPE mcpd_requests_total counter");
    CHECK_CONTAINS(text, "mcpd_tool_calls_total{tool=\"good\",outcome=\"ok\"} 0");
    CHECK_CONTAINS(text, "mcpd_tool_call_seconds_bucket{tool=\"_other\",le=\"+Inf\"} 0");
    CHECK_CONTAINS(text, "mcpd_alert_active{rule=\"p99\"} 1");
    CHECK_CONTAINS(text, "mcpd_connections_open ");
    free(text);
    CHECK_INT(mcp_http_stop(h), MCP_SERVE_OK);
    mcp_server_free(s);
}

/* mcp_server_set_alert_rules checks the whole set at once: a mistake changes nothing. */
TEST(alert_rules_are_checked_when_set)
{
    mcp_server *s = make_server();
    char err[200];
    mcp_alert_rule ok = {.name = "fds_high", .signal = "fds", .raise = 10, .clear = 5};
    mcp_alert_rule dup[2] = {ok, ok};
    CHECK_INT(mcp_server_set_alert_rules(s, dup, 2, err, sizeof err), MCP_EINVAL);
    CHECK_STR(err, "alert rule 1 (fds_high): a rule of that name comes before");
    mcp_alert_rule bad = ok;
    bad.signal = "cpu";
    CHECK_INT(mcp_server_set_alert_rules(s, &bad, 1, err, sizeof err), MCP_EINVAL);
    CHECK_CONTAINS(err, "unknown signal");
    bad = ok;
    bad.clear = 11;
    CHECK_INT(mcp_server_set_alert_rules(s, &bad, 1, err, sizeof err), MCP_EINVAL);
    CHECK_CONTAINS(err, "clear threshold is above the raise threshold");
    bad = ok;
    bad.name = "Bad-Name";
    CHECK_INT(mcp_server_set_alert_rules(s, &bad, 1, err, sizeof err), MCP_EINVAL);
    CHECK_INT(mcp_server_set_alert_rules(s, &ok, 65, err, sizeof err), MCP_EINVAL);
    CHECK_INT(srv_alert_rules_gen(s), 0); /* nothing was set */
    CHECK_INT(mcp_server_set_alert_rules(s, &ok, 1, err, sizeof err), 0);
    CHECK_INT(mcp_server_set_alert_rules(s, NULL, 0, err, sizeof err), 0); /* the defaults */
    srv_alert_rules *a = malloc(sizeof *a);
    CHECK(srv_alert_rules_get(s, 0, a));
    CHECK(a->defaults && a->n == 0 && a->gen == 2);
    CHECK(!srv_alert_rules_get(s, 2, a)); /* seen already */
    free(a);
    mcp_server_free(s);
}

int main(void)
{
    RUN(program_series);
    RUN(collector_writes_series_at_each_read);
    RUN(alert_rules_are_checked_when_set);
    RUN(observer_outcomes);
    RUN(http_snapshot_holds_every_series);
    return test_summary();
}
