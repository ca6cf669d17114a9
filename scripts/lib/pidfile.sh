# Sourced by the scripts that start servers in the background and keep their PIDs in files (s3-test-server.sh,
# kube-apiserver.sh).

alive() { # a PID file's process is running (zombies count as dead: PID 1 here reaps slowly)
  local pidfile=$1 pid state
  [ -f "$pidfile" ] || return 1
  pid=$(cat "$pidfile")
  [ -r "/proc/$pid/stat" ] || return 1
  state=$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null) || return 1
  [ "$state" != "Z" ] && [ "$state" != "X" ]
}
