"""Experiments: one plugin per published table or figure that ai4media-ext reproduces.

An experiment subclasses :class:`Experiment`, is declared under the ``ai4media_ext.experiments``
entry-point group, and is run by ``ai4media-ext reproduce``.
"""

from ._core import Experiment, RunContext, run_experiments, save_figure, write_json_atomic

__all__ = ["Experiment", "RunContext", "run_experiments", "save_figure", "write_json_atomic"]
