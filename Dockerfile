# One image for the gRPC server (default command) and the edge (docker-compose.yml overrides the command).
# Untested here: no container runtime on the development machine.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
WORKDIR /app

# Only what the package needs (there is no .dockerignore; copying . would take .venv along).
COPY pyproject.toml ./
COPY gateway_grpc ./gateway_grpc
COPY edge ./edge
RUN pip install --no-cache-dir . \
    && useradd --system --no-create-home gateway

USER gateway
EXPOSE 50051 8000
CMD ["python", "-m", "gateway_grpc", "serve", "--host", "0.0.0.0", "--port", "50051"]
