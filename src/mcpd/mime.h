/* mime.h - MIME types of served files, by file name extension.
 *
 * A fixed table of common types (text, markup, source code, images, audio, documents), looked
 * up case-insensitively by the last extension. Any thread. */
#ifndef MCPD_MIME_H
#define MCPD_MIME_H

#include <stdbool.h>
#include <stddef.h>

/* The MIME type for a file name or path ("docs/a.md" -> "text/markdown"), or NULL when its
 * extension is unknown (the caller picks a default). The string is static. */
const char *mime_by_name(const char *name);

/* True if content of this type is text to be served as UTF-8 text (text/ *, JSON, XML, YAML,
 * JavaScript, ...), false for binary types served as base64 blobs. */
bool mime_is_text(const char *mime);

/* True if s looks like a MIME type: type "/" subtype, of token characters, at most 127
 * bytes (for checking configured overrides). */
bool mime_valid(const char *s);

/* True if data[0..n) is valid UTF-8 without NUL bytes (no overlongs, no surrogates), i.e.
 * text we can serve as a string. */
bool mime_utf8_text(const void *data, size_t n);

#endif
