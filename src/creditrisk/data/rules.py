"""Rules on columns, written as text: ``score >= 28``, ``kind in ['routine']``.

A register mapping says what counts as a finding and which rows a declared feature
counts with such a rule. The grammar is a small, safe subset of Python expressions:
comparisons of a column with a literal (``==``, ``!=``, ``<``, ``<=``, ``>``, ``>=``),
membership (``in`` / ``not in`` a list of literals), ``isna(column)`` /
``notna(column)``, combined with ``and``, ``or``, ``not`` and parentheses. Nothing else
is evaluated: no function calls, attributes or arithmetic, so a mapping file cannot
run code. An order comparison on a column that is not numeric or a date is an error
that names the table, the column and some of its values.

Examples
--------
>>> import pandas as pd
>>> rule = Rule("score >= 28 and kind == 'routine'")
>>> frame = pd.DataFrame({"score": [30, 12, None], "kind": ["routine"] * 3})
>>> rule.columns
('score', 'kind')
>>> rule.mask(frame, "inspections").tolist()
[True, False, False]
"""

from __future__ import annotations

import ast
import operator
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from creditrisk.data.schema import Problem, SchemaError

__all__ = ["Rule"]

_COMPARE = {
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
}
_ORDER = (ast.Lt, ast.LtE, ast.Gt, ast.GtE)
_FUNCTIONS = {"isna", "notna"}


@dataclass(frozen=True)
class Rule:
    """A condition on a table's columns, parsed once and evaluated on frames.

    Parameters
    ----------
    text : str
        The rule, e.g. ``"score >= 28"``, ``"critical_flag == 'Critical'"``,
        ``"outcome not in ['compliant']"``, ``"notna(closed_on) or score >= 28"``.

    Attributes
    ----------
    columns : tuple of str
        The columns the rule reads, in order of appearance.

    Raises
    ------
    ValueError
        The text is not a rule of the grammar (the message says what is allowed).

    Examples
    --------
    >>> Rule("violations > 0").columns
    ('violations',)
    >>> Rule("__import__('os')")
    Traceback (most recent call last):
    ...
    ValueError: rule "__import__('os')": only isna(column) and notna(column) may be called
    """

    text: str
    columns: tuple[str, ...] = field(init=False, compare=False)
    _tree: ast.expr = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        try:
            tree = ast.parse(str(self.text).strip(), mode="eval").body
        except SyntaxError as exc:
            raise ValueError(f"rule {self.text!r} is not an expression: {exc.msg}") from None
        names: list[str] = []
        self._check(tree, names)
        object.__setattr__(self, "_tree", tree)
        object.__setattr__(self, "columns", tuple(dict.fromkeys(names)))

    def _fail(self, why: str):
        raise ValueError(f"rule {self.text!r}: {why}")

    def _check(self, node: ast.AST, names: list[str]) -> None:
        if isinstance(node, ast.BoolOp):
            for value in node.values:
                self._check(value, names)
        elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
            self._check(node.operand, names)
        elif isinstance(node, ast.Call):
            if not (isinstance(node.func, ast.Name) and node.func.id in _FUNCTIONS):
                self._fail("only isna(column) and notna(column) may be called")
            if len(node.args) != 1 or node.keywords or not isinstance(node.args[0], ast.Name):
                self._fail(f"{node.func.id}() takes one column name")
            names.append(node.args[0].id)
        elif isinstance(node, ast.Compare):
            if len(node.ops) != 1 or not isinstance(node.left, ast.Name):
                self._fail("compare one column with a value: column <op> value")
            names.append(node.left.id)
            op, right = node.ops[0], node.comparators[0]
            if isinstance(op, ast.In | ast.NotIn):
                if not isinstance(right, ast.List | ast.Tuple | ast.Set):
                    self._fail("'in' takes a list of values: column in ['a', 'b']")
                for item in right.elts:
                    self._literal(item)
            elif type(op) in _COMPARE:
                self._literal(right)
            else:
                self._fail(f"unsupported comparison {type(op).__name__}")
        else:
            self._fail(
                "use comparisons of a column with a value, 'in' lists, isna()/notna(), "
                "and/or/not and parentheses"
            )

    def _literal(self, node: ast.AST):
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
            return -self._literal(node.operand)
        if not isinstance(node, ast.Constant) or not isinstance(node.value, str | int | float):
            self._fail("values must be numbers or quoted text")
        return node.value

    def mask(self, frame: pd.DataFrame, table: str = "table") -> np.ndarray:
        """Where the rule holds, row by row (missing values never satisfy a comparison).

        Parameters
        ----------
        frame : pandas.DataFrame
            Rows holding every column the rule reads.
        table : str, default "table"
            The table's name, for error messages.

        Returns
        -------
        numpy.ndarray of bool
            One value per row of ``frame``.

        Raises
        ------
        SchemaError
            A column is missing, or an order comparison meets a column that is not
            numeric or a date (naming table, column and some values).

        Examples
        --------
        >>> frame = pd.DataFrame({"grade": ["A", "C", None]})
        >>> Rule("grade in ['B', 'C'] or isna(grade)").mask(frame).tolist()
        [False, True, True]
        """
        missing = [c for c in self.columns if c not in frame.columns]
        if missing:
            raise SchemaError(
                [
                    Problem(
                        table,
                        c,
                        "missing column",
                        f"rule {self.text!r} reads {c!r}, which {table} does not have",
                    )
                    for c in missing
                ]
            )
        return np.asarray(self._eval(self._tree, frame, table), dtype=bool)

    def _eval(self, node: ast.AST, frame: pd.DataFrame, table: str) -> np.ndarray:
        if isinstance(node, ast.BoolOp):
            parts = [self._eval(v, frame, table) for v in node.values]
            combine = np.logical_and if isinstance(node.op, ast.And) else np.logical_or
            out = parts[0]
            for part in parts[1:]:
                out = combine(out, part)
            return out
        if isinstance(node, ast.UnaryOp):
            return ~self._eval(node.operand, frame, table)
        if isinstance(node, ast.Call):
            empty = frame[node.args[0].id].isna().to_numpy()
            return empty if node.func.id == "isna" else ~empty
        column = frame[node.left.id]
        op, right = node.ops[0], node.comparators[0]
        present = column.notna().to_numpy()
        if isinstance(op, ast.In | ast.NotIn):
            values = [self._literal(v) for v in right.elts]
            inside = column.isin(values).to_numpy()
            return present & (inside if isinstance(op, ast.In) else ~inside)
        value = self._literal(right)
        if isinstance(op, _ORDER):
            column = self._ordered(column, value, node.left.id, table)
        result = _COMPARE[type(op)](column, value)
        return present & np.asarray(pd.Series(result).fillna(False), dtype=bool)

    def _ordered(self, column: pd.Series, value, name: str, table: str) -> pd.Series:
        kind = column.dtype.kind
        if kind in "iufb":
            if isinstance(value, str):
                self._fail(f"{name} is a number; compare it with a number, not {value!r}")
            return column
        if kind == "M":
            return column.astype("datetime64[s]").where(column.notna())
        shown = column.dropna().astype("str").drop_duplicates().head(5).tolist()
        detail = (
            f"rule {self.text!r} orders {name!r}, which is {column.dtype}, not a number or "
            f"a date; values like {shown}"
        )
        raise SchemaError([Problem(table, name, "rule on a non-numeric column", detail)])
