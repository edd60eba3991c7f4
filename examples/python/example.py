"""What HNP's save hook could do in-process with the component: render the saved CR, find its
file, and plan against what HNP last synced, all without a subprocess or the network.

    python example.py path/to/fgd_sync.wasm

`on_save` below is shaped like a Django `post_save` receiver; here it is called directly with
plain objects, so the example runs without Django or NetBox.
"""

from __future__ import annotations

import json
import sys
from typing import Optional

from fgd_sync_wasm import CustomResource, FgdSync, InvalidResource, MemorySource, PlanInput, ResourceRef

DIRECTORY = "fabrics/dc1/gitops"


def on_save(fgd: FgdSync, instance: CustomResource, last_synced: dict[str, str], state: Optional[str]) -> dict:
    """Validates, renders and plans one saved CR.

    `last_synced` is path -> blob SHA of the files HNP knows are on the branch (HNP keeps
    `git_file_path` per CR; a NetBox job can refresh the SHAs), `state` the sync state file's
    text if HNP cached it. Nothing here writes to Git: the `fgd-sync` binary or its `serve`
    mode does that with the token, and `plan` tells the user now what it will do."""
    try:
        yaml = fgd.render(instance)  # raises InvalidResource naming the field, e.g. metadata.name
    except InvalidResource as error:
        return {"valid": False, "field": error.field, "message": str(error)}
    path = fgd.manifest_path(DIRECTORY, ResourceRef(instance.kind, instance.name, instance.namespace))
    plan = fgd.plan_raw(
        PlanInput(
            directory=DIRECTORY,
            desired=[instance],
            remote_files=sorted(last_synced.items()),
            state=state,
            complete=False,  # one CR, not the whole fabric: nothing else is deleted
        ),
        message_prefix="[hnp] ",
    )
    return {
        "valid": True,
        "path": path,
        "blob_sha": fgd.blob_sha(yaml.encode()),
        "actions": [(c["action"], c["path"]) for c in plan["changes"]],
        "needs_git_contents": plan["need-contents"],
        "yaml": yaml,
    }


def main() -> int:
    wasm = sys.argv[1] if len(sys.argv) > 1 else "fgd_sync.wasm"
    vpc = CustomResource(
        kind="VPC",
        name="vpc-1",
        spec=json.dumps({"subnets": {"default": {"subnet": "10.0.1.0/24", "vlan": 1001}}}),
    )
    # The hnp import answers the component's lookups (sync-* only) from HNP's own objects.
    fgd = FgdSync(wasm, source=MemorySource([vpc]))
    print(json.dumps(on_save(fgd, vpc, last_synced={}, state=None), indent=2))
    broken = CustomResource(kind="VPC", name="VPC_1", spec="{}")
    print(json.dumps(on_save(fgd, broken, last_synced={}, state=None), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
