# syntax=docker/dockerfile:1
# lrhub server image: FastAPI + uvicorn over PostgreSQL or SQLite, no torch.
# Build:  docker build -t lrhub .
# Run:    docker compose up   (see docker-compose.yml)

FROM python:3.11-slim AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1
WORKDIR /src
RUN python -m venv /opt/lrhub
COPY pyproject.toml README.md ./
COPY client ./client
COPY service ./service
COPY migrations ./migrations
# Only the server extra: the image never needs torch.
RUN /opt/lrhub/bin/pip install --no-cache-dir ".[server]" \
    && /opt/lrhub/bin/python -c "import lrhub_service, lrhub"

FROM python:3.11-slim AS runtime
ENV PATH=/opt/lrhub/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    LRHUB_HOST=0.0.0.0 \
    LRHUB_PORT=8000
RUN groupadd --system --gid 10001 lrhub \
    && useradd --system --uid 10001 --gid lrhub --home-dir /var/lib/lrhub --create-home lrhub
COPY --from=build /opt/lrhub /opt/lrhub
WORKDIR /var/lib/lrhub
USER 10001:10001
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
    CMD ["python", "-c", "import urllib.request as u; u.urlopen('http://127.0.0.1:8000/healthz', timeout=2)"]
CMD ["lrhub", "serve", "--host", "0.0.0.0", "--port", "8000"]
