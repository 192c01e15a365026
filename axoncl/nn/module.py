"""``Parameter`` and ``Module``: the containers that layers, optimizers and ``save`` share."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping
from contextvars import ContextVar
from typing import Any

import numpy as np

from ..backends import host_dtype, host_to_like, to_backend, to_numpy
from ..graph import _TRACK_MODULES, MODULE_SCOPE
from ..variable import Variable

__all__ = ["Module", "Parameter", "RemovableHandle"]


class Parameter(Variable):
    """A leaf :class:`~axoncl.Variable` that a :class:`Module` owns and an optimizer updates.

    ``requires_grad`` defaults to True. Its ``name`` becomes the dotted path inside the model
    (``"features.0.weight"``) once it is assigned to a module, so the graph inspector can show it.

    Parameters
    ----------
    data
        An array of any array-API namespace (or a Variable, whose data is taken).
    requires_grad
        Whether the optimizer's gradient is computed for it.
    name
        A name for the inspector; a module sets the dotted path.

    Examples
    --------
    >>> import numpy as np
    >>> p = Parameter(np.zeros(3))
    >>> p.requires_grad, p.is_leaf
    (True, True)
    """

    __slots__ = ()

    def __init__(self, data: Any, requires_grad: bool = True, *, name: str | None = None) -> None:
        super().__init__(data, requires_grad=requires_grad, name=name)

    def __repr__(self) -> str:
        label = f"{self.name!r}, " if self.name else ""
        return f"Parameter({label}shape={self.shape}, dtype={self.dtype}, backend={self.backend})"


class RemovableHandle:
    """Returned by ``register_forward_hook``; ``remove()`` unregisters the hook.

    Parameters
    ----------
    hooks
        The module's hook table.
    key
        This hook's key in it.

    Examples
    --------
    >>> import numpy as np
    >>> from axoncl import nn
    >>> layer, shapes = nn.Linear(2, 2), []
    >>> handle = layer.register_forward_hook(lambda module, args, out: shapes.append(out.shape))
    >>> _ = layer(np.ones((1, 2), np.float32))
    >>> handle.remove()
    >>> _ = layer(np.ones((1, 2), np.float32))
    >>> shapes
    [(1, 2)]
    """

    def __init__(self, hooks: dict[int, Any], key: int) -> None:
        self._hooks = hooks
        self._key = key

    def remove(self) -> None:
        self._hooks.pop(self._key, None)


class Module:
    """Base class of layers and models.

    Assigning a :class:`Parameter`, a sub-``Module`` or (through :meth:`register_buffer`) a
    buffer as an attribute registers it; :meth:`parameters`, :meth:`state_dict`, :meth:`to`
    and friends then find it. Calling the module runs :meth:`forward` and the forward hooks.

    Examples
    --------
    >>> import numpy as np
    >>> from axoncl import nn
    >>> class Net(nn.Module):
    ...     def __init__(self):
    ...         super().__init__()
    ...         self.fc = nn.Linear(4, 2)
    ...     def forward(self, x):
    ...         return self.fc(x).relu()
    >>> net = Net()
    >>> [name for name, _ in net.named_parameters()]
    ['fc.weight', 'fc.bias']
    >>> net(np.ones((3, 4))).shape
    (3, 2)
    """

    training: bool

    def __init__(self) -> None:
        object.__setattr__(self, "_parameters", OrderedDict())
        object.__setattr__(self, "_buffers", OrderedDict())
        object.__setattr__(self, "_modules", OrderedDict())
        object.__setattr__(self, "_forward_hooks", OrderedDict())
        object.__setattr__(self, "_hook_counter", 0)
        object.__setattr__(self, "training", True)

    # -- registration --------------------------------------------------------------------
    def __setattr__(self, name: str, value: Any) -> None:
        if "_parameters" not in self.__dict__:
            raise RuntimeError(
                f"{type(self).__name__}: call super().__init__() before assigning attributes"
            )
        if isinstance(value, Parameter):
            self._forget(name)
            self.register_parameter(name, value)
        elif isinstance(value, Module):
            self._forget(name)
            self.add_module(name, value)
        elif name in self._parameters or name in self._modules:
            if value is not None:
                kind = "Parameter" if name in self._parameters else "Module"
                raise TypeError(
                    f"{type(self).__name__}: cannot assign {type(value).__name__} to "
                    f"{name!r} (a {kind} is expected, or None)"
                )
            (self._parameters if name in self._parameters else self._modules)[name] = None
        elif name in self._buffers:
            self._buffers[name] = value.data if isinstance(value, Variable) else value
        else:
            object.__setattr__(self, name, value)

    def _forget(self, name: str) -> None:
        for table in (self._parameters, self._buffers, self._modules):
            table.pop(name, None)

    def __getattr__(self, name: str) -> Any:
        # Only called when normal lookup fails: parameters, buffers and children live in tables.
        tables = self.__dict__
        for key in ("_parameters", "_buffers", "_modules"):
            table = tables.get(key)
            if table is not None and name in table:
                return table[name]
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def __delattr__(self, name: str) -> None:
        for table in (self._parameters, self._buffers, self._modules):
            if name in table:
                del table[name]
                return
        object.__delattr__(self, name)

    def register_parameter(self, name: str, param: Parameter | None) -> None:
        """Add ``param`` under ``name`` (``None`` records an absent parameter, e.g. no bias)."""
        if param is not None and not isinstance(param, Parameter):
            raise TypeError(
                f"register_parameter: expected a Parameter or None for {name!r}, got "
                f"{type(param).__name__}"
            )
        self.__dict__.pop(name, None)
        if param is not None:
            param.name = name
        self._parameters[name] = param

    def register_buffer(self, name: str, array: Any) -> None:
        """Add a non-trainable array (e.g. BatchNorm's running mean) that ``state_dict`` saves
        and :meth:`to` moves."""
        self.__dict__.pop(name, None)
        self._buffers[name] = array.data if isinstance(array, Variable) else array

    def add_module(self, name: str, module: Module | None) -> None:
        """Add a child module under ``name``; its parameters get names prefixed ``name.``."""
        if module is not None and not isinstance(module, Module):
            raise TypeError(
                f"add_module: expected a Module for {name!r}, got {type(module).__name__}"
            )
        self.__dict__.pop(name, None)
        self._modules[name] = module
        if module is not None:
            for sub, param in module.named_parameters():
                param.name = f"{name}.{sub}"

    # -- traversal -----------------------------------------------------------------------
    def named_children(self) -> Iterator[tuple[str, Module]]:
        for name, module in self._modules.items():
            if module is not None:
                yield name, module

    def children(self) -> Iterator[Module]:
        for _, module in self.named_children():
            yield module

    def named_modules(self, prefix: str = "") -> Iterator[tuple[str, Module]]:
        """Every module in the tree, this one first, each once."""
        seen: set[int] = set()
        stack = [(prefix, self)]
        while stack:
            name, module = stack.pop()
            if id(module) in seen:
                continue
            seen.add(id(module))
            yield name, module
            kids = [(f"{name}.{n}" if name else n, m) for n, m in module.named_children()]
            stack.extend(reversed(kids))

    def modules(self) -> Iterator[Module]:
        for _, module in self.named_modules():
            yield module

    def named_parameters(
        self, prefix: str = "", recurse: bool = True
    ) -> Iterator[tuple[str, Parameter]]:
        """``(dotted name, Parameter)`` pairs; each shared parameter once. Also sets each
        parameter's ``.name`` to its dotted name."""
        seen: set[int] = set()
        modules = self.named_modules(prefix) if recurse else iter([(prefix, self)])
        for mod_name, module in modules:
            for name, param in module._parameters.items():
                if param is None or id(param) in seen:
                    continue
                seen.add(id(param))
                full = f"{mod_name}.{name}" if mod_name else name
                param.name = full
                yield full, param

    def parameters(self, recurse: bool = True) -> Iterator[Parameter]:
        for _, param in self.named_parameters(recurse=recurse):
            yield param

    def named_buffers(self, prefix: str = "") -> Iterator[tuple[str, Any]]:
        for mod_name, module in self.named_modules(prefix):
            for name, buf in module._buffers.items():
                if buf is not None:
                    yield (f"{mod_name}.{name}" if mod_name else name), buf

    def buffers(self) -> Iterator[Any]:
        for _, buf in self.named_buffers():
            yield buf

    def apply(self, fn: Callable[[Module], Any]) -> Module:
        """Call ``fn`` on every child (recursively), then on this module; returns ``self``."""
        for child in self.children():
            child.apply(fn)
        fn(self)
        return self

    # -- modes and gradients -------------------------------------------------------------
    def train(self, mode: bool = True) -> Module:
        """Training mode (dropout active, batch statistics in BatchNorm); returns ``self``."""
        for module in self.modules():
            object.__setattr__(module, "training", bool(mode))
        return self

    def eval(self) -> Module:
        """Evaluation mode: ``train(False)``."""
        return self.train(False)

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Forget every parameter's gradient (or set it to zeros with ``set_to_none=False``)."""
        for param in self.parameters():
            if set_to_none or param.grad is None:
                param.grad = None
            else:
                param.grad = Variable(param.xp.zeros_like(param.data))

    def requires_grad_(self, requires_grad: bool = True) -> Module:
        for param in self.parameters():
            param.requires_grad = requires_grad
        return self

    # -- devices -------------------------------------------------------------------------
    def to(self, backend: str | Any, device: Any = None) -> Module:
        """Move every parameter and buffer to ``backend`` (``"numpy"``, ``"opencl"``, …) in
        place; the Parameter objects stay the same, so an optimizer made earlier still holds
        them. Gradients are dropped. Returns ``self``.

        ``backend`` may name a device too (``"opencl:cpu"``, ``"opencl:0:1"``) when ``device``
        is None.
        """
        if device is None and isinstance(backend, str) and ":" in backend:
            device = backend  # the OpenCL namespace resolves device specs itself
        for param in self.parameters():
            param.data = to_backend(param.data, backend, device=device)
            param.grad = None
        for module in self.modules():
            for name, buf in module._buffers.items():
                if buf is not None:
                    module._buffers[name] = to_backend(buf, backend, device=device)
        return self

    # -- state ---------------------------------------------------------------------------
    def state_dict(self) -> OrderedDict[str, Any]:
        """Every parameter's and buffer's array by dotted name (the arrays, not copies)."""
        state: OrderedDict[str, Any] = OrderedDict()
        names = {id(p): name for name, p in self.named_parameters()}
        for mod_name, module in self.named_modules():
            prefix = f"{mod_name}." if mod_name else ""
            for name, param in module._parameters.items():
                if param is not None and names.get(id(param)) == prefix + name:
                    state[prefix + name] = param.data
            for name, buf in module._buffers.items():
                if buf is not None:
                    state[prefix + name] = buf
        return state

    def load_state_dict(self, state_dict: Mapping[str, Any], strict: bool = True) -> None:
        """Copy arrays from ``state_dict`` into the parameters and buffers, converting each to
        the backend, device and dtype of the value it replaces.

        Raises
        ------
        KeyError
            With ``strict=True``, when keys are missing or unexpected; the message lists them.
        ValueError
            When a shape differs; the message names the key and both shapes.
        """
        params = dict(self.named_parameters())
        buffers = {}
        for mod_name, module in self.named_modules():
            for name, buf in module._buffers.items():
                if buf is not None:
                    buffers[f"{mod_name}.{name}" if mod_name else name] = (module, name)
        own = set(params) | set(buffers)
        given = set(state_dict)
        missing = sorted(own - given)
        unexpected = sorted(given - own)
        if strict and (missing or unexpected):
            parts = []
            if missing:
                parts.append(f"missing keys {missing}")
            if unexpected:
                parts.append(f"unexpected keys {unexpected}")
            raise KeyError(f"load_state_dict: {type(self).__name__}: " + "; ".join(parts))
        mismatched = []
        for key in sorted(own & given):
            value = state_dict[key]
            value = value.data if isinstance(value, Variable) else value
            current = params[key].data if key in params else _buffer(buffers[key])
            if tuple(value.shape) != tuple(current.shape):
                mismatched.append(
                    f"{key}: expected shape {tuple(current.shape)}, got {tuple(value.shape)}"
                )
        if mismatched:
            raise ValueError(
                f"load_state_dict: {type(self).__name__}: shape mismatch for "
                + "; ".join(mismatched)
            )
        for key in sorted(own & given):
            value = state_dict[key]
            value = value.data if isinstance(value, Variable) else value
            if key in params:
                param = params[key]
                param.data = _like(value, param.data)
            else:
                module, name = buffers[key]
                module._buffers[name] = _like(value, module._buffers[name])

    # -- calling -------------------------------------------------------------------------
    def register_forward_hook(
        self, hook: Callable[[Module, tuple[Any, ...], Any], Any]
    ) -> RemovableHandle:
        """Call ``hook(module, inputs, output)`` after each forward; a returned value replaces
        the output. Returns a handle whose ``remove()`` unregisters it."""
        key = self._hook_counter
        object.__setattr__(self, "_hook_counter", key + 1)
        self._forward_hooks[key] = hook
        return RemovableHandle(self._forward_hooks, key)

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError(f"{type(self).__name__}: forward() is not defined")

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if _TRACK_MODULES[0]:  # the inspector groups ops by the module call that made them
            return _call_in_scope(self, args, kwargs)
        out = self.forward(*args, **kwargs)
        if self._forward_hooks:
            return self._run_hooks(args, out)
        return out

    def _run_hooks(self, args: tuple[Any, ...], out: Any) -> Any:
        for hook in list(self._forward_hooks.values()):
            result = hook(self, args, out)
            if result is not None:
                out = result
        return out

    # -- printing ------------------------------------------------------------------------
    def extra_repr(self) -> str:
        return ""

    def __repr__(self) -> str:
        head = f"{type(self).__name__}({self.extra_repr()}"
        kids = list(self.named_children())
        if not kids:
            return head + ")"
        lines = [head]
        for name, child in kids:
            text = repr(child).replace("\n", "\n  ")
            lines.append(f"  ({name}): {text}")
        return "\n".join(lines) + "\n)"


def _call_in_scope(module: Module, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """``module(*args, **kwargs)`` with ``MODULE_SCOPE`` naming this call for the inspector.

    A call's path is its attribute path below the outermost module called (``"layer1.0.bn"``;
    the outermost is ``""``); a module called again in the same region gets ``#2``, ``#3``, …
    so that each call is its own group.
    """
    outer = MODULE_SCOPE.get()
    parent = _CALLER.get()
    if outer is None or parent is None:
        path = ""
    else:
        parent_path, _ = outer[-1]
        name = next((k for k, child in parent._modules.items() if child is module), None)
        name = name or type(module).__name__.lower()  # a module that is no attribute
        path = f"{parent_path}.{name}" if parent_path else name
    calls = _SCOPE_CALLS.get(path, 0) + 1
    _SCOPE_CALLS[path] = calls
    if calls > 1:
        path = f"{path}#{calls}"
    token = MODULE_SCOPE.set((*(outer or ()), (path, type(module).__name__)))
    caller = _CALLER.set(module)
    try:
        out = module.forward(*args, **kwargs)
        return module._run_hooks(args, out) if module._forward_hooks else out
    finally:
        _CALLER.reset(caller)
        MODULE_SCOPE.reset(token)


# While module tracking is on: the module whose call is running (per thread, like the scope),
# and calls per path (reset by axoncl.inspect.record_modules, so each recorded region numbers
# its own calls).
_CALLER: ContextVar[Module | None] = ContextVar("axoncl_module_caller", default=None)
_SCOPE_CALLS: dict[str, int] = {}


def _buffer(entry: tuple[Module, str]) -> Any:
    module, name = entry
    return module._buffers[name]


def _like(value: Any, current: Any) -> Any:
    """A copy of ``value`` on the backend, device and dtype of ``current`` (through the host:
    loading weights is a one-time cost)."""
    host = np.array(to_numpy(value), dtype=host_dtype(current.dtype), copy=True)
    return host_to_like(host, current)
