# bench/need.sh - sourced by the benchmark scripts: `bench_need cmd[:package] ...` installs the
# Debian package of every command that is missing (as root; otherwise it names them and exits
# 1), so a benchmark runs from a clean checkout on a fresh machine. The package defaults to
# the command's name; a command is found on $PATH or in /usr/sbin.
bench_need() {
    local want=() spec cmd
    for spec in "$@"; do
        cmd=${spec%%:*}
        command -v "$cmd" >/dev/null || [[ -x /usr/sbin/$cmd ]] || want+=("${spec#*:}")
    done
    ((${#want[@]})) || return 0
    if [[ $(id -u) -ne 0 ]]; then
        echo "missing: ${want[*]} (apt-get install ${want[*]})" >&2
        exit 1
    fi
    echo "installing ${want[*]}" >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${want[@]}" >&2 ||
        { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
            --no-install-recommends "${want[@]}" >&2; }
}
