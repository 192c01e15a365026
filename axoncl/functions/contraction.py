"""Einstein summation, built from existing ops (sum, permute_dims, reshape, matmul)."""

from __future__ import annotations

import math
import string
from typing import Any

from ..backends import device_kwargs
from ..variable import Variable
from ._util import as_variable
from .linalg import matmul

__all__ = ["einsum"]


def _parse(subscripts: str, operands: list[Variable]) -> tuple[list[str], str]:
    """Input terms and the output term, with ``...`` replaced by unused capital letters."""
    text = subscripts.replace(" ", "")
    if "->" in text:
        lhs, out = text.split("->")
    else:
        lhs, out = text, None
    terms = lhs.split(",")
    if len(terms) != len(operands):
        raise ValueError(
            f"einsum: subscripts {subscripts!r} name {len(terms)} operands, got {len(operands)}"
        )
    spare = [c for c in string.ascii_uppercase if c not in text]
    ellipsis_len = 0
    for term, x in zip(terms, operands, strict=True):
        if "..." in term:
            ellipsis_len = max(ellipsis_len, x.ndim - (len(term) - 3))
    fill = "".join(spare[:ellipsis_len])
    parsed = []
    for term, x in zip(terms, operands, strict=True):
        if "..." in term:
            n = x.ndim - (len(term) - 3)
            term = term.replace("...", fill[ellipsis_len - n :])
        if not all(c.isalpha() for c in term) or len(term) != x.ndim:
            raise ValueError(
                f"einsum: term {term!r} does not fit an operand of shape {x.shape} "
                f"(subscripts {subscripts!r})"
            )
        parsed.append(term)
    if out is None:
        counts = {c: "".join(parsed).count(c) for c in set("".join(parsed))}
        out = fill + "".join(sorted(c for c, n in counts.items() if n == 1 and c not in fill))
    else:
        out = out.replace("...", fill)
    return parsed, out


def _diagonal(x: Variable, term: str) -> tuple[Variable, str]:
    """Take the diagonal over each letter repeated within one term (``ii`` → ``i``)."""
    while True:
        repeated = next((c for c in term if term.count(c) > 1), None)
        if repeated is None:
            return x, term
        i = term.index(repeated)
        j = term.index(repeated, i + 1)
        n = x.shape[i]
        xp = x.xp
        eye = xp.eye(n, dtype=x.dtype, **device_kwargs(getattr(x.data, "device", None)))
        shape = [1] * x.ndim
        shape[i] = shape[j] = n
        x = (x * Variable(xp.reshape(eye, tuple(shape)))).sum(axis=j)
        term = term[:j] + term[j + 1 :]


def _reduce(x: Variable, term: str, keep: str) -> tuple[Variable, str]:
    """Sum out the letters of ``term`` that are not in ``keep``."""
    axes = tuple(i for i, c in enumerate(term) if c not in keep)
    if not axes:
        return x, term
    return x.sum(axis=axes), "".join(c for c in term if c in keep)


def _arrange(x: Variable, term: str, order: str) -> Variable:
    perm = tuple(term.index(c) for c in order)
    return x if perm == tuple(range(len(perm))) else x.permute(perm)


def _contract(a: Variable, ta: str, b: Variable, tb: str, keep: str) -> tuple[Variable, str]:
    """Contract two operands as one batched matmul; the result keeps the letters in ``keep``."""
    batch = "".join(c for c in ta if c in tb and c in keep)
    summed = "".join(c for c in ta if c in tb and c not in keep)
    left = "".join(c for c in ta if c not in tb)
    right = "".join(c for c in tb if c not in ta)
    sizes = {**dict(zip(ta, a.shape, strict=True)), **dict(zip(tb, b.shape, strict=True))}
    for c in batch + summed:
        if a.shape[ta.index(c)] != b.shape[tb.index(c)]:
            raise ValueError(
                f"einsum: letter {c!r} has size {a.shape[ta.index(c)]} in one operand and "
                f"{b.shape[tb.index(c)]} in another"
            )
    nb, nl, nr, ns = (math.prod(sizes[c] for c in s) for s in (batch, left, right, summed))
    a3 = _arrange(a, ta, batch + left + summed).reshape((nb, nl, ns))
    b3 = _arrange(b, tb, batch + summed + right).reshape((nb, ns, nr))
    out = matmul(a3, b3).reshape(tuple(sizes[c] for c in batch + left + right))
    return out, batch + left + right


def einsum(subscripts: str, *operands: Any) -> Variable:
    """Einstein summation over any number of operands, with ``...`` and repeated letters
    (diagonals); operands are contracted left to right, two at a time, as batched matmuls.

    Parameters
    ----------
    subscripts
        Such as ``"ij,jk->ik"``; without ``->`` the output holds the letters used once, sorted.
    operands
        The values, one per input term.

    Returns
    -------
    Variable
        The contraction.

    Raises
    ------
    ValueError
        When there is no operand, or an output letter is repeated or missing from the inputs.

    Examples
    --------
    >>> import numpy as np
    >>> from axoncl import einsum
    >>> a, b = np.ones((2, 3)), np.ones((3, 4))
    >>> einsum("ij,jk->ik", a, b).shape
    (2, 4)
    """
    xs = [as_variable(x) for x in operands]
    if not xs:
        raise ValueError("einsum: expected at least one operand, got none")
    terms, out = _parse(subscripts, xs)
    for c in out:
        if out.count(c) > 1 or not any(c in t for t in terms):
            raise ValueError(f"einsum: output letter {c!r} must appear once and in an input")
    pairs = [_diagonal(x, t) for x, t in zip(xs, terms, strict=True)]
    # Sum out, per operand, letters that no other operand and not the output use.
    reduced = []
    for k, (x, t) in enumerate(pairs):
        others = out + "".join(term for j, (_, term) in enumerate(pairs) if j != k)
        reduced.append(_reduce(x, t, others))
    acc, term = reduced[0]
    for k in range(1, len(reduced)):
        x, t = reduced[k]
        keep = out + "".join(tt for _, tt in reduced[k + 1 :])
        acc, term = _contract(acc, term, x, t, keep)
    acc, term = _reduce(acc, term, out)
    return _arrange(acc, term, out)
