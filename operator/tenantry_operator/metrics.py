"""Prometheus metrics of the operator (served by :func:`services.kit.metrics.serve_metrics`)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

RECONCILES = Counter("tenantry_operator_reconciles_total", "Reconciles by kind and outcome",
                     ["kind", "outcome"])
RECONCILE_SECONDS = Histogram("tenantry_operator_reconcile_seconds", "Reconcile duration",
                              ["kind"], buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60))
ACTIONS = Counter("tenantry_operator_actions_total", "Actions performed on backends",
                  ["kind", "reason"])
READY = Gauge("tenantry_operator_resource_ready", "1 when the resource is Ready",
              ["kind", "namespace", "name"])
POLICY_LAG = Gauge("tenantry_syncpolicy_lag", "Ban events not yet delivered to a SyncPolicy",
                   ["namespace", "name", "tenant"])
