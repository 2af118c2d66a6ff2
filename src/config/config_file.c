/* Bounded reads of config and secret files. Symlinks are followed (Kubernetes ConfigMaps and
 * Secrets are symlinks into a ..data directory that is swapped atomically). */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config_priv.h"

int kt__cfg_read_file(const char *path, size_t max, char **out, size_t *len, int *errno_out)
{
    char *buf = NULL;
    int rc = KT_EIO;
    *out = NULL;
    *len = 0;
    *errno_out = 0;
    /* O_NONBLOCK: opening a FIFO must not hang the loop; it is refused below. */
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) goto fail_errno;
    struct stat st;
    if (fstat(fd, &st) != 0) goto fail_errno;
    if (!S_ISREG(st.st_mode)) {
        rc = KT_EINVAL;
        goto fail;
    }
    if ((uint64_t)st.st_size > max) {
        rc = KT_ELIMIT;
        goto fail;
    }
    buf = malloc(max + 2);
    if (!buf) {
        rc = KT_ENOMEM;
        goto fail;
    }
    size_t n = 0;
    while (n <= max) {   /* read one byte past max to notice a file that grew */
        ssize_t r = read(fd, buf + n, max + 1 - n);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) goto fail_errno;
        if (r == 0) break;
        n += (size_t)r;
    }
    if (n > max) {
        rc = KT_ELIMIT;
        goto fail;
    }
    buf[n] = '\0';
    close(fd);
    *out = buf;
    *len = n;
    return KT_OK;
fail_errno:
    *errno_out = errno;
    rc = KT_EIO;
fail:
    if (buf) {
        explicit_bzero(buf, max + 2);
        free(buf);
    }
    if (fd >= 0) close(fd);
    return rc;
}

void kt__cfg_free_secret(char *s)
{
    if (!s) return;
    explicit_bzero(s, strlen(s));
    free(s);
}
