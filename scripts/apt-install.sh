# Sourced by the setup scripts: apt_install PACKAGE... installs Debian packages, as root or
# through sudo, without questions.
apt_install() {
  [ $# -gt 0 ] || return 0
  echo "gputwin: installing $*" >&2
  local sudo_cmd=()
  if [ "$(id -u)" -ne 0 ]; then sudo_cmd=(sudo); fi
  export DEBIAN_FRONTEND=noninteractive
  "${sudo_cmd[@]}" apt-get update -qq
  "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}
