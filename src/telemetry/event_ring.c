/* The event ring: a FIFO of formatted events bounded in bytes. When a new event does not fit,
 * the oldest go first and every drop is counted, so the next delivered batch can say exactly how
 * many were lost. */
#include <stdlib.h>
#include <string.h>

#include "kt/events.h"

void kt_event_ring_init(kt_event_ring *r, size_t max_bytes)
{
    memset(r, 0, sizeof *r);
    r->max_bytes = max_bytes;
}

static size_t rec_cost(size_t len) { return len + KT_EVENT_REC_OVERHEAD; }

void kt_event_ring_free(kt_event_ring *r)
{
    kt_event_rec *e = r->head;
    while (e) {
        kt_event_rec *n = e->next;
        free(e);
        e = n;
    }
    r->head = r->tail = NULL;
    r->count = r->bytes = 0;
}

kt_event_rec *kt_event_ring_pop(kt_event_ring *r)
{
    kt_event_rec *e = r->head;
    if (!e) return NULL;
    r->head = e->next;
    if (!r->head) r->tail = NULL;
    e->next = NULL;
    r->count--;
    r->bytes -= rec_cost(e->len);
    return e;
}

bool kt_event_ring_drop_oldest(kt_event_ring *r)
{
    kt_event_rec *e = kt_event_ring_pop(r);
    if (!e) return false;
    free(e);
    r->dropped++;
    r->dropped_unreported++;
    return true;
}

int kt_event_ring_push(kt_event_ring *r, const char *data, size_t len)
{
    size_t cost = rec_cost(len);
    if (cost > r->max_bytes || len > UINT32_MAX) {
        r->dropped++;
        r->dropped_unreported++;
        return KT_ELIMIT;
    }
    while (r->bytes + cost > r->max_bytes) kt_event_ring_drop_oldest(r);
    kt_event_rec *e = kt_malloc(sizeof *e + len + 1);
    if (!e) {
        r->dropped++;
        r->dropped_unreported++;
        return KT_ENOMEM;
    }
    e->next = NULL;
    e->len = (uint32_t)len;
    memcpy(e->data, data, len);
    e->data[len] = '\0';
    if (r->tail) r->tail->next = e;
    else r->head = e;
    r->tail = e;
    r->count++;
    r->bytes += cost;
    return KT_OK;
}

void kt_event_ring_unshift(kt_event_ring *r, kt_event_rec *list)
{
    if (!list) return;
    kt_event_rec *last = list;
    size_t n = 0, bytes = 0;
    for (kt_event_rec *e = list; e; e = e->next) {
        n++;
        bytes += rec_cost(e->len);
        last = e;
    }
    last->next = r->head;
    if (!r->head) r->tail = last;
    r->head = list;
    r->count += n;
    r->bytes += bytes;
}
