"""The op rules, one module per family; ``registry`` maps op names to their Function classes.

Each family module lists its public ops in its own ``__all__``, the one place an op's name is
written out; this package and ``axoncl`` re-export exactly those lists
(``tests/test_op_lists.py`` checks that the layers agree).
"""

from ..graph import Function, registry
from . import (
    activation,
    arithmetic,
    attention,
    contraction,
    conv,
    decompositions,
    indexing,
    linalg,
    loss,
    matrices,
    normalization,
    norms,
    reduction,
    scan,
    shape,
)
from .activation import *  # noqa: F403
from .arithmetic import *  # noqa: F403
from .attention import *  # noqa: F403
from .contraction import *  # noqa: F403
from .conv import *  # noqa: F403
from .decompositions import *  # noqa: F403
from .indexing import *  # noqa: F403
from .linalg import *  # noqa: F403
from .loss import *  # noqa: F403
from .matrices import *  # noqa: F403
from .normalization import *  # noqa: F403
from .norms import *  # noqa: F403
from .reduction import *  # noqa: F403
from .scan import *  # noqa: F403
from .shape import *  # noqa: F403

__all__ = ["Function", "registry"]
__all__ += activation.__all__
__all__ += attention.__all__
__all__ += arithmetic.__all__
__all__ += conv.__all__
__all__ += contraction.__all__
__all__ += decompositions.__all__
__all__ += indexing.__all__
__all__ += linalg.__all__
__all__ += loss.__all__
__all__ += matrices.__all__
__all__ += normalization.__all__
__all__ += norms.__all__
__all__ += reduction.__all__
__all__ += scan.__all__
__all__ += shape.__all__
