"""Safe custom-schedule expressions of one variable (``step``, ``epoch`` or ``x``).

A source such as ``"0.95 ** epoch"`` is parsed with :func:`ast.parse` and walked
against a whitelist into a tree of closures, once; the resulting
:class:`Expression` is then a plain callable ``(x: float) -> float``. Nothing is
ever handed to ``eval``/``exec``/``compile``. All arithmetic is done on floats, so
no operation can build a huge integer; overflow, domain errors and division by
zero become :class:`ExpressionError`, which names the field and the column.

``compiler`` parses and checks, ``closures`` evaluates, ``expression`` holds the result.
"""

from .compiler import (
    CONSTANTS,
    MAX_DEPTH,
    MAX_LITERAL,
    MAX_SOURCE_CHARS,
    REFUSED_CONSTANTS,
    VARIABLES,
    compile_expression,
    forget_compiled,
)
from .expression import Expression, ExpressionError, Node
from .functions import FUNCTIONS, UNARY_MATH

__all__ = [
    "CONSTANTS",
    "FUNCTIONS",
    "MAX_DEPTH",
    "MAX_LITERAL",
    "MAX_SOURCE_CHARS",
    "REFUSED_CONSTANTS",
    "UNARY_MATH",
    "VARIABLES",
    "Expression",
    "ExpressionError",
    "Node",
    "compile_expression",
    "forget_compiled",
]
