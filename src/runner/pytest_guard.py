# lab's start-up for a grading run (`python -I -S .lab/run/guard.py`). It owns three things:
#
# 1. The import path. -I and -S start the interpreter with the standard library only: no current
#    folder or script folder first, no PYTHON* variables, no site hooks (sitecustomize,
#    usercustomize, *.pth files). The environment's site-packages folders are then appended as
#    plain folders (their .pth files are not run), and after them the workspace's src/ and root,
#    so a pytest.py or a stdlib name in the workspace cannot shadow the real module.
# 2. A result channel of its own. Every test phase's outcome is written, with an HMAC under a key
#    that only this process was given (taken out of the environment before any other code runs),
#    to a file lab named. lab trusts those lines, not pytest's XML, and cross-checks the two and
#    the exit status.
# 3. Tamper checks. Once pytest is configured and before the suite imports the learner's code,
#    the functions and classes of pytest and pluggy are fingerprinted; a grading run in which any of them, a collected test's
#    code, the plugin list or the import machinery changed ends with a tamper record, which lab
#    reports as an error.
#
# None of this stops code under test that sets out to defeat this file in particular (it runs in
# the same process); docs/grading-integrity.md says what is and is not promised.
import sys


def _start():
    import hashlib
    import hmac
    import json
    import os
    import site

    # An interpreter older than 3.11 puts the current folder first even under -I.
    sys.path[:] = [p for p in sys.path if p not in ("", os.getcwd())]
    key = bytes.fromhex(os.environ.pop("LAB_GUARD_KEY"))
    channel = os.environ.pop("LAB_GUARD_CHANNEL")
    suite_dir = os.path.realpath(os.environ.pop("LAB_GUARD_SUITE"))
    extra_paths = os.environ.pop("LAB_GUARD_PATH").split(os.pathsep)
    plugins = [p for p in os.environ.pop("LAB_GUARD_PLUGINS", "").split(",") if p]
    # The test functions of the stage the learner is on: they run first, so lab can show their
    # result while the rest still run.
    first = {n for n in os.environ.pop("LAB_GUARD_FIRST", "").split(",") if n}
    sys.dont_write_bytecode = True

    packages = _site_packages(os, site)
    for folder in packages:
        if folder not in sys.path:
            sys.path.append(folder)
    sys.path.extend(extra_paths)

    out = open(channel, "w", encoding="utf-8")

    def emit(record):
        line = json.dumps(record, sort_keys=True, separators=(",", ":"))
        mac = hmac.new(key, line.encode(), hashlib.sha256).hexdigest()
        out.write(f"{mac} {line}\n")
        out.flush()

    import pytest  # noqa: E402  (the real one: site-packages come before the workspace)
    import _pytest
    import pluggy

    def fingerprint():
        seen = {}
        for name, module in list(sys.modules.items()):
            if not (name == "pytest" or name.startswith(("_pytest", "pluggy"))) or module is None:
                continue
            for attr, value in list(vars(module).items()):
                if callable(value) or isinstance(value, type):
                    seen[f"{name}.{attr}"] = _identity(value)
                if isinstance(value, type) and value.__module__ == name:
                    for member, inner in list(vars(value).items()):
                        if callable(inner) or isinstance(inner, (property, staticmethod, classmethod)):
                            seen[f"{name}.{attr}.{member}"] = _identity(inner)
        return seen

    def _identity(value):
        if isinstance(value, property):
            parts = (value.fget, value.fset, value.fdel)
        else:
            parts = (value, getattr(value, "__func__", None))
        return tuple((id(p), id(getattr(p, "__code__", None))) for p in parts)

    def foreign(obj):
        """Whether obj was defined outside the standard library and the environment."""
        module = sys.modules.get(getattr(obj, "__module__", None) or getattr(type(obj), "__module__", ""))
        path = getattr(module, "__file__", None)
        if path is None:
            return False
        path = os.path.realpath(path)
        trusted = [os.path.realpath(p) for p in packages]
        trusted.append(os.path.realpath(os.path.dirname(os.__file__)))
        return not any(path.startswith(t + os.sep) for t in trusted) and not path.startswith(suite_dir + os.sep)

    class Guard:
        def __init__(self):
            self.before = {}
            self.meta_path = []
            self.codes = {}
            self.plugins = None
            self.tampered = []

        def tamper(self, what):
            if what not in self.tampered:
                self.tampered.append(what)

        @pytest.hookimpl(tryfirst=True)
        def pytest_sessionstart(self, session):
            # After configuration (pytest patches some of its own classes while configuring)
            # and before collection, which is when the suite imports the code under test.
            self.before = fingerprint()
            self.meta_path = list(sys.meta_path)
            self.plugins = {id(p) for p in session.config.pluginmanager.get_plugins()}

        @pytest.hookimpl(trylast=True)
        def pytest_collection_modifyitems(self, session, config, items):
            # Last, after deselection and fixture-scope ordering; a stable sort keeps both
            # orders within each part.
            if first:
                items.sort(key=lambda item: getattr(item, "originalname", item.name) not in first)

        @pytest.hookimpl(trylast=True)
        def pytest_collection_finish(self, session):
            emit({"kind": "collected", "tests": [item.nodeid for item in session.items]})
            for item in session.items:
                function = getattr(item, "function", None)
                code = getattr(function, "__code__", None)
                if code is None:
                    continue
                if not os.path.realpath(code.co_filename).startswith(suite_dir + os.sep):
                    self.tamper(f"test {item.nodeid} runs code from {code.co_filename}")
                self.codes[item.nodeid] = (function, code)
            for finder in sys.meta_path:
                if finder not in self.meta_path and foreign(finder):
                    self.tamper(f"an import hook was installed: {finder!r}")

        @pytest.hookimpl(tryfirst=True)
        def pytest_runtest_call(self, item):
            known = self.codes.get(item.nodeid)
            if known is not None:
                function, code = known
                if getattr(item, "function", None) is not function or function.__code__ is not code:
                    self.tamper(f"test {item.nodeid} was replaced after collection")

        @pytest.hookimpl(trylast=True)
        def pytest_runtest_logreport(self, report):
            record = {"kind": "report", "test": report.nodeid, "when": report.when, "outcome": report.outcome}
            if report.failed:
                record["message"] = _crash_message(report)
            emit(record)

        @pytest.hookimpl(trylast=True)
        def pytest_collectreport(self, report):
            if report.outcome != "passed":
                emit({"kind": "collect", "test": report.nodeid, "outcome": report.outcome})

        @pytest.hookimpl(trylast=True)
        def pytest_sessionfinish(self, session, exitstatus):
            self.check(session)
            emit({"kind": "finish", "exitstatus": int(exitstatus), "tampered": self.tampered})

        def check(self, session):
            after = fingerprint()
            for name, identity in self.before.items():
                if after.get(name, identity) != identity:
                    self.tamper(f"{name} was replaced during the run")
            if self.plugins is not None:
                for plugin in session.config.pluginmanager.get_plugins():
                    if id(plugin) not in self.plugins and foreign(plugin):
                        self.tamper(f"a plugin was registered by the code under test: {plugin!r}")

    class Trim:
        """Keeps what each test printed to its start and end before the JUnit report takes it,
        so a suite that prints without bound cannot swell the report lab reads."""

        @pytest.hookimpl(tryfirst=True)
        def pytest_runtest_logreport(self, report):
            report.sections = [(title, _trim(text)) for title, text in report.sections]

    guard = Guard()
    args = sys.argv[1:]
    for plugin in plugins:
        args = ["-p", plugin, *args]
    del pluggy, _pytest
    code = pytest.main(args, plugins=[guard, Trim()])
    out.close()
    return int(code)


KEEP = 32 * 1024


def _crash_message(report):
    """The line that says why a test failed (the exception and its message), kept short."""
    crash = getattr(report.longrepr, "reprcrash", None)
    message = getattr(crash, "message", None)
    if not isinstance(message, str):
        message = str(report.longrepr).strip().splitlines()[-1:] or [""]
        message = message[0]
    return message[:500]


def _trim(text):
    if not isinstance(text, str) or len(text) <= 2 * KEEP:
        return text
    return f"{text[:KEEP]}\n[lab: {len(text) - 2 * KEEP} characters of output were not kept]\n{text[-KEEP:]}"


def _site_packages(os, site):
    """The environment's site-packages folders, found as site.py would find them (venv first,
    then the base interpreter's when the venv includes them), without running any .pth file."""
    bin_dir = os.path.dirname(os.path.abspath(sys.executable))
    prefix = os.path.dirname(bin_dir)
    for conf in (os.path.join(bin_dir, "pyvenv.cfg"), os.path.join(prefix, "pyvenv.cfg")):
        if not os.path.isfile(conf):
            continue
        system = False
        with open(conf, encoding="utf-8") as lines:
            for line in lines:
                key, sep, value = line.partition("=")
                if sep and key.strip().lower() == "include-system-site-packages":
                    system = value.strip().lower() == "true"
        base = site.getsitepackages() if system else []
        sys.prefix = sys.exec_prefix = prefix
        return site.getsitepackages([prefix]) + base
    return site.getsitepackages()


sys.exit(_start())
