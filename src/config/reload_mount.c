/* Detecting a config or secret file that is bind-mounted on its own (Kubernetes `subPath`, a
 * docker single-file volume): the kubelet updates a ConfigMap by swapping a `..data` symlink in
 * the volume's directory, which a single-file mount never sees, so such a file never changes.
 * We can only say so in the log. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kt/log.h"
#include "kt/reload.h"

/* Decodes mountinfo's octal escapes (\040 for a space, \011, \012, \134) into out. */
static void unescape(const char *s, size_t n, char *out, size_t outlen)
{
    size_t o = 0;
    for (size_t i = 0; i < n && o + 1 < outlen; i++) {
        if (s[i] == '\\' && i + 3 < n && s[i + 1] >= '0' && s[i + 1] <= '3' &&
            s[i + 2] >= '0' && s[i + 2] <= '7' && s[i + 3] >= '0' && s[i + 3] <= '7') {
            out[o++] = (char)((s[i + 1] - '0') * 64 + (s[i + 2] - '0') * 8 + (s[i + 3] - '0'));
            i += 3;
        } else {
            out[o++] = s[i];
        }
    }
    out[o] = '\0';
}

bool kt_mountinfo_has_mountpoint(const char *mountinfo, const char *path)
{
    const char *line = mountinfo;
    while (line && *line) {
        const char *end = strchr(line, '\n');
        size_t len = end ? (size_t)(end - line) : strlen(line);
        /* fields: id parent major:minor root mount-point ... */
        const char *f = line;
        const char *lim = line + len;
        for (int field = 0; field < 4 && f < lim; field++) {
            const char *sp = memchr(f, ' ', (size_t)(lim - f));
            f = sp ? sp + 1 : lim;
        }
        if (f < lim) {
            const char *sp = memchr(f, ' ', (size_t)(lim - f));
            size_t flen = sp ? (size_t)(sp - f) : (size_t)(lim - f);
            char mp[PATH_MAX];
            unescape(f, flen, mp, sizeof mp);
            if (strcmp(mp, path) == 0) return true;
        }
        line = end ? end + 1 : NULL;
    }
    return false;
}

void kt_reload_warn_single_file_mounts(const char *const *paths, size_t npaths)
{
    FILE *f = fopen("/proc/self/mountinfo", "re");
    if (!f) return;
    char *text = kt_malloc(1u << 20);
    size_t n = text ? fread(text, 1, (1u << 20) - 1, f) : 0;
    fclose(f);
    if (!text) return;
    text[n] = '\0';
    for (size_t i = 0; i < npaths; i++) {
        char real[PATH_MAX];
        const char *p = paths[i];
        bool hit = kt_mountinfo_has_mountpoint(text, p);
        if (!hit && realpath(p, real)) hit = kt_mountinfo_has_mountpoint(text, real);
        if (hit)
            KT_WARN("config_single_file_mount",
                    "%s is a file mounted on its own (a Kubernetes subPath or a docker single-file "
                    "volume): it will never be updated; mount the directory instead", p);
    }
    free(text);
}
