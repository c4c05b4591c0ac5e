# webhook-emulator: docker build -t webhook-emulator . && docker run -p 8080:8080 webhook-emulator
FROM python:3.12-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    EMULATOR_HOST=0.0.0.0 \
    EMULATOR_PORT=8080

# Built from a folder that is removed in the same step, so no build folder ships. pip byte-compiles
# what it installs here, at build time (PYTHONDONTWRITEBYTECODE only stops writes at run time, where
# the non-root user could not write them anyway), so the HEALTHCHECK does not recompile every run.
# Durable state is opt-in: mount a volume at /data and set EMULATOR_DATA_DIR=/data
# (docker run -v emulator-data:/data -e EMULATOR_DATA_DIR=/data ...). Without it, state is in memory.
COPY pyproject.toml README.md /tmp/build/
COPY emulator /tmp/build/emulator
COPY fixtures /tmp/build/fixtures
COPY schemas /tmp/build/schemas
COPY examples /tmp/build/examples
RUN pip install /tmp/build && rm -rf /tmp/build \
    && useradd --create-home --uid 10001 emulator \
    && mkdir /data && chown emulator /data
VOLUME ["/data"]
USER 10001
WORKDIR /home/emulator

EXPOSE 8080
# Follows EMULATOR_PORT; needs no curl.
HEALTHCHECK --interval=10s --timeout=3s --start-period=5s --retries=3 CMD ["python", "-m", "emulator", "health"]
CMD ["python", "-m", "emulator", "serve"]
