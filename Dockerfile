# heatwatch worker / simulator image: `pip install .[stream]` on python:3.11-slim.
FROM python:3.11-slim

ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /src
# README.md* : optional, pyproject names it as the readme when present.
COPY pyproject.toml README.md* ./
COPY contract ./contract
COPY formats ./formats
COPY heatwatch ./heatwatch
COPY streams ./streams
COPY producers ./producers
COPY dashboards ./dashboards
RUN pip install ".[stream]" \
    && useradd --create-home --uid 10001 heatwatch \
    && mkdir -p /var/lib/heatwatch \
    && chown heatwatch:heatwatch /var/lib/heatwatch

USER heatwatch
WORKDIR /home/heatwatch
CMD ["heatwatch", "--help"]
