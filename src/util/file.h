/* Reading a whole small file (a time-zone file) into memory at once. */
#ifndef QW_UTIL_FILE_H
#define QW_UTIL_FILE_H

#include <stddef.h>

/* The regular file at `path`, NUL-terminated (the terminator not counted in *len), in memory
 * the caller frees; NULL with errno set when it cannot be opened (open's errno), is not a
 * regular file (EINVAL), is larger than `max` bytes (EFBIG) or memory is short (ENOMEM). A
 * read error or a file that shrinks meanwhile ends it with what was read. */
char *qw_read_file(const char *path, size_t max, size_t *len);

#endif
