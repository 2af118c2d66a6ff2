/* mbedTLS client on memory buffers. The socket belongs to the caller (libuv); the BIO callbacks
 * below only move bytes between mbedTLS and two capped buffers. */
#include <mbedtls/error.h>
#include <mbedtls/platform_util.h>
#include <mbedtls/version.h>
#include <stdio.h>
#include <string.h>
#if MBEDTLS_VERSION_MAJOR >= 3
#include <psa/crypto.h>
#endif

#include "kt/tls.h"

#define KT_TLS_BUF_MAX (4u << 20)

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

/* AEAD suites only, ChaCha20-Poly1305 first: measured under load against nginx, mbedTLS 2.28's
 * AES-GCM (GHASH via aesni_gcm_mult) cost ~15% of kt's CPU where ChaCha20-Poly1305 cost ~1.5%.
 * Names unknown to the linked mbedTLS are skipped, so the list works with 2.28 (TLS 1.2) and
 * 3.6 (adds TLS 1.3). */
static void set_ciphersuites(kt_tls_ctx *t)
{
    static const char *const names[] = {
        "TLS1-3-CHACHA20-POLY1305-SHA256", "TLS1-3-AES-128-GCM-SHA256", "TLS1-3-AES-256-GCM-SHA384",
        "TLS-ECDHE-ECDSA-WITH-CHACHA20-POLY1305-SHA256", "TLS-ECDHE-RSA-WITH-CHACHA20-POLY1305-SHA256",
        "TLS-ECDHE-ECDSA-WITH-AES-128-GCM-SHA256", "TLS-ECDHE-RSA-WITH-AES-128-GCM-SHA256",
        "TLS-ECDHE-ECDSA-WITH-AES-256-GCM-SHA384", "TLS-ECDHE-RSA-WITH-AES-256-GCM-SHA384",
    };
    size_t n = 0;
    for (size_t i = 0; i < KT_ARRAY_LEN(names); i++) {
        int id = mbedtls_ssl_get_ciphersuite_id(names[i]);
        if (id) t->suites[n++] = id;
    }
    t->suites[n] = 0;
}

/* One client configuration; both of the context's share everything but the ALPN list. */
static int configure(kt_tls_ctx *t, mbedtls_ssl_config *conf, bool offer_h2)
{
    static const char *alpn_h2[] = { "h2", "http/1.1", NULL };
    int rc = mbedtls_ssl_config_defaults(conf, MBEDTLS_SSL_IS_CLIENT, MBEDTLS_SSL_TRANSPORT_STREAM,
                                         MBEDTLS_SSL_PRESET_DEFAULT);
    if (rc) return rc;
    mbedtls_ssl_conf_authmode(conf, MBEDTLS_SSL_VERIFY_REQUIRED);
    mbedtls_ssl_conf_ca_chain(conf, &t->ca, NULL);
    mbedtls_ssl_conf_rng(conf, mbedtls_ctr_drbg_random, &t->drbg);
    if (t->suites[0]) mbedtls_ssl_conf_ciphersuites(conf, t->suites);
#if defined(MBEDTLS_SSL_SESSION_TICKETS)
    mbedtls_ssl_conf_session_tickets(conf, MBEDTLS_SSL_SESSION_TICKETS_ENABLED);
#endif
#if defined(MBEDTLS_SSL_TLS1_3_SIGNAL_NEW_SESSION_TICKETS_ENABLED)
    /* mbedTLS >= 3.6.1 ignores TLS 1.3 NewSessionTicket messages unless asked: without this a
     * TLS 1.3 upstream is never resumed. */
    mbedtls_ssl_conf_tls13_enable_signal_new_session_tickets(
        conf, MBEDTLS_SSL_TLS1_3_SIGNAL_NEW_SESSION_TICKETS_ENABLED);
#endif
#if defined(MBEDTLS_SSL_ALPN)
    if (offer_h2) rc = mbedtls_ssl_conf_alpn_protocols(conf, alpn_h2);
#else
    (void)offer_h2;
    (void)alpn_h2;
#endif
    return rc;
}

int kt_tls_ctx_init(kt_tls_ctx *t, const char *ca_file, char *err, size_t errlen)
{
    static const char pers[] = "kt-tls";
    int rc;
    memset(t, 0, sizeof *t);
    mbedtls_entropy_init(&t->entropy);
    mbedtls_ctr_drbg_init(&t->drbg);
    mbedtls_x509_crt_init(&t->ca);
    mbedtls_ssl_config_init(&t->conf);
    mbedtls_ssl_config_init(&t->conf_h2);
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
    set_ciphersuites(t);
    rc = configure(t, &t->conf, false);
    if (!rc) rc = configure(t, &t->conf_h2, true);
    if (rc) {
        describe(rc, "TLS config", err, errlen);
        return KT_ETLS;
    }
    return KT_OK;
fail_rng:
    describe(rc, "cannot seed the RNG", err, errlen);
    return KT_ETLS;
}

void kt_tls_ctx_free(kt_tls_ctx *t)
{
    if (!t->ready) return;
    mbedtls_ssl_config_free(&t->conf);
    mbedtls_ssl_config_free(&t->conf_h2);
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
                     const mbedtls_ssl_session *resume, bool offer_h2)
{
    memset(c, 0, sizeof *c);
    kt_buf_init(&c->in, KT_TLS_BUF_MAX);
    kt_buf_init(&c->out, KT_TLS_BUF_MAX);
    mbedtls_ssl_init(&c->ssl);
    if (mbedtls_ssl_setup(&c->ssl, offer_h2 ? &t->conf_h2 : &t->conf)) return KT_ETLS;
    /* Always: SNI and the name the certificate must carry. */
    if (mbedtls_ssl_set_hostname(&c->ssl, hostname)) return KT_ETLS;
    if (resume) mbedtls_ssl_set_session(&c->ssl, resume);
    mbedtls_ssl_set_bio(&c->ssl, c, bio_send, bio_recv, NULL);
    return KT_OK;
}

void kt_tls_conn_free(kt_tls_conn *c)
{
    mbedtls_ssl_free(&c->ssl);
    kt_buf_free(&c->in);
    kt_buf_free(&c->out);
}

int kt_tls_feed(kt_tls_conn *c, const char *data, size_t len)
{
    if (c->in_off && c->in_off == c->in.len) {
        kt_buf_reset(&c->in);
        c->in_off = 0;
    }
    return kt_buf_append(&c->in, data, len);
}

int kt_tls_handshake(kt_tls_conn *c, char *err, size_t errlen)
{
    int rc = mbedtls_ssl_handshake(&c->ssl);
    if (rc == 0) {
        c->handshake_done = true;
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

int kt_tls_read(kt_tls_conn *c, char *buf, size_t len)
{
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
    char one[KT_TLS_RECORD_MAX];
    if (!blen || alen + blen > sizeof one) {
        int rc = kt_tls_write(c, a, alen);
        return rc || !blen ? rc : kt_tls_write(c, b, blen);
    }
    memcpy(one, a, alen);
    memcpy(one + alen, b, blen);
    int rc = kt_tls_write(c, one, alen + blen);
    mbedtls_platform_zeroize(one, alen + blen);   /* the head carries the provider key */
    return rc;
}

bool kt_tls_pending(kt_tls_conn *c)
{
    return mbedtls_ssl_get_bytes_avail(&c->ssl) > 0 || mbedtls_ssl_check_pending(&c->ssl) ||
           c->in.len > c->in_off;
}

int kt_tls_save_session(kt_tls_conn *c, mbedtls_ssl_session *out)
{
    return mbedtls_ssl_get_session(&c->ssl, out) ? KT_ETLS : KT_OK;
}

bool kt_tls_alpn_h2(kt_tls_conn *c)
{
#if defined(MBEDTLS_SSL_ALPN)
    const char *p = mbedtls_ssl_get_alpn_protocol(&c->ssl);
    return p && strcmp(p, "h2") == 0;
#else
    (void)c;
    return false;
#endif
}
