"""
The layout's rules, read from the imports of every module of d2ext (top-level and inside functions): the core
imports no task, a task imports no other task, modeling imports no data, and evaluation imports no engine.
"""
import ast
import os

import pytest

from conftest import REPO

# The core's top-level modules and packages; every other package of d2ext is a task.
CORE = ("checkpoint", "collect_env", "config", "data", "engine", "evaluation", "export", "modeling", "utils")


def module_sources(package_dir=os.path.join(REPO, "d2ext")):
    """{dotted module name: source} of every .py file under `package_dir` (a package named d2ext)."""
    sources = {}
    for folder, _, files in os.walk(package_dir):
        for file in files:
            if file.endswith(".py"):
                path = os.path.join(folder, file)
                parts = os.path.relpath(path, os.path.dirname(package_dir))[:-3].split(os.sep)
                name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
                with open(path) as f:
                    sources[name] = f.read()
    return sources


def imported_modules(name, source, is_package):
    """The d2ext modules that `source` (module `name`) imports: for `from X import a`, X and X.a."""
    package = name if is_package else name.rpartition(".")[0]
    imported = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            imported.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join(anchor + ([node.module] if node.module else []))
            imported.add(base)
            imported.update(f"{base}.{alias.name}" for alias in node.names)
    return {module for module in imported if module == "d2ext" or module.startswith("d2ext.")}


def area(module):
    """The task a module belongs to, or "core"."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[1] not in CORE else "core"


def layout_violations(sources, packages=()):
    """The rule violations of the modules `sources` ({name: source}); `packages` names those that are packages."""
    violations = []
    for name, source in sorted(sources.items()):
        if name == "d2ext":  # the package imports the core, then every task
            continue
        parts = set(name.split("."))
        for target in sorted(imported_modules(name, source, name in packages)):
            if target == "d2ext":
                continue
            target_parts = set(target.split("."))
            if area(name) == "core" and area(target) != "core":
                violations.append(f"core module {name} imports task module {target}")
            elif area(name) != "core" and area(target) not in ("core", area(name)):
                violations.append(f"task module {name} imports another task's module {target}")
            if "modeling" in parts and "data" in target_parts:
                violations.append(f"modeling module {name} imports data module {target}")
            if ("evaluation" in parts or name.endswith(".evaluation")) and "engine" in target_parts:
                violations.append(f"evaluation module {name} imports engine module {target}")
    return violations


def test_d2ext_follows_the_layout():
    sources = module_sources()
    packages = {name for name in sources if os.path.isdir(os.path.join(REPO, *name.split(".")))}
    tasks = {area(name) for name in sources} - {"core"}
    assert tasks >= {"classification", "detection", "gan", "semantic_seg", "ssd"}  # a new folder is a task too
    assert layout_violations(sources, packages) == []


@pytest.mark.parametrize("name, source, violation", [
    ("d2ext.engine.trainer", "from ..ssd.modeling import SSD", "core module d2ext.engine.trainer imports task module d2ext.ssd.modeling"),
    ("d2ext.config", "import d2ext.gan.config", "core module d2ext.config imports task module d2ext.gan.config"),
    ("d2ext.gan.trainer", "from ..classification import data", "task module d2ext.gan.trainer imports another task's module d2ext.classification"),
    ("d2ext.ssd.modeling.ssd", "from ..data.mapper import SSDDatasetMapper", "modeling module d2ext.ssd.modeling.ssd imports data module d2ext.ssd.data.mapper"),
    ("d2ext.modeling.backbone.resnet", "def f():\n    from ...data import build_mapper", "modeling module d2ext.modeling.backbone.resnet imports data module d2ext.data"),
    ("d2ext.gan.evaluation", "from ..engine import setup", "evaluation module d2ext.gan.evaluation imports engine module d2ext.engine"),
])
def test_each_rule_catches_its_violation(name, source, violation):
    assert violation in layout_violations({name: source})


def test_a_task_may_import_the_core_and_itself():
    assert layout_violations({"d2ext.ssd.data.mapper": "from ...data import MAPPER_REGISTRY\nfrom .transforms import x"}) == []
