"""Runs the shared corpus (tests/data/corpus/corpus.json) through the component from Python
and prints the results as JSON, in the form tests/data/corpus/README.md describes. The Rust
test `tests/it/hosts.rs` runs the same corpus through the Rust host and Node.js and requires
byte-identical results.

    python corpus.py --component fgd_sync.wasm --corpus ../../tests/data/corpus/corpus.json
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any, Callable, Optional

from fgd_sync_wasm import (
    CustomResource,
    FgdSync,
    InvalidResource,
    PlanInput,
    ResourceRef,
    SyncError,
    cr_from_plain,
    to_plain,
)

MAX_CONTENT_ROUNDS = 3


def cr_to_plain(cr: CustomResource) -> dict[str, Any]:
    return {
        "kind": cr.kind,
        "api-version": cr.api_version,
        "name": cr.name,
        "namespace": cr.namespace,
        "labels": cr.labels,
        "annotations": cr.annotations,
        "spec": cr.spec,
    }


def outcome(call: Callable[[], Any]) -> dict[str, Any]:
    """{"ok": value} or {"err": error}, for the errors the corpus expects."""
    try:
        return {"ok": call()}
    except InvalidResource as error:
        return {"err": error.value}
    except SyncError as error:
        return {"err": error.value}


class Runner:
    def __init__(self, fgd: FgdSync, corpus: dict[str, Any]):
        self.fgd = fgd
        self.directory: str = corpus["directory"]
        self.state_path: str = corpus["state-path"]
        self.prefix: str = corpus["message-prefix"]

    def resource(self, cr: CustomResource) -> dict[str, Any]:
        render = outcome(lambda: self.fgd.render(cr))
        ref = ResourceRef(cr.kind, cr.name, cr.namespace)
        path = outcome(lambda: self.fgd.manifest_path(self.directory, ref))
        sha = self.fgd.blob_sha(render["ok"].encode()) if "ok" in render else None
        return {"render": render, "path": path, "blob-sha": sha}

    def plan(self, desired: list[CustomResource], remote: list[tuple[str, str]], state: Optional[str],
             blobs: dict[str, str], direction: str = "push") -> dict[str, Any]:
        plan_input = PlanInput(directory=self.directory, desired=desired, remote_files=remote, state=state,
                               direction=direction)
        result: dict[str, Any] = {}
        for _ in range(MAX_CONTENT_ROUNDS):
            result = outcome(lambda: self.fgd.plan_raw(plan_input, self.prefix))
            known = {sha for sha, _ in plan_input.contents}
            wanted = [sha for sha in result.get("ok", {}).get("need-contents", []) if sha not in known and sha in blobs]
            if not wanted:
                break
            plan_input.contents += [(sha, blobs[sha]) for sha in wanted]
        return result

    def plans(self, crs: list[CustomResource]) -> list[dict[str, Any]]:
        fresh = self.plan(crs, [], None, {})
        plans = [{"name": "fresh", "result": fresh}]
        if "ok" not in fresh:
            return plans
        files = {w["path"]: w["content"] for w in fresh["ok"]["writes"] if w["content"] is not None}
        blobs = {self.fgd.blob_sha(text.encode()): text for text in files.values()}
        shas = {path: self.fgd.blob_sha(text.encode()) for path, text in files.items()}
        remote = sorted(shas.items())
        state = files.get(self.state_path)
        plans.append({"name": "resync", "result": self.plan(crs, remote, state, blobs)})
        managed = sorted(path for path in files if path != self.state_path)
        if managed:
            edited = files[managed[0]] + "gitEdited: true\n"
            edited_sha = self.fgd.blob_sha(edited.encode())
            edited_remote = [(p, edited_sha if p == managed[0] else s) for p, s in remote]
            edit_blobs = dict(blobs, **{edited_sha: edited})
            plans.append({"name": "git-edit", "result": self.plan(crs, edited_remote, state, edit_blobs)})
            # The same edit pulled (a conflict that says why), and Git's deletion pulled.
            pulled = self.plan(crs, edited_remote, state, edit_blobs, "pull")
            plans.append({"name": "git-edit-pull", "result": pulled})
            deleted = [(p, s) for p, s in remote if p != managed[0]]
            plans.append({"name": "git-delete-pull", "result": self.plan(crs, deleted, state, blobs, "pull")})
        if crs:
            plans.append({"name": "hnp-delete", "result": self.plan(crs[1:], remote, state, blobs)})
        return plans

    def manifest(self, name: str, text: str) -> dict[str, Any]:
        parsed = outcome(lambda: self.fgd.parse_manifests(name, text))
        entry: dict[str, Any] = {"file": name}
        if "err" in parsed:
            entry["parse"] = parsed
            return entry
        crs = parsed["ok"]
        entry["parse"] = {"ok": [cr_to_plain(cr) for cr in crs]}
        entry["resources"] = [self.resource(cr) for cr in crs]
        entry["plans"] = self.plans(crs)
        return entry

    def resources(self, name: str, cases: list[dict[str, Any]]) -> dict[str, Any]:
        crs = [cr_from_plain(case["cr"]) for case in cases]
        return {"file": name, "entries": [self.resource(cr) for cr in crs], "plans": self.plans(crs)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--component", required=True, help="the fgd-sync .wasm component")
    parser.add_argument("--corpus", required=True, help="tests/data/corpus/corpus.json")
    args = parser.parse_args()

    corpus_file = Path(args.corpus)
    corpus = json.loads(corpus_file.read_text(encoding="utf-8"))
    runner = Runner(FgdSync(args.component), corpus)
    base = corpus_file.parent
    report = {
        "host": "python",
        "manifests": [
            # newline="": CRLF files reach the component as they are on disk.
            runner.manifest(m["file"], (base / m["file"]).open(encoding="utf-8", newline="").read())
            for m in corpus["manifests"]
        ],
        "resources": [
            runner.resources(r["file"], json.loads((base / r["file"]).read_text(encoding="utf-8")))
            for r in corpus["resources"]
        ],
    }
    json.dump(report, sys.stdout, ensure_ascii=False, sort_keys=True)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
