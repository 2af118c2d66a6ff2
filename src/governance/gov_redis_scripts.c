/* The two server-side scripts of the shared counters, each one atomic step in Redis:
 *
 * reserve: every check of a request, all or nothing. Rate checks are GCRA on a theoretical
 * arrival time (microseconds of Redis' own clock, so every instance shares one clock), kept in a
 * key that expires when it no longer matters. A spend check first drops the holds whose expiry
 * passed (a sorted set of request ids scored by expiry, their amounts in a hash), then compares
 * settled spend of the UTC day and month + held + this request's estimate with the limits. Spend
 * is counted in integer nano-dollars (INCRBY: no float drift). Reply: {1, now, x_1..x_n, then
 * m_j for each spend check j} or {0, index, spent, held, retry_us, monthly}, where x_i is a rate
 * check's new tat or a spend check's day total (settled + held, this request's estimate
 * included) and m_j its month total: the fleet's use, which the budget gauges show.
 *
 *   KEYS: per check: rate -> tat; spend -> day, month, holds hash, holds zset
 *   ARGV: rid, ttl_ms, n, then per check: kind (r|t|s), limit, limit_month, cost
 *
 * settle: once per request id (SET NX of a marker that outlives any retry): releases each spend
 * hold and adds the real cost to the day and the month, gives back (or takes) the difference of
 * a token estimate. A settle sent twice counts once. Reply 1 (applied) or 0 (already settled).
 *
 *   KEYS: marker, then per hold: spend -> day, month, holds hash, holds zset; rate -> tat
 *   ARGV: rid, marker_ttl_ms, usd_nano, tokens (-1 unknown), n, then per hold: kind, amount, limit
 */
#include "gov_redis.h"

static const char kt__reserve[] =
    "local t = redis.call('TIME')\n"
    "local now = tonumber(t[1]) * 1000000 + tonumber(t[2])\n"
    "local nowms = math.floor(now / 1000)\n"
    "local rid, ttl, n = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])\n"
    "local k, a, plan = 1, 4, {}\n"
    "for i = 1, n do\n"
    "  local what, limit = ARGV[a], tonumber(ARGV[a + 1])\n"
    "  local lm, cost = tonumber(ARGV[a + 2]), tonumber(ARGV[a + 3])\n"
    "  a = a + 4\n"
    "  if what == 's' then\n"
    "    local dk, mk, hk, zk = KEYS[k], KEYS[k + 1], KEYS[k + 2], KEYS[k + 3]\n"
    "    k = k + 4\n"
    "    local old = redis.call('ZRANGEBYSCORE', zk, '-inf', nowms, 'LIMIT', 0, 1000)\n"
    "    if #old > 0 then\n"
    "      redis.call('ZREM', zk, unpack(old))\n"
    "      redis.call('HDEL', hk, unpack(old))\n"
    "    end\n"
    "    local held = 0\n"
    "    for _, v in ipairs(redis.call('HVALS', hk)) do held = held + tonumber(v) end\n"
    "    local sd = tonumber(redis.call('GET', dk) or '0')\n"
    "    local sm = tonumber(redis.call('GET', mk) or '0')\n"
    "    if limit > 0 and sd + held + cost > limit then return {0, i, sd, held, 0, 0} end\n"
    "    if lm > 0 and sm + held + cost > lm then return {0, i, sm, held, 0, 1} end\n"
    "    plan[i] = {what, hk, zk, ARGV[a - 1], sd + held + cost, sm + held + cost}\n"
    "  else\n"
    "    local tk = KEYS[k]\n"
    "    k = k + 1\n"
    "    local step = 60000000 / limit\n"
    "    local tat = tonumber(redis.call('GET', tk) or '0')\n"
    "    if tat < now then tat = now end\n"
    "    local nxt = tat + math.ceil(cost * step)\n"
    "    if nxt - now > 60000000 then\n"
    "      local retry = nxt - now - 60000000\n"
    "      if cost > limit then retry = 60000000 end\n"
    "      return {0, i, 0, 0, retry, 0}\n"
    "    end\n"
    "    plan[i] = {what, tk, nxt}\n"
    "  end\n"
    "end\n"
    "local out, months = {1, now}, {}\n"
    "for i = 1, n do\n"
    "  local p = plan[i]\n"
    "  if p[1] == 's' then\n"
    "    redis.call('HSET', p[2], rid, p[4])\n"
    "    redis.call('ZADD', p[3], nowms + ttl, rid)\n"
    "    redis.call('PEXPIRE', p[2], ttl + 60000)\n"
    "    redis.call('PEXPIRE', p[3], ttl + 60000)\n"
    "    out[#out + 1] = p[5]\n"
    "    months[#months + 1] = p[6]\n"
    "  else\n"
    "    redis.call('SET', p[2], string.format('%.0f', p[3]), 'PX',\n"
    "               math.floor((p[3] - now) / 1000) + 1000)\n"
    "    out[#out + 1] = p[3]\n"
    "  end\n"
    "end\n"
    "for _, m in ipairs(months) do out[#out + 1] = m end\n"
    "return out\n";

static const char kt__settle[] =
    "if not redis.call('SET', KEYS[1], '1', 'NX', 'PX', ARGV[2]) then return 0 end\n"
    "local t = redis.call('TIME')\n"
    "local now = tonumber(t[1]) * 1000000 + tonumber(t[2])\n"
    "local rid, usd, tokens, n = ARGV[1], ARGV[3], tonumber(ARGV[4]), tonumber(ARGV[5])\n"
    "local k, a = 2, 6\n"
    "for i = 1, n do\n"
    "  local what, amount, limit = ARGV[a], tonumber(ARGV[a + 1]), tonumber(ARGV[a + 2])\n"
    "  a = a + 3\n"
    "  if what == 's' then\n"
    "    redis.call('HDEL', KEYS[k + 2], rid)\n"
    "    redis.call('ZREM', KEYS[k + 3], rid)\n"
    "    if tonumber(usd) > 0 then\n"
    "      redis.call('INCRBY', KEYS[k], usd)\n"
    "      redis.call('INCRBY', KEYS[k + 1], usd)\n"
    "      redis.call('PEXPIRE', KEYS[k], 172800000)\n"
    "      redis.call('PEXPIRE', KEYS[k + 1], 2764800000)\n"
    "    end\n"
    "    k = k + 4\n"
    "  else\n"
    "    if what == 't' and tokens >= 0 and limit > 0 then\n"
    "      local tat = tonumber(redis.call('GET', KEYS[k]) or '0')\n"
    "      local adj = (tokens - amount) * 60000000 / limit\n"
    "      local nt = tat + adj\n"
    "      if adj < 0 and nt < now then nt = now end\n"
    "      if nt > now then\n"
    "        redis.call('SET', KEYS[k], string.format('%.0f', nt), 'PX',\n"
    "                   math.floor((nt - now) / 1000) + 1000)\n"
    "      else\n"
    "        redis.call('DEL', KEYS[k])\n"
    "      end\n"
    "    end\n"
    "    k = k + 1\n"
    "  end\n"
    "end\n"
    "return 1\n";

const char *const kt__rds_scripts[KT_RDS_NSCRIPTS] = { kt__reserve, kt__settle };
