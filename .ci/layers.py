#!/usr/bin/env python3
"""Fail when a module imports against the layer rule (docs/ARCHITECTURE.md).

HTTP (api, web, tracking, health, docs) -> domain, store; jobs -> store and the writer; store -> domain, db;
domain -> nothing of the crate; only main, lib and cli itself know cli. The HTTP layers of
brands' requests (api, web) write no SQL: no rusqlite, no transactions; those live in store.
"""
import pathlib
import re
import sys

SRC = pathlib.Path(__file__).resolve().parent.parent / "src"

# Shared plumbing every outer layer may use.
INFRA = {"db", "state", "config", "client_ip", "metrics", "work_gate", "heavy_reads"}
HTTP = {"domain", "store"} | INFRA
ALLOWED = {
    "domain": set(),
    "db": {"domain"},
    "store": {"domain", "db"},
    "api": HTTP | {"tracking"},  # the writer is the store of clicks and conversions
    "web": HTTP | {"tracking"},  # so is it for the dashboard's status changes
    "tracking": HTTP,
    "health": HTTP | {"tracking"},
    "docs": {"domain"},
    # Holds are approved through the writer, in order with the postbacks and changes around them.
    "jobs": {"domain", "store", "db", "tracking"},
    # What the process is built of: the state holds the store's caches and the writer.
    "state": {"domain", "store", "db", "config", "metrics", "tracking", "work_gate", "heavy_reads"},
    # Tools run from the command line beside (or instead of) the server.
    "seed": {"domain", "store", "db", "tracking"},
    "backup": {"domain", "db"},
    "admin_cli": {"domain", "store", "db"},
    "metrics": set(),
    "connections": set(),
    "client_ip": set(),
    "config": set(),
    "allocator": set(),
    "work_gate": set(),
    "heavy_reads": set(),
}
# Outer layers: the server wiring (lib, server, main, cli) may use anything.
CLI_USERS = {"main.rs", "lib.rs", "cli"}
NO_SQL = {"api", "web"}
SQL = re.compile(r"\brusqlite::|\.transaction(_with_behavior)?\(|\.execute(_batch)?\(|\.prepare(_cached)?\(")


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
    bad = []
    for path in sorted(SRC.rglob("*.rs")):
        rel = path.relative_to(SRC).as_posix()
        here = layer(rel)
        for used in sorted(imports(path.read_text())):
            if used == here:
                continue
            ok = True
            if used == "cli":
                ok = rel in CLI_USERS or here in CLI_USERS
            elif here in ALLOWED:
                ok = used in ALLOWED[here]
            if not ok:
                bad.append(f"src/{rel} uses crate::{used}")
        if here in NO_SQL:
            for n, line in enumerate(path.read_text().splitlines(), 1):
                if SQL.search(line):
                    bad.append(f"src/{rel}:{n} writes SQL in the HTTP layer (move it to store): {line.strip()}")
    if bad:
        print("layer rule broken (see docs/ARCHITECTURE.md):")
        for b in bad:
            print("  " + b)
        return 1
    print("layers: ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
