"""fgd_sync_wasm: the fgd-sync component, in-process from Python, through PyPI `wasmtime`.

The very `.wasm` file the `fgd-sync` binary ships holds all sync logic. This module loads it
once, supplies its `hnp` import from a Python object, and calls the pure `logic` exports:
`render`, `manifest_path`, `resource_at`, `blob_sha`, `parse_manifests` and `plan`.

Every call gets a fresh store (as the Rust host does), so nothing leaks from one call to the
next, and a trap in one call cannot poison the others.

What it does not do: run `sync-*`. The Python embedding has no hook over the component's
outgoing `wasi:http` requests (no place to inject a token or refuse a host), so a Python host
plans here and leaves writing to GitHub to the `fgd-sync` binary (see README.md).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Optional, Protocol, Sequence

import wasmtime
from wasmtime import Engine, Store, WasiConfig
from wasmtime.component import Component, Linker, Record, Variant

PACKAGE = "hedgehog:fgd-sync"
WIT_VERSION = "0.1.0"


def _iface(name: str) -> str:
    return f"{PACKAGE}/{name}@{WIT_VERSION}"


# ---------------------------------------------------------------- data, as the WIT has it


@dataclass
class CustomResource:
    """A CR as HNP holds it; `spec`, `labels` and `annotations` are JSON text (jsonb)."""

    kind: str
    name: str
    spec: str = "{}"
    namespace: str = ""
    labels: str = ""
    annotations: str = ""
    api_version: Optional[str] = None


@dataclass(frozen=True)
class ResourceRef:
    kind: str
    name: str
    namespace: str = ""


@dataclass
class PlanInput:
    """Everything `plan` needs; see `record plan-input` in wit/fgd-sync.wit."""

    directory: str
    desired: list[CustomResource]
    remote_files: list[tuple[str, str]] = field(default_factory=list)
    state: Optional[str] = None
    contents: list[tuple[str, str]] = field(default_factory=list)
    deleted: list[ResourceRef] = field(default_factory=list)
    complete: bool = True
    resolutions: list[tuple[str, str]] = field(default_factory=list)  # (path, "git" | "hnp")
    fabric: str = ""  # recorded in the sync state; empty: not checked
    untrusted: list[str] = field(default_factory=list)  # paths whose base is not trusted
    unreadable: list[str] = field(default_factory=list)  # blob SHAs that cannot be read
    direction: str = "push"  # "push" | "pull" | "both": with a pull, Git's edits become hnp-changes
    refused: list[str] = field(default_factory=list)  # paths whose hnp-changes HNP refused


class InvalidResource(Exception):
    """A CR failed validation; `field` names the offending field, e.g. `metadata.name`."""

    def __init__(self, value: dict[str, Any]):
        super().__init__(f"{value['kind']} {value['name']!r}: field {value['field']}: {value['message']}")
        self.value = value
        self.field = value["field"]


class SyncError(Exception):
    """The WIT `sync-error` variant: `tag` (e.g. `invalid-manifest`) and its payload."""

    def __init__(self, value: dict[str, Any]):
        super().__init__(f"{value['tag']}: {value['val']}")
        self.value = value
        self.tag = value["tag"]


class CrSource(Protocol):
    """The `hnp` import: where CRs come from (HNP's ORM, files, anything)."""

    def list_resources(self, fabric: str) -> list[CustomResource]: ...

    def get_resource(self, fabric: str, ref: ResourceRef) -> Optional[CustomResource]: ...

    def apply_changes(self, fabric: str, changes: list[dict[str, Any]]) -> list[Optional[str]]:
        """A pull's CR writes (WIT `hnp-change` as plain data); one answer per change:
        None when done, the refusal otherwise. Write only while the CR equals `expected`."""
        ...

    def record_synced(self, fabric: str, entries: list[dict[str, Any]]) -> None: ...


class MemorySource:
    """A `CrSource` over a Python list: for tests, and a model for an ORM-backed one."""

    def __init__(self, resources: Iterable[CustomResource] = ()):
        self.resources = list(resources)
        self.recorded: list[tuple[str, dict[str, Any]]] = []

    def list_resources(self, fabric: str) -> list[CustomResource]:
        return list(self.resources)

    def get_resource(self, fabric: str, ref: ResourceRef) -> Optional[CustomResource]:
        ns = ref.namespace or "default"
        for cr in self.resources:
            if cr.kind == ref.kind and cr.name == ref.name and (cr.namespace or "default") == ns:
                return cr
        return None

    def apply_changes(self, fabric: str, changes: list[dict[str, Any]]) -> list[Optional[str]]:
        answers: list[Optional[str]] = []
        for change in changes:
            cr = cr_from_plain(change["resource"])
            ref = ResourceRef(cr.kind, cr.name, cr.namespace)
            found = self.get_resource(fabric, ref)
            expected = change["expected"]
            if (found is None) != (expected is None) or (found is not None and found != cr_from_plain(expected)):
                answers.append(f"{cr.kind} {cr.name} changed meanwhile")
                continue
            if found is not None:
                self.resources.remove(found)
            if change["op"] != "delete":
                self.resources.append(cr)
            answers.append(None)
        return answers

    def record_synced(self, fabric: str, entries: list[dict[str, Any]]) -> None:
        self.recorded.extend((fabric, entry) for entry in entries)


# ---------------------------------------------------------------- conversions


def _record(**fields: Any) -> Record:
    """A WIT record: wasmtime-py reads fields by their WIT (kebab-case) names."""
    record = Record()
    for name, value in fields.items():
        setattr(record, name.replace("_", "-"), value)
    return record


def _cr_to_wit(cr: CustomResource) -> Record:
    return _record(
        kind=cr.kind,
        api_version=cr.api_version,
        name=cr.name,
        namespace=cr.namespace,
        labels=cr.labels,
        annotations=cr.annotations,
        spec=cr.spec,
    )


def _ref_to_wit(ref: ResourceRef) -> Record:
    return _record(kind=ref.kind, namespace=ref.namespace, name=ref.name)


def cr_from_wit(value: Any) -> CustomResource:
    get = lambda name: getattr(value, name)  # noqa: E731 - field names have dashes
    return CustomResource(
        kind=get("kind"),
        name=get("name"),
        spec=get("spec"),
        namespace=get("namespace"),
        labels=get("labels"),
        annotations=get("annotations"),
        api_version=get("api-version"),
    )


def cr_from_plain(value: dict[str, Any]) -> CustomResource:
    """A CR from `to_plain` data (WIT field names)."""
    return CustomResource(
        kind=value["kind"],
        name=value["name"],
        spec=value["spec"],
        namespace=value["namespace"],
        labels=value["labels"],
        annotations=value["annotations"],
        api_version=value["api-version"],
    )


def to_plain(value: Any) -> Any:
    """WIT values as plain JSON-able data: records as dicts keyed by WIT field names,
    variants as {"tag", "val"}, tuples as lists. Enums already are strings."""
    if isinstance(value, Record):
        return {name: to_plain(v) for name, v in sorted(vars(value).items())}
    if isinstance(value, Variant):
        return {"tag": value.tag, "val": to_plain(value.payload)}
    if isinstance(value, (list, tuple)):
        return [to_plain(v) for v in value]
    if isinstance(value, bytes):
        return list(value)
    return value


# ---------------------------------------------------------------- the component


class FgdSync:
    """The component, compiled once; each call instantiates it in a fresh store."""

    def __init__(self, wasm: str | Path, source: Optional[CrSource] = None):
        self.engine = Engine()
        self.component = Component.from_file(self.engine, str(wasm))
        self.source: CrSource = source or MemorySource()
        self.linker = Linker(self.engine)
        # The component imports WASI (clocks, random, stderr) and wasi:http (only sync-* uses it).
        self.linker.add_wasip2()
        self.linker.add_wasi_http()
        with self.linker.root() as root:
            with root.add_instance(_iface("hnp")) as hnp:
                hnp.add_func("list-resources", self._list_resources)
                hnp.add_func("get-resource", self._get_resource)
                hnp.add_func("apply-changes", self._apply_changes)
                hnp.add_func("record-synced", self._record_synced)

    # -- the hnp import, answered by `self.source`. A source that raises becomes the WIT
    # `err` string (the component reports it as a `source` error), except for get-resource:
    # wasmtime-py 50 cannot lower an `err` of `result<option<T>, string>`, so there the
    # exception propagates out of the call instead.

    def _list_resources(self, _store: Any, fabric: str) -> Any:
        try:
            return [_cr_to_wit(cr) for cr in self.source.list_resources(fabric)]
        except Exception as error:  # noqa: BLE001 - any failure of the source is reported
            return str(error) or type(error).__name__

    def _get_resource(self, _store: Any, fabric: str, ref: Any) -> Any:
        found = self.source.get_resource(fabric, ResourceRef(ref.kind, ref.name, ref.namespace))
        return None if found is None else _cr_to_wit(found)

    def _apply_changes(self, _store: Any, fabric: str, changes: Any) -> Any:
        try:
            return self.source.apply_changes(fabric, [to_plain(c) for c in changes])
        except Exception as error:  # noqa: BLE001
            return str(error) or type(error).__name__

    def _record_synced(self, _store: Any, fabric: str, entries: Any) -> Any:
        try:
            self.source.record_synced(fabric, [to_plain(e) for e in entries])
            return None
        except Exception as error:  # noqa: BLE001
            return str(error) or type(error).__name__

    def _call(self, interface: str, name: str, *args: Any) -> Any:
        store = Store(self.engine)
        store.set_wasi(WasiConfig())  # nothing granted: no files, no environment
        store.set_wasi_http()
        instance = self.linker.instantiate(store, self.component)
        exported = instance.get_export_index(store, _iface(interface))
        func = instance.get_func(store, instance.get_export_index(store, name, exported))
        return func(store, *args)

    # -- the logic interface

    def render(self, cr: CustomResource) -> str:
        """Canonical YAML of one CR; raises InvalidResource."""
        return _ok_str(self._call("logic", "render", _cr_to_wit(cr)), InvalidResource)

    def manifest_path(self, directory: str, ref: ResourceRef) -> str:
        """The CR's file, relative to the repository root; raises InvalidResource."""
        return _ok_str(self._call("logic", "manifest-path", directory, _ref_to_wit(ref)), InvalidResource)

    def resource_at(self, directory: str, path: str) -> Optional[ResourceRef]:
        found = self._call("logic", "resource-at", directory, path)
        return None if found is None else ResourceRef(found.kind, found.name, found.namespace)

    def blob_sha(self, content: bytes) -> str:
        """Git's blob SHA-1 of `content`, as GitHub reports it."""
        return self._call("logic", "blob-sha", bytes(content))

    def parse_manifests(self, source: str, text: str) -> list[CustomResource]:
        """CRs from YAML or JSON manifest text; raises SyncError (`invalid-manifest`)."""
        value = self._call("logic", "parse-manifests", source, text)
        if isinstance(value, Variant) and value.tag not in ("ok", "err"):
            raise SyncError(to_plain(value))
        return [cr_from_wit(cr) for cr in _unwrap(value)]

    def plan_raw(self, plan_input: PlanInput, message_prefix: str = "") -> dict[str, Any]:
        """One `plan` call, its commit-plan as plain data; raises SyncError."""
        wit_input = _record(
            directory=plan_input.directory,
            remote_files=[tuple(f) for f in plan_input.remote_files],
            state=plan_input.state,
            contents=[tuple(c) for c in plan_input.contents],
            desired=[_cr_to_wit(cr) for cr in plan_input.desired],
            deleted=[_ref_to_wit(r) for r in plan_input.deleted],
            complete=plan_input.complete,
            resolutions=[_record(path=p, take=t, expect=None) for p, t in plan_input.resolutions],
            fabric=plan_input.fabric,
            untrusted=list(plan_input.untrusted),
            unreadable=list(plan_input.unreadable),
            direction=plan_input.direction,
            refused=list(plan_input.refused),
        )
        value = self._call("logic", "plan", wit_input, message_prefix)
        if isinstance(value, Variant):  # result<record, variant> comes back untagged
            raise SyncError(to_plain(value))
        return to_plain(value)

    def plan(
        self,
        plan_input: PlanInput,
        message_prefix: str = "",
        read_blob: Optional[Callable[[str], str]] = None,
        max_rounds: int = 3,
    ) -> dict[str, Any]:
        """`plan`, reading the blobs it asks for with `read_blob(sha)` (formatting-only edits
        in Git are not conflicts, so it may need to compare texts)."""
        current = dataclasses.replace(plan_input, contents=list(plan_input.contents))
        for _ in range(max_rounds):
            result = self.plan_raw(current, message_prefix)
            needed = result["need-contents"]
            if not needed or read_blob is None:
                return result
            known = {sha for sha, _ in current.contents}
            current.contents += [(sha, read_blob(sha)) for sha in needed if sha not in known]
        return result


def _unwrap(value: Any) -> Any:
    """A WIT `result` whose cases wasmtime-py tagged: the ok value, or raise the error."""
    if isinstance(value, Variant) and value.tag == "ok":
        return value.payload
    if isinstance(value, Variant) and value.tag == "err":
        raise SyncError(to_plain(value.payload))
    return value


def _ok_str(value: Any, error: type) -> str:
    """`result<string, record>`: wasmtime-py hands back the string or the error record."""
    if isinstance(value, str):
        return value
    raise error(to_plain(value))


__all__: Sequence[str] = [
    "CrSource",
    "CustomResource",
    "FgdSync",
    "InvalidResource",
    "MemorySource",
    "PlanInput",
    "ResourceRef",
    "SyncError",
    "cr_from_wit",
    "to_plain",
    "wasmtime",
]
