"""Every public name of creditrisk carries a numpydoc docstring with an example.

The public names are the names in the ``__all__`` of every module under
``src/creditrisk`` (the package too), plus the public methods and properties defined in
each public class. Each is validated by :func:`numpydoc.validate.validate`, and the test
fails on these codes only:

- GL08: no docstring;
- PR01 / PR02: a parameter of the signature not documented / a documented parameter that
  does not exist;
- RT01: no ``Returns`` (or, for a generator, ``Yields``: numpydoc's YD01) section;
- EX01: no ``Examples`` section.

What is collected, and why:

- every module under ``creditrisk`` is imported, except :mod:`creditrisk.cli` (its
  commands are Typer help text, shown by ``--help``) and ``creditrisk.__main__``
  (importing it runs the command line); :mod:`creditrisk.jobs.spark` is left out only
  when importing it fails for want of PySpark. Private modules (``_figures``,
  ``_version``) are not public, so their names are not either;
- a name of an ``__all__`` counts when it is a module, a class or a function defined in
  creditrisk; constants (dicts, tuples, lists, strings, numbers, dtypes) cannot carry a
  docstring of their own, and a name re-exported from another library is not ours;
- of a public class, the public (no leading underscore) functions, class and static
  methods, properties and nested classes in the ``__dict__`` of the class and of its
  creditrisk base classes: what scikit-learn, MLflow or ``dataclasses`` give it is
  theirs, and ``__init__``'s parameters belong in the class docstring (numpydoc checks
  them there); the default of a dataclass field is data even when it is a function;
- one object reachable under several names (``cr.train`` is
  ``creditrisk.jobs.tracking.train``) is validated once, under the name of its home:
  ``module.qualname`` where the object is defined.

How numpydoc decides RT01, and what this test adds so that the check is honest:

- numpydoc does not read the return annotation: it parses the function's source and
  asks for ``Returns`` when some ``return`` statement (outside nested functions) gives a
  value other than the literal ``None``. A function annotated ``-> None`` is exempt
  because it has no such statement, not because of the annotation;
- it asks for ``Returns`` only when the object is a plain function
  (:func:`inspect.isfunction`): a classmethod reached by its import path is a bound
  method, and a function wrapped by ``functools.lru_cache`` is not a function, so
  ``validate("import.path")`` never asks either for ``Returns``. The test validates the
  function behind them instead (it calls ``validate`` with numpydoc's own doc object,
  which is what ``validate("import.path")`` builds from the imported object);
- a function annotated to return something (anything but ``None``, ``NoReturn`` or
  ``Never``) needs ``Returns`` or ``Yields`` even when its source has no ``return
  value`` (one that always raises, a stub);
- a generator function needs ``Yields`` (numpydoc's YD01), reported as RT01.

Numpydoc's own ``# numpydoc ignore=CODE`` comment on a ``def`` line is honoured.
The checker is tested on deliberately bad functions below, so it cannot pass silently.
"""

from __future__ import annotations

import ast
import functools
import importlib
import inspect
import pkgutil
import re
import types
import warnings
from collections.abc import Iterator

from numpydoc.docscrape import get_doc_object
from numpydoc.validate import ERROR_MSGS, validate

import creditrisk

#: the numpydoc codes the test fails on (YD01 is reported as RT01: no Returns/Yields)
CODES = ("GL08", "PR01", "PR02", "RT01", "EX01")
#: modules never imported: Typer help text, and the entry point that runs the CLI
SKIP = ("creditrisk.cli", "creditrisk.__main__")
#: a return annotation that promises nothing to document
NOTHING = (None, type(None), "None", "NoReturn", "Never", "typing.NoReturn", "typing.Never")


# -- collecting the public names ---------------------------------------------------------
def public_modules(package: types.ModuleType = creditrisk) -> list[types.ModuleType]:
    """The package and every public module under it, imported, in name order."""
    found = [package]
    for info in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
        name = info.name
        if name in SKIP or any(part.startswith("_") for part in name.split(".")):
            continue
        try:
            found.append(importlib.import_module(name))
        except ModuleNotFoundError as error:
            if name == "creditrisk.jobs.spark" and (error.name or "").startswith("pyspark"):
                continue
            raise
    return sorted(found, key=lambda module: module.__name__)


def _ours(obj: object, package: str) -> bool:
    module = obj.__name__ if inspect.ismodule(obj) else getattr(obj, "__module__", None)
    return isinstance(module, str) and (module == package or module.startswith(package + "."))


def _home(obj: object, fallback: str) -> str:
    """``module.qualname`` when that reaches ``obj`` itself, else ``fallback``."""
    if inspect.ismodule(obj):
        return obj.__name__
    module, qualname = getattr(obj, "__module__", None), getattr(obj, "__qualname__", None)
    if not (module and qualname) or "<locals>" in qualname:
        return fallback
    try:
        found = importlib.import_module(module)
        for part in qualname.split("."):
            found = getattr(found, part)
    except (ImportError, AttributeError):
        return fallback
    return f"{module}.{qualname}" if found is obj else fallback


def _members(cls: type, name: str, package: str) -> Iterator[tuple[str, object]]:
    """The public methods, properties and nested classes ``cls`` defines (or its bases
    in ``package`` define), as (import path, the descriptor in the class ``__dict__``)."""
    for klass in cls.__mro__:
        if not _ours(klass, package):
            continue
        owner = name if klass is cls else _home(klass, f"{klass.__module__}.{klass.__qualname__}")
        fields = getattr(klass, "__dataclass_fields__", {})
        for attr, value in vars(klass).items():
            if attr.startswith("_") or attr in fields:  # a field's default is data
                continue
            if isinstance(
                value,
                (
                    types.FunctionType,
                    classmethod,
                    staticmethod,
                    property,
                    functools.cached_property,
                ),
            ) or (inspect.isclass(value) and _ours(value, package)):
                yield f"{owner}.{attr}", value


def public_names(modules: list[types.ModuleType]) -> dict[str, object]:
    """Import path -> object of every public name, one entry per object (by identity)."""
    package = modules[0].__name__.partition(".")[0]
    seen: set[int] = set()
    names: dict[str, object] = {}

    def add(name: str, obj: object) -> None:
        if id(obj) not in seen:
            seen.add(id(obj))
            names[name] = obj
            if inspect.isclass(obj):
                for member, value in _members(obj, name, package):
                    add(member, value)

    for module in modules:
        for attr in getattr(module, "__all__", ()):
            obj = getattr(module, attr)
            callable_ = inspect.isroutine(obj) or inspect.isclass(obj)
            if (callable_ or inspect.ismodule(obj)) and _ours(obj, package):
                add(_home(obj, f"{module.__name__}.{attr}"), obj)
    return dict(sorted(names.items()))


# -- validating one name -----------------------------------------------------------------
def _function_behind(obj: object) -> object:
    """The plain function numpydoc should check: behind classmethod, staticmethod,
    ``functools.lru_cache`` and other ``__wrapped__`` wrappers; else ``obj``."""
    if isinstance(obj, (classmethod, staticmethod)):
        obj = obj.__func__
    if not inspect.isfunction(obj) and callable(obj) and not inspect.isclass(obj):
        unwrapped = inspect.unwrap(obj)
        if inspect.isfunction(unwrapped):
            return unwrapped
    return obj


def _promises_a_value(function: object) -> bool:
    try:
        annotation = inspect.signature(function, eval_str=False).return_annotation
    except (TypeError, ValueError):
        return False
    return annotation is not inspect.Signature.empty and annotation not in NOTHING


def problems(name: str, obj: object) -> list[str]:
    """``name: CODE message`` for each of :data:`CODES` that ``obj``'s docstring breaks."""
    if inspect.ismodule(obj):
        # of the codes, numpydoc checks only GL08 on a module, and its validate() stops
        # on a module without a def or class (StopIteration): check the docstring here
        return [] if (obj.__doc__ or "").strip() else [f"{name}: GL08 {ERROR_MSGS['GL08']}"]
    target = _function_behind(obj)
    with warnings.catch_warnings():  # "Unknown section Example" and the like
        warnings.simplefilter("ignore")
        doc = get_doc_object(target)
        result = validate(doc)
    errors = {code: message for code, message in result["errors"] if code in (*CODES, "YD01")}
    if "YD01" in errors:
        errors.pop("YD01")
        errors.setdefault("RT01", "No Yields section found (a generator)")
    if (
        inspect.isfunction(target)
        and "GL08" not in errors
        and not doc["Returns"]
        and not doc["Yields"]
        and _promises_a_value(target)
    ):
        errors.setdefault("RT01", "No Returns section found (annotated to return a value)")
    return [f"{name}: {code} {_sorted(message)}" for code, message in sorted(errors.items())]


def _sorted(message: str) -> str:
    """PR01/PR02 name a set of parameters: in sorted order, so reports compare run to run."""
    found = re.search(r"\{.*\}", message)
    if not found:
        return message
    names = sorted(ast.literal_eval(found.group()))
    return message.replace(found.group(), "{" + ", ".join(map(repr, names)) + "}")


def report(names: dict[str, object]) -> list[str]:
    return [line for name, obj in names.items() for line in problems(name, obj)]


# -- the package -------------------------------------------------------------------------
def test_every_public_name_has_a_numpydoc_docstring() -> None:
    lines = report(public_names(public_modules()))
    assert not lines, f"{len(lines)} docstring problems:\n" + "\n".join(lines)


def test_the_collection_reaches_functions_classes_members_and_skips_constants() -> None:
    names = public_names(public_modules())
    assert "creditrisk.jobs.tracking.train" in names  # the home, not cr.train
    assert "creditrisk.train" not in names
    assert "creditrisk.model.estimator.RiskModel.classify" in names  # a method
    assert "creditrisk.model.estimator.RiskModel.load" in names  # a classmethod
    assert "creditrisk.report.page.Report.write" in names
    assert "creditrisk.jobs.spark.score" in names  # PySpark is here
    assert "creditrisk.model.estimator.RiskModel.fit" in names  # defined there
    assert "creditrisk.model.estimator.RiskModel.get_params" not in names  # scikit-learn's
    assert not any(name.startswith("creditrisk.cli") for name in names)
    assert "creditrisk.data.schema.TABLES" not in names  # a dict
    assert "creditrisk.__version__" not in names  # a string
    assert all(not name.rpartition(".")[2].startswith("_") for name in names)
    identities = [id(obj) for obj in names.values()]
    assert len(identities) == len(set(identities))


# -- the checker itself, on deliberately bad docstrings ----------------------------------
def _no_docstring(x):
    return x


def _bad(rows: int, chunk: int = 1) -> int:
    """Count something.

    Parameters
    ----------
    rows : int
        Rows.
    columns : int
        Not a parameter.
    """
    return rows * chunk


def _annotated(x: int) -> int:
    """Promise a value but always raise.

    Parameters
    ----------
    x : int
        Anything.

    Examples
    --------
    >>> _annotated(1)
    Traceback (most recent call last):
    ValueError: never
    """
    raise ValueError("never")


def _generator(n: int):
    """Yield numbers.

    Parameters
    ----------
    n : int
        How many.

    Examples
    --------
    >>> list(_generator(2))
    [0, 1]
    """
    yield from range(n)


def _good(x: int) -> None:
    """Do nothing, well documented.

    Parameters
    ----------
    x : int
        Ignored.

    Examples
    --------
    >>> _good(1)
    """


class _Bad:
    """A class whose docstring leaves out its parameter.

    Examples
    --------
    >>> _Bad(1).size
    1
    """

    def __init__(self, size: int) -> None:
        self.size = size

    @classmethod
    def make(cls, size):
        """Make one (its parameter and return are not documented)."""
        return cls(size)

    @property
    def double(self):
        return 2 * self.size


@functools.lru_cache
def _cached(x):
    """Return twice ``x``, without saying so in sections."""
    return 2 * x


def _codes(obj: object) -> set[str]:
    return {line.split(": ", 1)[1].split()[0] for line in problems("here", obj)}


def test_the_checker_finds_each_code() -> None:
    assert _codes(_no_docstring) == {"GL08"}
    assert _codes(_bad) == {"PR01", "PR02", "RT01", "EX01"}
    assert _codes(_annotated) == {"RT01"}
    assert _codes(_generator) == {"RT01"}
    assert _codes(_good) == set()
    assert _codes(_cached) == {"PR01", "RT01", "EX01"}


def test_the_checker_sees_through_classmethods_and_into_classes() -> None:
    members = dict(_members(_Bad, "here._Bad", __name__))
    assert set(members) == {"here._Bad.make", "here._Bad.double"}
    assert _codes(_Bad) == {"PR01"}
    assert _codes(members["here._Bad.make"]) == {"PR01", "RT01", "EX01"}
    assert _codes(members["here._Bad.double"]) == {"GL08"}
    lines = report({"here._bad": _bad, "here._no_docstring": _no_docstring})
    assert lines[0].startswith("here._bad: EX01 No examples section found")
    assert "here._no_docstring: GL08 The object does not have a docstring" in lines
