#!/usr/bin/env python3
"""Survey of the version leaves and product names in the CSAF corpus (run by hand, not by the
build): what src/vuln/version.c and product.c must read.

    python3 tests/data/vuln/leaves.py [CSAF_DIR] [--all]

CSAF_DIR defaults to ../shared/corpus/advisories/csaf next to the worktree. Prints
  1. the count of leaves per form (the forms of docs/vulnerabilities.md),
  2. every distinct (category, name) version leaf with its count (--all; else the non-vers ones),
  3. every product_name branch with the model_numbers of its leaves (--all; else a summary).
  4. with --verdicts=BINARY (tests/data/vuln/verdicts.c, built by hand as its comment says):
     per form, how many leaves src/vuln/version.c reads (some probe firmware gets INSIDE or
     OUTSIDE) and how many it leaves UNKNOWN for every probe, with the UNKNOWN ones listed.
"""
import collections
import json
import os
import re
import subprocess
import sys

VERSION_CATEGORIES = {"product_version", "product_version_range", "service_pack"}


def form_of(category, name):
    """The form of a leaf, as docs/vulnerabilities.md tabulates them."""
    n = name.strip()
    if category != "product_version_range":
        return category
    if n == "vers:all/*":
        return "vers:all/*"
    if n.startswith("vers:"):
        return "vers:<scheme>/<constraints>"
    if re.fullmatch(r"[^|]+\|[^|]+(\|[^|]+)*", n):
        return "pipe list"
    if re.match(r"^\s*>=", n):
        return "leading >="
    if re.match(r"^\s*<=", n):
        return "leading <="
    if re.match(r"^\s*<", n):
        return "leading <"
    if re.match(r"^\s*>", n):
        return "leading >"
    if re.fullmatch(r"\S+\s*-\s*\S+", n):
        return "A - B range"
    if re.fullmatch(r"[vV]?[0-9][0-9A-Za-z._()-]*", n):
        return "plain version in a range slot"
    if re.match(r"(?i)^all versions?$", n):
        return "all versions"
    return "free text"


def walk(branch, vendor, product, out, path):
    cat = branch.get("category")
    name = branch.get("name", "")
    if cat == "vendor":
        vendor = name
    elif cat == "product_name":
        product = name
    if cat in VERSION_CATEGORIES and "branches" not in branch:
        prod = branch.get("product", {})
        helper = prod.get("product_identification_helper", {})
        out["leaves"].append((cat, name, vendor, product, tuple(helper.get("model_numbers", ())),
                              path))
    for child in branch.get("branches", ()):
        walk(child, vendor, product, out, path)


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    verdicts = next((a.split("=", 1)[1] for a in sys.argv[1:] if a.startswith("--verdicts=")),
                    None)
    show_all = "--all" in sys.argv
    here = os.path.dirname(os.path.abspath(__file__))
    root = args[0] if args else os.path.join(here, "..", "..", "..", "..", "shared", "corpus",
                                             "advisories", "csaf")
    out = {"leaves": []}
    files = 0
    for dirpath, _, names in os.walk(root):
        for fn in sorted(names):
            if not fn.endswith(".json"):
                continue
            path = os.path.join(dirpath, fn)
            with open(path, encoding="utf-8") as fp:
                doc = json.load(fp)
            files += 1
            for b in doc.get("product_tree", {}).get("branches", ()):
                walk(b, None, None, out, os.path.relpath(path, root))
    leaves = out["leaves"]
    print(f"{files} files, {len(leaves)} version leaves")

    forms = collections.Counter(form_of(c, n) for c, n, *_ in leaves)
    print("\n## leaves per form")
    for form, count in forms.most_common():
        print(f"{count:6}  {form}")

    distinct = collections.Counter((c, n) for c, n, *_ in leaves)
    print(f"\n## distinct (category, name) leaves: {len(distinct)}")
    for (c, n), count in sorted(distinct.items(), key=lambda kv: (form_of(*kv[0]), kv[0])):
        form = form_of(c, n)
        if show_all or form not in ("vers:all/*", "vers:<scheme>/<constraints>", "service_pack"):
            print(f"{count:5}  {form:32} {c:22} {n!r}")

    products = collections.defaultdict(set)
    vendors = collections.Counter()
    for c, n, vendor, product, models, _ in leaves:
        products[(vendor, product)].update(models)
        vendors[vendor] += 1
    with_models = sum(1 for m in products.values() if m)
    print(f"\n## product_name branches: {len(products)} ({with_models} with model_numbers)")
    for (vendor, product), models in sorted(products.items(), key=lambda kv: (str(kv[0][0]),
                                                                               str(kv[0][1]))):
        if show_all or not models:
            print(f"  {vendor!r:40} {product!r} {sorted(models) if models else ''}")
    print(f"\n## vendor names: {len(vendors)}")
    for v, count in vendors.most_common():
        print(f"{count:6}  {v!r}")
    if verdicts:
        report_verdicts(verdicts, leaves)


def report_verdicts(binary, leaves):
    """Per form: leaves read vs UNKNOWN for every probe firmware (service_pack leaves, the
    OASIS example's, are not version sets and are left out)."""
    rows = [(c, n) for c, n, *_ in leaves if c != "service_pack"]
    text = "".join(f"{c}\t{n}\n" for c, n in rows)
    out = subprocess.run([binary], input=text, capture_output=True, text=True,
                         check=True).stdout.split("\n")
    read = collections.Counter()
    unknown = collections.Counter()
    unknown_names = collections.Counter()
    for (c, n), v in zip(rows, out):
        form = form_of(c, n)
        if set(v) == {"U"}:
            unknown[form] += 1
            unknown_names[(form, n)] += 1
        else:
            read[form] += 1
    print(f"\n## verdicts: {sum(read.values())} leaves read, {sum(unknown.values())} UNKNOWN")
    for form in sorted(set(read) | set(unknown), key=lambda f: -(read[f] + unknown[f])):
        print(f"{read[form]:6} read {unknown[form]:5} unknown  {form}")
    print("\n## UNKNOWN leaves")
    for (form, n), count in sorted(unknown_names.items()):
        print(f"{count:5}  {form:32} {n!r}")


if __name__ == "__main__":
    main()
