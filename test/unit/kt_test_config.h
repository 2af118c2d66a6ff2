/* Configs for unit tests: YAML text parsed with no environment variables, its diagnostics printed
 * as TAP comments when it does not parse. */
#ifndef KT_TEST_CONFIG_H
#define KT_TEST_CONFIG_H

#include <stdio.h>
#include <string.h>

#include "kt/config.h"

static inline const char *kt_test_no_env(void *ud, const char *name)
{
    (void)ud;
    (void)name;
    return NULL;
}

static inline kt_config *kt_test_config(const char *yaml)
{
    kt_env env = { kt_test_no_env, NULL };
    kt_diag d = { .file = "test" };
    kt_config *c = NULL;
    if (kt_config_parse("test", yaml, strlen(yaml), env, &c, &d)) {
        for (int i = 0; i < d.count && i < KT_DIAG_MAX; i++)
            printf("#   config: %d:%d: %s\n", d.items[i].line, d.items[i].col, d.items[i].msg);
        return NULL;
    }
    return c;
}

#endif
