"""Lisp-style filter text -> AST.

One compiled regex lexes the text, checking brackets, depth and list lengths as it goes, so
hostile nesting never reaches anything recursive. The lexer also builds every form that holds
no other form (through `crudql.syntax.builder.build`, like the grammar's `form` rule), so the
Lark LALR parser, built once per process with an inline transformer, sees only how forms nest.
Syntax errors are rephrased in words ("expected an operator name after '('"), never token names.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator
from functools import cache
from importlib import resources
from typing import Any, Protocol

from lark import Lark, Transformer
from lark.exceptions import UnexpectedInput, UnexpectedToken, VisitError
from lark.lexer import Lexer

from ..ast import And, Expr, ListValue, Literal, Not, Or, Predicate, Quantified, Span
from ..errors import LimitError, QueryError, QuerySyntaxError, QueryTypeError, UnknownOperatorError
from ..limits import Limits
from ..operators import OPERATORS, ArgKind, Form, Operator, lookup
from .builder import SURROGATE, Symbol, build, build_op, check_arity, describe, span_of, unknown_operator
from .now import is_now, now_literal

__all__ = ["FormCheck", "NotChecked", "lex_lisp", "parse_lisp"]

# Each match: the blanks and comments before a token, then the token (none at the end of the
# text, where the match is empty or blank). Whatever follows the blanks, one alternative
# matches, so the engine never backtracks into them.
_LISP_TOKEN = re.compile(
    r"""
    (?:\s|;[^\n]*)*
    (?:
     (?P<lpar>\((?:\s|;[^\n]*(?:\n|\Z))*(?P<head>[^\s()\[\]";]+)?)
    |(?P<atom>[^\s()\[\]";]+)
    |(?P<string>"(?:[^"\\]|\\.)*")
    |(?P<close>[)\]])
    |(?P<lsqb>\[)
    |(?P<bad>")
    |\Z
    )""",
    re.VERBOSE | re.DOTALL,
)
_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(?:(\.[0-9]+)?([eE][+-]?[0-9]+)?)\Z")
_LOOKS_NUMERIC = re.compile(r"[+-]?\.?[0-9]")
_NUMERIC_FIRST = frozenset("+-.0123456789")  # what a word `_LOOKS_NUMERIC` starts with
# A `(now ...)` value ahead: a '(' before it opens a list of values, not a form.
_NOW_AHEAD = re.compile(r"\((?:\s|;[^\n]*(?:\n|\Z))*now(?=[\s()\[\]\";]|\Z)", re.IGNORECASE)
_KEYWORDS: dict[str, Any] = {"true": True, "false": False, "null": None}
_STRING_DECODER = json.JSONDecoder(strict=False)
_MATCHING = {")": "(", "]": "["}
_QUANTIFIERS = frozenset(name.lower() for op in OPERATORS if op.form is Form.QUANTIFIED for name in op.names)
_QUANTIFIER_LENGTHS = frozenset(len(name) for name in _QUANTIFIERS)
_KIND_OF: dict[type, str] = {Literal: "LITERAL", Symbol: "SYMBOL", ListValue: "LIST"}
_KIND_OF.update(dict.fromkeys((And, Or, Not, Predicate, Quantified), "NODE"))


class _Tok:
    """A token for Lark's LALR parser: it reads only `.type`; positions feed our messages.

    Lighter than `lark.Token` (a str subclass), which matters on the hot path.
    """

    __slots__ = ("end_pos", "start_pos", "type", "value")
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
        if not plain.isascii() and SURROGATE.search(plain):
            raise QuerySyntaxError("invalid string: unpaired UTF-16 surrogate", position=start, length=len(raw))
        return plain
    try:
        value: str = _STRING_DECODER.decode(raw)
    except json.JSONDecodeError as exc:
        # `json` reports a bad \uXXXX at its 'u'; point at the backslash like other bad escapes.
        at = exc.pos - 1 if raw[exc.pos : exc.pos + 1] == "u" and raw[exc.pos - 1 : exc.pos] == "\\" else exc.pos
        raise QuerySyntaxError(
            'invalid escape in string; use JSON escapes: \\" \\\\ \\/ \\b \\f \\n \\r \\t \\uXXXX',
            position=start + at,
            length=2,
        ) from None
    if SURROGATE.search(value):
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


class NotChecked(Exception):
    """Raised by a `FormCheck` that finds a mistake, or a limit reached: the one-pass check
    gives up, and the caller parses and checks the reference way, which reports it."""


class FormCheck(Protocol):
    """A schema check made as the forms are built (`crudql.lisp_onepass` has one): the syntax
    knows no schema. `outside`: no quantifier is open around the form, so its paths start at
    the schema's root; inside one, the form stays unchecked (the quantifier's check covers
    it). Either method may raise `NotChecked`; a syntax error it raises is the parse's own."""

    def flat(self, op: Operator, args: list[Any], span: Span, outside: bool) -> Expr:
        """The node of a form with no form inside (arity checked), checked when `outside`."""
        ...

    def nested(self, node: Expr, outside: bool) -> Expr:
        """A node built from a form's checked (or, inside a quantifier, unchecked) arguments."""
        ...


def lex_lisp(text: str, limits: Limits, check: FormCheck | None = None) -> list[_Tok]:
    """The tokens of `text`, with brackets, depth and list lengths already checked.

    A '(' and the operator after it are one HEAD token (value: the name and its span). A
    bracket whose first item is a literal, or that is a '[', is a list of literals and comes
    out as one LIST token holding a `ListValue`. A form with no form inside it is built right
    away, by the same `build` the grammar's `form` rule calls, and comes out as one NODE
    token: the parser then sees only the nesting of forms, and its per-token cost is most of
    a parse. Token values are converted already (`Literal`, `Symbol`, `ListValue`, nodes).

    A form's arguments wait in its frame as converted values, without tokens. Closing with no
    form inside, it is flat: its node is built from them. A form holding forms becomes tokens
    only when it must, that is when it closes, or when a token must follow it (an inner form
    holding forms closes, an operator-less '(' opens inside it): then its HEAD, and each run of
    arguments that waited (atoms, lists, NODEs) as one ITEMS token, so that again the parser's
    tokens are the brackets of forms and little else. Only inside forms: at the top level
    every item stays its own token, for the parser to reject all but one.

    With a `check`, forms are checked as they are built (see `FormCheck`): HEAD tokens carry
    it, for the parser's `form` rule.
    """
    tokens: list[_Tok] = []
    append = tokens.append
    # Open brackets: [char, start, literal items or None for a form, a form's arguments not
    # made tokens yet (None for lists and operator-less brackets), a form's operator name, the
    # name's span for a `(now ...)` value or None, where a form's HEAD token (and its name)
    # ends, whether a form holds a form, whether its HEAD is a token yet, whether no quantifier
    # is open around it, whether it is one].
    stack: list[list[Any]] = []
    inside = 0  # open quantifier forms, when checking
    out = 0  # the frames at the bottom of the stack whose HEAD is a token
    items: list[Literal] | None = None  # the literals of the innermost open list
    args: list[Any] | None = None  # the waiting arguments of the innermost open form
    max_depth = limits.max_depth
    for m in _LISP_TOKEN.finditer(text):
        kind = m.lastgroup
        if kind is None:
            continue  # the end of the text
        start, end = m.span(kind)
        if kind == "atom" or kind == "string":
            raw = m.group(kind)
            if kind == "string":
                if "\\" not in raw and raw.isascii():  # the common case of `_decode_string`
                    value: Any = Literal(raw[1:-1], Span(start, end))
                else:
                    value = Literal(_decode_string(raw, start), Span(start, end))
            elif raw[0] not in _NUMERIC_FIRST and raw not in _KEYWORDS:  # the common case of `_atom`
                value = Symbol(raw, Span(start, end))
            else:
                value = _atom(raw, start, end)
            if items is not None:
                if stack[-1][5] is not None and type(value) is Symbol:
                    raise QuerySyntaxError(
                        f"(now) takes an offset string like \"-7d\", found the bare word '{value.text}'",
                        position=start,
                        length=end - start,
                    )
                _list_item(items, value, limits)
            elif args is not None:
                args.append(value)
            else:
                append(_Tok("SYMBOL" if type(value) is Symbol else "LITERAL", value, start, end))
            continue
        if kind == "lpar" or kind == "lsqb":
            word = m.group("head")
            now_form = kind == "lpar" and word is not None and len(word) == 3 and is_now(word)
            if items is not None and (not now_form or stack[-1][5] is not None):
                if stack[-1][5] is not None:
                    raise QuerySyntaxError('(now) takes an offset string like "-7d", found a bracket', position=start)
                raise QuerySyntaxError(
                    "a list holds only literals (strings, numbers, true, false, null), found a nested bracket",
                    position=start,
                )
            if len(stack) >= max_depth:
                raise LimitError(f"nesting is deeper than the limit of {max_depth} levels", position=start)
            if kind == "lsqb":
                items = []
                args = None
                stack.append(["[", start, items, None, None, None, 0, False, False, False, False])
                continue
            if now_form:
                # A value, not an operator: its arguments are collected like a list's items.
                items = []
                args = None
                stack.append(["(", start, items, None, None, Span(end - len(word), end), 0, False, False, False, False])
                continue
            if (
                word is not None
                and word not in _KEYWORDS
                and not (word[0] in _NUMERIC_FIRST and _LOOKS_NUMERIC.match(word))
            ):
                if args is not None:
                    stack[-1][7] = True  # the enclosing form holds a form: not flat
                args = []
                quantifier = check is not None and len(word) in _QUANTIFIER_LENGTHS and word.lower() in _QUANTIFIERS
                stack.append(["(", start, None, args, word, None, end, False, False, inside == 0, quantifier])
                if quantifier:
                    inside += 1
                continue
            if word is None and end < len(text) and text[end] in "([" and not _NOW_AHEAD.match(text, end):
                # A form without an operator: the parser rejects the token, after the depth
                # limit has had its say (100,000 '(' is a limit error, not a syntax error).
                if args is not None:
                    stack[-1][7] = True
                out = _emit(stack, out, append, check)
                args = None
                stack.append(["(", start, None, None, None, None, 0, True, True, False, False])
                out += 1
                append(_Tok("LPAR", "(", start, start + 1))
                continue
            items = []
            args = None
            stack.append(["(", start, items, None, None, None, 0, False, False, False, False])
            if word is not None:  # the list's first literal
                _list_item(items, _atom(word, end - len(word), end), limits)
            continue
        if kind == "close":
            char = m.group(kind)
            if not stack:
                raise QuerySyntaxError(f"unmatched '{char}'", position=start)
            frame = stack.pop()
            opener, open_at, open_items, open_args, word, now_name, head_end, nested, head_out, outside, q = frame
            if opener != _MATCHING[char]:
                raise QuerySyntaxError(f"'{char}' does not match the '{opener}' at offset {open_at}", position=start)
            out = min(out, len(stack))
            if q:
                inside -= 1
            end = start + 1
            if now_name is not None:
                kind, value = "LITERAL", now_literal(open_items, Span(open_at, end))
            elif open_items is not None:
                kind, value = "LIST", ListValue(tuple(open_items), Span(open_at, end))
            elif not nested:
                try:
                    kind, value = "NODE", _flat_form(word, open_args, open_at, head_end, end, check, outside)
                except UnknownOperatorError as exc:
                    _emit(stack, out, append, check)  # the tokens before it, for the enclosing operator
                    raise _unquoted_list(exc, [*tokens, _head(frame, check)]) from None
            else:
                out = _emit(stack, out, append, check)
                if open_args is not None:  # a form, not an operator-less '('
                    if not head_out:
                        append(_head(frame, check))
                    if open_args:
                        append(_items(open_args))
                append(_Tok("RPAR", ")", start, end))
                kind = ""
            if stack:
                parent = stack[-1]
                items, args = parent[2], parent[3]
            else:
                items = args = None
            if not kind:
                continue
            if items is not None:  # a (now ...) in a list
                _list_item(items, value, limits)
            elif args is not None:
                args.append(value)
            else:
                append(_Tok(kind, value, open_at, end))
            continue
        # a '"' with no closing quote
        raise QuerySyntaxError("unterminated string: missing closing '\"'", position=start)
    if stack:
        opener, open_at = stack[-1][0], stack[-1][1]
        closer = ")" if opener == "(" else "]"
        raise QuerySyntaxError(
            f"unexpected end of input: missing '{closer}' for the '{opener}' at offset {open_at}",
            position=open_at,
        )
    return tokens


def _emit(stack: list[list[Any]], out: int, append: Any, check: FormCheck | None) -> int:
    """Make tokens of the open forms, as a token must follow them: each one's HEAD (if not a
    token yet) and the arguments waiting in it. `out`: how many frames at the bottom have
    their HEAD out already (all but the last of them have no arguments waiting). Returns
    the new count, all of them."""
    for frame in stack[max(out - 1, 0) :]:
        if frame[3] is None:
            continue  # an operator-less '(': its token is out, nothing waits in it
        if not frame[8]:
            append(_head(frame, check))
            frame[8] = True
        if frame[3]:
            append(_items(frame[3]))
            frame[3] = []  # the next run
    return len(stack)


def _head(frame: list[Any], check: FormCheck | None) -> _Tok:
    """The HEAD token of a form's frame: value (name, its span, the check, whether outside)."""
    word, end = frame[4], frame[6]
    return _Tok("HEAD", (word, Span(end - len(word), end), check, frame[9]), frame[1], end)


def _items(values: list[Any]) -> _Tok:
    return _Tok("ITEMS", values, values[0].span.start, values[-1].span.end)


def _flat_form(
    word: str, args: list[Any], start: int, head_end: int, end: int, check: FormCheck | None, outside: bool
) -> Expr:
    """The node of a form whose arguments are all atoms and lists (what `build` does, with
    the name's span made only for an unknown operator)."""
    op = lookup(word)
    if op is None:
        raise unknown_operator(word, Span(head_end - len(word), head_end))
    span = Span(start, end)
    check_arity(op, len(args), span)
    return build_op(op, args, span) if check is None else check.flat(op, args, span, outside)


def _atom(word: str, start: int, end: int) -> Literal | Symbol:
    if word in _KEYWORDS:
        return Literal(_KEYWORDS[word], Span(start, end))
    if word[0] in _NUMERIC_FIRST and _LOOKS_NUMERIC.match(word):
        return Literal(_number(word, start), Span(start, end))
    return Symbol(word, Span(start, end))


def _list_item(items: list[Literal], value: Literal | Symbol, limits: Limits) -> None:
    span = value.span
    assert span is not None
    if type(value) is Symbol:
        raise QuerySyntaxError(
            f"a list holds only literals (strings, numbers, true, false, null), found the bare word "
            f"'{value.text}'; strings need double quotes",
            position=span.start,
            length=span.end - span.start,
        )
    if len(items) >= limits.max_list:
        raise LimitError(
            f"list has more than {limits.max_list:,} items",
            position=span.start,
            length=span.end - span.start,
        )
    items.append(value)  # type: ignore[arg-type]


class _TokenListLexer(Lexer):
    """Hands Lark the tokens that `lex_lisp` already produced (the text *is* the token list)."""

    def __init__(self, lexer_conf: Any) -> None:
        pass

    def lex(self, data: Any) -> Iterator[Any]:  # type: ignore[override]
        return iter(data)


def _lisp_arg(x: Any) -> Any:
    return x.value if type(x) is _Tok else x  # a token's value is converted already


class _LispTransformer(Transformer[Any, Any]):
    def start(self, children: list[Any]) -> Any:
        return _lisp_arg(children[0]) if children else None

    def args(self, c: list[Any]) -> list[Any]:
        # Each child is a form's node, or a token: ITEMS (a list of arguments) or one argument.
        if len(c) == 1:
            out: list[Any] = []
            x = c[0]
        else:
            out, x = c
        if type(x) is not _Tok:
            out.append(x)
        elif x.type == "ITEMS":
            out.extend(x.value)
        else:
            out.append(x.value)
        return out

    def form(self, c: list[Any]) -> Expr:
        name, name_span, check, outside = c[0].value
        node = build(name, name_span, c[1] if len(c) == 3 else [], Span(c[0].start_pos, c[-1].end_pos))
        return node if check is None else check.nested(node, outside)


_TOKEN_WORDS = {
    "HEAD": "'(' and an operator",
    "LPAR": "'('",
    "RPAR": "')'",
    "SYMBOL": "an operator or field name",
    "LITERAL": "a value",
    "LIST": "a list",
    "NODE": "an expression",
    "ITEMS": "arguments",
    "$END": "the end of the query",
}


@cache
def _lisp_parser() -> Lark:
    grammar = resources.files("crudql.syntax.grammar").joinpath("lisp.lark").read_text(encoding="utf-8")
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
    head = next((i for i, t in enumerate(tokens) if t.type == "HEAD" and t.value[1].start == error.position), None)
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
            count += len(t.value) if t.type == "ITEMS" else 1
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


class _Feed:
    """Tokens for Lark's LALR parser, called directly (`_lalr`): what its `lex` hands over."""

    __slots__ = ("tokens",)

    def __init__(self, tokens: list[_Tok]) -> None:
        self.tokens = tokens

    def lex(self, state: Any) -> Iterator[_Tok]:
        return iter(self.tokens)


@cache
def _lalr() -> Any:
    """The LALR parser inside `_lisp_parser()`, called without the front end that `Lark.parse`
    goes through for text (a few microseconds a parse); None where this Lark has none."""
    inner = getattr(getattr(getattr(_lisp_parser(), "parser", None), "parser", None), "parser", None)
    return inner if callable(getattr(inner, "parse", None)) else None


def _parse_tokens(tokens: list[_Tok]) -> Any:
    lalr = _lalr()
    if lalr is None:
        return _lisp_parser().parse(tokens)  # type: ignore[arg-type]
    return lalr.parse(_Feed(tokens), "start")


def parse_lisp(text: str, limits: Limits, check: FormCheck | None = None) -> Expr | None:
    """The tree of a lisp filter, or None for blank text: unchecked, or checked as it is built
    by `check` (which may give up: `NotChecked`)."""
    tokens = lex_lisp(text, limits, check)
    if not tokens:
        return None
    try:
        result = _parse_tokens(tokens)
    except UnknownOperatorError as exc:
        raise _unquoted_list(exc, tokens) from None
    except VisitError as exc:
        if isinstance(exc.orig_exc, QueryError):
            raise _unquoted_list(exc.orig_exc, tokens) from None
        if isinstance(exc.orig_exc, NotChecked):
            raise exc.orig_exc from None
        raise
    except UnexpectedInput as exc:
        raise _lisp_syntax_error(exc, tokens, text) from None
    if not isinstance(result, (And, Or, Not, Predicate, Quantified)):
        raise QuerySyntaxError.at(
            f"a filter is an expression like (= field value), found {describe(result)}", span_of(result)
        )
    return result
