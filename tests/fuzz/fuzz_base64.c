/* fuzz_base64.c - libFuzzer target for base64 (src/base/base64.c), both dialects.
 *
 * The first byte picks the dialect (bit 0: URL-safe) and a cap for the output buffer (the
 * other bits). The rest is decoded: a decoding that is accepted must be the only spelling of
 * its bytes (decoding is strict), so encoding the bytes again gives back the input exactly; a
 * refusal leaves the output as it was. Under the cap, a decoding that does not fit is
 * -ENOBUFS, never a write past it. The rest is also encoded as raw bytes, to a text of the
 * announced length that decodes back to the same bytes. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/base64.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(bool ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "fuzz_base64: %s\n", what);
        abort();
    }
}

static void decode_text(const char *s, size_t n, bool url, size_t max)
{
    mcp_buf out, again;
    mcp_buf_init(&out, NULL, 0, max);
    mcp_buf_putc(&out, 'x'); /* something before: a refusal must keep it */
    int rc = mcp_base64_decode(&out, s, n, url);
    check(rc == 0 || rc == -EINVAL || rc == -ENOBUFS, "unexpected return");
    if (rc != 0) {
        check(out.len == 1 && out.data[0] == 'x', "a refusal changed the output length");
    } else {
        check(!max || out.len <= max, "decoded past the cap");
        mcp_buf_init(&again, NULL, 0, 0);
        mcp_base64_encode(&again, out.data + 1, out.len - 1, url);
        check(again.len == n && (!n || !memcmp(again.data, s, n)),
              "an accepted text is not the encoding of its bytes");
        mcp_buf_free(&again);
    }
    if (rc == -ENOBUFS) check(max != 0, "-ENOBUFS without a cap");
    mcp_buf_free(&out);
}

static void encode_bytes(const uint8_t *p, size_t n, bool url)
{
    mcp_buf text, back;
    mcp_buf_init(&text, NULL, 0, 0);
    mcp_buf_init(&back, NULL, 0, 0);
    mcp_base64_encode(&text, p, n, url);
    check(text.len == mcp_base64_encoded_len(n, url), "encoded length differs from the formula");
    check(mcp_base64_decode(&back, text.data, text.len, url) == 0, "own encoding refused");
    check(back.len == n && (!n || !memcmp(back.data, p, n)), "round trip changed the bytes");
    mcp_buf_free(&text);
    mcp_buf_free(&back);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!size || size > (1u << 16)) return 0;
    bool url = data[0] & 1;
    size_t max = (data[0] >> 1) ? 1 + (data[0] >> 1) : 0;
    decode_text((const char *)data + 1, size - 1, url, max);
    decode_text((const char *)data + 1, size - 1, !url, 0);
    encode_bytes(data + 1, size - 1, url);
    return 0;
}
