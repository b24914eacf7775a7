# syntax=docker/dockerfile:1
# Tenantry: ONE image for every process (docs/decisions/008-one-image.md).
# The command selects the process:  tenantry serve <service>  |  tenantry operator
#
#   docker build -t tenantry:dev .                 # runtime image
#   docker build --target dev -t tenantry:dev .    # Tilt dev loop (live reload)

ARG PYTHON_IMAGE=python:3.11-slim-bookworm

# ---------------------------------------------------------------- builder
FROM ${PYTHON_IMAGE} AS builder
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
WORKDIR /src

# Dependencies in their own layer: only pyproject.toml invalidates it.
COPY pyproject.toml ./
RUN python -c "import tomllib; d = tomllib.load(open('pyproject.toml', 'rb')); print('\n'.join(d['project']['dependencies']))" > /tmp/requirements.txt \
 && pip install "setuptools==84.2.1" "wheel==0.48.0" \
 && pip install -r /tmp/requirements.txt

# The project itself (no dependency resolution: they are installed above).
COPY README.md ./
COPY gen ./gen
COPY services ./services
COPY operator ./operator
RUN pip install --no-deps --no-build-isolation . \
 && python -m compileall -q -j 0 /opt/venv

# ---------------------------------------------------------------- runtime
FROM ${PYTHON_IMAGE} AS runtime
LABEL org.opencontainers.image.title="tenantry" \
      org.opencontainers.image.description="Tenantry platform services and operator (one image; the command selects the process)" \
      org.opencontainers.image.licenses="Apache-2.0"
RUN groupadd --system --gid 10001 tenantry \
 && useradd --system --uid 10001 --gid 10001 --no-create-home --home-dir /tmp --shell /usr/sbin/nologin tenantry
COPY --from=builder /opt/venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    HOME=/tmp
WORKDIR /tmp
# Numeric user so that Kubernetes' runAsNonRoot can verify it.
USER 10001:10001
# gateway 8080, telegram webhook 8081, metrics 9464, gRPC 50051-50056
EXPOSE 8080 8081 9464 50051 50052 50053 50054 50055 50056
ENTRYPOINT ["tenantry"]
CMD ["--help"]

# ---------------------------------------------------------------- dev (Tilt)
# Sources under /app (first on PYTHONPATH, so they shadow the installed copy),
# writable by the app user so Tilt's live_update can sync into them, and a
# reloader that restarts the process when a synced file changes.
FROM runtime AS dev
USER 0:0
COPY --chown=10001:10001 gen /app/gen
COPY --chown=10001:10001 services /app/services
COPY --chown=10001:10001 operator /app/operator
COPY --chown=10001:10001 deploy/dev/reload.py /app/deploy/dev/reload.py
ENV PYTHONPATH=/app:/app/operator:/app/gen \
    TENANTRY_RELOAD_DIRS=/app/services:/app/operator:/app/gen
USER 10001:10001
ENTRYPOINT ["python", "/app/deploy/dev/reload.py", "--", "tenantry"]
CMD ["--help"]
