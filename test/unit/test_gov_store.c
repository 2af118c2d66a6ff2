/* The governance counters: GCRA admits exactly a limit's burst and then one per interval (no
 * window boundary), check-and-reserve is all or nothing, spend settles to the real cost and
 * releases the rest, windows roll at UTC day/month, expired reservations give their hold back. */
#include <string.h>

#include "../../src/governance/gov_store.h"
#include "kt_test.h"

static kt_gov_check rate(kt_gov_entry *e, double limit, double cost)
{
    kt_gov_check c;
    memset(&c, 0, sizeof c);
    c.entry = e;
    c.what = KT_HOLD_REQS;
    c.limit = limit;
    c.cost = cost;
    return c;
}

static kt_gov_check spend(kt_gov_entry *e, double day, double month, double cost)
{
    kt_gov_check c;
    memset(&c, 0, sizeof c);
    c.entry = e;
    c.what = KT_HOLD_SPEND;
    c.limit = day;
    c.limit_month = month;
    c.cost = cost;
    return c;
}

KT_TEST(gcra_burst_then_one_per_interval)
{
    kt_gov_store s;
    kt__store_init(&s);
    kt_gov_entry *e = kt__store_entry(&s, "r:x");
    KT_ASSERT(e != NULL);
    int64_t now = 1000000000;
    kt_gov_check c = rate(e, 10, 1);
    kt_gov_req r;
    kt_gov_denial d;
    int ok = 0;
    for (int i = 0; i < 50; i++) {
        memset(&r, 0, sizeof r);
        ok += kt__store_reserve(&s, &c, 1, now, 0, 0, &r, &d);
    }
    KT_ASSERT_EQ_INT(ok, 10);
    KT_ASSERT(d.retry_us > 5900000 && d.retry_us <= 6000000);   /* one interval: 6 s */
    memset(&r, 0, sizeof r);
    KT_ASSERT(!kt__store_reserve(&s, &c, 1, now + 5999000, 0, 0, &r, &d));
    KT_ASSERT(kt__store_reserve(&s, &c, 1, now + 6000000, 0, 0, &r, &d));
    KT_ASSERT(!kt__store_reserve(&s, &c, 1, now + 6000001, 0, 0, &r, &d));
    /* a minute later the whole burst is back, not twice it */
    ok = 0;
    for (int i = 0; i < 30; i++) {
        memset(&r, 0, sizeof r);
        ok += kt__store_reserve(&s, &c, 1, now + 6000000 + 60000000, 0, 0, &r, &d);
    }
    KT_ASSERT_EQ_INT(ok, 10);
    kt__store_free(&s);
}

KT_TEST(reserve_is_all_or_nothing)
{
    kt_gov_store s;
    kt__store_init(&s);
    kt_gov_entry *a = kt__store_entry(&s, "r:a"), *b = kt__store_entry(&s, "s:b");
    kt_gov_check cs[2] = { rate(a, 100, 1), spend(b, 10, 0, 11) };
    kt_gov_req r;
    memset(&r, 0, sizeof r);
    kt_gov_denial d;
    KT_ASSERT(!kt__store_reserve(&s, cs, 2, 0, 5, 5, &r, &d));
    KT_ASSERT_EQ_INT(d.index, 1);
    KT_ASSERT_EQ_INT(a->tat_reqs, 0);   /* the rate was not taken */
    KT_ASSERT(b->held == 0);
    cs[1].cost = 4;
    KT_ASSERT(kt__store_reserve(&s, cs, 2, 0, 5, 5, &r, &d));
    KT_ASSERT_EQ_INT(r.nholds, 2);
    KT_ASSERT(b->held == 4);
    kt__store_free(&s);
}

KT_TEST(spend_settles_real_cost_and_releases)
{
    kt_gov_store s;
    kt__store_init(&s);
    kt_gov_entry *e = kt__store_entry(&s, "s:g");
    kt_gov_check c = spend(e, 10, 100, 4);
    kt_gov_req r1, r2, r3;
    memset(&r1, 0, sizeof r1);
    memset(&r2, 0, sizeof r2);
    memset(&r3, 0, sizeof r3);
    kt_gov_denial d;
    KT_ASSERT(kt__store_reserve(&s, &c, 1, 0, 7, 3, &r1, &d));
    KT_ASSERT(kt__store_reserve(&s, &c, 1, 0, 7, 3, &r2, &d));
    KT_ASSERT(!kt__store_reserve(&s, &c, 1, 0, 7, 3, &r3, &d));   /* 8 held + 4 > 10 */
    KT_ASSERT(d.held == 8 && !d.monthly);
    kt__store_settle(&s, &r1, 1.5, -1, 0, 7, 3);
    kt__store_settle(&s, &r2, 0, -1, 0, 7, 3);   /* failed: nothing used */
    KT_ASSERT(e->held == 0);                     /* no phantom reservation */
    KT_ASSERT(e->spent_day == 1.5 && e->spent_month == 1.5);
    KT_ASSERT(kt__store_reserve(&s, &c, 1, 0, 7, 3, &r3, &d));
    kt__store_settle(&s, &r3, 4, -1, 0, 8, 3);   /* settled the next day: counted there */
    KT_ASSERT(e->spent_day == 4 && e->spent_month == 5.5);
    /* the monthly budget */
    kt_gov_check m = spend(e, 0, 6, 1);
    memset(&r1, 0, sizeof r1);
    KT_ASSERT(!kt__store_reserve(&s, &m, 1, 0, 8, 3, &r1, &d));
    KT_ASSERT(d.monthly && d.spent == 5.5);
    KT_ASSERT(kt__store_reserve(&s, &m, 1, 0, 8, 4, &r1, &d));   /* a new month */
    kt__store_free(&s);
}

KT_TEST(expired_reservation_gives_its_hold_back)
{
    kt_gov_store s;
    kt__store_init(&s);
    kt_gov_entry *e = kt__store_entry(&s, "s:g");
    kt_gov_check c = spend(e, 10, 0, 9);
    kt_gov_req r;
    memset(&r, 0, sizeof r);
    kt_gov_denial d;
    KT_ASSERT(kt__store_reserve(&s, &c, 1, 0, 1, 1, &r, &d));
    kt__store_expire(&s, &r);
    KT_ASSERT(e->held == 0);
    kt__store_settle(&s, &r, 2, -1, 0, 1, 1);   /* it still settles what it used, once */
    KT_ASSERT(e->held == 0 && e->spent_day == 2);
    kt__store_free(&s);
}

KT_TEST(token_rate_is_corrected_by_real_usage)
{
    kt_gov_store s;
    kt__store_init(&s);
    kt_gov_entry *e = kt__store_entry(&s, "t:g");
    kt_gov_check c = rate(e, 600, 500);
    c.what = KT_HOLD_TOKENS;
    kt_gov_req r;
    memset(&r, 0, sizeof r);
    kt_gov_denial d;
    KT_ASSERT(kt__store_reserve(&s, &c, 1, 0, 0, 0, &r, &d));
    c.cost = 200;
    kt_gov_req r2;
    memset(&r2, 0, sizeof r2);
    KT_ASSERT(!kt__store_reserve(&s, &c, 1, 0, 0, 0, &r2, &d));   /* 500 + 200 > 600 */
    kt__store_settle(&s, &r, 0, 100, 0, 0, 0);   /* only 100 were used */
    KT_ASSERT(kt__store_reserve(&s, &c, 1, 0, 0, 0, &r2, &d));
    kt__store_free(&s);
}

KT_TEST(bounded_keys)
{
    kt_gov_store s;
    kt__store_init(&s);
    char key[KT_GOV_KEY_MAX + 8];
    memset(key, 'k', sizeof key - 1);
    key[sizeof key - 1] = '\0';
    KT_ASSERT(kt__store_entry(&s, key) == NULL);
    KT_ASSERT(kt__store_entry(&s, "a") == kt__store_entry(&s, "a"));
    KT_ASSERT_EQ_INT(s.n, 1);
    kt__store_free(&s);
}

int main(void)
{
    KT_RUN(gcra_burst_then_one_per_interval);
    KT_RUN(reserve_is_all_or_nothing);
    KT_RUN(spend_settles_real_cost_and_releases);
    KT_RUN(expired_reservation_gives_its_hold_back);
    KT_RUN(token_rate_is_corrected_by_real_usage);
    KT_RUN(bounded_keys);
    return KT_DONE();
}
