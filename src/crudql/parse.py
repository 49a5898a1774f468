"""Text -> AST for both filter styles.

Lisp: one compiled regex lexes the text (checking brackets, depth and list lengths as it
goes, so hostile nesting never reaches anything recursive), and a Lark LALR parser built once
per process reduces the tokens with an inline transformer.

JSON: the standard `json` module decodes the text on the fast path, after a scan that rejects
nesting over the limit before `json` could recurse. When anything is wrong, the Lark JSON
grammar parses the text again so the error carries a line and a column.

Both styles end in `_build`, which checks arity and argument kinds against the one operator
table, so the two front ends cannot drift apart.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import TYPE_CHECKING, Any, Iterator

from lark import Lark, Token, Transformer
from lark.exceptions import UnexpectedInput, UnexpectedToken, VisitError
from lark.lexer import Lexer

from .ast import And, Expr, Field, Literal, ListValue, Not, Or, Predicate, Quantified, Span
from .errors import ArityError, LimitError, QueryError, QuerySyntaxError, QueryTypeError, UnknownOperatorError
from .operators import ArgKind, Operator, lookup, suggest_operator
from .schema import Schema

if TYPE_CHECKING:
    from pydantic import BaseModel

__all__ = ["Limits", "DEFAULT_LIMITS", "parse_filter", "parse_field_path", "FILTER_STYLES"]

FILTER_STYLES = ("lisp", "json")


@dataclass(frozen=True, slots=True)
class Limits:
    """Input limits (spec section 6). Over a limit is a `LimitError`, never a crash."""

    max_length: int = 10_000
    max_depth: int = 32
    max_list: int = 1_000
    max_sort_keys: int = 32

    def __post_init__(self) -> None:
        # Checking and printing walk the tree recursively; keep far from Python's stack limit.
        if not 1 <= self.max_depth <= 200:
            raise ValueError("max_depth must be between 1 and 200")


DEFAULT_LIMITS = Limits()


def _check_length(text: str, limits: Limits, what: str = "query") -> None:
    if len(text) > limits.max_length:
        raise LimitError(
            f"{what} is {len(text):,} characters long; the limit is {limits.max_length:,}",
            position=limits.max_length,
        )


# --------------------------------------------------------------------------- shared builder


@dataclass(frozen=True, slots=True)
class _Symbol:
    """A bare word in lisp text (a field name, or a mistake in value position)."""

    text: str
    span: Span


_ARITY_WORDS = {1: "1 argument", 2: "2 arguments", 3: "3 arguments"}


def _describe(raw: object) -> str:
    if isinstance(raw, _Symbol):
        return f"the bare word '{raw.text}'"
    if isinstance(raw, Literal):
        if raw.value is None:
            return "null"
        return f"the {raw.tag} {json.dumps(raw.value) if isinstance(raw.value, str) else raw.value!r}"
    if isinstance(raw, ListValue):
        return "a list"
    return "an expression"


def _span_of(raw: object) -> Span | None:
    return getattr(raw, "span", None)


def _err(cls: type[QueryError], message: str, span: Span | None) -> QueryError:
    if span is None:
        return cls(message)
    return cls(message, position=span.start, length=span.length)


def parse_field_path(text: str, span: Span | None = None) -> Field:
    """A dotted path (`info.companyName`, `accounts.*.industry`) as a `Field`."""
    segments = tuple(text.split("."))
    if not text.isascii() and _SURROGATE.search(text):
        raise _err(QuerySyntaxError, "invalid field path: unpaired UTF-16 surrogate", span)
    if "" in segments:
        raise _err(QuerySyntaxError, f"invalid field path '{text}': empty segment", span)
    if segments[0] == "*":
        raise _err(QuerySyntaxError, f"invalid field path '{text}': '*' cannot be the first segment", span)
    return Field(segments, span)


def _as_field(raw: object, op: Operator) -> Field:
    if type(raw) is Field:
        return raw  # the JSON style converts field names directly
    if isinstance(raw, _Symbol):
        return parse_field_path(raw.text, raw.span)
    if isinstance(raw, Literal) and isinstance(raw.value, str):
        return parse_field_path(raw.value, raw.span)
    raise _err(
        QuerySyntaxError,
        f"'{op.name}' expects a field name as its first argument, found {_describe(raw)}",
        _span_of(raw),
    )


def _as_value(raw: object, op: Operator, kind: ArgKind) -> Literal | ListValue:
    if kind is ArgKind.VALUE and type(raw) is Literal and (raw.value is not None or op.null_value):
        return raw  # the common case, first
    span = _span_of(raw)
    if kind is ArgKind.LIST:
        if isinstance(raw, ListValue):
            return raw
        raise _err(
            QuerySyntaxError,
            f"'{op.name}' expects a list of values like (\"a\" \"b\"), found {_describe(raw)}",
            span,
        )
    if isinstance(raw, Literal):
        if kind in (ArgKind.PATTERN, ArgKind.STRING) and not isinstance(raw.value, str):
            raise _err(QueryTypeError, f"'{op.name}' expects a string, found {_describe(raw)}", span)
        if kind is ArgKind.PATTERN:
            _check_pattern(raw)
        if raw.value is None and not op.null_value:
            raise _err(
                QueryTypeError,
                f"'{op.name}' cannot take null; test for null with (is-null f) or (= f null)",
                span,
            )
        return raw
    if isinstance(raw, _Symbol):
        hint = "strings need double quotes"
        if raw.text.lower() in ("true", "false", "null"):
            hint = f"literals are lower case: {raw.text.lower()}"
        raise _err(
            QuerySyntaxError, f"'{op.name}' expects a value, found the bare word '{raw.text}'; {hint}", span
        )
    raise _err(QuerySyntaxError, f"'{op.name}' expects a single value, found {_describe(raw)}", span)


def _check_pattern(lit: Literal) -> None:
    pattern = lit.value
    assert isinstance(pattern, str)
    if pattern.endswith("\\") and (len(pattern) - len(pattern.rstrip("\\"))) % 2 == 1:
        raise _err(
            QuerySyntaxError,
            "LIKE pattern ends with a lone escape '\\'; write '\\\\' for a literal backslash",
            lit.span,
        )


def _build(op_token: str, op_span: Span | None, args: list[Any], span: Span | None) -> Expr:
    """One node from an operator name and its already-converted arguments."""
    op = lookup(op_token)
    if op is None:
        suggestion = suggest_operator(op_token)
        hint = f"; did you mean '{suggestion}'?" if suggestion else "; see docs/language.md for the operators"
        raise _err(UnknownOperatorError, f"unknown operator '{op_token}'{hint}", op_span)
    _check_arity(op, len(args), span if span is not None else op_span)
    return _build_op(op, args, span)


def _build_op(op: Operator, args: list[Any], span: Span | None) -> Expr:
    """The node, once the operator is known and its arity checked."""
    if op.name in ("and", "or"):
        children = tuple(_as_expr(a, op) for a in args)
        return And(children, span) if op.name == "and" else Or(children, span)
    if op.name == "not":
        return Not(_as_expr(args[0], op), span)
    field = _as_field(args[0], op)
    if op.name in ("any", "all"):
        return Quantified(op.name, field, _as_expr(args[1], op), span)
    values = tuple([_as_value(a, op, k) for a, k in zip(args[1:], op.args[1:])])
    return Predicate(op.name, field, values, span)


def _check_arity(op: Operator, count: int, span: Span | None) -> None:
    if op.variadic:
        if count >= 1:
            return
        expected = f"at least 1 {op.args[-1].value}"
    else:
        if count == len(op.args):
            return
        expected = f"{_ARITY_WORDS.get(len(op.args), str(len(op.args)) + ' arguments')} ({op.arity_text})"
    raise _err(ArityError, f"'{op.name}' takes {expected}, got {count}", span)


def _as_expr(raw: object, op: Operator) -> Expr:
    if isinstance(raw, (And, Or, Not, Predicate, Quantified)):
        return raw
    raise _err(
        QuerySyntaxError,
        f"'{op.name}' expects an expression like (= field value), found {_describe(raw)}",
        _span_of(raw),
    )


# --------------------------------------------------------------------------- lisp lexer

_LISP_TOKEN = re.compile(
    r"""
    (?P<ws>\s+|;[^\n]*)
    |(?P<lpar>\((?:\s|;[^\n]*(?:\n|\Z))*(?P<head>[^\s()\[\]";]+)?)
    |(?P<lsqb>\[)
    |(?P<close>[)\]])
    |(?P<string>"(?:[^"\\]|\\.)*")
    |(?P<atom>[^\s()\[\]";]+)
    |(?P<bad>")
    """,
    re.VERBOSE | re.DOTALL,
)
_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(?:(\.[0-9]+)?([eE][+-]?[0-9]+)?)\Z")
_LOOKS_NUMERIC = re.compile(r"[+-]?\.?[0-9]")
_SURROGATE = re.compile("[\ud800-\udfff]")
_KEYWORDS: dict[str, Any] = {"true": True, "false": False, "null": None}
_STRING_DECODER = json.JSONDecoder(strict=False)
_MATCHING = {")": "(", "]": "["}


class _Tok:
    """A token for Lark's LALR parser: it reads only `.type`; positions feed our messages.

    Lighter than `lark.Token` (a str subclass), which matters on the hot path.
    """

    __slots__ = ("type", "value", "start_pos", "end_pos")
    line = column = end_line = end_column = None

    def __init__(self, type_: str, value: Any, start: int, end: int) -> None:
        self.type = type_
        self.value = value
        self.start_pos = start
        self.end_pos = end

    def __repr__(self) -> str:
        return f"_Tok({self.type}, {self.value!r})"


def _decode_string(raw: str, start: int) -> str:
    if "\\" not in raw:
        plain = raw[1:-1]
        # A raw lone surrogate is no more valid than an escaped one (the JSON style rejects both).
        if not plain.isascii() and _SURROGATE.search(plain):
            raise QuerySyntaxError("invalid string: unpaired UTF-16 surrogate", position=start, length=len(raw))
        return plain
    try:
        value: str = _STRING_DECODER.decode(raw)
    except json.JSONDecodeError as exc:
        # `json` reports a bad \uXXXX at its 'u'; point at the backslash like other bad escapes.
        at = exc.pos - 1 if raw[exc.pos : exc.pos + 1] == "u" and raw[exc.pos - 1 : exc.pos] == "\\" else exc.pos
        raise QuerySyntaxError(
            "invalid escape in string; use JSON escapes: \\\" \\\\ \\/ \\b \\f \\n \\r \\t \\uXXXX",
            position=start + at,
            length=2,
        ) from None
    if _SURROGATE.search(value):
        raise QuerySyntaxError("invalid \\u escape: unpaired UTF-16 surrogate", position=start, length=len(raw))
    return value


def _number(text: str, start: int) -> int | float:
    match = _NUMBER.match(text)
    if match is None:
        raise QuerySyntaxError(f"invalid number '{text}'", position=start, length=len(text))
    if match.group(1) is None and match.group(2) is None:
        try:
            return int(text)
        except ValueError:  # more digits than Python converts (sys.get_int_max_str_digits)
            raise QueryTypeError(
                f"integer of {len(text):,} digits is out of range", position=start, length=len(text)
            ) from None
    value = float(text)
    if not math.isfinite(value):
        raise QueryTypeError(f"number '{text}' is out of range", position=start, length=len(text))
    return value


def lex_lisp(text: str, limits: Limits) -> list[_Tok]:
    """The tokens of `text`, with brackets, depth and list lengths already checked.

    A '(' and the operator after it are one HEAD token (value: the name and its span). A
    bracket whose first item is a literal, or that is a '[', is a list of literals and comes
    out as one LIST token holding a `ListValue`. A form with no form inside it is built right
    away, by the same `_build` the grammar's `form` rule calls, and comes out as one NODE
    token: the parser then sees only the nesting of forms, and its per-token cost is most of
    a parse.
    """
    tokens: list[_Tok] = []
    append = tokens.append
    # Open brackets: [char, start, literal items or None for a form, index of the form's HEAD
    # token, whether a form is nested in it].
    stack: list[list[Any]] = []
    items: list[Literal] | None = None  # the literals of the innermost open list
    max_depth = limits.max_depth
    for m in _LISP_TOKEN.finditer(text):
        kind = m.lastgroup
        if kind == "ws":
            continue
        start = m.start()
        if kind == "lpar" or kind == "lsqb":
            if items is not None:
                raise QuerySyntaxError(
                    "a list holds only literals (strings, numbers, true, false, null), found a nested bracket",
                    position=start,
                )
            if len(stack) >= max_depth:
                raise LimitError(f"nesting is deeper than the limit of {max_depth} levels", position=start)
            if kind == "lsqb":
                items = []
                stack.append(["[", start, items, 0, False])
                continue
            word = m.group("head")
            if word is not None and word not in _KEYWORDS and not _LOOKS_NUMERIC.match(word):
                if stack:
                    stack[-1][4] = True
                stack.append(["(", start, None, len(tokens), False])
                end = m.end()
                append(_Tok("HEAD", (word, Span(end - len(word), end)), start, end))
                continue
            after = m.end()
            if word is None and after < len(text) and text[after] in "([":
                # A form without an operator: the parser rejects the token, after the depth
                # limit has had its say (100,000 '(' is a limit error, not a syntax error).
                stack.append(["(", start, None, len(tokens), True])
                append(_Tok("LPAR", "(", start, start + 1))
                continue
            items = []
            stack.append(["(", start, items, 0, False])
            if word is not None:  # the list's first literal
                end = m.end()
                _list_item(items, _atom(word, end - len(word), end), limits)
            continue
        if kind == "close":
            char = m.group()
            if not stack:
                raise QuerySyntaxError(f"unmatched '{char}'", position=start)
            opener, open_at, open_items, head_index, nested = stack.pop()
            if opener != _MATCHING[char]:
                raise QuerySyntaxError(f"'{char}' does not match the '{opener}' at offset {open_at}", position=start)
            if open_items is not None:
                append(_Tok("LIST", ListValue(tuple(open_items), Span(open_at, start + 1)), open_at, start + 1))
            elif nested:
                append(_Tok("RPAR", ")", start, start + 1))
            else:
                node = _flat_form(tokens, head_index, start + 1)
                del tokens[head_index:]
                append(_Tok("NODE", node, open_at, start + 1))
            items = stack[-1][2] if stack else None
            continue
        end = m.end()
        if kind == "string":
            token = _Tok("LITERAL", _decode_string(m.group(), start), start, end)
        elif kind == "atom":
            token = _atom(m.group(), start, end)
        else:  # a '"' with no closing quote
            raise QuerySyntaxError("unterminated string: missing closing '\"'", position=start)
        if items is not None:
            _list_item(items, token, limits)
            continue
        append(token)
    if stack:
        opener, open_at = stack[-1][0], stack[-1][1]
        closer = ")" if opener == "(" else "]"
        raise QuerySyntaxError(
            f"unexpected end of input: missing '{closer}' for the '{opener}' at offset {open_at}",
            position=open_at,
        )
    return tokens


def _flat_form(tokens: list[_Tok], head_index: int, end: int) -> Expr:
    """The node of a form whose arguments are all atoms and lists (tokens[head_index:])."""
    head = tokens[head_index]
    name, name_span = head.value
    try:
        return _build(name, name_span, [_lisp_arg(t) for t in tokens[head_index + 1 :]], Span(head.start_pos, end))
    except UnknownOperatorError as exc:
        raise _unquoted_list(exc, tokens) from None


def _atom(word: str, start: int, end: int) -> _Tok:
    if word in _KEYWORDS:
        return _Tok("LITERAL", _KEYWORDS[word], start, end)
    if _LOOKS_NUMERIC.match(word):
        return _Tok("LITERAL", _number(word, start), start, end)
    return _Tok("SYMBOL", word, start, end)


def _list_item(items: list[Literal], token: _Tok, limits: Limits) -> None:
    if token.type == "SYMBOL":
        raise QuerySyntaxError(
            f"a list holds only literals (strings, numbers, true, false, null), found the bare word "
            f"'{token.value}'; strings need double quotes",
            position=token.start_pos,
            length=token.end_pos - token.start_pos,
        )
    if len(items) >= limits.max_list:
        raise LimitError(
            f"list has more than {limits.max_list:,} items",
            position=token.start_pos,
            length=token.end_pos - token.start_pos,
        )
    items.append(Literal(token.value, Span(token.start_pos, token.end_pos)))


class _TokenListLexer(Lexer):
    """Hands Lark the tokens that `lex_lisp` already produced (the text *is* the token list)."""

    def __init__(self, lexer_conf: Any) -> None:
        pass

    def lex(self, data: Any) -> Iterator[Any]:  # type: ignore[override]
        return iter(data)


def _lisp_arg(x: Any) -> Any:
    if isinstance(x, _Tok):
        if x.type == "LITERAL":
            return Literal(x.value, Span(x.start_pos, x.end_pos))
        if x.type == "SYMBOL":
            return _Symbol(x.value, Span(x.start_pos, x.end_pos))
        return x.value  # LIST, NODE
    return x


class _LispTransformer(Transformer[Any, Any]):
    def start(self, children: list[Any]) -> Any:
        return _lisp_arg(children[0]) if children else None

    def form(self, c: list[Any]) -> Expr:
        name, name_span = c[0].value
        return _build(name, name_span, [_lisp_arg(x) for x in c[1:-1]], Span(c[0].start_pos, c[-1].end_pos))


_TOKEN_WORDS = {
    "HEAD": "'(' and an operator",
    "LPAR": "'('",
    "RPAR": "')'",
    "SYMBOL": "an operator or field name",
    "LITERAL": "a value",
    "LIST": "a list",
    "NODE": "an expression",
    "$END": "the end of the query",
}


@lru_cache(maxsize=None)
def _lisp_parser() -> Lark:
    grammar = resources.files("crudql.grammar").joinpath("lisp.lark").read_text(encoding="utf-8")
    return Lark(
        grammar,
        parser="lalr",
        lexer=_TokenListLexer,
        transformer=_LispTransformer(),
        propagate_positions=False,
        maybe_placeholders=False,
    )


_BLANK = re.compile(r"(?:\s|;[^\n]*(?:\n|\Z))*")


def _skip_blank(text: str, position: int) -> int:
    m = _BLANK.match(text, position)
    return m.end() if m else position


def _lisp_syntax_error(exc: UnexpectedInput, tokens: list[_Tok], text: str) -> QueryError:
    if isinstance(exc, UnexpectedToken):
        tok = exc.token
        if tok.type == "$END":
            return QuerySyntaxError("unexpected end of the query", position=tokens[-1].end_pos if tokens else 0)
        position, length = tok.start_pos, max(1, tok.end_pos - tok.start_pos)
        if tok.type == "LPAR":
            after = _skip_blank(text, tok.end_pos)
            message = f"expected an operator name after '(', found '{text[after]}'"
            position, length = after, 1
        elif "$END" in exc.expected:
            message = (
                f"unexpected {_TOKEN_WORDS.get(tok.type, 'token')} after the end of the expression; "
                "combine expressions with (and ...) or (or ...)"
            )
        else:
            words = sorted({_TOKEN_WORDS.get(t, t) for t in exc.expected})
            message = f"unexpected {_TOKEN_WORDS.get(tok.type, 'token')}; expected {' or '.join(words)}"
        return QuerySyntaxError(message, position=position, length=length)
    return QuerySyntaxError(str(exc).splitlines()[0], position=getattr(exc, "pos_in_stream", None))


def _unquoted_list(error: QueryError, tokens: list[_Tok]) -> QueryError:
    """`(in f (AWS GCP))` reads as a form with the unknown operator `AWS`; where the enclosing
    operator takes a list at that place, say what is wrong instead: unquoted strings.
    Only runs on the error path."""
    if not isinstance(error, UnknownOperatorError) or error.position is None:
        return error
    head = next(
        (i for i, t in enumerate(tokens) if t.type == "HEAD" and t.value[1].start == error.position), None
    )
    if head is None:
        return error
    depth, count, j = 0, 0, head - 1  # count the items before this form in the enclosing one
    while j >= 0:
        t = tokens[j]
        if t.type == "RPAR":
            depth += 1
        elif t.type == "HEAD":
            if depth == 0:
                break
            depth -= 1
            if depth == 0:
                count += 1
        elif depth == 0:
            count += 1
        j -= 1
    if j < 0:
        return error
    outer = lookup(tokens[j].value[0])
    if outer is None or count >= len(outer.args) or outer.args[count] is not ArgKind.LIST:
        return error
    word = tokens[head].value[0]
    return QuerySyntaxError(
        f"a list holds only literals (strings, numbers, true, false, null), found the bare word '{word}'; "
        "strings need double quotes",
        position=error.position,
        length=error.length,
    )


def _parse_lisp(text: str, limits: Limits) -> Expr | None:
    tokens = lex_lisp(text, limits)
    if not tokens:
        return None
    try:
        result = _lisp_parser().parse(tokens)  # type: ignore[arg-type]
    except UnknownOperatorError as exc:
        raise _unquoted_list(exc, tokens) from None
    except VisitError as exc:
        if isinstance(exc.orig_exc, QueryError):
            raise _unquoted_list(exc.orig_exc, tokens) from None
        raise
    except UnexpectedInput as exc:
        raise _lisp_syntax_error(exc, tokens, text) from None
    if not isinstance(result, (And, Or, Not, Predicate, Quantified)):
        raise _err(
            QuerySyntaxError,
            f"a filter is an expression like (= field value), found {_describe(result)}",
            _span_of(result),
        )
    return result


# --------------------------------------------------------------------------- JSON
#
# The converter reads plain decoded JSON. On the slow path the Lark grammar decodes the same
# document into look-alike values that also carry a `.span` (str/int/float/list subclasses,
# and `_Const` for true/false/null), so one converter serves both paths and errors found on
# the slow path point into the text.


class _Pairs(list):  # type: ignore[type-arg]
    """A JSON object as its (key, value) pairs: a repeated key stays visible as an error
    instead of silently overwriting (object_pairs_hook)."""

    span: Span | None = None


class _PStr(str):
    span: Span


class _PInt(int):
    span: Span


class _PFloat(float):
    span: Span


class _PList(list):  # type: ignore[type-arg]
    span: Span


@dataclass(frozen=True, slots=True)
class _Const:
    value: bool | None
    span: Span


def _reject_constant(name: str) -> Any:
    raise ValueError(name)


_JSON_DECODER = json.JSONDecoder(object_pairs_hook=_Pairs, parse_constant=_reject_constant)
_JSON_STRUCTURE = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{}]', re.DOTALL)


def _prescan_json(text: str, limits: Limits) -> None:
    """Reject nesting that could make `json` recurse deeply, before it runs.

    A form may take two brackets in the object style ({"op": [...]}), so the raw bound is
    twice the depth limit; the exact limit is applied to forms and lists as they convert.
    """
    bound = 2 * limits.max_depth + 1
    if text.count("[") + text.count("{") <= bound:
        return
    depth = 0
    for m in _JSON_STRUCTURE.finditer(text):
        c = m.group()
        if c == "[" or c == "{":
            depth += 1
            if depth > bound:
                raise LimitError(f"nesting is deeper than the limit of {limits.max_depth} levels", position=m.start())
        elif c == "]" or c == "}":
            depth -= 1


def _check_python_depth(value: Any, limits: Limits) -> None:
    """The prescan for an already-decoded value (iterative, so any depth is safe)."""
    bound = 2 * limits.max_depth + 1
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            item = list(item.values())
        if isinstance(item, (list, tuple)):
            if depth > bound:
                raise LimitError(f"nesting is deeper than the limit of {limits.max_depth} levels")
            stack.extend((child, depth + 1) for child in item if isinstance(child, (list, tuple, dict)))


class _JSONTransformer(Transformer[Any, Any]):
    def start(self, c: list[Any]) -> Any:
        return self._item(c[0])

    def _item(self, x: Any) -> Any:
        if not isinstance(x, Token):
            return x
        span = Span(x.start_pos or 0, x.end_pos or 0)
        if x.type == "STRING":
            value: Any = _PStr(json.loads(x))
        elif x.type == "NUMBER":
            try:
                number = json.loads(x)
            except ValueError:  # more digits than Python converts (sys.get_int_max_str_digits)
                raise QueryTypeError(
                    f"number of {len(x):,} digits is out of range", position=span.start, length=len(x)
                ) from None
            value = _PInt(number) if isinstance(number, int) else _PFloat(number)
        else:
            return _Const({"TRUE": True, "FALSE": False, "NULL": None}[x.type], span)
        value.span = span
        return value

    def array(self, c: list[Any]) -> _PList:
        out = _PList(self._item(x) for x in c[1:-1] if not (isinstance(x, Token) and x.type == "COMMA"))
        out.span = Span(c[0].start_pos, c[-1].end_pos)
        return out

    def object(self, c: list[Any]) -> _Pairs:
        out = _Pairs(x for x in c[1:-1] if isinstance(x, tuple))
        out.span = Span(c[0].start_pos, c[-1].end_pos)
        return out

    def pair(self, c: list[Any]) -> tuple[Any, Any]:
        return (self._item(c[0]), self._item(c[2]))


@lru_cache(maxsize=None)
def _json_parser() -> Lark:
    grammar = resources.files("crudql.grammar").joinpath("json.lark").read_text(encoding="utf-8")
    return Lark(grammar, parser="lalr", transformer=_JSONTransformer(), maybe_placeholders=False)


_JSON_TOKEN_WORDS = {
    "STRING": "a string",
    "NUMBER": "a number",
    "TRUE": "true",
    "FALSE": "false",
    "NULL": "null",
    "LSQB": "'['",
    "RSQB": "']'",
    "LBRACE": "'{'",
    "RBRACE": "'}'",
    "COMMA": "','",
    "COLON": "':'",
    "$END": "the end of the document",
}


def _json_positioned(text: str) -> Any:
    """Decode JSON with spans on every value; syntax errors say where and what was expected."""
    try:
        return _json_parser().parse(text)
    except VisitError as exc:
        if isinstance(exc.orig_exc, QueryError):
            raise exc.orig_exc from None
        raise
    except UnexpectedToken as exc:
        tok = exc.token
        expected = sorted({_JSON_TOKEN_WORDS.get(t, t) for t in exc.expected})
        got = "end of the document" if tok.type == "$END" else f"'{tok}'"
        position = len(text.rstrip()) if tok.type == "$END" else tok.start_pos
        raise QuerySyntaxError(
            f"invalid JSON: unexpected {got}; expected {' or '.join(expected)}", position=position
        ) from None
    except UnexpectedInput as exc:
        position = getattr(exc, "pos_in_stream", None)
        char = text[position] if position is not None and position < len(text) else ""
        if char == '"':
            message = "invalid JSON string: unterminated, a raw control character, or a bad escape"
        elif char.isalpha():
            word = re.match(r"[A-Za-z_]+", text[position:])
            message = (
                f"invalid JSON: unexpected '{word.group() if word else char}'; "
                "strings need double quotes, and the literals are true, false and null"
            )
        else:
            message = f"invalid JSON: unexpected character {char!r}"
        raise QuerySyntaxError(message, position=position) from None


_LIST_TYPES = (list, _PList, tuple)
_SCALAR_TYPES = (str, int, float, bool, type(None))


def _is_list(value: Any) -> bool:
    return type(value) in _LIST_TYPES


def _json_node(node: Any, depth: int, limits: Limits) -> Expr:
    """A JSON filter node (array form or one-key object form) -> AST."""
    if depth > limits.max_depth:
        raise _err(LimitError, f"nesting is deeper than the limit of {limits.max_depth} levels", _span_of(node))
    t = type(node)
    if t is dict:
        node = _Pairs(node.items())
        t = _Pairs
    if t is _Pairs:
        if len(node) != 1:
            keys = ", ".join(json.dumps(str(k)) for k, _ in node)
            what = "an empty object" if not node else f"{len(node)} keys ({keys})"
            raise _err(
                QuerySyntaxError,
                f"a JSON object node has exactly one key, the operator, found {what}",
                _span_of(node),
            )
        op_name, arg = node[0]
        op = _json_operator(op_name)
        args = _object_args(op, arg)
    elif t in _LIST_TYPES:
        if not node:
            raise _err(QuerySyntaxError, "empty array: a node is [operator, arguments...]", _span_of(node))
        op_name = node[0]
        if not isinstance(op_name, str):
            raise _err(
                QuerySyntaxError, 'the first element of a node must be an operator name like "="', _span_of(op_name)
            )
        op = _json_operator(op_name)
        args = node[1:]
    else:
        raise _err(
            QuerySyntaxError,
            f'a filter node is an array ["op", ...] or an object {{"op": [...]}}, found {_json_text(node)}',
            _span_of(node),
        )
    span = None if t is list else _span_of(node)
    if op.variadic:
        if not args:
            _check_arity(op, 0, span)
        kind = op.args[0]
        converted = [_json_arg(a, kind, depth, limits) for a in args]
    else:
        if len(args) != len(op.args):
            _check_arity(op, len(args), span)
        converted = [_json_arg(a, k, depth, limits) for a, k in zip(args, op.args)]
    return _build_op(op, converted, span)


def _json_text(value: Any) -> str:
    if isinstance(value, _Const):
        value = value.value
    try:
        return json.dumps(value)
    except (TypeError, ValueError):
        return repr(value)


def _json_operator(name: Any) -> Operator:
    op = lookup(name) if isinstance(name, str) else None
    if op is None:
        _build(str(name), _span_of(name), [], _span_of(name))  # raises, with a did-you-mean
    assert op is not None
    return op


def _object_args(op: Operator, arg: Any) -> list[Any]:
    """The argument list of an object-form node: {"op": [args]}, or one of the shorthands."""
    t = type(arg)
    if op.name == "not" and (t is dict or t is _Pairs or (t in _LIST_TYPES and arg and isinstance(arg[0], str))):
        return [arg]
    if len(op.args) == 1 and op.args[0] is ArgKind.FIELD and isinstance(arg, str):
        return [arg]
    if t in _LIST_TYPES:
        return list(arg)
    raise _err(
        QuerySyntaxError,
        f'the value of "{op.name}" must be its argument list, like {{"{op.name}": [...]}}',
        _span_of(arg),
    )


def _json_arg(node: Any, kind: ArgKind, depth: int, limits: Limits) -> Any:
    t = type(node)
    if t is str:
        if kind is ArgKind.FIELD:
            return parse_field_path(node)
        return _json_literal(node)
    if kind is ArgKind.EXPR:
        if t in _LIST_TYPES or t is dict or t is _Pairs:
            return _json_node(node, depth + 1, limits)
        return _json_literal(node)
    if t in _LIST_TYPES:
        span = _span_of(node)
        if depth + 1 > limits.max_depth:
            raise _err(LimitError, f"nesting is deeper than the limit of {limits.max_depth} levels", span)
        if len(node) > limits.max_list:
            raise _err(LimitError, f"list has more than {limits.max_list:,} items", span)
        return ListValue(tuple([_json_literal(item) for item in node]), span)
    if t is dict or t is _Pairs:
        raise _err(QuerySyntaxError, "an object is only valid as a filter node", _span_of(node))
    if kind is ArgKind.FIELD and t is _PStr:
        return _Symbol(str(node), node.span)
    return _json_literal(node)


def _json_literal(node: Any) -> Literal:
    t = type(node)
    if t is str:
        if not node.isascii() and _SURROGATE.search(node):
            raise _err(QuerySyntaxError, "invalid \\u escape: unpaired UTF-16 surrogate", None)
        return Literal(node)
    if t is int or t is bool or node is None:
        return Literal(node)
    span = _span_of(node)
    value = node.value if t is _Const else node
    if type(value) in _PLAIN:
        value = _PLAIN[type(value)](value)
    if t in _LIST_TYPES or t is dict or t is _Pairs:
        raise _err(QuerySyntaxError, "a list holds only literals (strings, numbers, true, false, null)", span)
    if isinstance(value, float) and not math.isfinite(value):
        raise _err(QueryTypeError, "number is out of range", span)
    if isinstance(value, str) and _SURROGATE.search(value):
        raise _err(QuerySyntaxError, "invalid \\u escape: unpaired UTF-16 surrogate", span)
    if not isinstance(value, _SCALAR_TYPES):
        raise _err(QuerySyntaxError, f"not a JSON literal: {value!r}", span)
    return Literal(value, span)


_PLAIN: dict[type, type] = {_PStr: str, _PInt: int, _PFloat: float}


def _parse_json(source: Any, limits: Limits, schema: Schema | None) -> Expr | None:
    if not isinstance(source, str):
        _check_python_depth(source, limits)
        return _json_tree(source, limits, schema)
    if not source.strip():
        return None
    _prescan_json(source, limits)
    try:
        decoded = _JSON_DECODER.decode(source)
    except (ValueError, RecursionError):
        decoded = _FAILED
    if decoded is not _FAILED:
        try:
            return _json_tree(decoded, limits, schema)
        except QueryError as exc:
            if exc.position is not None:
                raise
            # Parse again with positions, to say where.
    return _json_tree(_json_positioned(source), limits, schema)


_FAILED = object()


def _json_tree(node: Any, limits: Limits, schema: Schema | None) -> Expr | None:
    if node is None or (isinstance(node, _Const) and node.value is None):
        return None
    if isinstance(node, str) and not node.strip():
        return None
    expr = _json_node(node, 1, limits)
    return schema.check(expr) if schema is not None else expr


# --------------------------------------------------------------------------- public entry


def _resolve_schema(schema: Schema | type[BaseModel] | None) -> Schema | None:
    if schema is None or isinstance(schema, Schema):
        return schema
    return Schema.from_model(schema)


def _style(style: str, allowed: tuple[str, ...], param: str) -> str:
    if not isinstance(style, str) or style.lower() not in allowed:
        raise QueryError(
            f"unknown {param} style {style!r}; use one of: {', '.join(allowed)}", code="request", param=param
        )
    return style.lower()


def parse_filter(
    text: Any,
    style: str = "lisp",
    schema: Schema | type[BaseModel] | None = None,
    *,
    limits: Limits = DEFAULT_LIMITS,
) -> Expr | None:
    """Parse a filter; None (or blank text) means match-all.

    With a schema (a `crudql.Schema` or a pydantic model class) the tree is also checked:
    fields resolved to their canonical paths and types, literals coerced. Every client
    mistake raises `QueryError` with a position into `text`.
    """
    style = _style(style, FILTER_STYLES, "qs")
    resolved = _resolve_schema(schema)
    if text is None:
        return None
    if isinstance(text, str):
        return _parse_cached(text, style, resolved, limits)
    if style == "lisp":
        raise QueryError("a lisp filter must be a string", code="request", param="q")
    return _parse_uncached(text, style, resolved, limits)


@lru_cache(maxsize=1024)
def _parse_cached(text: str, style: str, schema: Schema | None, limits: Limits) -> Expr | None:
    # ASTs are immutable, so one parsed tree can be shared by every caller.
    return _parse_uncached(text, style, schema, limits)


def _parse_uncached(text: Any, style: str, schema: Schema | None, limits: Limits) -> Expr | None:
    try:
        if isinstance(text, str):
            _check_length(text, limits)
        if style == "json":
            return _parse_json(text, limits, schema)
        expr = _parse_lisp(text, limits)
        if expr is not None and schema is not None:
            expr = schema.check(expr)
        return expr
    except QueryError as exc:
        if isinstance(text, str):
            exc.located(text)
        raise

