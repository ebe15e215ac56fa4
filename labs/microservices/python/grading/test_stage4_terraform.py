"""Stage `terraform`: infrastructure as code a reviewer would accept. Terraform itself is not
available to the suite, so the HCL is parsed (python-hcl2) and checked statically."""

from __future__ import annotations

import re

from infrakit import SECRET_NAME, blocks, root_modules, terraform_modules, walk_values
from labkit import rel, report

BOUNDED = re.compile(r"(~>|<|^\s*=?\s*v?\d+\.\d+\.\d+\s*$)")
REGISTRY_SOURCE = re.compile(r"^[\w-]+/[\w-]+/[\w-]+$")
AWS_KEY_ID = re.compile(r"\b(AKIA|ASIA)[0-9A-Z]{16}\b")


def _terraform_blocks(files):
    for path, parsed in files:
        for block in parsed.get("terraform") or []:
            yield path, block


def _providers(block) -> dict:
    merged = {}
    for entry in block.get("required_providers") or []:
        if isinstance(entry, dict):
            merged.update(entry)
    return merged


def test_terraform_versions_and_providers_pinned():
    modules = terraform_modules()
    problems = []
    for root in root_modules():
        files = modules.get(root, [])
        tf_blocks = list(_terraform_blocks(files))
        required = [b.get("required_version") for _, b in tf_blocks if b.get("required_version")]
        if not required:
            problems.append(f"{rel(root)}: no required_version in a terraform block")
        elif not any(BOUNDED.search(str(v)) for v in required):
            problems.append(f"{rel(root)}: required_version {required[0]!r} has no upper bound (use ~> or < x)")
        providers = {}
        for _, block in tf_blocks:
            providers.update(_providers(block))
        if not providers:
            problems.append(f"{rel(root)}: no required_providers block")
        for name, spec in providers.items():
            if not isinstance(spec, dict) or not spec.get("source"):
                problems.append(f"{rel(root)}: provider {name} has no source")
                continue
            version = str(spec.get("version") or "")
            if not version:
                problems.append(f"{rel(root)}: provider {name} has no version constraint")
            elif not BOUNDED.search(version):
                problems.append(f"{rel(root)}: provider {name} version {version!r} allows the next major release")
    for folder, files in modules.items():
        uses_aws = any(str(label).startswith("aws_") for _, label, _ in blocks(files, "resource"))
        providers = {}
        for _, block in _terraform_blocks(files):
            providers.update(_providers(block))
        if uses_aws and "aws" not in providers:
            problems.append(f"{rel(folder)}: uses aws resources but declares no required_providers aws (source hashicorp/aws)")
        for path, label, body in blocks(files, "module"):
            source = str(body.get("source") or "")
            if source.startswith(("./", "../")):
                continue
            if REGISTRY_SOURCE.match(source) and not BOUNDED.search(str(body.get("version") or "")):
                problems.append(f"{rel(path)}: module {label} from the registry ({source}) has no pinned version")
            elif ("git::" in source or "github.com" in source) and "?ref=" not in source:
                problems.append(f"{rel(path)}: module {label} from git ({source}) is not pinned with ?ref=")
    report(
        "rule: Terraform, every provider and every remote module are pinned to a version range with an upper bound",
        "an unpinned provider or module upgrades itself on the next `init` and a plan that "
        "passed yesterday changes or breaks today; pins move only in a reviewed commit "
        "(with .terraform.lock.hcl).",
        problems,
    )


def test_terraform_remote_state_with_locking_per_environment():
    modules = terraform_modules()
    problems = []
    keys: dict[tuple, str] = {}
    roots = root_modules()
    if len(roots) < 2:
        problems.append(f"only {len(roots)} environment(s) under infra/terraform/envs/; keep at least dev and prod apart")
    for root in roots:
        backends = []
        for _, block in _terraform_blocks(modules.get(root, [])):
            for entry in block.get("backend") or []:
                backends.extend(entry.items())
            if block.get("cloud"):
                backends.append(("cloud", block["cloud"]))
        if not backends:
            problems.append(f"{rel(root)}: no backend block, so state is a local file on whoever ran apply")
            continue
        kind, config = backends[0]
        config = config if isinstance(config, dict) else {}
        if kind == "local":
            problems.append(f"{rel(root)}: backend \"local\" is not shared nor locked")
        elif kind == "s3":
            if config.get("encrypt") is not True:
                problems.append(f"{rel(root)}: s3 backend without encrypt = true (state holds secrets)")
            if config.get("use_lockfile") is not True and not config.get("dynamodb_table"):
                problems.append(f"{rel(root)}: s3 backend without locking (use_lockfile = true, or dynamodb_table)")
            for field in ("bucket", "key", "region"):
                if not config.get(field):
                    problems.append(f"{rel(root)}: s3 backend without {field}")
            where = (kind, config.get("bucket"), config.get("key"))
            if where in keys:
                problems.append(f"{rel(root)}: shares its state ({config.get('key')}) with {keys[where]}")
            keys[where] = rel(root)
    report(
        "rule: each environment keeps its own state in a remote, encrypted backend with locking",
        "local state is lost with a laptop and cannot be shared; without a lock two applies "
        "interleave and corrupt it; two environments on one state key means planning dev can "
        "destroy prod.",
        problems,
    )


def test_terraform_variables_and_outputs_documented():
    modules = terraform_modules()
    problems = []
    for files in modules.values():
        sensitive_vars = set()
        for path, name, body in blocks(files, "variable"):
            body = body or {}
            if not body.get("type"):
                problems.append(f"{rel(path)}: variable {name} has no type")
            if not str(body.get("description") or "").strip():
                problems.append(f"{rel(path)}: variable {name} has no description")
            if body.get("sensitive") is True:
                sensitive_vars.add(name)
            elif SECRET_NAME.search(name):
                problems.append(f"{rel(path)}: variable {name} looks secret but is not sensitive = true")
        for path, name, body in blocks(files, "output"):
            body = body or {}
            if not str(body.get("description") or "").strip():
                problems.append(f"{rel(path)}: output {name} has no description")
            value = str(body.get("value") or "")
            leaks = [v for v in sensitive_vars if re.search(rf"\bvar\.{re.escape(v)}\b", value)]
            if body.get("sensitive") is not True and (leaks or SECRET_NAME.search(name) or "redis_url" in name):
                problems.append(f"{rel(path)}: output {name} exposes a secret ({', '.join(leaks) or name}) without sensitive = true")
    report(
        "rule: every variable has a type and a description, every output a description, and secrets are marked sensitive",
        "variables are the module's API: a type catches a wrong value at plan time and a "
        "description is the only documentation a caller sees; sensitive keeps secrets out of "
        "plan output and CI logs.",
        problems,
    )


def test_terraform_no_hardcoded_credentials_and_tagged():
    modules = terraform_modules()
    problems = []
    for files in modules.values():
        for path, name, body in blocks(files, "provider"):
            for field in ("access_key", "secret_key", "token", "profile"):
                if field in (body or {}):
                    problems.append(f"{rel(path)}: provider {name} sets {field}; credentials come from the environment")
        for path, name, body in blocks(files, "variable"):
            if SECRET_NAME.search(name) and "default" in (body or {}):
                problems.append(f"{rel(path)}: variable {name} has a default value; a secret must come from outside the code")
        for path, parsed in files:
            for attr_path, value in walk_values(parsed):
                text = str(value)
                if AWS_KEY_ID.search(text):
                    problems.append(f"{rel(path)}: {'.'.join(attr_path)} contains an AWS access key id")
                leaf = attr_path[-1] if attr_path else ""
                if SECRET_NAME.search(leaf) and isinstance(value, str) and value and "${" not in value:
                    problems.append(f"{rel(path)}: {'.'.join(attr_path)} is a literal secret")
    for root in root_modules():
        files = modules.get(root, [])
        aws = [body for _, name, body in blocks(files, "provider") if name == "aws"]
        if not aws:
            problems.append(f"{rel(root)}: no provider \"aws\" block")
        for body in aws:
            tags = {}
            for entry in (body or {}).get("default_tags") or []:
                if isinstance(entry, dict) and isinstance(entry.get("tags"), dict):
                    tags.update(entry["tags"])
            lowered = {str(k).lower() for k in tags}
            missing = [k for k in ("project", "environment", "managedby") if k not in lowered]
            if missing:
                problems.append(f"{rel(root)}: provider aws default_tags lack {', '.join(missing)} (has {sorted(tags)})")
    report(
        "rule: no credentials in the code, and every resource is tagged through provider default_tags",
        "a key in a .tf file is a key in git history forever; CI should assume a role with "
        "OIDC. Tags (Project, Environment, ManagedBy) are how cost reports, access policies "
        "and incident responders find what a resource belongs to.",
        problems,
    )
