# Multi-stage build: the build stage runs the same scripts CI runs; each runtime target is a
# small non-root image with only the shared libraries its binaries and plugins need
# (tests/k8s/dockerfile_test.sh checks each one's NEEDED libraries against the packages installed).
#   docker build --target outriggerd -t outrigger/outriggerd .
#   docker build --target outrigger-operator -t outrigger/outrigger-operator .
#   docker build --target outrigger-injector -t outrigger/outrigger-injector .
# Image names match the Helm chart's defaults (charts/outrigger/values.yaml).
FROM debian:bookworm AS build
WORKDIR /src
COPY . .
RUN bash scripts/install-deps.sh
RUN bash scripts/build.sh /src/build -DOUTRIGGER_BUILD_TESTS=OFF -DCMAKE_BUILD_TYPE=Release

FROM debian:bookworm-slim AS runtime-base
RUN apt-get update -qq && apt-get install -y -qq --no-install-recommends \
      libboost-program-options1.74.0 libyaml-cpp0.7 libprometheus-cpp-core1.0 libhiredis0.14 \
      libsqlite3-0 libssl3 ca-certificates && rm -rf /var/lib/apt/lists/*
RUN useradd --uid 65532 --no-create-home --shell /usr/sbin/nologin nonroot

FROM runtime-base AS outriggerd
# The client libraries of the component plugins (lib/outrigger/, loaded on first use): libpq
# (PostgreSQL), librdkafka (Kafka), librabbitmq (RabbitMQ). The same line in the all-in-one
# target below, so both share the layer.
RUN apt-get update -qq && apt-get install -y -qq --no-install-recommends libpq5 librdkafka1 librabbitmq4 && rm -rf /var/lib/apt/lists/*
COPY --from=build /src/build/sidecar/outriggerd /usr/local/bin/outriggerd
COPY --from=build /src/build/lib/outrigger/ /usr/local/lib/outrigger/
USER 65532:65532
EXPOSE 3500 50001 50002 9090
ENTRYPOINT ["/usr/local/bin/outriggerd"]

FROM runtime-base AS outrigger-operator
RUN apt-get update -qq && apt-get install -y -qq --no-install-recommends libcpprest2.10 && rm -rf /var/lib/apt/lists/*
COPY --from=build /src/build/operator/outrigger-operator /usr/local/bin/outrigger-operator
USER 65532:65532
EXPOSE 6500 8080 9090
ENTRYPOINT ["/usr/local/bin/outrigger-operator"]

FROM runtime-base AS outrigger-injector
COPY --from=build /src/build/injector/outrigger-injector /usr/local/bin/outrigger-injector
USER 65532:65532
EXPOSE 4000 9090
ENTRYPOINT ["/usr/local/bin/outrigger-injector"]

FROM runtime-base AS outrigger
RUN apt-get update -qq && apt-get install -y -qq --no-install-recommends libpq5 librdkafka1 librabbitmq4 && rm -rf /var/lib/apt/lists/*
COPY --from=build /src/build/cli/outrigger /usr/local/bin/outrigger
COPY --from=build /src/build/sidecar/outriggerd /usr/local/bin/outriggerd
COPY --from=build /src/build/lib/outrigger/ /usr/local/lib/outrigger/
USER 65532:65532
ENTRYPOINT ["/usr/local/bin/outrigger"]
