"""New matplotlib Figures that pyplot does not track, shown once by a notebook.

Every box that draws (model evaluation, inspection planning, the report's plots) makes
its Figures here: a Figure made directly, not through pyplot, is never shown a second
time by the inline backend at the end of a notebook cell. In IPython under the inline
backend the backend module is loaded first, as pyplot's first figure would load it:
that is what makes IPython show a returned Figure as an image rather than as text.

Examples
--------
>>> from creditrisk._figures import new_figure
>>> import matplotlib.pyplot as plt
>>> fig = new_figure(figsize=(2, 2))
>>> fig.get_size_inches().tolist(), plt.get_fignums()
([2.0, 2.0], [])
"""

import sys

_INLINE = ("inline", "module://matplotlib_inline.backend_inline")


def new_figure(**kwargs):
    """A new :class:`matplotlib.figure.Figure` that pyplot does not track.

    Parameters
    ----------
    **kwargs
        Passed to ``Figure`` (``figsize=...``).

    Returns
    -------
    matplotlib.figure.Figure
        An empty Figure, drawn under the rc settings in force.

    Examples
    --------
    >>> len(new_figure().axes)
    0
    """
    from matplotlib.figure import Figure

    shell = sys.modules.get("IPython")
    if shell is not None and shell.get_ipython() is not None:
        import matplotlib

        if matplotlib.get_backend() in _INLINE:
            import matplotlib_inline.backend_inline  # noqa: F401
    return Figure(**kwargs)
