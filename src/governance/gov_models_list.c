/* GET /v1/models through kt: the provider's list ({"data": [{"id": ...}, ...]}, OpenAI and
 * Anthropic alike) is cut down to the models the gateway's and the consumer's rules allow, so a
 * client only discovers what it may use. Everything else in the body is kept. */
#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

#include "gov_priv.h"

bool kt_gov_models_filtered(const kt_config *cfg, const kt_consumer *c)
{
    const kt_model_rules *g = &cfg->gateway.models;
    return g->nallow || g->ndeny || (c && (c->models.nallow || c->models.ndeny));
}

int kt_gov_filter_models(const kt_config *cfg, const kt_consumer *c, const char *body, size_t len,
                         kt_buf *out)
{
    cJSON *root = cJSON_ParseWithLength(body, len);
    cJSON *data = root ? cJSON_GetObjectItemCaseSensitive(root, "data") : NULL;
    if (!cJSON_IsArray(data)) {
        cJSON_Delete(root);
        return KT_EPARSE;
    }
    cJSON *it = data->child;
    while (it) {
        cJSON *next = it->next;
        const cJSON *id = cJSON_GetObjectItemCaseSensitive(it, "id");
        if (!cJSON_IsString(id) || !kt__gov_models_ok(cfg, c, id->valuestring))
            cJSON_Delete(cJSON_DetachItemViaPointer(data, it));
        it = next;
    }
    char *s = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    if (!s) return KT_ENOMEM;
    int rc = kt_buf_append(out, s, strlen(s));
    free(s);
    return rc;
}
