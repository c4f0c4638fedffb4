"""HTML pieces shared by the report and the explanation cards: templates, tables, plots.

Pages are rendered from the Jinja2 templates in ``creditrisk/templates`` with
autoescaping on; tables are rendered cell by cell, escaped, with one format per column;
figures are embedded as PNG data URIs, so a page is one file that needs no network.

Examples
--------
>>> import pandas as pd
>>> html = table(pd.DataFrame({"share": [0.25]}), {"share": "pct"}, "t")
>>> '<td class="num">25.0%</td>' in html
True
"""

from __future__ import annotations

import base64
import io
import math
import sys
from collections.abc import Mapping

import pandas as pd
from markupsafe import escape

__all__ = ["FORMATS", "figure", "render", "table"]


def _number(fmt: str):
    def show(value) -> str:
        if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
            return ""
        return fmt.format(value)

    return show


#: how a column is shown: pct 12.3%, prob 0.123, ratio 1.23, count 1,234, signed +0.123
FORMATS = {
    "pct": _number("{:.1%}"),
    "prob": _number("{:.3f}"),
    "ratio": _number("{:.2f}"),
    "count": _number("{:,.0f}"),
    "signed": _number("{:+.3f}"),
    "money": _number("{:,.0f}"),
    "date": lambda v: "" if pd.isna(v) else str(pd.Timestamp(v).date()),
}


def table(frame: pd.DataFrame, formats: Mapping[str, str], table_id: str) -> str:
    """``frame`` as an HTML table with id ``table_id``, in a horizontally scrolling box.

    Parameters
    ----------
    frame : pandas.DataFrame
        The rows and columns shown, in their order (the index is not shown).
    formats : mapping of str to str
        Column name to a key of :data:`FORMATS`; those columns are numbers,
        right-aligned (class ``num``). The other columns are text, escaped; a non-empty
        ``flag`` cell gets class ``flag``. Missing values show as empty cells.
    table_id : str
        The ``id`` of the ``<table>`` element.

    Returns
    -------
    str
        The HTML: a ``<div class="scroll">`` holding a ``<table class="data">``.

    Examples
    --------
    >>> html = table(pd.DataFrame({"tier": ["A"], "n": [1234]}), {"n": "count"}, "x")
    >>> '<td class="num">1,234</td>' in html, '<table class="data" id="x">' in html
    (True, True)
    """
    columns = [str(c) for c in frame.columns]
    shows = [FORMATS[formats[c]] if c in formats else _text for c in columns]
    numeric = ' class="num"'
    head = "".join(f"<th{numeric if c in formats else ''}>{escape(c)}</th>" for c in columns)
    body = []
    for row in frame.itertuples(index=False):
        cells = []
        for c, show, value in zip(columns, shows, row, strict=True):
            css = "num" if c in formats else ("flag" if c == "flag" and _text(value) else "")
            attr = f' class="{css}"' if css else ""
            cells.append(f"<td{attr}>{escape(show(value))}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return (
        f'<div class="scroll"><table class="data" id="{escape(table_id)}">\n'
        f"<thead><tr>{head}</tr></thead>\n<tbody>\n" + "\n".join(body) + "\n</tbody></table></div>"
    )


def _text(value) -> str:
    if value is None or value is pd.NA or value is pd.NaT:
        return ""
    if isinstance(value, float) and math.isnan(value):
        return ""
    return str(value)


def figure(fig, close: bool = True) -> str:
    """A matplotlib Figure as a PNG data URI (``data:image/png;base64,...``).

    Parameters
    ----------
    fig : matplotlib.figure.Figure
        The figure, saved at its own size and dpi (no software name in the PNG, so the
        same figure always gives the same bytes).
    close : bool, default True
        Whether to close ``fig`` in pyplot afterwards, if pyplot tracks it. A Figure
        pyplot does not track (those of :mod:`creditrisk.plots`) is left as it is: it
        needs no closing, and stays usable.

    Returns
    -------
    str
        The PNG, base64-encoded, as a data URI for an ``<img src=...>``.

    Examples
    --------
    >>> from matplotlib.figure import Figure
    >>> figure(Figure(figsize=(1, 1)))[:22]
    'data:image/png;base64,'
    >>> import matplotlib; matplotlib.use("Agg")
    >>> import matplotlib.pyplot as plt
    >>> fig = plt.figure(figsize=(1, 1))
    >>> uri = figure(fig)
    >>> fig.number in plt.get_fignums()
    False
    """
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", metadata={"Software": None})
    pyplot = sys.modules.get("matplotlib.pyplot")
    if close and pyplot is not None:  # without pyplot loaded, pyplot tracks no figure
        pyplot.close(fig)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def render(template: str, **context) -> str:
    """Render one of the package's templates (autoescaped).

    Parameters
    ----------
    template : str
        File name of a template in ``creditrisk/report/templates``.
    **context
        The template's variables; one it uses and is not given is an error.

    Returns
    -------
    str
        The rendered text, every variable escaped for HTML unless marked safe.

    Examples
    --------
    >>> "<style>" in render("_style.html.j2")
    True
    """
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.PackageLoader("creditrisk.report", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    return env.get_template(template).render(**context)
