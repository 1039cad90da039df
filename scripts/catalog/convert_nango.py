#!/usr/bin/env python3
"""Convert the Nango provider facts into Passway catalog entries (deterministic, re-runnable).

    python scripts/catalog/convert_nango.py                  # from tests/data (the trimmed copy)
    python scripts/catalog/convert_nango.py --facts FULL.json --write-trimmed tests/data/...

Reads ``tests/data/nango-provider-facts.json`` (facts read from Nango's ``providers.yaml``; see
``/work/shared/reference/README.md`` for the fields) and the curated ``providers.json``, and writes:

- ``src/passway/catalog/providers_converted.json``: the added providers and every alias (a source
  key resolving to a curated or converted provider);
- ``docs/catalog-conversion.md``: counts, every alias, and every source entry NOT converted with
  its reason, plus the notes on converted entries.

Every source entry lands in exactly one of: converted, alias of a curated entry, alias of a
converted entry (a source alias that only renames its parent), or refused with a reason. Nothing
is approximated: anything the converter does not recognise refuses the entry.

This module plans the conversion (which entry is converted, an alias, or refused) and writes the
files; ``nango_entries`` and ``nango_two_step`` convert one entry, ``nango_terms`` holds what they
share, ``nango_report`` writes the report.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "src"))

from passway.catalog.validation import validate_provider  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))  # its sibling modules, however it is run

from nango_entries import COSMETIC, compatible, convert_entry  # noqa: E402
from nango_report import report  # noqa: E402
from nango_terms import Plan, Refused, camel_name, normalised  # noqa: E402

FACTS = ROOT / "tests" / "data" / "nango-provider-facts.json"
CURATED = ROOT / "src" / "passway" / "catalog" / "providers.json"
OUTPUT = ROOT / "src" / "passway" / "catalog" / "providers_converted.json"
REPORT = ROOT / "docs" / "catalog-conversion.md"


def plan(facts: dict[str, Any], curated: list[dict[str, Any]]) -> Plan:
    by_key = {p["name"]: p for p in facts["providers"]}
    curated_by_name = {c["name"]: c for c in curated}
    curated_by_norm = {normalised(c["name"]): c["name"] for c in curated}
    matches: dict[str, set[str]] = defaultdict(set)
    for pair in facts["overlap"]["matchedByName"] + facts["overlap"]["matchedByHost"]:
        matches[pair["nango"]].add(pair["reference"])
    out = Plan()
    taken = {n.lower() for n in curated_by_name}
    renames: dict[str, str] = {}
    for key in sorted(by_key):
        p = by_key[key]
        mode = p["authMode"]
        parent = p.get("aliasOf")
        if parent and set(p.get("aliasOverrides") or ()) <= COSMETIC:
            renames[key] = parent
            continue
        same_name = curated_by_norm.get(normalised(key))
        if same_name is not None:
            out.aliases[key] = same_name
            how = "same name"
            if not compatible(mode, curated_by_name[same_name]):
                how += f"; the source entry uses {mode}, the curated one is kept"
            out.alias_reason[key] = how
            continue
        found = sorted(matches.get(key, ()))
        fitting = [r for r in found if compatible(mode, curated_by_name[r])]
        if len(fitting) == 1:
            out.aliases[key] = fitting[0]
            out.alias_reason[key] = "same service (matched by name or API host), same auth mode"
            continue
        if len(fitting) > 1:
            out.refused[key] = (
                f"matches several curated providers ({', '.join(fitting)}); not aliased"
            )
            continue
        if found:
            out.beside[key] = ", ".join(found)
        name = camel_name(key)
        if name.lower() in taken:
            name = camel_name(f"{key}-{mode.lower().replace('_', '-')}")
        if name.lower() in taken:
            out.refused[key] = f"its name {name} is taken"
            continue
        try:
            out.converted[key] = convert_entry(p, name)
            problems = validate_provider(out.converted[key].entry, name)
            if problems:
                del out.converted[key]
                found_problems = "; ".join(f"{i.field}: {i.message}" for i in problems)
                raise Refused(f"breaks Passway's catalog rules ({found_problems})")
        except Refused as exc:
            out.refused[key] = str(exc)
            continue
        taken.add(name.lower())
    converted_names = {k: c.entry["name"] for k, c in out.converted.items()}
    for key, parent in sorted(renames.items()):
        if parent in converted_names:
            out.aliases[key] = converted_names[parent]
            out.alias_reason[key] = f"the source's alias of {parent}"
        elif parent in out.aliases:
            out.aliases[key] = out.aliases[parent]
            out.alias_reason[key] = f"the source's alias of {parent}"
        else:
            out.refused[key] = f"the source's alias of {parent}, which is not converted"
    for key, c in out.converted.items():
        if c.entry["name"] != key:
            out.aliases[key] = c.entry["name"]
    names = set(curated_by_name) | set(converted_names.values())
    for key in [k for k in out.aliases if k in names]:
        # the key already is a provider's name; it must resolve to that provider
        assert out.aliases[key] == key, (key, out.aliases[key])
        out.same_name.add(key)
        del out.aliases[key]
    return out


# --- output ------------------------------------------------------------------------------------


def catalog_document(facts: dict[str, Any], result: Plan) -> dict[str, Any]:
    source = facts["source"]
    return {
        "source": f"{source['repo']}/{source['path']}@{source['commit']} (facts only)",
        "generatedBy": "scripts/catalog/convert_nango.py",
        "providers": [
            result.converted[k].entry
            for k in sorted(result.converted, key=lambda k: result.converted[k].entry["name"])
        ],
        "aliases": dict(sorted(result.aliases.items())),
    }


def trimmed(facts: dict[str, Any]) -> dict[str, Any]:
    """The facts the converter and the tests read (no docs, categories, retry or verification)."""
    keep = {
        "name",
        "displayName",
        "authMode",
        "aliasOf",
        "aliasOverrides",
        "proxy",
        "oauth",
        "tokenRequest",
        "connectionConfig",
        "credentials",
        "requireClientCertificate",
    }
    providers = []
    for p in facts["providers"]:
        item = {k: v for k, v in p.items() if k in keep}
        if "proxy" in item:
            item["proxy"] = {
                k: v for k, v in item["proxy"].items() if k not in ("retry", "verification")
            }
            for flag in ("decompress", "forwardHeadersOnRedirect"):
                if flag in item["proxy"]:
                    item["proxy"][flag] = True
        providers.append(item)
    overlap = {k: facts["overlap"][k] for k in ("matchedByName", "matchedByHost")}
    return {
        "source": facts["source"],
        "defaults": facts["defaults"],
        "providers": providers,
        "overlap": overlap,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--facts", type=Path, default=FACTS)
    parser.add_argument("--write-trimmed", type=Path, help="write the trimmed facts here first")
    parser.add_argument("--check", action="store_true", help="fail if the outputs would change")
    args = parser.parse_args(argv)
    facts = json.loads(args.facts.read_text("utf-8"))
    if args.write_trimmed:
        facts = trimmed(facts)
        args.write_trimmed.write_text(json.dumps(facts, indent=1, sort_keys=True) + "\n", "utf-8")
    curated = json.loads(CURATED.read_text("utf-8"))["providers"]
    result = plan(facts, curated)
    outputs = {
        OUTPUT: json.dumps(catalog_document(facts, result), indent=1) + "\n",
        REPORT: report(facts, result),
    }
    if args.check:
        stale = [str(p) for p, text in outputs.items() if p.read_text("utf-8") != text]
        if stale:
            print("out of date:", *stale, file=sys.stderr)
            return 1
        return 0
    REPORT.parent.mkdir(parents=True, exist_ok=True)
    for path, text in outputs.items():
        path.write_text(text, "utf-8")
    print(
        f"converted {len(result.converted)}, aliases {len(result.aliases)}, "
        f"not converted {len(result.refused)}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
