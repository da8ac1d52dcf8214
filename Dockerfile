# atqb: the Web Connector SOAP service, the Autotask poller and the CLI, in one image.
# docker-compose.yml runs it as `migrate`, `service` and `poller`; the command is an atqb
# subcommand, e.g. `docker run --rm --env-file .env atqb:latest jobs list`.
FROM python:3.11-slim

# spyne 2.14.0, the newest release, does not import on Python 3.12+ (reference/qbwc.md 9.5).
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /src
COPY pyproject.toml README.md constraints.txt ./
COPY service ./service
COPY migrations ./migrations
# constraints.txt: the versions CI tested (scripts/test installs with the same file).
RUN pip install -c constraints.txt . \
    && useradd --system --create-home --home-dir /var/lib/atqb --shell /usr/sbin/nologin atqb

# The working directory holds the embedded SQLite database when ATQB_DATABASE_URL is unset.
WORKDIR /var/lib/atqb
USER atqb

EXPOSE 8080
ENTRYPOINT ["atqb"]
CMD ["serve", "--host", "0.0.0.0", "--port", "8080"]
