/* kt's TLS client against an in-process mbedTLS server over memory: after a TLS 1.2 AES-128-GCM
 * (or 256) or ChaCha20-Poly1305 handshake (full or resumed) kt seals and opens the records itself
 * and the
 * server, with mbedTLS's own record layer, must read and write every size through it, whatever
 * the read chunking; other suites keep mbedTLS's records; alerts, HelloRequest, and any altered
 * byte of a record are handled as the RFCs say. */
#include <mbedtls/ctr_drbg.h>
#include <mbedtls/ecp.h>
#include <mbedtls/entropy.h>
#include <mbedtls/pk.h>
#include <mbedtls/ssl.h>
#include <mbedtls/ssl_cache.h>
#include <mbedtls/version.h>
#include <mbedtls/x509_crt.h>
#include <stdlib.h>
#include <unistd.h>
#if MBEDTLS_VERSION_MAJOR >= 3
#include <psa/crypto.h>
#endif

#include "kt/tls.h"
#include "kt_test.h"

#define CHACHA "TLS-ECDHE-ECDSA-WITH-CHACHA20-POLY1305-SHA256"
#define AESGCM "TLS-ECDHE-ECDSA-WITH-AES-128-GCM-SHA256"
#define AES256 "TLS-ECDHE-ECDSA-WITH-AES-256-GCM-SHA384"

typedef struct fixture {
    mbedtls_entropy_context entropy;
    mbedtls_ctr_drbg_context drbg;
    mbedtls_pk_context key;
    mbedtls_x509_crt crt;
    mbedtls_ssl_cache_context cache;
    char ca_path[64];
    kt_tls_ctx kt;
} fixture;

typedef struct server {
    mbedtls_ssl_config conf;
    mbedtls_ssl_context ssl;
    int suites[2];
    kt_buf in, out;   /* bytes from the client; bytes for the client */
    size_t in_off;
} server;

static fixture *fx;   /* set up once by main */

static int write_self_signed(fixture *f)
{
    unsigned char pem[4096];
    mbedtls_x509write_cert w;
    mbedtls_x509write_crt_init(&w);
    mbedtls_x509write_crt_set_version(&w, MBEDTLS_X509_CRT_VERSION_3);
    mbedtls_x509write_crt_set_md_alg(&w, MBEDTLS_MD_SHA256);
    mbedtls_x509write_crt_set_subject_key(&w, &f->key);
    mbedtls_x509write_crt_set_issuer_key(&w, &f->key);
    int rc = mbedtls_x509write_crt_set_subject_name(&w, "CN=localhost");
    rc = rc ? rc : mbedtls_x509write_crt_set_issuer_name(&w, "CN=localhost");
#if MBEDTLS_VERSION_MAJOR >= 3
    static const unsigned char serial[] = {1};
    rc = rc ? rc : mbedtls_x509write_crt_set_serial_raw(&w, (unsigned char *)serial, 1);
#else
    mbedtls_mpi serial;
    mbedtls_mpi_init(&serial);
    rc = rc ? rc : mbedtls_mpi_lset(&serial, 1);
    rc = rc ? rc : mbedtls_x509write_crt_set_serial(&w, &serial);
    mbedtls_mpi_free(&serial);
#endif
    rc = rc ? rc : mbedtls_x509write_crt_set_validity(&w, "20200101000000", "20991231235959");
    rc = rc ? rc : mbedtls_x509write_crt_set_basic_constraints(&w, 1, -1);
    rc = rc ? rc : mbedtls_x509write_crt_pem(&w, pem, sizeof pem, mbedtls_ctr_drbg_random, &f->drbg);
    mbedtls_x509write_crt_free(&w);
    if (rc) return rc;
    rc = mbedtls_x509_crt_parse(&f->crt, pem, strlen((char *)pem) + 1);
    snprintf(f->ca_path, sizeof f->ca_path, "/tmp/kt-test-tls-XXXXXX");
    int fd = mkstemp(f->ca_path);
    if (rc || fd < 0) return -1;
    ssize_t n = write(fd, pem, strlen((char *)pem));
    close(fd);
    return n == (ssize_t)strlen((char *)pem) ? 0 : -1;
}

static int fixture_init(fixture *f)
{
    char err[256];
    mbedtls_entropy_init(&f->entropy);
    mbedtls_ctr_drbg_init(&f->drbg);
    mbedtls_pk_init(&f->key);
    mbedtls_x509_crt_init(&f->crt);
    mbedtls_ssl_cache_init(&f->cache);
#if MBEDTLS_VERSION_MAJOR >= 3
    if (psa_crypto_init() != PSA_SUCCESS) return -1;
#endif
    if (mbedtls_ctr_drbg_seed(&f->drbg, mbedtls_entropy_func, &f->entropy, NULL, 0) ||
        mbedtls_pk_setup(&f->key, mbedtls_pk_info_from_type(MBEDTLS_PK_ECKEY)) ||
        mbedtls_ecp_gen_key(MBEDTLS_ECP_DP_SECP256R1, mbedtls_pk_ec(f->key),
                            mbedtls_ctr_drbg_random, &f->drbg) ||
        write_self_signed(f))
        return -1;
    if (kt_tls_ctx_init(&f->kt, f->ca_path, err, sizeof err)) {
        printf("# %s\n", err);
        return -1;
    }
    return 0;
}

static void fixture_free(fixture *f)
{
    kt_tls_ctx_free(&f->kt);
    unlink(f->ca_path);
    mbedtls_ssl_cache_free(&f->cache);
    mbedtls_x509_crt_free(&f->crt);
    mbedtls_pk_free(&f->key);
    mbedtls_ctr_drbg_free(&f->drbg);
    mbedtls_entropy_free(&f->entropy);
}

/* ---- the server side ------------------------------------------------------------------------ */

static int srv_send(void *ud, const unsigned char *buf, size_t len)
{
    server *s = ud;
    return kt_buf_append(&s->out, buf, len) ? MBEDTLS_ERR_SSL_WANT_WRITE : (int)len;
}

static int srv_recv(void *ud, unsigned char *buf, size_t len)
{
    server *s = ud;
    size_t n = KT_MIN(len, s->in.len - s->in_off);
    if (!n) return MBEDTLS_ERR_SSL_WANT_READ;
    memcpy(buf, s->in.p + s->in_off, n);
    s->in_off += n;
    return (int)n;
}

static int server_init(server *s, const char *suite)
{
    memset(s, 0, sizeof *s);
    kt_buf_init(&s->in, 1 << 22);
    kt_buf_init(&s->out, 1 << 22);
    mbedtls_ssl_config_init(&s->conf);
    mbedtls_ssl_init(&s->ssl);
    if (mbedtls_ssl_config_defaults(&s->conf, MBEDTLS_SSL_IS_SERVER, MBEDTLS_SSL_TRANSPORT_STREAM,
                                    MBEDTLS_SSL_PRESET_DEFAULT))
        return -1;
    mbedtls_ssl_conf_rng(&s->conf, mbedtls_ctr_drbg_random, &fx->drbg);
#if MBEDTLS_VERSION_MAJOR >= 3
    /* The suites under test are TLS 1.2's: a TLS 1.3 client (kt on 3.6) must not find 1.3. */
    mbedtls_ssl_conf_max_tls_version(&s->conf, MBEDTLS_SSL_VERSION_TLS1_2);
#endif
    s->suites[0] = mbedtls_ssl_get_ciphersuite_id(suite);
    mbedtls_ssl_conf_ciphersuites(&s->conf, s->suites);
    mbedtls_ssl_conf_session_cache(&s->conf, &fx->cache, mbedtls_ssl_cache_get,
                                   mbedtls_ssl_cache_set);
#if defined(MBEDTLS_SSL_RENEGOTIATION)
    mbedtls_ssl_conf_renegotiation(&s->conf, MBEDTLS_SSL_RENEGOTIATION_ENABLED);
#endif
    if (mbedtls_ssl_conf_own_cert(&s->conf, &fx->crt, &fx->key) ||
        mbedtls_ssl_setup(&s->ssl, &s->conf))
        return -1;
    mbedtls_ssl_set_bio(&s->ssl, s, srv_send, srv_recv, NULL);
    return 0;
}

static void server_free(server *s)
{
    mbedtls_ssl_free(&s->ssl);
    mbedtls_ssl_config_free(&s->conf);
    kt_buf_free(&s->in);
    kt_buf_free(&s->out);
}

/* ---- moving bytes --------------------------------------------------------------------------- */

static void client_to_server(kt_tls_conn *c, server *s)
{
    kt_buf_append(&s->in, c->out.p, c->out.len);
    kt_buf_reset(&c->out);
}

/* Feeds the server's output to the client `chunk` bytes at a time, reading after each feed with
 * a `cap`-byte buffer; the plaintext is appended to `got`. KT_OK or the first read error. */
static int server_to_client(server *s, kt_tls_conn *c, size_t chunk, size_t cap, kt_buf *got)
{
    char *rbuf = malloc(cap);
    int rc = KT_OK;
    for (size_t off = 0; off < s->out.len && rc == KT_OK;) {
        size_t n = KT_MIN(chunk, s->out.len - off);
        kt_tls_feed(c, s->out.p + off, n);
        off += n;
        if (!c->handshake_done) continue;
        for (int r; (r = kt_tls_read(c, rbuf, cap)) != 0;) {
            if (r < 0) {
                rc = r;
                break;
            }
            if (got) kt_buf_append(got, rbuf, (size_t)r);
        }
    }
    kt_buf_reset(&s->out);
    free(rbuf);
    return rc;
}

static int handshake(kt_tls_conn *c, server *s)
{
    char err[300];
    int crc = KT_TLS_WANT, src = MBEDTLS_ERR_SSL_WANT_READ;
    for (int i = 0; i < 64 && (crc || src); i++) {
        if (crc == KT_TLS_WANT) crc = kt_tls_handshake(c, err, sizeof err);
        client_to_server(c, s);
        if (src) src = mbedtls_ssl_handshake(&s->ssl);
        if (src && src != MBEDTLS_ERR_SSL_WANT_READ) return -1;
        server_to_client(s, c, 1 << 20, 1 << 16, NULL);
        if (crc < 0) {
            printf("# %s\n", err);
            return -1;
        }
    }
    return crc || src ? -1 : 0;
}

static int connect_pair(kt_tls_conn *c, server *s, const char *suite,
                        const mbedtls_ssl_session *resume)
{
    if (server_init(s, suite)) return -1;
    if (kt_tls_conn_init(c, &fx->kt, "localhost", resume)) return -1;
    return handshake(c, s);
}

static void fill(char *p, size_t n, unsigned seed)
{
    for (size_t i = 0; i < n; i++) p[i] = (char)((i * 131 + seed * 7 + (i >> 8)) & 0xff);
}

/* The client writes n bytes (as two parts when split < n); the server must read them all. */
static int client_sends(kt_tls_conn *c, server *s, size_t n, size_t split)
{
    char *p = malloc(n + 1), *q = malloc(n + 1);
    fill(p, n, (unsigned)n);
    int rc = split < n ? kt_tls_write2(c, p, split, p + split, n - split) : kt_tls_write(c, p, n);
    client_to_server(c, s);
    size_t got = 0;
    while (rc == KT_OK && got < n) {
        int r = mbedtls_ssl_read(&s->ssl, (unsigned char *)q + got, n - got);
        if (r <= 0) rc = -1;
        else got += (size_t)r;
    }
    rc = rc == KT_OK && !memcmp(p, q, n) ? KT_OK : -1;
    free(p);
    free(q);
    return rc;
}

/* The server writes n bytes; the client must read exactly them, fed `chunk` bytes at a time
 * and read `cap` bytes at a time. */
static int server_sends(kt_tls_conn *c, server *s, size_t n, size_t chunk, size_t cap)
{
    char *p = malloc(n + 1);
    fill(p, n, (unsigned)n + 1);
    for (size_t off = 0; off < n;) {
        int r = mbedtls_ssl_write(&s->ssl, (unsigned char *)p + off, n - off);
        if (r <= 0) break;
        off += (size_t)r;
    }
    kt_buf got;
    kt_buf_init(&got, 1 << 22);
    int rc = server_to_client(s, c, chunk, cap, &got);
    rc = rc == KT_OK && got.len == n && !memcmp(got.p, p, n) ? KT_OK : -1;
    kt_buf_free(&got);
    free(p);
    return rc;
}

static const size_t sizes[] = {1, 2, 100, 1000, 16383, 16384, 16385, 40000};

static void exchange_all_sizes(kt_tls_conn *c, server *s)
{
    static const size_t chunks[] = {1, 5, 6, 21, 4096, 1 << 20};
    static const size_t caps[] = {1, 100, 20000, 65536};
    for (size_t i = 0; i < KT_ARRAY_LEN(sizes); i++) {
        size_t n = sizes[i];
        if (client_sends(c, s, n, n)) KT_FAILF("client wrote %zu bytes", n);
        if (client_sends(c, s, n, n / 3)) KT_FAILF("client wrote %zu bytes in two parts", n);
        for (size_t j = 0; j < KT_ARRAY_LEN(chunks); j++)
            for (size_t k = 0; k < KT_ARRAY_LEN(caps); k++) {
                if (n > 20000 && chunks[j] < 16) continue;   /* slow, and covered by 16385 */
                if (server_sends(c, s, n, chunks[j], caps[k]))
                    KT_FAILF("server wrote %zu bytes, fed by %zu, read by %zu", n, chunks[j],
                             caps[k]);
            }
    }
}

static int own_records_expected(const char *suite)
{
#if MBEDTLS_VERSION_MAJOR == 2
    return strcmp(suite, CHACHA) == 0 || kt_aesgcm_available();   /* every suite kt offers */
#else
    (void)suite;
    return 0;   /* mbedTLS 3 exports no key block: its records stay in use */
#endif
}

static void full_and_resumed(const char *suite)
{
    kt_tls_conn c;
    server s;
    mbedtls_ssl_session saved;
    mbedtls_ssl_session_init(&saved);
    KT_ASSERT_EQ_INT(connect_pair(&c, &s, suite, NULL), 0);
    KT_ASSERT_EQ_INT(c.own_records, own_records_expected(suite));
    KT_ASSERT_EQ_INT(kt_tls_save_session(&c, &saved), KT_OK);
    KT_ASSERT_EQ_INT(c.ssl_released, own_records_expected(suite));
    exchange_all_sizes(&c, &s);
    kt_tls_conn_free(&c);
    server_free(&s);

    /* Resumed from the server's session cache: the abbreviated handshake ends with the server's
     * Finished first; the record sequence numbers must still line up. */
    KT_ASSERT_EQ_INT(connect_pair(&c, &s, suite, &saved), 0);
    KT_ASSERT_EQ_INT(c.own_records, own_records_expected(suite));
#if MBEDTLS_VERSION_MAJOR == 2
    KT_ASSERT(s.ssl.session->id_len > 0 && s.ssl.session->id_len == saved.id_len &&
              !memcmp(s.ssl.session->id, saved.id, saved.id_len));
#endif
    exchange_all_sizes(&c, &s);
    kt_tls_conn_free(&c);
    server_free(&s);
    mbedtls_ssl_session_free(&saved);
}

KT_TEST(chacha_full_and_resumed_handshakes_use_own_records)
{
    full_and_resumed(CHACHA);
}

KT_TEST(aes128gcm_full_and_resumed_handshakes_use_own_records)
{
    full_and_resumed(AESGCM);
}

KT_TEST(aes256gcm_full_and_resumed_handshakes_use_own_records)
{
    full_and_resumed(AES256);
}

/* The mbedTLS record path (TLS 1.3 on mbedTLS 3, CPUs without AES-NI) on every size and
 * chunking too, with no key left behind in kt's record state. */
KT_TEST(mbedtls_records_when_kept)
{
    kt_tls_conn c;
    server s;
    fx->kt.mbedtls_records = true;
    KT_ASSERT_EQ_INT(connect_pair(&c, &s, AESGCM, NULL), 0);
    fx->kt.mbedtls_records = false;
    KT_ASSERT(!c.own_records);
    KT_ASSERT(!c.ssl_released);
    kt_tls_rec zero;
    memset(&zero, 0, sizeof zero);
    KT_ASSERT(!memcmp(&c.rec, &zero, sizeof zero));   /* no key left behind */
    exchange_all_sizes(&c, &s);
    kt_tls_conn_free(&c);
    server_free(&s);
}

KT_TEST(close_notify_ends_the_stream_after_the_data)
{
    kt_tls_conn c;
    server s;
    KT_ASSERT_EQ_INT(connect_pair(&c, &s, CHACHA, NULL), 0);
    mbedtls_ssl_write(&s.ssl, (const unsigned char *)"last words", 10);
    mbedtls_ssl_close_notify(&s.ssl);
    kt_buf got;
    kt_buf_init(&got, 1 << 16);
    KT_ASSERT_EQ_INT(server_to_client(&s, &c, 1 << 20, 4096, &got), KT_OK);
    KT_ASSERT_EQ_MEM(got.p, got.len, "last words", 10);
    KT_ASSERT(c.closed);
    kt_buf_free(&got);
    kt_tls_conn_free(&c);
    server_free(&s);
}

KT_TEST(fatal_alert_is_an_error)
{
    kt_tls_conn c;
    server s;
    KT_ASSERT_EQ_INT(connect_pair(&c, &s, CHACHA, NULL), 0);
    mbedtls_ssl_send_alert_message(&s.ssl, MBEDTLS_SSL_ALERT_LEVEL_FATAL,
                                   MBEDTLS_SSL_ALERT_MSG_INTERNAL_ERROR);
    KT_ASSERT_EQ_INT(server_to_client(&s, &c, 1 << 20, 4096, NULL), KT_ETLS);
    kt_tls_conn_free(&c);
    server_free(&s);
}

#if defined(MBEDTLS_SSL_RENEGOTIATION)
KT_TEST(hello_request_is_ignored)
{
    kt_tls_conn c;
    server s;
    KT_ASSERT_EQ_INT(connect_pair(&c, &s, CHACHA, NULL), 0);
    mbedtls_ssl_renegotiate(&s.ssl);   /* sends a HelloRequest */
    KT_ASSERT(s.out.len > 0);
    KT_ASSERT_EQ_INT(server_to_client(&s, &c, 1 << 20, 4096, NULL), KT_OK);
    KT_ASSERT(!c.closed);
    kt_tls_conn_free(&c);
    server_free(&s);
}
#endif

/* Every byte of a record, altered: the header's version and length are checked, the type and
 * the body are authenticated. */
static void altered_bytes(const char *suite, size_t explicit_nonce)
{
    const size_t n = 40;
    for (size_t pos = 0; pos < KT_TLS_REC_HEADER + explicit_nonce + n + KT_TLS_REC_TAG; pos++) {
        kt_tls_conn c;
        server s;
        KT_ASSERT_EQ_INT(connect_pair(&c, &s, suite, NULL), 0);
        KT_ASSERT_EQ_INT(c.own_records, own_records_expected(suite));
        char msg[40];
        fill(msg, n, 3);
        mbedtls_ssl_write(&s.ssl, (unsigned char *)msg, n);
        KT_ASSERT_EQ_INT(s.out.len, KT_TLS_REC_HEADER + explicit_nonce + n + KT_TLS_REC_TAG);
        /* The length bytes are changed to a length that is too large, or shorter than sent (a
         * longer one would leave the record incomplete, waiting for more). */
        unsigned low = (uint8_t)s.out.p[4];   /* its top bit cleared: a shorter length */
        s.out.p[pos] ^= pos == 3 ? 0x80 : pos == 4 ? (char)(1u << (31 - __builtin_clz(low))) : 0x01;
        kt_buf got;
        kt_buf_init(&got, 1 << 16);
        int rc = server_to_client(&s, &c, 1 << 20, 4096, &got);
        if (rc != KT_ETLS || got.len) KT_FAILF("byte %zu altered: rc %d, %zu bytes out", pos, rc, got.len);
        kt_buf_free(&got);
        kt_tls_conn_free(&c);
        server_free(&s);
    }
}

KT_TEST(any_altered_byte_is_an_error)
{
    altered_bytes(CHACHA, 0);
    altered_bytes(AESGCM, 8);   /* RFC 5288: the explicit nonce is authenticated through the tag */
    altered_bytes(AES256, 8);
}

int main(void)
{
    fixture f;
    fx = &f;
    if (fixture_init(&f)) {
        printf("not ok - fixture\n# 0 passed, 1 failed\n");
        return 1;
    }
    KT_RUN(chacha_full_and_resumed_handshakes_use_own_records);
    KT_RUN(aes128gcm_full_and_resumed_handshakes_use_own_records);
    KT_RUN(aes256gcm_full_and_resumed_handshakes_use_own_records);
    KT_RUN(mbedtls_records_when_kept);
    KT_RUN(close_notify_ends_the_stream_after_the_data);
    KT_RUN(fatal_alert_is_an_error);
#if defined(MBEDTLS_SSL_RENEGOTIATION)
    KT_RUN(hello_request_is_ignored);
#endif
    KT_RUN(any_altered_byte_is_an_error);
    fixture_free(&f);
    return KT_DONE();
}
