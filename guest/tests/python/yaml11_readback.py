#!/usr/bin/env python3
"""Reads YAML the way HNP does (PyYAML, YAML 1.1) and compares it with the JSON it must mean.

    yaml11_readback.py readback DIR
        Every DIR/NAME.yaml is one document; yaml.safe_load must give exactly DIR/NAME.json.
    yaml11_readback.py load-all FILE.yaml WANT.json
        yaml.safe_load_all(FILE.yaml), empty documents skipped and timestamps read as their
        text (as fgd-sync's parser reads them), must give the CRs listed in WANT.json
        (apiVersion, kind, metadata name/namespace/labels/annotations, spec).

    yaml11_readback.py resolve STRINGS.json OUT.json
        Writes the tag PyYAML's implicit resolver gives each string of STRINGS.json, read as
        a plain scalar (`int`, `float`, `bool`, `null`, `timestamp`, `merge`, `value`, `str`).

Types are compared exactly: 1 is not 1.0, "1" is not 1, True is not 1.
Prints one line per mismatch and a closing "N passed, M failed"; exits 1 on any mismatch.
"""
import json
import math
import pathlib
import sys

import yaml


def differences(got, want, path="$"):
    """Paths where `got` and `want` differ, types included."""
    if type(got) is not type(want):
        return [f"{path}: got {type(got).__name__} {got!r}, want {type(want).__name__} {want!r}"]
    if isinstance(got, dict):
        out = []
        for key in sorted(set(got) | set(want), key=repr):
            if key not in got:
                out.append(f"{path}.{key}: missing")
            elif key not in want:
                out.append(f"{path}.{key}: unexpected {got[key]!r}")
            else:
                out += differences(got[key], want[key], f"{path}.{key}")
        return out
    if isinstance(got, list):
        if len(got) != len(want):
            return [f"{path}: {len(got)} items, want {len(want)}"]
        out = []
        for i, (g, w) in enumerate(zip(got, want)):
            out += differences(g, w, f"{path}[{i}]")
        return out
    if isinstance(got, float) and math.isnan(got) and math.isnan(want):
        return []
    if got != want or (isinstance(got, float) and math.copysign(1, got) != math.copysign(1, want)):
        return [f"{path}: got {got!r}, want {want!r}"]
    return []


class TextTimestampLoader(yaml.SafeLoader):
    """SafeLoader that leaves timestamps as the text they are."""


TextTimestampLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def project(doc):
    """The part of a CR document that fgd-sync keeps."""
    metadata = doc.get("metadata") or {}
    kept = {k: metadata[k] for k in ("name", "namespace", "labels", "annotations") if metadata.get(k) not in (None, "", {})}
    return {
        "apiVersion": doc.get("apiVersion"),
        "kind": doc.get("kind"),
        "metadata": kept,
        "spec": doc.get("spec") or {},
    }


def readback(directory):
    passed, failed = 0, 0
    for yaml_path in sorted(pathlib.Path(directory).glob("*.yaml")):
        want = json.loads(yaml_path.with_suffix(".json").read_text(encoding="utf-8"))
        try:
            got = yaml.safe_load(yaml_path.read_text(encoding="utf-8"))
            problems = differences(got, want)
        except yaml.YAMLError as e:
            problems = [f"does not load: {e}"]
        if problems:
            failed += 1
            for p in problems:
                print(f"{yaml_path.name}: {p}")
        else:
            passed += 1
    return passed, failed


def load_all(yaml_file, want_file):
    text = pathlib.Path(yaml_file).read_text(encoding="utf-8")
    want = json.loads(pathlib.Path(want_file).read_text(encoding="utf-8"))
    got = [project(d) for d in yaml.load_all(text, Loader=TextTimestampLoader) if d is not None]
    if len(got) != len(want):
        print(f"{yaml_file}: {len(got)} documents, want {len(want)}")
        return 0, 1
    passed, failed = 0, 0
    for i, (g, w) in enumerate(zip(got, want)):
        problems = differences(g, w, f"document {i}")
        if problems:
            failed += 1
            for p in problems:
                print(f"{yaml_file}: {p}")
        else:
            passed += 1
    return passed, failed


def resolve(strings_file, out_file):
    strings = json.loads(pathlib.Path(strings_file).read_text(encoding="utf-8"))
    resolver = yaml.resolver.Resolver()
    tags = [resolver.resolve(yaml.ScalarNode, s, (True, False)).rsplit(":", 1)[1] for s in strings]
    pathlib.Path(out_file).write_text(json.dumps(tags), encoding="utf-8")
    return len(tags), 0


def main():
    if len(sys.argv) == 4 and sys.argv[1] == "resolve":
        passed, failed = resolve(sys.argv[2], sys.argv[3])
    elif len(sys.argv) == 3 and sys.argv[1] == "readback":
        passed, failed = readback(sys.argv[2])
    elif len(sys.argv) == 4 and sys.argv[1] == "load-all":
        passed, failed = load_all(sys.argv[2], sys.argv[3])
    else:
        print(__doc__, file=sys.stderr)
        return 2
    print(f"{passed} passed, {failed} failed")
    return 1 if failed or not passed else 0


if __name__ == "__main__":
    sys.exit(main())
