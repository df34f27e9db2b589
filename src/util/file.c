#include "util/file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

char *qw_read_file(const char *path, size_t max, size_t *len)
{
    *len = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return NULL;
    struct stat st;
    int why = 0;
    if (fstat(fd, &st) != 0) why = errno;
    else if (!S_ISREG(st.st_mode) || st.st_size < 0) why = EINVAL;
    else if ((uint64_t)st.st_size > max) why = EFBIG;
    char *buf = why ? NULL : malloc((size_t)st.st_size + 1);
    if (!why && !buf) why = ENOMEM;
    size_t n = 0;
    while (buf && n < (size_t)st.st_size) {
        ssize_t k = read(fd, buf + n, (size_t)st.st_size - n);
        if (k < 0 && errno == EINTR) continue;
        if (k <= 0) break; /* the file shrank, or an error: take what was read */
        n += (size_t)k;
    }
    close(fd);
    if (!buf) {
        errno = why;
        return NULL;
    }
    buf[n] = '\0';
    *len = n;
    return buf;
}
