/* The model tier's answer parsers (kt/classifier.h) read what a classifier service sends back:
 * any bytes must give KT_OK or KT_EPARSE, a verdict whose label is a kt category or
 * KT_CLF_LABEL_FLAGGED, and no out-of-bounds access. The first byte chooses the parser (and the
 * number of moderation inputs and the category mask); the request body builder gets the same
 * bytes as a text and must produce valid JSON (for ASCII text: other bytes are passed through
 * as they came, and the walk hands on only texts decoded from valid JSON). */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kt/classifier.h"
#include "kt/json_text.h"
#include "kt/safety.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int rc, const kt_clf_verdict *v)
{
    if (rc != KT_OK && rc != KT_EPARSE) abort();
    if (rc == KT_OK && v->flagged && v->label >= KT_SAFETY__COUNT && v->label != KT_CLF_LABEL_FLAGGED)
        abort();
    if (rc == KT_EPARSE && v->flagged) abort();
}

static bool ascii(const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)p[i] >= 0x80) return false;
    return true;
}

static void body_is_json(const char *p, size_t n, kt_clf_kind kind)
{
    kt_clf_cfg c;
    memset(&c, 0, sizeof c);
    c.kind = kind;
    c.model = "m";
    const char *texts[2] = { p, p };
    size_t lens[2] = { n, n / 2 };
    kt_buf b;
    kt_buf_init(&b, n * 12 + 8192);
    if (kt_clf_request_body(&c, texts, lens, 2, &b) == KT_OK &&
        kt_json_validate(b.p, b.len) != KT_OK && ascii(p, n))
        abort();
    kt_buf_free(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    unsigned sel = data[0];
    const char *p = (const char *)data + 1;
    size_t n = size - 1;
    uint32_t mask = (sel >> 4) & KT_SAFETY_ALL_MASK;
    kt_clf_task task = (sel & 4) ? KT_CLF_INJECTION : KT_CLF_SAFETY;
    kt_clf_verdict v;
    switch (sel & 3) {
    case 0:
        check(kt_clf_parse_moderations(p, n, 1 + ((sel >> 2) & 3), mask | 1, &v), &v);
        break;
    case 1:
        check(kt_clf_parse_chat(p, n, task, mask | 2, &v), &v);
        break;
    case 2:
        check(kt_clf_parse_answer(p, n, task, mask, &v), &v);
        break;
    default:
        body_is_json(p, n, (sel & 4) ? KT_CLF_CHAT : KT_CLF_MODERATIONS);
        break;
    }
    return 0;
}
