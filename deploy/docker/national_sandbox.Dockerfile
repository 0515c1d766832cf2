# syntax=docker/dockerfile:1
# Image of the national_sandbox service, built from the repository root:
#   docker build -f deploy/docker/national_sandbox.Dockerfile -t hotich/national_sandbox:0.1.0 .
# The six service Dockerfiles differ only in the service's names and port
# (tests/deploy/test_manifests.py checks that they stay so).

ARG PYTHON_IMAGE=python:3.11-slim-bookworm
ARG UV_IMAGE=ghcr.io/astral-sh/uv:0.13.9

FROM ${UV_IMAGE} AS uv

# ---- build: resolve from the lock file into /opt/venv ------------------------------
FROM ${PYTHON_IMAGE} AS build
COPY --from=uv /uv /uvx /bin/
ENV UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=never \
    UV_PROJECT_ENVIRONMENT=/opt/venv
WORKDIR /src
# Third-party dependencies first: this layer is rebuilt only when the lock changes.
COPY pyproject.toml uv.lock README.md ./
COPY contracts/pyproject.toml contracts/
COPY services/runtime/pyproject.toml services/runtime/
COPY services/intake/pyproject.toml services/intake/
COPY services/validation/pyproject.toml services/validation/
COPY services/dedup/pyproject.toml services/dedup/
COPY services/export/pyproject.toml services/export/
COPY services/reporting/pyproject.toml services/reporting/
COPY services/national_sandbox/pyproject.toml services/national_sandbox/
COPY deploy/local/pyproject.toml deploy/local/
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev --no-install-workspace --package hotich-national-sandbox
# Then the workspace's own packages, installed as wheels (not editable): the runtime
# image needs /opt/venv alone, no source tree.
COPY contracts/ contracts/
COPY services/ services/
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev --no-editable --package hotich-national-sandbox

# ---- runtime: the interpreter, the venv, a non-root user ----------------------------
FROM ${PYTHON_IMAGE} AS runtime
RUN groupadd --system --gid 10001 hotich \
    && useradd --system --uid 10001 --gid hotich --no-create-home \
       --home-dir /var/lib/hotich --shell /usr/sbin/nologin hotich \
    && install -d -o hotich -g hotich -m 0750 /var/lib/hotich
COPY --from=build /opt/venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    MALLOC_ARENA_MAX=2 \
    PYTHONDONTWRITEBYTECODE=1 \
    HOTICH_SANDBOX_HTTP_HOST=0.0.0.0 \
    HOTICH_SANDBOX_HTTP_PORT=8002
# Writable working directory (the sandbox's SQLite file by default; nothing for the others).
WORKDIR /var/lib/hotich
USER 10001:10001
EXPOSE 8002
HEALTHCHECK --interval=15s --timeout=5s --start-period=40s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:' + os.environ.get('HOTICH_SANDBOX_HTTP_PORT', '8002') + '/health/live', timeout=4)"]
ENTRYPOINT ["python", "-m", "hotich_national_sandbox"]
