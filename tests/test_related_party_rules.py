"""Override rules on the related-party features (issue 18, item 4): rules with several
conditions (``and``), reasons naming every feature a rule tests, and a model trained
with the indicator tables applying them, in the documented order.
"""

from __future__ import annotations

import copy

import numpy as np
import pandas as pd
import pytest

import creditrisk as cr
from creditrisk.features.related import COUNTS as RELATED
from creditrisk.policy import RELATED_PARTY_EXAMPLES, Condition
from creditrisk.policy.tiers import assign_tiers, override_mask


def related_policy(**tiers) -> cr.Policy:
    d = cr.Policy.load("national").to_dict()
    d["overrides"] += copy.deepcopy(RELATED_PARTY_EXAMPLES)
    d["tiers"].update(tiers)
    return cr.Policy.from_dict(d)


def error_of(data: dict) -> str:
    with pytest.raises(cr.PolicyError) as info:
        cr.Policy.from_dict(data)
    return str(info.value)


def test_examples_read_with_both_conditions_and_round_trip() -> None:
    policy = related_policy()
    person, cluster = policy.overrides[-2:]
    assert person.features == ("person_serious_history",)
    assert cluster.conditions == (
        Condition("address_cluster_size", ">=", 10),
        Condition("address_cluster_abnormal", ">=", 3),
    )
    assert cr.Policy.from_dict(policy.to_dict()) == policy
    assert policy.to_dict()["overrides"][-1]["and"] == [
        {"feature": "address_cluster_abnormal", "op": ">=", "value": 3}
    ]


def test_every_condition_must_hold_and_the_reason_names_each_value() -> None:
    policy = related_policy(method="cutoffs", cutoffs=[0.2, 0.4, 0.6])
    f = pd.DataFrame(
        {
            "on_serious_list": 0,
            "on_abnormal_list": 0,
            "person_serious_history": [0, 0, 0, 0, 1, 1],
            "address_cluster_size": [12, 12, 9, 30, 1, 15],
            "address_cluster_abnormal": [3, 2, 5, 7, 0, 4],
        }
    )
    hit = override_mask(policy.overrides[-1], f)
    assert hit.tolist() == [True, False, False, True, False, True]
    out = assign_tiers(np.full(6, 0.1), f, policy, policy.cutoffs)
    assert out["tier"].astype(str).tolist() == ["B", "A", "A", "B", "C", "C"]
    assert out["override_reason"].iloc[0] == (
        "Registered at an address shared by 12 enterprises, 3 others of them abnormal: "
        "at least tier B"
    )
    assert "30 enterprises, 7 others" in out["override_reason"].iloc[3]
    # rules run in file order, each on the tier the last left: the person rule raised
    # row 5 to C, so the cluster rule (at least B) did not move it and is not a reason
    assert out["override"].iloc[5] == "serious_list_person"
    assert out["override"].iloc[0] == "address_cluster"


def test_a_rule_lacking_any_of_its_features_is_refused_for_the_input() -> None:
    rule = related_policy().overrides[-1]
    with pytest.raises(ValueError, match="address_cluster_abnormal"):
        override_mask(rule, pd.DataFrame({"address_cluster_size": [12]}))


@pytest.mark.parametrize(
    ("change", "words"),
    [
        (lambda r: r.update({"and": {"feature": "x"}}), "'and' needs a list"),
        (lambda r: r["and"][0].update(colour="red"), "and[0]: unknown setting 'colour'"),
        (lambda r: r["and"][0].update(feature="shoe_size"), "unknown feature 'shoe_size'"),
        (lambda r: r["and"][0].pop("value"), "and[0]: needs 'value'"),
        (lambda r: r["and"][0].update(op="~="), "op must be one of"),
        (lambda r: r.update(reason="{capital} at the address"), "'capital'"),
    ],
)
def test_bad_conditions_name_the_rule_and_setting(change, words) -> None:
    d = cr.Policy.load("national").to_dict()
    d["overrides"] += copy.deepcopy(RELATED_PARTY_EXAMPLES)
    change(d["overrides"][-1])
    message = error_of(d)
    assert "override 'address_cluster'" in message
    assert words in message


@pytest.fixture(scope="module")
def world() -> cr.synth.World:
    return cr.synth.generate(3_000, "2019-01-01", "2023-06-30", seed=5, indicators=True)


@pytest.fixture(scope="module")
def result(world) -> cr.model.training.TrainingResult:
    return cr.fit_model(world.tables, policy=related_policy(), n_estimators=30, num_threads=1)


def test_a_model_with_the_indicator_tables_applies_the_rules(result) -> None:
    policy = related_policy()
    model = result.model
    assert model.inapplicable_overrides_ == []
    X = result.X_test
    scores = model.classify(X, top_k=3)
    for rule in policy.overrides[-2:]:
        hit = override_mask(rule, X)
        moved = scores["override"].str.contains(rule.name, regex=False).to_numpy()
        assert not (moved & ~hit).any()  # a rule moves only rows meeting all it tests
        floor = policy.tier_index(str(rule.target))
        codes = scores["tier"].cat.codes.to_numpy()
        assert (codes[hit] >= floor).all()
    # the world has people who led serious-list enterprises: the person rule moved some
    assert scores["override"].str.contains("serious_list_person").any()
    # the same policy on a register without roles and addresses: the rules are skipped
    # and named, not silently applied to missing values
    sample = cr.load_sample()
    bare = sample.replace(
        roles=sample.roles.iloc[:0], enterprises=sample.enterprises.assign(address_id=None)
    )
    plain = cr.fit_model(bare, policy=policy, n_estimators=20, num_threads=1)
    assert {"serious_list_person", "address_cluster"} <= set(plain.model.inapplicable_overrides_)


def test_a_card_names_the_related_enterprises_behind_a_related_party_override(
    world, result
) -> None:
    model, X = result.model, result.X_test
    scores = model.classify(X, top_k=3)
    moved = scores[scores["override"].str.contains("serious_list_person")]
    entity, as_of = moved["entity_id"].iloc[0], moved["as_of"].iloc[0]
    card = cr.report.explain_card(model, entity, tables=world.tables, as_of=as_of)
    assert "serious_list_person" in card.override
    led = card.related[card.related["counts_for"].str.contains("person_serious_history")]
    assert len(led) >= 1
    # each one was put on the serious list before as_of, and the card names who led it
    lists = world.tables.list_entries
    for other, via in zip(led["related_id"], led["via"], strict=True):
        serious = lists[(lists["entity_id"] == other) & (lists["list"] == "serious_illegal")]
        assert (serious["listed_on"] < as_of).any()
        person = via.split(" ")[0]
        roles = world.tables.roles
        assert ((roles["person_id"] == person) & (roles["entity_id"] == entity)).any()
    assert "Related enterprises behind these reasons" in card.text
    assert led["related_id"].iloc[0] in card.text
    assert 'id="related-list"' in card.html and led["related_id"].iloc[0] in card.html
    # an entity whose shown reasons and overrides are not related-party has no list
    plain = scores[
        (scores["override"] == "")
        & ~scores.filter(like="_feature")
        .apply(lambda c: c.astype(str).isin(list(RELATED)))
        .any(axis=1)
    ]
    quiet = cr.report.explain_card(
        model, plain["entity_id"].iloc[0], tables=world.tables, as_of=plain["as_of"].iloc[0]
    )
    assert quiet.related is None and "Related enterprises" not in quiet.text
