"""The Tenantry operator: Tenant and SyncPolicy custom resources -> platform state.

Layout (one reconciler, two drivers):

* :mod:`.spec`     -- parse a custom resource's spec, apply the CRD's defaults (pure).
* :mod:`.desired`  -- desired state, plans and their simulation (pure functions).
* :mod:`.backends` -- observe and change PostgreSQL and Redis (the data plane).
* :mod:`.kube`     -- a small async Kubernetes REST client and object apply.
* :mod:`.reconcile` -- the reconcile steps both drivers share.
* :mod:`.handlers` -- the kopf driver; :mod:`.main` runs it (``tenantry operator``).
* :mod:`.local`    -- the local driver (``tenantry apply -f``): no Kubernetes.
"""

from .constants import API_VERSION, FINALIZER, GROUP, SYNCPOLICIES, TENANTS, VERSION

__all__ = ["API_VERSION", "FINALIZER", "GROUP", "SYNCPOLICIES", "TENANTS", "VERSION"]
