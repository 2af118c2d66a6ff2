/* Fuzzes the whole config loader (YAML tree, expansion, validation, URL parsing) with a fixed
 * environment. The first input byte selects a direct kt_expand_vars / kt_url_parse run on the
 * rest, so those small parsers are exercised without YAML framing too. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kt/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *fixed_get(void *ud, const char *name)
{
    (void)ud;
    static const char *const tbl[][2] = {
        { "OPENAI_API_KEY", "sk-fuzz" }, { "PORT", "8080" }, { "EMPTY", "" },
        { "HOST", "https://example.com" }, { "BAD", "sk bad\r\n" },
    };
    for (size_t i = 0; i < sizeof tbl / sizeof tbl[0]; i++)
        if (strcmp(tbl[i][0], name) == 0) return tbl[i][1];
    return NULL;
}

static void small_parsers(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    if (!s) return;
    memcpy(s, data, size);
    s[size] = '\0';
    kt_env env = { fixed_get, NULL };
    char err[160];
    char *v = kt_expand_vars(s, env, err, sizeof err);
    free(v);
    kt_url_parts u;
    if (kt_url_parse(s, size & 1, &u, err, sizeof err) == 0) {
        if (!u.host || !u.path || u.port == 0) abort();
        size_t pl = strlen(u.path);
        if (pl && u.path[pl - 1] == '/') abort();
        kt_url_parts_free(&u);
    }
    free(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 0 && data[0] == 0xff) {
        small_parsers(data + 1, size - 1);
        return 0;
    }
    kt_env env = { fixed_get, NULL };
    kt_diag d;
    kt_diag_init(&d, "fuzz.yaml");
    kt_config *c = NULL;
    int rc = kt_config_parse("fuzz.yaml", (const char *)data, size, env, &c, &d);
    if (rc == 0) {
        if (!c || d.count != 0 || c->ntargets == 0 || c->refs != 1) abort();
        for (size_t i = 0; i < c->ntargets; i++) {
            const kt_target *t = &c->targets[i];
            if (!t->id || !t->host || !t->path_prefix || !t->base_url) abort();
            if (kt_config_target_by_id(c, t->id, strlen(t->id)) == NULL) abort();
            if (!t->key && !t->key_error[0]) abort();
        }
        kt_config *r = kt_config_ref(c);
        kt_config_release(&r);
        kt_config_release(&c);
    } else {
        if (c || d.count == 0) abort();
    }
    return 0;
}
