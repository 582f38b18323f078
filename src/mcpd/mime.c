/* mime.c - MIME types of served files by extension (see mime.h).
 *
 * The table is sorted by extension and searched with bsearch; it holds what a folder of
 * documents and code usually contains. Files whose extension is not here are served by the
 * caller's default (text/plain when the bytes are UTF-8, application/octet-stream otherwise),
 * and a config may add its own extensions. */
#include "mime.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

typedef struct {
    const char *ext;
    const char *mime;
} mime_entry;

/* Sorted by ext (lowercase ASCII order). */
static const mime_entry table[] = {
    {"aac", "audio/aac"},
    {"avif", "image/avif"},
    {"bmp", "image/bmp"},
    {"c", "text/x-c"},
    {"cc", "text/x-c++"},
    {"cfg", "text/plain"},
    {"cmake", "text/x-cmake"},
    {"conf", "text/plain"},
    {"cpp", "text/x-c++"},
    {"cs", "text/x-csharp"},
    {"css", "text/css"},
    {"csv", "text/csv"},
    {"diff", "text/x-diff"},
    {"flac", "audio/flac"},
    {"gif", "image/gif"},
    {"go", "text/x-go"},
    {"gz", "application/gzip"},
    {"h", "text/x-c"},
    {"hpp", "text/x-c++"},
    {"htm", "text/html"},
    {"html", "text/html"},
    {"ico", "image/vnd.microsoft.icon"},
    {"ini", "text/plain"},
    {"java", "text/x-java"},
    {"jpeg", "image/jpeg"},
    {"jpg", "image/jpeg"},
    {"js", "text/javascript"},
    {"json", "application/json"},
    {"jsonl", "application/jsonl"},
    {"kt", "text/x-kotlin"},
    {"log", "text/plain"},
    {"lua", "text/x-lua"},
    {"m4a", "audio/mp4"},
    {"markdown", "text/markdown"},
    {"md", "text/markdown"},
    {"mdx", "text/markdown"},
    {"mjs", "text/javascript"},
    {"mp3", "audio/mpeg"},
    {"mp4", "video/mp4"},
    {"ogg", "audio/ogg"},
    {"patch", "text/x-diff"},
    {"pdf", "application/pdf"},
    {"php", "text/x-php"},
    {"pl", "text/x-perl"},
    {"png", "image/png"},
    {"py", "text/x-python"},
    {"rb", "text/x-ruby"},
    {"rs", "text/x-rust"},
    {"rst", "text/x-rst"},
    {"sh", "text/x-shellscript"},
    {"sql", "application/sql"},
    {"svg", "image/svg+xml"},
    {"swift", "text/x-swift"},
    {"tar", "application/x-tar"},
    {"tex", "text/x-tex"},
    {"tif", "image/tiff"},
    {"tiff", "image/tiff"},
    {"toml", "application/toml"},
    {"ts", "text/x-typescript"},
    {"tsv", "text/tab-separated-values"},
    {"txt", "text/plain"},
    {"wasm", "application/wasm"},
    {"wav", "audio/wav"},
    {"webm", "video/webm"},
    {"webp", "image/webp"},
    {"xml", "application/xml"},
    {"yaml", "application/yaml"},
    {"yml", "application/yaml"},
    {"zip", "application/zip"},
};

static int cmp_entry(const void *key, const void *elem)
{
    return strcasecmp(key, ((const mime_entry *)elem)->ext);
}

const char *mime_by_name(const char *name)
{
    if (!name) return NULL;
    const char *slash = strrchr(name, '/');
    const char *base = slash ? slash + 1 : name;
    const char *dot = strrchr(base, '.');
    if (!dot || dot == base || !dot[1] || strlen(dot + 1) > 16) return NULL;
    const mime_entry *e =
        bsearch(dot + 1, table, sizeof table / sizeof table[0], sizeof table[0], cmp_entry);
    return e ? e->mime : NULL;
}

bool mime_is_text(const char *mime)
{
    if (!mime) return false;
    if (!strncmp(mime, "text/", 5)) return true;
    static const char *const text_types[] = {
        "application/json", "application/jsonl", "application/xml",        "application/yaml",
        "application/toml", "application/sql",   "application/javascript", "image/svg+xml",
    };
    for (size_t i = 0; i < sizeof text_types / sizeof text_types[0]; i++)
        if (!strcmp(mime, text_types[i])) return true;
    size_t n = strlen(mime);
    return n > 5 && (!strcmp(mime + n - 5, "+json") || !strcmp(mime + n - 4, "+xml"));
}

static bool token_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           strchr("!#$&-^_.+", c) != NULL;
}

bool mime_valid(const char *s)
{
    if (!s) return false;
    size_t n = strlen(s), slash = 0, nslash = 0;
    if (n < 3 || n > 127) return false;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '/') {
            slash = i;
            nslash++;
        } else if (!token_char(s[i])) {
            return false;
        }
    }
    return nslash == 1 && slash > 0 && slash < n - 1;
}

bool mime_utf8_text(const void *data, size_t n)
{
    const unsigned char *s = data;
    size_t i = 0;
    while (i < n) {
        unsigned char c = s[i];
        size_t k;
        uint32_t cp;
        if (c < 0x80) {
            if (c == 0) return false; /* NUL: not text we can hand on as a C string */
            i++;
            continue;
        } else if (c >= 0xC2 && c <= 0xDF) {
            k = 1, cp = c & 0x1F;
        } else if (c >= 0xE0 && c <= 0xEF) {
            k = 2, cp = c & 0x0F;
        } else if (c >= 0xF0 && c <= 0xF4) {
            k = 3, cp = c & 0x07;
        } else {
            return false;
        }
        if (i + k >= n) return false;
        for (size_t j = 1; j <= k; j++) {
            if ((s[i + j] & 0xC0) != 0x80) return false;
            cp = (cp << 6) | (s[i + j] & 0x3F);
        }
        if ((k == 2 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) ||
            (k == 3 && (cp < 0x10000 || cp > 0x10FFFF)))
            return false;
        i += k + 1;
    }
    return true;
}
