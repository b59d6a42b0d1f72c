"""Where `homedesk run`'s resident memory goes at import: RSS (VmRSS) cost of each package, children excluded.

    python bench/import_memory.py [--role all|bot] [--modules 20]

Imports what a `homedesk run --role ROLE` process imports before it starts (the CLI, the application, the Telegram
channel, and for `all` the console, the web chat and the scheduler of the periodic jobs), timing nothing: each
module's import is measured as the RSS it added minus what the modules it imported added, summed per top-level
package. Start-up work done at import (building pydantic models, reading tables) counts with its module; memory
freed and reused later does not show. The figures add up to the RSS after the imports, minus the interpreter's own.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.abc
import importlib.machinery
import sys
from collections import Counter
from pathlib import Path
from types import ModuleType
from typing import Any

REPO = Path(__file__).resolve().parents[1]
ROLE_MODULES = {
    "bot": ["homedesk.cli", "homedesk.app", "bot.channel"],
    "all": ["homedesk.cli", "homedesk.app", "bot.channel", "bot.webchat", "staff_console.app",
            "apscheduler.schedulers.asyncio"],
}


def resident_kb() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


class _Measured(importlib.abc.Loader):
    """Wraps a module's loader: records the RSS its execution added, less its children's."""

    costs: Counter[str] = Counter()
    stack: list[int] = []

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    def __getattr__(self, name: str) -> Any:  # resource readers and the like: the real loader's
        return getattr(self.inner, name)

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType | None:
        return self.inner.create_module(spec)  # type: ignore[no-any-return]

    def exec_module(self, module: ModuleType) -> None:
        start = resident_kb()
        self.stack.append(0)
        try:
            self.inner.exec_module(module)
        finally:
            children = self.stack.pop()
            total = resident_kb() - start
            self.costs[module.__name__] += total - children
            if self.stack:
                self.stack[-1] += total


class _Finder(importlib.abc.MetaPathFinder):
    def find_spec(self, name: str, path: Any, target: Any = None) -> importlib.machinery.ModuleSpec | None:
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(name, path, target)
            if spec is not None:
                if spec.loader is not None and hasattr(spec.loader, "exec_module"):
                    spec.loader = _Measured(spec.loader)
                return spec
        return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--role", choices=sorted(ROLE_MODULES), default="all")
    parser.add_argument("--modules", type=int, default=20, help="also list the N costliest single modules")
    args = parser.parse_args()
    sys.path.insert(0, str(REPO))
    before = resident_kb()
    sys.meta_path.insert(0, _Finder())
    for name in ROLE_MODULES[args.role]:
        importlib.import_module(name)
    after = resident_kb()
    packages: Counter[str] = Counter()
    for name, kb in _Measured.costs.items():
        packages[name.split(".")[0]] += kb
    print(f"role {args.role}: RSS {before / 1024:.1f} MB (interpreter) -> {after / 1024:.1f} MB after the imports")
    for name, kb in packages.most_common():
        if abs(kb) >= 256:
            print(f"  {name:28s} {kb / 1024:6.1f} MB")
    print(f"the {args.modules} costliest modules:")
    for name, kb in _Measured.costs.most_common(args.modules):
        print(f"  {name:48s} {kb / 1024:6.1f} MB")


if __name__ == "__main__":
    main()
