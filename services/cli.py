"""``tenantry``: the one command line of the platform.

    tenantry dev                  run the whole platform locally (embedded PostgreSQL and Redis)
    tenantry serve NAME           run one service (identity, gateway, moderation, ...)
    tenantry migrate              bring the identity schema and every tenant's schemas to head
    tenantry apply -f PATH        apply Tenant / SyncPolicy YAML locally (no Kubernetes)
    tenantry operator             run the kopf operator against the current kubeconfig
    tenantry member add ...       create an account and make it a member of a tenant
    tenantry token ...            mint a short-lived access token (development)
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Sequence

#: Services ``tenantry serve`` knows, in the order ``tenantry dev`` starts them.
SERVICES = ("identity", "notification", "analytics", "moderation", "telegram", "sync-worker", "gateway")


def _serve(args: argparse.Namespace) -> int:
    if args.name == "relay":
        from services.kit.service import serve_relay
        from services.kit.settings import get_settings

        serve_relay(args.app, port=args.port or get_settings().grpc_port)
        return 0
    if args.name == "gateway":
        from services.gateway.main import serve

        serve(args.port)
        return 0
    from services.kit.service import serve

    options = {}
    if args.tenant:
        options["tenant"] = args.tenant
    if args.policy:
        options["policy"] = args.policy
    serve(args.name, port=args.port, options=options)
    return 0


def _migrate(args: argparse.Namespace) -> int:
    from services.kit.logs import configure_logging
    from services.kit.settings import get_settings

    configure_logging("migrate", get_settings().log_level, json=False)
    for line in asyncio.run(migrate_all(args.tenant or None, args.app or None)):
        print(line)
    return 0


async def migrate_all(tenants: Sequence[str] | None = None, apps: Sequence[str] | None = None) -> list[str]:
    """Migrate identity, then each registered tenant's apps; return a line per schema."""
    from services.identity.registry import ensure_identity_schema, get_tenant
    from services.kit.apps import tenant_apps
    from services.kit.db import make_engine
    from services.kit.migrations import migrate
    from services.kit.tenants import tenants_with_app

    engine = make_engine(pool_size=2)
    lines = []
    try:
        lines.append(f"identity: {await ensure_identity_schema(engine)}")
        names = list(tenants) if tenants else await tenants_with_app(engine, "notification")
        for tenant in names:
            record = await get_tenant(engine, tenant)
            enabled = record.apps if record else []
            for app in tenant_apps(enabled):
                if apps and app.name not in apps:
                    continue
                lines.append(f"{tenant}/{app.name}: {await migrate(engine, app.name, tenant)}")
    finally:
        await engine.dispose()
    return lines


def _apply(args: argparse.Namespace) -> int:
    from tenantry_operator.local import ApplyError, apply_file

    from services.kit.settings import get_settings

    settings = get_settings()
    try:
        lines = apply_file(args.filename, database_url=settings.database_url, redis_url=settings.redis_url)
    except ApplyError as err:
        print("\n".join(err.lines), file=sys.stderr)
        return 1
    print("\n".join(lines))
    return 0


def _operator(args: argparse.Namespace) -> int:
    from tenantry_operator.main import run

    # Flags follow `kopf run`: --namespace (repeatable) restricts which namespaces'
    # SyncPolicies are watched; tenant-owned objects go to $TENANTRY_NAMESPACE.
    run(liveness=args.liveness or None, metrics_port=args.metrics_port,
        standalone=args.standalone or not args.peering, peering=args.peering,
        watch_namespaces=args.namespace or None, verbose=args.verbose)
    return 0


def _member(args: argparse.Namespace) -> int:
    from redis.asyncio import Redis

    from services.identity.accounts import Identity
    from services.kit.db import make_engine
    from services.kit.settings import get_settings

    password = args.password or os.environ.get("TENANTRY_MEMBER_PASSWORD", "")
    if len(password) < 10:
        print("a password of at least 10 characters is required (--password or TENANTRY_MEMBER_PASSWORD)",
              file=sys.stderr)
        return 2

    async def go() -> str:
        engine = make_engine(pool_size=1)
        redis = Redis.from_url(get_settings().redis_url)
        try:
            return await Identity(engine, redis).bootstrap_member(args.tenant, args.email, password, args.role)
        finally:
            await redis.aclose()
            await engine.dispose()

    print(f"{args.email} is {args.role} of {args.tenant} (user id {asyncio.run(go())})")
    return 0


def _token(args: argparse.Namespace) -> int:
    from services.kit.auth import issue_token

    token, _ = issue_token(args.subject, typ="access", tenant=args.tenant, role=args.role, ttl=args.ttl)
    print(token)
    return 0


def _dev(args: argparse.Namespace) -> int:
    from services.devrunner import DevRunner

    return DevRunner(data_dir=args.data_dir, gateway_port=args.gateway_port, port_base=args.port_base,
                     samples=not args.no_samples).run()


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (also used by the docs test)."""
    parser = argparse.ArgumentParser(prog="tenantry", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("dev", help="run the whole platform locally")
    p.add_argument("--data-dir", default=os.environ.get("TENANTRY_DATA_DIR", ".data"))
    p.add_argument("--gateway-port", type=int, default=int(os.environ.get("TENANTRY_GATEWAY_PORT", "8080")))
    p.add_argument("--port-base", type=int, default=int(os.environ.get("TENANTRY_PORT_BASE", "50051")),
                   help="first gRPC port; services take consecutive ports")
    p.add_argument("--no-samples", action="store_true", help="do not apply manifests/samples")
    p.set_defaults(func=_dev)

    p = sub.add_parser("serve", help="run one service")
    p.add_argument("name", choices=(*SERVICES, "relay"),
                   help="a service, or 'relay' to run only an app's outbox relay (with --app)")
    p.add_argument("--app", default="moderation", help="the app whose outbox the relay role publishes")
    p.add_argument("--port", type=int, default=None)
    p.add_argument("--tenant", default=None, help="serve one tenant only (bot, sync worker)")
    p.add_argument("--policy", default=None, help="NAMESPACE/NAME of a SyncPolicy (sync worker)")
    p.set_defaults(func=_serve)

    p = sub.add_parser("migrate", help="migrate the identity schema and tenants' schemas")
    p.add_argument("--tenant", action="append", help="only this tenant (repeatable)")
    p.add_argument("--app", action="append", help="only this app (repeatable)")
    p.set_defaults(func=_migrate)

    p = sub.add_parser("apply", help="apply Tenant/SyncPolicy YAML locally")
    p.add_argument("-f", "--filename", required=True, help="a YAML file or a directory of them")
    p.set_defaults(func=_apply)

    p = sub.add_parser("operator", help="run the kopf operator")
    p.add_argument("--namespace", action="append", default=None,
                   help="watch SyncPolicies only in this namespace (repeatable; default: cluster-wide)")
    p.add_argument("--standalone", action="store_true", help="no kopf peering (the default unless --peering)")
    p.add_argument("--liveness", default="http://0.0.0.0:8080/healthz")
    p.add_argument("--metrics-port", type=int, default=9464)
    p.add_argument("--peering", default=None, help="use kopf peering with this name (default: standalone)")
    p.add_argument("--verbose", action="store_true")
    p.set_defaults(func=_operator)

    p = sub.add_parser("member", help="manage tenant members")
    msub = p.add_subparsers(dest="action", required=True)
    add = msub.add_parser("add", help="create an account if needed and grant a role")
    add.add_argument("--tenant", required=True)
    add.add_argument("--email", required=True)
    add.add_argument("--role", choices=("owner", "admin", "moderator", "member"), default="owner")
    add.add_argument("--password", default=None)
    add.set_defaults(func=_member)

    p = sub.add_parser("token", help="mint an access token signed with JWT_SECRET (development)")
    p.add_argument("--tenant", required=True)
    p.add_argument("--role", default="owner", choices=("owner", "admin", "moderator", "member"))
    p.add_argument("--subject", default="dev-user")
    p.add_argument("--ttl", type=int, default=3600)
    p.set_defaults(func=_token)
    return parser


def main(argv: Sequence[str] | None = None) -> None:
    """Entry point of the ``tenantry`` console command."""
    args = build_parser().parse_args(argv)
    sys.exit(args.func(args))


if __name__ == "__main__":
    main()
