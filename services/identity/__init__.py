"""The identity service: platform users, tenants, memberships and tokens."""
