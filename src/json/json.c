/* json.c - the parser: a byte buffer in, an arena DOM out, in one pass and without recursion.
 *
 * The main loop (parse_doc) is a small state machine with three states written as labels:
 * "value" (a value starts here), "next" (a value just ended: look for ',' or a closing
 * bracket) and "key" (a member name starts here). Open containers live on an explicit frame
 * stack bounded by max_depth, so 100 000 '[' cost one error and no C stack. Each value is
 * written in place into a slot on one of two scratch stacks (array items, object members);
 * when a container closes, its entries are copied into one arena array, which makes every
 * array and object contiguous in the DOM. Scratch starts in the parser struct (on the C stack)
 * and grows geometrically in the arena, so a small message allocates only its DOM.
 *
 * Strings are scanned 16 bytes at a time (SSE2; 8 with SWAR elsewhere) for the four things
 * that need attention: '"', '\\', control bytes and non-ASCII bytes. UTF-8 is validated only
 * where a non-ASCII byte is found. A string with no escape is copied as it is; one with
 * escapes is decoded in a second pass over the (now cached and validated) bytes. Integers
 * accumulate with an overflow check; doubles take Clinger's exact fast path or strtod_l in a
 * "C" locale, never the process locale. Member names are checked for duplicates as they come:
 * linearly up to 16 members, then with a seeded hash table in the arena.
 *
 * Errors carry the offset; line and column are computed only when an error happens. */
#include "json/json.h"
#include "json/json_internal.h"
#include "base/alloc.h"

#include <locale.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

const json_limits json_default_limits = {
    .max_depth = 128,
    .max_string = 8u << 20,
    .max_members = 1000000,
    .max_size = (size_t)64 << 20,
    .allow_duplicate_keys = false,
};

#define likely(x)   __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)

#define LOCAL_ITEMS   64 /* scratch entries kept in the parser struct before the arena */
#define LOCAL_MEMBERS 32
#define LOCAL_FRAMES  32
#define SMALL_OBJECT  16   /* up to this many members, duplicates are found by linear search */
#define BIG_CONTAINER 1024 /* from this many entries a container may take its scratch block */

/* Open-addressing set of member indexes for the duplicate check of a large object. */
typedef struct dup_table {
    uint64_t *slot; /* high half: 32 bits of the name's hash; low half: member index + 1
                       (relative to the frame start); 0 = empty */
    size_t mask;
    size_t count;
} dup_table;

typedef struct frame {
    size_t start; /* first scratch entry of this container */
    bool is_obj;
    dup_table *dups; /* built when an object passes SMALL_OBJECT members */
} frame;

typedef struct parser {
    const char *start, *end;
    mcp_arena *arena;
    json_error *err;
    json_limits lim;
    json_value *items; /* scratch: items of the open arrays */
    size_t nitems, citems;
    json_member *members; /* scratch: members of the open objects */
    size_t nmembers, cmembers;
    frame *frames;
    size_t depth, cframes;
    json_value *root;
    json_value items0[LOCAL_ITEMS];
    json_member members0[LOCAL_MEMBERS];
    frame frames0[LOCAL_FRAMES];
} parser;

/* ---- process-wide state: the "C" locale for strtod_l and the hash seed ------------------------
 */

static pthread_once_t once = PTHREAD_ONCE_INIT;
static locale_t c_loc;
static uint64_t hash_seed[2];

static void init_once(void)
{
    c_loc = newlocale(LC_ALL_MASK, "C", (locale_t)0);
    if (!c_loc) mcp_oom(0);
    /* A secret seed keeps an attacker from choosing keys that all collide (hash flooding). */
    if (getrandom(hash_seed, sizeof hash_seed, GRND_NONBLOCK) != (ssize_t)sizeof hash_seed) {
        hash_seed[0] = (uint64_t)time(NULL) ^ (uint64_t)(uintptr_t)&hash_seed;
        hash_seed[1] = (uint64_t)clock() * 0x9E3779B97F4A7C15u;
    }
    hash_seed[0] |= 1;
}

locale_t json_c_locale(void)
{
    pthread_once(&once, init_once);
    return c_loc;
}

/* ---- errors ---------------------------------------------------------------------------------- */

/* Fills the error for a problem at byte `at` and returns NULL (so callers can return fail()). */
__attribute__((format(printf, 3, 4))) static void *fail(parser *ps, const char *at, const char *fmt,
                                                        ...)
{
    json_error *e = ps->err;
    if (!e) return NULL;
    const char *ls = ps->start;
    uint32_t line = 1;
    for (const char *q = ps->start; (q = memchr(q, '\n', (size_t)(at - q))) != NULL; q++) {
        line++;
        ls = q + 1;
    }
    e->offset = (size_t)(at - ps->start);
    e->line = line;
    e->col = (uint32_t)(at - ls) + 1;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->msg, sizeof e->msg, fmt, ap);
    va_end(ap);
    return NULL;
}

/* 'x' for a printable byte, 0xNN for anything else. */
static const char *show_char(unsigned char c, char out[8])
{
    if (c > 0x20 && c < 0x7f)
        snprintf(out, 8, "'%c'", c);
    else
        snprintf(out, 8, "0x%02x", c);
    return out;
}

static void *fail_control(parser *ps, const char *at, unsigned char c)
{
    static const char short_esc[32] = {
        ['\b'] = 'b', ['\f'] = 'f', ['\n'] = 'n', ['\r'] = 'r', ['\t'] = 't'};
    if (short_esc[c])
        return fail(ps, at, "control character 0x%02x in string; escape it as \\%c", c,
                    short_esc[c]);
    return fail(ps, at, "control character 0x%02x in string; escape it as \\u%04x", c, c);
}

/* "duplicate member name \"k\"", the key shown printable and cut short if long. */
static void *fail_dup(parser *ps, const char *at, const char *k, size_t n)
{
    char show[64];
    size_t o = 0, i = 0;
    for (; i < n && o < 40; i++) {
        unsigned char c = (unsigned char)k[i];
        if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\')
            show[o++] = (char)c;
        else
            o += (size_t)snprintf(show + o, sizeof show - o, "\\x%02x", c);
    }
    if (i < n) o += (size_t)snprintf(show + o, sizeof show - o, "...");
    show[o] = '\0';
    return fail(ps, at, "duplicate member name \"%s\"", show);
}

/* ---- small copies
 * -------------------------------------------------------------------------------- */

/* Copies a container's entries (n is a multiple of 8) out of scratch: inline for the few
 * entries of a typical MCP object. */
static inline void copy_values(void *d, const void *s, size_t n)
{
    if (n > 256) {
        memcpy(d, s, n);
        return;
    }
    char *dc = d;
    const char *sc = s;
    for (size_t i = 0; i < n; i += 8) {
        uint64_t w;
        memcpy(&w, sc + i, 8);
        memcpy(dc + i, &w, 8);
    }
}

/* Returns a NUL-terminated copy of s[0..n) in the arena. */
static inline char *arena_text(mcp_arena *a, const char *s, size_t n)
{
    char *d;
    if (a->ptr && n < (size_t)(a->end - a->ptr)) {
        d = a->ptr;
        a->ptr += n + 1;
        a->total += n + 1;
    } else {
        d = mcp_arena_alloc_unaligned(a, n + 1);
    }
    json_copy_bytes(d, s, n);
    d[n] = '\0';
    return d;
}

static inline bool same_bytes(const char *a, const char *b, size_t n)
{
    if (n >= 8 && n <= 16) {
        uint64_t x, y, u, v;
        memcpy(&x, a, 8);
        memcpy(&y, b, 8);
        memcpy(&u, a + n - 8, 8);
        memcpy(&v, b + n - 8, 8);
        return ((x ^ y) | (u ^ v)) == 0;
    }
    if (n >= 4 && n < 8) {
        uint32_t x, y, u, v;
        memcpy(&x, a, 4);
        memcpy(&y, b, 4);
        memcpy(&u, a + n - 4, 4);
        memcpy(&v, b + n - 4, 4);
        return ((x ^ y) | (u ^ v)) == 0;
    }
    if (n < 4) {
        for (size_t i = 0; i < n; i++)
            if (a[i] != b[i]) return false;
        return true;
    }
    return memcmp(a, b, n) == 0;
}

/* ---- scratch stacks ----------------------------------------------------------------------------
 */

/* Doubles a scratch array into the arena. The old copy is abandoned; geometric growth bounds
 * the waste by the final size. */
static void *grow(parser *ps, const void *old, size_t n, size_t *cap, size_t elem)
{
    size_t ncap = *cap * 2;
    void *p = mcp_arena_alloc(ps->arena, ncap * elem);
    memcpy(p, old, n * elem);
    *cap = ncap;
    return p;
}

static inline void push_member(parser *ps, const char *key, uint32_t key_len)
{
    if (ps->nmembers == ps->cmembers)
        ps->members = grow(ps, ps->members, ps->nmembers, &ps->cmembers, sizeof *ps->members);
    /* whole words, padding included, so that close_object's word copy can forward them */
    json_member *m = &ps->members[ps->nmembers++];
    *m = (json_member){.key = key, .key_len = key_len};
}

/* Opens a container at `at`; returns its frame, or NULL past max_depth. */
static inline frame *open_container(parser *ps, const char *at, bool is_obj)
{
    if (ps->depth >= ps->lim.max_depth)
        return fail(ps, at, "nesting deeper than %u", (unsigned)ps->lim.max_depth);
    if (ps->depth == ps->cframes)
        ps->frames = grow(ps, ps->frames, ps->depth, &ps->cframes, sizeof *ps->frames);
    frame *f = &ps->frames[ps->depth++];
    f->start = is_obj ? ps->nmembers : ps->nitems;
    f->is_obj = is_obj;
    f->dups = NULL;
    return f;
}

static inline frame *top_frame(parser *ps)
{
    return ps->depth ? &ps->frames[ps->depth - 1] : NULL;
}

/* Where the value that starts now goes: a new item of the open array, the value of the member
 * whose name was just read, or the root. Values are written in place, never copied through a
 * temporary (a copy right after narrow stores stalls on store forwarding). */
static inline json_value *new_slot(parser *ps, const frame *f)
{
    if (!f) return ps->root;
    if (f->is_obj) return &ps->members[ps->nmembers - 1].value;
    if (ps->nitems == ps->citems)
        ps->items = grow(ps, ps->items, ps->nitems, &ps->citems, sizeof *ps->items);
    return &ps->items[ps->nitems++];
}

/* The slot of the container that just closed (new_slot gave it out when it opened). */
static inline json_value *open_slot(parser *ps, const frame *up)
{
    if (!up) return ps->root;
    if (up->is_obj) return &ps->members[ps->nmembers - 1].value;
    return &ps->items[ps->nitems - 1];
}

/* A scratch stack (items or members) as take_entries sees it. */
typedef struct scratch {
    char *data; /* updated when the block is given away */
    size_t cap;
    char *local; /* its first block, in the parser struct */
    size_t local_cap;
    size_t elem;
} scratch;

/* Returns entries [start, start + n) of scratch s (n >= BIG_CONTAINER) as an arena block of
 * their own. Normally a copy; but a big container that fills most of an arena scratch block
 * takes the block itself, and the few entries below it move to a new scratch. That saves copying
 * (and touching fresh memory for) the largest arrays, such as a flat array of a million numbers. */
static void *take_entries(parser *ps, scratch *s, size_t start, size_t n)
{
    char *base = s->data;
    if (start <= n / 4 && base != s->local) {
        size_t cap = start * 2 > s->local_cap ? start * 2 : s->local_cap;
        char *fresh = cap == s->local_cap ? s->local : mcp_arena_alloc(ps->arena, cap * s->elem);
        memcpy(fresh, base, start * s->elem);
        s->data = fresh;
        s->cap = cap;
        return base + start * s->elem;
    }
    char *d = mcp_arena_alloc_fast(ps->arena, n * s->elem);
    copy_values(d, base + start * s->elem, n * s->elem);
    return d;
}

/* Moves the closing array's items out of scratch into the DOM; returns the frame that is now
 * on top. */
static frame *close_array(parser *ps)
{
    frame *f = &ps->frames[--ps->depth];
    size_t n = ps->nitems - f->start;
    json_value *a = NULL;
    if (n >= BIG_CONTAINER) {
        scratch s = {(char *)ps->items, ps->citems, (char *)ps->items0, LOCAL_ITEMS, sizeof *a};
        a = take_entries(ps, &s, f->start, n);
        ps->items = (json_value *)(void *)s.data;
        ps->citems = s.cap;
    } else if (n) {
        a = mcp_arena_alloc_fast(ps->arena, n * sizeof *a);
        copy_values(a, ps->items + f->start, n * sizeof *a);
    }
    ps->nitems = f->start;
    frame *up = top_frame(ps);
    *open_slot(ps, up) = (json_value){.type = JSON_ARRAY, .len = (uint32_t)n, .u.items = a};
    return up;
}

static frame *close_object(parser *ps)
{
    frame *f = &ps->frames[--ps->depth];
    size_t n = ps->nmembers - f->start;
    json_member *m = NULL;
    if (n >= BIG_CONTAINER) {
        scratch s = {(char *)ps->members, ps->cmembers, (char *)ps->members0, LOCAL_MEMBERS,
                     sizeof *m};
        m = take_entries(ps, &s, f->start, n);
        ps->members = (json_member *)(void *)s.data;
        ps->cmembers = s.cap;
    } else if (n) {
        m = mcp_arena_alloc_fast(ps->arena, n * sizeof *m);
        copy_values(m, ps->members + f->start, n * sizeof *m);
    }
    ps->nmembers = f->start;
    frame *up = top_frame(ps);
    *open_slot(ps, up) = (json_value){.type = JSON_OBJECT, .len = (uint32_t)n, .u.members = m};
    return up;
}

/* ---- duplicate member names
 * ---------------------------------------------------------------------- */

#ifdef __SIZEOF_INT128__
__extension__ typedef unsigned __int128 u128;
static inline uint64_t mix(uint64_t a, uint64_t b)
{
    u128 r = (u128)a * b;
    return (uint64_t)r ^ (uint64_t)(r >> 64);
}
#else
static inline uint64_t mix(uint64_t a, uint64_t b)
{
    uint64_t h = (a ^ (b >> 29)) * (b | 1);
    return h ^ (h >> 32);
}
#endif

/* A keyed multiply-fold hash (in the style of wyhash): both inputs of every multiplication
 * depend on the secret seed. */
static uint64_t hash_key(const char *s, size_t n)
{
    uint64_t h = hash_seed[0] ^ n;
    for (; n >= 8; s += 8, n -= 8) {
        uint64_t w;
        memcpy(&w, s, 8);
        h = mix(w ^ hash_seed[1], h ^ 0x9E3779B97F4A7C15u);
    }
    uint64_t w = 0;
    memcpy(&w, s, n);
    return mix(w ^ hash_seed[1] ^ ((uint64_t)n << 59), h ^ 0xD6E8FEB86659FD93u);
}

#define TAG_MASK 0xFFFFFFFF00000000u

/* Looks key up in the table; inserts index idx if absent. Returns true if it was present.
 * A slot keeps the top 32 bits of the name's hash (which also choose the slot), so a probe
 * reads a member (a cache miss in a big object) only when the hashes match, and growing the
 * table never rehashes a name. */
static bool table_insert(parser *ps, dup_table *t, size_t base, const char *k, uint32_t kl,
                         uint32_t idx)
{
    uint64_t tag = hash_key(k, kl) & TAG_MASK;
    for (size_t i = (tag >> 32) & t->mask;; i = (i + 1) & t->mask) {
        uint64_t s = t->slot[i];
        if (!s) {
            t->slot[i] = tag | (idx + 1u);
            t->count++;
            return false;
        }
        if ((s & TAG_MASK) != tag) continue;
        const json_member *m = &ps->members[base + (uint32_t)s - 1];
        if (m->key_len == kl && memcmp(m->key, k, kl) == 0) return true;
    }
}

/* Gives f a table with room for n members at a load of at most 1/4: built from the scratch
 * members the first time, moved slot by slot from the old table afterwards. */
static void table_grow(parser *ps, frame *f, size_t n)
{
    dup_table *old = f->dups, *t = mcp_arena_alloc(ps->arena, sizeof *t);
    size_t size = 64;
    while (size < n * 4) size *= 2;
    t->slot = mcp_arena_alloc(ps->arena, size * sizeof *t->slot);
    memset(t->slot, 0, size * sizeof *t->slot);
    t->mask = size - 1;
    t->count = 0;
    f->dups = t;
    if (!old) {
        for (size_t i = 0; i < n; i++) {
            const json_member *m = &ps->members[f->start + i];
            table_insert(ps, t, f->start, m->key, m->key_len, (uint32_t)i);
        }
        return;
    }
    for (size_t j = 0; j <= old->mask; j++) {
        uint64_t s = old->slot[j];
        if (!s) continue;
        size_t i = (s >> 32) & t->mask;
        while (t->slot[i]) i = (i + 1) & t->mask;
        t->slot[i] = s;
    }
    t->count = old->count;
}

/* True if the object in frame f already has a member named k. Linear for small objects (which
 * is what MCP sends), a hash table past SMALL_OBJECT so that huge objects stay O(n). */
static bool is_duplicate(parser *ps, frame *f, const char *k, uint32_t kl)
{
    size_t n = ps->nmembers - f->start;
    if (n < SMALL_OBJECT) {
        for (size_t i = f->start; i < ps->nmembers; i++)
            if (ps->members[i].key_len == kl && same_bytes(ps->members[i].key, k, kl)) return true;
        return false;
    }
    if (!f->dups) {
        pthread_once(&once, init_once);
        table_grow(ps, f, n);
    } else if (f->dups->count * 2 >= f->dups->mask) {
        table_grow(ps, f, n);
    }
    return table_insert(ps, f->dups, f->start, k, kl, (uint32_t)n);
}

/* ---- strings ------------------------------------------------------------------------------- */

static int hex4(const char *p)
{
    int v = 0;
    for (int i = 0; i < 4; i++) {
        unsigned char c = (unsigned char)p[i];
        int d = c >= '0' && c <= '9'   ? c - '0'
                : c >= 'a' && c <= 'f' ? c - 'a' + 10
                : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                       : -1;
        if (d < 0) return -1;
        v = v * 16 + d;
    }
    return v;
}

enum { U_BAD_HEX = -1, U_BAD_HEX2 = -2, U_LONE_HIGH = -3, U_LONE_LOW = -4 };

/* Reads the \uXXXX escape at q (and its low surrogate if it is a high one) into *cp.
 * Returns the bytes consumed (6 or 12) or a U_ error. */
static int read_u(const char *q, const char *end, uint32_t *cp)
{
    int h, l;
    if (end - q < 6 || (h = hex4(q + 2)) < 0) return U_BAD_HEX;
    if (h >= 0xDC00 && h <= 0xDFFF) return U_LONE_LOW;
    if (h < 0xD800 || h > 0xDBFF) {
        *cp = (uint32_t)h;
        return 6;
    }
    if (end - q < 8 || q[6] != '\\' || q[7] != 'u') return U_LONE_HIGH;
    if (end - q < 12 || (l = hex4(q + 8)) < 0) return U_BAD_HEX2;
    if (l < 0xDC00 || l > 0xDFFF) return U_LONE_HIGH;
    *cp = 0x10000 + (((uint32_t)h - 0xD800) << 10) + ((uint32_t)l - 0xDC00);
    return 12;
}

static void *fail_u(parser *ps, const char *q, int r)
{
    switch (r) {
    case U_BAD_HEX:
        return fail(ps, q, "invalid \\u escape: expected 4 hex digits");
    case U_BAD_HEX2:
        return fail(ps, q + 6, "invalid \\u escape: expected 4 hex digits");
    case U_LONE_HIGH:
        return fail(ps, q, "unpaired surrogate \\u%04x", (unsigned)hex4(q + 2));
    default:
        return fail(ps, q, "unpaired surrogate \\u%04x", (unsigned)hex4(q + 2));
    }
}

/* Validates the escape at q (a backslash); returns the byte after it. */
static const char *check_escape(parser *ps, const char *q)
{
    if (ps->end - q < 2) return fail(ps, ps->end, "unexpected end of input in string");
    unsigned char c = (unsigned char)q[1];
    switch (c) {
    case '"':
    case '\\':
    case '/':
    case 'b':
    case 'f':
    case 'n':
    case 'r':
    case 't':
        return q + 2;
    case 'u': {
        uint32_t cp;
        int r = read_u(q, ps->end, &cp);
        return r > 0 ? q + r : fail_u(ps, q, r);
    }
    }
    if (c > 0x20 && c < 0x7f) return fail(ps, q, "invalid escape '\\%c' in string", c);
    return fail(ps, q, "invalid escape: '\\' followed by byte 0x%02x in string", c);
}

/* Validates the UTF-8 sequence at q (lead byte >= 0x80): no overlongs, no surrogates, nothing
 * above U+10FFFF, nothing truncated. Returns the byte after it. */
static const char *check_utf8(parser *ps, const char *q)
{
    const unsigned char *u = (const unsigned char *)q;
    size_t avail = (size_t)(ps->end - q), n;
    unsigned char c = u[0], lo = 0x80, hi = 0xBF;
    if (c >= 0xC2 && c <= 0xDF) {
        n = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
        n = 3;
        if (c == 0xE0)
            lo = 0xA0;
        else if (c == 0xED)
            hi = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        n = 4;
        if (c == 0xF0)
            lo = 0x90;
        else if (c == 0xF4)
            hi = 0x8F;
    } else if (c == 0xC0 || c == 0xC1) {
        return fail(ps, q, "overlong UTF-8 sequence in string");
    } else {
        return fail(ps, q, "invalid UTF-8 byte 0x%02x in string", c);
    }
    for (size_t i = 1; i < n; i++) {
        if (i >= avail) return fail(ps, ps->end, "unexpected end of input in string");
        if ((u[i] & 0xC0) != 0x80) return fail(ps, q, "truncated UTF-8 sequence in string");
    }
    if (u[1] < lo || u[1] > hi) {
        if (c == 0xED) return fail(ps, q, "UTF-8 encoded surrogate in string");
        if (c == 0xF4) return fail(ps, q, "UTF-8 code point above U+10FFFF in string");
        return fail(ps, q, "overlong UTF-8 sequence in string");
    }
    return q + n;
}

static char *put_utf8(char *o, uint32_t cp)
{
    if (cp < 0x80) {
        *o++ = (char)cp;
    } else if (cp < 0x800) {
        *o++ = (char)(0xC0 | (cp >> 6));
        *o++ = (char)(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
        *o++ = (char)(0xE0 | (cp >> 12));
        *o++ = (char)(0x80 | ((cp >> 6) & 0x3F));
        *o++ = (char)(0x80 | (cp & 0x3F));
    } else {
        *o++ = (char)(0xF0 | (cp >> 18));
        *o++ = (char)(0x80 | ((cp >> 12) & 0x3F));
        *o++ = (char)(0x80 | ((cp >> 6) & 0x3F));
        *o++ = (char)(0x80 | (cp & 0x3F));
    }
    return o;
}

static char unescape_char(char c)
{
    switch (c) {
    case 'b':
        return '\b';
    case 'f':
        return '\f';
    case 'n':
        return '\n';
    case 'r':
        return '\r';
    case 't':
        return '\t';
    default:
        return c; /* '"', '\\', '/' */
    }
}

/* Second pass for a string with escapes: s..e is its validated body. Decoding never grows
 * text, so e - s + 1 bytes suffice. */
static bool unescape(parser *ps, const char *s, const char *e, const char **out, uint32_t *len)
{
    const char *open = s - 1;
    char *d = mcp_arena_alloc_unaligned(ps->arena, (size_t)(e - s) + 1), *o = d;
    while (s < e) {
        const char *b = memchr(s, '\\', (size_t)(e - s));
        if (!b) b = e;
        memcpy(o, s, (size_t)(b - s));
        o += b - s;
        s = b;
        if (s == e) break;
        if (s[1] == 'u') {
            uint32_t cp = 0;
            s += read_u(s, e, &cp);
            o = put_utf8(o, cp);
        } else {
            *o++ = unescape_char(s[1]);
            s += 2;
        }
    }
    *o = '\0';
    if ((size_t)(o - d) > ps->lim.max_string)
        return fail(ps, open, "string longer than %u bytes", (unsigned)ps->lim.max_string);
    *out = d;
    *len = (uint32_t)(o - d);
    return true;
}

/* Parses the string whose opening quote is at p into out and len (decoded, NUL-terminated, in
 * the arena). Returns the byte after the closing quote, or NULL. */
static inline __attribute__((always_inline)) const char *
read_string(parser *ps, const char *p, const char **out, uint32_t *len)
{
    const char *q = p + 1, *end = ps->end;
    bool esc = false;
    for (;;) {
        q = json_scan_plain(q, end);
        if (unlikely(q == end)) return fail(ps, q, "unexpected end of input in string");
        unsigned char c = (unsigned char)*q;
        if (likely(c == '"')) break;
        if (c == '\\') {
            esc = true;
            q = check_escape(ps, q);
        } else if (c < 0x20) {
            return fail_control(ps, q, c);
        } else {
            q = check_utf8(ps, q);
        }
        if (!q) return NULL;
    }
    size_t raw = (size_t)(q - (p + 1));
    if (esc) return unescape(ps, p + 1, q, out, len) ? q + 1 : NULL;
    if (unlikely(raw > ps->lim.max_string))
        return fail(ps, p, "string longer than %u bytes", (unsigned)ps->lim.max_string);
    *out = raw ? arena_text(ps->arena, p + 1, raw) : "";
    *len = (uint32_t)raw;
    return q + 1;
}

/* ---- numbers ------------------------------------------------------------------------------- */

static const double pow10_exact[23] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                       1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                       1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

static inline bool is_digit(char c)
{
    return (unsigned char)(c - '0') < 10;
}

/* What the scan of a number literal found. */
typedef struct numscan {
    uint64_t m; /* up to 19 significant digits */
    int frac;   /* fraction digits included in m */
    long exp;   /* exponent, clamped to +-100000 */
    bool neg, is_int;
    bool inexact; /* digits did not fit in m */
} numscan;

static const char *scan_digits(const char *p, const char *end, numscan *n, int *nd, bool frac)
{
    for (; p < end && is_digit(*p); p++) {
        if (*nd < 19) {
            n->m = n->m * 10 + (uint64_t)(*p - '0');
            if (n->m) ++*nd; /* leading fraction zeros are not significant */
            n->frac += frac;
        } else if (!frac || *p != '0') {
            n->inexact = true; /* trailing fraction zeros change nothing */
        }
    }
    return p;
}

/* Checks the grammar of the number at p and collects its digits; returns its end or NULL. */
static const char *scan_number(parser *ps, const char *p, numscan *n)
{
    const char *end = ps->end;
    int nd = 0;
    *n = (numscan){.neg = *p == '-', .is_int = true};
    p += n->neg;
    if (p == end || !is_digit(*p)) return fail(ps, p, "expected digit after '-'");
    if (*p == '0') {
        if (++p < end && is_digit(*p)) return fail(ps, p - 1, "leading zero in number");
    } else {
        p = scan_digits(p, end, n, &nd, false);
    }
    if (p < end && *p == '.') {
        n->is_int = false;
        if (++p == end || !is_digit(*p)) return fail(ps, p, "expected digit after '.' in number");
        p = scan_digits(p, end, n, &nd, true);
    }
    if (p < end && (*p == 'e' || *p == 'E')) {
        bool eneg = false;
        n->is_int = false;
        if (++p < end && (*p == '+' || *p == '-')) eneg = *p++ == '-';
        if (p == end || !is_digit(*p)) return fail(ps, p, "expected digit in exponent");
        for (; p < end && is_digit(*p); p++)
            if (n->exp < 100000) n->exp = n->exp * 10 + (*p - '0');
        if (eneg) n->exp = -n->exp;
    }
    return p;
}

/* Exact when the digits fit in 53 bits and the power of ten is exact (Clinger's fast path):
 * one correctly rounded multiplication or division. Otherwise strtod_l, correctly rounded,
 * giving +-inf past DBL_MAX and 0 below the smallest subnormal. */
static double to_double(const numscan *n, const char *text)
{
    long e10 = n->exp - n->frac;
    if (!n->inexact && n->m == 0) return n->neg ? -0.0 : 0.0;
    if (!n->inexact && n->m <= (uint64_t)1 << 53 && e10 >= -22 && e10 <= 22) {
        double d = (double)n->m;
        d = e10 < 0 ? d / pow10_exact[-e10] : d * pow10_exact[e10];
        return n->neg ? -d : d;
    }
    return strtod_l(text, NULL, json_c_locale());
}

/* The common case, a short integer (ids, counts): at most 18 digits always fit in int64. */
static inline const char *short_int(parser *ps, const char *p, json_value *v)
{
    const char *q = p + (*p == '-'), *ds = q, *end = ps->end;
    uint64_t m = 0;
    while (q < end && q - ds < 18 && is_digit(*q)) m = m * 10 + (uint64_t)(*q++ - '0');
    size_t nd = (size_t)(q - ds);
    size_t len = (size_t)(q - p);
    if (nd == 0 || (nd > 1 && *ds == '0') || nd >= 18 || len > ps->lim.max_string) return NULL;
    if (q < end && (*q == '.' || *q == 'e' || *q == 'E')) return NULL;
    const char *text = arena_text(ps->arena, p, len);
    int64_t i = *p == '-' ? -(int64_t)m : (int64_t)m;
    *v = (json_value){.type = JSON_INT, .len = (uint32_t)len, .u.num = {{.i = i}, text}};
    return q;
}

static const char *parse_number(parser *ps, const char *p, json_value *v)
{
    numscan n;
    const char *s = p, *q = short_int(ps, p, v);
    if (q) return q;
    if (!(p = scan_number(ps, p, &n))) return NULL;
    size_t len = (size_t)(p - s);
    if (len > ps->lim.max_string)
        return fail(ps, s, "number longer than %u bytes", (unsigned)ps->lim.max_string);
    const char *text = arena_text(ps->arena, s, len);
    uint64_t lim = n.neg ? (uint64_t)1 << 63 : (uint64_t)INT64_MAX;
    if (n.is_int && !n.inexact && n.m <= lim) {
        int64_t i = !n.neg ? (int64_t)n.m : n.m == lim ? INT64_MIN : -(int64_t)n.m;
        *v = (json_value){.type = JSON_INT, .len = (uint32_t)len, .u.num = {{.i = i}, text}};
    } else {
        double d = to_double(&n, text);
        *v = (json_value){.type = JSON_DOUBLE, .len = (uint32_t)len, .u.num = {{.d = d}, text}};
    }
    return p;
}

/* ---- structure ------------------------------------------------------------------------------- */

static inline const char *skip_ws(const char *p, const char *end)
{
    while (p < end && (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t')) p++;
    return p;
}

/* Relaxed mode: skips whitespace, // line comments and block comments at p. Returns the next
 * significant byte, or NULL (error filled) for an unterminated block comment. A '/' that
 * starts no comment is left for the caller to reject. */
static const char *skip_comments(parser *ps, const char *p)
{
    const char *end = ps->end;
    while (p + 1 < end && *p == '/' && (p[1] == '/' || p[1] == '*')) {
        if (p[1] == '/') {
            const char *nl = memchr(p, '\n', (size_t)(end - p));
            p = nl ? nl + 1 : end;
        } else {
            const char *q = p + 2;
            while (q + 1 < end && !(q[0] == '*' && q[1] == '/')) q++;
            if (q + 1 >= end) return fail(ps, p, "unterminated block comment");
            p = q + 2;
        }
        p = skip_ws(p, end);
    }
    return p;
}

/* Skips whitespace and, in relaxed mode, comments; returns NULL from the caller on an
 * unterminated comment. The strict path costs one predictable branch. */
#define SKIP_WS(p)                                                                                 \
    do {                                                                                           \
        (p) = skip_ws((p), ps->end);                                                               \
        if (unlikely(ps->lim.relaxed) && (p) < ps->end && *(p) == '/' &&                           \
            !((p) = skip_comments(ps, (p))))                                                       \
            return NULL;                                                                           \
    } while (0)

static inline const char *literal(parser *ps, const char *p, const char *word, size_t n)
{
    uint32_t a, b; /* "true", "null", "fals" + 'e': fixed-size compares, no memcmp call */
    if ((size_t)(ps->end - p) >= n) {
        memcpy(&a, p, 4);
        memcpy(&b, word, 4);
        if (a == b && (n == 4 || p[4] == word[4])) return p + n;
    }
    return fail(ps, p, "invalid literal, expected '%s'", word);
}

/* The character at p cannot start a value. */
static void *bad_value(parser *ps, const char *p, const frame *f)
{
    char c[8];
    if (p == ps->end && f)
        return fail(ps, p,
                    f->is_obj ? "unexpected end of input in object"
                              : "unexpected end of input in array");
    if (p == ps->end) return fail(ps, p, "unexpected end of input, expected a value");
    if (*p == ']' && f && !f->is_obj) return fail(ps, p, "trailing comma before ']'");
    return fail(ps, p, "unexpected character %s, expected a value",
                show_char((unsigned char)*p, c));
}

static void *bad_after(parser *ps, const char *p, bool is_obj)
{
    if (p == ps->end)
        return fail(ps, p,
                    is_obj ? "unexpected end of input in object"
                           : "unexpected end of input in array");
    return fail(ps, p,
                is_obj ? "expected ',' or '}' after object member"
                       : "expected ',' or ']' after array element");
}

/* Parses the member name at p (a '"' was seen), checks the member count and duplicates and
 * pushes the member; its value is filled in later. */
static const char *parse_key(parser *ps, const char *p, frame *f)
{
    const char *at = p, *k = NULL;
    uint32_t kl = 0;
    if (unlikely(ps->nmembers - f->start >= ps->lim.max_members))
        return fail(ps, p, "more than %u members in object", (unsigned)ps->lim.max_members);
    if (unlikely(!(p = read_string(ps, p, &k, &kl)))) return NULL;
    /* Read the name from the input when it had no escape (every escape shrinks, so equal
     * lengths say so): the arena copy was just written in pieces, and loading it back at once
     * would stall on store forwarding. */
    const char *name = (size_t)(p - at - 2) == kl ? at + 1 : k;
    if (!ps->lim.allow_duplicate_keys && is_duplicate(ps, f, name, kl))
        return fail_dup(ps, at, k, kl);
    push_member(ps, k, kl);
    SKIP_WS(p);
    if (unlikely(p == ps->end)) return fail(ps, p, "unexpected end of input in object");
    if (unlikely(*p != ':')) return fail(ps, p, "expected ':' after member name");
    return p + 1;
}

static void *bad_key(parser *ps, const char *p)
{
    char c[8];
    if (p == ps->end) return fail(ps, p, "unexpected end of input in object");
    if (*p == '}') return fail(ps, p, "trailing comma before '}'");
    return fail(ps, p, "expected '\"' to begin a member name, got %s",
                show_char((unsigned char)*p, c));
}

/* Parses a scalar value at p into *v. Returns its end, or NULL. */
static const char *parse_scalar(parser *ps, const char *p, json_value *v, const frame *f)
{
    const char *str = NULL;
    uint32_t len = 0;
    if (*p == '-' || is_digit(*p)) return parse_number(ps, p, v);
    switch (*p) {
    case '"':
        p = read_string(ps, p, &str, &len);
        *v = (json_value){.type = JSON_STRING, .len = len, .u.str = str};
        return p;
    case 't':
        *v = (json_value){.type = JSON_BOOL, .b = true};
        return literal(ps, p, "true", 4);
    case 'f':
        *v = (json_value){.type = JSON_BOOL, .b = false};
        return literal(ps, p, "false", 5);
    case 'n':
        *v = (json_value){.type = JSON_NULL};
        return literal(ps, p, "null", 4);
    default:
        return bad_value(ps, p, f);
    }
}

/* The state machine described at the top of the file. */
static json_value *parse_doc(parser *ps)
{
    const char *p = ps->start, *end = ps->end;
    frame *f = NULL;
    json_value *slot;

value:
    SKIP_WS(p);
    if (unlikely(p == end)) return bad_value(ps, p, f);
    if (unlikely(*p == ']') && ps->lim.relaxed && f && !f->is_obj) {
        f = close_array(ps); /* a trailing comma: '[' then ']' was handled when it opened */
        p++;
        goto next;
    }
    slot = new_slot(ps, f);
    if (*p == '[') {
        if (unlikely(!(f = open_container(ps, p, false)))) return NULL;
        p++;
        SKIP_WS(p);
        if (p == end || *p != ']') goto value;
        f = close_array(ps);
        p++;
    } else if (*p == '{') {
        if (unlikely(!(f = open_container(ps, p, true)))) return NULL;
        p++;
        SKIP_WS(p);
        if (p == end || *p != '}') goto key;
        f = close_object(ps);
        p++;
    } else if (unlikely(!(p = parse_scalar(ps, p, slot, f)))) {
        return NULL;
    }

next: /* a value is complete; look at what follows it */
    if (!f) goto finish;
    SKIP_WS(p);
    if (!f->is_obj) {
        if (p < end && *p == ',') {
            if (unlikely(ps->nitems - f->start >= ps->lim.max_members))
                return fail(ps, p, "more than %u items in array", (unsigned)ps->lim.max_members);
            p++;
            goto value;
        }
        if (unlikely(p == end || *p != ']')) return bad_after(ps, p, false);
        f = close_array(ps);
    } else {
        if (p < end && *p == ',') {
            p++;
            SKIP_WS(p);
            goto key;
        }
        if (unlikely(p == end || *p != '}')) return bad_after(ps, p, true);
        f = close_object(ps);
    }
    p++;
    goto next;

key:
    if (unlikely(p < end && *p == '}') && ps->lim.relaxed) {
        f = close_object(ps); /* a trailing comma ('{' then '}' was handled when it opened) */
        p++;
        goto next;
    }
    if (unlikely(p == end || *p != '"')) return bad_key(ps, p);
    if (unlikely(!(p = parse_key(ps, p, f)))) return NULL;
    goto value;

finish:
    SKIP_WS(p);
    if (p != end) {
        char c[8];
        return fail(ps, p, "unexpected character %s after document",
                    show_char((unsigned char)*p, c));
    }
    return ps->root;
}

/* A zero field takes its default, so callers may set only the limits they care about. */
static json_limits effective_limits(const json_limits *l)
{
    if (!l) return json_default_limits;
    json_limits r = *l;
    if (!r.max_depth) r.max_depth = json_default_limits.max_depth;
    if (!r.max_string) r.max_string = json_default_limits.max_string;
    if (!r.max_members) r.max_members = json_default_limits.max_members;
    if (!r.max_size) r.max_size = json_default_limits.max_size;
    return r;
}

json_value *json_parse(const char *buf, size_t len, mcp_arena *arena, const json_limits *limits,
                       json_error *err)
{
    parser ps;
    if (!buf) buf = "";
    ps.start = buf;
    ps.end = buf + len;
    ps.arena = arena;
    ps.err = err;
    ps.lim = effective_limits(limits);
    if (len > ps.lim.max_size)
        return fail(&ps, buf, "document larger than %zu bytes", ps.lim.max_size);
    if (len >= 3 && buf[0] == '\xEF' && buf[1] == '\xBB' && buf[2] == '\xBF')
        return fail(&ps, buf, "byte order mark (U+FEFF) is not allowed");
    ps.items = ps.items0;
    ps.members = ps.members0;
    ps.frames = ps.frames0;
    ps.nitems = ps.nmembers = ps.depth = 0;
    ps.citems = LOCAL_ITEMS;
    ps.cmembers = LOCAL_MEMBERS;
    ps.cframes = LOCAL_FRAMES;
    ps.root = mcp_arena_alloc_fast(arena, sizeof *ps.root);
    return parse_doc(&ps);
}

const char *json_error_str(const json_error *err, char *out, size_t size)
{
    if (size) {
        snprintf(out, size, "line %u, column %u (byte %zu): %s", (unsigned)err->line,
                 (unsigned)err->col, err->offset, err->msg);
    }
    return out;
}
