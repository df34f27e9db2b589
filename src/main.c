/* quaywatch: passive OT network security monitor. Dispatches to src/cli/ subcommands. */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

struct command {
    const char *name;
    int (*fn)(int, char **);
    const char *summary;
};

static const struct command commands[] = {
    {"analyze", qw_cmd_analyze, "analyse capture files into the store and event log"},
    {"run", qw_cmd_run, "capture live from an interface (passive, never transmits)"},
    {"inventory", qw_cmd_inventory, "list the assets the store has seen"},
    {"map", qw_cmd_map, "the communication map between assets (Graphviz dot or JSON)"},
    {"baseline", qw_cmd_baseline, "show, diff, accept, export or import the baseline"},
    {"alerts", qw_cmd_alerts, "findings by owner and rule; acknowledge or resolve them"},
    {"sessions", qw_cmd_sessions, "the remote-access ledger: who, how, when, and what they did"},
    {"changes", qw_cmd_changes, "hold the changes since the baseline against change records"},
    {"site", qw_cmd_site, "check a site file, or draft one from the store"},
    {"advisories", qw_cmd_advisories, "import security advisories (CSAF) and match the inventory"},
    {"synth", qw_cmd_synth, "write a synthetic capture of an example port terminal"},
};

static void usage(FILE *out)
{
    fprintf(out, "usage: quaywatch COMMAND [OPTIONS]\n\ncommands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(out, "  %-10s %s\n", commands[i].name, commands[i].summary);
    fprintf(out, "\n'quaywatch COMMAND --help' describes each command.\n"
                 "exit codes: 0 ok, 1 failure, 2 usage or site-file error, 3 unreadable or "
                 "corrupt input\n");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return QW_EXIT_USAGE;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        usage(stdout);
        return QW_EXIT_OK;
    }
    if (strcmp(argv[1], "--version") == 0) {
        printf("quaywatch %s\n", QW_VERSION);
        return QW_EXIT_OK;
    }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (strcmp(argv[1], commands[i].name) == 0) return commands[i].fn(argc - 1, argv + 1);
    fprintf(stderr, "quaywatch: unknown command '%s'\n", argv[1]);
    usage(stderr);
    return QW_EXIT_USAGE;
}
