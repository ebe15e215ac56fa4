"""Stage `observability`: a RED/USE dashboard, SLO burn-rate alerts, and their unit tests."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from labkit import load_json, load_yaml_documents, rel, report, require_tool, run_tool, workspace

WINDOW = re.compile(r"\[(\d+[smhdwy])(?::[^\]]*)?\]")
VARIABLE = re.compile(r"\$\{?service\b|\[\[service\]\]")
PAGE = {"page", "critical"}


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


def test_dashboard_red_and_use_panels_with_service_variable():
    dashboard = load_json(dashboard_path())
    problems = []
    for field in ("title", "uid", "schemaVersion"):
        if not dashboard.get(field):
            problems.append(f"the dashboard has no {field}")
    variables = [(v or {}).get("name") for v in (dashboard.get("templating") or {}).get("list") or []]
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
    has("RED errors", r"http_requests_total\{[^}]*status=~\"5", r"/")
    has("RED duration", r"histogram_quantile\(", r"http_request_duration_seconds_bucket")
    has("USE CPU utilisation", r"(container_cpu_usage_seconds_total|process_cpu_seconds_total)")
    has("USE memory utilisation", r"(container_memory_working_set_bytes|process_resident_memory_bytes)")
    has("USE saturation", r"(container_cpu_cfs_throttled_(periods|seconds)_total|container_memory_failcnt)")
    has("USE errors", r"(kube_pod_container_status_restarts_total|container_oom_events_total|kube_pod_container_status_last_terminated_reason)")
    report(
        "rule: the dashboard shows RED per service (rate, 5xx ratio, latency quantile) and USE per container, filtered by a $service variable",
        "RED answers 'are users hurting?' and USE answers 'which resource is the cause?'; a "
        "service variable lets on-call narrow both to the service that paged.",
        problems,
    )


def test_burn_rate_alerts_multiwindow_with_severity_and_runbook():
    all_rules = rules()
    recorded = {r["record"]: str(r.get("expr", "")) for r in all_rules if r.get("record")}
    alerts = [r for r in all_rules if r.get("alert")]
    problems = []
    if not alerts:
        problems.append("no alerting rules")
    for alert in alerts:
        name = alert["alert"]
        if not (alert.get("labels") or {}).get("severity"):
            problems.append(f"{name}: no severity label, so routing cannot tell a page from a ticket")
        runbook = str((alert.get("annotations") or {}).get("runbook_url") or "")
        if not runbook.startswith(("http://", "https://")):
            problems.append(f"{name}: no runbook_url annotation (a link the on-call engineer can open)")
        if not ((alert.get("annotations") or {}).get("summary") or (alert.get("annotations") or {}).get("description")):
            problems.append(f"{name}: no summary or description annotation")

    def pages(long: str, short: str, factor: str, shown: str):
        factor_re = re.compile(rf"(?<![\w.]){factor}(?![\w.])")
        for alert in alerts:
            severity = str((alert.get("labels") or {}).get("severity") or "").lower()
            expr = expand(str(alert.get("expr", "")), recorded)
            windows = set(WINDOW.findall(expr))
            if severity in PAGE and {long, short} <= windows and factor_re.search(expr) and re.search(r"\band\b", expr):
                return
        problems.append(
            f"no paging alert requires a burn rate of {shown}x over BOTH {long} and {short} "
            "(two windows joined with `and`; write the factor in the expression, e.g. (14.4 * 0.001))"
        )

    pages("1h", "5m", r"14\.4", "14.4")
    pages("6h", "30m", r"6(\.0+)?", "6")
    report(
        "rule: SLO alerts use multiple windows and burn rates (SRE Workbook: 14.4x over 1h and 5m, 6x over 6h and 30m) with severity and runbook",
        "a single short window pages on every blip and a single long one keeps paging long "
        "after the fix; requiring both makes alerts significant and quick to reset. The "
        "runbook link turns a 3 a.m. page into a procedure.",
        problems,
    )


def test_rules_and_dashboard_queries_pass_promtool_check(tmp_path):
    promtool = require_tool("promtool")
    code, output = run_tool([promtool, "check", "rules", str(rules_path())])
    if code != 0:
        report("rule: alerts.yml passes `promtool check rules`", "Prometheus refuses to load a rules file with one bad rule.", output.splitlines())
    dashboard = load_json(dashboard_path())
    synthetic = []
    for index, (title, expr) in enumerate(exprs(dashboard)):
        concrete = (
            expr.replace("$__rate_interval", "5m").replace("${__rate_interval}", "5m")
            .replace("$__interval", "1m").replace("$__range", "1h")
        )
        concrete = re.sub(r"\$\{?\w+\}?|\[\[\w+\]\]", ".*", concrete)
        synthetic.append({"record": f"dashboard:panel_{index}:query", "expr": concrete, "labels": {"panel": title}})
    if not synthetic:
        pytest.fail("the dashboard has no queries to check", pytrace=False)
    path = tmp_path / "dashboard-queries.yml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "dashboard", "rules": synthetic}]}, sort_keys=False))
    code, output = run_tool([promtool, "check", "rules", str(path)])
    if code != 0:
        listing = [f"{r['labels']['panel']}: {r['expr']}" for r in synthetic]
        report(
            "rule: every dashboard query is valid PromQL",
            "a panel whose query does not parse shows 'No data' exactly when someone needs it. "
            f"promtool said:\n{output}",
            listing,
        )


def test_promtool_rule_unit_tests_pass():
    promtool = require_tool("promtool")
    files = rule_test_files()
    paging = {r["alert"] for r in rules() if r.get("alert") and str((r.get("labels") or {}).get("severity") or "").lower() in PAGE}
    firing, quiet = set(), 0
    for path in files:
        for doc in load_yaml_documents(path):
            for case in doc.get("tests") or []:
                for check in case.get("alert_rule_test") or []:
                    if check.get("exp_alerts"):
                        firing.add(check.get("alertname"))
                    else:
                        quiet += 1
    problems = [f"paging alert {name} has no test case in which it fires" for name in sorted(paging - firing)]
    if not quiet:
        problems.append("no test case expects silence (exp_alerts: []); prove the alerts stay quiet when they should")
    code, output = run_tool([promtool, "test", "rules", *map(str, files)], timeout=120)
    if code != 0:
        problems.append("promtool test rules failed:\n" + output[-3000:])
    report(
        "rule: the alert rules have unit tests (`promtool test rules`) that pass, showing every page firing and a quiet case",
        "an alert nobody has seen fire is an alert nobody knows works; unit tests with "
        "synthetic series prove the thresholds, windows and labels before production does.",
        problems,
    )
