#!/usr/bin/env bash
# The operator's and the companion API's OCI images, built on this machine without Docker or any registry:
#
#   base layer  Debian's own packages for what a self-contained .NET app needs (glibc, libstdc++, OpenSSL, zlib, CA
#               certificates, tzdata), fetched with `apt-get download` under a private APT configuration
#               (scripts/lib/private-apt.sh: this machine's mirror, its own release) and unpacked with `dpkg -x`. No
#               shell, no package manager; the CA bundle is concatenated from the package's certificates, as
#               update-ca-certificates would. Cached under $BASE; rebuilt when the package list below changes.
#   app layer   `dotnet publish --self-contained` of the part: the operator is a Native AOT executable (its csproj sets
#               PublishAot: no .NET runtime, 48 instead of 95 MiB idle, docs/native-aot.md), the API a self-contained
#               JIT app (the runtime from NuGet, no shared framework needed): AOT-clean too, but on the JIT its
#               presign throughput is 15-42 % higher (bench row 16, docs/native-aot.md). AOT debug symbols (.dbg) stay out.
#
# Assembled with umoci (Debian) into one OCI image layout per image, $OUT/<image> with tag $VERSION, run as UID
# 65532 like the Deployments ask. Labels: org.opencontainers.image.* (title, description, version, revision, created)
# and the base's Debian packages with their versions (ai.amun.hypha.base-packages; the same list is in the image at
# /usr/share/doc/workspace-storage/base-packages.txt). Prints each image's digest and writes $OUT/images.env.
#
# Push to a registry of yours (none is published):
#   skopeo copy oci:out/images/workspace-storage-operator:VERSION docker://registry.example.org/wso/operator:VERSION
# Run here: podman pull oci:out/images/workspace-storage-operator:VERSION (tests/WorkspaceStorage.EndToEnd.Tests/ImageRunTests).
#
# Settings (environment): WSO_IMAGES_DIR (default out/images), WSO_IMAGE_BASE_DIR (default .local/image-base).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
OUT=${WSO_IMAGES_DIR:-$ROOT/out/images}
BASE=${WSO_IMAGE_BASE_DIR:-$ROOT/.local/image-base}
# The runtime needs of a self-contained, InvariantGlobalization .NET app (no ICU), nothing more.
PACKAGES=(libc6 libgcc-s1 libstdc++6 libssl3 zlib1g ca-certificates tzdata)
UID_GID=65532:65532

log() { printf 'build-images: %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }

VERSION=$(sed -n 's:.*<VersionPrefix>\(.*\)</VersionPrefix>.*:\1:p' "$ROOT/Directory.Build.props")
[ -n "$VERSION" ] || die "no <VersionPrefix> in Directory.Build.props"
REVISION=$(git -C "$ROOT" rev-parse HEAD 2>/dev/null || echo unknown)
# The commit's time, so a rebuild of the same commit is labelled the same.
CREATED=$(git -C "$ROOT" log -1 --format=%cI 2>/dev/null || date -u +%FT%TZ)

"$ROOT/scripts/apt-install-missing.sh" umoci clang-14 zlib1g-dev   # the operator's Native AOT link needs a C toolchain

# ---- the base root filesystem, from Debian packages ----
base_key=$(printf '%s\n' "${PACKAGES[@]}" "$(. /etc/os-release && echo "$VERSION_CODENAME")" | sha256sum | cut -c1-16)
mkdir -p "$BASE"
exec 9>"$BASE/.lock"
flock 9
if [ "$(cat "$BASE/key" 2>/dev/null)" != "$base_key" ]; then
  . "$ROOT/scripts/lib/private-apt.sh"
  suite=$(. /etc/os-release && echo "$VERSION_CODENAME")
  private_apt "$BASE/apt" "$suite" || die "$PRIVATE_APT_ERROR"
  log "fetching the base's Debian packages from $suite: ${PACKAGES[*]}"
  apt-get -qq update || die "apt-get update failed for $suite on this machine's mirror"
  rm -rf "$BASE/rootfs" "$BASE/debs" && mkdir -p "$BASE/rootfs" "$BASE/debs"
  (cd "$BASE/debs" && apt-get -qq download "${PACKAGES[@]}" >/dev/null) || die "apt-get download failed (is the mirror reachable?)"
  : >"$BASE/packages.txt"
  for deb in "$BASE"/debs/*.deb; do
    dpkg -x "$deb" "$BASE/rootfs" || die "cannot unpack $(basename "$deb")"
    dpkg-deb -f "$deb" Package Version | paste -sd= >>"$BASE/packages.txt"
  done
  r=$BASE/rootfs
  rm -rf "$r/usr/share/man" "$r/usr/share/info" "$r/usr/share/lintian" "$r/usr/share/locale" "$r/usr/sbin" "$r/usr/bin" "$r/sbin" "$r/bin"
  mkdir -p "$r/etc/ssl/certs" "$r/tmp" "$r/app" "$r/usr/share/doc/workspace-storage"
  cat "$r"/usr/share/ca-certificates/mozilla/*.crt >"$r/etc/ssl/certs/ca-certificates.crt"
  chmod 1777 "$r/tmp"
  printf 'root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/tmp:/sbin/nologin\n' >"$r/etc/passwd"
  printf 'root:x:0:\nnonroot:x:65532:\n' >"$r/etc/group"
  cp "$BASE/packages.txt" "$r/usr/share/doc/workspace-storage/base-packages.txt"
  echo "$base_key" >"$BASE/key"
fi
base_packages=$(paste -sd, "$BASE/packages.txt")

# ---- one image per deployable part ----
work=$OUT/.work
rm -rf "$work" && mkdir -p "$work"
: >"$OUT/images.env.new"
build_image() { # IMAGE PROJECT DESCRIPTION PORTS ENV... (the ports the Deployment serves, then KEY=VALUE environment)
  local image=$1 project=$2 description=$3 ports=$4; shift 4
  local layout=$OUT/$image publish=$work/$image-publish bundle=$work/$image-bundle
  log "$image $VERSION: dotnet publish $project (self-contained, linux-x64; Native AOT where the project sets PublishAot)"
  dotnet publish "$ROOT/src/$project/$project.csproj" -c Release -r linux-x64 --self-contained -p:UseAppHost=true \
    -p:Version="$VERSION" -o "$publish" -v quiet -nologo >"$work/$image-publish.log" 2>&1 \
    || { tail -n 20 "$work/$image-publish.log" >&2; die "dotnet publish $project failed"; }
  # Native AOT writes its symbols beside the executable (66 MiB for the operator): not for the image.
  find "$publish" -name '*.dbg' -delete

  rm -rf "$layout"
  umoci init --layout "$layout"
  umoci new --image "$layout:$VERSION"
  # Layer 1: the base, as built above.
  umoci unpack --image "$layout:$VERSION" "$bundle" >/dev/null
  cp -a "$BASE/rootfs/." "$bundle/rootfs/"
  umoci repack --image "$layout:$VERSION" --history.created_by "Debian packages: $base_packages" "$bundle"
  rm -rf "$bundle"
  # Layer 2: the app, owned by root and read-only to the process (the pods' root filesystem is read-only anyway).
  umoci unpack --image "$layout:$VERSION" "$bundle" >/dev/null
  cp -a "$publish/." "$bundle/rootfs/app/"
  chown -R 0:0 "$bundle/rootfs/app" && chmod -R go-w "$bundle/rootfs/app"
  umoci repack --image "$layout:$VERSION" --history.created_by "dotnet publish $project --self-contained" "$bundle"
  rm -rf "$bundle"

  local config=(--config.user "$UID_GID" --config.workingdir /app --config.entrypoint "/app/$project"
    --config.env HOME=/tmp --config.env DOTNET_gcServer=0)
  local env port
  for env in "$@"; do config+=(--config.env "$env"); done
  for port in $ports; do config+=(--config.exposedports "$port/tcp"); done
  umoci config --image "$layout:$VERSION" "${config[@]}" --created "$CREATED" \
    --config.label "org.opencontainers.image.title=$image" \
    --config.label "org.opencontainers.image.version=$VERSION" \
    --config.label "org.opencontainers.image.revision=$REVISION" \
    --config.label "org.opencontainers.image.created=$CREATED" \
    --config.label "org.opencontainers.image.description=$description" \
    --config.label "ai.amun.hypha.base-packages=$base_packages" \
    --history.created_by "scripts/build-images.sh: user $UID_GID, entrypoint /app/$project"
  umoci gc --layout "$layout"

  local digest
  digest=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["manifests"][0]["digest"])' "$layout/index.json")
  local var
  var=$(echo "$image" | tr 'a-z-' 'A-Z_')
  printf '%s=%s\n%s_DIGEST=%s\n' "$var" "oci:$layout:$VERSION" "$var" "$digest" >>"$OUT/images.env.new"
  log "$image:$VERSION $digest ($(du -sh "$layout" | cut -f1)) in $layout"
}

# Ports and environment as in the Dockerfiles and the Deployments (config/manager, config/api): ImageRunTests checks.
build_image workspace-storage-operator WorkspaceStorage.Operator "Kubernetes operator: S3 storage for Hypha workspaces" \
  "8080 8081" ASPNETCORE_HTTP_PORTS=
build_image workspace-storage-api WorkspaceStorage.Api "Hypha's public/s3-storage service, served from the operator's WorkspaceStorages" \
  "8080" ASPNETCORE_HTTP_PORTS=8080
printf 'VERSION=%s\n' "$VERSION" >>"$OUT/images.env.new"
mv "$OUT/images.env.new" "$OUT/images.env"
rm -rf "$work"
