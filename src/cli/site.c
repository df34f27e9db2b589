/* Site-file syntax check with libyaml: the file must be well-formed YAML whose top level is a
 * mapping. Every error names FILE:LINE:COL (1-based). Validating the site model itself (zones,
 * parties, conduits, changes) belongs to the site module. */
#include <stdio.h>
#include <string.h>
#include <yaml.h>

#include "cli/session.h"

bool qw_site_check_syntax(const char *path)
{
    FILE *fp = fopen(path, "rb");
    if (!fp) {
        perror(path);
        return false;
    }
    yaml_parser_t parser;
    if (!yaml_parser_initialize(&parser)) {
        fclose(fp);
        fprintf(stderr, "%s: out of memory reading the site file\n", path);
        return false;
    }
    yaml_parser_set_input_file(&parser, fp);
    bool ok = true, seen_root = false;
    int depth = 0;
    for (;;) {
        yaml_event_t ev;
        if (!yaml_parser_parse(&parser, &ev)) {
            fprintf(stderr, "%s:%zu:%zu: %s%s%s\n", path, parser.problem_mark.line + 1,
                    parser.problem_mark.column + 1, parser.problem ? parser.problem : "bad YAML",
                    parser.context ? " " : "", parser.context ? parser.context : "");
            ok = false;
            break;
        }
        yaml_event_type_t t = ev.type;
        if (depth == 0 && !seen_root &&
            (t == YAML_SCALAR_EVENT || t == YAML_SEQUENCE_START_EVENT)) {
            fprintf(stderr, "%s:%zu:%zu: the site file must be a mapping (key: value) at the top\n",
                    path, ev.start_mark.line + 1, ev.start_mark.column + 1);
            ok = false;
        }
        if (t == YAML_MAPPING_START_EVENT || t == YAML_SEQUENCE_START_EVENT) {
            if (depth == 0) seen_root = true;
            depth++;
        } else if (t == YAML_MAPPING_END_EVENT || t == YAML_SEQUENCE_END_EVENT) {
            depth--;
        }
        yaml_event_delete(&ev);
        if (t == YAML_STREAM_END_EVENT || !ok) break;
    }
    if (ok && !seen_root) {
        fprintf(stderr, "%s:1:1: the site file is empty\n", path);
        ok = false;
    }
    yaml_parser_delete(&parser);
    fclose(fp);
    return ok;
}
