#!/usr/bin/env python3
"""Fail when a module imports against the layer rule (docs/ARCHITECTURE.md).

HTTP (api, settings, tracking, health, docs) -> domain, store; store -> domain, db;
domain -> nothing of the crate; only main, lib and cli itself know cli. The violations that
existed when this check was written are listed in KNOWN: each is to be removed, none added.
A KNOWN entry that no longer occurs fails too, so the list shrinks as they are fixed.
"""
import pathlib
import re
import sys

SRC = pathlib.Path(__file__).resolve().parent.parent / "src"

# What each layer may use of the crate (besides itself).
HTTP = {"domain", "store", "db", "state", "config", "client_ip", "metrics"}
ALLOWED = {
    "domain": set(),
    "db": {"domain"},
    "store": {"domain", "db"},
    "api": HTTP | {"tracking"},  # the writer is the store of clicks and conversions
    "settings": HTTP,
    "tracking": HTTP,
    "health": HTTP | {"tracking"},
    "docs": {"domain"},
    "metrics": set(),
    "connections": set(),
    "client_ip": set(),
    "config": set(),
    "allocator": set(),
}
# Known violations: (module file, crate module it imports). Remove as they are fixed.
KNOWN = {
    ("store/seed.rs", "cli"),
    ("store/seed.rs", "tracking"),
    ("domain/report.rs", "store"),
    ("backup.rs", "cli"),
}
CLI_USERS = {"main.rs", "lib.rs", "cli.rs"}


def layer(rel: str) -> str:
    return rel.split("/")[0].removesuffix(".rs")


def imports(text: str) -> set:
    found = set(re.findall(r"\bcrate::([a-z_][a-z0-9_]*)", text))
    # `use crate::{a::b, c}`: the first name of each item at the top level of the braces.
    for m in re.finditer(r"\bcrate::\{", text):
        depth, item, i = 1, "", m.end()
        while i < len(text) and depth:
            ch = text[i]
            if ch == "{":
                depth += 1
            elif ch == "}":
                depth -= 1
            if depth == 1 and ch == ",":
                item = ""
            elif depth == 1 and not item.strip() and ch.isalpha():
                name = re.match(r"[a-z_][a-z0-9_]*", text[i:])
                if name:
                    found.add(name.group(0))
                    item = name.group(0)
            i += 1
    found.discard("self")
    return found


def main() -> int:
    seen, bad = set(), []
    for path in sorted(SRC.rglob("*.rs")):
        rel = path.relative_to(SRC).as_posix()
        here = layer(rel)
        for used in sorted(imports(path.read_text())):
            if used == here:
                continue
            ok = True
            if used == "cli":
                ok = rel in CLI_USERS
            elif here in ALLOWED:
                ok = used in ALLOWED[here]
            if not ok:
                if (rel, used) in KNOWN:
                    seen.add((rel, used))
                else:
                    bad.append(f"src/{rel} uses crate::{used}")
    for rel, used in sorted(KNOWN - seen):
        bad.append(f"src/{rel} no longer uses crate::{used}: remove it from KNOWN in .ci/layers.py")
    if bad:
        print("layer rule broken (see docs/ARCHITECTURE.md):")
        for b in bad:
            print("  " + b)
        return 1
    print(f"layers: ok ({len(KNOWN)} known violations left to fix)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
