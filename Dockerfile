# The dgen command line in an image a cluster can run (README: "On a fresh machine" and the Indexed Job
# example). Two stages, both Debian 12 (bookworm) with Node.js 22:
# 1. build: the README's fresh-machine commands on the source (toolchain, -dev packages, `npm ci`), then
#    `npm pack`, whose prepack step compiles the prebuilt addon the tarball carries (scripts/prebuild.js);
# 2. run: the tarball installed into node:22-bookworm-slim, which has no compiler and none of the addon's
#    libraries: the prebuilt needs neither (static libraries, ISA-L beside it). No -dev package, cmake or
#    g++ in the final image.
#   docker build -t dgen-stream:0.1.0 .
#   docker run --rm -v "$PWD/out:/out" dgen-stream:0.1.0 put /out --count 4 --size 256MiB --dedup 2 --compress 3
FROM node:22-bookworm AS build
RUN apt-get update && apt-get install -y cmake g++ pkg-config libisal-dev libzstd-dev libdeflate-dev zlib1g-dev libxxhash-dev liblz4-dev libssl-dev \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN npm ci && npm pack --pack-destination /pkg

FROM node:22-bookworm-slim
COPY --from=build /pkg/dgen-stream-*.tgz /tmp/
RUN npm install --global --no-audit --no-fund /tmp/dgen-stream-*.tgz && rm /tmp/dgen-stream-*.tgz && npm cache clean --force \
    && dgen --help >/dev/null
WORKDIR /data
ENTRYPOINT ["dgen"]
CMD ["--help"]
