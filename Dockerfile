# The engine with the PostgreSQL driver and the web door, as compose.yaml's `reminders` and `web` run it
# (docs/operations.md#postgresql-and-the-reminder-service-with-docker-compose).
FROM python:3.11-slim

# WeasyPrint (PDF letters) loads Pango and HarfBuzz from the system
RUN apt-get update \
 && apt-get install -y --no-install-recommends libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 \
 && rm -rf /var/lib/apt/lists/*

RUN useradd --create-home --uid 10001 trigger
WORKDIR /src
COPY pyproject.toml README.md LICENSE cli.py ./
COPY trigger ./trigger
COPY workflows ./workflows
COPY letters ./letters
RUN pip install --no-cache-dir '.[postgres,web]' && rm -rf /src

USER trigger
WORKDIR /home/trigger
ENV TRIGGER_HOME=/home/trigger/data PYTHONUNBUFFERED=1 TZ=Europe/London
ENTRYPOINT ["trigger"]
CMD ["reminders", "serve"]
