# The service as a container image, with its JDK AOT cache for a fast cold start.
#
#   docker build -t aggregator .                       # the service (Knative, Cloud Run, Kubernetes)
#   docker build --target lambda -t aggregator-lambda . # the same plus the AWS Lambda Web Adapter
#   docker run --rm -p 8080:8080 aggregator
#
# The image runs /app/aggregator.jar (its libraries in /app/libs) from /app, so the shipped config
# /app/config/application.yaml is the default; mount your own and point AGGREGATOR_CONFIG (or --config) at it.
# PORT overrides the port (8080). It runs as the unprivileged user 10001 (aggregator), never as root. The deployment
# descriptors in functions/ use this image.

FROM maven:3.9-eclipse-temurin-25 AS build
WORKDIR /src
COPY pom.xml .
COPY src src
RUN mvn -B -q -DskipTests -Dspotless.check.skip=true package

FROM eclipse-temurin:25-jre AS service
# curl drives the AOT training run (bin/aot); install it only where the base image lacks it
RUN command -v curl >/dev/null || (apt-get update && apt-get install -y --no-install-recommends curl \
    && rm -rf /var/lib/apt/lists/*)
WORKDIR /app
COPY --from=build /src/target/libs /app/libs
COPY --from=build /src/target/aggregator.jar /app/aggregator.jar
COPY config /app/config
COPY bin/aot /app/bin/aot
# The cache must be made by this image's JVM with the jar at the path it runs from: a training run on the shipped
# offline config (demo sources, no network), stopped with SIGTERM, which writes /app/aggregator.aot.
RUN bin/aot --no-build --jar /app/aggregator.jar --output /app/aggregator.aot && rm -f /app/aot-training.log
# the durable store (latest snapshots, history, version counters): mount a volume here to keep it across
# containers (docker run -v aggregator-data:/app/data ...); without one it lasts as long as the container
ENV AGGREGATOR_DATA_DIR=/app/data
# empty: the training run above kept its store there (the default ./data)
RUN rm -rf /app/data && mkdir -p /app/data
# The service runs as an unprivileged user; the files above stay root's, readable but not writable by it. The user is
# numeric so that Kubernetes' runAsNonRoot can verify it (functions/kubernetes/deployment.yaml runs it as 10001).
RUN groupadd --system --gid 10001 aggregator \
    && useradd --system --uid 10001 --gid 10001 --home-dir /app --no-create-home --shell /usr/sbin/nologin aggregator
# the data directory is the one place the service writes
RUN chown 10001:10001 /app/data
USER 10001:10001
EXPOSE 8080
# MaxRAMPercentage: serverless instances are small; the JVM's default heap would be a quarter of their memory.
# CompileThresholdScaling=4: the JIT (C1 and C2) waits for four times the default counts before compiling a method,
# so a start compiles fewer methods only the start runs; hot paths still reach C2 (see bin/run)
ENTRYPOINT ["java", "-XX:AOTCache=/app/aggregator.aot", "-XX:CompileThresholdScaling=4", "-XX:MaxRAMPercentage=75", "-jar", "/app/aggregator.jar"]

FROM service AS lambda
# The AWS Lambda Web Adapter runs as a Lambda extension and turns invocations into HTTP requests to the service
# (response streaming with AWS_LWA_INVOKE_MODE=response_stream); see functions/lambda/.
COPY --from=public.ecr.aws/awsguru/aws-lambda-adapter:0.9.0 /lambda-adapter /opt/extensions/lambda-adapter

# the default target (a plain `docker build`) is the service image
FROM service
