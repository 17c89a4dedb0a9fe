# One image for every role: Dagster code server, webserver, daemon, and the bot.
# The role is chosen by the compose service's command (and WOG_ROLE for the healthcheck).

# The base image: any Debian-based image with python3 >= 3.11 and pip on PATH as `python`/`pip`
# (the compose test builds from a local stand-in made from Debian packages).
ARG PYTHON_IMAGE=python:3.11-slim-bookworm

# --- build: resolve and install the locked dependencies with uv -------------------------------
FROM ${PYTHON_IMAGE} AS build
RUN pip install --no-cache-dir "uv>=0.9,<1"
ENV UV_COMPILE_BYTECODE=1 UV_LINK_MODE=copy UV_PYTHON_DOWNLOADS=never UV_PROJECT_ENVIRONMENT=/app/.venv
WORKDIR /app
# Dependencies first: this layer is reused until uv.lock changes.
COPY pyproject.toml uv.lock README.md ./
RUN uv sync --frozen --no-dev --no-install-project
COPY wog_core ./wog_core
COPY dbschema ./dbschema
COPY wog_warehouse ./wog_warehouse
COPY wog_report ./wog_report
COPY wog_sources ./wog_sources
COPY wog_assets ./wog_assets
COPY wog_bot ./wog_bot
COPY wog_cli ./wog_cli
COPY wog_fakes ./wog_fakes
RUN uv sync --frozen --no-dev --no-editable

# --- runtime: no compilers, no uv, a non-root user ------------------------------------------
FROM ${PYTHON_IMAGE} AS runtime
RUN groupadd --system --gid 10001 wog \
 && useradd --system --uid 10001 --gid wog --home-dir /home/wog --create-home wog \
 && mkdir -p /opt/dagster/home /data \
 && chown -R wog:wog /opt/dagster /data
WORKDIR /app
COPY --from=build --chown=wog:wog /app/.venv /app/.venv
COPY --chown=wog:wog dagster.yaml /opt/dagster/home/dagster.yaml
# The docker-runs deployment's instance: the same file plus the Docker run launcher.
COPY deploy/docker-run-launcher.yaml /tmp/docker-run-launcher.yaml
RUN mkdir -p /opt/dagster/docker-runs \
 && cat /opt/dagster/home/dagster.yaml /tmp/docker-run-launcher.yaml > /opt/dagster/docker-runs/dagster.yaml \
 && rm /tmp/docker-run-launcher.yaml && chown -R wog:wog /opt/dagster/docker-runs
COPY --chown=wog:wog dagster.yaml workspace.yaml ./
ENV PATH=/app/.venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    DAGSTER_HOME=/opt/dagster/home \
    WOG_DATA_DIR=/data \
    MPLCONFIGDIR=/tmp/matplotlib
USER wog
HEALTHCHECK --interval=30s --timeout=10s --start-period=60s --retries=3 CMD ["wog", "healthcheck"]
CMD ["wog", "--help"]
