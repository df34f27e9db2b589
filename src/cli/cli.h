/* Subcommand entry points: one file per subcommand in src/cli/. Each takes the arguments after
 * the subcommand name (argv[0] is the subcommand) and returns the process exit code. */
#ifndef QW_CLI_CLI_H
#define QW_CLI_CLI_H

/* Exit codes (DESIGN.md, "Interface contract"). */
enum qw_exit {
    QW_EXIT_OK = 0,
    QW_EXIT_FAILURE = 1, /* any other failure */
    QW_EXIT_USAGE = 2,   /* usage or site-file error */
    QW_EXIT_INPUT = 3,   /* unreadable or corrupt input */
};

int qw_cmd_analyze(int argc, char **argv);
int qw_cmd_run(int argc, char **argv);
int qw_cmd_synth(int argc, char **argv);
int qw_cmd_inventory(int argc, char **argv);
int qw_cmd_map(int argc, char **argv);
int qw_cmd_baseline(int argc, char **argv);
int qw_cmd_site(int argc, char **argv);
int qw_cmd_changes(int argc, char **argv);
int qw_cmd_alerts(int argc, char **argv);
int qw_cmd_sessions(int argc, char **argv);
int qw_cmd_advisories(int argc, char **argv);

struct qw_site;
/* Load a site file for a read-only command; errors (FILE:LINE:COL) on stderr, NULL when bad. */
struct qw_site *qw_cli_load_site(const char *path);

#endif
