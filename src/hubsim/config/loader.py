"""Load service configurations from YAML, with ``extends:`` overlays and clear errors.

Every value read from YAML keeps the file and line it came from, so that a problem found
by validation is reported as ``FILE, line N: field.path: what was expected``.

Examples
--------
>>> import hubsim
>>> cfg = hubsim.load_config("site_d")  # a shipped name, or the path of any YAML file
>>> cfg.region.in_scope_staff
180000
"""

from __future__ import annotations

import difflib
import os
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, get_args, get_origin

import yaml
from pydantic import BaseModel, ValidationError

from hubsim.config.schema import CrossFieldError, ServiceConfig
from hubsim.errors import ConfigError
from hubsim.resources import config_names, config_path, is_bare_word, resolve_config

Loc = tuple[str | int, ...]
Where = tuple[str, int]  # (file, 1-based line)


# ------------------------------------------------------------------ YAML with positions
class _UniqueKeyLoader(yaml.SafeLoader):
    """Safe loader that refuses duplicate keys instead of silently keeping the last."""


#: Largest YAML file read (bytes). The shipped configurations are under 20 KB; the bound
#: keeps an untrusted upload (the app, ``hubsim validate``) from costing minutes to parse.
MAX_YAML_BYTES = 1_048_576
#: Most YAML nodes a document may hold once its aliases are expanded. A shipped
#: configuration with its ``extends:`` chain has a few thousand; a "billion laughs" file of
#: nested anchors and aliases (300 bytes expanding to 9^9 items) is refused before any of
#: it is built.
MAX_YAML_NODES = 100_000
#: Deepest nesting of mappings and lists accepted (the composer and the builder recurse).
MAX_YAML_DEPTH = 60


def expanded_size(node: yaml.Node, limit: int | None = None) -> int:
    r"""Nodes a composed YAML document holds once every alias is expanded.

    Aliases share the node they point at, so the count is taken over the shared graph
    with memoisation: linear in the distinct nodes however large the expansion is.
    With ``limit``, counting stops as soon as the total exceeds it (``limit + 1`` is
    returned then). A recursive alias (a node that contains itself) raises ValueError.

    Examples
    --------
    >>> import yaml
    >>> text = "a: &a [x, x, x]\nb: &b [*a, *a, *a]\nc: [*b, *b, *b]\n"
    >>> expanded_size(yaml.compose(text))  # 1 + (1 + 4) + (1 + 1 + 3 * 4) + (1 + 1 + 3 * 13)
    61
    """
    memo: dict[int, int] = {}
    on_path: set[int] = set()
    stack: list[tuple[yaml.Node, bool]] = [(node, False)]
    cap = None if limit is None else int(limit) + 1

    def children(n: yaml.Node) -> list[yaml.Node]:
        if isinstance(n, yaml.MappingNode):
            return [x for pair in n.value for x in pair]
        if isinstance(n, yaml.SequenceNode):
            return list(n.value)
        return []

    while stack:  # iterative post-order: deep documents do not exhaust the Python stack
        n, done = stack.pop()
        key = id(n)
        if done:
            on_path.discard(key)
            total = 1 + sum(memo[id(c)] for c in children(n))
            memo[key] = total if cap is None else min(total, cap)
            if cap is not None and memo[key] >= cap:
                return cap
            continue
        if key in memo:
            continue
        if key in on_path:
            raise ValueError("a recursive alias (a node that contains itself)")
        on_path.add(key)
        stack.append((n, True))
        for c in children(n):
            if id(c) not in memo:
                if id(c) in on_path:
                    raise ValueError("a recursive alias (a node that contains itself)")
                stack.append((c, False))
    return memo[id(node)]


def _depth_ok(text: str) -> bool:
    """Whether flow and block nesting stay within :data:`MAX_YAML_DEPTH` (a cheap pre-check:
    the composer recurses once per level and would exhaust the stack on a deep document)."""
    depth = 0
    for ch in text:
        if ch in "[{":
            depth += 1
            if depth > MAX_YAML_DEPTH:
                return False
        elif ch in "]}":
            depth = max(0, depth - 1)
    indents = {len(line) - len(line.lstrip(" -")) for line in text.splitlines() if line.strip()}
    return len(indents) <= MAX_YAML_DEPTH


def _compose(path: Path, text: str) -> yaml.Node | None:
    if not _depth_ok(text):
        raise ConfigError(
            f"{path}: nested more than {MAX_YAML_DEPTH} levels deep; expected a configuration "
            "file (a few levels of mappings and lists)."
        )
    try:
        node = yaml.compose(text, Loader=_UniqueKeyLoader)
    except RecursionError:
        raise ConfigError(
            f"{path}: nested too deeply to read; expected a configuration file (a few levels "
            "of mappings and lists)."
        ) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else 0
        what = exc.problem or str(exc)
        raise ConfigError(
            f"{path}, line {line}: YAML syntax error: {what}; expected valid YAML."
        ) from None
    except yaml.YAMLError as exc:  # pragma: no cover - non-marked errors are rare
        raise ConfigError(f"{path}: YAML error: {exc}; expected valid YAML.") from None
    if node is None:
        return None
    try:
        size = expanded_size(node, MAX_YAML_NODES)
    except ValueError as exc:
        raise ConfigError(f"{path}: {exc}; expected a document that ends.") from None
    if size > MAX_YAML_NODES:
        raise ConfigError(
            f"{path}: more than {MAX_YAML_NODES:,} YAML nodes once its aliases (*name) are "
            "expanded (nested anchors and aliases can expand a few hundred bytes into "
            f"billions of items); expected a configuration of at most {MAX_YAML_NODES:,} nodes."
        )
    return node


def _construct(node: yaml.Node, path: Path, loc: Loc, where: dict[Loc, Where]) -> Any:
    """Build plain Python data from a node, recording the line of every path."""
    where[loc] = (str(path), node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        out: dict[str, Any] = {}
        for key_node, value_node in node.value:
            key = _scalar(key_node, path, (*loc, _raw(key_node)))
            if not isinstance(key, str):
                key = str(key)
            if key in out:
                raise ConfigError(
                    f"{path}, line {key_node.start_mark.line + 1}: {dotted_path((*loc, key))}: "
                    "duplicate key; expected each key once."
                )
            out[key] = _construct(value_node, path, (*loc, key), where)
            where[(*loc, key)] = (str(path), key_node.start_mark.line + 1)
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_construct(v, path, (*loc, i), where) for i, v in enumerate(node.value)]
    return _scalar(node, path, loc)


_TIMESTAMP_TAG = "tag:yaml.org,2002:timestamp"


def _raw(node: yaml.Node) -> str:
    """A node as written (a scalar's text), for naming it in an error."""
    return str(node.value) if isinstance(node, yaml.ScalarNode) else "?"


def _scalar(node: yaml.Node, path: Path, loc: Loc) -> Any:
    """The Python value of a scalar node (a key or a leaf), or ConfigError naming its line.

    PyYAML's constructors raise plain ``ValueError`` for text that matches a type's pattern
    but is no value of it (``2020-02-30`` is a timestamp by its form, yet no date), and
    ``ConstructorError`` for a tag it does not know; either becomes one sentence with the
    file, the line and the field path.
    """
    try:
        return _UniqueKeyLoader("").construct_object(node, deep=True)
    except (ValueError, TypeError, OverflowError, yaml.YAMLError) as exc:
        line = node.start_mark.line + 1
        field = dotted_path(loc)
        raw = _raw(node)
        if isinstance(exc, yaml.constructor.ConstructorError):
            reason = (exc.problem or str(exc)).strip()
            raise ConfigError(
                f"{path}, line {line}: {field}: {raw!r} cannot be read ({reason}); expected a "
                "plain YAML value (a number, text, a date, true or false)."
            ) from None
        reason = str(exc).strip() or type(exc).__name__
        if node.tag == _TIMESTAMP_TAG:
            timed = re.search(r"[Tt ]\d", raw) is not None
            kind, form = (
                ("date and time", "YYYY-MM-DD HH:MM:SS") if timed else ("date", "YYYY-MM-DD")
            )
            raise ConfigError(
                f"{path}, line {line}: {field}: {raw} is not a valid {kind} ({reason}); "
                f"expected a real calendar {kind} ({form})."
            ) from None
        kind = node.tag.rsplit(":", 1)[-1]
        raise ConfigError(
            f"{path}, line {line}: {field}: {raw!r} is not a valid {kind} ({reason}); "
            f"expected a {kind} value."
        ) from None


def read_yaml(path: Path) -> tuple[Any, dict[Loc, Where]]:
    """Plain data from a YAML file and the (file, line) of every location in it.

    Raises :class:`~hubsim.errors.ConfigError` (file, line, what was expected) on an
    unreadable file, one larger than :data:`MAX_YAML_BYTES`, a YAML syntax error, a
    duplicate key, a value that is none of its type (an impossible date such as
    ``2020-02-30``, an unknown tag), or aliases expanding past :data:`MAX_YAML_NODES` nodes.
    """
    too_big = (
        f"{path}: more than {MAX_YAML_BYTES:,} bytes; expected a YAML file of at most "
        f"{MAX_YAML_BYTES:,} bytes (a configuration is a few kilobytes)."
    )
    try:
        if path.stat().st_size > MAX_YAML_BYTES:
            raise ConfigError(too_big)  # refused before reading a byte
        with path.open("rb") as fh:  # and never more than the bound, even if the file grows
            raw = fh.read(MAX_YAML_BYTES + 1)
    except FileNotFoundError:
        raise ConfigError(f"{path}: file not found; expected an existing YAML file.") from None
    except IsADirectoryError:
        raise ConfigError(f"{path}: is a directory; expected a YAML file.") from None
    except PermissionError:
        raise ConfigError(f"{path}: permission denied; expected a readable YAML file.") from None
    if len(raw) > MAX_YAML_BYTES:
        raise ConfigError(too_big)
    return read_yaml_text(raw, str(path))


def read_yaml_text(text: str | bytes, source: str) -> tuple[Any, dict[Loc, Where]]:
    r""":func:`read_yaml` for text already in memory (an upload); ``source`` names it in errors.

    Examples
    --------
    >>> data, where = read_yaml_text("name: x\nregion:\n  name: r\n", "upload.yaml")
    >>> data["region"], where[("region", "name")]
    ({'name': 'r'}, ('upload.yaml', 3))
    """
    if len(text) > MAX_YAML_BYTES:
        raise ConfigError(
            f"{source}: more than {MAX_YAML_BYTES:,} bytes; expected a YAML file of at most "
            f"{MAX_YAML_BYTES:,} bytes (a configuration is a few kilobytes)."
        )
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError:
            raise ConfigError(f"{source}: not UTF-8 text; expected a YAML file.") from None
    where: dict[Loc, Where] = {}
    node = _compose(Path(source), text)
    if node is None:
        return {}, {(): (source, 1)}
    data = _construct(node, Path(source), (), where)
    return data, where


# ---------------------------------------------------------------------------- extends
def _deep_merge(base: Any, over: Any) -> Any:
    """Mappings merge key by key; anything else (lists included) is replaced.

    A distribution (a mapping with a ``dist`` key) is replaced whole, so an overlay that
    changes a lognormal into a fixed value does not inherit the lognormal's ``sd``.
    """
    if isinstance(base, Mapping) and isinstance(over, Mapping) and "dist" not in over:
        out = dict(base)
        for k, v in over.items():
            out[k] = _deep_merge(base[k], v) if k in base else v
        return out
    return over


def _merge_where(
    base: dict[Loc, Where], over: dict[Loc, Where], over_data: Any
) -> dict[Loc, Where]:
    # the overlay wins for every path it sets; replaced lists drop the base's item lines
    out = dict(base)
    replaced: list[Loc] = []

    def walk(d: Any, loc: Loc) -> None:
        if isinstance(d, Mapping) and "dist" not in d:
            for k, v in d.items():
                walk(v, (*loc, k))
        else:
            replaced.append(loc)

    walk(over_data, ())
    # distributions are replaced whole (see _deep_merge)
    for loc in replaced:
        n = len(loc)
        for key in [k for k in out if len(k) > n and k[:n] == loc]:
            del out[key]
    out.update(over)
    return out


def load_config_data(path: str | os.PathLike[str]) -> tuple[dict[str, Any], dict[Loc, Where]]:
    """Read a YAML file and its ``extends:`` chain into one mapping plus line positions.

    ``path`` may also be the name of a shipped configuration (see :mod:`hubsim.resources`).

    Raises
    ------
    ConfigError
        On unreadable files, YAML errors, a missing ``extends`` target, a cycle, or a name
        that no shipped configuration has.
    """
    return _load_chain(resolve_config(path), ())


def _load_chain(path: Path, chain: tuple[Path, ...]) -> tuple[dict[str, Any], dict[Loc, Where]]:
    resolved = path.resolve()
    if resolved in chain:
        cycle = " -> ".join(str(p) for p in (*chain, resolved))
        raise ConfigError(f"{path}: extends cycle {cycle}; expected a chain that ends.")
    data, where = read_yaml(path)
    if not isinstance(data, dict):
        raise ConfigError(
            f"{path}, line 1: the document is a {type(data).__name__}; expected a mapping of fields."
        )
    parent = data.pop("extends", None)
    if parent is None:
        return data, where
    line = where.get(("extends",), (str(path), 1))[1]
    if not isinstance(parent, str) or not parent:
        raise ConfigError(
            f"{path}, line {line}: extends: expected a file path (relative to this file) or "
            "the name of a shipped configuration."
        )
    target = path.parent / parent
    if not target.exists() and is_bare_word(parent):
        # a shipped configuration by name (extends: site_d), so a user's own delta needs
        # no copy of the package's files
        if parent not in config_names():
            raise ConfigError(
                f"{path}, line {line}: extends: {parent!r} is neither a file beside this one "
                f"nor a shipped configuration; expected a YAML path or one of: "
                f"{', '.join(config_names())}."
            )
        target = config_path(parent)
    if not target.is_file():
        raise ConfigError(
            f"{path}, line {line}: extends: target {parent!r} not found (looked for {target}); "
            "expected an existing YAML file."
        )
    base, base_where = _load_chain(target, (*chain, resolved))
    where = {k: v for k, v in where.items() if k != ("extends",)}
    return _deep_merge(base, data), _merge_where(base_where, where, data)


# ------------------------------------------------------------------------ validation
def dotted_path(loc: Loc) -> str:
    """A location as users write it: ``("a", 0, "b")`` -> ``"a[0].b"``."""
    parts: list[str] = []
    for p in loc:
        if isinstance(p, int):
            parts.append(f"[{p}]")
        else:
            parts.append(("." if parts else "") + str(p))
    return "".join(parts) or "(document)"


def data_location(loc: Loc, data: Any) -> Loc:
    """A pydantic error location without its union-tag parts, so it addresses the YAML data."""
    out: list[str | int] = []
    cur = data
    for part in loc:
        if isinstance(cur, Mapping) and isinstance(part, str) and part in cur:
            out.append(part)
            cur = cur[part]
        elif isinstance(cur, list) and isinstance(part, int) and 0 <= part < len(cur):
            out.append(part)
            cur = cur[part]
        elif isinstance(cur, Mapping) and isinstance(part, str) and not out[-1:] == [part]:
            # a missing or unknown key: keep it (it names the field) but stop walking
            if part in _TAGS:
                continue
            out.append(part)
            cur = None
        else:
            continue
    return tuple(out)


_TAGS = {"fixed", "exponential", "lognormal", "gamma", "uniform", "empirical"}


def line_for(loc: Loc, where: dict[Loc, Where], fallback: str) -> Where:
    """(file, line) of ``loc``, or of its nearest recorded parent (``(fallback, 1)``)."""
    for n in range(len(loc), -1, -1):
        w = where.get(loc[:n])
        if w is not None:
            return w
    return (fallback, 1)


def _model_fields_at(loc: Loc) -> list[str]:
    """Field names of the model that owns the last component of ``loc``."""
    model: Any = ServiceConfig
    for part in loc[:-1]:
        if isinstance(part, int):
            continue
        if not (isinstance(model, type) and issubclass(model, BaseModel)):
            return []
        field = model.model_fields.get(part)
        if field is None:
            return []
        model = _inner_model(field.annotation)
        if model is None:
            return []
    if isinstance(model, type) and issubclass(model, BaseModel):
        names = []
        for name, f in model.model_fields.items():
            names.append(f.alias or name)
        return names
    return []


def _inner_model(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in get_args(annotation):
        m = _inner_model(arg)
        if m is not None:
            return m
    origin = get_origin(annotation)
    if origin is not None and isinstance(origin, type) and issubclass(origin, BaseModel):
        return origin
    return None


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def error_sentence(
    err: dict[str, Any], loc: Loc, fields_at: Callable[[Loc], list[str]] | None = None
) -> str:
    """One "expected ..." sentence for a pydantic error dict at YAML location ``loc``.

    ``fields_at(loc)`` lists the field names allowed beside ``loc[-1]`` (for the
    did-you-mean hint of an unknown field); the default looks them up in ServiceConfig.
    Other YAML-backed specs (e.g. power studies) pass their own.
    """
    fields_at = _model_fields_at if fields_at is None else fields_at
    typ = err["type"]
    ctx = err.get("ctx") or {}
    got = err.get("input")
    if typ == "missing":
        return "required field is missing; expected a value"
    if typ == "extra_forbidden":
        field = str(loc[-1])
        allowed = fields_at(loc)
        close = difflib.get_close_matches(field, allowed, n=1, cutoff=0.6)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        exp = f" (expected one of: {', '.join(allowed)})" if allowed and not close else ""
        return f"unknown field {field!r}{hint}{exp}"
    if typ == "literal_error":
        return f"expected {ctx.get('expected', 'one of the allowed values')}, got {_shown(got)}"
    if typ in ("greater_than_equal", "greater_than", "less_than_equal", "less_than"):
        word = {
            "greater_than_equal": "at least",
            "greater_than": "greater than",
            "less_than_equal": "at most",
            "less_than": "less than",
        }[typ]
        bound = next(iter(ctx.values()), "")
        return f"expected a number {word} {bound}, got {_shown(got)}"
    if typ in ("float_parsing", "float_type", "int_parsing", "int_type", "int_from_float"):
        kind = "a whole number" if typ.startswith("int") else "a number"
        return f"expected {kind}, got {_shown(got)}"
    if typ in ("date_from_datetime_parsing", "date_parsing", "date_type"):
        return f"expected a date (YYYY-MM-DD), got {_shown(got)}"
    if typ == "union_tag_invalid":
        return (
            f"unknown distribution {ctx.get('tag')!r}; expected dist to be one of "
            f"{ctx.get('expected_tags')}"
        )
    if typ == "union_tag_not_found":
        return "expected a distribution with a 'dist' field (fixed, exponential, lognormal, gamma, uniform, empirical)"
    if typ in ("dict_type", "model_type", "model_attributes_type"):
        return f"expected a mapping of fields, got {_shown(got)}"
    if typ in ("list_type", "tuple_type"):
        return f"expected a list, got {_shown(got)}"
    if typ in ("string_type",):
        return f"expected text, got {_shown(got)}"
    if typ in ("bool_type", "bool_parsing"):
        return f"expected true or false, got {_shown(got)}"
    if typ == "too_short":
        return f"expected at least {ctx.get('min_length')} item(s), got {_shown(got)}"
    if typ == "value_error":
        msg = str(ctx.get("error", err.get("msg", "")))
        return msg
    return f"{err.get('msg', 'invalid value')}, got {_shown(got)}"


def end_sentence(text: str) -> str:
    """``text`` without surrounding white space, ending in a full stop (or a question mark)."""
    text = text.strip()
    return text if text.endswith((".", "?")) else text + "."


def _problems(exc: ValidationError, data: Any, where: dict[Loc, Where], path: str) -> list[str]:
    out: list[str] = []
    for err in exc.errors(include_url=False):
        cause = (err.get("ctx") or {}).get("error")
        base = data_location(tuple(err["loc"]), data)
        if isinstance(cause, CrossFieldError):
            for sub, msg in cause.problems:
                loc = (*base, *sub)
                f, line = line_for(loc, where, path)
                out.append(end_sentence(f"{f}, line {line}: {dotted_path(loc)}: {msg}"))
            continue
        f, line = line_for(base, where, path)
        out.append(end_sentence(f"{f}, line {line}: {dotted_path(base)}: {error_sentence(err, base)}"))
    return out


def validation_sentences(exc: ValidationError, data: Any, source: str) -> list[str]:
    """The sentences of :func:`validate_data` for data with no file behind it (no lines):
    ``SOURCE: field.path: what was expected.``"""
    out: list[str] = []
    for err in exc.errors(include_url=False):
        cause = (err.get("ctx") or {}).get("error")
        base = data_location(tuple(err["loc"]), data)
        if isinstance(cause, CrossFieldError):
            out.extend(
                end_sentence(f"{source}: {dotted_path((*base, *sub))}: {msg}")
                for sub, msg in cause.problems
            )
        else:
            out.append(end_sentence(f"{source}: {dotted_path(base)}: {error_sentence(err, base)}"))
    return out


def validate_data(data: dict[str, Any], where: dict[Loc, Where], path: str) -> ServiceConfig:
    """Validate merged YAML data into a :class:`ServiceConfig` or raise ConfigError."""
    try:
        return ServiceConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(_problems(exc, data, where, path)) from None


def load_config(path: str | os.PathLike[str]) -> ServiceConfig:
    """Load, merge (``extends:``) and validate a service configuration.

    Parameters
    ----------
    path : str or os.PathLike
        A YAML file, or the name of a shipped configuration (``"site_d"``, ``"usual_care"``;
        :func:`hubsim.resources.config_names` lists them). ``extends: other.yaml``
        (relative to the file) or ``extends: site_d`` (a shipped name) makes it a delta on
        another configuration: mappings merge key by key, lists are replaced whole.

    Returns
    -------
    ServiceConfig
        Frozen; ``content_hash`` identifies its content.

    Raises
    ------
    hubsim.ConfigError
        With one sentence per problem naming the file, the line, the field path and what
        was expected.
    """
    resolved = resolve_config(path)
    data, where = load_config_data(resolved)
    _resolve_paths(data, where)
    return validate_data(data, where, str(resolved))


def load_config_text(text: str | bytes, source: str = "upload.yaml") -> ServiceConfig:
    r"""Load a configuration from untrusted text (an upload), reading no other file of the user's.

    The same checks and sentences as :func:`load_config`, with ``source`` as the file name,
    and two more, because the text is not trusted: ``extends:`` may name only a shipped
    configuration (``extends: site_d``; no path, so an upload cannot make hubsim read a
    file of the machine's), and the result may not name a CSV file
    (``simulation.initial_waiting_list.csv``).

    Examples
    --------
    >>> cfg = load_config_text("extends: site_d\nname: my_site_d\n", "mine.yaml")
    >>> cfg.name, cfg.region.in_scope_staff
    ('my_site_d', 180000)
    >>> load_config_text("extends: /etc/passwd\n", "mine.yaml")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    hubsim.errors.ConfigError: mine.yaml, line 1: extends: expected the name of a shipped ... an uploaded file may not name other files.
    """
    data, where = read_yaml_text(text, source)
    if not isinstance(data, dict):
        raise ConfigError(
            f"{source}, line 1: the document is a {type(data).__name__}; expected a mapping of "
            "fields."
        )
    parent = data.pop("extends", None)
    if parent is not None:
        line = where.get(("extends",), (source, 1))[1]
        names = config_names()
        if not (isinstance(parent, str) and is_bare_word(parent) and parent in names):
            raise ConfigError(
                f"{source}, line {line}: extends: expected the name of a shipped configuration "
                f"({', '.join(names)}), got {_shown(parent)}; an uploaded file may not name "
                "other files."
            )
        base, base_where = _load_chain(config_path(parent), ())
        where = {k: v for k, v in where.items() if k != ("extends",)}
        data, where = _deep_merge(base, data), _merge_where(base_where, where, data)
    loc = ("simulation", "initial_waiting_list", "csv")
    sim = data.get("simulation")
    node = sim.get("initial_waiting_list") if isinstance(sim, dict) else None
    if isinstance(node, dict) and node.get("csv") is not None:
        f, line = line_for(loc, where, source)
        raise ConfigError(
            f"{f}, line {line}: {dotted_path(loc)}: an uploaded configuration may not name a "
            "file; expected counts with waited_days instead."
        )
    return validate_data(data, where, source)


def _resolve_paths(data: dict[str, Any], where: dict[Loc, Where]) -> None:
    """Relative file paths in the data are read from the folder of the file naming them."""
    loc = ("simulation", "initial_waiting_list", "csv")
    sim = data.get("simulation") if isinstance(data, dict) else None
    node = sim.get("initial_waiting_list") if isinstance(sim, dict) else None
    if isinstance(node, dict) and isinstance(node.get("csv"), str):
        p = Path(node["csv"])
        if not p.is_absolute():
            src = Path(where.get(loc, (".", 0))[0]).parent
            node["csv"] = str((src / p).resolve())
