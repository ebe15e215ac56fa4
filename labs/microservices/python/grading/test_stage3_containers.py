"""Stage `containers`: production images and hardened, available Kubernetes workloads."""

from __future__ import annotations

import re

from infrakit import (
    SERVICES,
    containers,
    dockerfiles,
    manifest_files,
    manifests,
    name_of,
    namespace_of,
    parse_dockerfile,
    pod_labels,
    pod_spec,
    selector_matches,
    workloads,
)
from labkit import rel, report, require_tool, run_tool, workspace

PINNED_TAG = re.compile(r"\d+\.\d+\.\d+")
SECRET_ENV = re.compile(
    r"(PASSWORD|PASSWD|SECRET|TOKEN|API_KEY|PRIVATE_KEY|CREDENTIAL|REDIS_URL|DATABASE_URL)",
    re.IGNORECASE,
)
CREDENTIALS_IN_URL = re.compile(r"://[^/\s:@]*:[^/\s@]+@")
DIGEST = re.compile(r"@sha256:[0-9a-f]{64}$")
UV_SYNC = re.compile(r"\buv\s+sync\b")
LOCKED = re.compile(r"\buv\s+sync\b[^;&|]*\s--(locked|frozen)\b")


QUANTITY = re.compile(r"^([+-]?\d+(?:\.\d+)?)(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E)?$")
SCALE = {
    None: 1,
    "n": 1e-9,
    "u": 1e-6,
    "m": 1e-3,
    "k": 1e3,
    "M": 1e6,
    "G": 1e9,
    "T": 1e12,
    "P": 1e15,
    "E": 1e18,
    "Ki": 2**10,
    "Mi": 2**20,
    "Gi": 2**30,
    "Ti": 2**40,
    "Pi": 2**50,
    "Ei": 2**60,
}
# Volume types the Pod Security Standards 'restricted' profile allows.
RESTRICTED_VOLUMES = {
    "configMap",
    "csi",
    "downwardAPI",
    "emptyDir",
    "ephemeral",
    "persistentVolumeClaim",
    "projected",
    "secret",
}
WORLD = ("0.0.0.0/0", "::/0")


def quantity(value) -> float | None:
    """A Kubernetes resource quantity (250m, 128Mi, 1.5, 2G) as a number, or None."""
    match = QUANTITY.match(str(value).strip())
    return float(match.group(1)) * SCALE[match.group(2)] if match else None


def probe_problems(where: str, container: dict) -> list[str]:
    """Readiness must ask /readyz (depends on Redis), liveness /healthz (does not), on a port
    the container exposes."""
    problems = []
    ports = container.get("ports") or []
    names = {p.get("name") for p in ports if p.get("name")}
    numbers = {p.get("containerPort") for p in ports}
    expected = {"readinessProbe": "/readyz", "livenessProbe": "/healthz"}
    for kind, path in expected.items():
        probe = container.get(kind) or {}
        if not probe:
            continue
        http = probe.get("httpGet")
        if not http:
            problems.append(
                f"{where}: {kind} is not an httpGet on {path}; only the HTTP endpoint knows "
                "whether the service can serve"
            )
            continue
        if http.get("path") != path:
            why = (
                "the endpoint that checks Redis, so a pod that cannot serve leaves the Service"
                if kind == "readinessProbe"
                else (
                    "the endpoint that does not depend on Redis, so a Redis outage "
                    "does not restart every pod"
                )
            )
            problems.append(f"{where}: {kind} asks {http.get('path')!r}; it must ask {path}, {why}")
        port = http.get("port")
        if port not in names and port not in numbers:
            problems.append(
                f"{where}: {kind} port {port!r} is not a port of the container "
                f"({sorted(map(str, names | numbers))})"
            )
    return problems


def image_is_pinned(image: str) -> bool:
    if "@sha256:" in image:
        return True
    last = image.rsplit("/", 1)[-1]
    if ":" not in last:
        return False
    tag = last.split(":", 1)[1]
    return tag != "latest" and bool(PINNED_TAG.search(tag) or re.fullmatch(r"[0-9a-f]{7,40}", tag))


def test_dockerfiles_pass_hadolint(tmp_path):
    hadolint = require_tool("hadolint")
    files = dockerfiles()
    # Run from an empty folder so no repository .hadolint.yaml can switch rules off.
    code, output = run_tool(
        [hadolint, "--no-color", "--failure-threshold", "warning", *map(str, files)], cwd=tmp_path
    )
    if code != 0:
        report(
            "rule: Dockerfiles pass hadolint at warning level",
            "hadolint encodes Docker's best practices (pinned versions, --no-cache-dir, one "
            "process per container, exec-form CMD); its warnings are real defects in images.",
            output.splitlines() or [f"hadolint exited {code}"],
        )


def test_dockerfiles_multistage_pinned_nonroot_with_healthcheck():
    problems = []
    for path in dockerfiles():
        stages = parse_dockerfile(path)
        name = rel(path)
        if len(stages) < 2:
            problems.append(
                f"{name}: one stage only; build in one stage and copy the result into a clean "
                "runtime stage"
            )
            if not stages:
                continue
        aliases = {s.alias for s in stages if s.alias}
        for stage in stages:
            if stage.base in aliases or stage.base == "scratch":
                continue
            if not DIGEST.search(stage.base):
                problems.append(
                    f"{name}: FROM {stage.base} is not pinned by digest (image:tag@sha256:...); "
                    "even an x.y.z tag "
                    "is rebuilt for OS updates, so only a digest names one image"
                )
        syncs = [
            arg
            for stage in stages
            for word, arg in stage.instructions
            if word == "RUN" and UV_SYNC.search(arg)
        ]
        if not syncs:
            problems.append(f"{name}: no `uv sync` installs the dependencies from uv.lock")
        for arg in syncs:
            if not LOCKED.search(arg):
                command = UV_SYNC.search(arg).group(0)
                problems.append(
                    f"{name}: `{command}...` runs without --locked (or --frozen), so it may "
                    "resolve anew instead of installing uv.lock"
                )
        final = stages[-1]
        users = [arg for word, arg in final.instructions if word == "USER"]
        if not users:
            problems.append(f"{name}: the final stage has no USER, so the service runs as root")
        elif users[-1].split(":")[0].strip() in ("root", "0"):
            problems.append(f"{name}: the final stage's last USER is {users[-1]!r}, which is root")
        checks = [arg for word, arg in final.instructions if word == "HEALTHCHECK"]
        if not checks or checks[-1].strip().upper() == "NONE":
            problems.append(f"{name}: the final stage has no HEALTHCHECK")
    report(
        "rule: images are multi-stage, built from uv.lock (`uv sync --locked`) on bases pinned by "
        "digest, run as a non-root USER and carry a HEALTHCHECK",
        "a second stage keeps uv, caches and sources out of what ships; a floating base tag or "
        "an unlocked sync rebuilds into a different image; root in a container is one kernel "
        "bug away from root on the node (hadolint does not check USER); a HEALTHCHECK lets "
        "compose and operators see a hung process.",
        problems,
    )


def test_compose_waits_for_healthy_dependencies():
    import yaml as _yaml

    path = workspace() / "compose.yaml"
    if not path.is_file():
        path = workspace() / "docker-compose.yml"
    assert path.is_file(), "compose.yaml is missing at the repository root"
    spec = _yaml.safe_load(path.read_text()) or {}
    services = spec.get("services") or {}
    problems = []
    for svc in (*SERVICES, "redis"):
        if svc not in services:
            problems.append(f"service {svc!r} is missing")
    for name, body in services.items():
        body = body or {}
        image = body.get("image")
        if image and not image_is_pinned(image):
            problems.append(f"{name}: image {image} is not pinned to an exact version")
    redis = services.get("redis") or {}
    if not (redis.get("healthcheck") or {}).get("test"):
        problems.append("redis: no healthcheck, so nothing can wait for it to be ready")
    for svc in SERVICES:
        body = services.get(svc) or {}
        build = body.get("build") or {}
        dockerfile = build.get("dockerfile") if isinstance(build, dict) else None
        if dockerfile != f"docker/{svc}.Dockerfile":
            problems.append(
                f"{svc}: build.dockerfile should be docker/{svc}.Dockerfile, is {dockerfile!r}"
            )
        depends = body.get("depends_on") or {}
        if (
            not isinstance(depends, dict)
            or (depends.get("redis") or {}).get("condition") != "service_healthy"
        ):
            problems.append(
                f"{svc}: depends_on redis must use condition: service_healthy (got {depends!r})"
            )
        elif isinstance(depends, dict):
            for dependency, how in depends.items():
                condition = (how or {}).get("condition") if isinstance(how, dict) else None
                if condition != "service_healthy":
                    problems.append(
                        f"{svc}: depends_on {dependency} uses condition {condition!r}; wait for "
                        "service_healthy"
                    )
    report(
        "rule: compose starts each service only after its dependencies are healthy, from pinned "
        "images",
        "depends_on with a plain list only orders container starts; the service then races "
        "Redis and crashes or serves errors on a cold start. `latest` images change under you.",
        problems,
    )


def published_address(port) -> str:
    """The host address a compose port entry publishes on, "" for every interface (also when
    only the container port is given: it is then published on a random host port)."""
    if isinstance(port, dict):
        return str(port.get("host_ip") or "")
    text = str(port).split("/", 1)[0]
    if text.startswith("["):
        return text[1 : text.index("]")]
    parts = text.split(":")
    return parts[0] if len(parts) == 3 else ""


def test_compose_publishes_ports_on_loopback_only():
    import yaml as _yaml

    path = workspace() / "compose.yaml"
    if not path.is_file():
        path = workspace() / "docker-compose.yml"
    assert path.is_file(), "compose.yaml is missing at the repository root"
    services = (_yaml.safe_load(path.read_text()) or {}).get("services") or {}
    problems = []
    for name, body in services.items():
        body = body or {}
        if body.get("network_mode") == "host":
            problems.append(
                f"{name}: network_mode: host puts every port it listens on on the host's interfaces"
            )
        for port in body.get("ports") or []:
            address = published_address(port)
            if not (address.startswith("127.") or address in ("::1", "localhost")):
                shown = address or "every interface"
                problems.append(
                    f"{name}: port {port} is published on {shown}; bind it to 127.0.0.1"
                )
    report(
        "rule: compose publishes ports on the loopback interface only",
        "nothing in the local stack asks for a password (Redis, Prometheus, the services); a port "
        "published on 0.0.0.0 is reachable from every network the laptop joins, and Docker's "
        "port rules bypass the host firewall.",
        problems,
    )


def test_manifests_lint_and_validate(tmp_path):
    yamllint = require_tool("yamllint")
    validator = require_tool("kubernetes-validate")
    files = manifest_files()
    assert files, "no manifests under deploy/k8s/"
    config = tmp_path / "yamllint.yaml"
    config.write_text(
        "extends: default\nrules:\n  line-length: {max: 140}\n  document-start: disable\n"
        "  truthy: {check-keys: false}\n"
    )
    code, output = run_tool([yamllint, "-f", "parsable", "-c", str(config), *map(str, files)])
    if code != 0:
        report(
            "rule: manifests pass yamllint",
            "malformed or ambiguous YAML is applied differently than it reads.",
            output.splitlines(),
        )
    code, output = run_tool(
        [validator, "--kubernetes-version", "1.33.0", "--strict", "--quiet", *map(str, files)],
        timeout=120,
    )
    problems = [
        line
        for line in output.splitlines()
        if line.strip() and ("ERROR" in line or "Couldn't find schema" in line or "rror" in line)
    ]
    if code != 0 and not problems:
        problems = output.splitlines() or [f"kubernetes-validate exited {code}"]
    report(
        "rule: every manifest validates against the Kubernetes 1.33 schemas (strict: no unknown "
        "fields)",
        "a typo'd field is silently dropped by the API server and a removed apiVersion is "
        "refused at deploy time; both should fail here, not in production.",
        problems,
    )


def test_containers_have_resources_probes_and_pinned_images():
    problems = []
    for path, workload in workloads():
        where = f"{rel(path)} {name_of(workload)}"
        main = {c.get("name") for c in containers(workload, init=False)}
        for c in containers(workload):
            cname = c.get("name")
            res = c.get("resources") or {}
            for kind in ("requests", "limits"):
                for resource in ("cpu", "memory"):
                    if not (res.get(kind) or {}).get(resource):
                        problems.append(f"{where} container {cname}: no {kind}.{resource}")
            for resource in ("cpu", "memory"):
                asked, cap = (
                    (res.get("requests") or {}).get(resource),
                    (res.get("limits") or {}).get(resource),
                )
                if asked is None or cap is None:
                    continue
                if quantity(asked) is None or quantity(cap) is None:
                    problems.append(
                        f"{where} container {cname}: {resource} {asked!r} / {cap!r} is not a "
                        "Kubernetes quantity"
                    )
                elif quantity(cap) < quantity(asked):
                    problems.append(
                        f"{where} container {cname}: limits.{resource} {cap} is below "
                        f"requests.{resource} {asked}; "
                        "the API server rejects it (a limit is the most a container may use, never "
                        "less than it asks for)"
                    )
            image = str(c.get("image") or "")
            if not image_is_pinned(image):
                problems.append(
                    f"{where} container {cname}: image {image!r} has no exact tag or digest (never "
                    "latest)"
                )
            if cname not in main:
                continue
            ready, live = c.get("readinessProbe"), c.get("livenessProbe")
            if not ready:
                problems.append(f"{where} container {cname}: no readinessProbe")
            if not live:
                problems.append(f"{where} container {cname}: no livenessProbe")
            same_path = (
                ready
                and live
                and ready.get("httpGet")
                and live.get("httpGet")
                and ready["httpGet"].get("path") == live["httpGet"].get("path")
            )
            if same_path:
                problems.append(
                    f"{where} container {cname}: readiness and liveness probe the same path "
                    f"({ready['httpGet'].get('path')}); a Redis outage would then restart every pod"
                )
            problems.extend(probe_problems(f"{where} container {cname}", c))
    report(
        "rule: every container declares requests and limits (limits at or above requests), a "
        "readinessProbe on /readyz and a livenessProbe on /healthz, and a pinned image",
        "requests drive scheduling and limits contain a leak; without readiness traffic hits "
        "pods that cannot serve, without liveness a hung pod lives forever, and one shared "
        "endpoint turns a dependency outage into a restart storm; `latest` makes a rollback "
        "pull something else.",
        problems,
    )


def test_pods_hardened_and_secrets_by_reference():
    problems = []
    accounts = {
        (namespace_of(d), (d.get("metadata") or {}).get("name")): d
        for _, d in manifests()
        if d.get("kind") == "ServiceAccount"
    }
    for path, doc in manifests():
        if doc.get("kind") == "Secret" and (doc.get("data") or doc.get("stringData")):
            problems.append(
                f"{rel(path)} {name_of(doc)}: a Secret with values is committed to the repository"
            )
        if doc.get("kind") == "ConfigMap":
            for key, value in {**(doc.get("data") or {}), **(doc.get("binaryData") or {})}.items():
                if SECRET_ENV.search(str(key)) or CREDENTIALS_IN_URL.search(str(value)):
                    problems.append(
                        f"{rel(path)} {name_of(doc)}: key {key} holds a secret; a ConfigMap is "
                        "plain configuration "
                        "(readable with the namespace's config, not encrypted): use a Secret"
                    )
    for path, workload in workloads():
        where = f"{rel(path)} {name_of(workload)}"
        spec = pod_spec(workload)
        pod_sc = spec.get("securityContext") or {}
        sa = spec.get("serviceAccountName") or spec.get("serviceAccount")
        if not sa or sa == "default":
            problems.append(
                f"{where}: runs as the namespace's default ServiceAccount; give it its own"
            )
        account = accounts.get((namespace_of(workload), sa)) or {}
        pod_mount = spec.get("automountServiceAccountToken")
        if pod_mount is True or (
            pod_mount is None and account.get("automountServiceAccountToken") is not False
        ):
            problems.append(
                f"{where}: the API token is mounted though the service never calls the Kubernetes "
                "API "
                "(the pod's automountServiceAccountToken, when set, overrides its ServiceAccount's)"
            )
        for field in ("hostNetwork", "hostPID", "hostIPC"):
            if spec.get(field) is True:
                problems.append(f"{where}: {field}: true shares the node's namespaces with the pod")
        if pod_sc.get("runAsUser") == 0:
            problems.append(f"{where}: the pod's runAsUser is 0 (root)")
        for volume in spec.get("volumes") or []:
            kinds = sorted(set(volume) - {"name"})
            if not set(kinds) <= RESTRICTED_VOLUMES:
                problems.append(
                    f"{where}: volume {volume.get('name')} is {', '.join(kinds)}; the restricted "
                    "profile allows only "
                    f"{', '.join(sorted(RESTRICTED_VOLUMES))} (a hostPath reaches into the node's "
                    "filesystem)"
                )
        pod_seccomp = (pod_sc.get("seccompProfile") or {}).get("type")
        for c in containers(workload):
            cname = c.get("name")
            sc = c.get("securityContext") or {}
            if not (
                sc.get("runAsNonRoot") is True
                or (pod_sc.get("runAsNonRoot") is True and sc.get("runAsNonRoot") is not False)
            ):
                problems.append(f"{where} container {cname}: runAsNonRoot is not true")
            if sc.get("allowPrivilegeEscalation") is not False:
                problems.append(f"{where} container {cname}: allowPrivilegeEscalation is not false")
            if sc.get("readOnlyRootFilesystem") is not True:
                problems.append(f"{where} container {cname}: readOnlyRootFilesystem is not true")
            drops = [str(x).upper() for x in ((sc.get("capabilities") or {}).get("drop") or [])]
            if "ALL" not in drops:
                problems.append(f"{where} container {cname}: capabilities do not drop ALL")
            added = [str(x).upper() for x in ((sc.get("capabilities") or {}).get("add") or [])]
            if set(added) - {"NET_BIND_SERVICE"}:
                problems.append(
                    f"{where} container {cname}: adds capabilities {added}; the restricted profile "
                    "allows only NET_BIND_SERVICE"
                )
            if sc.get("runAsUser") == 0:
                problems.append(f"{where} container {cname}: runAsUser is 0 (root)")
            for port in c.get("ports") or []:
                if port.get("hostPort"):
                    problems.append(
                        f"{where} container {cname}: hostPort {port.get('hostPort')} binds a port "
                        "on the node"
                    )
            if sc.get("privileged"):
                problems.append(f"{where} container {cname}: privileged")
            if ((sc.get("seccompProfile") or {}).get("type") or pod_seccomp) not in (
                "RuntimeDefault",
                "Localhost",
            ):
                problems.append(f"{where} container {cname}: no RuntimeDefault seccompProfile")
            for env in c.get("env") or []:
                name, value = str(env.get("name", "")), env.get("value")
                if SECRET_ENV.search(name) and (
                    (env.get("valueFrom") or {}).get("configMapKeyRef")
                ):
                    problems.append(
                        f"{where} container {cname}: env {name} comes from a ConfigMap; use "
                        "valueFrom.secretKeyRef"
                    )
                if value is None:
                    continue
                if SECRET_ENV.search(name) or CREDENTIALS_IN_URL.search(str(value)):
                    problems.append(
                        f"{where} container {cname}: env {name} has a literal value; use "
                        "valueFrom.secretKeyRef"
                    )
    report(
        "rule: pods meet the Pod Security Standards 'restricted' profile (non-root, no privilege "
        "escalation, no added capabilities, no host namespaces, ports or hostPath volumes), use "
        "their own ServiceAccount without a mounted token, and take secrets from Secrets by "
        "reference",
        "a compromised process should find no root, no writable image, no capabilities and no "
        "API credentials; secrets in a manifest end up in git history, in `kubectl get -o "
        "yaml` output and in every CI log that prints it.",
        problems,
    )


def test_selectors_and_services_match_pods():
    problems = []
    docs = manifests()
    loads = workloads()
    for path, workload in loads:
        selector = (workload.get("spec") or {}).get("selector") or {}
        if not selector_matches(selector, pod_labels(workload)):
            problems.append(
                f"{rel(path)} {name_of(workload)}: spec.selector does not match the pod template "
                "labels"
            )
    targeted = set()
    for path, svc in docs:
        if svc.get("kind") != "Service":
            continue
        selector = (svc.get("spec") or {}).get("selector") or {}
        matches = [
            w
            for _, w in loads
            if namespace_of(w) == namespace_of(svc)
            and selector
            and all(pod_labels(w).get(k) == v for k, v in selector.items())
        ]
        if not matches:
            problems.append(
                f"{rel(path)} {name_of(svc)}: selector {selector} matches no pod, so the Service "
                "has no endpoints"
            )
            continue
        for w in matches:
            targeted.add(name_of(w))
            ports = [p for c in containers(w, init=False) for p in c.get("ports") or []]
            names = {p.get("name") for p in ports}
            numbers = {p.get("containerPort") for p in ports}
            for port in (svc.get("spec") or {}).get("ports") or []:
                target = port.get("targetPort", port.get("port"))
                if target not in names and target not in numbers:
                    problems.append(
                        f"{rel(path)} {name_of(svc)}: targetPort {target!r} is not a port of "
                        f"{name_of(w)}"
                    )
    for path, workload in loads:
        if name_of(workload) not in targeted:
            problems.append(f"{rel(path)} {name_of(workload)}: no Service sends traffic to it")
    report(
        "rule: every Deployment's selector matches its pods and every Service selects pods on a "
        "port they expose",
        "a selector that matches nothing is valid YAML and an outage: the Service has no "
        "endpoints and every call to it fails.",
        problems,
    )


def _min_replicas(workload, hpas):
    hpa = hpas.get((namespace_of(workload), (workload.get("metadata") or {}).get("name")))
    if hpa:
        return (hpa.get("spec") or {}).get("minReplicas", 1)
    return (workload.get("spec") or {}).get("replicas", 1)


def test_disruption_budgets_autoscaling_and_spread():
    problems = []
    docs = manifests()
    hpas = {}
    deployments = {(namespace_of(w), (w.get("metadata") or {}).get("name")) for _, w in workloads()}
    for path, doc in docs:
        if doc.get("kind") != "HorizontalPodAutoscaler":
            continue
        spec = doc.get("spec") or {}
        ref = spec.get("scaleTargetRef") or {}
        key = (namespace_of(doc), ref.get("name"))
        if ref.get("kind") != "Deployment" or key not in deployments:
            problems.append(
                f"{rel(path)} {name_of(doc)}: scaleTargetRef {ref} is not a Deployment in these "
                "manifests"
            )
            continue
        if (spec.get("minReplicas") or 1) < 2:
            problems.append(
                f"{rel(path)} {name_of(doc)}: minReplicas {spec.get('minReplicas', 1)} < 2; one "
                "pod is a single point of failure"
            )
        if (spec.get("maxReplicas") or 0) <= (spec.get("minReplicas") or 1):
            problems.append(f"{rel(path)} {name_of(doc)}: maxReplicas must exceed minReplicas")
        hpas[key] = doc
    pdbs = [(p, d) for p, d in docs if d.get("kind") == "PodDisruptionBudget"]
    for path, workload in workloads():
        where = f"{rel(path)} {name_of(workload)}"
        key = (namespace_of(workload), (workload.get("metadata") or {}).get("name"))
        if key not in hpas:
            problems.append(f"{where}: no HorizontalPodAutoscaler targets it")
        floor = _min_replicas(workload, hpas)
        budgets = [
            d
            for _, d in pdbs
            if namespace_of(d) == key[0]
            and selector_matches((d.get("spec") or {}).get("selector"), pod_labels(workload))
        ]
        if not budgets:
            problems.append(f"{where}: no PodDisruptionBudget selects its pods")
        for pdb in budgets:
            spec = pdb.get("spec") or {}
            min_available, max_unavailable = spec.get("minAvailable"), spec.get("maxUnavailable")
            if isinstance(min_available, int) and min_available >= floor:
                problems.append(
                    f"{where}: {name_of(pdb)} minAvailable {min_available} >= minimum replicas "
                    f"{floor}: no node can ever be drained"
                )
            if isinstance(min_available, str) and min_available.strip() == "100%":
                problems.append(f"{where}: {name_of(pdb)} minAvailable 100% blocks every drain")
            if max_unavailable in (0, "0", "0%"):
                problems.append(f"{where}: {name_of(pdb)} maxUnavailable 0 blocks every drain")
        spec = pod_spec(workload)
        constraints = spec.get("topologySpreadConstraints") or []
        for constraint in constraints:
            if not selector_matches(constraint.get("labelSelector"), pod_labels(workload)):
                problems.append(
                    f"{where}: the topologySpreadConstraint over {constraint.get('topologyKey')} "
                    "has a labelSelector "
                    f"({constraint.get('labelSelector')}) that does not match the pods, so it "
                    "spreads nothing"
                )
        spreads = [
            t for t in constraints if selector_matches(t.get("labelSelector"), pod_labels(workload))
        ]
        anti = (spec.get("affinity") or {}).get("podAntiAffinity") or {}
        if not spreads and not anti:
            problems.append(
                f"{where}: no topologySpreadConstraints or podAntiAffinity; all replicas may land "
                "on one node"
            )
    report(
        "rule: every Deployment has an autoscaler (minReplicas >= 2), a PodDisruptionBudget below "
        "that minimum, and spreads its replicas",
        "two replicas on one node die together; a budget at or above the replica count makes "
        "node drains and cluster upgrades hang; no budget lets a drain take every pod at once.",
        problems,
    )


def _empty_selector(selector) -> bool:
    return isinstance(selector, dict) and not (
        selector.get("matchLabels") or selector.get("matchExpressions")
    )


def open_peer(peer: dict) -> list[str]:
    """Why an ingress `from` entry admits far more than the pods it means to, if it does."""
    found = []
    namespaces, pods, block = (
        peer.get("namespaceSelector"),
        peer.get("podSelector"),
        peer.get("ipBlock") or {},
    )
    if _empty_selector(namespaces):
        found.append(
            f"a source with namespaceSelector {{}} admits {'those pods in ' if pods else ''}every "
            "namespace of the cluster"
        )
    elif namespaces is None and _empty_selector(pods):
        found.append("a source with podSelector {} admits every pod of the namespace")
    if block.get("cidr") in WORLD:
        found.append(f"a source ipBlock {block.get('cidr')} admits any address")
    return found


def test_network_policies_default_deny_and_cover_every_pod():
    problems = []
    policies = [(p, d) for p, d in manifests() if d.get("kind") == "NetworkPolicy"]
    namespaces = {namespace_of(w) for _, w in workloads()}
    for ns in sorted(namespaces):
        deny = [
            d
            for _, d in policies
            if namespace_of(d) == ns
            and (d.get("spec") or {}).get("podSelector") in ({}, None)
            and "Ingress" in ((d.get("spec") or {}).get("policyTypes") or ["Ingress"])
            and not (d.get("spec") or {}).get("ingress")
        ]
        if not deny:
            problems.append(
                f"namespace {ns}: no default-deny NetworkPolicy (podSelector: {{}}, policyTypes "
                "[Ingress], no ingress rules)"
            )
    for path, workload in workloads():
        allowed = [
            d
            for _, d in policies
            if namespace_of(d) == namespace_of(workload)
            and ((d.get("spec") or {}).get("podSelector") or {})
            and selector_matches((d.get("spec") or {}).get("podSelector"), pod_labels(workload))
            and (d.get("spec") or {}).get("ingress")
        ]
        if not allowed:
            problems.append(
                f"{rel(path)} {name_of(workload)}: no NetworkPolicy selects its pods to allow the "
                "ingress it needs"
            )
        for d in allowed:
            for rule in (d.get("spec") or {}).get("ingress") or []:
                if not rule.get("from"):
                    problems.append(
                        f"{name_of(d)}: an ingress rule without `from` admits every source in the "
                        "cluster"
                    )
    for path, d in policies:
        for rule in (d.get("spec") or {}).get("ingress") or []:
            for peer in rule.get("from") or []:
                problems.extend(f"{rel(path)} {name_of(d)}: {why}" for why in open_peer(peer or {}))
    report(
        "rule: each namespace denies traffic by default and each workload has an explicit ingress "
        "allow-list that names its sources",
        "without policies every pod can reach every other pod: one compromised service can "
        "call payments directly. Default deny plus allow-lists make the call graph explicit.",
        problems,
    )
