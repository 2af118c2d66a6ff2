/* Fuzz target for the `kt policy eval` label-line parser. Invariants: a line is either rejected
 * with a message or gives an item whose text is NUL-terminated, whose entity spans are non-empty
 * and inside the text, and whose names are all in the (bounded) name table. */
#include <stdlib.h>
#include <string.h>

#include "../../src/app/eval.h"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    kt_eval_names names = { 0 };
    kt_eval_item it;
    char err[160];
    err[0] = '\0';
    int rc = kt_eval_parse_item(&names, (const char *)data, size, &it, err, sizeof err);
    if (rc) {
        if (!err[0] || it.text) abort();
        return 0;
    }
    if (!it.text || it.text[it.len] != '\0' || names.n > KT_EVAL_NAMES) abort();
    for (size_t i = 0; i < it.nents; i++)
        if (it.ents[i].start >= it.ents[i].end || it.ents[i].end > it.len ||
            it.ents[i].type >= names.n)
            abort();
    for (size_t i = 0; i < it.ncats; i++)
        if (it.cats[i] >= names.n) abort();
    kt_eval_item_free(&it);
    return 0;
}
