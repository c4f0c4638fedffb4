"""What people read: the HTML report of a scoring run, explanation cards, plots, fairness.

This box presents results to supervisors and enterprises: :func:`build_report` writes
one self-contained HTML page (:mod:`~creditrisk.report.page`), :func:`explain_card`
gives one enterprise its tier, records, reasons with weights, overrides and recourse
(:mod:`~creditrisk.report.card`), :mod:`~creditrisk.report.plots` draws every picture
as a matplotlib Figure, :mod:`~creditrisk.report.fairness` compares tier shares with
findings by group, and :mod:`~creditrisk.report.html` renders the Jinja2 templates.
It is the last box before the command line and may import every box before it.

Examples
--------
>>> import creditrisk as cr
>>> model = cr.RiskModel.load(cr.sample_model_path())
>>> card = cr.report.explain_card(model, "E0000025", tables=cr.load_sample(),
...                               as_of="2025-01-01")
>>> "Rights" in card.text
True
"""

from creditrisk.report import fairness, plots
from creditrisk.report.card import ExplanationCard, explain_card
from creditrisk.report.page import Report, build_report

__all__ = [
    "ExplanationCard",
    "Report",
    "build_report",
    "explain_card",
    "fairness",
    "plots",
]
