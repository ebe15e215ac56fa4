"""Readers for the repository's infrastructure files: Dockerfiles, Kubernetes manifests,
compose, Terraform, workflows. Pure parsing; the policy lives in the tests."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from labkit import load_yaml_documents, parsed_once, rel, workspace

SERVICES = ("users", "payments", "notifications")
WORKLOAD_KINDS = {"Deployment", "StatefulSet", "DaemonSet"}
ARG_REFERENCE = re.compile(r"\$\{(\w+)\}|\$(\w+)")


# --- Dockerfiles -------------------------------------------------------------------------


@dataclass
class Stage:
    base: str
    alias: str | None
    instructions: list[tuple[str, str]] = field(default_factory=list)


def dockerfiles() -> list[Path]:
    root = workspace()
    files = [root / "docker" / f"{svc}.Dockerfile" for svc in SERVICES]
    missing = [rel(p) for p in files if not p.is_file()]
    if missing:
        pytest.fail(
            f"missing Dockerfiles: {', '.join(missing)} (one per service under docker/)",
            pytrace=False,
        )
    return files


def parse_dockerfile(path: Path) -> list[Stage]:
    """Split a Dockerfile into stages of (INSTRUCTION, arguments), joining continuation lines."""
    logical, pending = [], ""
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if pending and line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        logical.append(pending + line)
        pending = ""
    if pending:
        logical.append(pending)
    stages: list[Stage] = []
    global_args: dict[str, str] = {}
    for line in logical:
        word, _, rest = line.partition(" ")
        word, rest = word.upper(), rest.strip()
        if word == "ARG" and not stages:
            # An ARG before the first FROM may name the base image; FROM sees its default.
            name, _, default = rest.partition("=")
            global_args[name.strip()] = default.strip().strip("\"'")
        elif word == "FROM":
            rest = ARG_REFERENCE.sub(
                lambda m: global_args.get(m.group(1) or m.group(2), m.group(0)), rest
            )
            parts = [p for p in rest.split() if not p.startswith("--")]
            alias = parts[2] if len(parts) >= 3 and parts[1].lower() == "as" else None
            stages.append(Stage(parts[0] if parts else "", alias))
        elif stages:
            stages[-1].instructions.append((word, rest))
    return stages


# --- Kubernetes ------------------------------------------------------------------------


def k8s_dir() -> Path:
    folder = workspace() / "deploy" / "k8s"
    if not folder.is_dir():
        pytest.fail("deploy/k8s/ is missing: the Kubernetes manifests live there", pytrace=False)
    return folder


def manifest_files() -> list[Path]:
    return sorted(p for p in k8s_dir().rglob("*") if p.suffix in (".yaml", ".yml") and p.is_file())


def manifests() -> list[tuple[Path, dict]]:
    out = []
    for path in manifest_files():
        for doc in load_yaml_documents(path):
            if doc.get("kind") == "List":
                out.extend(
                    (path, item) for item in doc.get("items") or [] if isinstance(item, dict)
                )
            else:
                out.append((path, doc))
    return out


def name_of(doc: dict) -> str:
    meta = doc.get("metadata") or {}
    return f"{doc.get('kind')}/{meta.get('name')}"


def namespace_of(doc: dict) -> str:
    return (doc.get("metadata") or {}).get("namespace") or "default"


def workloads() -> list[tuple[Path, dict]]:
    found = [(p, d) for p, d in manifests() if d.get("kind") in WORKLOAD_KINDS]
    if not found:
        pytest.fail("no Deployment found under deploy/k8s/", pytrace=False)
    return found


def pod_spec(workload: dict) -> dict:
    return ((workload.get("spec") or {}).get("template") or {}).get("spec") or {}


def pod_labels(workload: dict) -> dict:
    return (((workload.get("spec") or {}).get("template") or {}).get("metadata") or {}).get(
        "labels"
    ) or {}


def selector_matches(selector: dict | None, labels: dict) -> bool:
    """A LabelSelector (matchLabels and matchExpressions) against a label set."""
    if not selector:
        return False
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    for expr in selector.get("matchExpressions") or []:
        key, op, values = expr.get("key"), expr.get("operator"), expr.get("values") or []
        if op == "In" and labels.get(key) not in values:
            return False
        if op == "NotIn" and labels.get(key) in values:
            return False
        if op == "Exists" and key not in labels:
            return False
        if op == "DoesNotExist" and key in labels:
            return False
    return True


def containers(workload: dict, *, init: bool = True) -> list[dict]:
    spec = pod_spec(workload)
    found = list(spec.get("containers") or [])
    if init:
        found += list(spec.get("initContainers") or [])
    return found


# --- Terraform -----------------------------------------------------------------------


def unquote(value):
    if isinstance(value, str) and len(value) >= 2 and value[0] == value[-1] == '"':
        return value[1:-1]
    return value


def normalise(node):
    """python-hcl2 output without its quoting and block markers, whatever its version."""
    if isinstance(node, dict):
        return {unquote(k): normalise(v) for k, v in node.items() if k != "__is_block__"}
    if isinstance(node, list):
        return [normalise(v) for v in node]
    return unquote(node)


def terraform_dir() -> Path:
    folder = workspace() / "infra" / "terraform"
    if not folder.is_dir():
        pytest.fail("infra/terraform/ is missing", pytrace=False)
    return folder


def _hcl(path: Path) -> dict:
    try:
        import hcl2
    except ImportError:
        pytest.skip(
            "skipped: python-hcl2 not installed: pip install python-hcl2"
            " (in the dev dependency group)"
        )
    try:
        with path.open() as handle:
            return normalise(hcl2.load(handle))
    except Exception as exc:  # the parser raises several kinds
        pytest.fail(f"{rel(path)} does not parse as HCL: {exc}", pytrace=False)


def parse_tf(path: Path) -> dict:
    """A .tf or .tfvars file as plain Python values; parsed once per session."""
    return parsed_once(path, _hcl)


def terraform_modules() -> dict[Path, list[tuple[Path, dict]]]:
    """Every folder holding .tf files, with its parsed files."""
    modules: dict[Path, list[tuple[Path, dict]]] = {}
    for path in sorted(terraform_dir().rglob("*.tf")):
        if ".terraform" in path.parts:
            continue
        modules.setdefault(path.parent, []).append((path, parse_tf(path)))
    if not modules:
        pytest.fail("no .tf files under infra/terraform/", pytrace=False)
    return modules


def root_modules() -> list[Path]:
    envs = terraform_dir() / "envs"
    roots = (
        sorted(p for p in envs.iterdir() if p.is_dir() and any(p.glob("*.tf")))
        if envs.is_dir()
        else []
    )
    if not roots:
        pytest.fail(
            "no environments under infra/terraform/envs/ (one root module per environment)",
            pytrace=False,
        )
    return roots


def blocks(parsed_files: list[tuple[Path, dict]], kind: str):
    """Yield (file, label, body) for `kind "label" { ... }` blocks: variable, output..."""
    for path, parsed in parsed_files:
        for entry in parsed.get(kind) or []:
            for label, body in entry.items():
                yield path, label, body


def walk_values(node, path=()):
    """Yield (attribute path, value) for every scalar in a parsed HCL tree."""
    if isinstance(node, dict):
        for key, value in node.items():
            yield from walk_values(value, (*path, str(key)))
    elif isinstance(node, list):
        for value in node:
            yield from walk_values(value, path)
    else:
        yield path, node


SECRET_NAME = re.compile(
    r"(password|passwd|secret|token|private_key|api_key|access_key|credential)", re.IGNORECASE
)
