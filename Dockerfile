# webhook-emulator: docker build -t webhook-emulator . && docker run -p 8080:8080 webhook-emulator
FROM python:3.12-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    EMULATOR_HOST=0.0.0.0 \
    EMULATOR_PORT=8080

WORKDIR /src
COPY pyproject.toml README.md ./
COPY emulator ./emulator
COPY fixtures ./fixtures
COPY schemas ./schemas
RUN pip install --no-compile . && rm -rf /src

RUN useradd --create-home --uid 10001 emulator
# Durable state is opt-in: mount a volume at /data and set EMULATOR_DATA_DIR=/data
# (docker run -v emulator-data:/data -e EMULATOR_DATA_DIR=/data ...). Without it, state is in memory.
RUN mkdir /data && chown emulator /data
VOLUME ["/data"]
USER 10001
WORKDIR /home/emulator

EXPOSE 8080
# Follows EMULATOR_PORT; needs no curl.
HEALTHCHECK --interval=10s --timeout=3s --start-period=5s --retries=3 CMD ["python", "-m", "emulator", "health"]
CMD ["python", "-m", "emulator", "serve"]
