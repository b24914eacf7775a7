"""The separately scaled sync worker process (``tenantry serve sync-worker``)."""
