"""Policies as data: tiers, cut-offs, overrides, disclosure, restoration, inspection.

Everything DOMAIN.md says differs by place or changes over time lives in a TOML file,
not in code. The package ships ``national`` (the default) and ``daqing`` (a local
example); :meth:`Policy.load` also reads any path, so a bureau writes its own.

Override rules are evaluated in file order, each on the tier the previous rules left.
A rule tests one feature (``feature``, ``op``, ``value``), and any further conditions
it lists under ``and`` (each a ``feature``, ``op`` and ``value``; all must hold), and
acts with exactly one of ``set`` (that tier), ``at_least`` (no better than that tier),
``at_most`` (no worse than that tier) or ``raise_by`` (that many tiers riskier, capped at
the worst). Its ``reason`` is a sentence; ``{tier}``, ``{value}`` (the first feature's
value) and ``{<feature>}`` for each feature the rule tests are filled in.

The national default holds only the overrides DOMAIN.md supports (the two lists). A
local rule such as "a key-sector business is never tier A" is an example a bureau may
add (:data:`KEY_SECTOR_EXAMPLE`, commented out in ``national.toml``): DOMAIN.md gives
key sectors more frequent inspections, which ``[inspection.key_sectors]`` already sets,
not a higher risk.

Examples
--------
>>> policy = Policy.load("national")
>>> policy.tiers
('A', 'B', 'C', 'D')
>>> [rule.name for rule in policy.overrides]
['serious_illegal_list', 'abnormal_list']
>>> Policy.from_dict(policy.to_dict()) == policy
True
>>> d = policy.to_dict(); d["overrides"].append(KEY_SECTOR_EXAMPLE)
>>> [rule.name for rule in Policy.from_dict(d).overrides][-1]
'key_sector'
>>> d["overrides"] += RELATED_PARTY_EXAMPLES
>>> Policy.from_dict(d).overrides[-1].features
('address_cluster_size', 'address_cluster_abnormal')
"""

from __future__ import annotations

import copy
import tomllib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from creditrisk.data.schema import KEY_SECTORS, MEASURES, Problem
from creditrisk.features.builder import CATALOGUE, FeatureSpec
from creditrisk.features.penalties import DisclosureRules, DisclosureSpec, disclosure_problems

__all__ = [
    "KEY_SECTOR_EXAMPLE",
    "OPS",
    "RELATED_PARTY_EXAMPLES",
    "Condition",
    "Override",
    "Policy",
    "PolicyError",
    "available_policies",
]

OPS = ("==", "!=", ">", ">=", "<", "<=", "in", "not in")
_ACTIONS = ("set", "at_least", "at_most", "raise_by")
_FEATURES = {f.name: f for f in CATALOGUE}
#: An example local override, not in the national default: a key-sector business is
#: never tier A. Append it to a policy's ``overrides`` to use it.
KEY_SECTOR_EXAMPLE: dict[str, Any] = {
    "name": "key_sector",
    "feature": "key_sector",
    "op": "!=",
    "value": "none",
    "at_least": "B",
    "reason": "Key-sector business ({value}): never tier A",
}
#: Example related-party rules, not in the national default (DOMAIN.md reports them from
#: local systems, as inspection targets or points, not as national tier rules): a legal
#: representative who led another enterprise onto the serious list (who may not be a
#: legal representative again for 3 years) and an address shared by 10 or more
#: enterprises (Shandong's flag), 3 or more of the others abnormal. They test features
#: of the indicator tables, so a model must be trained with them for the rules to apply.
RELATED_PARTY_EXAMPLES: list[dict[str, Any]] = [
    {
        "name": "serious_list_person",
        "feature": "person_serious_history",
        "op": "==",
        "value": 1,
        "at_least": "C",
        "reason": "Its legal representative led another enterprise onto the serious "
        "illegal and dishonest list: at least tier {tier}",
    },
    {
        "name": "address_cluster",
        "feature": "address_cluster_size",
        "op": ">=",
        "value": 10,
        "and": [{"feature": "address_cluster_abnormal", "op": ">=", "value": 3}],
        "at_least": "B",
        "reason": "Registered at an address shared by {address_cluster_size} enterprises, "
        "{address_cluster_abnormal} others of them abnormal: at least tier {tier}",
    },
]
_SECTIONS = {
    "name",
    "description",
    "tiers",
    "overrides",
    "disclosure",
    "restoration",
    "inspection",
}


class PolicyError(ValueError):
    """A policy file that cannot be used, with the setting at fault.

    Examples
    --------
    >>> try:
    ...     Policy.from_dict({"name": "x", "tiers": {"names": ["A"], "method": "cutoffs",
    ...                       "cutoffs": []}, "colour": "red"})
    ... except PolicyError as exc:
    ...     print(exc)
    policy 'x': unknown setting 'colour'
    """


@dataclass(frozen=True)
class Condition:
    """A further condition of an override: ``feature op value``.

    Parameters
    ----------
    feature : str
        The catalogue feature it tests.
    op : {"==", "!=", ">", ">=", "<", "<=", "in", "not in"}
        The comparison (:data:`OPS`).
    value : object
        What the feature is compared with (a list for ``in`` and ``not in``).

    Examples
    --------
    >>> Condition("address_cluster_abnormal", ">=", 3).to_dict()
    {'feature': 'address_cluster_abnormal', 'op': '>=', 'value': 3}
    """

    feature: str
    op: str
    value: Any

    def to_dict(self) -> dict[str, Any]:
        """The condition as a policy file writes it.

        Returns
        -------
        dict
            ``feature``, ``op`` and ``value``.

        Examples
        --------
        >>> Condition("times_listed", ">", 1).to_dict()["op"]
        '>'
        """
        return {"feature": self.feature, "op": self.op, "value": self.value}


@dataclass(frozen=True)
class Override:
    """One hard rule: when ``feature op value`` (and every further condition) holds,
    move the tier.

    Policies read their rules from the ``overrides`` of a TOML file
    (:meth:`Policy.from_dict` checks them); the module's docstring explains the actions.

    Parameters
    ----------
    name : str
        The rule's name.
    feature : str
        The catalogue feature it tests.
    op : {"==", "!=", ">", ">=", "<", "<=", "in", "not in"}
        The comparison (:data:`OPS`).
    value : object
        What the feature is compared with (a list for ``in`` and ``not in``).
    action : {"set", "at_least", "at_most", "raise_by"}
        How the rule moves the tier.
    target : str or int
        The tier of ``set``, ``at_least`` and ``at_most``; the number of tiers of
        ``raise_by``.
    reason : str
        The sentence given as the reason; ``{tier}``, ``{value}`` and ``{<feature>}``
        are filled in (:meth:`sentence`).
    also : tuple of Condition, default ()
        Further conditions, all of which must hold too (``and`` in a policy file).

    Examples
    --------
    >>> rule = Override("abnormal_list", "on_abnormal_list", "==", 1, "at_least", "C",
    ...                 "On the abnormal operation list: at least tier {tier}")
    >>> rule.sentence(tier="C", value=1)
    'On the abnormal operation list: at least tier C'
    >>> both = Override("cluster", "address_cluster_size", ">=", 10, "at_least", "B",
    ...                 "{address_cluster_abnormal} abnormal at the address: {tier}",
    ...                 also=(Condition("address_cluster_abnormal", ">=", 3),))
    >>> both.features
    ('address_cluster_size', 'address_cluster_abnormal')
    """

    name: str
    feature: str
    op: str
    value: Any
    action: str
    target: str | int
    reason: str
    also: tuple[Condition, ...] = ()

    @property
    def conditions(self) -> tuple[Condition, ...]:
        """Every condition of the rule, its first feature's first.

        Returns
        -------
        tuple of Condition
            ``feature op value``, then :attr:`also`.

        Examples
        --------
        >>> Policy.load("national").overrides[0].conditions
        (Condition(feature='on_serious_list', op='==', value=1),)
        """
        return (Condition(self.feature, self.op, self.value), *self.also)

    @property
    def features(self) -> tuple[str, ...]:
        """The features the rule tests, without repeats.

        Returns
        -------
        tuple of str
            Its first feature, then those of :attr:`also`.

        Examples
        --------
        >>> Policy.load("national").overrides[1].features
        ('on_abnormal_list',)
        """
        return tuple(dict.fromkeys(c.feature for c in self.conditions))

    def sentence(self, tier: str, value: Any, **values: Any) -> str:
        """The rule's reason with the tier reached and the entity's values filled in.

        Parameters
        ----------
        tier : str
            The tier the entity ends at, for ``{tier}``.
        value : object
            The entity's value of the first feature, for ``{value}``.
        **values : object
            The entity's value of each feature the rule tests, for ``{<feature>}``.

        Returns
        -------
        str
            The reason, filled in.

        Examples
        --------
        >>> rule = Override("k", "key_sector", "!=", "none", "at_least", "B",
        ...                 "Key-sector business ({value}): never tier A")
        >>> rule.sentence(tier="B", value="food")
        'Key-sector business (food): never tier A'
        """
        return self.reason.format(tier=tier, value=value, **values)

    def to_dict(self) -> dict[str, Any]:
        """The rule as a policy file writes it: the action is the key of its target.

        Returns
        -------
        dict
            ``name``, ``feature``, ``op``, ``value``, the action (``set``,
            ``at_least``, ``at_most`` or ``raise_by``) and ``reason``.

        Examples
        --------
        >>> Policy.load("national").overrides[1].to_dict()["at_least"]
        'C'
        >>> Override("r", "times_listed", ">=", 2, "raise_by", 1, "Listed often").to_dict()
        ... # doctest: +NORMALIZE_WHITESPACE
        {'name': 'r', 'feature': 'times_listed', 'op': '>=', 'value': 2, 'raise_by': 1,
         'reason': 'Listed often'}
        """
        out = {"name": self.name, "feature": self.feature, "op": self.op, "value": self.value}
        if self.also:
            out["and"] = [c.to_dict() for c in self.also]
        return {**out, self.action: self.target, "reason": self.reason}


@dataclass(frozen=True)
class Policy:
    """A regulator's rules: tier names, how probabilities map to tiers, overrides and more.

    Parameters
    ----------
    name : str
        The policy's name.
    tiers : tuple of str
        Tier names, lowest risk first.
    method : {"shares", "cutoffs"}
        ``"shares"`` fits the cut-offs once, at training, so the training population
        (its latest as-of date) splits in ``shares`` (lowest risk first) by probability,
        before the overrides move entities up; the model keeps those cut-offs
        (``RiskModel.cutoffs_``, saved with it) for every later scoring, so later tier
        shares are an outcome, not a quota. ``"cutoffs"`` uses the fixed probability
        ``cutoffs`` between consecutive tiers.
    shares : tuple of float
        Target shares per tier at training (``method="shares"``).
    cutoffs : tuple of float
        Fixed cut-offs (``method="cutoffs"``).
    labels : tuple of str
        Tier labels in words.
    context_moves_tier : bool
        Whether context features (region, industry, age, legal form, capital: what the
        enterprise is, not what it did) may move a tier. They are never reasons; with
        False the tier comes from the probability without their contributions, while
        the probability reported stays the model's best estimate.
    overrides : tuple of Override
        The hard rules, in order.
    description : str
        One line about the policy.
    disclosure : dict
        How penalties count and how long they are published (:meth:`feature_spec`,
        :meth:`disclosure_problems`).
    restoration : dict
        The waiting periods, the measures never restorable and the minimum time on the
        serious list, used by recourse.
    inspection : dict
        The sampling ratios, random floor and baseline used by inspection planning.

    Examples
    --------
    >>> p = Policy.load("daqing")
    >>> p.method, p.cutoffs
    ('cutoffs', (0.15, 0.3, 0.5))
    >>> p.feature_spec().restored_penalties
    'exclude'
    >>> p.worse("B", 2)
    'D'
    """

    name: str
    tiers: tuple[str, ...]
    method: str
    shares: tuple[float, ...] = ()
    cutoffs: tuple[float, ...] = ()
    labels: tuple[str, ...] = ()
    context_moves_tier: bool = True
    overrides: tuple[Override, ...] = ()
    description: str = ""
    disclosure: dict[str, Any] = field(default_factory=dict)
    restoration: dict[str, Any] = field(default_factory=dict)
    inspection: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._check()

    # -- reading and writing -------------------------------------------------------
    @classmethod
    def load(cls, name_or_path: str | Path) -> Policy:
        """A shipped policy by name (``national``, ``daqing``) or a TOML file by path.

        Parameters
        ----------
        name_or_path : str or pathlib.Path
            A name of :func:`available_policies`, or the path of a TOML file.

        Returns
        -------
        Policy
            The policy, checked.

        Raises
        ------
        PolicyError
            No such policy or file, a file that is not TOML, or a setting at fault.

        Examples
        --------
        >>> Policy.load("national").name
        'national'
        >>> Policy.load("atlantis")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        creditrisk.policy.rules.PolicyError: no policy 'atlantis': not a file, and not one ...
        """
        path = Path(name_or_path)
        if path.suffix != ".toml" and str(name_or_path) in available_policies():
            text = resources.files("creditrisk.policy").joinpath(f"{name_or_path}.toml")
            return cls.from_dict(tomllib.loads(text.read_text(encoding="utf-8")))
        if not path.exists():
            raise PolicyError(
                f"no policy {str(name_or_path)!r}: not a file, and not one of the "
                f"shipped policies {available_policies()}"
            )
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise PolicyError(f"policy file {path} is not valid TOML: {exc}") from None
        return cls.from_dict(data)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Policy:
        """A policy from the dictionary a TOML file (or :meth:`to_dict`) gives.

        Parameters
        ----------
        data : dict
            The sections ``name``, ``description``, ``tiers`` (``names``, ``labels``,
            ``method``, ``shares``, ``cutoffs``), ``overrides``, ``disclosure``,
            ``restoration`` and ``inspection``; only ``tiers.names`` is required.

        Returns
        -------
        Policy
            The policy, checked.

        Raises
        ------
        PolicyError
            An unknown setting, a missing ``tiers.names``, or a setting at fault.

        Examples
        --------
        >>> d = Policy.load("national").to_dict()
        >>> d["tiers"]["names"] = ["A", "B", "C", "D", "E"]
        >>> d["tiers"]["shares"] = [0.5, 0.2, 0.15, 0.1, 0.05]
        >>> d["tiers"]["labels"] = ["low", "general", "raised", "high", "highest"]
        >>> Policy.from_dict(d).tiers[-1]
        'E'
        """
        name = str(data.get("name", "unnamed"))
        unknown = sorted(set(data) - _SECTIONS)
        if unknown:
            raise PolicyError(f"policy {name!r}: unknown setting {unknown[0]!r}")
        tiers = data.get("tiers")
        if not isinstance(tiers, dict) or "names" not in tiers:
            raise PolicyError(f"policy {name!r}: [tiers] needs 'names'")
        allowed = {"names", "labels", "method", "shares", "cutoffs", "context_moves_tier"}
        extra = sorted(set(tiers) - allowed)
        if extra:
            raise PolicyError(f"policy {name!r}: unknown setting 'tiers.{extra[0]}'")
        return cls(
            name=name,
            description=str(data.get("description", "")),
            tiers=tuple(str(t) for t in tiers["names"]),
            labels=tuple(str(t) for t in tiers.get("labels", ())),
            method=str(tiers.get("method", "shares")),
            shares=tuple(float(s) for s in tiers.get("shares", ())),
            cutoffs=tuple(float(c) for c in tiers.get("cutoffs", ())),
            context_moves_tier=_flag(name, tiers.get("context_moves_tier", True)),
            overrides=tuple(
                _override(name, i, rule) for i, rule in enumerate(data.get("overrides", []))
            ),
            disclosure=dict(data.get("disclosure", {})),
            restoration=dict(data.get("restoration", {})),
            inspection=dict(data.get("inspection", {})),
        )

    def to_dict(self) -> dict[str, Any]:
        """Plain data (TOML- and JSON-ready) that :meth:`from_dict` reads back.

        Returns
        -------
        dict
            The sections of a policy file; the dictionaries are copies.

        Examples
        --------
        >>> p = Policy.load("daqing")
        >>> p.to_dict()["tiers"]["cutoffs"]
        [0.15, 0.3, 0.5]
        >>> Policy.from_dict(p.to_dict()) == p
        True
        """
        tiers: dict[str, Any] = {"names": list(self.tiers), "method": self.method}
        if self.labels:
            tiers["labels"] = list(self.labels)
        if self.shares:
            tiers["shares"] = list(self.shares)
        if self.cutoffs:
            tiers["cutoffs"] = list(self.cutoffs)
        tiers["context_moves_tier"] = self.context_moves_tier
        return {
            "name": self.name,
            "description": self.description,
            "tiers": tiers,
            "overrides": [rule.to_dict() for rule in self.overrides],
            "disclosure": copy.deepcopy(self.disclosure),
            "restoration": copy.deepcopy(self.restoration),
            "inspection": copy.deepcopy(self.inspection),
        }

    # -- what the rest of the library asks -----------------------------------------
    def feature_spec(self) -> FeatureSpec:
        """The feature settings this policy's disclosure rules call for.

        Returns
        -------
        FeatureSpec
            A :class:`~creditrisk.features.penalties.DisclosureSpec`: how penalties
            count, and the disclosure periods that derive a missing end date.

        Examples
        --------
        >>> spec = Policy.load("national").feature_spec()
        >>> spec.penalty_counting, spec.disclosure.disclosure_months
        ('disclosed', 36)
        """
        return DisclosureSpec(
            penalty_counting=self.disclosure.get("penalty_counting", "disclosed"),
            restored_penalties=self.disclosure.get("restored_penalties", "exclude"),
            disclosure=DisclosureRules.from_policy(self.disclosure),
        )

    def disclosure_problems(self, tables) -> list[Problem]:
        """Penalties whose disclosure end in the register contradicts this policy.

        A warning with an end (warnings are not published), or an end more than a
        month from the policy's period (3 months for criticism notices and lower-amount
        fines, 3 years otherwise; a trade ban's may be later). A missing end is no
        problem: the features derive it from the policy.

        Parameters
        ----------
        tables : EventTables
            The register (its ``penalties`` table is read).

        Returns
        -------
        list of Problem
            Empty when the register agrees with the policy.

        Examples
        --------
        >>> import creditrisk as cr
        >>> Policy.load("national").disclosure_problems(cr.load_sample())
        []
        """
        penalties = getattr(tables, "penalties", tables)
        return disclosure_problems(penalties, DisclosureRules.from_policy(self.disclosure))

    def tier_index(self, tier: str) -> int:
        """Position of a tier, 0 the lowest risk.

        Parameters
        ----------
        tier : str
            A tier of the policy.

        Returns
        -------
        int
            Its position in ``tiers``.

        Raises
        ------
        PolicyError
            The policy has no such tier.

        Examples
        --------
        >>> Policy.load("national").tier_index("C")
        2
        >>> Policy.load("national").tier_index("Z")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        creditrisk.policy.rules.PolicyError: policy 'national': unknown tier 'Z'; tiers are [...]
        """
        try:
            return self.tiers.index(tier)
        except ValueError:
            raise PolicyError(
                f"policy {self.name!r}: unknown tier {tier!r}; tiers are {list(self.tiers)}"
            ) from None

    def worse(self, tier: str, steps: int = 1) -> str:
        """The tier ``steps`` riskier than ``tier``, capped at the worst.

        Parameters
        ----------
        tier : str
            A tier of the policy.
        steps : int, default 1
            How many tiers riskier.

        Returns
        -------
        str
            The tier reached.

        Examples
        --------
        >>> p = Policy.load("national")
        >>> p.worse("A"), p.worse("C", 5)
        ('B', 'D')
        """
        return self.tiers[min(self.tier_index(tier) + steps, len(self.tiers) - 1)]

    def __hash__(self) -> int:  # dict fields: hash what identifies the policy
        return hash((self.name, self.tiers, self.method, self.shares, self.cutoffs))

    # -- checks --------------------------------------------------------------------
    def _check(self) -> None:
        where = f"policy {self.name!r}"
        n = len(self.tiers)
        if n < 2 or len(set(self.tiers)) != n:
            raise PolicyError(f"{where}: tiers.names needs at least two distinct names")
        if self.labels and len(self.labels) != n:
            raise PolicyError(f"{where}: tiers.labels has {len(self.labels)} entries, not {n}")
        if self.method == "shares":
            if len(self.shares) != n or any(s <= 0 for s in self.shares):
                raise PolicyError(f"{where}: tiers.shares needs {n} positive shares")
            if abs(sum(self.shares) - 1) > 1e-6:
                raise PolicyError(f"{where}: tiers.shares sum to {sum(self.shares):g}, not 1")
        elif self.method == "cutoffs":
            c = self.cutoffs
            if len(c) != n - 1 or any(not 0 < x < 1 for x in c) or list(c) != sorted(set(c)):
                raise PolicyError(
                    f"{where}: tiers.cutoffs needs {n - 1} increasing probabilities in (0, 1)"
                )
        else:
            raise PolicyError(f"{where}: tiers.method must be 'shares' or 'cutoffs'")
        for rule in self.overrides:
            if rule.action == "raise_by":
                if not isinstance(rule.target, int) or rule.target < 1:
                    raise PolicyError(f"{where}: override {rule.name!r}: raise_by needs n >= 1")
            elif rule.target not in self.tiers:
                raise PolicyError(
                    f"{where}: override {rule.name!r}: unknown tier {rule.target!r}; "
                    f"tiers are {list(self.tiers)}"
                )
        spec = self.disclosure
        for key, allowed in (
            ("penalty_counting", ("disclosed", "known")),
            ("restored_penalties", ("exclude", "include")),
        ):
            if key in spec and spec[key] not in allowed:
                raise PolicyError(f"{where}: disclosure.{key} must be one of {allowed}")
        for key in ("lower_amount_fine", "short_disclosure_months", "disclosure_months"):
            if key in spec and not _number(spec[key], positive=key != "lower_amount_fine"):
                raise PolicyError(f"{where}: disclosure.{key} must be a non-negative number")
        rest = self.restoration
        for key in ("wait_months", "wait_months_key_sector", "serious_list_min_months"):
            if key in rest and not _number(rest[key]):
                raise PolicyError(f"{where}: restoration.{key} must be a non-negative number")
        for key, allowed in (
            ("key_sectors", KEY_SECTORS[1:]),
            ("never_after", MEASURES),
        ):
            bad = [x for x in rest.get(key, []) if x not in allowed]
            if bad:
                raise PolicyError(
                    f"{where}: restoration.{key} names {bad[0]!r}; allowed: {list(allowed)}"
                )
        ratios = self.inspection.get("ratios", {})
        unknown = sorted(set(ratios) - set(self.tiers))
        if unknown:
            raise PolicyError(f"{where}: inspection.ratios names unknown tier {unknown[0]!r}")
        floor = self.inspection.get("random_floor")
        if floor is not None and not (_number(floor) and 0 < float(floor) <= 1):
            raise PolicyError(
                f"{where}: inspection.random_floor must be in (0, 1]: no entity is exempt "
                "from the random draw"
            )
        baseline = self.inspection.get("baseline_ratio")
        if baseline is not None and not (_number(baseline) and float(baseline) <= 1):
            raise PolicyError(f"{where}: inspection.baseline_ratio must be in [0, 1]")


def _number(value: Any, positive: bool = False) -> bool:
    ok = isinstance(value, int | float) and not isinstance(value, bool) and value >= 0
    return ok and (value > 0 or not positive)


def _plain(v: Any) -> Any:
    return [_plain(x) for x in v] if isinstance(v, list | tuple) else v


def _override(policy: str, i: int, rule: dict[str, Any]) -> Override:
    where = f"policy {policy!r}: override {rule.get('name', i + 1)!r}"
    known = {"name", "feature", "op", "value", "reason", "and", *_ACTIONS}
    unknown = sorted(set(rule) - known)
    if unknown:
        raise PolicyError(f"{where}: unknown setting {unknown[0]!r}")
    if "name" not in rule:
        raise PolicyError(f"{where}: needs 'name'")
    first = _condition(where, rule)
    further = rule.get("and", [])
    if not isinstance(further, list) or not all(isinstance(c, dict) for c in further):
        raise PolicyError(f"{where}: 'and' needs a list of tables of feature, op and value")
    also = tuple(_condition(f"{where}: and[{k}]", c, nested=True) for k, c in enumerate(further))
    actions = [a for a in _ACTIONS if a in rule]
    if len(actions) != 1:
        raise PolicyError(f"{where}: needs exactly one of {list(_ACTIONS)}")
    action = actions[0]
    reason = str(rule.get("reason", f"Override {rule['name']}: tier {{tier}}"))
    names = {"tier", "value", first.feature, *(c.feature for c in also)}
    try:  # every placeholder names the tier, the value or a feature the rule tests
        reason.format(**dict.fromkeys(names, ""))
    except (KeyError, IndexError, ValueError) as exc:
        raise PolicyError(
            f"{where}: reason {reason!r} has a placeholder it cannot fill ({exc}); it may "
            f"use {sorted(names)}"
        ) from None
    return Override(
        name=str(rule["name"]),
        feature=first.feature,
        op=first.op,
        value=first.value,
        action=action,
        target=rule[action],
        reason=reason,
        also=also,
    )


def _condition(where: str, rule: dict[str, Any], nested: bool = False) -> Condition:
    if nested:
        unknown = sorted(set(rule) - {"feature", "op", "value"})
        if unknown:
            raise PolicyError(f"{where}: unknown setting {unknown[0]!r}")
    for key in ("feature", "value"):
        if key not in rule:
            raise PolicyError(f"{where}: needs {key!r}")
    if rule["feature"] not in _FEATURES:
        raise PolicyError(
            f"{where}: unknown feature {rule['feature']!r}; see creditrisk.feature_catalogue()"
        )
    op = rule.get("op", "==")
    if op not in OPS:
        raise PolicyError(f"{where}: op must be one of {list(OPS)}, not {op!r}")
    value = rule["value"]
    if op in ("in", "not in") and not isinstance(value, list):
        raise PolicyError(f"{where}: op {op!r} needs a list value")
    return Condition(rule["feature"], op, _plain(value))


def available_policies() -> list[str]:
    """Names of the policies shipped with the package.

    Returns
    -------
    list of str
        The names :meth:`Policy.load` takes, sorted.

    Examples
    --------
    >>> available_policies()
    ['daqing', 'national']
    """
    root = resources.files("creditrisk.policy")
    return sorted(p.name[:-5] for p in root.iterdir() if p.name.endswith(".toml"))


def _flag(policy: str, value) -> bool:
    if not isinstance(value, bool):
        raise PolicyError(
            f"policy {policy!r}: tiers.context_moves_tier must be true or false, not {value!r}"
        )
    return value
