#!/usr/bin/env python3
"""Validates rendered CRs against the openAPIV3Schema of their CustomResourceDefinition.

    crd_validate.py CRD_DIR DOCS_DIR

Each DOCS_DIR/*.yaml holds one CR; its CRD is the one in CRD_DIR whose spec.names.kind and
group match, at the version named by the CR's apiVersion. The OpenAPI v3 schema is checked
as JSON Schema Draft 7, after mapping Kubernetes' extensions: `x-kubernetes-int-or-string`
allows an integer or a string, `nullable` allows null, and other `x-kubernetes-*` keys are
annotations. Kubernetes prunes fields that a structural schema does not list; a renderer
that writes such a field loses it silently, so here they are errors (additionalProperties
false wherever a schema lists properties and says nothing else).

Prints one line per violation and a closing "N passed, M failed"; exits 1 on any.
"""
import copy
import pathlib
import sys

import jsonschema
import yaml


def to_draft7(schema):
    """A Kubernetes structural schema as Draft 7."""
    if isinstance(schema, list):
        return [to_draft7(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    skip = lambda k: k.startswith("x-kubernetes-") or k in ("nullable", "properties")
    out = {k: to_draft7(v) for k, v in schema.items() if not skip(k)}
    # `properties` maps field names (not keywords) to schemas: convert its values only.
    if "properties" in schema:
        out["properties"] = {name: to_draft7(s) for name, s in schema["properties"].items()}
    if schema.get("x-kubernetes-int-or-string"):
        out.pop("type", None)
        out["anyOf"] = [{"type": "integer"}, {"type": "string"}]
    if schema.get("nullable") and "type" in out:
        out["type"] = [out["type"], "null"]
    lists_fields = "properties" in schema
    if lists_fields and "additionalProperties" not in schema and not schema.get("x-kubernetes-preserve-unknown-fields"):
        out["additionalProperties"] = False
    return out


def load_crds(crd_dir):
    """{(group, version, kind): Draft 7 schema}"""
    schemas = {}
    for path in sorted(pathlib.Path(crd_dir).glob("*.yaml")):
        for crd in yaml.safe_load_all(path.read_text(encoding="utf-8")):
            if not crd:
                continue
            spec = crd["spec"]
            for version in spec["versions"]:
                schema = to_draft7(copy.deepcopy(version["schema"]["openAPIV3Schema"]))
                schemas[(spec["group"], version["name"], spec["names"]["kind"])] = schema
    return schemas


def main():
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    schemas = load_crds(sys.argv[1])
    passed, failed = 0, 0
    for path in sorted(pathlib.Path(sys.argv[2]).glob("*.yaml")):
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
        group, _, version = doc["apiVersion"].partition("/")
        schema = schemas.get((group, version, doc["kind"]))
        if schema is None:
            print(f"{path.name}: no CRD for {doc['apiVersion']} {doc['kind']}")
            failed += 1
            continue
        validator = jsonschema.Draft7Validator(schema)
        errors = sorted(validator.iter_errors(doc), key=lambda e: list(e.absolute_path))
        for error in errors:
            where = ".".join(str(p) for p in error.absolute_path) or "(root)"
            print(f"{path.name}: {where}: {error.message}")
        if errors:
            failed += 1
        else:
            passed += 1
    print(f"{passed} passed, {failed} failed")
    return 1 if failed or not passed else 0


if __name__ == "__main__":
    sys.exit(main())
