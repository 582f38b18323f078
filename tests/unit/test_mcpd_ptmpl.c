/* test_mcpd_ptmpl.c - prompt templates: substitution, sections, roles, comments, escapes; every
 * compile error with its line and column; values never read as template text; the output cap. */
#include "test.h"

#include "../../src/mcpd/ptmpl.c"

static const char *const names[] = {"code", "language", "focus"};

typedef struct {
    char out[4096];
    size_t n;
} sink;

static void collect(const char *role, const char *text, size_t len, void *ud)
{
    sink *s = ud;
    s->n += (size_t)snprintf(s->out + s->n, sizeof s->out - s->n, "[%s]%.*s", role, (int)len, text);
}

static const char *render(const char *tmpl, const char *code, const char *lang, const char *focus)
{
    static sink s;
    char err[256];
    memset(&s, 0, sizeof s);
    ptmpl *t = ptmpl_compile(tmpl, strlen(tmpl), names, 3, err, sizeof err);
    if (!t) return NULL;
    const char *vals[3] = {code, lang, focus};
    int rc = ptmpl_render(t, vals, 1 << 20, collect, &s);
    ptmpl_free(t);
    return rc ? NULL : s.out;
}

static const char *compile_error(const char *tmpl)
{
    static char err[256];
    ptmpl *t = ptmpl_compile(tmpl, strlen(tmpl), names, 3, err, sizeof err);
    if (t) {
        ptmpl_free(t);
        return "(compiled)";
    }
    return err;
}

TEST(substitution)
{
    CHECK_STR(render("Review this {{language}} code:\n{{ code }}", "x = 1", "Python", NULL),
              "[user]Review this Python code:\nx = 1");
    CHECK_STR(render("a{{focus}}b", NULL, NULL, NULL), "[user]ab");
    CHECK_STR(render("no tags at all", NULL, NULL, NULL), "[user]no tags at all");
    CHECK_STR(render("{{! a comment }}x", NULL, NULL, NULL), "[user]x");
    CHECK_STR(render("literal \\{{code}}", "C", NULL, NULL), "[user]literal {{code}}");
}

TEST(values_are_not_templates)
{
    CHECK_STR(render("{{code}}", "{{language}} {{#focus}}x{{/focus}}", "L", "F"),
              "[user]{{language}} {{#focus}}x{{/focus}}");
}

TEST(sections)
{
    const char *t =
        "Check.{{#focus}} Focus on {{focus}}.{{/focus}}{{^focus}} Be general.{{/focus}}";
    CHECK_STR(render(t, NULL, NULL, "speed"), "[user]Check. Focus on speed.");
    CHECK_STR(render(t, NULL, NULL, NULL), "[user]Check. Be general.");
    CHECK_STR(render(t, NULL, NULL, ""), "[user]Check. Be general.");
    CHECK_STR(render("{{#code}}{{#language}}both{{/language}}{{/code}}", "c", "l", NULL),
              "[user]both");
    CHECK_STR(render("{{#code}}{{#language}}both{{/language}}{{/code}}", "c", NULL, NULL), "");
}

TEST(roles)
{
    CHECK_STR(
        render("{{@user}}\nQ: {{code}}\n{{@assistant}}\nA: sure\n{{@user}}\nmore", "x", NULL, NULL),
        "[user]Q: x[assistant]A: sure[user]more");
    CHECK_STR(render("  \n{{@assistant}}hi", NULL, NULL, NULL), "[assistant]hi");
}

TEST(compile_errors)
{
    CHECK_STR(compile_error("line one\nand {{langauge}}"),
              "2:5: unknown argument 'langauge' (declared: code, language, focus)");
    CHECK_STR(compile_error("{{code"), "1:1: '{{' without its '}}'");
    CHECK_STR(compile_error("x{{#code}}y"), "1:12: {{#code}} is never closed");
    CHECK_STR(compile_error("{{#code}}{{/focus}}"), "1:10: {{/focus}} closes {{#code}}");
    CHECK_STR(compile_error("{{/code}}"), "1:1: {{/code}} closes no section");
    CHECK_STR(compile_error("{{}}"), "1:1: empty tag");
    CHECK_STR(compile_error("{{ a b }}"),
              "1:5: unexpected character ' ' in a tag (names are letters, digits, '_', '-', '.')");
    CHECK_STR(compile_error("{{@system}}"),
              "1:1: unknown role 'system' (expected {{@user}} or {{@assistant}})");
    CHECK_STR(compile_error("{{#code}}{{@user}}{{/code}}"),
              "1:10: a role tag cannot be inside a section");
    CHECK_STR(compile_error("{{#code}}{{#code}}{{#code}}{{#code}}{{#code}}{{#code}}{{#code}}"
                            "{{#code}}{{#code}}"),
              "1:73: sections nest deeper than 8");
}

TEST(output_cap)
{
    char err[128];
    ptmpl *t = ptmpl_compile("{{code}}{{code}}", 16, names, 3, err, sizeof err);
    CHECK(t != NULL);
    sink s = {0};
    const char *vals[3] = {"0123456789", NULL, NULL};
    CHECK_INT(ptmpl_render(t, vals, 19, collect, &s), -1);
    CHECK_INT(s.n, 0);
    CHECK_INT(ptmpl_render(t, vals, 20, collect, &s), 0);
    CHECK_STR(s.out, "[user]01234567890123456789");
    ptmpl_free(t);
}

int main(void)
{
    RUN(substitution);
    RUN(values_are_not_templates);
    RUN(sections);
    RUN(roles);
    RUN(compile_errors);
    RUN(output_cap);
    return test_summary();
}
