# The Aisle server in a container. Documented, not built by this project's CI: building it
# needs base-image downloads the CI machine cannot make. Build and run:
#
#   docker build -t aisle-server .
#   docker run -p 8080:8080 -v aisle-data:/var/lib/aisle-server aisle-server
#
# Options come from flags, AISLE_* variables or a mounted /etc/aisle/server.toml
# (README, "Install"). The server listens on 0.0.0.0:8080 inside the container; put a
# TLS-terminating proxy in front. `docker stop` sends SIGTERM: requests in flight finish
# (up to 30 s) before it exits, so give it `--stop-timeout 40`.

# Build stage: the server binary only (no desktop, no WebKitGTK).
FROM rust:1-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked -p aisle-server --bin aisle-server

# Run stage: a slim Debian with the binary, a non-root user and curl for the health check.
FROM debian:bookworm-slim
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates curl \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --home-dir /var/lib/aisle-server --create-home --shell /usr/sbin/nologin aisle-server
COPY --from=build /src/target/release/aisle-server /usr/bin/aisle-server
USER aisle-server
ENV AISLE_DATA_DIR=/var/lib/aisle-server \
    AISLE_LISTEN=0.0.0.0:8080
VOLUME ["/var/lib/aisle-server"]
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
    CMD curl -fsS http://127.0.0.1:8080/readyz || exit 1
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/bin/aisle-server"]
CMD ["serve"]
