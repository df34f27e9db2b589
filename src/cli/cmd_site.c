/* quaywatch site: check a site file (docs/site-file.md), or draft one from the store.
 *
 *   quaywatch site check FILE
 *   quaywatch site draft [--db FILE] [-o FILE]
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "site/draft.h"
#include "site/model.h"

static void help(FILE *out)
{
    fprintf(out,
            "usage: quaywatch site check FILE\n"
            "       quaywatch site draft [--db FILE] [-o FILE]\n\n"
            "check  read and check a site file (YAML, docs/site-file.md): every error as\n"
            "       FILE:LINE:COL: message on stderr and exit 2; when it is valid, one line of\n"
            "       counts on stdout and exit 0.\n"
            "draft  write a starting site file from what the store has seen: zones from VLANs\n"
            "       and /24 subnets, conduits from the flows between them, and TODO wherever a\n"
            "       person must decide (site check rejects the file until they are replaced).\n"
            "  --db FILE   the store to read (default quaywatch.db)\n"
            "  -o FILE     write the draft to FILE, which must not exist (default: stdout)\n\n"
            "exit codes: 0 ok, 1 failure, 2 usage or site-file error, 3 unreadable store\n");
}

static const char *plural(uint32_t n, const char *one, const char *many)
{
    return n == 1 ? one : many;
}

static int check(int argc, char **argv)
{
    if (argc != 2 || argv[1][0] == '-') {
        if (argc == 2 && (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0)) {
            help(stdout);
            return QW_EXIT_OK;
        }
        fprintf(stderr, "quaywatch site check: give one site file (see --help)\n");
        return QW_EXIT_USAGE;
    }
    const char *path = argv[1];
    struct qw_site_errors *err = malloc(sizeof *err);
    if (!err) return QW_EXIT_FAILURE;
    struct qw_site *s = qw_site_load_file(path, NULL, err);
    if (!s) {
        qw_site_errors_print(err, stderr);
        size_t n = err->n;
        fprintf(stderr, "%s: %zu%s error%s: not a valid site file\n", path, n,
                err->truncated ? " or more" : "", n == 1 && !err->truncated ? "" : "s");
        free(err);
        return QW_EXIT_USAGE;
    }
    free(err);
    printf("%s: ok: %u %s, %u %s, %u %s, %u %s, %u %s, %u %s\n", path, (unsigned)s->nparties,
           plural(s->nparties, "party", "parties"), (unsigned)s->nzones,
           plural(s->nzones, "zone", "zones"), (unsigned)s->nconduits,
           plural(s->nconduits, "conduit", "conduits"), (unsigned)s->nassets,
           plural(s->nassets, "asset", "assets"), (unsigned)s->nmodules,
           plural(s->nmodules, "module", "modules"), (unsigned)s->nchanges,
           plural(s->nchanges, "change", "changes"));
    qw_site_free(s);
    return QW_EXIT_OK;
}

static int draft(int argc, char **argv)
{
    const char *db = "quaywatch.db", *out_path = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            help(stdout);
            return QW_EXIT_OK;
        }
        bool is_db = strcmp(argv[i], "--db") == 0;
        if (is_db || strcmp(argv[i], "-o") == 0 || strcmp(argv[i], "--output") == 0) {
            if (i + 1 >= argc) {
                fprintf(stderr, "quaywatch site draft: option %s needs a value\n", argv[i]);
                return QW_EXIT_USAGE;
            }
            *(is_db ? &db : &out_path) = argv[++i];
            continue;
        }
        fprintf(stderr, "quaywatch site draft: unexpected argument '%s' (see --help)\n", argv[i]);
        return QW_EXIT_USAGE;
    }
    if (access(db, F_OK) != 0) {
        fprintf(stderr, "quaywatch site draft: %s: cannot open store: %s\n", db, strerror(errno));
        return QW_EXIT_INPUT;
    }
    FILE *out = stdout;
    char tmp[4096] = "";
    if (out_path) {
        /* never overwrite: a draft must not replace a finished site file */
        if (access(out_path, F_OK) == 0) {
            fprintf(stderr, "quaywatch site draft: %s exists; remove it or choose another name\n",
                    out_path);
            return QW_EXIT_FAILURE;
        }
        if ((size_t)snprintf(tmp, sizeof tmp, "%s.tmp%ld", out_path, (long)getpid()) >= sizeof tmp) {
            fprintf(stderr, "quaywatch site draft: %s: name too long\n", out_path);
            return QW_EXIT_USAGE;
        }
        out = fopen(tmp, "wx");
        if (!out) {
            fprintf(stderr, "quaywatch site draft: %s: %s\n", out_path, strerror(errno));
            return QW_EXIT_FAILURE;
        }
    }
    char err[600];
    enum qw_draft_status rc = qw_site_draft(db, out, err, sizeof err);
    if (out_path) {
        bool ok = fclose(out) == 0 && rc == QW_DRAFT_OK;
        /* link, unlike rename, fails if the name appeared meanwhile */
        if (ok && link(tmp, out_path) != 0) {
            snprintf(err, sizeof err, "%s: %s", out_path, strerror(errno));
            rc = QW_DRAFT_FAILED;
            ok = false;
        }
        if (!ok) {
            if (rc == QW_DRAFT_OK) {
                snprintf(err, sizeof err, "%s: writing failed", out_path);
                rc = QW_DRAFT_FAILED;
            }
        }
        unlink(tmp);
    }
    if (rc != QW_DRAFT_OK) {
        fprintf(stderr, "quaywatch site draft: %s\n", err);
        return rc == QW_DRAFT_BAD_STORE ? QW_EXIT_INPUT : QW_EXIT_FAILURE;
    }
    if (out_path) fprintf(stderr, "quaywatch site draft: wrote %s\n", out_path);
    return QW_EXIT_OK;
}

int qw_cmd_site(int argc, char **argv)
{
    if (argc < 2) {
        help(stderr);
        return QW_EXIT_USAGE;
    }
    if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
        help(stdout);
        return QW_EXIT_OK;
    }
    if (strcmp(argv[1], "check") == 0) return check(argc - 1, argv + 1);
    if (strcmp(argv[1], "draft") == 0) return draft(argc - 1, argv + 1);
    fprintf(stderr, "quaywatch site: unknown action '%s': check or draft (see --help)\n", argv[1]);
    return QW_EXIT_USAGE;
}
