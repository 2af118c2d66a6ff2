/* mbedTLS client on memory buffers. The socket belongs to the caller (libuv); the BIO callbacks
 * below only move bytes between mbedTLS and two capped buffers. */
#include <mbedtls/error.h>
#include <mbedtls/version.h>
#include <stdio.h>
#include <string.h>
#if MBEDTLS_VERSION_MAJOR >= 3
#include <psa/crypto.h>
#endif

#include "kt/tls.h"

#define KT_TLS_BUF_MAX (4u << 20)

/* kt's own record layer needs the key block, which only mbedTLS 2.x exports (3.x exports the
 * master secret; its TLS 1.2 connections keep mbedTLS's records). */
#if MBEDTLS_VERSION_MAJOR == 2 && defined(MBEDTLS_SSL_EXPORT_KEYS) && \
    defined(MBEDTLS_SSL_PROTO_TLS1_2) && defined(MBEDTLS_CHACHAPOLY_C)
#define KT_TLS_OWN_RECORDS 1
#else
#define KT_TLS_OWN_RECORDS 0
#endif

static const char *const kt__default_bundles[] = {
    "/etc/ssl/certs/ca-certificates.crt",   /* Debian, Ubuntu */
    "/etc/pki/tls/certs/ca-bundle.crt",     /* Fedora, RHEL */
    "/etc/ssl/cert.pem",                    /* Alpine, macOS */
};

static void describe(int rc, const char *what, char *err, size_t errlen)
{
    char m[120];
    mbedtls_strerror(rc, m, sizeof m);
    snprintf(err, errlen, "%s: %s", what, m);
}

/* AEAD suites only, the ones kt's own record layer handles first (kt/tls_record.h): AES-128-GCM
 * where the CPU has AES-NI and PCLMULQDQ, as BoringSSL and Go order them, else ChaCha20-Poly1305.
 * Measured under load against an OpenSSL upstream: with AES-GCM both kt's records and the
 * upstream's cost less than with ChaCha20-Poly1305; without the instructions ChaCha20 is the
 * cheaper one. Names unknown to the linked mbedTLS are skipped, so the list works with 2.28
 * (TLS 1.2) and 3.6 (adds TLS 1.3). */
static void set_ciphersuites(kt_tls_ctx *t)
{
    static const char *const aes_first[] = {
        "TLS1-3-AES-128-GCM-SHA256", "TLS1-3-CHACHA20-POLY1305-SHA256", "TLS1-3-AES-256-GCM-SHA384",
        "TLS-ECDHE-ECDSA-WITH-AES-128-GCM-SHA256", "TLS-ECDHE-RSA-WITH-AES-128-GCM-SHA256",
        "TLS-ECDHE-ECDSA-WITH-CHACHA20-POLY1305-SHA256", "TLS-ECDHE-RSA-WITH-CHACHA20-POLY1305-SHA256",
        "TLS-ECDHE-ECDSA-WITH-AES-256-GCM-SHA384", "TLS-ECDHE-RSA-WITH-AES-256-GCM-SHA384",
    };
    static const char *const chacha_first[] = {
        "TLS1-3-CHACHA20-POLY1305-SHA256", "TLS1-3-AES-128-GCM-SHA256", "TLS1-3-AES-256-GCM-SHA384",
        "TLS-ECDHE-ECDSA-WITH-CHACHA20-POLY1305-SHA256", "TLS-ECDHE-RSA-WITH-CHACHA20-POLY1305-SHA256",
        "TLS-ECDHE-ECDSA-WITH-AES-128-GCM-SHA256", "TLS-ECDHE-RSA-WITH-AES-128-GCM-SHA256",
        "TLS-ECDHE-ECDSA-WITH-AES-256-GCM-SHA384", "TLS-ECDHE-RSA-WITH-AES-256-GCM-SHA384",
    };
    _Static_assert(KT_ARRAY_LEN(aes_first) == KT_ARRAY_LEN(chacha_first), "same suites");
    const char *const *names = kt_aesgcm_available() ? aes_first : chacha_first;
    size_t n = 0;
    for (size_t i = 0; i < KT_ARRAY_LEN(aes_first); i++) {
        int id = mbedtls_ssl_get_ciphersuite_id(names[i]);
        if (id) t->suites[n++] = id;
    }
    t->suites[n] = 0;
    if (n) mbedtls_ssl_conf_ciphersuites(&t->conf, t->suites);
}

#if KT_TLS_OWN_RECORDS
/* Called by mbedTLS while it derives a connection's keys. The key and IV sizes of an AEAD key
 * block tell ChaCha20-Poly1305 (32, 12) from AES-GCM (16 or 32, 4); the suite and version are
 * checked again once the handshake is over (own_records_ok). */
static int export_keys(void *p, const unsigned char *ms, const unsigned char *kb, size_t maclen,
                       size_t keylen, size_t ivlen, const unsigned char client_random[32],
                       const unsigned char server_random[32], mbedtls_tls_prf_types prf)
{
    kt_tls_ctx *t = p;
    kt_tls_conn *c = t->exporting;
    (void)ms, (void)client_random, (void)server_random, (void)prf;
    if (!c || t->mbedtls_records) return 0;
    kt_tls_rec_suite suite = maclen ? KT_TLS_REC_NONE : kt_tls_rec_suite_of(keylen, ivlen);
    /* Both sides have sent one record under the new keys, their Finished messages. */
    if (suite != KT_TLS_REC_NONE) kt_tls_rec_init(&c->rec, suite, kb, 1);
    return 0;
}
#endif

int kt_tls_ctx_init(kt_tls_ctx *t, const char *ca_file, char *err, size_t errlen)
{
    static const char pers[] = "kt-tls";
    int rc;
    memset(t, 0, sizeof *t);
    mbedtls_entropy_init(&t->entropy);
    mbedtls_ctr_drbg_init(&t->drbg);
    mbedtls_x509_crt_init(&t->ca);
    mbedtls_ssl_config_init(&t->conf);
    t->ready = true;
#if MBEDTLS_VERSION_MAJOR >= 3
    if (psa_crypto_init() != PSA_SUCCESS) {
        snprintf(err, errlen, "psa_crypto_init failed");
        return KT_ETLS;
    }
#endif
    rc = mbedtls_ctr_drbg_seed(&t->drbg, mbedtls_entropy_func, &t->entropy,
                               (const unsigned char *)pers, sizeof pers - 1);
    if (rc) goto fail_rng;
    if (!ca_file || !*ca_file) {
        for (size_t i = 0; i < KT_ARRAY_LEN(kt__default_bundles) && !ca_file; i++) {
            FILE *f = fopen(kt__default_bundles[i], "r");
            if (f) {
                fclose(f);
                ca_file = kt__default_bundles[i];
            }
        }
        if (!ca_file) {
            snprintf(err, errlen, "no CA bundle found (set SSL_CERT_FILE)");
            return KT_ETLS;
        }
    }
    snprintf(t->ca_source, sizeof t->ca_source, "%s", ca_file);
    rc = mbedtls_x509_crt_parse_file(&t->ca, ca_file);
    if (rc < 0 || (rc > 0 && t->ca.version == 0)) {
        describe(rc, "cannot load CA bundle", err, errlen);
        return KT_ETLS;
    }
    rc = mbedtls_ssl_config_defaults(&t->conf, MBEDTLS_SSL_IS_CLIENT, MBEDTLS_SSL_TRANSPORT_STREAM,
                                     MBEDTLS_SSL_PRESET_DEFAULT);
    if (rc) {
        describe(rc, "TLS config", err, errlen);
        return KT_ETLS;
    }
    mbedtls_ssl_conf_authmode(&t->conf, MBEDTLS_SSL_VERIFY_REQUIRED);
    mbedtls_ssl_conf_ca_chain(&t->conf, &t->ca, NULL);
    mbedtls_ssl_conf_rng(&t->conf, mbedtls_ctr_drbg_random, &t->drbg);
    set_ciphersuites(t);
#if KT_TLS_OWN_RECORDS
    mbedtls_ssl_conf_export_keys_ext_cb(&t->conf, export_keys, t);
#endif
#if defined(MBEDTLS_SSL_SESSION_TICKETS)
    mbedtls_ssl_conf_session_tickets(&t->conf, MBEDTLS_SSL_SESSION_TICKETS_ENABLED);
#endif
#if defined(MBEDTLS_SSL_TLS1_3_SIGNAL_NEW_SESSION_TICKETS_ENABLED)
    /* mbedTLS >= 3.6.1 ignores TLS 1.3 NewSessionTicket messages unless asked: without this a
     * TLS 1.3 upstream is never resumed. */
    mbedtls_ssl_conf_tls13_enable_signal_new_session_tickets(
        &t->conf, MBEDTLS_SSL_TLS1_3_SIGNAL_NEW_SESSION_TICKETS_ENABLED);
#endif
    return KT_OK;
fail_rng:
    describe(rc, "cannot seed the RNG", err, errlen);
    return KT_ETLS;
}

void kt_tls_ctx_free(kt_tls_ctx *t)
{
    if (!t->ready) return;
    mbedtls_ssl_config_free(&t->conf);
    mbedtls_x509_crt_free(&t->ca);
    mbedtls_ctr_drbg_free(&t->drbg);
    mbedtls_entropy_free(&t->entropy);
    t->ready = false;
}

int kt_tls_random(kt_tls_ctx *t, void *out, size_t n)
{
    if (n > 64) return KT_EINVAL;
    if (t->pool_left < n) {
        if (mbedtls_ctr_drbg_random(&t->drbg, t->pool, sizeof t->pool)) return KT_ETLS;
        t->pool_left = sizeof t->pool;
    }
    unsigned char *p = t->pool + sizeof t->pool - t->pool_left;
    memcpy(out, p, n);
    memset(p, 0, n);   /* handed out once */
    t->pool_left -= n;
    return KT_OK;
}

static int bio_send(void *ud, const unsigned char *buf, size_t len)
{
    kt_tls_conn *c = ud;
    if (kt_buf_append(&c->out, buf, len)) return MBEDTLS_ERR_SSL_WANT_WRITE;
    return (int)len;
}

static int bio_recv(void *ud, unsigned char *buf, size_t len)
{
    kt_tls_conn *c = ud;
    size_t avail = c->in.len - c->in_off;
    if (avail == 0) return MBEDTLS_ERR_SSL_WANT_READ;
    size_t n = KT_MIN(avail, len);
    memcpy(buf, c->in.p + c->in_off, n);
    c->in_off += n;
    if (c->in_off == c->in.len) {
        kt_buf_reset(&c->in);
        c->in_off = 0;
    }
    return (int)n;
}

int kt_tls_conn_init(kt_tls_conn *c, kt_tls_ctx *t, const char *hostname,
                     const mbedtls_ssl_session *resume)
{
    memset(c, 0, sizeof *c);
    c->ctx = t;
    kt_buf_init(&c->in, KT_TLS_BUF_MAX);
    kt_buf_init(&c->out, KT_TLS_BUF_MAX);
    mbedtls_ssl_init(&c->ssl);
    if (mbedtls_ssl_setup(&c->ssl, &t->conf)) return KT_ETLS;
    /* Always: SNI and the name the certificate must carry. */
    if (mbedtls_ssl_set_hostname(&c->ssl, hostname)) return KT_ETLS;
    if (resume) mbedtls_ssl_set_session(&c->ssl, resume);
    mbedtls_ssl_set_bio(&c->ssl, c, bio_send, bio_recv, NULL);
    return KT_OK;
}

void kt_tls_conn_free(kt_tls_conn *c)
{
    if (!c->ssl_released) mbedtls_ssl_free(&c->ssl);
    kt_tls_rec_wipe(&c->rec);
    kt_buf_free(&c->in);
    kt_buf_free(&c->out);
}

int kt_tls_feed(kt_tls_conn *c, const char *data, size_t len)
{
    if (c->in_off && c->in_off == c->in.len && !c->pt_len) {
        kt_buf_reset(&c->in);
        c->in_off = 0;
    }
    return kt_buf_append(&c->in, data, len);
}

#if KT_TLS_OWN_RECORDS
/* The mbedTLS cipher of a suite kt's record layer handles. */
static mbedtls_cipher_type_t cipher_of(kt_tls_rec_suite s)
{
    switch (s) {
    case KT_TLS_REC_AES128_GCM: return MBEDTLS_CIPHER_AES_128_GCM;
    case KT_TLS_REC_AES256_GCM: return MBEDTLS_CIPHER_AES_256_GCM;
    case KT_TLS_REC_CHACHA20_POLY1305: return MBEDTLS_CIPHER_CHACHA20_POLY1305;
    default: return MBEDTLS_CIPHER_NONE;
    }
}
#endif

/* kt takes the records over only when all of this holds: TLS 1.2, a suite it handles,
 * the key block exported, and nothing left inside mbedTLS (it reads exactly one record at a
 * time, so what follows the server's Finished is still in c->in). */
static bool own_records_ok(kt_tls_conn *c)
{
#if KT_TLS_OWN_RECORDS
    const mbedtls_ssl_ciphersuite_t *cs =
        mbedtls_ssl_ciphersuite_from_string(mbedtls_ssl_get_ciphersuite(&c->ssl));
    return c->rec.suite != KT_TLS_REC_NONE && c->ssl.minor_ver == MBEDTLS_SSL_MINOR_VERSION_3 &&
           cs && cs->cipher == cipher_of(c->rec.suite) &&
           mbedtls_ssl_get_bytes_avail(&c->ssl) == 0 && !mbedtls_ssl_check_pending(&c->ssl);
#else
    (void)c;
    return false;
#endif
}

int kt_tls_handshake(kt_tls_conn *c, char *err, size_t errlen)
{
    c->ctx->exporting = c;
    int rc = mbedtls_ssl_handshake(&c->ssl);
    c->ctx->exporting = NULL;
    if (rc == 0) {
        c->handshake_done = true;
        c->own_records = own_records_ok(c);
        if (!c->own_records) kt_tls_rec_wipe(&c->rec);
#if MBEDTLS_VERSION_MAJOR >= 3 && defined(MBEDTLS_SSL_PROTO_TLS1_3)
        /* TLS 1.3 sessions are tickets, sent after the handshake (see kt_tls_read). */
        c->session_ready = mbedtls_ssl_get_version_number(&c->ssl) != MBEDTLS_SSL_VERSION_TLS1_3;
#else
        c->session_ready = true;
#endif
        return KT_OK;
    }
    if (rc == MBEDTLS_ERR_SSL_WANT_READ || rc == MBEDTLS_ERR_SSL_WANT_WRITE) return KT_TLS_WANT;
    uint32_t flags = mbedtls_ssl_get_verify_result(&c->ssl);
    if (flags && flags != (uint32_t)-1) {
        char info[256];
        mbedtls_x509_crt_verify_info(info, sizeof info, "", flags);
        size_t l = strlen(info);
        while (l && (info[l - 1] == '\n' || info[l - 1] == ' ')) info[--l] = '\0';
        for (char *p = info; *p; p++)
            if (*p == '\n') *p = ';';
        snprintf(err, errlen, "certificate verification failed: %s", info);
    } else {
        describe(rc, "TLS handshake failed", err, errlen);
    }
    return KT_ETLS;
}

/* ---- kt's own records (after a TLS 1.2 AES-GCM or ChaCha20-Poly1305 handshake) ------------- */

/* A non-data record: close_notify ends the stream, a fatal alert or anything but a HelloRequest
 * (which a client may ignore, RFC 5246 §7.4.1.1) is an error. Warning alerts are ignored, as
 * mbedTLS does. */
static int own_control(kt_tls_conn *c, uint8_t type, const uint8_t *p, size_t len)
{
    static const uint8_t hello_request[4] = {0, 0, 0, 0};
    if (type == KT_TLS_REC_ALERT && len == 2) {
        if (p[0] == 2) return KT_ETLS;
        if (p[1] == 0) c->closed = true;
        return KT_OK;
    }
    if (type == KT_TLS_REC_HANDSHAKE && len == 4 && !memcmp(p, hello_request, 4)) return KT_OK;
    return KT_ETLS;
}

/* Plaintext left over from a record larger than the last reader's buffer. */
static size_t own_take(kt_tls_conn *c, char *buf, size_t len)
{
    size_t n = KT_MIN(len, c->pt_len);
    memcpy(buf, c->in.p + c->pt_off, n);
    c->pt_off += n;
    c->pt_len -= n;
    return n;
}

/* Opens the complete records at the front of c->in into buf (straight into it when the record
 * fits, else in place, keeping the rest for the next call), then moves a partial record left
 * over to the front of c->in. */
static int own_read(kt_tls_conn *c, char *buf, size_t len)
{
    size_t n = own_take(c, buf, len);
    while (n < len && !c->pt_len && !c->closed) {
        uint8_t *rec = (uint8_t *)c->in.p + c->in_off, type;
        size_t plen;
        long size = kt_tls_rec_frame(&c->rec, rec, c->in.len - c->in_off, &type, &plen);
        if (size == KT_TLS_REC_NEED) break;
        if (size < 0) return KT_ETLS;
        bool direct = type == KT_TLS_REC_APPDATA && plen <= len - n;
        uint8_t *dst = direct ? (uint8_t *)buf + n : rec + kt_tls_rec_body(&c->rec);
        if (kt_tls_rec_open(&c->rec, rec, plen, dst)) return KT_ETLS;
        c->in_off += (size_t)size;
        if (direct) {
            n += plen;
        } else if (type == KT_TLS_REC_APPDATA) {
            c->pt_off = (size_t)(dst - (uint8_t *)c->in.p);
            c->pt_len = plen;
            n += own_take(c, buf + n, len - n);
        } else if (own_control(c, type, dst, plen)) {
            return KT_ETLS;
        }
    }
    if (!c->pt_len && c->in_off) {
        kt_buf_consume(&c->in, c->in_off);
        c->in_off = 0;
    }
    return (int)n;
}

static int own_write(kt_tls_conn *c, const char *data, size_t len)
{
    for (size_t off = 0; off < len;) {
        size_t n = KT_MIN(len - off, (size_t)KT_TLS_REC_PLAIN_MAX);
        if (kt_tls_rec_seal(&c->rec, KT_TLS_REC_APPDATA, data + off, n, NULL, 0, &c->out))
            return KT_ETLS;
        off += n;
    }
    return KT_OK;
}

int kt_tls_read(kt_tls_conn *c, char *buf, size_t len)
{
    if (c->own_records) return own_read(c, buf, len);
    for (unsigned spins = 0;;) {
        int rc = mbedtls_ssl_read(&c->ssl, (unsigned char *)buf, len);
        if (rc > 0) return rc;
        if (rc == 0 || rc == MBEDTLS_ERR_SSL_PEER_CLOSE_NOTIFY) {
            c->closed = true;
            return 0;
        }
        /* mbedTLS 3.6 answers WANT_READ after a post-handshake message (a TLS 1.3
         * NewSessionTicket) although more records may be buffered already: read on while input
         * is left, or the response behind the ticket waits for socket bytes that never come. */
        if (rc == MBEDTLS_ERR_SSL_WANT_READ &&
            (c->in.len > c->in_off || mbedtls_ssl_check_pending(&c->ssl)) && ++spins < 64)
            continue;
        if (rc == MBEDTLS_ERR_SSL_WANT_READ || rc == MBEDTLS_ERR_SSL_WANT_WRITE) return 0;
#if defined(MBEDTLS_ERR_SSL_RECEIVED_NEW_SESSION_TICKET)
        if (rc == MBEDTLS_ERR_SSL_RECEIVED_NEW_SESSION_TICKET) {
            c->session_ready = true;
            continue;
        }
#endif
        return KT_ETLS;
    }
}

int kt_tls_write(kt_tls_conn *c, const char *data, size_t len)
{
    if (c->own_records) return own_write(c, data, len);
    size_t off = 0;
    while (off < len) {
        int rc = mbedtls_ssl_write(&c->ssl, (const unsigned char *)data + off, len - off);
        if (rc < 0) return KT_ETLS;
        off += (size_t)rc;
    }
    return KT_OK;
}

int kt_tls_write2(kt_tls_conn *c, const char *a, size_t alen, const char *b, size_t blen)
{
    if (c->own_records && alen + blen <= KT_TLS_REC_PLAIN_MAX)
        return kt_tls_rec_seal(&c->rec, KT_TLS_REC_APPDATA, a, alen, b, blen, &c->out) ? KT_ETLS
                                                                                      : KT_OK;
    char one[KT_TLS_REC_PLAIN_MAX];
    if (!blen || alen + blen > sizeof one) {
        int rc = kt_tls_write(c, a, alen);
        return rc || !blen ? rc : kt_tls_write(c, b, blen);
    }
    memcpy(one, a, alen);
    memcpy(one + alen, b, blen);
    return kt_tls_write(c, one, alen + blen);
}

bool kt_tls_pending(kt_tls_conn *c)
{
    if (c->own_records) return c->pt_len || c->in.len > c->in_off;
    return mbedtls_ssl_get_bytes_avail(&c->ssl) > 0 || mbedtls_ssl_check_pending(&c->ssl) ||
           c->in.len > c->in_off;
}

int kt_tls_save_session(kt_tls_conn *c, mbedtls_ssl_session *out)
{
    if (c->ssl_released) return KT_ETLS;
    int rc = mbedtls_ssl_get_session(&c->ssl, out) ? KT_ETLS : KT_OK;
    /* With its session saved, mbedTLS has nothing left to do on this connection: its ~33 KB of
     * record buffers go back now rather than when the pooled connection closes. */
    if (c->own_records) {
        mbedtls_ssl_free(&c->ssl);
        c->ssl_released = true;
    }
    return rc;
}
