/* gateway.telemetry: the OpenTelemetry SDK settings (OTEL_* names in lower case without the
 * prefix) set in the config instead of the environment; a key set here wins over its variable.
 * Checked at load as the trace exporter will read them (kt/trace.h), so a bad sampler or header
 * list is an error with a position. */
#include <stdio.h>
#include <string.h>

#include "config_priv.h"
#include "kt/trace.h"

const char *const kt_otel_keys[KT_OTEL_KEYS] = {
    "OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
    "OTEL_EXPORTER_OTLP_HEADERS", "OTEL_EXPORTER_OTLP_TRACES_HEADERS",
    "OTEL_EXPORTER_OTLP_TIMEOUT", "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT", "OTEL_SERVICE_NAME",
    "OTEL_RESOURCE_ATTRIBUTES", "OTEL_TRACES_SAMPLER", "OTEL_TRACES_SAMPLER_ARG",
    "OTEL_TRACES_EXPORTER", "OTEL_SDK_DISABLED", "OTEL_BSP_SCHEDULE_DELAY",
    "OTEL_BSP_MAX_QUEUE_SIZE",
};

const char *kt_config_otel(const kt_config *cfg, const char *env_name)
{
    for (size_t i = 0; cfg && i < KT_OTEL_KEYS; i++)
        if (strcmp(kt_otel_keys[i], env_name) == 0) return cfg->gateway.otel[i];
    return NULL;
}

/* "exporter_otlp_endpoint" for OTEL_EXPORTER_OTLP_ENDPOINT. */
static void otel_key(const char *env, char out[64])
{
    size_t i = 0;
    for (const char *p = env + 5; *p && i < 63; p++) out[i++] = (char)(*p >= 'A' && *p <= 'Z' ? *p + 32 : *p);
    out[i] = '\0';
}

static const char *cfg_only(void *ud, const char *name) { return kt_config_otel(ud, name); }

/* gateway.telemetry: the OTEL_* settings by their lower-case names. Checked here as the
 * exporter will read them, so a bad sampler or header list is an error with a position. */
void kt__cfg_telemetry(kt__cfgctx *x, const kt_ynode *t)
{
    char names[KT_OTEL_KEYS][64];
    const char *allowed[KT_OTEL_KEYS + 1];
    for (size_t i = 0; i < KT_OTEL_KEYS; i++) {
        otel_key(kt_otel_keys[i], names[i]);
        allowed[i] = names[i];
    }
    allowed[KT_OTEL_KEYS] = NULL;
    if (kt_y_is_null(t) || !kt_yr_want_map(&x->rd, t, "gateway.telemetry")) return;
    kt_yr_check_keys(&x->rd, t, allowed, "gateway.telemetry");
    for (size_t i = 0; i < KT_OTEL_KEYS; i++) {
        char where[96];
        snprintf(where, sizeof where, "gateway.telemetry.%s", names[i]);
        const char *v = kt_yr_str(&x->rd, t, names[i], where, false);
        if (v) x->cfg->gateway.otel[i] = kt_yr_dup(&x->rd, v);
    }
    kt_tracer_opts o;
    char err[200];
    if (!kt_tracer_opts_from_env((kt_env){ cfg_only, x->cfg }, &o, err, sizeof err))
        kt_yr_err(&x->rd, t, "gateway.telemetry: %s", err);
    else kt_tracer_opts_free(&o);
}

