"""Scenario variants: a configuration with some fields changed, validated again.

Paths are dotted field names; a tuple item with an ``id`` (roles, groups, external
services) is addressed by that id in brackets, any other item by its index:
``service.workforce.roles[therapists].wte``, ``simulation.external_services[cmht].wait_days``.

Examples
--------
>>> import hubsim
>>> cfg = hubsim.load_config("site_d")
>>> more = vary(cfg, {"service.workforce.roles[therapists].wte": 7.4})
>>> more.service.workforce.role("therapists").wte, more.service.workforce.reported_total_wte
(7.4, 14.15)
>>> cfg.service.workforce.role("therapists").wte  # the original is untouched
5.4
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from typing import Any

from hubsim.config.schema import ServiceConfig

_PART = re.compile(r"^([A-Za-z_0-9]+)(?:\[([^\]]+)\])?$")


def _set(data: Any, path: str, value: Any) -> None:
    parts = path.split(".")
    node = data
    for i, part in enumerate(parts):
        m = _PART.match(part)
        if m is None:
            raise ValueError(
                f"variant path {path!r}: cannot read {part!r}; expected name or name[id]."
            )
        key, sel = m.group(1), m.group(2)
        last = i == len(parts) - 1
        if not isinstance(node, dict) or key not in node:
            raise ValueError(
                f"variant path {path!r}: no field {key!r} at {'.'.join(parts[:i]) or 'top level'}."
            )
        if sel is None:
            if last:
                node[key] = value
                return
            node = node[key]
            continue
        items = node[key]
        if not isinstance(items, list):
            raise ValueError(f"variant path {path!r}: {key!r} is not a list.")
        if sel.isdigit():
            idx = int(sel)
        else:
            ids = [
                it.get("id", it.get("service")) if isinstance(it, dict) else None for it in items
            ]
            if sel not in ids:
                raise ValueError(
                    f"variant path {path!r}: no item {sel!r} in {key}; expected one of "
                    f"{', '.join(str(x) for x in ids)}."
                )
            idx = ids.index(sel)
        if last:
            items[idx] = value
            return
        node = items[idx]


def vary(
    config: ServiceConfig,
    changes: Mapping[str, Any],
    *,
    name: str | None = None,
    sync_total_wte: bool = True,
) -> ServiceConfig:
    """A validated copy of ``config`` with ``changes`` applied (the original is not modified).

    Parameters
    ----------
    config : ServiceConfig
    changes : mapping of str to value
        Dotted paths (see module docstring) to new values (plain data, as in YAML).
    name : str, optional
        New ``name``. Keep the name (the default) to run the variant under the same random
        streams as the original (common random numbers), or pass ``scenario=`` to simulate.
    sync_total_wte : bool, default True
        Set ``reported_total_wte`` to the sum of the roles' WTE after the change.

    Returns
    -------
    ServiceConfig
    """
    data = copy.deepcopy(config.to_dict())
    for path, value in changes.items():
        _set(data, path, copy.deepcopy(value))
    if name is not None:
        data["name"] = name
    if sync_total_wte:
        wf = data["service"]["workforce"]
        wf["reported_total_wte"] = round(sum(float(r["wte"]) for r in wf["roles"]), 10)
    return ServiceConfig.model_validate(data)


# ------------------------------------------------------------------------------ deltas
def _delta(new: Any, old: Any, raw: Any) -> dict[str, Any]:
    """Keys of mapping ``new`` that differ from ``old``; ``raw`` (the base as written in its
    YAML, defaults not filled) tells where a partial mapping would merge onto the base."""
    out: dict[str, Any] = {}
    for key, value in new.items():
        before = old.get(key) if isinstance(old, Mapping) else None
        if value == before:
            continue
        raw_here = raw.get(key) if isinstance(raw, Mapping) else None
        mergeable = (
            isinstance(value, Mapping)
            and isinstance(before, Mapping)
            and isinstance(raw_here, Mapping)
            and "dist" not in value  # distributions are replaced whole by the loader
        )
        out[key] = _delta(value, before, raw_here) if mergeable else copy.deepcopy(value)
    return out


def config_delta(config: ServiceConfig, base: str) -> dict[str, Any]:
    """``config`` as a delta on the shipped configuration ``base``: ``extends:`` and the
    fields that differ (mappings merged key by key, lists and distributions whole), so the
    loader reads it back to the same configuration (the same :attr:`content_hash`).

    Examples
    --------
    >>> import hubsim
    >>> more = vary(hubsim.load_config("site_d"), {"simulation.demand.multiplier": 1.5},
    ...             name="busier")
    >>> config_delta(more, "site_d")
    {'extends': 'site_d', 'name': 'busier', 'simulation': {'demand': {'multiplier': 1.5}}}
    """
    from hubsim.config.loader import load_config, load_config_data

    raw, _ = load_config_data(base)
    return {"extends": base, **_delta(config.to_dict(), load_config(base).to_dict(), raw)}


def config_yaml(config: ServiceConfig, base: str | None = None) -> str:
    """YAML text of ``config``: a delta on the shipped configuration ``base``
    (:func:`config_delta`), or the whole resolved configuration when ``base`` is None.

    Either way ``hubsim run``, ``hubsim validate`` and :func:`hubsim.load_config` read it
    back to a configuration with the same :attr:`~ServiceConfig.content_hash`.

    Examples
    --------
    >>> import hubsim
    >>> from hubsim.config import load_config_text
    >>> more = vary(hubsim.load_config("site_d"), {"simulation.demand.multiplier": 1.5})
    >>> text = config_yaml(more, "site_d")
    >>> print(text.splitlines()[0])
    # site_d: a delta on the shipped configuration site_d (hubsim run FILE reads it)
    >>> load_config_text(text).content_hash == more.content_hash
    True
    """
    import yaml

    if base is None:
        head = f"# {config.name}: a whole hubsim configuration (hubsim run FILE reads it)\n"
        data = config.to_dict()
    else:
        head = (
            f"# {config.name}: a delta on the shipped configuration {base} "
            "(hubsim run FILE reads it)\n"
        )
        data = config_delta(config, base)
    return head + yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100)
