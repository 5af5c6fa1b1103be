# run_as USER CMD...: CMD as USER: directly when that is this user, else
# with runuser (root) or `sudo -n` (never a password prompt). The one way
# step scripts change user (auth_login.sh, chk_docker.sh, build_common.sh).
ks_me=$(id -un)
run_as() {
	local u=$1
	shift
	if [ "$u" = "$ks_me" ]; then
		"$@"
	elif [ "$(id -u)" = 0 ]; then
		runuser -u "$u" -- "$@"
	else
		sudo -n -u "$u" -- "$@"
	fi
}
