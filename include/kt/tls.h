/* TLS client over memory buffers (mbedTLS), so that libuv owns the socket: ciphertext read from
 * the socket is fed in, ciphertext to send is taken out. Verification is always required and the
 * hostname is always set (SNI + certificate name check). Compiles against mbedTLS 2.28 and 3.6. */
#ifndef KT_TLS_H
#define KT_TLS_H

#include <mbedtls/ctr_drbg.h>
#include <mbedtls/entropy.h>
#include <mbedtls/ssl.h>
#include <mbedtls/x509_crt.h>
#include <stdbool.h>

#include "kt/buf.h"

#define KT_TLS_RECORD_MAX 16384 /* plaintext bytes in one TLS record */

/* Shared per process (owned by the gateway context): trust store, RNG and the client config. */
typedef struct kt_tls_ctx {
    mbedtls_entropy_context entropy;
    mbedtls_ctr_drbg_context drbg;
    mbedtls_x509_crt ca;
    mbedtls_ssl_config conf;
    mbedtls_ssl_config conf_h2;   /* the same, offering ALPN "h2" then "http/1.1" */
    bool ready;
    char ca_source[256];
    int suites[16];   /* preferred ciphersuites, 0-terminated */
    unsigned char pool[512];   /* DRBG output not handed out yet (kt_tls_random) */
    size_t pool_left;
} kt_tls_ctx;

/* Loads `ca_file` (NULL: $SSL_CERT_FILE is resolved by the caller; default system bundle). */
int kt_tls_ctx_init(kt_tls_ctx *t, const char *ca_file, char *err, size_t errlen);
void kt_tls_ctx_free(kt_tls_ctx *t);
/* n random bytes (n <= 64) for ids and jitter, drawn from the DRBG 512 at a time: one DRBG call
 * (and its AES key schedule) per 32 request ids instead of one each. KT_ETLS on failure. */
int kt_tls_random(kt_tls_ctx *t, void *out, size_t n);

typedef struct kt_tls_conn {
    mbedtls_ssl_context ssl;
    kt_buf in;        /* ciphertext received, not yet consumed by mbedTLS */
    size_t in_off;
    kt_buf out;       /* ciphertext produced, to be written to the socket */
    bool handshake_done;
    bool closed;      /* close_notify received */
    bool session_ready; /* a resumable session can be saved now (TLS 1.2: after the handshake;
                           TLS 1.3: after each NewSessionTicket, which arrives after it) */
} kt_tls_conn;

/* Positive, so that it never reads as a KT_E* code: needs more input (after flushing output). */
enum { KT_TLS_WANT = 1 };

/* `offer_h2`: ALPN offers "h2" and "http/1.1" (kt_tls_alpn_h2 tells what the server chose). */
int kt_tls_conn_init(kt_tls_conn *c, kt_tls_ctx *t, const char *hostname,
                     const mbedtls_ssl_session *resume, bool offer_h2);
/* After the handshake: whether ALPN selected "h2". */
bool kt_tls_alpn_h2(kt_tls_conn *c);
void kt_tls_conn_free(kt_tls_conn *c);
int kt_tls_feed(kt_tls_conn *c, const char *data, size_t len);
/* Three outcomes: KT_OK when done, KT_TLS_WANT when waiting for the peer, KT_ETLS on failure (err
 * describes it). No other value. */
int kt_tls_handshake(kt_tls_conn *c, char *err, size_t errlen);
/* Plaintext out, a size or an error: n > 0 bytes were written to buf (n <= len); 0 when nothing
 * is buffered (feed more ciphertext; c->closed is set when that is because of a clean
 * close_notify); KT_ETLS (< 0) when the connection is unusable. No other negative value. */
int kt_tls_read(kt_tls_conn *c, char *buf, size_t len);
/* Encrypts all of `data` into c->out. */
int kt_tls_write(kt_tls_conn *c, const char *data, size_t len);
/* Writes a then b; when both fit one TLS record they go out as one (one record's fixed cost, one
 * AEAD pass setup, instead of two). */
int kt_tls_write2(kt_tls_conn *c, const char *a, size_t alen, const char *b, size_t blen);
/* True when records are buffered inside mbedTLS (read again before waiting on the socket). */
bool kt_tls_pending(kt_tls_conn *c);
/* Copies the session for resumption of later connections to the same host. Call it when
 * c->session_ready is set (and clear that flag); `out` must be initialised and otherwise unused. */
int kt_tls_save_session(kt_tls_conn *c, mbedtls_ssl_session *out);

#endif
