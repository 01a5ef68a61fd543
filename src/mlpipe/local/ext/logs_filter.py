"""JSON filter patterns for FilterLogEvents, which moto treats as "match everything".

CloudWatch Logs selects structured (JSON) log lines with patterns such as
`{ $.event = "poison" }`, `{ $.correlation_id = "ab12-*" }`, `{ ($.latency_ms > 500) || ($.rows != 1) }`,
`{ $.reason EXISTS }`. mlpipe's handler writes JSON lines and `send --wait` / `tail logs --filter`
rely on such patterns, so the embedded AWS applies them to moto's answer (after the page was cut,
so a page may hold fewer events than the limit, as AWS's may). Unstructured patterns stay moto's.

Supported: selectors `$.a.b[0].c`; `=`/`!=` on strings (quoted or bare, `*` wildcards) and numbers;
`<`, `>`, `<=`, `>=` on numbers; `IS TRUE|FALSE|NULL`, `EXISTS`, `NOT EXISTS`; `&&` (binding tighter)
and `||`; parentheses. Anything else is an InvalidParameterException, as AWS answers.
"""

from __future__ import annotations

import fnmatch
import json
import re
from collections.abc import Callable
from typing import Any

from mlpipe.local.registry import AwsApiError, Context, after

Matcher = Callable[[Any], bool]
_TOKEN = re.compile(
    r"\s*(?:(?P<sel>\$(?:\.[A-Za-z_][\w-]*|\[\d+\])*)|(?P<op>&&|\|\||<=|>=|!=|=|<|>|\(|\))"
    r'|(?P<str>"(?:[^"\\]|\\.)*")|(?P<word>[^\s()&|=<>!"]+))'
)
_MISSING = object()


def _tokens(text: str) -> list[tuple[str, str]]:
    out, pos = [], 0
    text = text.strip()
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if not match or match.end() == pos:
            raise ValueError(f"unexpected '{text[pos : pos + 10]}'")
        kind = match.lastgroup or ""
        out.append((kind, match.group(kind)))
        pos = match.end()
        while pos < len(text) and text[pos].isspace():
            pos += 1
    return out


def _lookup(document: Any, selector: str) -> Any:
    value = document
    for part in re.findall(r"\.([A-Za-z_][\w-]*)|\[(\d+)\]", selector[1:]):
        key, index = part
        if key and isinstance(value, dict) and key in value:
            value = value[key]
        elif index and isinstance(value, list) and int(index) < len(value):
            value = value[int(index)]
        else:
            return _MISSING
    return value


def _number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def _compare(selector: str, op: str, raw: str, quoted: bool) -> Matcher:
    wanted = json.loads(raw) if quoted else raw
    number = None if quoted else _number(raw)
    if op in ("<", ">", "<=", ">=") and number is None:
        raise ValueError(f"'{op}' needs a number, got {raw}")

    def match(document: Any) -> bool:
        value = _lookup(document, selector)
        if value is _MISSING or value is None or isinstance(value, dict | list):
            return op == "!=" and value is not _MISSING
        if number is not None and isinstance(value, int | float) and not isinstance(value, bool):
            result = {
                "=": value == number,
                "!=": value != number,
                "<": value < number,
                ">": value > number,
                "<=": value <= number,
                ">=": value >= number,
            }[op]
            return bool(result)
        if op not in ("=", "!="):
            return False
        text = str(value).lower() if isinstance(value, bool) else str(value)
        equal = fnmatch.fnmatchcase(text, wanted) if "*" in wanted else text == wanted
        return equal == (op == "=")

    return match


class _Parser:
    def __init__(self, tokens: list[tuple[str, str]]) -> None:
        self.tokens = tokens
        self.pos = 0

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self) -> tuple[str, str]:
        token = self.peek()
        if token is None:
            raise ValueError("pattern ends too early")
        self.pos += 1
        return token

    def either(self) -> Matcher:
        parts = [self.both()]
        while self.peek() == ("op", "||"):
            self.take()
            parts.append(self.both())
        return parts[0] if len(parts) == 1 else (lambda d: any(p(d) for p in parts))

    def both(self) -> Matcher:
        parts = [self.term()]
        while self.peek() == ("op", "&&"):
            self.take()
            parts.append(self.term())
        return parts[0] if len(parts) == 1 else (lambda d: all(p(d) for p in parts))

    def term(self) -> Matcher:
        kind, text = self.take()
        if (kind, text) == ("op", "("):
            inner = self.either()
            if self.take() != ("op", ")"):
                raise ValueError("missing ')'")
            return inner
        if kind != "sel":
            raise ValueError(f"expected a selector like $.field, got '{text}'")
        kind2, text2 = self.take()
        if kind2 == "word" and text2.upper() in ("IS", "EXISTS", "NOT"):
            return self.keyword(text, text2.upper())
        if kind2 != "op" or text2 not in ("=", "!=", "<", ">", "<=", ">="):
            raise ValueError(f"expected a comparison after {text}, got '{text2}'")
        kind3, value = self.take()
        if kind3 not in ("str", "word"):
            raise ValueError(f"expected a value after {text} {text2}")
        return _compare(text, text2, value, quoted=kind3 == "str")

    def keyword(self, selector: str, word: str) -> Matcher:
        if word == "EXISTS":
            return lambda d: _lookup(d, selector) is not _MISSING
        if word == "NOT":
            if self.take()[1].upper() != "EXISTS":
                raise ValueError("expected NOT EXISTS")
            return lambda d: _lookup(d, selector) is _MISSING
        constant = self.take()[1].upper()
        expected = {"TRUE": True, "FALSE": False, "NULL": None}
        if constant not in expected:
            raise ValueError(f"expected IS TRUE, IS FALSE or IS NULL, got IS {constant}")
        return lambda d: _lookup(d, selector) is expected[constant]


def json_pattern(pattern: str) -> Matcher:
    """A predicate on parsed JSON documents for a `{ ... }` pattern; ValueError when malformed."""
    body = pattern.strip()
    if not (body.startswith("{") and body.endswith("}")):
        raise ValueError("a JSON filter pattern is enclosed in { }")
    parser = _Parser(_tokens(body[1:-1]))
    matcher = parser.either()
    if parser.peek() is not None:
        raise ValueError(f"unexpected '{parser.peek()[1]}'")  # type: ignore[index]
    return matcher


def message_matches(matcher: Matcher, message: str) -> bool:
    try:
        document = json.loads(message)
    except ValueError:
        return False  # a JSON pattern never matches a line that is not JSON
    return isinstance(document, dict) and matcher(document)


@after("logs", "FilterLogEvents")
def apply_json_pattern(ctx: Context, params: dict[str, Any], response: dict[str, Any]) -> None:
    pattern = str(params.get("filterPattern") or "").strip()
    if not pattern.startswith("{"):
        return
    try:
        matcher = json_pattern(pattern)
    except ValueError as exc:
        raise AwsApiError("InvalidParameterException", f"Invalid filter pattern: {exc}") from None
    response["events"] = [e for e in response.get("events", []) if message_matches(matcher, str(e.get("message", "")))]
