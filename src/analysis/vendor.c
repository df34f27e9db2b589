#include "analysis/vendor.h"

#include <ctype.h>
#include <stdbool.h>
#include <string.h>
#include <strings.h>

/* Canonical names: a normalised name that starts with `prefix` (case-insensitive, at a word
 * boundary) becomes `canonical`. Longer prefixes come first where one extends another. */
static const struct {
    const char *prefix, *canonical;
} aliases[] = {
    {"allen-bradley", "Rockwell Automation"},
    {"allen bradley", "Rockwell Automation"},
    {"rockwell automation", "Rockwell Automation"},
    {"rockwell", "Rockwell Automation"},
    {"siemens", "Siemens"},
    {"schneider electric", "Schneider Electric"},
    {"schneider", "Schneider Electric"},
    {"telemecanique", "Schneider Electric"},
    {"modicon", "Schneider Electric"},
    {"phoenix contact", "Phoenix Contact"},
    {"wago", "WAGO"},
    {"beckhoff", "Beckhoff"},
    {"moxa", "Moxa"},
    {"hirschmann", "Hirschmann"},
    {"belden", "Belden"},
    {"omron", "Omron"},
    {"mitsubishi electric", "Mitsubishi Electric"},
    {"yokogawa", "Yokogawa"},
    {"honeywell", "Honeywell"},
    {"alerton", "Honeywell"},
    {"johnson controls", "Johnson Controls"},
    {"jci", "Johnson Controls"},
    {"acuity brands", "Acuity Brands"},
    {"lithonia", "Acuity Brands"},
    {"emerson", "Emerson"},
    {"rosemount", "Emerson"},
    {"abb", "ABB"},
    {"ge", "GE"},
    {"general electric", "GE"},
    {"hilscher", "Hilscher"},
    {"hms industrial", "HMS"},
    {"anybus", "HMS"},
    {"prosoft", "ProSoft Technology"},
    {"turck", "Turck"},
    {"festo", "Festo"},
    {"pilz", "Pilz"},
    {"b&r", "B&R"},
    {"bernecker", "B&R"},
    {"eaton", "Eaton"},
    {"danfoss", "Danfoss"},
    {"sick", "SICK"},
    {"endress", "Endress+Hauser"},
    {"veeder-root", "Veeder-Root"},
    {"veeder root", "Veeder-Root"},
    {"cisco", "Cisco"},
    {"juniper", "Juniper Networks"},
    {"fortinet", "Fortinet"},
    {"palo alto", "Palo Alto Networks"},
    {"hewlett packard enterprise", "Hewlett Packard Enterprise"},
    {"hewlett packard", "Hewlett Packard"},
    {"hewlett-packard", "Hewlett Packard"},
    {"dell", "Dell"},
    {"lenovo", "Lenovo"},
    {"vmware", "VMware"},
    {"microsoft", "Microsoft"},
    {"intel", "Intel"},
    {"axis communications", "Axis Communications"},
    {"hangzhou hikvision", "Hikvision"},
    {"hikvision", "Hikvision"},
    {"zhejiang dahua", "Dahua"},
    {"dahua", "Dahua"},
    {"bosch", "Bosch"},
    {"apple", "Apple"},
    {"samsung", "Samsung"},
    {"raspberry pi", "Raspberry Pi"},
    {"tp-link", "TP-Link"},
    {"ubiquiti", "Ubiquiti"},
    {"aruba", "Aruba"},
    {"huawei", "Huawei"},
    {"advantech", "Advantech"},
    {"red lion", "Red Lion"},
    {"digi international", "Digi International"},
    {"sierra wireless", "Sierra Wireless"},
    {"teltonika", "Teltonika"},
    {"westermo", "Westermo"},
};

/* Legal forms and filler at the end of an organisation name. Matched case-insensitively as
 * whole trailing words, repeatedly ("Foo Co., Ltd." -> "Foo"). */
static const char *const suffixes[] = {
    "inc.", "inc", "incorporated", "corp.", "corp", "corporation", "co.", "co", "company",
    "ltd.", "ltd", "limited", "llc", "l.l.c.", "gmbh", "ag", "kg", "se", "sa", "s.a.", "s.a",
    "spa", "s.p.a.", "b.v.", "bv", "n.v.", "nv", "ab", "a/s", "as", "oy", "oyj", "pty", "plc",
    "s.r.l.", "srl", "s.l.", "sas", "s.a.s.", "k.k.", "kk", "co.,ltd.", "co.,ltd", "co.ltd",
    "&", "and", "&co.", "(u.s.)", "usa",
};

static bool is_suffix(const char *w, size_t n)
{
    for (size_t i = 0; i < sizeof suffixes / sizeof suffixes[0]; i++)
        if (strlen(suffixes[i]) == n && strncasecmp(w, suffixes[i], n) == 0) return true;
    return false;
}

size_t qw_vendor_normalize(const char *in, size_t n, char *out, size_t cap)
{
    if (cap == 0) return 0;
    /* collapse whitespace (and NUL padding) into single spaces, trim both ends */
    size_t len = 0;
    bool space = false;
    for (size_t i = 0; i < n && len + 1 < cap; i++) {
        unsigned char c = (unsigned char)in[i];
        if (c == 0 || isspace(c)) {
            space = len > 0;
            continue;
        }
        if (space && len + 2 < cap) out[len++] = ' ';
        space = false;
        out[len++] = (char)c;
    }
    out[len] = '\0';
    /* drop trailing legal forms and commas, word by word */
    for (;;) {
        while (len && (out[len - 1] == ',' || out[len - 1] == ' ')) out[--len] = '\0';
        size_t w = len;
        while (w && out[w - 1] != ' ' && out[w - 1] != ',') w--;
        if (w == 0 || !is_suffix(out + w, len - w)) break;
        len = w;
        out[len] = '\0';
    }
    for (size_t i = 0; i < sizeof aliases / sizeof aliases[0]; i++) {
        size_t pl = strlen(aliases[i].prefix);
        /* the prefix must end at a word boundary: "abb" is not "Abbott" */
        if (pl <= len && strncasecmp(out, aliases[i].prefix, pl) == 0 &&
            (pl == len || !isalnum((unsigned char)out[pl]))) {
            size_t cl = strlen(aliases[i].canonical);
            if (cl >= cap) cl = cap - 1;
            memcpy(out, aliases[i].canonical, cl);
            out[cl] = '\0';
            return cl;
        }
    }
    return len;
}
