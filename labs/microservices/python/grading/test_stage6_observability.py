"""Stage `observability`: a RED/USE dashboard, SLO burn-rate alerts, and their unit tests."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml
from labkit import (
    find_tool,
    load_json,
    load_yaml_documents,
    rel,
    report,
    require_tool,
    run_tool,
    workspace,
)

WINDOW = re.compile(r"\[(\d+[smhdwy])(?::[^\]]*)?\]")
VARIABLE = re.compile(r"\$\{?service\b|\[\[service\]\]")
PAGE = {"page", "critical"}
AGGREGATION = r"(?:sum|avg|min|max|count|group|stddev|stdvar)"
ERROR_RATIO = (r"http_requests_total\{[^}]*status=~\"5", r"/")
LATENCY = (r"histogram_quantile\(", r"http_request_duration_seconds_bucket")
BURN_WINDOWS = {"fast": ("1h", "5m", r"14\.4", "14.4"), "slow": ("6h", "30m", r"6(\.0+)?", "6")}


def closing(text: str, start: int) -> int:
    """Index of the bracket that closes text[start], skipping quoted strings."""
    pairs, depth, quote = {"(": ")", "[": "]", "{": "}"}, [], None
    for i in range(start, len(text)):
        char = text[i]
        if quote:
            if char == quote and text[i - 1] != "\\":
                quote = None
        elif char in "\"'`":
            quote = char
        elif char in pairs:
            depth.append(pairs[char])
        elif depth and char == depth[-1]:
            depth.pop()
            if not depth:
                return i
    return len(text)


def top_level(text: str) -> list[bool]:
    """For each character, whether it sits outside every bracket and string."""
    flags, i = [True] * len(text), 0
    while i < len(text):
        if text[i] in "([{\"'`":
            end = closing(text, i) if text[i] in "([{" else text.find(text[i], i + 1)
            end = len(text) - 1 if end < 0 else end
            for j in range(i, end + 1):
                flags[j] = False
            i = end + 1
        else:
            i += 1
    return flags


def unwrap(expr: str) -> str:
    expr = expr.strip()
    while expr.startswith("(") and closing(expr, 0) == len(expr) - 1:
        expr = expr[1:-1].strip()
    return expr


def and_operands(expr: str) -> list[str]:
    """The operands of the top-level `and`s of a PromQL expression (one item when there is none)."""
    flags = top_level(expr)
    cuts = [m for m in re.finditer(r"\band\b", expr) if flags[m.start()]]
    if not cuts:
        return [unwrap(expr)]
    parts, last = [], 0
    for match in cuts:
        parts.append(expr[last : match.start()])
        last = match.end()
    parts.append(expr[last:])
    cleaned = []
    for part in parts:
        part = re.sub(
            r"^\s*(on|ignoring)\s*\([^)]*\)\s*(group_(left|right)\s*(\([^)]*\))?)?", "", part
        )
        cleaned.append(unwrap(part))
    return cleaned


def quantile_calls(expr: str) -> list[tuple[str, str]]:
    """(φ, inner expression) of every histogram_quantile call."""
    calls = []
    for match in re.finditer(r"histogram_quantile\s*\(", expr):
        start = match.end() - 1
        args = expr[start + 1 : closing(expr, start)]
        flags = top_level(args)
        comma = next((i for i, c in enumerate(args) if c == "," and flags[i]), None)
        if comma is not None:
            calls.append((args[:comma].strip(), unwrap(args[comma + 1 :])))
    return calls


def keeps_le(inner: str) -> bool:
    """Whether the outermost aggregation of a histogram_quantile argument keeps the `le` label."""
    prefix = re.match(rf"^{AGGREGATION}\s*(by|without)\s*\(([^)]*)\)\s*\(", inner)
    if prefix:
        grouping, labels = prefix.group(1), prefix.group(2)
    else:
        bare = re.match(rf"^{AGGREGATION}\s*\(", inner)
        if not bare:
            return True  # no aggregation: every bucket series keeps its le
        rest = inner[closing(inner, bare.end() - 1) + 1 :]
        suffix = re.match(r"^\s*(by|without)\s*\(([^)]*)\)", rest)
        if not suffix:
            return False  # sum(...) with no grouping drops every label, le included
        grouping, labels = suffix.group(1), suffix.group(2)
    names = {label.strip() for label in labels.split(",") if label.strip()}
    return ("le" in names) if grouping == "by" else ("le" not in names)


def promql_for(expr: str, service: str = ".*") -> str:
    """A dashboard query with Grafana's variables replaced, on one line."""
    concrete = (
        expr.replace("$__rate_interval", "5m")
        .replace("${__rate_interval}", "5m")
        .replace("$__interval", "1m")
        .replace("$__range", "1h")
    )
    concrete = re.sub(r"\$\{service(?::\w+)?\}|\$service\b|\[\[service\]\]", service, concrete)
    concrete = re.sub(r"\$\{?\w+\}?|\[\[\w+\]\]", ".*", concrete)
    return " ".join(concrete.split())


def series(name: str, labels: dict, per_minute: float, minutes: int) -> dict:
    text = ",".join(f'{k}="{v}"' for k, v in labels.items())
    return {"series": f"{name}{{{text}}}", "values": f"0+{per_minute:g}x{minutes}"}


def run_promtool_cases(
    promtool: str,
    folder: Path,
    rule_files: list[str],
    inputs: list[dict],
    cases: list[tuple[str, str, list[dict]]],
    eval_time: str,
    every: str = "1m",
):
    """Evaluate each (expr, why, expected samples) against synthetic series with `promtool test
    rules` (recording rules evaluated `every`); return the `why` of every case whose result
    differs."""
    test = {
        "rule_files": rule_files,
        "evaluation_interval": every,
        "tests": [
            {
                "interval": "1m",
                "input_series": inputs,
                "promql_expr_test": [
                    {
                        "expr": expr,
                        "eval_time": eval_time,
                        "exp_samples": [dict(x) for x in expected],
                    }
                    for expr, _, expected in cases
                ],
            }
        ],
    }
    path = folder / "generated_test.yml"
    path.write_text(yaml.safe_dump(test, sort_keys=False, width=10_000))
    code, output = run_tool([promtool, "test", "rules", str(path)], timeout=120)
    if code == 0:
        return []
    failed = [why for expr, why, _ in cases if json.dumps(expr)[1:-1] in output]
    return failed or [f"promtool test rules failed:\n{output[-3000:]}"]


def observability() -> Path:
    return workspace() / "observability"


def dashboard_path() -> Path:
    path = observability() / "grafana" / "dashboards" / "services.json"
    if not path.is_file():
        pytest.fail(f"{rel(path)} is missing", pytrace=False)
    return path


def rules_path() -> Path:
    path = observability() / "prometheus" / "alerts.yml"
    if not path.is_file():
        pytest.fail(f"{rel(path)} is missing", pytrace=False)
    return path


def rule_test_files() -> list[Path]:
    folder = observability() / "prometheus" / "tests"
    files = sorted([*folder.glob("*.yml"), *folder.glob("*.yaml")]) if folder.is_dir() else []
    if not files:
        pytest.fail("observability/prometheus/tests/ holds no promtool test files", pytrace=False)
    return files


def all_panels(node) -> list[dict]:
    found = []
    for panel in node.get("panels") or []:
        found.append(panel)
        found.extend(all_panels(panel))
    return found


def exprs(dashboard: dict) -> list[tuple[str, str]]:
    out = []
    for panel in all_panels(dashboard):
        for target in panel.get("targets") or []:
            if target.get("expr"):
                out.append((panel.get("title") or f"panel {panel.get('id')}", target["expr"]))
    return out


def rules() -> list[dict]:
    docs = load_yaml_documents(rules_path())
    groups = docs[0].get("groups") if docs else None
    if not groups:
        pytest.fail(f"{rel(rules_path())} has no rule groups", pytrace=False)
    return [r for g in groups for r in g.get("rules") or []]


def expand(expr: str, recorded: dict[str, str], depth: int = 4) -> str:
    """Inline recording rules so the windows they hide become visible."""
    for _ in range(depth):
        changed = False
        for name, body in recorded.items():
            pattern = re.compile(rf"(?<![\w:]){re.escape(name)}(?![\w:])")
            if pattern.search(expr):
                expr = pattern.sub(lambda _m, b=body: f"({b})", expr)
                changed = True
        if not changed:
            break
    return expr


def burn_rate_pages(all_rules: list[dict]) -> dict[str, dict]:
    """The paging alerts that implement the fast and the slow burn-rate pair, by kind."""
    recorded = {r["record"]: str(r.get("expr", "")) for r in all_rules if r.get("record")}
    found = {}
    for kind, (long, short, factor, _) in BURN_WINDOWS.items():
        factor_re = re.compile(rf"(?<![\w.]){factor}(?![\w.])")
        for alert in (r for r in all_rules if r.get("alert")):
            severity = str((alert.get("labels") or {}).get("severity") or "").lower()
            expr = expand(str(alert.get("expr", "")), recorded)
            windows = set(WINDOW.findall(expr))
            if (
                severity in PAGE
                and {long, short} <= windows
                and factor_re.search(expr)
                and re.search(r"\band\b", expr)
            ):
                found[kind] = alert
                break
    return found


def test_dashboard_red_and_use_panels_with_service_variable():
    dashboard = load_json(dashboard_path())
    problems = []
    for field in ("title", "uid", "schemaVersion"):
        if not dashboard.get(field):
            problems.append(f"the dashboard has no {field}")
    variables = [
        (v or {}).get("name") for v in (dashboard.get("templating") or {}).get("list") or []
    ]
    if "service" not in variables:
        problems.append(f"no dashboard variable named 'service' (variables: {variables})")
    for panel in all_panels(dashboard):
        if panel.get("type") in ("row", "text"):
            continue
        if not any((t or {}).get("expr") for t in panel.get("targets") or []):
            problems.append(f"panel {panel.get('title')!r} has no query")
    queries = exprs(dashboard)

    def has(label: str, *patterns: str, variable: bool = True):
        hits = [(t, e) for t, e in queries if all(re.search(p, e) for p in patterns)]
        if not hits:
            problems.append(f"no {label} panel (a query matching {' and '.join(patterns)})")
        elif variable and not any(VARIABLE.search(e) for _, e in hits):
            problems.append(f"the {label} panel ({hits[0][0]!r}) ignores the $service variable")

    has("RED rate", r"\b(rate|irate|increase)\(\s*http_requests_total")
    has("RED errors", *ERROR_RATIO)
    has("RED duration", *LATENCY)
    for title, expr in queries:
        if not VARIABLE.search(expr):
            problems.append(
                f"panel {title!r}: query {' '.join(expr.split())!r} ignores the $service variable"
            )
        for phi, inner in quantile_calls(expr):
            try:
                quantile = float(phi)
            except ValueError:
                quantile = None
            if quantile is not None and not 0 < quantile < 1:
                problems.append(
                    f"panel {title!r}: histogram_quantile({phi}, ...) asks for a quantile outside "
                    "(0, 1); the 99th percentile is 0.99"
                )
            if not keeps_le(inner):
                problems.append(
                    f"panel {title!r}: the histogram_quantile argument aggregates away the le "
                    f"label ({' '.join(inner.split())}); "
                    "keep it (sum by (service, le) (rate(..._bucket[...]))) or there are no "
                    "buckets left to interpolate"
                )
    has("USE CPU utilisation", r"(container_cpu_usage_seconds_total|process_cpu_seconds_total)")
    has(
        "USE memory utilisation",
        r"(container_memory_working_set_bytes|process_resident_memory_bytes)",
    )
    has(
        "USE saturation",
        r"(container_cpu_cfs_throttled_(periods|seconds)_total|container_memory_failcnt)",
    )
    has(
        "USE errors",
        r"(kube_pod_container_status_restarts_total|container_oom_events_total|kube_pod_container_status_last_terminated_reason)",
    )
    report(
        "rule: the dashboard shows RED per service (rate, 5xx ratio, latency quantile over buckets "
        "that keep le) and USE per container, every query filtered by a $service variable",
        "RED answers 'are users hurting?' and USE answers 'which resource is the cause?'; a "
        "service variable lets on-call narrow both to the service that paged.",
        problems,
    )


def test_burn_rate_alerts_multiwindow_with_severity_and_runbook():
    all_rules = rules()
    alerts = [r for r in all_rules if r.get("alert")]
    problems = []
    if not alerts:
        problems.append("no alerting rules")
    for alert in alerts:
        name = alert["alert"]
        if not (alert.get("labels") or {}).get("severity"):
            problems.append(
                f"{name}: no severity label, so routing cannot tell a page from a ticket"
            )
        runbook = str((alert.get("annotations") or {}).get("runbook_url") or "")
        if not runbook.startswith(("http://", "https://")):
            problems.append(
                f"{name}: no runbook_url annotation (a link the on-call engineer can open)"
            )
        if not (
            (alert.get("annotations") or {}).get("summary")
            or (alert.get("annotations") or {}).get("description")
        ):
            problems.append(f"{name}: no summary or description annotation")

    found = burn_rate_pages(all_rules)
    for kind, (long, short, _, shown) in BURN_WINDOWS.items():
        if kind not in found:
            problems.append(
                f"no paging alert requires a burn rate of {shown}x over BOTH {long} and {short} "
                "(two windows joined with `and`; write the factor in the expression, e.g. (14.4 * "
                "0.001))"
            )
    report(
        "rule: SLO alerts use multiple windows and burn rates (SRE Workbook: 14.4x over 1h and 5m, "
        "6x over 6h and 30m) with severity and runbook",
        "a single short window pages on every blip and a single long one keeps paging long "
        "after the fix; requiring both makes alerts significant and quick to reset. The "
        "runbook link turns a 3 a.m. page into a procedure.",
        problems,
    )


def test_rules_and_dashboard_queries_pass_promtool_check(tmp_path):
    promtool = require_tool("promtool")
    code, output = run_tool([promtool, "check", "rules", str(rules_path())])
    if code != 0:
        report(
            "rule: alerts.yml passes `promtool check rules`",
            "Prometheus refuses to load a rules file with one bad rule.",
            output.splitlines(),
        )
    dashboard = load_json(dashboard_path())
    synthetic = []
    for index, (title, expr) in enumerate(exprs(dashboard)):
        concrete = (
            expr.replace("$__rate_interval", "5m")
            .replace("${__rate_interval}", "5m")
            .replace("$__interval", "1m")
            .replace("$__range", "1h")
        )
        concrete = re.sub(r"\$\{?\w+\}?|\[\[\w+\]\]", ".*", concrete)
        synthetic.append(
            {
                "record": f"dashboard:panel_{index}:query",
                "expr": concrete,
                "labels": {"panel": title},
            }
        )
    if not synthetic:
        pytest.fail("the dashboard has no queries to check", pytrace=False)
    path = tmp_path / "dashboard-queries.yml"
    path.write_text(
        yaml.safe_dump({"groups": [{"name": "dashboard", "rules": synthetic}]}, sort_keys=False)
    )
    code, output = run_tool([promtool, "check", "rules", str(path)])
    if code != 0:
        listing = [f"{r['labels']['panel']}: {r['expr']}" for r in synthetic]
        report(
            "rule: every dashboard query is valid PromQL",
            "a panel whose query does not parse shows 'No data' exactly when someone needs it. "
            f"promtool said:\n{output}",
            listing,
        )

    # Evaluate the RED error-ratio and latency queries for service=payments on synthetic series:
    # payments answers 80% 2xx, 10% 4xx, 10% 5xx; users (filtered out) fails a third of its
    # requests.
    minutes = 20
    inputs = []
    for status, rate in (("201", 80), ("422", 10), ("500", 10)):
        inputs.append(
            series(
                "http_requests_total",
                {"service": "payments", "method": "POST", "route": "/payments", "status": status},
                rate,
                minutes,
            )
        )
    for status, rate in (("200", 100), ("503", 50)):
        inputs.append(
            series(
                "http_requests_total",
                {
                    "service": "users",
                    "method": "GET",
                    "route": "/users/{user_id}",
                    "status": status,
                },
                rate,
                minutes,
            )
        )
    for service, buckets in (
        ("payments", {"0.05": 50, "0.1": 90, "0.25": 99, "0.5": 100, "1": 100, "+Inf": 100}),
        ("users", {"0.05": 0, "0.1": 0, "0.25": 0, "0.5": 0, "1": 0, "+Inf": 100}),
    ):
        labels = {"service": service, "method": "GET", "route": "/x"}
        for le, rate in buckets.items():
            inputs.append(
                series("http_request_duration_seconds_bucket", {**labels, "le": le}, rate, minutes)
            )
        inputs.append(series("http_request_duration_seconds_count", labels, 100, minutes))
        inputs.append(series("http_request_duration_seconds_sum", labels, 10, minutes))
    cases = []
    for title, expr in exprs(dashboard):
        query = promql_for(expr, service="payments")
        if all(re.search(p, expr) for p in ERROR_RATIO):
            cases.append(
                (
                    f"clamp_max(count(abs(({query}) - 0.1) < 0.0001 or abs(({query}) - 10) < "
                    "0.01), 1)",
                    (
                        f"panel {title!r}: with $service=payments, a service that answers 10% 5xx "
                        "and 10% 4xx, "
                        "the error ratio must be 0.1 (10%); it is not, or it is empty. Count only "
                        "5xx, divide "
                        "by all requests, and keep the same labels on both sides of the division. "
                        f"Query: {query}"
                    ),
                    [{"labels": "{}", "value": 1}],
                )
            )
        if all(re.search(p, expr) for p in LATENCY):
            cases.append(
                (
                    f"clamp_max(count(({query}) > 0 < 10), 1)",
                    (
                        f"panel {title!r}: with $service=payments the latency quantile must be a "
                        "finite number "
                        "of seconds (requests here take 0 to 0.5 s); it is empty or infinite. Keep "
                        "le in the "
                        f"aggregation and ask for a quantile between 0 and 1. Query: {query}"
                    ),
                    [{"labels": "{}", "value": 1}],
                )
            )
    if cases:
        failed = run_promtool_cases(promtool, tmp_path, [], inputs, cases, f"{minutes - 5}m")
        report(
            "rule: the RED panels compute what they show: the 5xx ratio of the selected service "
            "and a finite latency quantile",
            "a query can be valid PromQL and still show nothing (label sets that do not match "
            "across "
            "a division, buckets summed without le) or the wrong thing (4xx counted as errors). "
            "promtool evaluated the panels on synthetic series.",
            failed,
        )


def routes(route: dict):
    """Every route of an Alertmanager routing tree, the root first."""
    yield route
    for child in route.get("routes") or []:
        if isinstance(child, dict):
            yield from routes(child)


def alertmanager_problems(path: Path) -> list[str]:
    """What Alertmanager would refuse in its configuration: amtool's word where it is
    installed, and a structural check of the routing tree either way."""
    problems = []
    amtool = find_tool("amtool")
    if amtool:
        code, output = run_tool([amtool, "check-config", str(path)])
        if code != 0:
            problems.append(f"{rel(path)}: `amtool check-config` fails:\n{output.strip()}")
    docs = load_yaml_documents(path)
    config = docs[0] if docs and isinstance(docs[0], dict) else {}
    receivers = {r.get("name") for r in config.get("receivers") or [] if isinstance(r, dict)}
    root = config.get("route") if isinstance(config.get("route"), dict) else None
    if root is None:
        return [*problems, f"{rel(path)}: no route, so Alertmanager has nowhere to send an alert"]
    if not root.get("receiver"):
        problems.append(
            f"{rel(path)}: the root route names no receiver (the default for alerts no child route "
            "matches)"
        )
    for route in routes(root):
        name = route.get("receiver")
        if name and name not in receivers:
            problems.append(
                f"{rel(path)}: a route sends to receiver {name!r}, which is not defined "
                f"({sorted(map(str, receivers))})"
            )
    return problems


def test_prometheus_config_loads_the_rules_and_sends_alerts_to_alertmanager():
    promtool = require_tool("promtool")
    problems = []
    config_path = observability() / "prometheus" / "prometheus.yml"
    if not config_path.is_file():
        pytest.fail(f"{rel(config_path)} is missing", pytrace=False)
    code, output = run_tool([promtool, "check", "config", str(config_path)])
    if code != 0:
        problems.append(
            f"`promtool check config {rel(config_path)}` fails (a rule_files path resolves "
            f"relative to the config file):\n{output.strip()}"
        )
    config = yaml.safe_load(config_path.read_text()) or {}
    loaded = {(config_path.parent / str(f)).resolve() for f in config.get("rule_files") or []}
    if rules_path().resolve() not in loaded:
        problems.append(
            f"{rel(config_path)}: rule_files does not load {rel(rules_path())} (relative to the "
            "config file), so no alert is ever evaluated"
        )
    targets, discovered = [], False
    for manager in (config.get("alerting") or {}).get("alertmanagers") or []:
        for static in manager.get("static_configs") or []:
            targets.extend(str(t) for t in static.get("targets") or [])
        discovered = discovered or any(key.endswith("_sd_configs") for key in manager)
    if not targets and not discovered:
        problems.append(
            f"{rel(config_path)}: no alerting.alertmanagers target, so a firing page reaches nobody"
        )
    compose_path = workspace() / "compose.yaml"
    services = (
        ((yaml.safe_load(compose_path.read_text()) or {}).get("services") or {})
        if compose_path.is_file()
        else {}
    )
    for target in targets:
        host = target.rsplit(":", 1)[0]
        if host not in services:
            problems.append(
                f"{rel(config_path)}: Alertmanager target {target} is not a service of "
                f"compose.yaml ({', '.join(sorted(services))})"
            )
            continue
        volumes = [
            str(v.get("source") if isinstance(v, dict) else v)
            for v in (services[host] or {}).get("volumes") or []
        ]
        if not any("observability/alertmanager/" in v for v in volumes):
            problems.append(
                f"compose.yaml: {host} does not mount its configuration from "
                "observability/alertmanager/"
            )
    configs = sorted(
        [
            *(observability() / "alertmanager").glob("*.yml"),
            *(observability() / "alertmanager").glob("*.yaml"),
        ]
    )
    if not configs:
        problems.append("observability/alertmanager/ holds no Alertmanager configuration")
    for path in configs:
        problems.extend(alertmanager_problems(path))
    report(
        "rule: Prometheus loads the alert rules (`promtool check config` passes) and sends its "
        "alerts to an Alertmanager whose configuration is valid",
        "rules that Prometheus does not load never fire, and alerts with no Alertmanager fire into "
        "nothing: the page is written, evaluated and seen by nobody. A route to an undefined "
        "receiver makes Alertmanager refuse its whole configuration.",
        problems,
    )


def test_promtool_rule_unit_tests_pass():
    promtool = require_tool("promtool")
    files = rule_test_files()
    paging = {
        r["alert"]
        for r in rules()
        if r.get("alert") and str((r.get("labels") or {}).get("severity") or "").lower() in PAGE
    }
    firing, quiet = set(), 0
    for path in files:
        for doc in load_yaml_documents(path):
            for case in doc.get("tests") or []:
                for check in case.get("alert_rule_test") or []:
                    if check.get("exp_alerts"):
                        firing.add(check.get("alertname"))
                    else:
                        quiet += 1
    problems = [
        f"paging alert {name} has no test case in which it fires"
        for name in sorted(paging - firing)
    ]
    if not quiet:
        problems.append(
            "no test case expects silence (exp_alerts: []); prove the alerts stay quiet when they "
            "should"
        )
    code, output = run_tool([promtool, "test", "rules", *map(str, files)], timeout=120)
    if code != 0:
        problems.append("promtool test rules failed:\n" + output[-3000:])
    report(
        "rule: the alert rules have unit tests (`promtool test rules`) that pass, showing every "
        "page firing and a quiet case",
        "an alert nobody has seen fire is an alert nobody knows works; unit tests with "
        "synthetic series prove the thresholds, windows and labels before production does.",
        problems,
    )


def test_burn_rate_alerts_fire_at_the_right_rates(tmp_path):
    promtool = require_tool("promtool")
    all_rules = rules()
    found = burn_rate_pages(all_rules)
    if set(found) != set(BURN_WINDOWS):
        missing = [
            f"{BURN_WINDOWS[k][3]}x over {BURN_WINDOWS[k][0]} and {BURN_WINDOWS[k][1]}"
            for k in BURN_WINDOWS
            if k not in found
        ]
        pytest.fail(
            f"no paging burn-rate alert to evaluate for {', '.join(missing)} (see the multi-window "
            "test)",
            pytrace=False,
        )
    # Seven steady hours: payments fails 1.6% of requests (16x the budget), users 1.2% (12x),
    # notifications 0.5% (5x) and answers another 40% with client errors (4xx).
    minutes = 430
    traffic = {
        "payments": {"201": 98.4, "500": 1.6},
        "users": {"200": 98.8, "503": 1.2},
        "notifications": {"200": 59.5, "404": 40, "500": 0.5},
    }
    inputs = [
        series(
            "http_requests_total",
            {"service": svc, "method": "GET", "route": f"/{svc}", "status": status},
            rate,
            minutes,
        )
        for svc, statuses in traffic.items()
        for status, rate in statuses.items()
    ]
    expected_for = {"fast": ["payments"], "slow": ["payments", "users"]}
    cases = []
    for kind, alert in found.items():
        long, short, _, shown = BURN_WINDOWS[kind]
        want = expected_for[kind]
        samples = [{"labels": f'{{service="{svc}"}}', "value": 1} for svc in want]
        expr = str(alert.get("expr", ""))
        scenario = (
            "payments fails 1.6% of requests (16x a 0.1% budget), users 1.2% (12x), notifications "
            "0.5% (5x) "
            "plus 40% 4xx"
        )
        cases.append(
            (
                f"clamp_max(count by (service) ({' '.join(expr.split())}), 1)",
                (
                    f"{alert['alert']} ({shown}x over {long} and {short}) must hold for exactly "
                    f"{', '.join(want)} when {scenario}; a 4xx is the client's fault and spends no "
                    "error "
                    "budget, the threshold is the burn rate times the budget, and the result keeps "
                    "the "
                    "service label"
                ),
                samples,
            )
        )
        operands = and_operands(expr)
        for operand in operands if len(operands) > 1 else []:
            cases.append(
                (
                    f"clamp_max(count by (service) ({' '.join(operand.split())}), 1)",
                    (
                        f"{alert['alert']}: its condition `{' '.join(operand.split())}` must hold "
                        "for exactly "
                        f"{', '.join(want)} when {scenario}: each window's ratio counts 5xx over "
                        "all "
                        "requests, per service"
                    ),
                    samples,
                )
            )
    # Steady traffic: recording the ratios every 5 minutes gives the same values, five times faster.
    failed = run_promtool_cases(
        promtool, tmp_path, [str(rules_path().resolve())], inputs, cases, "7h", every="5m"
    )
    report(
        "rule: the burn-rate pages fire at the burn rates they name, counting only server errors "
        "against the budget",
        "an alert can have the right shape and the wrong arithmetic: a factor off by ten pages "
        "for nothing or never, and a ratio that counts 4xx pages whenever clients send bad "
        "requests. promtool evaluated each page and each of its windows on synthetic traffic.",
        failed,
    )
