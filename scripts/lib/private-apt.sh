# Sourced by the scripts that fetch Debian packages without installing them (install-minio-clients.sh, install-moto.sh,
# install-kube-apiserver.sh): a private APT configuration under a folder of their own (its own sources list, state,
# cache and config parts) whose one sources line is this machine's own Debian mirror with the suite swapped. The
# system's APT state is only read (its sources list, to learn the mirror); no mirror host is ever written in the repo.

# This machine's Debian archive: the first deb source serving its own release (not -updates, not -security).
debian_mirror() {
  local codename
  codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
  [ -n "$codename" ] || return 1
  {
    # one-line format: deb [options] URI suite components...
    cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null |
      sed -E 's/\[[^]]*\]//' | awk -v c="$codename" '$1 == "deb" && $3 == c { print $2 }'
    # deb822 format: stanzas with Types, URIs, Suites
    for f in /etc/apt/sources.list.d/*.sources; do
      [ -f "$f" ] || continue
      awk -v c="$codename" '
        function flush() { if (deb && suite) for (i = 1; i <= n; i++) print uris[i]; deb = 0; suite = 0; n = 0 }
        /^[[:space:]]*$/ { flush(); next }
        /^Types:/ { deb = ($0 ~ /[[:space:]]deb([[:space:]]|$)/) }
        /^URIs:/ { n = split(substr($0, 6), uris, " ") }
        /^Suites:/ { split(substr($0, 8), s, " "); for (i in s) if (s[i] == c) suite = 1 }
        END { flush() }' "$f"
    done
  } | grep -v -i security | head -n 1
}

# private_apt APT_DIR SUITE: writes the configuration under APT_DIR (wiping its old state) and exports APT_CONFIG.
# Returns non-zero with a one-line reason in PRIVATE_APT_ERROR when apt, the mirror or the archive keyring is missing.
private_apt() {
  local apt=$1 suite=$2 uri keyring=/usr/share/keyrings/debian-archive-keyring.gpg
  command -v apt-get >/dev/null && command -v dpkg >/dev/null || { PRIVATE_APT_ERROR="needs apt-get and dpkg (a Debian machine)"; return 1; }
  uri=$(debian_mirror) || true
  [ -n "$uri" ] || { PRIVATE_APT_ERROR="could not read this machine's Debian mirror from /etc/apt/sources.list{,.d}"; return 1; }
  [ -f "$keyring" ] || { PRIVATE_APT_ERROR="$keyring is missing (package debian-archive-keyring)"; return 1; }
  rm -rf "$apt"
  mkdir -p "$apt/parts" "$apt/preferences.d" "$apt/sources.list.d" "$apt/state/lists/partial" "$apt/cache/archives/partial" "$apt/debs"
  : >"$apt/state/status"
  printf 'deb [signed-by=%s] %s %s main\n' "$keyring" "$uri" "$suite" >"$apt/sources.list"
  # Dir::Etc::parts points at an empty directory so that the system's apt.conf.d (and its update hooks) stay out.
  # Check-Valid-Until off: sid's Release file is valid for a week only and this machine's mirror may be a snapshot;
  # the signatures are still checked against the archive keyring.
  cat >"$apt/apt.conf" <<CONF
Dir::Etc::parts "$apt/parts";
Dir::Etc::sourcelist "$apt/sources.list";
Dir::Etc::sourceparts "$apt/sources.list.d";
Dir::Etc::preferencesparts "$apt/preferences.d";
Dir::State "$apt/state";
Dir::State::status "$apt/state/status";
Dir::Cache "$apt/cache";
APT::Architecture "$(dpkg --print-architecture)";
APT::Sandbox::User "$(id -un)";
Acquire::Languages "none";
Acquire::Check-Valid-Until "false";
CONF
  export APT_CONFIG=$apt/apt.conf
}

# private_apt_tree DIR SUITE: the common start of an install that unpacks packages privately: a fresh DIR/root to unpack
# into, the private configuration under DIR/apt (APT is set to that folder; fetched .debs go to $APT/debs) and SUITE's
# package lists read. Returns non-zero with a one-line reason in PRIVATE_APT_ERROR.
private_apt_tree() {
  APT=$1/apt
  rm -rf "$1/root"
  private_apt "$APT" "$2" || return 1
  mkdir -p "$1/root"
  printf '%s: reading %s package lists (private APT state under %s)\n' "$(basename "$0" .sh)" "$2" "$APT" >&2
  apt-get -qq update || { PRIVATE_APT_ERROR="apt-get update of $2 failed"; return 1; }
}
