"""Property-based tests of the pure reconcilers: applying twice equals applying once."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from tenantry_operator import desired as d
from tenantry_operator.spec import parse_sync_policy, parse_tenant

from services.kit.bus.topics import TOPIC_GROUPS
from services.kit.naming import BUSINESS_APPS, PLATFORM_TENANT_APPS, schema_name, stream_key

ALL_APPS = (*PLATFORM_TENANT_APPS, *BUSINESS_APPS)
HEADS = {a: f"{a}_head" for a in ALL_APPS}
names = st.from_regex(r"\A[a-z][a-z0-9]{2,10}\Z")

tenant_specs = st.builds(
    lambda name, apps, policy, display, bot: parse_tenant(name, {
        "apps": apps, "deletionPolicy": policy, "displayName": display,
        **({"telegram": {"botTokenSecretRef": {"name": "bot"}}} if bot else {})}),
    names, st.lists(st.sampled_from(BUSINESS_APPS), unique=True),
    st.sampled_from(["Retain", "Delete"]), st.text(min_size=1, max_size=20), st.booleans())


@st.composite
def observed(draw, tenant: str) -> d.ObservedTenant:
    apps = draw(st.lists(st.sampled_from(ALL_APPS), unique=True))
    revs = {a: draw(st.sampled_from([None, "old", HEADS[a]])) for a in apps}
    all_groups = [(stream_key(tenant, t), g) for t, gs in TOPIC_GROUPS.items() for g in gs]
    return d.ObservedTenant(
        schemas=revs,
        role_exists=draw(st.booleans()),
        role_schemas=frozenset(draw(st.lists(st.sampled_from(
            [schema_name(a, tenant) for a in ALL_APPS]), unique=True))),
        groups=frozenset(draw(st.lists(st.sampled_from(all_groups), unique=True))),
        acl_user_exists=draw(st.booleans()),
        has_keys=draw(st.booleans()),
    )


@given(st.data(), tenant_specs)
@settings(max_examples=200, deadline=None)
def test_apply_twice_equals_apply_once(data, spec):
    want = d.desired_tenant(spec, HEADS)
    obs = data.draw(observed(spec.name))
    plan = d.plan_tenant(want, obs)
    once = d.simulate(obs, plan, HEADS)
    assert d.plan_tenant(want, once) == []                      # converged: nothing left to do
    assert d.simulate(once, d.plan_tenant(want, once), HEADS) == once
    assert d.simulate(once, plan, HEADS) == once                # every action is idempotent
    assert set(once.schemas) >= set(want.apps)
    assert all(once.schemas[a] == HEADS[a] for a in want.apps)
    if spec.deletion_policy == "Retain":                        # Retain never drops a schema
        assert set(once.schemas) >= set(obs.schemas)
    else:
        assert set(once.schemas) == set(want.apps)


@given(st.data(), tenant_specs)
@settings(max_examples=100, deadline=None)
def test_deletion_twice_equals_once(data, spec):
    want = d.desired_tenant(spec, HEADS)
    obs = data.draw(observed(spec.name))
    plan = d.plan_tenant_deletion(want, obs)
    once = d.simulate(obs, plan, HEADS)
    assert d.plan_tenant_deletion(want, once) == []
    assert d.simulate(once, plan, HEADS) == once
    if spec.deletion_policy == "Retain":
        assert plan == [] and once == obs
    else:
        assert once.schemas == {} and not once.role_exists and not once.acl_user_exists
        assert not once.groups and not once.has_keys


@given(tenant_specs, st.dictionaries(st.sampled_from(["x", "spec", "data"]), st.integers()))
@settings(max_examples=100, deadline=None)
def test_kubernetes_objects_apply_idempotently(spec, noise):
    objs = d.tenant_objects(spec, uid="u-1", namespace="tenantry")
    assert objs == d.tenant_objects(spec, uid="u-1", namespace="tenantry")  # pure
    for obj in objs:
        existing = {**noise, "metadata": {"name": obj["metadata"]["name"], "uid": "x"}}
        patch = d.managed_view(obj)
        once = d.merge_patch(existing, patch)
        assert d.merge_patch(once, patch) == once
        assert not d.needs_update(once, obj)
    assert ("Deployment" in [o["kind"] for o in objs]) == (spec.bot_token is not None)


policy_specs = st.builds(
    lambda ns, name, tenant, events, mode, replicas, suspend, chats: parse_sync_policy(ns, name, {
        "tenantRef": {"name": tenant}, "events": events,
        "action": {"mode": mode, **({"duration": "7d"} if mode == "temporary" else {})},
        "workers": {"replicas": replicas}, "suspend": suspend,
        **({"sources": {"chatIds": chats}} if chats else {})}),
    names, names, names, st.lists(st.sampled_from(["ban", "kick", "restrict", "unban"]),
                                  min_size=1, unique=True),
    st.sampled_from(["same", "permanent", "temporary"]), st.integers(0, 50), st.booleans(),
    st.lists(st.integers(-10**12, 10**12), max_size=5))


@given(policy_specs, st.integers(1, 10), st.booleans(), st.booleans())
@settings(max_examples=100, deadline=None)
def test_policy_apply_twice_equals_once(spec, generation, has_row, has_group):
    want = d.desired_policy(spec)
    obs = d.ObservedPolicy(row=("{}", False, 0) if has_row else None, group_exists=has_group)
    plan = d.plan_policy(want, obs, generation)
    once = d.simulate_policy(obs, plan, want)
    assert d.plan_policy(want, once, generation) == []
    assert d.simulate_policy(once, plan, want) == once
    gone = d.simulate_policy(once, d.plan_policy_deletion(want, once), want)
    assert d.plan_policy_deletion(want, gone) == []
    assert want.replicas == (0 if spec.suspend else spec.replicas)
    # defaults are a fixed point: the stored document parses to itself
    again = parse_sync_policy(spec.namespace, spec.name, dict(spec.document))
    assert again.document == spec.document
    worker = d.policy_objects(spec, uid="u")[0]
    assert worker["spec"]["replicas"] == want.replicas
