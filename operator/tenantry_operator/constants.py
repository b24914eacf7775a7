"""Names of the operator's API: group, version, plurals, finalizer."""

GROUP = "tenantry.dev"
VERSION = "v1alpha1"
API_VERSION = f"{GROUP}/{VERSION}"
TENANTS = "tenants"
SYNCPOLICIES = "syncpolicies"
FINALIZER = "tenantry.dev/finalizer"
