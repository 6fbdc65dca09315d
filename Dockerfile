# The engine with the PostgreSQL driver and the applicant's door, as compose.yaml's `reminders` and `web` run it
# (docs/operations.md#postgresql-and-the-reminder-service-with-docker-compose). The versions are the
# tested ones in deploy/constraints.txt. For PDF and Word letters too: --build-arg EXTRAS=postgres,pdf,docx
FROM python:3.11-slim
ARG EXTRAS=postgres,web

# WeasyPrint (the pdf extra) loads Pango and HarfBuzz from the system; the reminders alone need neither
RUN case ",$EXTRAS," in *,pdf,*) \
        apt-get update \
        && apt-get install -y --no-install-recommends libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 \
        && rm -rf /var/lib/apt/lists/* ;; \
    esac

# the data folder exists in the image, owned by the user, so the volume compose.yaml mounts on it starts
# with the same owner and mode (Docker copies them into a new named volume) and the outbox is writable
RUN useradd --create-home --uid 10001 trigger \
 && install -d -o trigger -g trigger -m 0700 /home/trigger/data /home/trigger/data/outbox
WORKDIR /src
COPY pyproject.toml README.md LICENSE cli.py ./
COPY deploy/constraints.txt ./deploy/
COPY trigger ./trigger
COPY workflows ./workflows
COPY letters ./letters
RUN pip install --no-cache-dir -c deploy/constraints.txt ".[$EXTRAS]" && rm -rf /src

USER trigger
WORKDIR /home/trigger
ENV TRIGGER_HOME=/home/trigger/data PYTHONUNBUFFERED=1 TZ=Europe/London
ENTRYPOINT ["trigger"]
CMD ["reminders", "serve"]
