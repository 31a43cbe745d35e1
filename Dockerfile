# syntax=docker/dockerfile:1
# Build stage: wheels for every pinned dependency (compilers stay here).
FROM python:3.11-slim AS build
WORKDIR /build
COPY requirements.txt .
RUN pip wheel --no-cache-dir --wheel-dir /wheels -r requirements.txt

# Runtime stage: no compilers, a non-root user, gunicorn.
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 DJANGO_SETTINGS_MODULE=oms_project.settings \
    PROMETHEUS_MULTIPROC_DIR=/tmp/oms-prometheus LOG_FORMAT=json
# DejaVu Sans: invoices and packing slips print every Latin, Greek and Cyrillic letter (docs/documents.md).
# Not pinned: Debian's mirrors keep only the current build of a package, so a pin breaks the build
# at the distribution's next point release; a font has no behaviour to drift.
# hadolint ignore=DL3008
RUN apt-get update && apt-get install -y --no-install-recommends fonts-dejavu-core && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --home-dir /app oms
WORKDIR /app
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir --no-index --find-links /wheels /wheels/* && rm -rf /wheels
COPY --chown=oms:oms . .
RUN SECRET_KEY=collectstatic-only python manage.py collectstatic --noinput \
    && rm -rf /app/var/*.sqlite3* && chown -R oms:oms /app/var
USER 10001
# 8000: the API (gunicorn, this CMD); 8001: the live process (subscriptions) when run with
# `uvicorn oms_project.asgi:application --host 0.0.0.0 --port 8001 --ws websockets-sansio --lifespan off`
EXPOSE 8000 8001
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=6 \
  CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/readyz')"]
CMD ["gunicorn", "-c", "gunicorn.conf.py", "oms_project.wsgi:application"]
