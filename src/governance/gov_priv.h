/* Private to governance/: the gateway's governance state and the helpers its files share. */
#ifndef KT_GOV_PRIV_H
#define KT_GOV_PRIV_H

#include "gov_store.h"
#include "kt/governance.h"

struct kt_gov {
    uv_loop_t *loop;
    bool loopback;             /* the listener is on a loopback address */
    kt_gov_store store;
    uint64_t next_id;
    kt_gov_req live;           /* sentinel of the admitted requests (expiry sweep) */
    /* the spend file */
    char *state_dir;
    uint64_t saved_version;
    bool writing;              /* a threadpool job is writing */
    bool write_again;          /* spend changed while it wrote */
    uv_work_t work;
    kt_buf work_data;
    int work_rc;
};

const kt_consumer *kt__gov_lookup(const kt_config *cfg, const char *key, size_t n);
bool kt__gov_models_ok(const kt_config *cfg, const kt_consumer *c, const char *name);

#endif
