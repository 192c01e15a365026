"""The graph inspector: trace, draw, diagnose and profile computation graphs.

- :func:`trace_backward` takes an immutable :class:`GraphSnapshot` of the graph behind a value
  (op names, shapes, dtypes, parameters, and gradient statistics after backward).
- :func:`to_dot`, :func:`to_svg`, :func:`to_html` draw it; SVG and HTML need no external tool.
- :func:`gradient_flow_summary` flags vanishing, exploding and non-finite gradients and dead
  ReLUs; :func:`gradient_flow_plot` charts gradient norms.
- :class:`profile` times each op's forward and backward.
- :func:`shadow` reruns a model on a float64 reference backend and names the first op that
  disagrees.
- :func:`cli_main` is ``axoncl inspect``.

Examples
--------
>>> import numpy as np, axoncl
>>> from axoncl.inspect import trace_backward
>>> x = axoncl.Variable(np.array([-1.0, 2.0]), requires_grad=True)
>>> y = x.pow(2).relu().sum()
>>> y.backward()
>>> snap = trace_backward(y)
>>> snap.operation_names(), snap.leaves()[0].grad.norm
(['pow', 'relu', 'sum'], 4.47213595499958)
"""

from ._hooks import TensorStats
from .cli import cli_main
from .health import GradientFlowReport, ParameterFlow, gradient_flow_plot, gradient_flow_summary
from .page import to_html
from .profile import OpProfile, profile
from .render import dot_available, to_dot, to_svg
from .shadow import Divergence, ShadowReport, shadow, tolerance_for
from .snapshot import (
    Edge,
    GraphSnapshot,
    NodeInfo,
    record_activations,
    record_modules,
    trace_backward,
)

__all__ = [
    "Divergence",
    "Edge",
    "GradientFlowReport",
    "GraphSnapshot",
    "NodeInfo",
    "OpProfile",
    "ParameterFlow",
    "ShadowReport",
    "TensorStats",
    "cli_main",
    "dot_available",
    "gradient_flow_plot",
    "gradient_flow_summary",
    "profile",
    "record_activations",
    "record_modules",
    "shadow",
    "to_dot",
    "to_html",
    "to_svg",
    "tolerance_for",
    "trace_backward",
]
