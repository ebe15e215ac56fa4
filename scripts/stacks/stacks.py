#!/usr/bin/env python3
"""Build every generated Dockerfile and start every compose stack with Podman, then prove
each stack serves: health endpoints and real requests against a real Redis.

Run through scripts/stacks/run.sh, which installs Podman and configures it; see docs/stacks.md.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass, field
from email.message import Message
from pathlib import Path
from typing import Any

import yaml

HERE = Path(__file__).resolve().parent
IMAGES = HERE / "images"
STARTED = time.monotonic()
LABEL = "io.lab.stacks=1"

# The lab repositories whose stacks run: (lab, track).
STACKS = [
    ("rate-limiter", "python"),
    ("rate-limiter", "rust"),
    ("microservices", "python"),
]


class Failure(Exception):
    """A step failed; the message names the failing command."""


def log(msg: str) -> None:
    t = time.monotonic() - STARTED
    print(f"[stacks {int(t // 60):02d}:{t % 60:04.1f}] {msg}", flush=True)


def run(
    cmd: list[str],
    *,
    check: bool = True,
    quiet: bool = False,
    cwd: Path | None = None,
    timeout: float | None = None,
    show: bool = True,
) -> subprocess.CompletedProcess[str]:
    """Run a command; its output goes to the log unless quiet (then only on failure)."""
    if show:
        log("$ " + " ".join(_quote(c) for c in cmd))
    try:
        proc = subprocess.run(
            cmd,
            cwd=cwd,
            text=True,
            timeout=timeout,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
    except subprocess.TimeoutExpired as exc:
        raise Failure(f"timed out after {timeout}s: {' '.join(cmd)}") from exc
    if not quiet and proc.stdout:
        sys.stdout.write(proc.stdout)
        sys.stdout.flush()
    if check and proc.returncode != 0:
        if quiet and proc.stdout:
            sys.stdout.write(proc.stdout[-6000:])
        raise Failure(f"exit {proc.returncode}: {' '.join(_quote(c) for c in cmd)}")
    return proc


def _quote(s: str) -> str:
    return s if re.fullmatch(r"[\w@%+=:,./-]+", s) else "'" + s.replace("'", "'\\''") + "'"


def podman(*args: str, **kw: Any) -> subprocess.CompletedProcess[str]:
    return run(["podman", *args], **kw)


def image_exists(ref: str) -> bool:
    return podman("image", "exists", ref, check=False, show=False).returncode == 0


# ---------------------------------------------------------------------------------------------
# Local base images: built offline from debootstrap (plus Debian packages and, for Rust, the
# host's toolchain) where the upstream image cannot be pulled.


@dataclass
class Bases:
    work: Path
    debian: str = "localhost/stacks/debian:bookworm"
    python: str = "localhost/stacks/python:3.11-bookworm"
    redis: str = "localhost/stacks/redis:bookworm"
    rust_version: str = ""
    pulled: dict[str, bool] = field(default_factory=dict)  # upstream ref -> pullable
    said: set[str] = field(default_factory=set)
    tagged: set[str] = field(default_factory=set)

    @property
    def rust(self) -> str:
        return f"localhost/stacks/rust:{self.rust_version}-bookworm"

    def ensure_debian(self) -> str:
        if image_exists(self.debian):
            return self.debian
        cache = self.work / "cache"
        tarball = cache / "bookworm-rootfs.tar"
        if not tarball.exists():
            mirror = debian_mirror()
            rootfs, done = cache / "rootfs", cache / "rootfs.debootstrapped"
            if not done.exists():
                shutil.rmtree(rootfs, ignore_errors=True)
                cache.mkdir(parents=True, exist_ok=True)
                log(
                    "debootstrap: a minimal Debian bookworm from this machine's own apt mirror "
                    f"({mirror})"
                )
                run(
                    [
                        "debootstrap",
                        "--variant=minbase",
                        "--include=ca-certificates",
                        "bookworm",
                        str(rootfs),
                        mirror,
                    ],
                    quiet=True,
                )
                done.touch()
            # The image uses the same apt sources as this machine (main, updates, security).
            host_sources = Path("/etc/apt/sources.list.d/debian.sources")
            if host_sources.exists():
                shutil.copy(host_sources, rootfs / "etc/apt/sources.list.d/debian.sources")
                (rootfs / "etc/apt/sources.list").unlink(missing_ok=True)
            extra = host_extra_cas(rootfs)
            if extra:
                # This machine reaches the package registries through a TLS-intercepting proxy
                # whose CA only its own trust store holds: the image trusts it too, or pip, uv
                # and cargo inside builds fail certificate checks.
                for i, pem in enumerate(extra):
                    (rootfs / f"usr/local/share/ca-certificates/stacks-host-{i}.crt").write_text(
                        pem + "\n"
                    )
                run(
                    ["env", "TMPDIR=/tmp", "chroot", str(rootfs), "update-ca-certificates"],
                    quiet=True,
                )
                log(
                    f"added {len(extra)} CA certificate(s) that this machine trusts beyond "
                    "Debian's set to the image's trust store"
                )
            run(["env", "TMPDIR=/tmp", "chroot", str(rootfs), "apt-get", "clean"], quiet=True)
            run(["tar", "-C", str(rootfs), "-cf", str(tarball) + ".part", "."], quiet=True)
            os.replace(str(tarball) + ".part", tarball)
            shutil.rmtree(rootfs)
            done.unlink()
        # SSL_CERT_FILE points tools with their own root set (uv) at the system trust store.
        podman(
            "import",
            "--change",
            'CMD ["/bin/bash"]',
            "--change",
            "ENV SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt",
            str(tarball),
            self.debian,
            quiet=True,
        )
        return self.debian

    def build_local(self, ref: str, containerfile: str, context: Path, *args: str) -> str:
        # Always built: Podman's layer cache makes an unchanged stand-in a second's work, and an
        # edited Containerfile is then never shadowed by an old image of the same name.
        base = self.ensure_debian() if containerfile != "uv" else self.ensure_python()
        podman(
            "build",
            "--pull=never",
            "-f",
            str(IMAGES / f"{containerfile}.Containerfile"),
            "--build-arg",
            f"BASE={base}",
            *args,
            "-t",
            ref,
            str(context),
            quiet=True,
        )
        return ref

    def ensure_python(self) -> str:
        return self.build_local(self.python, "python", IMAGES)

    def ensure_redis(self) -> str:
        return self.build_local(self.redis, "redis", IMAGES)

    def ensure_rust(self) -> str:
        if image_exists(self.rust):
            return self.rust
        # The host's toolchain, hard-linked (or copied) into a build context: bin/ and lib/ of
        # its sysroot, without the documentation.
        sysroot = Path(run(["rustc", "--print", "sysroot"], quiet=True, show=False).stdout.strip())
        context = self.work / "cache" / "rust-context"
        shutil.rmtree(context, ignore_errors=True)
        (context / "rust" / "bin").mkdir(parents=True)
        for tool in ("cargo", "rustc"):
            _link(sysroot / "bin" / tool, context / "rust" / "bin" / tool)
        run(
            ["cp", "-al", str(sysroot / "lib"), str(context / "rust" / "lib")],
            quiet=True,
            show=False,
            check=False,
        ).returncode == 0 or run(
            ["cp", "-a", str(sysroot / "lib"), str(context / "rust" / "lib")], quiet=True
        )
        ref = self.build_local(self.rust, "rust", context)
        shutil.rmtree(context)
        return ref

    def ensure_uv(self, version: str) -> str:
        return self.build_local(
            f"localhost/stacks/uv:{version}", "uv", IMAGES, "--build-arg", f"UV_VERSION={version}"
        )

    def pullable(self, ref: str) -> bool:
        """Try the upstream image once per run; say so when it cannot be had."""
        ref = qualify(ref)
        if ref not in self.pulled:
            proc = podman("pull", "-q", ref, check=False, timeout=120, show=False, quiet=True)
            self.pulled[ref] = proc.returncode == 0
            if proc.returncode == 0:
                log(f"pulled upstream image {ref}")
            else:
                why = (proc.stdout.strip().splitlines() or ["no reason given"])[-1]
                log(f"upstream image {ref} cannot be pulled here ({why[:200]})")
        return self.pulled[ref]

    def substitute(self, ref: str) -> str | None:
        """The local image standing in for an upstream one, or None when there is none."""
        name = strip_ref(ref)
        repo, _, tag = name.partition(":")
        if repo == "python":
            local, what = self.ensure_python(), "Debian bookworm's python3 3.11 with venv and pip"
        elif repo == "rust":
            self.rust_version = self.rust_version or host_rust_version()
            local = self.ensure_rust()
            what = f"Debian bookworm with gcc and the host's rustc/cargo {self.rust_version}"
        elif repo == "debian" and tag.startswith(("bookworm", "12")):
            local, what = self.ensure_debian(), "Debian bookworm from debootstrap (minbase)"
        elif repo == "redis":
            local, what = self.ensure_redis(), "Debian bookworm's redis-server 7.0"
        elif repo in ("prom/prometheus", "quay.io/prometheus/prometheus"):
            local = self.build_local("localhost/stacks/prometheus:bookworm", "prometheus", IMAGES)
            what = "Debian bookworm's prometheus 2.42"
        elif repo in ("prom/alertmanager", "quay.io/prometheus/alertmanager"):
            local = self.build_local(
                "localhost/stacks/alertmanager:bookworm", "alertmanager", IMAGES
            )
            what = "Debian bookworm's prometheus-alertmanager 0.25"
        elif repo == "ghcr.io/astral-sh/uv" and re.fullmatch(r"\d+\.\d+\.\d+", tag):
            local, what = (
                self.ensure_uv(tag),
                f"uv {tag} from its wheel on the Python package index",
            )
        else:
            return None
        if ref not in self.said:
            self.said.add(ref)
            log(f"substitute: {ref} -> {local} ({what})")
        return local


def qualify(ref: str) -> str:
    """What Docker makes of a short name: python:3.12-slim -> docker.io/library/python:3.12-slim"""
    first = ref.split("/", 1)[0]
    if "/" in ref and ("." in first or ":" in first or first == "localhost"):
        return ref
    return f"docker.io/{ref}" if "/" in ref else f"docker.io/library/{ref}"


def strip_ref(ref: str) -> str:
    """docker.io/library/python:3.12-slim@sha256:... -> python:3.12-slim"""
    ref = ref.split("@", 1)[0]
    for prefix in ("docker.io/library/", "docker.io/", "index.docker.io/library/"):
        if ref.startswith(prefix):
            ref = ref[len(prefix) :]
    if ":" not in ref.rsplit("/", 1)[-1]:
        ref += ":latest"
    return ref


def host_rust_version() -> str:
    out = run(["rustc", "--version"], quiet=True, show=False).stdout.split()
    return out[1]


def debian_mirror() -> str:
    out = run(
        ["apt-get", "indextargets", "--format", "$(REPO_URI) $(RELEASE)"], quiet=True, show=False
    ).stdout
    for line in out.splitlines():
        uri, _, release = line.partition(" ")
        if release == "bookworm":
            return uri
    raise Failure("apt-get indextargets: this machine's apt sources name no bookworm archive")


def host_extra_cas(rootfs: Path) -> list[str]:
    """The PEM certificates in this machine's CA bundle that the new rootfs's bundle lacks."""
    pattern = re.compile(r"-----BEGIN CERTIFICATE-----.*?-----END CERTIFICATE-----", re.S)
    host = Path("/etc/ssl/certs/ca-certificates.crt")
    if not host.exists():
        return []
    have = set(pattern.findall((rootfs / "etc/ssl/certs/ca-certificates.crt").read_text()))
    return [pem for pem in pattern.findall(host.read_text()) if pem not in have]


def _link(src: Path, dst: Path) -> None:
    try:
        os.link(src.resolve(), dst)
    except OSError:
        shutil.copy2(src, dst)


# ---------------------------------------------------------------------------------------------
# Dockerfiles: which bases they name, and how to point them at local ones.


@dataclass
class BuildPlan:
    dockerfile: Path
    context: Path
    tag: str
    build_args: dict[str, str] = field(default_factory=dict)
    log_dir: Path = Path(".")


def plan_build(
    bases: Bases, dockerfile: Path, context: Path, tag: str, compose_args: dict[str, str]
) -> BuildPlan:
    """Read a Dockerfile's ARGs and FROM/COPY --from images; substitute local bases for the
    upstream ones that cannot be pulled: by build argument (ARG *_IMAGE) when the Dockerfile
    declares one, otherwise by tagging the local image under the upstream name."""
    plan = BuildPlan(dockerfile, context, tag, dict(compose_args), bases.work / "logs")
    text = re.sub(r"\\\n", " ", dockerfile.read_text())
    args: dict[str, str] = {}
    stages: set[str] = set()
    refs: list[tuple[str, str | None]] = []  # (image, ARG it came from)
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        word, _, rest = line.partition(" ")
        word = word.upper()
        if word == "ARG":
            name, _, default = rest.strip().partition("=")
            args[name.strip()] = plan.build_args.get(name.strip(), default.strip().strip('"'))
        elif word == "FROM":
            parts = [p for p in rest.split() if not p.startswith("--")]
            image = parts[0]
            if len(parts) >= 3 and parts[1].upper() == "AS":
                stages.add(parts[2].lower())
            refs.append(_resolve(image, args))
        elif word in ("COPY", "ADD"):
            m = re.search(r"--from=(\S+)", rest)
            if m and m.group(1).lower() not in stages and not m.group(1).isdigit():
                refs.append(_resolve(m.group(1), args))
    for image, arg in refs:
        if image.lower() in stages or image == "scratch" or image.startswith("localhost/"):
            continue
        if bases.pullable(image):
            continue
        local = bases.substitute(image)
        if local is None:
            raise Failure(
                f"podman build -f {dockerfile}: base image {image} cannot be pulled and "
                "has no local stand-in"
            )
        if arg is not None:
            if plan.build_args.get(arg) == local:
                continue
            plan.build_args[arg] = local
            log(
                f"  {dockerfile.name}: --build-arg {arg}={local} "
                f"(the Dockerfile declares ARG {arg})"
            )
        elif "@" in image:
            raise Failure(
                f"podman build -f {dockerfile}: FROM {image} is pinned by digest without an "
                "ARG *_IMAGE to override it, so no local image can stand in (fix: declare "
                f"`ARG SOME_IMAGE={image}` and use `FROM ${{SOME_IMAGE}}`)"
            )
        elif qualify(image) not in bases.tagged:
            bases.tagged.add(qualify(image))
            podman("tag", local, qualify(image), quiet=True)
            log(
                f"  {dockerfile.name}: no ARG *_IMAGE for {image}: the local image is tagged "
                f"under that name"
            )
    return plan


def _resolve(image: str, args: dict[str, str]) -> tuple[str, str | None]:
    m = re.fullmatch(r"\$\{?(\w+)\}?", image)
    if m:
        return args.get(m.group(1), ""), m.group(1)
    return re.sub(r"\$\{?(\w+)\}?", lambda mm: args.get(mm.group(1), ""), image), None


# ---------------------------------------------------------------------------------------------
# Compose files, run with plain podman: one network per stack (service names resolve through
# the network's DNS), services started in depends_on order, health checks driven here.


@dataclass
class Stack:
    name: str
    repo: Path
    compose_file: Path
    spec: dict[str, Any]
    images: dict[str, str] = field(default_factory=dict)  # service -> image to run
    skipped: dict[str, str] = field(default_factory=dict)  # service -> why
    healthy: set[str] = field(default_factory=set)

    @property
    def network(self) -> str:
        return f"stacks-{self.name}"

    def container(self, service: str) -> str:
        return f"stacks-{self.name}-{service}"

    def services(self) -> dict[str, dict[str, Any]]:
        services: dict[str, dict[str, Any]] = self.spec.get("services") or {}
        return services


def load_stack(name: str, repo: Path) -> Stack | None:
    for candidate in ("compose.yaml", "compose.yml", "docker-compose.yaml", "docker-compose.yml"):
        path = repo / candidate
        if path.exists():
            return Stack(name, repo, path, yaml.safe_load(path.read_text()))
    return None


def build_stack(bases: Bases, stack: Stack) -> None:
    built: set[Path] = set()
    for service, spec in stack.services().items():
        build = spec.get("build")
        if build is not None:
            if isinstance(build, str):
                build = {"context": build}
            context = (stack.repo / build.get("context", ".")).resolve()
            dockerfile = context / build.get("dockerfile", "Dockerfile")
            compose_args = build.get("args") or {}
            if isinstance(compose_args, list):
                compose_args = dict(a.split("=", 1) for a in compose_args)
            tag = f"localhost/{stack.name}-{service}:stacks"
            plan = plan_build(
                bases, dockerfile, context, tag, {k: str(v) for k, v in compose_args.items()}
            )
            build_image(plan)
            built.add(dockerfile)
            stack.images[service] = tag
        elif "image" in spec:
            image = spec["image"]
            if bases.pullable(image):
                stack.images[service] = image
                continue
            local = bases.substitute(image)
            if local is None:
                stack.skipped[service] = f"{image} cannot be pulled here and has no local stand-in"
            else:
                stack.images[service] = local
    # Dockerfiles that no compose service builds are built too, from the repository root.
    for dockerfile in sorted(stack.repo.rglob("*Dockerfile")):
        if dockerfile.resolve() in built or ".lab" in dockerfile.parts:
            continue
        tag = f"localhost/{stack.name}-{dockerfile.name.lower().replace('.dockerfile', '')}:stacks"
        build_image(plan_build(bases, dockerfile, stack.repo, tag, {}))


def build_image(plan: BuildPlan) -> None:
    args = [a for k, v in plan.build_args.items() for a in ("--build-arg", f"{k}={v}")]
    t = time.monotonic()
    # Docker's image format, not OCI's: OCI images have no HEALTHCHECK and Podman drops it.
    # The build's own output goes to a log file (its last lines to this log when it fails).
    cmd = [
        "podman",
        "build",
        "--format",
        "docker",
        "--pull=never",
        "-f",
        str(plan.dockerfile),
        *args,
        "-t",
        plan.tag,
        str(plan.context),
    ]
    log("$ " + " ".join(_quote(c) for c in cmd))
    logfile = plan.log_dir / (plan.tag.split("/")[-1].replace(":", "_") + ".log")
    logfile.parent.mkdir(parents=True, exist_ok=True)
    with logfile.open("w") as out:
        code = subprocess.run(cmd, stdout=out, stderr=subprocess.STDOUT).returncode
    lines = logfile.read_text(errors="replace").splitlines()
    steps = sum(1 for line in lines if re.match(r"(\[\d+/\d+\] )?STEP \d+/\d+", line))
    cached = sum(1 for line in lines if line.startswith("--> Using cache"))
    if code != 0:
        print("\n".join(lines[-60:]), flush=True)
        raise Failure(f"exit {code}: {' '.join(_quote(c) for c in cmd)} (full output: {logfile})")
    log(
        f"built {plan.tag} from {plan.dockerfile.relative_to(plan.context.parent)} in "
        f"{time.monotonic() - t:.0f}s ({steps} steps, {cached} from cache; output: {logfile.name})"
    )


def start_order(stack: Stack) -> list[str]:
    order: list[str] = []
    seen: set[str] = set()

    def visit(svc: str) -> None:
        if svc in seen:
            return
        seen.add(svc)
        for dep in depends_on(stack.services()[svc]):
            visit(dep)
        order.append(svc)

    for svc in stack.services():
        visit(svc)
    return order


def depends_on(spec: dict[str, Any]) -> dict[str, str]:
    deps = spec.get("depends_on") or {}
    if isinstance(deps, list):
        return {d: "service_started" for d in deps}
    return {d: (c or {}).get("condition", "service_started") for d, c in deps.items()}


def start_stack(stack: Stack) -> None:
    podman("network", "create", "--label", LABEL, stack.network, quiet=True)
    for service in start_order(stack):
        if service in stack.skipped:
            log(f"not started: {service}: {stack.skipped[service]}")
            continue
        spec = stack.services()[service]
        missing = [d for d in depends_on(spec) if d in stack.skipped]
        if missing:
            log(f"  {service} depends on {', '.join(missing)}, which is not started")
        for dep, condition in depends_on(spec).items():
            if dep in stack.skipped:
                continue
            if condition == "service_healthy":
                wait_healthy(stack, dep)
            elif condition == "service_completed_successfully":
                podman("wait", stack.container(dep), quiet=True)
        podman(*run_args(stack, service, spec), quiet=True)
        log(f"started {service} ({stack.images[service]})")


def run_args(stack: Stack, service: str, spec: dict[str, Any]) -> list[str]:
    args = [
        "run",
        "-d",
        "--name",
        stack.container(service),
        "--label",
        LABEL,
        "--network",
        stack.network,
        "--network-alias",
        service,
        "--hostname",
        service,
    ]
    for env_file in _list(spec.get("env_file")):
        path, required = (
            (env_file, True)
            if isinstance(env_file, str)
            else (env_file["path"], env_file.get("required", True))
        )
        full = stack.repo / path
        if full.exists():
            args += ["--env-file", str(full)]
        elif required:
            raise Failure(f"{stack.compose_file}: {service}: env_file {path} is missing")
    env = spec.get("environment") or {}
    if isinstance(env, list):
        env = dict(e.split("=", 1) if "=" in e else (e, os.environ.get(e, "")) for e in env)
    for key, value in env.items():
        args += ["-e", f"{key}={'' if value is None else value}"]
    for port in _list(spec.get("ports")):
        args += ["-p", str(port)]
    if spec.get("read_only"):
        args.append("--read-only")
    for tmpfs in _list(spec.get("tmpfs")):
        args += ["--tmpfs", tmpfs]
    for volume in _list(spec.get("volumes")):
        args += ["-v", mount(stack, volume)]
    secrets = stack.spec.get("secrets") or {}
    for secret in _list(spec.get("secrets")):
        name = secret if isinstance(secret, str) else secret["source"]
        target = (
            f"/run/secrets/{name}"
            if isinstance(secret, str)
            else secret.get("target", f"/run/secrets/{name}")
        )
        source = (stack.repo / secrets[name]["file"]).resolve()
        args += ["-v", f"{source}:{target}:ro"]
    hc = spec.get("healthcheck")
    if hc:
        test = hc.get("test")
        if test:
            if isinstance(test, list) and test[0] == "CMD":
                args += ["--health-cmd", json.dumps(test[1:])]
            elif isinstance(test, list) and test[0] == "CMD-SHELL":
                args += ["--health-cmd", test[1]]
            elif isinstance(test, str):
                args += ["--health-cmd", test]
        for key, flag in (
            ("interval", "--health-interval"),
            ("timeout", "--health-timeout"),
            ("retries", "--health-retries"),
            ("start_period", "--health-start-period"),
        ):
            if key in hc:
                args += [flag, str(hc[key])]
    if spec.get("user"):
        args += ["--user", str(spec["user"])]
    args.append(stack.images[service])
    command = spec.get("command")
    if isinstance(command, str):
        args += ["sh", "-c", command]
    elif command:
        args += [str(c) for c in command]
    return args


def mount(stack: Stack, volume: str | dict[str, Any]) -> str:
    if isinstance(volume, dict):
        source, target = volume.get("source", ""), volume["target"]
        opts = ":ro" if volume.get("read_only") else ""
    else:
        source, _, rest = volume.partition(":")
        target, _, mode = rest.partition(":")
        opts = f":{mode}" if mode else ""
    if source.startswith((".", "/")):
        source = str((stack.repo / source).resolve())
    else:  # a named volume, scoped to this stack
        source = f"stacks-{stack.name}_{source}"
    return f"{source}:{target}{opts}"


def _list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def has_healthcheck(stack: Stack, service: str) -> bool:
    proc = podman(
        "inspect",
        "--format",
        "{{json .Config.Healthcheck}}",
        stack.container(service),
        quiet=True,
        show=False,
    )
    return proc.stdout.strip() not in ("", "null", "<nil>", "{}")


def wait_healthy(stack: Stack, service: str, timeout: float = 90) -> None:
    """Podman here has no systemd to run health checks on their own timer, so run the
    container's health check until it passes (what compose's service_healthy waits for)."""
    deadline = time.monotonic() + timeout
    tries = 0
    while True:
        tries += 1
        proc = podman(
            "healthcheck", "run", stack.container(service), check=False, quiet=True, show=False
        )
        if proc.returncode == 0:
            stack.healthy.add(service)
            log(f"healthy: {service} (its health check passed, try {tries})")
            return
        state = podman(
            "inspect",
            "--format",
            "{{.State.Status}}",
            stack.container(service),
            check=False,
            quiet=True,
            show=False,
        ).stdout.strip()
        if state != "running" or time.monotonic() > deadline:
            podman("logs", "--tail", "40", stack.container(service), check=False)
            raise Failure(
                f"podman healthcheck run {stack.container(service)}: not healthy "
                f"after {tries} tries (container {state})"
            )
        time.sleep(1)


def teardown(stack: Stack) -> None:
    ids = podman(
        "ps", "-aq", "--filter", f"network={stack.network}", check=False, quiet=True, show=False
    ).stdout.split()
    if ids:
        podman("rm", "-f", "-t", "2", *ids, check=False, quiet=True)
    podman("network", "rm", "-f", stack.network, check=False, quiet=True)
    vols = podman(
        "volume",
        "ls",
        "-q",
        "--filter",
        f"name=stacks-{stack.name}_",
        check=False,
        quiet=True,
        show=False,
    ).stdout.split()
    if vols:
        podman("volume", "rm", "-f", *vols, check=False, quiet=True)


# ---------------------------------------------------------------------------------------------
# Real requests.


def http(
    method: str,
    url: str,
    body: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
    expect: tuple[int, ...] = (200,),
) -> tuple[int, Message, Any]:
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method, headers=dict(headers or {}))
    if data is not None:
        req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            status, hdrs, raw = resp.status, resp.headers, resp.read()
    except urllib.error.HTTPError as exc:
        status, hdrs, raw = exc.code, exc.headers, exc.read()
    except OSError as exc:
        raise Failure(f"{method} {url}: {exc}") from exc
    try:
        payload: Any = json.loads(raw) if raw else None
    except ValueError:
        payload = raw.decode(errors="replace")[:200]
    shown = (json.dumps(payload) if not isinstance(payload, str) else payload)[:120]
    log(f"  {method} {url} -> {status} {shown}")
    if status not in expect:
        raise Failure(f"{method} {url}: HTTP {status}, expected {' or '.join(map(str, expect))}")
    return status, hdrs, payload


def wait_http(url: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=3):
                return
        except urllib.error.HTTPError:
            return
        except OSError:
            if time.monotonic() > deadline:
                raise Failure(f"GET {url}: nothing answers after {timeout:.0f}s") from None
            time.sleep(0.5)


def published(stack: Stack, service: str, port: int) -> str:
    out = podman("port", stack.container(service), f"{port}/tcp", quiet=True, show=False).stdout
    hostport = out.strip().splitlines()[0]
    host, _, p = hostport.rpartition(":")
    host = "127.0.0.1" if host in ("0.0.0.0", "", "[::]") else host
    return f"http://{host}:{p}"


def redis_cli(stack: Stack, *args: str) -> str:
    return podman("exec", stack.container("redis"), "redis-cli", *args, quiet=True).stdout.strip()


def check_rate_limiter(stack: Stack) -> None:
    base = published(stack, "app", 8000)
    wait_http(base + "/livez")
    http("GET", base + "/livez")
    http("GET", base + "/readyz")
    user = f"stacks-{uuid.uuid4().hex[:8]}"
    password = "correct horse battery staple"
    http("POST", base + "/auth/register", {"username": user, "password": password}, expect=(201,))
    _, _, tokens = http("POST", base + "/auth/login", {"username": user, "password": password})
    access = tokens["access_token"] if isinstance(tokens, dict) else None
    if not access:
        raise Failure(f"POST {base}/auth/login: no access_token in the answer")
    _, _, me = http("GET", base + "/api/me", headers={"Authorization": f"Bearer {access}"})
    if not isinstance(me, dict) or me.get("username") != user:
        raise Failure(f"GET {base}/api/me: answered {me!r}, expected username {user}")
    # Rate-limited requests until the limiter says no: the counters live in the real Redis.
    denied = None
    for i in range(1, 301):
        status, hdrs, _ = (
            http("GET", base + "/api/ping", expect=(200, 429))
            if i == 1
            else _quiet_get(base + "/api/ping")
        )
        if status == 429:
            denied = (i, hdrs.get("Retry-After"))
            break
    if denied is None:
        raise Failure(f"GET {base}/api/ping: 300 requests and none was limited (429)")
    log(f"  GET {base}/api/ping -> 429 at request {denied[0]} (Retry-After: {denied[1]})")
    keys = redis_cli(stack, "--scan")
    if not keys:
        raise Failure(
            "redis-cli --scan in the redis container: no keys, so the limiter does not "
            "use this Redis"
        )
    log(
        f"  redis-cli --scan (redis container) -> {len(keys.splitlines())} key(s), e.g. "
        f"{keys.splitlines()[0]}"
    )


def _quiet_get(url: str) -> tuple[int, Message, None]:
    try:
        with urllib.request.urlopen(url, timeout=10) as resp:
            return resp.status, resp.headers, None
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers, None


def check_microservices(stack: Stack) -> None:
    urls = {svc: published(stack, svc, 8000) for svc in ("users", "payments", "notifications")}
    for base in urls.values():
        wait_http(base + "/healthz")
        http("GET", base + "/healthz")
        http("GET", base + "/readyz")
    email = f"stacks-{uuid.uuid4().hex[:8]}@example.com"
    _, _, user = http(
        "POST", urls["users"] + "/users", {"email": email, "name": "Stacks Check"}, expect=(201,)
    )
    user_id = user["id"]
    http("GET", f"{urls['users']}/users/{user_id}")
    payment = {"user_id": user_id, "amount_cents": 1250, "currency": "EUR"}
    key = {"Idempotency-Key": f"stacks-{uuid.uuid4().hex}"}
    _, _, paid = http("POST", urls["payments"] + "/payments", payment, headers=key, expect=(201,))
    _, hdrs, again = http(
        "POST", urls["payments"] + "/payments", payment, headers=key, expect=(201,)
    )
    if again != paid or hdrs.get("Idempotent-Replayed") != "true":
        raise Failure(
            f"POST {urls['payments']}/payments: the same Idempotency-Key did not "
            "replay the first answer"
        )
    log("  the second POST with the same Idempotency-Key replayed the first payment")
    deadline = time.monotonic() + 30
    while True:
        _, _, notes = http("GET", f"{urls['notifications']}/notifications?user_id={user_id}")
        items = notes.get("items", []) if isinstance(notes, dict) else []
        if any(paid["id"] in json.dumps(item) for item in items):
            log(f"  the notification worker handled payment {paid['id']} from the Redis stream")
            break
        if time.monotonic() > deadline:
            raise Failure(
                f"GET {urls['notifications']}/notifications?user_id={user_id}: no "
                f"notification for payment {paid['id']} after 30s"
            )
        time.sleep(1)
    if len(items) != 1:
        raise Failure(
            f"notifications for user {user_id}: {len(items)}, expected exactly 1 "
            "(the replayed payment must not notify twice)"
        )
    if "prometheus" in stack.images:
        check_prometheus(stack, expect_up=3)
    if "alertmanager" in stack.images:
        base = published(stack, "alertmanager", 9093)
        wait_http(base + "/-/ready")
        http("GET", base + "/-/ready")


def check_prometheus(stack: Stack, expect_up: int) -> None:
    """Prometheus is ready, has loaded its alerting rules, and scrapes every service."""
    base = published(stack, "prometheus", 9090)
    wait_http(base + "/-/ready")
    http("GET", base + "/-/ready")
    _, _, rules = http("GET", base + "/api/v1/rules")
    groups = rules["data"]["groups"]
    count = sum(len(g["rules"]) for g in groups)
    if not count:
        raise Failure(f"GET {base}/api/v1/rules: no rules loaded")
    log(f"  Prometheus loaded {count} rule(s) in {len(groups)} group(s)")
    query = base + "/api/v1/query?query=up"
    deadline = time.monotonic() + 60
    while True:
        _, _, answer = http("GET", query)
        up = [r["metric"].get("instance") for r in answer["data"]["result"] if r["value"][1] == "1"]
        if len(up) >= expect_up:
            log(f"  Prometheus scrapes {', '.join(sorted(up))}: up")
            return
        if time.monotonic() > deadline:
            raise Failure(f"GET {query}: {len(up)} target(s) up after 60s, expected {expect_up}")
        time.sleep(3)


CHECKS = {"rate-limiter": check_rate_limiter, "microservices": check_microservices}


# ---------------------------------------------------------------------------------------------


def render(lab_bin: Path, lab: str, track: str, dest: Path) -> None:
    shutil.rmtree(dest, ignore_errors=True)
    run([str(lab_bin), "dev", "solve", lab, str(dest), "--track", track], quiet=True)
    makefile = dest / "Makefile"
    if makefile.exists() and re.search(r"^key:", makefile.read_text(), re.M):
        # The Rust track's compose file reads a signing key that `make key` writes.
        run(["make", "-C", str(dest), "key"], quiet=True)
        for pem in (dest / "data").glob("*.pem"):
            pem.chmod(0o644)  # mounted into a container that runs as a non-root user


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--work", type=Path, required=True)
    parser.add_argument("--lab-bin", type=Path, required=True)
    parser.add_argument(
        "--only", action="append", default=[], help="lab/track to run (repeatable); all when absent"
    )
    opts = parser.parse_args()
    work = opts.work.resolve()
    bases = Bases(work)
    stacks: list[Stack] = []
    results: list[str] = []

    def on_signal(signum: int, _frame: object) -> None:
        raise Failure(f"interrupted by signal {signum}")

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    failed = False
    try:
        for lab, track in STACKS:
            if opts.only and f"{lab}/{track}" not in opts.only:
                continue
            name = f"{lab}-{track}"
            t0 = time.monotonic()
            log(f"== {lab} ({track} track): render the reference solution")
            repo = work / "repos" / name
            render(opts.lab_bin, lab, track, repo)
            stack = load_stack(name, repo)
            if stack is None:
                raise Failure(f"{repo}: no compose file")
            stacks.append(stack)
            log(f"== {name}: build")
            build_stack(bases, stack)
            t1 = time.monotonic()
            log(f"== {name}: start")
            teardown(stack)
            start_stack(stack)
            for service in stack.images:
                if service not in stack.healthy and has_healthcheck(stack, service):
                    wait_healthy(stack, service)
            log(f"== {name}: requests")
            CHECKS[lab](stack)
            teardown(stack)
            log(
                f"== {name}: served (build {t1 - t0:.0f}s, run and checks "
                f"{time.monotonic() - t1:.0f}s); stopped"
            )
            skipped = "".join(f"; not started: {s} ({why})" for s, why in stack.skipped.items())
            results.append(f"{name}: served{skipped}")
        if not stacks:
            raise Failure(f"--only {' '.join(opts.only)}: no such lab/track among {STACKS}")
    except Failure as exc:
        failed = True
        log(f"FAILED: {exc}")
    finally:
        for stack in stacks:
            teardown(stack)
    for line in results:
        log(line)
    log(f"{'FAILED' if failed else 'all stacks served'} in {time.monotonic() - STARTED:.0f}s")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
