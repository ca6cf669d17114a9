# Sourced by the scripts that build the project's Go tools (install-kube-apiserver.sh, install-informer-baseline.sh)
# against the Debian sid sources install-kube-apiserver.sh unpacked under $DIR/root: GOPATH mode, offline, the
# unpacked toolchain, a Go build cache of its own so a rebuild after an edit takes seconds.

# debian_go_env DIR BUILD: exports the environment `go build` runs in (GOPATH = BUILD, then Debian's gocode) and sets
# GO to the unpacked toolchain's go; returns 1 when no toolchain is unpacked under DIR.
debian_go_env() {
  local dir=$1 build=$2
  GOROOT=$(ls -d "$dir"/root/usr/lib/go-1.* 2>/dev/null | sort -V | tail -n 1)
  [ -n "$GOROOT" ] && [ -x "$GOROOT/bin/go" ] || return 1
  GO=$GOROOT/bin/go
  export PATH=$GOROOT/bin:$PATH GOROOT GO111MODULE=off GOPATH=$build:$dir/root/usr/share/gocode GOPROXY=off GOTOOLCHAIN=local \
    CGO_ENABLED=0 GOFLAGS= GOCACHE=$dir/gocache
}
