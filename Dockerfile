# One image for the four services, the gateway and the migrate step; the command picks which one runs
# (see docker-compose.yml and deploy/k8s/). Build: docker build -t chungtay:latest .
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app

# Dependencies first, in their own layer: it is rebuilt only when pyproject.toml changes.
# (Empty package folders let pip resolve the project; the real code is copied below.)
COPY pyproject.toml ./
RUN mkdir -p shared services gateway devstack \
    && pip install . \
    && pip uninstall -y chungtay \
    && rm -rf build *.egg-info

# The code. An editable install keeps each service's migrations/ (not a Python package) in place.
COPY . .
RUN pip install --no-deps -e . \
    && chmod 0755 deploy/docker-entrypoint.sh \
    && useradd --system --uid 10001 --home-dir /app --shell /usr/sbin/nologin chungtay

USER chungtay

ENTRYPOINT ["/app/deploy/docker-entrypoint.sh"]
# The gateway by default; services override the command (uvicorn --factory services.<name>.main:create_app).
CMD ["uvicorn", "--factory", "gateway.main:create_app", "--host", "0.0.0.0", "--port", "8000", \
     "--no-access-log", "--loop", "uvloop", "--http", "httptools", "--timeout-graceful-shutdown", "10"]
EXPOSE 8000
