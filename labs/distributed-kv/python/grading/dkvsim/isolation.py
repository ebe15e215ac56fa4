"""Each node gets its own copy of the learner's modules: no shared globals.

`NodeLoader(package)` compiles the package's source files once. Each call
builds one node: it executes fresh module objects from that code (so module
globals and class attributes belong to this node incarnation alone), builds
`RaftNode(rt)` from them and puts the process's own modules back. A restart
builds a new copy, so nothing survives a crash but `Storage`.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import sys
from collections.abc import Sequence
from pathlib import Path
from types import CodeType, ModuleType
from typing import Any


class _Loader(importlib.abc.Loader):
    def __init__(self, code: CodeType) -> None:
        self.code = code

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType | None:
        return None

    def exec_module(self, module: ModuleType) -> None:
        exec(self.code, module.__dict__)  # noqa: S102 (the learner's own module, compiled once)


class _Finder(importlib.abc.MetaPathFinder):
    def __init__(self, loader: NodeLoader) -> None:
        self.owner = loader

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        entry = self.owner.sources.get(fullname)
        if entry is None:
            return None
        file, code, is_package = entry
        spec = importlib.util.spec_from_loader(
            fullname, _Loader(code), origin=str(file), is_package=is_package
        )
        if spec is not None:
            spec.has_location = True
            if is_package:
                spec.submodule_search_locations = [str(file.parent)]
        return spec


class NodeLoader:
    def __init__(self, package: str, module: str = "raft", cls: str = "RaftNode") -> None:
        self.package = package
        self.module = module
        self.cls = cls
        root = Path(importlib.import_module(package).__file__ or "").parent
        self.sources: dict[str, tuple[Path, CodeType, bool]] = {}
        for file in sorted(root.rglob("*.py")):
            parts = list(file.relative_to(root).with_suffix("").parts)
            is_package = parts[-1] == "__init__"
            if is_package:
                parts = parts[:-1]
            name = ".".join([package, *parts])
            code = compile(file.read_text(encoding="utf-8"), str(file), "exec")
            self.sources[name] = (file, code, is_package)
        self._finder = _Finder(self)

    def _ours(self, name: str) -> bool:
        return name == self.package or name.startswith(self.package + ".")

    def __call__(self, rt: Any) -> Any:
        saved = {name: sys.modules.pop(name) for name in list(sys.modules) if self._ours(name)}
        sys.meta_path.insert(0, self._finder)
        try:
            module = importlib.import_module(f"{self.package}.{self.module}")
            node_class = getattr(module, self.cls)
        finally:
            sys.meta_path.remove(self._finder)
            for name in [name for name in sys.modules if self._ours(name)]:
                del sys.modules[name]
            sys.modules.update(saved)
        return node_class(rt)
