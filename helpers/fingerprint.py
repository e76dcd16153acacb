"""A fingerprint of what determines a study's numbers: code and settings, not comments.

A saved study (helpers/study_results/) records the fingerprint of its entry points, e.g.
"helpers.recipes.course_finetune": the code of each one and of every course function or class it
reaches, and every UPPER_CASE setting they read (COURSE_LR, CROP_SCALE, INTERPOLATION, ...).
Code is compared as its syntax tree with docstrings, comments, formatting and the messages of
`raise` left out, so a typo fix keeps the fingerprint and a changed learning rate, transform,
loader or BatchNorm mode changes it. The library versions are recorded beside it (`libraries`),
not in it: a learner with another torch gets a warning, not an error. Used by helpers.results.
Imports only the standard library.
"""

from __future__ import annotations

import ast
import dataclasses
import enum
import hashlib
import importlib
import importlib.metadata
import inspect
import json
import sys
import textwrap
import types
from collections.abc import Iterable, Mapping

PACKAGE = "helpers"
# The libraries whose versions a study records (their code computes the numbers too).
LIBRARIES = ("torch", "torchvision", "timm", "numpy", "pillow")
# Dataclass fields that are prose, like a docstring.
_PROSE_FIELDS = frozenset({"description"})
_CONSTANT_TYPES = (bool, int, float, complex, str, bytes, type(None))


def resolve(dotted: str) -> object:
    """The object a dotted name such as "helpers.recipes.course_finetune" names."""
    module_name, _, attribute = dotted.rpartition(".")
    return getattr(importlib.import_module(module_name), attribute)


def normalised_source(obj: object) -> str:
    """obj's syntax tree as text, without docstrings, comments, formatting or raise messages."""
    tree = ast.parse(textwrap.dedent(inspect.getsource(obj)))
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if (
            isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Module))
            and body
            and isinstance(body[0], ast.Expr)
            and isinstance(body[0].value, ast.Constant)
            and isinstance(body[0].value.value, str)
        ):
            node.body = body[1:] or [ast.Pass()]
        if isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call):
            node.exc = node.exc.func  # the exception's type counts, its message does not
    return ast.dump(tree, annotate_fields=False)


def _ours(obj: object) -> bool:
    module = getattr(obj, "__module__", None) or ""
    return module == PACKAGE or module.startswith(PACKAGE + ".")


def _relative(name: str) -> str:
    """A qualified name without the package's own name, so a renamed package hashes the same."""
    return name.removeprefix(PACKAGE + ".")


def _local_imports(tree: ast.AST) -> dict[str, object]:
    """{name: object} of the package's imports inside a function (`from helpers import x`)."""
    found = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == PACKAGE:
            module = importlib.import_module(node.module)
            for alias in node.names:
                value = getattr(module, alias.name, None)
                if value is None:  # a submodule not yet imported as an attribute
                    value = importlib.import_module(f"{node.module}.{alias.name}")
                found[alias.asname or alias.name] = value
    return found


def _setting(value: object) -> object | None:
    """value as plain JSON-able data if it is a constant setting, else None."""
    if isinstance(value, enum.Enum):
        return f"{type(value).__name__}.{value.name}"
    if type(value) in _CONSTANT_TYPES:
        return repr(value)
    if type(value) in (tuple, list, frozenset, set):
        items = [_setting(item) for item in value]
        return (
            None if None in items else sorted(items) if type(value) in (set, frozenset) else items
        )
    if type(value) is dict:
        items = {repr(key): _setting(item) for key, item in value.items()}
        return None if None in items.values() else items
    return None


class _Walk:
    """The code and settings reachable from some entry points, inside PACKAGE."""

    def __init__(self, only: Mapping[str, Iterable[str]]):
        self.only = {_relative(name): set(keys) for name, keys in only.items()}
        self.code: dict[str, str] = {}
        self.settings: dict[str, object] = {}

    def visit(self, obj: object) -> None:
        obj = inspect.unwrap(obj) if callable(obj) else obj
        if not (inspect.isfunction(obj) or inspect.isclass(obj)) or not _ours(obj):
            return
        name = _relative(f"{obj.__module__}.{obj.__qualname__}")
        if name in self.code:
            return
        self.code[name] = normalised_source(obj)
        tree = ast.parse(textwrap.dedent(inspect.getsource(obj)))
        namespace = {**vars(sys.modules[obj.__module__]), **_local_imports(tree)}
        for node in ast.walk(tree):
            if isinstance(node, ast.Name) and node.id in namespace:
                self.reach(obj.__module__, node.id, namespace[node.id])
            elif (
                isinstance(node, ast.Attribute)
                and isinstance(node.value, ast.Name)
                and isinstance(namespace.get(node.value.id), types.ModuleType)
            ):
                module = namespace[node.value.id]
                if module.__name__.startswith(PACKAGE) and hasattr(module, node.attr):
                    self.reach(module.__name__, node.attr, getattr(module, node.attr))

    def reach(self, module: str, name: str, value: object) -> None:
        if inspect.isfunction(value) or inspect.isclass(value):
            self.visit(value)
            return
        if not name.lstrip("_").isupper():  # only constants: caches and state change as it runs
            return
        key = _relative(f"{module}.{name}")
        if isinstance(value, dict) and key in self.only:
            value = {k: v for k, v in value.items() if k in self.only[key]}
        self.settings[key] = self._value(value)

    def _value(self, value: object) -> object:
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            self.visit(type(value))  # its methods (a spec's build) are code the numbers reach
            fields = {}
            for field in dataclasses.fields(value):
                item = getattr(value, field.name)
                if field.name in _PROSE_FIELDS:
                    continue
                if callable(item) and _ours(item):
                    self.visit(item)
                    item = _relative(f"{item.__module__}.{item.__qualname__}")
                fields[field.name] = self._value(item)
            return fields
        if isinstance(value, dict):
            return {repr(key): self._value(item) for key, item in value.items()}
        setting = _setting(value)
        return setting if setting is not None else type(value).__name__


def reached(roots: Iterable[str], only: Mapping[str, Iterable[str]] | None = None) -> dict:
    """{"code": {qualified name: normalised source}, "settings": {name: value}} of what roots
    reach. only: {"helpers.models.BACKBONES": ["efficientnet_lite0"]} keeps those keys of a
    dict setting, so adding another backbone leaves a study of this one as it was."""
    walk = _Walk(only or {})
    for root in roots:  # a function, a class, or a setting such as a batch size
        module, _, name = root.rpartition(".")
        walk.reach(module, name, resolve(root))
    return {"code": walk.code, "settings": walk.settings}


def fingerprint(roots: Iterable[str], only: Mapping[str, Iterable[str]] | None = None) -> str:
    """A 16-hex-digit hash of what roots reach (see reached)."""
    text = json.dumps(reached(roots, only), sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def library_versions() -> dict[str, str]:
    """{library: installed version} of LIBRARIES, without a local build tag (2.14.1, not +cpu)."""
    versions = {}
    for library in LIBRARIES:
        try:
            versions[library] = importlib.metadata.version(library).split("+")[0]
        except importlib.metadata.PackageNotFoundError:
            versions[library] = "not installed"
    return versions
