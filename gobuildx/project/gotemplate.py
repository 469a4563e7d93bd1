"""The part of Go's text/template that GoReleaser configs use in names and flags, evaluated.

`gobuildx init --from-goreleaser` fills a GoReleaser template once per target with that
target's fields (and markers for what gobuildx fills in later, such as the version), so an
`{{ if eq .Arch "amd64" }}x86_64{{ else }}{{ .Arch }}{{ end }}` gives each target's own
name. Supported: text, `{{-`/`-}}` trimming, fields (`.Os`, `.Env.NAME`, `.`), string
literals, parenthesised pipelines and `|`, if / else if / else / with / end, and the
functions eq, ne, not, and, or, len, title, tolower, toupper, lower, upper, trim,
trimprefix, trimsuffix, replace. Anything else raises Unsupported naming it: the caller
reports the key as untranslated instead of guessing.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

Value = str | bool


class Unsupported(ValueError):
    """A template construct or field this evaluator does not know."""


_ACTION = re.compile(r"\{\{(-\s)?(.*?)(\s-)?\}\}", re.S)
_TOKEN = re.compile(r'\s*(?:("(?:[^"\\]|\\.)*")|(`[^`]*`)|(\()|(\))|(\|)|([^\s()|]+))')


def _truthy(v: Value) -> bool:
    return bool(v)


def _text(v: Value) -> str:
    return ("true" if v else "false") if isinstance(v, bool) else v


FUNCS: dict[str, Callable[..., Value]] = {
    "eq": lambda a, *bs: any(_text(a) == _text(b) for b in bs),
    "ne": lambda a, b: _text(a) != _text(b),
    "not": lambda a: not _truthy(a),
    "and": lambda *xs: all(_truthy(x) for x in xs),
    "or": lambda *xs: any(_truthy(x) for x in xs),
    "len": lambda a: str(len(_text(a))),
    "title": lambda s: _text(s)[:1].upper() + _text(s)[1:],
    "tolower": lambda s: _text(s).lower(),
    "toupper": lambda s: _text(s).upper(),
    "lower": lambda s: _text(s).lower(),
    "upper": lambda s: _text(s).upper(),
    "trim": lambda s: _text(s).strip(),
    "trimprefix": lambda s, p: _text(s).removeprefix(_text(p)),
    "trimsuffix": lambda s, p: _text(s).removesuffix(_text(p)),
    "replace": lambda s, old, new: _text(s).replace(_text(old), _text(new)),
}


@dataclass
class _Node:
    kind: str  # text | expr | if | with
    text: str = ""
    branches: list[tuple[str | None, list[_Node]]] | None = None  # (condition or None for else, body)


def _lex(template: str) -> list[tuple[str, str]]:
    """[('text', s) | ('act', s)], with Go's trim markers applied to the neighbouring text."""
    out: list[tuple[str, str]] = []
    pos = 0
    for m in _ACTION.finditer(template):
        text = template[pos : m.start()]
        if m.group(1):
            text = text.rstrip()
        out.append(("text", text))
        out.append(("act", m.group(2).strip()))
        pos = m.end()
        if m.group(3):
            rest = template[pos:]
            pos += len(rest) - len(rest.lstrip())
    out.append(("text", template[pos:]))
    if "{{" in "".join(t for k, t in out if k == "text"):
        raise Unsupported("an unterminated {{")
    return [(k, t) for k, t in out if k == "act" or t]


def _parse(items: list[tuple[str, str]], i: int = 0, closers: tuple[str, ...] = ()) -> tuple[list[_Node], int, str]:
    nodes: list[_Node] = []
    while i < len(items):
        kind, text = items[i]
        if kind == "text":
            nodes.append(_Node("text", text))
            i += 1
            continue
        word = text.split(None, 1)[0] if text else ""
        if word in closers or (text.startswith("else") and "else" in closers):
            return nodes, i, text
        if word in ("if", "with"):
            branches: list[tuple[str | None, list[_Node]]] = []
            cond: str | None = text[len(word) :].strip()
            i += 1
            while True:
                body, i, closer = _parse(items, i, ("end", "else"))
                branches.append((cond, body))
                if i >= len(items):
                    raise Unsupported(f"{{{{ {word} }}}} without {{{{ end }}}}")
                i += 1
                if closer == "end":
                    break
                rest = closer[len("else") :].strip()
                if rest.startswith("if "):
                    cond = rest[3:].strip()
                elif rest:
                    raise Unsupported(f"{{{{ {closer} }}}}")
                else:
                    cond = None
            nodes.append(_Node(word, branches=branches))
            continue
        if word in ("range", "define", "template", "block") or text.startswith(("/*", "$")):
            raise Unsupported(f"{{{{ {word} }}}}")
        nodes.append(_Node("expr", text))
        i += 1
    if closers:
        raise Unsupported("{{ if }} without {{ end }}")
    return nodes, i, ""


def _tokens(expr: str) -> list[str]:
    out, pos = [], 0
    while pos < len(expr):
        m = _TOKEN.match(expr, pos)
        if not m or m.end() == pos:
            if expr[pos:].strip():
                raise Unsupported(f"cannot read {expr!r}")
            break
        out.append(next(g for g in m.groups() if g is not None))
        pos = m.end()
    return out


class _Eval:
    def __init__(self, fields: Mapping[str, object]) -> None:
        self.fields = fields

    def field(self, name: str, dot: Value) -> Value:
        if name == ".":
            return dot
        value: object = self.fields
        for part in name.lstrip(".").split("."):
            if not isinstance(value, Mapping) or part not in value:
                raise Unsupported(f"the field {name}")
            value = value[part]
        if not isinstance(value, (str, bool)):
            raise Unsupported(f"the field {name}")
        return value

    def pipeline(self, tokens: list[str], dot: Value) -> Value:
        stages: list[list[str]] = [[]]
        depth = 0
        for tok in tokens:
            depth += tok == "("
            depth -= tok == ")"
            if tok == "|" and depth == 0:
                stages.append([])
            else:
                stages[-1].append(tok)
        value: Value | None = None
        for stage in stages:
            value = self.command(stage, dot, value)
        assert value is not None
        return value

    def command(self, tokens: list[str], dot: Value, piped: Value | None) -> Value:
        args, i = [], 0
        while i < len(tokens):
            tok = tokens[i]
            if tok == "(":
                depth, j = 1, i + 1
                while j < len(tokens) and depth:
                    depth += {"(": 1, ")": -1}.get(tokens[j], 0)
                    j += 1
                args.append(("value", self.pipeline(tokens[i + 1 : j - 1], dot)))
                i = j
                continue
            args.append(("tok", tok))
            i += 1
        if not args:
            raise Unsupported("an empty action")
        head_kind, head = args[0]
        if head_kind == "tok" and head in FUNCS:
            values = [self.atom(a, dot) for a in args[1:]]
            if piped is not None:
                values.append(piped)
            try:
                return FUNCS[head](*values)
            except TypeError:
                raise Unsupported(f"{head} with {len(values)} argument(s)") from None
        if len(args) != 1 or piped is not None:
            raise Unsupported(f"the function {head!r}" if head_kind == "tok" else "a pipeline")
        return self.atom(args[0], dot)

    def atom(self, arg: tuple[str, object], dot: Value) -> Value:
        kind, raw = arg
        if kind == "value":
            return raw  # type: ignore[return-value]
        tok = str(raw)
        if tok.startswith('"'):
            return bytes(tok[1:-1], "utf-8").decode("unicode_escape")
        if tok.startswith("`"):
            return tok[1:-1]
        if tok in ("true", "false"):
            return tok == "true"
        if tok.startswith("."):
            return self.field(tok, dot)
        if tok in FUNCS:
            return FUNCS[tok]()
        raise Unsupported(f"the function {tok!r}")

    def run(self, nodes: list[_Node], dot: Value) -> str:
        out = []
        for node in nodes:
            if node.kind == "text":
                out.append(node.text)
            elif node.kind == "expr":
                out.append(_text(self.pipeline(_tokens(node.text), dot)))
            else:
                out.append(self.branch(node, dot))
        return "".join(out)

    def branch(self, node: _Node, dot: Value) -> str:
        for cond, body in node.branches or []:
            if cond is None:
                return self.run(body, dot)
            value = self.pipeline(_tokens(cond), dot)
            if _truthy(value):
                return self.run(body, value if node.kind == "with" else dot)
        return ""


def render(template: str, fields: Mapping[str, object]) -> str:
    """`template` filled with `fields` (nested mappings for `.Env.NAME`); raises Unsupported."""
    if "{{" not in template:
        return template
    nodes, _, _ = _parse(_lex(template))
    return _Eval(fields).run(nodes, "")
