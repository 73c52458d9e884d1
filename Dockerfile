# gputwin's image: the CLI on Debian bookworm, for sweeps on a cluster (deploy/sweep-job.yaml)
# or any run in a container. From the repository root:
#   docker build -t gputwin .
#   docker run --rm -v "$PWD:/work" -w /work gputwin run examples/quickstart/scenario.yaml
FROM debian:bookworm AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends cmake ninja-build g++ pkg-config \
      libyaml-cpp-dev nlohmann-json3-dev libcli11-dev libfmt-dev libabsl-dev libsqlite3-dev \
      libgoogle-perftools-dev libre2-dev \
      nodejs npm ca-certificates \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
# The HTML report's chart library only (package.json's one dependency), from the lockfile.
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund --loglevel=error
COPY CMakeLists.txt ./
COPY src src
COPY data data
RUN cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DGPUTWIN_TESTS=OFF \
      -DGPUTWIN_BENCH=OFF \
 && cmake --build build --target gputwin

FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends libyaml-cpp0.7 libfmt9 libabsl20220623 \
      libsqlite3-0 libtcmalloc-minimal4 libre2-9 tzdata \
 && rm -rf /var/lib/apt/lists/*
COPY --from=build /src/build/gputwin /usr/local/bin/gputwin
# Not root: a sweep only reads its inputs and writes its --out folder.
USER 65532:65532
WORKDIR /work
ENTRYPOINT ["gputwin"]
CMD ["--help"]
