"""Sample inputs for every op: the registered rules (``OP_SAMPLES``) and the ops built from them
(``COMPOSED_SAMPLES``).

A sample is a function of Variables plus the shapes and value domain of its differentiable
inputs; ``sample.inputs(xp, dtype)`` builds them on any backend, with the same values
everywhere (a seed per sample). Non-differentiable inputs (conditions, class targets, index
arrays) come from ``constants`` and follow the differentiable ones.

To add an op: append ``OpSample``s for it below, under its family (the module in
``axoncl/functions/`` that defines it). ``test_every_registered_op_has_samples`` fails until
every name in ``axoncl.graph.registry`` has at least one sample. Choose domains where the op is
differentiable with a margin much larger than gradcheck's eps (1e-6): ``positive`` for log and
sqrt, ``away_from(0)`` for kinks, ``spread`` where ties would split a gradient.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

import numpy as np
import pytest
from xp_backends import to_xp

import axoncl as ax
from axoncl import Variable
from axoncl.backends import backend_name

Shape = tuple[int, ...]
Domain = Callable[[np.random.Generator, Shape], np.ndarray]


# -- value domains ---------------------------------------------------------------------------
def normal(rng: np.random.Generator, shape: Shape) -> np.ndarray:
    return rng.standard_normal(shape)


def positive(rng: np.random.Generator, shape: Shape) -> np.ndarray:
    return rng.uniform(0.5, 2.0, shape)


def probability(rng: np.random.Generator, shape: Shape) -> np.ndarray:
    return rng.uniform(0.05, 0.95, shape)


def spread(rng: np.random.Generator, shape: Shape) -> np.ndarray:
    """Distinct values at least 0.25 apart: no ties for max, min and sorting-like rules."""
    n = int(np.prod(shape))
    return (rng.permutation(n) - n / 2.0).reshape(shape) * 0.25 + rng.uniform(0, 0.05, shape)


def away_from(*points: float, margin: float = 0.1) -> Domain:
    """Normal values moved at least ``margin`` away from each of ``points`` (kinks, bounds)."""

    def domain(rng: np.random.Generator, shape: Shape) -> np.ndarray:
        x = rng.standard_normal(shape)
        for p in points:
            near = np.abs(x - p) < margin
            x = np.where(near, p + np.where(x >= p, margin, -margin) * 1.5, x)
        return x

    return domain


def with_zeros(count: int) -> Domain:
    """Positive and negative values with ``count`` exact zeros (prod's special cases)."""

    def domain(rng: np.random.Generator, shape: Shape) -> np.ndarray:
        x = rng.uniform(0.5, 1.5, shape) * rng.choice([-1.0, 1.0], shape)
        x.reshape(-1)[:count] = 0.0
        return x

    return domain


# -- the sample type -------------------------------------------------------------------------
@dataclass(frozen=True)
class OpSample:
    """One way to call op ``op_name``: ``fn(*differentiable, *constants)``.

    Attributes
    ----------
    op_name
        The registry name (``axoncl.graph.registry``) or, for composed ops, the public name.
    fn
        Takes the Variables from :meth:`inputs` and returns a Variable.
    shapes
        One shape per differentiable input.
    domain
        Where values are drawn; one domain for all inputs, or one per input.
    constants
        ``rng -> tuple of NumPy arrays`` (bool or int): inputs that take no gradient.
    note
        Tells two samples of one op apart in test ids.
    gradgrad
        Whether ``gradgradcheck`` runs on this sample.
    unsupported
        ``(backend, reason)`` pairs: backends that cannot run this sample, and why.
    """

    op_name: str
    fn: Callable[..., Variable]
    shapes: tuple[Shape, ...]
    domain: Domain | tuple[Domain, ...] = normal
    constants: Callable[[np.random.Generator], tuple[np.ndarray, ...]] | None = None
    note: str = ""
    gradgrad: bool = True
    unsupported: tuple[tuple[str, str], ...] = ()
    family: str = field(default="", compare=False)

    def __str__(self) -> str:
        shapes = ",".join("x".join(map(str, s)) or "()" for s in self.shapes)
        return f"{self.op_name}:{self.note or shapes}"

    def skip_if_unsupported(self, xp: ModuleType) -> None:
        """Skip the calling test, with the recorded reason, where ``xp`` cannot run this."""
        reasons = dict(self.unsupported)
        if backend_name(xp) in reasons:
            pytest.skip(reasons[backend_name(xp)])

    def inputs(self, xp: ModuleType, dtype: Any = None) -> list[Variable]:
        """The differentiable inputs (``requires_grad=True``, ``dtype``), then the constants."""
        rng = np.random.default_rng(zlib.crc32(str(self).encode()))
        domains = (
            self.domain if isinstance(self.domain, tuple) else (self.domain,) * len(self.shapes)
        )
        name = _dtype_name(dtype) if dtype is not None else "float64"
        out = [
            Variable(to_xp(xp, d(rng, s), name), requires_grad=True)
            for d, s in zip(domains, self.shapes, strict=True)
        ]
        if self.constants is not None:
            out.extend(Variable(to_xp(xp, c)) for c in self.constants(rng))
        return out


def _dtype_name(dtype: Any) -> str:
    """``"float64"`` for numpy's ``np.float64``, ``array_api_strict.float64``, ``torch.float64``."""
    return (getattr(dtype, "__name__", None) or str(dtype)).rsplit(".", 1)[-1]


def _bools(shape: Shape) -> Callable[[np.random.Generator], tuple[np.ndarray, ...]]:
    return lambda rng: (rng.random(shape) < 0.5,)


def _ints(high: int, shape: Shape) -> Callable[[np.random.Generator], tuple[np.ndarray, ...]]:
    return lambda rng: (rng.integers(0, high, shape).astype(np.int64),)


def _fixed(*arrays: Any) -> Callable[[np.random.Generator], tuple[np.ndarray, ...]]:
    return lambda rng: tuple(np.asarray(a) for a in arrays)


def _family(name: str, samples: Sequence[OpSample]) -> list[OpSample]:
    return [OpSample(**{**s.__dict__, "family": name}) for s in samples]


# -- arithmetic ------------------------------------------------------------------------------
_BINARY_SHAPES = [((2, 3), (2, 3)), ((2, 3), (3,)), ((4, 1, 3), (2, 1)), ((), (2, 3))]
_NONZERO = away_from(0.0, margin=0.3)

ARITHMETIC = _family(
    "arithmetic",
    [
        *[OpSample("add", lambda x, y: x + y, s) for s in _BINARY_SHAPES],
        OpSample("add", lambda x: 2.5 + x, ((2, 3),), note="scalar"),
        *[OpSample("subtract", lambda x, y: x - y, s) for s in _BINARY_SHAPES],
        OpSample("subtract", lambda x: 1.0 - x, ((2, 3),), note="scalar"),
        *[OpSample("multiply", lambda x, y: x * y, s) for s in _BINARY_SHAPES],
        OpSample("multiply", lambda x: x * x * 3.0, ((2, 3),), note="same-input"),
        *[
            OpSample("divide", lambda x, y: x / y, s, domain=(normal, _NONZERO))
            for s in _BINARY_SHAPES
        ],
        OpSample("divide", lambda x: 2.0 / x, ((2, 3),), domain=_NONZERO, note="scalar"),
        OpSample("negative", lambda x: -x, ((2, 3),)),
        OpSample("negative", lambda x: ax.negative(x), ((4,),)),
        OpSample("pow", lambda x: x**2.0, ((2, 3),), domain=positive, note="square"),
        OpSample("pow", lambda x: x.pow(3), ((5,),), domain=normal, note="int-cube"),
        OpSample("pow", lambda x: x**0.5, ((2, 3),), domain=positive, note="sqrt"),
        OpSample("pow", lambda x, y: x**y, ((2, 3), (3,)), domain=positive, note="both"),
        OpSample("pow", lambda y: 2.0**y, ((2, 3),), note="scalar-base"),
        OpSample("abs", lambda x: abs(x), ((2, 3),), domain=_NONZERO),
        OpSample("sign", lambda x: ax.sign(x) * x, ((2, 3),), domain=_NONZERO),
        OpSample("exp", lambda x: x.exp(), ((2, 3),)),
        OpSample("exp", lambda x: ax.exp(x), ((2, 1, 2),)),
        OpSample("expm1", lambda x: ax.expm1(x), ((2, 3),)),
        OpSample("log", lambda x: x.log(), ((2, 3),), domain=positive),
        OpSample("log1p", lambda x: ax.log1p(x), ((2, 3),), domain=positive),
        OpSample("sqrt", lambda x: x.sqrt(), ((2, 3),), domain=positive),
        OpSample("square", lambda x: x.square(), ((2, 3),)),
        OpSample("square", lambda x: ax.square(x), ((),)),
        OpSample("real", lambda x: ax.real(x) * x, ((2, 3),)),
        OpSample("imag", lambda x: ax.imag(x) + x, ((2, 3),), note="zero-on-real"),
        OpSample("conj", lambda x: ax.conj(x) * x, ((2, 3),)),
        OpSample("angle", lambda x: ax.angle(x) + x, ((2, 3),), domain=_NONZERO),
        OpSample(
            "clip",
            lambda x: x.clip(-0.5, 0.5),
            ((3, 4),),
            domain=away_from(-0.5, 0.5),
            note="both-bounds",
        ),
        OpSample("clip", lambda x: ax.clip(x, min=0.0), ((3, 4),), domain=_NONZERO, note="min"),
        OpSample(
            "clip", lambda x: ax.clip(x, max=0.3), ((3, 4),), domain=away_from(0.3), note="max"
        ),
        *[OpSample("maximum", lambda x, y: ax.maximum(x, y), s) for s in _BINARY_SHAPES[:3]],
        OpSample(
            "maximum", lambda x: ax.maximum(x, 0.0), ((2, 3),), domain=_NONZERO, note="scalar"
        ),
        *[OpSample("minimum", lambda x, y: ax.minimum(x, y), s) for s in _BINARY_SHAPES[:3]],
        OpSample(
            "minimum", lambda x: ax.minimum(1.0, x), ((2, 3),), domain=away_from(1.0), note="scalar"
        ),
        OpSample(
            "where", lambda x, y, c: ax.where(c, x, y), ((2, 3), (2, 3)), constants=_bools((2, 3))
        ),
        OpSample(
            "where",
            lambda x, y, c: ax.where(c, x, y),
            ((2, 3), (3,)),
            constants=_bools((2, 1)),
            note="broadcast",
        ),
        OpSample(
            "where",
            lambda x, c: ax.where(c, 0.0, x),
            ((4,),),
            constants=_bools((4,)),
            note="scalar",
        ),
    ],
)

# -- activation ------------------------------------------------------------------------------
ACTIVATION = _family(
    "activation",
    [
        OpSample("relu", lambda x: x.relu(), ((2, 3),), domain=_NONZERO),
        OpSample("relu", lambda x: ax.relu(x), ((2, 1, 4),), domain=_NONZERO),
        OpSample("leaky_relu", lambda x: ax.leaky_relu(x), ((2, 3),), domain=_NONZERO),
        OpSample(
            "leaky_relu", lambda x: ax.leaky_relu(x, 0.2), ((5,),), domain=_NONZERO, note="slope"
        ),
        OpSample("sigmoid", lambda x: x.sigmoid(), ((2, 3),)),
        OpSample("sigmoid", lambda x: ax.sigmoid(x * 8.0), ((6,),), note="wide"),
        OpSample("tanh", lambda x: x.tanh(), ((2, 3),)),
        OpSample("erf", lambda x: ax.erf(x), ((2, 3),)),
        OpSample("softmax", lambda x: x.softmax(), ((2, 3),)),
        OpSample("softmax", lambda x: ax.softmax(x, axis=0), ((3, 2, 2),), note="axis0"),
        OpSample("log_softmax", lambda x: x.log_softmax(), ((2, 3),)),
        OpSample("log_softmax", lambda x: ax.log_softmax(x, axis=1), ((2, 3, 2),), note="axis1"),
    ],
)

COMPOSED_ACTIVATION = _family(
    "activation",
    [
        OpSample("gelu", lambda x: ax.gelu(x), ((2, 3),)),
        OpSample("gelu", lambda x: ax.gelu(x, approximate="tanh"), ((2, 3),), note="tanh"),
        OpSample("silu", lambda x: ax.silu(x), ((2, 3),)),
        OpSample("softplus", lambda x: ax.softplus(x), ((2, 3),), domain=_NONZERO),
        OpSample(
            "softplus", lambda x: ax.softplus(x, beta=2.0), ((2, 3),), domain=_NONZERO, note="beta"
        ),
        OpSample("elu", lambda x: ax.elu(x), ((2, 3),), domain=_NONZERO),
        OpSample("elu", lambda x: ax.elu(x, alpha=0.5), ((5,),), domain=_NONZERO, note="alpha"),
    ],
)

# -- reduction -------------------------------------------------------------------------------
ReduceCall = Callable[..., Variable]


def _reductions(name: str, call: ReduceCall, domain: Domain = normal) -> list[OpSample]:
    return [
        OpSample(name, lambda x: call(x), ((2, 3),), domain=domain, note="all"),
        OpSample(name, lambda x: call(x, axis=1), ((2, 3),), domain=domain, note="axis1"),
        OpSample(
            name,
            lambda x: call(x, axis=(0, 2), keepdims=True),
            ((2, 3, 2),),
            domain=domain,
            note="axes02-keepdims",
        ),
        OpSample(name, lambda x: call(x, axis=-1), ((4,),), domain=domain, note="vector"),
    ]


REDUCTION = _family(
    "reduction",
    [
        *_reductions("sum", ax.sum),
        OpSample("sum", lambda x: x.sum(), ((),), note="0-d"),
        *_reductions("mean", ax.mean),
        *_reductions("max", ax.max, spread),
        *_reductions("min", ax.min, spread),
        *_reductions("prod", ax.prod, _NONZERO),
        # Prod's rule masks the zero cases with constants, so its own gradient misses the terms
        # through the zeros: first derivatives are right there, second derivatives are not.
        OpSample(
            "prod",
            lambda x: x.prod(axis=1),
            ((2, 3),),
            domain=with_zeros(1),
            note="one-zero",
            gradgrad=False,
        ),
        OpSample(
            "prod",
            lambda x: x.prod(),
            ((2, 3),),
            domain=with_zeros(2),
            note="two-zeros",
            gradgrad=False,
        ),
        *_reductions("logsumexp", ax.logsumexp),
    ],
)

COMPOSED_REDUCTION = _family(
    "reduction",
    [
        OpSample("var", lambda x: ax.var(x), ((2, 3),)),
        OpSample("var", lambda x: x.var(axis=1, correction=1), ((2, 4),), note="axis1-unbiased"),
        OpSample(
            "var", lambda x: ax.var(x, axis=(0, 2), keepdims=True), ((2, 3, 2),), note="keepdims"
        ),
        OpSample("std", lambda x: ax.std(x), ((2, 3),)),
        OpSample("std", lambda x: x.std(axis=0, correction=1), ((3, 2),), note="axis0-unbiased"),
    ],
)

# -- shape -----------------------------------------------------------------------------------
SHAPE = _family(
    "shape",
    [
        OpSample("reshape", lambda x: x.reshape(6, 4), ((2, 3, 4),)),
        OpSample("reshape", lambda x: ax.reshape(x, (-1,)), ((2, 3),), note="infer"),
        OpSample("reshape", lambda x: x.reshape((1, 1)), ((),), note="0-d"),
        OpSample("permute_dims", lambda x: ax.permute_dims(x, (2, 0, 1)), ((2, 3, 4),)),
        OpSample("permute_dims", lambda x: x.T, ((2, 3),), note="T"),
        OpSample("broadcast_to", lambda x: x.broadcast_to((2, 3, 4)), ((3, 1),)),
        OpSample("broadcast_to", lambda x: ax.broadcast_to(x, (3, 2)), ((),), note="0-d"),
        OpSample("astype", lambda x: ax.astype(x, "float64") * x, ((2, 3),)),
        OpSample("concat", lambda x, y: ax.concat([x, y], axis=1), ((2, 3), (2, 2))),
        OpSample(
            "concat", lambda x, y, z: ax.concat([x, y, z]), ((1, 3), (2, 3), (1, 3)), note="three"
        ),
        OpSample("concat", lambda x: ax.concat([x, x * 2.0], axis=-1), ((2, 2),), note="same"),
        OpSample("getitem", lambda x: x[1], ((3, 4),), note="int"),
        OpSample("getitem", lambda x: x[::2, 1:3], ((5, 4),), note="slices"),
        OpSample(
            "getitem",
            lambda x: x[::-2, -1:0:-2],
            ((5, 4),),
            note="negative-steps",
            unsupported=(("torch", "torch tensors do not support negative slice steps"),),
        ),
        OpSample("getitem", lambda x: x[..., None, -1], ((2, 3, 4),), note="ellipsis-none"),
        OpSample(
            "getitem",
            lambda x, i: x[i],
            ((4, 3),),
            constants=_fixed([2, 0, 2, -1]),
            note="int-array-repeats",
        ),
        OpSample(
            "getitem",
            lambda x, i: x[:, i],
            ((2, 4),),
            constants=_fixed([[3, 1], [1, 1]]),
            note="int-array-axis1",
        ),
        OpSample(
            "getitem",
            lambda x, i, j: x[i, j],
            ((3, 4),),
            constants=_fixed([0, 2, 2], [1, 3, 3]),
            note="rows-cols",
        ),
        OpSample("getitem", lambda x, m: x[m], ((3, 4),), constants=_bools((3, 4)), note="mask"),
        OpSample("pad", lambda x: ax.pad(x, 1), ((2, 3),)),
        OpSample("pad", lambda x: ax.pad(x, (1, 2), value=3.0), ((2, 3),), note="last-axis"),
        OpSample("pad", lambda x: ax.pad(x, [(0, 1), (2, 0), (0, 0)]), ((1, 2, 2),), note="pairs"),
    ],
)

COMPOSED_SHAPE = _family(
    "shape",
    [
        OpSample("split", lambda x: _product(ax.split(x, 2, axis=1)), ((2, 4),)),
        OpSample("split", lambda x: _product(ax.split(x, [1, 3])), ((4, 2),), note="indices"),
        OpSample("stack", lambda x, y: ax.stack([x, y], axis=1), ((2, 3), (2, 3))),
        OpSample("stack", lambda x: ax.stack([x, x.exp()], axis=-1), ((3,),), note="last"),
        OpSample("squeeze", lambda x: x.squeeze(), ((1, 3, 1),)),
        OpSample("squeeze", lambda x: ax.squeeze(x, axis=0), ((1, 3, 1),), note="axis0"),
        OpSample("unsqueeze", lambda x: x.unsqueeze(1), ((2, 3),)),
        OpSample("unsqueeze", lambda x: ax.unsqueeze(x, -1), ((2, 3),), note="last"),
        OpSample("flatten", lambda x: x.flatten(), ((2, 3, 2),)),
        OpSample("flatten", lambda x: ax.flatten(x, 1), ((2, 3, 2),), note="from1"),
        OpSample("transpose", lambda x: x.transpose(), ((2, 3),)),
        OpSample("transpose", lambda x: ax.transpose(x, 0, 2), ((2, 3, 4),), note="axes02"),
        OpSample("matrix_transpose", lambda x: x.mT, ((2, 2, 3),)),
    ],
)


def _product(parts: Sequence[Variable]) -> Variable:
    out = parts[0]
    for p in parts[1:]:
        out = out * p
    return out


# -- linalg ----------------------------------------------------------------------------------
LINALG = _family(
    "linalg",
    [
        OpSample("matmul", lambda x, y: x @ y, s, note=n)
        for n, s in [
            ("2d", ((2, 3), (3, 4))),
            ("vec-mat", ((3,), (3, 4))),
            ("mat-vec", ((2, 3), (3,))),
            ("dot", ((3,), (3,))),
            ("batch", ((2, 2, 3), (2, 3, 2))),
            ("batch-broadcast", ((2, 1, 2, 3), (3, 3, 2))),
            ("batch-mat", ((3, 2, 3), (3, 2))),
            ("vec-batch", ((3,), (2, 3, 2))),
        ]
    ]
    + [
        OpSample("linear", lambda x, w, b: ax.linear(x, w, b), ((4, 3), (5, 3), (5,)), note="2d"),
        OpSample("linear", lambda x, w: ax.linear(x, w), ((2, 3, 3), (4, 3)), note="batch-nobias"),
        OpSample("linear", lambda x, w: ax.linear(x, w), ((3,), (4, 3)), note="vector"),
        OpSample(
            "linear",
            lambda x, w, b: ax.linear(x, w, b, activation="relu"),
            ((4, 3), (5, 3), (5,)),
            domain=away_from(0.0, margin=0.3),
            note="relu",
            gradgrad=False,
        ),
    ],
)

# -- conv ------------------------------------------------------------------------------------
CONV = _family(
    "conv",
    [
        OpSample(
            "conv2d",
            lambda x, w, b: ax.conv2d(x, w, b, stride=2, padding=1),
            ((2, 2, 5, 4), (3, 2, 3, 3), (3,)),
            note="stride2-pad1-bias",
        ),
        OpSample(
            "conv2d",
            lambda x, w: ax.conv2d(x, w, dilation=2, groups=2),
            ((1, 4, 5, 5), (2, 2, 2, 2)),
            note="dilation2-groups2",
        ),
        OpSample(
            "conv2d",
            lambda x, w, b: ax.conv2d(x, w, b),
            ((2, 3, 2, 3), (2, 3, 1, 1), (2,)),
            note="1x1",
        ),
        OpSample("max_pool2d", lambda x: ax.max_pool2d(x, 2), ((2, 2, 4, 5),), domain=spread),
        OpSample(
            "max_pool2d",
            lambda x: ax.max_pool2d(x, 3, stride=2, padding=1),
            ((1, 2, 5, 5),),
            domain=spread,
            note="k3-s2-p1",
        ),
        OpSample("avg_pool2d", lambda x: ax.avg_pool2d(x, 2), ((2, 2, 4, 5),)),
        OpSample(
            "avg_pool2d",
            lambda x: ax.avg_pool2d(x, 3, stride=2, padding=1),
            ((1, 2, 5, 5),),
            note="k3-s2-p1",
        ),
        OpSample("dropout", lambda x: ax.dropout(x, 0.4, seed=1234), ((3, 5),)),
    ],
)

COMPOSED_CONV = _family(
    "conv",
    [
        OpSample(
            "conv1d",
            lambda x, w, b: ax.conv1d(x, w, b, stride=2, padding=1),
            ((2, 2, 7), (3, 2, 3), (3,)),
        ),
        OpSample(
            "adaptive_avg_pool2d", lambda x: ax.adaptive_avg_pool2d(x, (2, 3)), ((1, 2, 5, 4),)
        ),
        OpSample(
            "adaptive_avg_pool2d",
            lambda x: ax.adaptive_avg_pool2d(x, 2),
            ((1, 2, 4, 4),),
            note="even",
        ),
    ],
)

# -- loss ----------------------------------------------------------------------------------
LOSS = _family(
    "loss",
    [
        OpSample(
            "cross_entropy",
            lambda x, t: ax.cross_entropy(x, t),
            ((4, 3),),
            constants=_ints(3, (4,)),
        ),
        OpSample(
            "cross_entropy",
            lambda x, t: ax.cross_entropy(x, t, ignore_index=1),
            ((4, 3),),
            constants=_fixed([0, 1, 2, 1]),
            note="ignore",
        ),
        OpSample(
            "cross_entropy",
            lambda x, t: ax.cross_entropy(x, t, reduction="none"),
            ((5, 4),),
            constants=_ints(4, (5,)),
            note="none",
        ),
        OpSample(
            "cross_entropy",
            lambda x, t: ax.cross_entropy(x, t, reduction="sum"),
            ((1, 6),),
            constants=_ints(6, (1,)),
            note="one-row-sum",
        ),
    ],
)

# -- normalization ---------------------------------------------------------------------------
NORMALIZATION = _family(
    "normalization",
    [
        OpSample(
            "batch_norm",
            lambda x, w, b: ax.batch_norm(x, w, b),
            ((4, 3, 2, 2), (3,), (3,)),
            domain=(normal, positive, normal),
        ),
        OpSample(
            "batch_norm",
            lambda x, w, b: ax.batch_norm(x, w, b, eps=1e-3),
            ((5, 2), (2,), (2,)),
            domain=(normal, positive, normal),
            note="1d",
        ),
    ],
)

# -- loss (composed) -------------------------------------------------------------------------
COMPOSED_LOSS = _family(
    "loss",
    [
        OpSample("mse_loss", lambda x, t: x.mse_loss(t), ((2, 3), (2, 3))),
        OpSample(
            "mse_loss", lambda x, t: ax.mse_loss(x, t, reduction="none"), ((4,), (4,)), note="none"
        ),
        OpSample(
            "l1_loss",
            lambda x, t: ax.l1_loss(x, t, reduction="sum"),
            ((2, 3), (2, 3)),
            domain=(away_from(0.0, margin=2.0), normal),
        ),
        OpSample(
            "binary_cross_entropy",
            lambda p, t: p.binary_cross_entropy(t),
            ((2, 3), (2, 3)),
            domain=probability,
        ),
        OpSample(
            "binary_cross_entropy",
            lambda p, t: ax.binary_cross_entropy(p, t, reduction="sum"),
            ((4,), (4,)),
            domain=(probability, probability),
            note="sum",
        ),
        OpSample(
            "binary_cross_entropy_with_logits",
            lambda x, t: ax.binary_cross_entropy_with_logits(x, t),
            ((2, 3), (2, 3)),
            domain=(_NONZERO, probability),
        ),
        OpSample(
            "cross_entropy",
            lambda x, t: ax.cross_entropy(x, t, reduction="sum"),
            ((2, 3, 4),),
            constants=_ints(3, (2, 4)),
            note="spatial",
        ),
        OpSample(
            "cross_entropy",
            lambda x, t: ax.cross_entropy(x, t),
            ((5,),),
            constants=_fixed(3),
            note="unbatched",
        ),
        OpSample(
            "cross_entropy",
            lambda x, t: ax.cross_entropy(x, t, label_smoothing=0.2),
            ((4, 3),),
            constants=_ints(3, (4,)),
            note="smoothing",
        ),
        OpSample(
            "nll_loss",
            lambda x, t: ax.nll_loss(x.log_softmax(), t, reduction="none"),
            ((4, 3),),
            constants=_ints(3, (4,)),
        ),
    ],
)

# -- indexing --------------------------------------------------------------------------------
INDEXING = _family(
    "indexing",
    [
        OpSample(
            "take_along_axis",
            lambda x, i: ax.take_along_axis(x, i, axis=1),
            ((3, 4),),
            constants=_ints(4, (3, 5)),
            note="repeats",
        ),
        OpSample(
            "take_along_axis",
            lambda x, i: x.take_along_axis(i, axis=0),
            ((4, 2, 3),),
            constants=_fixed([[[0, 3, 3], [1, 0, 2]], [[1, 1, 0], [3, 3, 3]]]),
            note="axis0",
        ),
    ],
)

COMPOSED_INDEXING = _family(
    "indexing",
    [
        OpSample(
            "gather",
            lambda x, i: ax.gather(x, 1, i),
            ((3, 4),),
            constants=_ints(4, (2, 3)),
            note="smaller-index",
        ),
        OpSample(
            "one_hot",
            lambda x, t: (x * ax.one_hot(t, 4, dtype=x.dtype)).sum(axis=-1),
            ((5, 4),),
            constants=_ints(4, (5,)),
        ),
        OpSample(
            "argmax",
            lambda x: x.take_along_axis(x.argmax(axis=1, keepdims=True), axis=1),
            ((3, 5),),
            domain=spread,
        ),
        OpSample(
            "argmin",
            lambda x: x.take_along_axis(ax.argmin(x, axis=0, keepdims=True), axis=0),
            ((4, 2),),
            domain=spread,
        ),
    ],
)

# -- scan ------------------------------------------------------------------------------------
SCAN = _family(
    "scan",
    [
        OpSample("cumsum", lambda x: ax.cumsum(x, axis=1), ((2, 5),)),
        OpSample("cumsum", lambda x: x.cumsum(axis=0), ((4, 2, 3),), note="axis0"),
        OpSample("cumsum", lambda x: ax.cumsum(x), ((2, 3),), note="flat"),
    ],
)

# -- contraction and norms (composed) --------------------------------------------------------
COMPOSED_CONTRACTION = _family(
    "contraction",
    [
        OpSample("einsum", lambda a, b: ax.einsum("ij,jk->ik", a, b), s, note=n)
        for n, s in [("matmul", ((2, 3), (3, 4)))]
    ]
    + [
        OpSample("einsum", lambda a, b: ax.einsum("bij,bkj->bik", a, b), ((2, 3, 4), (2, 5, 4))),
        OpSample(
            "einsum", lambda a, b: ax.einsum("bhqd,bhkd->bhqk", a, b), ((1, 2, 3, 2), (1, 2, 4, 2))
        ),
        OpSample("einsum", lambda a, b: ax.einsum("i,j->ij", a, b), ((3,), (2,)), note="outer"),
        OpSample("einsum", lambda a: ax.einsum("ii->", a), ((3, 3),), note="trace"),
        OpSample("einsum", lambda a: ax.einsum("ij->ji", a), ((2, 3),), note="transpose"),
        OpSample(
            "einsum",
            lambda a, b, c: ax.einsum("ij,jk,kl->il", a, b, c),
            ((2, 3), (3, 2), (2, 4)),
            note="chain",
        ),
        OpSample(
            "einsum",
            lambda a, b: ax.einsum("...ij,...j", a, b),
            ((2, 3, 4), (2, 4)),
            note="ellipsis",
        ),
    ],
)

COMPOSED_NORMS = _family(
    "norms",
    [
        OpSample("norm", lambda x: ax.norm(x), ((2, 3),)),
        OpSample("norm", lambda x: x.norm(axis=1, keepdims=True), ((3, 4),), note="axis1"),
        OpSample("norm", lambda x: ax.norm(x, 1, axis=0), ((3, 2),), domain=_NONZERO, note="l1"),
        OpSample("norm", lambda x: ax.norm(x, 3.0, axis=-1), ((2, 4),), domain=_NONZERO, note="p3"),
        OpSample("norm", lambda x: ax.norm(x, float("inf")), ((2, 3),), domain=spread, note="inf"),
        OpSample("norm", lambda x: ax.norm(x, "fro", axis=(0, 1)), ((2, 3, 2),), note="fro-axes01"),
    ],
)


# -- decompositions and matrices -------------------------------------------------------------
def _invertible(rng: np.random.Generator, shape: Shape) -> np.ndarray:
    """Normal matrices moved away from singular: each gets ``n · I`` added."""
    return rng.standard_normal(shape) + shape[-1] * np.eye(shape[-1])


def _orthonormal(rng: np.random.Generator, shape: Shape) -> np.ndarray:
    return np.linalg.qr(rng.standard_normal(shape))[0]


def _symmetric(rng: np.random.Generator, shape: Shape) -> np.ndarray:
    """``Q diag(λ) Qᵀ`` with eigenvalues at least 0.5 apart: eigenvector gradients are defined."""
    q = _orthonormal(rng, shape)
    return (q * (1.4 * np.arange(shape[-1]) - 1.2)) @ np.swapaxes(q, -1, -2)


def _well_spread(rng: np.random.Generator, shape: Shape) -> np.ndarray:
    """``U diag(S) Vᵀ`` with singular values 1, 1.6, 2.2, …: singular vectors are defined."""
    m, n = shape[-2:]
    k = min(m, n)
    u = _orthonormal(rng, shape[:-2] + (m, k))
    v = _orthonormal(rng, shape[:-2] + (n, k))
    return (u * (1.0 + 0.6 * np.arange(k))) @ np.swapaxes(v, -1, -2)


def _flat(x: Variable) -> Variable:
    return x.reshape(tuple(x.shape[:-2]) + (-1,))


def _sym(a: Variable) -> Variable:
    """Symmetric input for eigh and cholesky, which read one triangle only."""
    return (a + a.mT) * 0.5


def _eigh_parts(a: Variable) -> Variable:
    """Eigenvalues and squared eigenvectors: blind to each eigenvector's sign."""
    w, v = ax.eigh(_sym(a))
    return ax.concat([w, _flat(v * v)], axis=-1)


def _svd_parts(a: Variable) -> Variable:
    """U², S and Vh²: blind to the signs of the singular vectors."""
    u, s, vh = ax.svd(a, full_matrices=False)
    return ax.concat([_flat(u * u), s, _flat(vh * vh)], axis=-1)


DECOMPOSITIONS = _family(
    "decompositions",
    [
        OpSample("det", lambda a: ax.det(a), ((3, 3),), domain=_invertible),
        OpSample("det", lambda a: ax.det(a), ((2, 2, 2),), note="batch"),
        OpSample("slogdet", lambda a: ax.slogdet(a).logabsdet, ((2, 3, 3),), domain=_invertible),
        OpSample("inv", lambda a: ax.inv(a), ((3, 3),), domain=_invertible),
        OpSample("inv", lambda a: ax.inv(a), ((2, 2, 2),), domain=_invertible, note="batch"),
        OpSample(
            "solve", lambda a, b: ax.solve(a, b), ((3, 3), (3, 2)), domain=(_invertible, normal)
        ),
        OpSample(
            "solve",
            lambda a, b: ax.solve(a, b),
            ((2, 3, 3), (3,)),
            domain=(_invertible, normal),
            note="vector",
        ),
        OpSample(
            "solve",
            lambda a, b: ax.solve(a, b),
            ((2, 1, 2, 2), (3, 2, 1)),
            domain=(_invertible, normal),
            note="batch-broadcast",
        ),
        OpSample(
            "solve_triangular",
            lambda a, b: ax.solve_triangular(a, b),
            ((3, 3), (3, 2)),
            domain=(_invertible, normal),
        ),
        OpSample(
            "solve_triangular",
            lambda a, b: ax.solve_triangular(a, b, upper=True),
            ((2, 1, 3, 3), (2, 3, 1)),
            domain=(_invertible, normal),
            note="upper-batch-broadcast",
        ),
        OpSample("cholesky", lambda a: ax.cholesky(_sym(a)), ((3, 3),), domain=_invertible),
        OpSample(
            "cholesky",
            lambda a: ax.cholesky(_sym(a @ a.mT), upper=True),
            ((2, 3, 3),),
            domain=_invertible,
            note="batch-upper",
        ),
        OpSample(
            "qr",
            lambda a: ax.concat([_flat(t) for t in ax.qr(a)], axis=-1),
            ((4, 3),),
            domain=_well_spread,
        ),
        OpSample(
            "qr",
            lambda a: ax.concat([_flat(t) for t in ax.qr(a)], axis=-1),
            ((2, 2, 4),),
            domain=_well_spread,
            note="wide-batch",
        ),
        OpSample(
            "eigh",
            _eigh_parts,
            ((2, 3, 3),),
            domain=_symmetric,
        ),
        OpSample("eigvalsh", lambda a: ax.eigvalsh(_sym(a)), ((2, 3, 3),), domain=_symmetric),
        OpSample(
            "svd",
            _svd_parts,
            ((2, 4, 3),),
            domain=_well_spread,
        ),
        OpSample(
            "svd",
            _svd_parts,
            ((2, 4),),
            domain=_well_spread,
            note="wide",
        ),
        OpSample("svdvals", lambda a: ax.svdvals(a), ((2, 3, 4),), domain=_well_spread),
    ],
)

COMPOSED_DECOMPOSITIONS = _family(
    "decompositions",
    [
        OpSample("pinv", lambda a: ax.pinv(a), ((2, 4, 3),), domain=_well_spread),
        OpSample("matrix_power", lambda a: ax.matrix_power(a, 3), ((2, 3, 3),)),
        OpSample(
            "matrix_power",
            lambda a: ax.matrix_power(a, -2),
            ((3, 3),),
            domain=_invertible,
            note="negative",
        ),
    ],
)

COMPOSED_MATRICES = _family(
    "matrices",
    [
        OpSample("diagonal", lambda a: ax.diagonal(a, offset=1), ((2, 3, 4),)),
        OpSample("diagonal", lambda a: ax.diagonal(a, offset=-2), ((4, 3),), note="below"),
        OpSample("trace", lambda a: ax.trace(a), ((2, 3, 3),)),
        OpSample("outer", lambda x, y: ax.outer(x, y), ((3,), (2,))),
        OpSample("vecdot", lambda x, y: ax.vecdot(x, y), ((2, 3), (4, 1, 3))),
        OpSample("vecdot", lambda x, y: ax.vecdot(x, y, axis=0), ((3, 2), (3, 2)), note="axis0"),
        OpSample("cross", lambda x, y: ax.cross(x, y), ((2, 3), (3,))),
        OpSample("cross", lambda x, y: ax.cross(x, y, axis=0), ((3, 2), (3, 2)), note="axis0"),
        OpSample("tensordot", lambda x, y: ax.tensordot(x, y), ((2, 3, 4), (3, 4, 2))),
        OpSample(
            "tensordot",
            lambda x, y: ax.tensordot(x, y, axes=([0, 2], [2, 0])),
            ((2, 3, 4), (4, 3, 2)),
            note="pairs",
        ),
        OpSample("vector_norm", lambda x: ax.vector_norm(x, axis=(0, 2)), ((2, 3, 2),)),
        OpSample(
            "vector_norm", lambda x: ax.vector_norm(x, ord=3), ((5,),), domain=_NONZERO, note="p3"
        ),
        OpSample("matrix_norm", lambda x: ax.matrix_norm(x), ((2, 3, 2),), note="fro"),
        OpSample(
            "matrix_norm",
            lambda x: ax.matrix_norm(x, ord="nuc"),
            ((2, 3, 2),),
            domain=_well_spread,
            note="nuc",
        ),
        OpSample(
            "matrix_norm",
            lambda x: ax.matrix_norm(x, ord=2, keepdims=True),
            ((3, 3),),
            domain=_well_spread,
            note="2",
        ),
        OpSample(
            "matrix_norm",
            lambda x: ax.matrix_norm(x, ord=float("inf")),
            ((3, 4),),
            domain=spread,
            note="inf",
        ),
        OpSample(
            "linalg.norm",
            lambda x: ax.linalg.norm(x, "fro", axis=(0, 2)),
            ((2, 3, 2),),
            note="matrix-axes",
        ),
    ],
)

# -- attention -------------------------------------------------------------------------------
_KEEP = np.array(  # every query row may attend to at least one key
    [[True, False, True, True, False], [False, False, True, False, False], [True] * 5]
)

ATTENTION = _family(
    "attention",
    [
        OpSample(
            "dot_product_attention",
            lambda q, k, v: ax.dot_product_attention(q, k, v),
            ((2, 3, 4), (2, 5, 4), (2, 5, 3)),
        ),
        OpSample(
            "dot_product_attention",
            lambda q, k, v: ax.dot_product_attention(q, k, v, is_causal=True, scale=0.7),
            ((1, 2, 4, 3), (1, 2, 6, 3), (1, 2, 6, 2)),
            note="causal",
        ),
        OpSample(
            "dot_product_attention",
            lambda q, k, v, keep: ax.dot_product_attention(q, k, v, keep),
            ((2, 3, 4), (2, 5, 4), (2, 5, 4)),
            constants=_fixed(_KEEP),
            note="bool-mask",
        ),
        OpSample(
            "dot_product_attention",
            lambda q, k, v, level: ax.dot_product_attention(
                q, k, v, level.astype(q.dtype).data * 0.5 - 1.0
            ),
            ((3, 2), (2, 4, 2), (4, 3)),
            constants=_fixed(np.arange(12).reshape(3, 4) % 5),  # a float mask from integers
            note="float-mask-broadcast",
        ),
    ],
)

OP_SAMPLES: list[OpSample] = [
    *ARITHMETIC,
    *ACTIVATION,
    *REDUCTION,
    *SHAPE,
    *LINALG,
    *CONV,
    *LOSS,
    *NORMALIZATION,
    *INDEXING,
    *SCAN,
    *ATTENTION,
    *DECOMPOSITIONS,
]
"""One or more samples for every op in ``axoncl.graph.registry``."""

COMPOSED_SAMPLES: list[OpSample] = [
    *COMPOSED_ACTIVATION,
    *COMPOSED_REDUCTION,
    *COMPOSED_SHAPE,
    *COMPOSED_LOSS,
    *COMPOSED_CONV,
    *COMPOSED_INDEXING,
    *COMPOSED_CONTRACTION,
    *COMPOSED_NORMS,
    *COMPOSED_DECOMPOSITIONS,
    *COMPOSED_MATRICES,
]
"""Samples of the public ops built from registered ones (no rule of their own)."""

ALL_SAMPLES: list[OpSample] = OP_SAMPLES + COMPOSED_SAMPLES


def samples_of(family: str) -> list[OpSample]:
    """Every sample, registered or composed, of the ops in ``axoncl/functions/<family>.py``."""
    return [s for s in ALL_SAMPLES if s.family == family]
