# atom-health: API, scheduler and dashboard on port 8000, as a non-root user.
# The tests run exactly this ENTRYPOINT + CMD and this HEALTHCHECK command (tests/test_containers.py).
FROM python:3.12-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
COPY pyproject.toml README.md LICENSE ./
COPY src ./src
RUN pip install ".[postgres,redis,otel,apprise]" \
    && useradd --system --uid 10001 --user-group --home-dir /var/lib/atom-health --create-home atom \
    && rm -rf /src

USER atom
WORKDIR /var/lib/atom-health
ENV ATOM_HEALTH_DATABASE_URL=sqlite:////var/lib/atom-health/atom-health.db \
    ATOM_HEALTH_URL=http://127.0.0.1:8000
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 CMD ["atom-health", "healthcheck"]
ENTRYPOINT ["atom-health"]
CMD ["serve", "--host", "0.0.0.0", "--port", "8000"]
