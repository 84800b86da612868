"""Planted copies: what a student who copies a classmate's answer does to hide it."""

import ast
import builtins
import random

KEEP = set(dir(builtins)) | {"torch", "F", "np", "math", "self"}


class _Rename(ast.NodeTransformer):
    def __init__(self, names: dict[str, str]):
        self.names = names

    def visit_Name(self, node):
        if node.id in self.names:
            node.id = self.names[node.id]
        return node

    def visit_arg(self, node):
        if node.arg in self.names:
            node.arg = self.names[node.arg]
        return node


def _local_names(tree) -> list[str]:
    names = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store) and node.id not in KEEP:
            names.append(node.id)
    return sorted(set(names))


def rename_variables(source: str, seed: int = 0) -> str:
    """Every local variable renamed (parameters keep their names: the tests call them by keyword)."""
    tree = ast.parse(source)
    rng = random.Random(seed)
    names = {n: f"{rng.choice(['tmp', 'val', 'x', 'res', 'acc'])}_{i}" for i, n in enumerate(_local_names(tree))}
    code = ast.unparse(_Rename(names).visit(tree))
    return code + "\n"


def add_comments(source: str) -> str:
    out = []
    for i, line in enumerate(source.splitlines()):
        out.append(line)
        if line.strip() and not line.rstrip().endswith((":", ",", "(", "\\")) and i % 2 == 0 and '"""' not in line:
            indent = line[: len(line) - len(line.lstrip())]
            out.append(f"{indent}# step {i}: keep going")
    return "\n".join(out) + "\n"


def reformat(source: str) -> str:
    """ast.unparse: quotes, spacing, parentheses and line breaks as Python prints them; blank lines added."""
    return ast.unparse(ast.parse(source)).replace("\n    ", "\n\n    ", 3) + "\n"


def reorder(source: str) -> str:
    """Adjacent assignments that do not read each other's targets are swapped."""
    tree = ast.parse(source)
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if not isinstance(body, list):
            continue
        i = 0
        while i + 1 < len(body):
            a, b = body[i], body[i + 1]
            if isinstance(a, ast.Assign) and isinstance(b, ast.Assign):
                ta = {n.id for t in a.targets for n in ast.walk(t) if isinstance(n, ast.Name)}
                tb = {n.id for t in b.targets for n in ast.walk(t) if isinstance(n, ast.Name)}
                ra = {n.id for n in ast.walk(a.value) if isinstance(n, ast.Name)}
                rb = {n.id for n in ast.walk(b.value) if isinstance(n, ast.Name)}
                if not (ta & rb) and not (tb & ra) and not (ta & tb):
                    body[i], body[i + 1] = b, a
                    i += 2
                    continue
            i += 1
    return ast.unparse(tree) + "\n"


def disguise(source: str, seed: int = 0) -> str:
    """All of the above at once."""
    return add_comments(reformat(reorder(rename_variables(source, seed))))
