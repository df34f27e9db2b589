/* By hand, for tests/data/vuln/leaves.py --verdicts (not built by the build):
 *     cc -std=c17 -Isrc src/vuln/version.c tests/data/vuln/verdicts.c -o /tmp/verdicts
 * Reads "category<TAB>name" lines and prints, per line, the verdicts (I, O, U) of
 * qw_vers_contains for a few probe firmwares and no firmware. */
#include <stdio.h>
#include <string.h>

#include "vuln/version.h"

static const char *const probes[] = {"0.0.0.1", "1.5", "99999", "15.2(1)E1"};

int main(void)
{
    char line[4096];
    while (fgets(line, sizeof line, stdin)) {
        line[strcspn(line, "\n")] = '\0';
        char *tab = strchr(line, '\t');
        if (!tab) continue;
        *tab = '\0';
        bool range = strcmp(line, "product_version_range") == 0;
        for (size_t i = 0; i < sizeof probes / sizeof *probes; i++)
            putchar("OIU"[qw_vers_contains(tab + 1, range, probes[i])]);
        putchar("OIU"[qw_vers_contains(tab + 1, range, NULL)]);
        putchar('\n');
    }
    return 0;
}
