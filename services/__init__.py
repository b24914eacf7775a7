"""Tenantry services: the shared service kit and one package per service."""
