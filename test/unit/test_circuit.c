/* Circuit breakers and the retry budget: opening after consecutive failures, a back-off that
 * doubles and is capped, one probe when half-open, and retries bounded by the budget. */
#include "kt/circuit.h"
#include "kt_test.h"

static kt_failover_opts opts(void)
{
    kt_failover_opts o;
    kt_failover_opts_defaults(&o);
    o.circuit_failures = 3;
    o.base_ejection_ms = 1000;
    o.max_ejection_ms = 3000;
    return o;
}

KT_TEST(circuit_opens_half_opens_and_closes)
{
    kt_failover_opts o = opts();
    kt_circuits *cs = kt_circuits_new();
    kt_circuit *c = kt_circuit_of(cs, "a", 0);
    bool probe = true;
    KT_ASSERT(kt_circuit_admit(c, 0, &probe) && !probe);
    kt_circuit_result(c, &o, true, false, 0);
    kt_circuit_result(c, &o, true, false, 0);
    kt_circuit_result(c, &o, false, false, 0);   /* a success resets the count */
    kt_circuit_result(c, &o, true, false, 0);
    kt_circuit_result(c, &o, true, false, 0);
    KT_ASSERT_EQ_INT(kt_circuit_state_now(c, 10), KT_CIRCUIT_CLOSED);
    kt_circuit_result(c, &o, true, false, 10);
    KT_ASSERT_EQ_INT(kt_circuit_state_now(c, 10), KT_CIRCUIT_OPEN);
    KT_ASSERT(!kt_circuit_admit(c, 500, &probe));
    /* half-open after 1 s: one probe, no second */
    KT_ASSERT_EQ_INT(kt_circuit_state_now(c, 1010), KT_CIRCUIT_HALF_OPEN);
    KT_ASSERT(kt_circuit_admit(c, 1010, &probe) && probe);
    KT_ASSERT(!kt_circuit_admit(c, 1011, &probe));
    /* the probe fails: open for 2 s now */
    kt_circuit_result(c, &o, true, true, 1100);
    KT_ASSERT(!kt_circuit_admit(c, 3000, &probe));
    KT_ASSERT(kt_circuit_admit(c, 3100, &probe) && probe);
    kt_circuit_result(c, &o, true, true, 3100);   /* 4 s, capped at 3 s */
    KT_ASSERT(!kt_circuit_admit(c, 6000, &probe));
    KT_ASSERT(kt_circuit_admit(c, 6100, &probe) && probe);
    /* a probe whose client left lets the next request probe */
    kt_circuit_release_probe(c);
    KT_ASSERT(kt_circuit_admit(c, 6200, &probe) && probe);
    kt_circuit_result(c, &o, false, true, 6300);
    KT_ASSERT_EQ_INT(kt_circuit_state_now(c, 6300), KT_CIRCUIT_CLOSED);
    KT_ASSERT(kt_circuit_admit(c, 6300, &probe) && !probe);
    /* closed again: the back-off starts over at 1 s */
    for (int i = 0; i < 3; i++) kt_circuit_result(c, &o, true, false, 7000);
    KT_ASSERT_EQ_INT(kt_circuit_state_now(c, 7999), KT_CIRCUIT_OPEN);
    KT_ASSERT_EQ_INT(kt_circuit_state_now(c, 8000), KT_CIRCUIT_HALF_OPEN);
    kt_circuits_free(cs);
}

KT_TEST(circuit_disabled_with_zero_failures)
{
    kt_failover_opts o = opts();
    o.circuit_failures = 0;
    kt_circuits *cs = kt_circuits_new();
    kt_circuit *c = kt_circuit_of(cs, "a", 0);
    for (int i = 0; i < 100; i++) kt_circuit_result(c, &o, true, false, 0);
    KT_ASSERT_EQ_INT(kt_circuit_state_now(c, 0), KT_CIRCUIT_CLOSED);
    kt_circuits_free(cs);
}

KT_TEST(retry_budget_bounds_retries)
{
    kt_failover_opts o = opts();
    o.retry_budget = 0.2;
    o.retry_burst = 10;
    kt_circuits *cs = kt_circuits_new();
    int retries = 0;
    for (int i = 0; i < 100; i++) {   /* an outage: every request wants two retries */
        kt_retry_deposit(cs, &o);
        for (int k = 0; k < 2; k++) retries += kt_retry_withdraw(cs, &o);
    }
    KT_ASSERT(retries <= 10 + 20);
    KT_ASSERT(retries >= 28);
    KT_ASSERT(cs->retries_denied == (uint64_t)(200 - retries));
    kt_circuits_free(cs);
}

KT_TEST(circuit_table_recycles_the_oldest)
{
    kt_circuits *cs = kt_circuits_new();
    char id[16];
    for (int i = 0; i < KT_CIRCUITS_MAX + 5; i++) {
        snprintf(id, sizeof id, "t%d", i);
        kt_circuit *c = kt_circuit_of(cs, id, (uint64_t)i);
        KT_ASSERT_EQ_STR(c->id, id);
    }
    KT_ASSERT_EQ_STR(kt_circuit_of(cs, "t4", 1000)->id, "t4");   /* recycled, then re-created */
    KT_ASSERT(cs->n == KT_CIRCUITS_MAX && cs->cap == KT_CIRCUITS_MAX);
    kt_circuits_free(cs);
}

/* The table is sized by use, not by its maximum: an idle kt with a few targets keeps ~1 KB, not
 * 128 slots (20 KB, issue 17's idle budget); growing keeps what the slots held. */
KT_TEST(circuit_table_grows_on_demand)
{
    kt_circuits *cs = kt_circuits_new();
    KT_ASSERT(cs != NULL && cs->n == 0 && cs->cap > 0 && cs->cap <= 8);
    kt_circuit_of(cs, "first", 1)->failures = 7;
    char id[16];
    for (int i = 0; i < 20; i++) {
        snprintf(id, sizeof id, "t%d", i);
        kt_circuit_of(cs, id, (uint64_t)(2 + i));
    }
    KT_ASSERT(cs->n == 21 && cs->cap >= 21 && cs->cap <= 32);
    KT_ASSERT(kt_circuits_find(cs, "first") != NULL);
    KT_ASSERT(kt_circuits_find(cs, "first")->failures == 7);
    KT_ASSERT(kt_circuits_find(cs, "t19") != NULL);
    KT_ASSERT(kt_circuits_find(cs, "nope") == NULL);
    kt_circuits_free(cs);
}

KT_TEST(circuit_health_and_metrics)
{
    kt_failover_opts o = opts();
    kt_target ts[2];
    memset(ts, 0, sizeof ts);
    ts[0].id = (char *)"a";
    ts[1].id = (char *)"b";
    kt_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.targets = ts;
    cfg.ntargets = 2;
    kt_circuits *cs = kt_circuits_new();
    kt_circuit *c = kt_circuit_of(cs, "a", 0);
    for (int i = 0; i < 3; i++) kt_circuit_result(c, &o, true, false, 0);
    c->attempts[KT_ATTEMPT_CONNECT] = 3;
    kt_buf b;
    kt_buf_init(&b, 1 << 16);
    KT_ASSERT_EQ_INT(kt_circuits_health_json(cs, &cfg, 100, &b), 0);
    KT_ASSERT(strstr(b.p, "\"a\":{\"state\":\"open\",\"consecutive_failures\":3,"
                          "\"reopens_in_ms\":900}") != NULL);
    KT_ASSERT(strstr(b.p, "\"b\":{\"state\":\"closed\"") != NULL);
    KT_ASSERT_EQ_INT((int)kt_circuits_open_count(cs, &cfg, 100), 1);
    kt_buf_reset(&b);
    KT_ASSERT_EQ_INT(kt_circuits_metrics(cs, &cfg, 100, &b), 0);
    KT_ASSERT(strstr(b.p, "keeptrusts_circuit_state{target=\"a\"} 1\n") != NULL);
    KT_ASSERT(strstr(b.p, "keeptrusts_circuit_state{target=\"b\"} 0\n") != NULL);
    KT_ASSERT(strstr(b.p, "keeptrusts_failover_attempts_total{target=\"a\",outcome=\"connect\"} 3\n"));
    kt_buf_free(&b);
    kt_circuits_free(cs);
}

int main(void)
{
    KT_RUN(circuit_opens_half_opens_and_closes);
    KT_RUN(circuit_disabled_with_zero_failures);
    KT_RUN(retry_budget_bounds_retries);
    KT_RUN(circuit_table_recycles_the_oldest);
    KT_RUN(circuit_table_grows_on_demand);
    KT_RUN(circuit_health_and_metrics);
    return KT_DONE();
}
