"""gunicorn settings for production (`gunicorn -c gunicorn.conf.py oms_project.wsgi`).

Every value can be overridden from the environment; see README, "Production".
Workers are stateless: scale by adding workers or containers behind the load balancer.
"""

import multiprocessing
import os
import shutil

bind = os.environ.get("GUNICORN_BIND", f"0.0.0.0:{os.environ.get('PORT', '8000')}")
workers = int(os.environ.get("WEB_CONCURRENCY", multiprocessing.cpu_count() * 2 + 1))
threads = int(os.environ.get("GUNICORN_THREADS", "1"))
worker_class = "gthread" if threads > 1 else "sync"
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
graceful_timeout = int(os.environ.get("GUNICORN_GRACEFUL_TIMEOUT", "30"))
keepalive = int(os.environ.get("GUNICORN_KEEPALIVE", "5"))
# Recycle workers now and then so a slow leak can never take a process down.
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "10000"))
max_requests_jitter = int(os.environ.get("GUNICORN_MAX_REQUESTS_JITTER", "1000"))
# The app writes its own JSON access line (oms.access) with request and tenant ids.
accesslog = None
errorlog = "-"
loglevel = os.environ.get("LOG_LEVEL", "info").lower()
# The load balancer's X-Forwarded-* headers are trusted from these addresses.
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
# Request line and header limits (the body limits are the app's: OMS_*_MAX_BODY_BYTES).
limit_request_line = 8190
limit_request_fields = 100
limit_request_field_size = 8190

# Prometheus: every worker writes its counters here and /metrics sums them.
PROMETHEUS_DIR = os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", "/tmp/oms-prometheus")

# Fair share (oms_project/admission): this server's capacity is its workers x threads, and its
# workers share one admission store, a SQLite file of this server's own (unless Redis is set).
os.environ.setdefault("OMS_SERVING_CAPACITY", str(workers * threads))
ADMISSION_STATE_FILE = os.environ.setdefault(
    "OMS_ADMISSION_STATE_FILE", os.path.join(os.environ.get("TMPDIR", "/tmp"), f"oms-admission-{os.getpid()}.sqlite3")
)


def _admission_files():
    return [ADMISSION_STATE_FILE + suffix for suffix in ("", "-wal", "-shm", ".lock")]


def on_starting(server):
    shutil.rmtree(PROMETHEUS_DIR, ignore_errors=True)
    os.makedirs(PROMETHEUS_DIR, exist_ok=True)
    for path in _admission_files():  # counts of an earlier server are not this one's
        if os.path.exists(path):
            os.remove(path)


def on_exit(server):
    for path in _admission_files():
        if os.path.exists(path):
            os.remove(path)


def child_exit(server, worker):
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)
    if os.path.exists(ADMISSION_STATE_FILE):  # the slots a dead worker held are free at once
        from oms_project.kernel.admission.stores import LocalStore

        LocalStore(ADMISSION_STATE_FILE).forget_process(worker.pid)


def post_worker_init(worker):
    """Load the URLconf and the GraphQL schema (else the first request does), then move every
    object loaded so far out of the garbage collector's sight (`gc.freeze`): a full collection
    walked a worker's 130,000 start-up objects in about 57 ms, a pause that any request caught
    in it paid (docs/performance.md, "Fair share")."""
    import gc

    from django.urls import get_resolver
    from graphene_django.settings import graphene_settings

    _ = (get_resolver().url_patterns, graphene_settings.SCHEMA)  # each loads on its first use
    gc.freeze()
