"""Stage `terraform`: infrastructure as code a reviewer would accept. Terraform itself is not
available to the suite, so the HCL is parsed (python-hcl2) and checked statically."""

from __future__ import annotations

import re

from infrakit import (
    SECRET_NAME,
    blocks,
    parse_tf,
    root_modules,
    terraform_dir,
    terraform_modules,
    walk_values,
)
from labkit import rel, report

BOUNDED = re.compile(r"(~>|<|^\s*=?\s*v?\d+\.\d+\.\d+\s*$)")
REGISTRY_SOURCE = re.compile(r"^[\w-]+/[\w-]+/[\w-]+$")
AWS_KEY_ID = re.compile(r"\b(AKIA|ASIA)[0-9A-Z]{16}\b")
WORLD = {"0.0.0.0/0", "::/0"}
MODULES = ("network", "cluster", "registry", "cache")
REFERENCE = re.compile(r"\$\{(var|local)\.([A-Za-z_][\w-]*)\}")
LONG_LIVED_CREDENTIALS = {"aws_iam_access_key", "aws_iam_user_login_profile"}


def tfvars_files() -> list:
    return sorted(p for p in terraform_dir().rglob("*.tfvars") if ".terraform" not in p.parts)


class Scope:
    """What `var.x` and `local.x` mean in one module: variable defaults, then (for a root
    module) its *.tfvars, and its locals."""

    def __init__(self, folder, files):
        self.variables, self.locals = {}, {}
        for _, name, body in blocks(files, "variable"):
            if "default" in (body or {}):
                self.variables[name] = body["default"]
        for path in sorted(folder.glob("*.tfvars")):
            self.variables.update(parse_tf(path))
        for _, parsed in files:
            for entry in parsed.get("locals") or []:
                self.locals.update(entry)

    def resolve(self, value, depth: int = 6):
        """The value with var. and local. references replaced where they are known."""
        if isinstance(value, list):
            return [self.resolve(v, depth) for v in value]
        if not isinstance(value, str) or depth == 0:
            return value
        whole = REFERENCE.fullmatch(value)
        if whole:
            table = self.variables if whole.group(1) == "var" else self.locals
            return (
                self.resolve(table[whole.group(2)], depth - 1) if whole.group(2) in table else value
            )

        def piece(match):
            table = self.variables if match.group(1) == "var" else self.locals
            known = table.get(match.group(2))
            return (
                str(self.resolve(known, depth - 1))
                if isinstance(known, (str, int, float))
                else match.group(0)
            )

        return REFERENCE.sub(piece, value)

    def world(self, value) -> list:
        """The addresses in `value` that mean 'the whole internet'."""
        return [v for v in flat(self.resolve(value)) if v in WORLD]


def flat(value) -> list:
    if isinstance(value, list):
        return [x for v in value for x in flat(v)]
    return [value]


def resources(files, kind: str):
    """Yield (file, name, body) for every `resource "<kind>" "<name>"` block."""
    for path, parsed in files:
        for entry in parsed.get("resource") or []:
            for label, named in entry.items():
                if label == kind and isinstance(named, dict):
                    for name, body in named.items():
                        yield path, name, body or {}


def first_block(body: dict, name: str) -> dict:
    found = body.get(name) or []
    found = found if isinstance(found, list) else [found]
    return found[0] if found and isinstance(found[0], dict) else {}


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
            problems.append(
                f"{rel(root)}: required_version {required[0]!r} has no upper bound (use ~> or < x)"
            )
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
                problems.append(
                    f"{rel(root)}: provider {name} version {version!r} allows the next major "
                    "release"
                )
    for folder, files in modules.items():
        uses_aws = any(str(label).startswith("aws_") for _, label, _ in blocks(files, "resource"))
        providers = {}
        for _, block in _terraform_blocks(files):
            providers.update(_providers(block))
        if uses_aws and "aws" not in providers:
            problems.append(
                f"{rel(folder)}: uses aws resources but declares no required_providers aws (source "
                "hashicorp/aws)"
            )
        for path, label, body in blocks(files, "module"):
            source = str(body.get("source") or "")
            if source.startswith(("./", "../")):
                continue
            if REGISTRY_SOURCE.match(source) and not BOUNDED.search(str(body.get("version") or "")):
                problems.append(
                    f"{rel(path)}: module {label} from the registry ({source}) has no pinned "
                    "version"
                )
            elif ("git::" in source or "github.com" in source) and "?ref=" not in source:
                problems.append(
                    f"{rel(path)}: module {label} from git ({source}) is not pinned with ?ref="
                )
    report(
        "rule: Terraform, every provider and every remote module are pinned to a version range "
        "with an upper bound",
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
        problems.append(
            f"only {len(roots)} environment(s) under infra/terraform/envs/; keep at least dev and "
            "prod apart"
        )
    for root in roots:
        backends = []
        for _, block in _terraform_blocks(modules.get(root, [])):
            for entry in block.get("backend") or []:
                backends.extend(entry.items())
            if block.get("cloud"):
                backends.append(("cloud", block["cloud"]))
        if not backends:
            problems.append(
                f"{rel(root)}: no backend block, so state is a local file on whoever ran apply"
            )
            continue
        kind, config = backends[0]
        config = config if isinstance(config, dict) else {}
        if kind == "local":
            problems.append(f'{rel(root)}: backend "local" is not shared nor locked')
        elif kind == "s3":
            if config.get("encrypt") is not True:
                problems.append(
                    f"{rel(root)}: s3 backend without encrypt = true (state holds secrets)"
                )
            if config.get("use_lockfile") is not True and not config.get("dynamodb_table"):
                problems.append(
                    f"{rel(root)}: s3 backend without locking (use_lockfile = true, or "
                    "dynamodb_table)"
                )
            for field in ("bucket", "key", "region"):
                if not config.get(field):
                    problems.append(f"{rel(root)}: s3 backend without {field}")
            where = (kind, config.get("bucket"), config.get("key"))
            if where in keys:
                problems.append(
                    f"{rel(root)}: shares its state ({config.get('key')}) with {keys[where]}"
                )
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
                problems.append(
                    f"{rel(path)}: variable {name} looks secret but is not sensitive = true"
                )
        for path, name, body in blocks(files, "output"):
            body = body or {}
            if not str(body.get("description") or "").strip():
                problems.append(f"{rel(path)}: output {name} has no description")
            value = str(body.get("value") or "")
            leaks = [v for v in sensitive_vars if re.search(rf"\bvar\.{re.escape(v)}\b", value)]
            if body.get("sensitive") is not True and (
                leaks or SECRET_NAME.search(name) or "redis_url" in name
            ):
                problems.append(
                    f"{rel(path)}: output {name} exposes a secret ({', '.join(leaks) or name}) "
                    "without sensitive = true"
                )
    report(
        "rule: every variable has a type and a description, every output a description, and "
        "secrets are marked sensitive",
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
                    problems.append(
                        f"{rel(path)}: provider {name} sets {field}; credentials come from the "
                        "environment"
                    )
        for path, name, body in blocks(files, "variable"):
            if SECRET_NAME.search(name) and "default" in (body or {}):
                problems.append(
                    f"{rel(path)}: variable {name} has a default value; a secret must come from "
                    "outside the code"
                )
        for path, parsed in files:
            for attr_path, value in walk_values(parsed):
                text = str(value)
                if AWS_KEY_ID.search(text):
                    problems.append(
                        f"{rel(path)}: {'.'.join(attr_path)} contains an AWS access key id"
                    )
                leaf = attr_path[-1] if attr_path else ""
                if (
                    SECRET_NAME.search(leaf)
                    and isinstance(value, str)
                    and value
                    and "${" not in value
                ):
                    problems.append(f"{rel(path)}: {'.'.join(attr_path)} is a literal secret")
    for path in tfvars_files():
        for key, value in parse_tf(path).items():
            literal = [v for v in flat(value) if isinstance(v, str) and v and "${" not in v]
            if SECRET_NAME.search(str(key)) and literal:
                problems.append(
                    f"{rel(path)}: {key} is set in a committed tfvars file; pass secrets as "
                    f"TF_VAR_{key} from a secret store"
                )
            if any(AWS_KEY_ID.search(v) for v in literal):
                problems.append(f"{rel(path)}: {key} contains an AWS access key id")
    for root in root_modules():
        files = modules.get(root, [])
        scope = Scope(root, files)
        aws = [body for _, name, body in blocks(files, "provider") if name == "aws"]
        if not aws:
            problems.append(f'{rel(root)}: no provider "aws" block')
        for body in aws:
            tags = {}
            for entry in (body or {}).get("default_tags") or []:
                if isinstance(entry, dict) and isinstance(entry.get("tags"), dict):
                    tags.update(entry["tags"])
            lowered = {str(k).lower(): v for k, v in tags.items()}
            missing = [k for k in ("project", "environment", "managedby") if k not in lowered]
            if missing:
                problems.append(
                    f"{rel(root)}: provider aws default_tags lack {', '.join(missing)} (has "
                    f"{sorted(tags)})"
                )
            environment = scope.resolve(lowered.get("environment"))
            if (
                isinstance(environment, str)
                and "${" not in environment
                and environment != root.name
            ):
                problems.append(
                    f"{rel(root)}: default_tags say Environment = {environment!r} in the "
                    f"{root.name} environment"
                )
    report(
        "rule: no credentials in the code or in committed tfvars, and every resource is tagged "
        "through provider default_tags with its own environment",
        "a key in a .tf file is a key in git history forever; CI should assume a role with "
        "OIDC. Tags (Project, Environment, ManagedBy) are how cost reports, access policies "
        "and incident responders find what a resource belongs to.",
        problems,
    )


def test_terraform_environments_compose_the_modules():
    modules = terraform_modules()
    problems = []
    roots = root_modules()
    missing_envs = sorted({"dev", "prod"} - {r.name for r in roots})
    if missing_envs:
        problems.append(
            f"no environment folder for {', '.join(missing_envs)} under infra/terraform/envs/"
        )
    for name in MODULES:
        folder = terraform_dir() / "modules" / name
        if not any(folder.glob("*.tf")):
            problems.append(f"infra/terraform/modules/{name}/ has no .tf files")
    for root in roots:
        used = {}
        for _, label, body in blocks(modules.get(root, []), "module"):
            source = str((body or {}).get("source") or "")
            if source.startswith(("./", "../")):
                used[(root / source).resolve()] = label
        for name in MODULES:
            if (terraform_dir() / "modules" / name).resolve() not in used:
                problems.append(
                    f"{rel(root)}: no module block uses modules/{name} (local modules used: "
                    f"{sorted(used.values())})"
                )
    report(
        "rule: each environment (dev and prod) is a root module composing the same local network, "
        "cluster, registry and cache modules",
        "environments that share modules differ only in their inputs, so what was tried in dev "
        "is what prod gets; an environment that builds a piece by hand or skips it drifts.",
        problems,
    )


def test_terraform_nothing_public_and_data_encrypted():
    modules = terraform_modules()
    problems = []
    found = {"aws_eks_cluster": 0, "redis": 0, "aws_ecr_repository": 0}
    for folder, files in modules.items():
        world = Scope(folder, files).world

        for kind in LONG_LIVED_CREDENTIALS:
            for path, name, _ in resources(files, kind):
                problems.append(
                    f"{rel(path)}: {kind}.{name} creates long-lived credentials; CI assumes a role "
                    "with OIDC"
                )
        for path, name, body in resources(files, "aws_eks_cluster"):
            found["aws_eks_cluster"] += 1
            vpc = first_block(body, "vpc_config")
            if vpc.get("endpoint_private_access") is not True:
                problems.append(
                    f"{rel(path)}: aws_eks_cluster.{name} has no private API endpoint "
                    "(endpoint_private_access = true)"
                )
            public = vpc.get("endpoint_public_access", True)
            if public is not False:
                if "public_access_cidrs" not in vpc:
                    problems.append(
                        f"{rel(path)}: aws_eks_cluster.{name} can expose its API endpoint publicly "
                        "(endpoint_public_access "
                        f"is {public!r}, true by default) with no public_access_cidrs, which then "
                        "means 0.0.0.0/0"
                    )
                elif world(vpc.get("public_access_cidrs")):
                    problems.append(
                        f"{rel(path)}: aws_eks_cluster.{name} opens its API endpoint to "
                        f"{world(vpc.get('public_access_cidrs'))}"
                    )
        for path, name, body in resources(files, "aws_security_group"):
            for rule in body.get("ingress") or []:
                open_to = world((rule or {}).get("cidr_blocks")) + world(
                    (rule or {}).get("ipv6_cidr_blocks")
                )
                if open_to:
                    problems.append(
                        f"{rel(path)}: aws_security_group.{name} admits {open_to} (the whole "
                        "internet)"
                    )
        for path, name, body in resources(files, "aws_security_group_rule"):
            if body.get("type") == "ingress":
                open_to = world(body.get("cidr_blocks")) + world(body.get("ipv6_cidr_blocks"))
                if open_to:
                    problems.append(f"{rel(path)}: aws_security_group_rule.{name} admits {open_to}")
        for path, name, body in resources(files, "aws_vpc_security_group_ingress_rule"):
            open_to = world(body.get("cidr_ipv4")) + world(body.get("cidr_ipv6"))
            if open_to:
                problems.append(
                    f"{rel(path)}: aws_vpc_security_group_ingress_rule.{name} admits {open_to}"
                )
        for path, label, body in blocks(files, "module"):
            for arg, value in (body or {}).items():
                if "cidr" in arg and world(value):
                    problems.append(
                        f"{rel(path)}: module {label} gets {arg} = {world(value)}, which lets in "
                        "the whole internet"
                    )
        for path, name, body in resources(files, "aws_elasticache_replication_group"):
            found["redis"] += 1
            for flag in ("at_rest_encryption_enabled", "transit_encryption_enabled"):
                if body.get(flag) is not True:
                    problems.append(
                        f"{rel(path)}: aws_elasticache_replication_group.{name} without {flag} = "
                        "true"
                    )
            if not body.get("auth_token"):
                problems.append(
                    f"{rel(path)}: aws_elasticache_replication_group.{name} without auth_token: "
                    "anyone who reaches it can read every event"
                )
        # A serverless cache is always encrypted at rest and in transit.
        found["redis"] += len(list(resources(files, "aws_elasticache_serverless_cache")))
        for path, name, body in resources(files, "aws_elasticache_cluster"):
            if not body.get("replication_group_id"):
                problems.append(
                    f"{rel(path)}: aws_elasticache_cluster.{name} is a single-node Redis without "
                    "encryption at rest; use a replication group"
                )
        for path, name, body in resources(files, "aws_ecr_repository"):
            found["aws_ecr_repository"] += 1
            if str(body.get("image_tag_mutability", "MUTABLE")).upper() != "IMMUTABLE":
                problems.append(
                    f"{rel(path)}: aws_ecr_repository.{name} allows tags to be overwritten (set "
                    'image_tag_mutability = "IMMUTABLE")'
                )
            if first_block(body, "image_scanning_configuration").get("scan_on_push") is not True:
                problems.append(
                    f"{rel(path)}: aws_ecr_repository.{name} does not scan images on push"
                )
    for kind, count in found.items():
        if not count:
            what = "an ElastiCache replication group for Redis" if kind == "redis" else f"an {kind}"
            problems.append(f"no module defines {what}")
    report(
        "rule: nothing is reachable from the internet that should not be (private or allow-listed "
        "API endpoint, no security group open to 0.0.0.0/0), Redis is encrypted at rest and in "
        "transit behind an AUTH token, image tags are immutable and scanned, and no IAM user keys "
        "exist",
        "a cluster API or a Redis port open to the internet is scanned within minutes; "
        "unencrypted Redis carries payment events in clear text; a tag that can be overwritten "
        "means a deployed SHA may not be the image you tested; an access key lives until someone "
        "remembers to revoke it.",
        problems,
    )
