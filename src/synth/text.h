/* Bounded text appender for the text protocols (HTTP, RTSP, SDP): printf into a frame's
 * payload area without ever writing past it; on overflow the text is cut at the cap and
 * `trunc` is set (the payload sizes here are far below a frame, so it never happens). */
#ifndef QW_SYNTH_TEXT_H
#define QW_SYNTH_TEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct sy_text {
    char *p;
    size_t len, cap;
    bool trunc;
};

static inline struct sy_text sy_text_make(uint8_t *p, size_t cap)
{
    struct sy_text t = {(char *)p, 0, cap, false};
    return t;
}

void sy_text_add(struct sy_text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Appends an HTTP/RTSP date header value for Unix time `unix_s` (RFC 9110 IMF-fixdate). */
void sy_text_date(struct sy_text *t, uint64_t unix_s);

#endif
