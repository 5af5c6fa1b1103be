#!/usr/bin/env bash
# The rule behind "secret-bearing parameters are never logged" (the C
# counterpart of PHP's #[\SensitiveParameter]): a parameter or variable
# that holds a secret is named secret_* (or is one of the usual names:
# password, passwd, pw, sudo, token, tok), and no such identifier is an
# argument of a log_*() call. This checks every call in lib/ (all its layers), cgi/ and
# spooler/ (string literals are ignored: a message may say "password").
# It first proves it can fail, on a sample with a violation.
set -euo pipefail
cd "$(dirname "$0")/.."

lint() {
	perl -0777 -ne '
		my $file = $ARGV;
		my $src = $_;
		while ($src =~ /\blog_(?:info|warnx|warn|err|errx|debug)\s*\((.*?)\);/sg) {
			my $args = $1;
			my $pos = pos($src);
			$args =~ s/"(?:\\.|[^"\\])*"//g;	# string literals
			if ($args =~ /\b(secret_\w*|\w*passw\w*|pw|sudo\w*|token|tok)\b/i) {
				my $line = 1 + (substr($src, 0, $pos) =~ tr/\n//);
				print "$file:$line: log call with a secret-bearing argument: $1\n";
				$bad = 1;
			}
		}
		END { exit($bad ? 1 : 0) }
	' "$@"
}

sample=$(mktemp)
trap 'rm -f -- "$sample"' EXIT
printf 'void f(const char *secret_token) {\n\tlog_info("got %%s",\n\t    secret_token);\n}\n' >"$sample"
if lint "$sample" >/dev/null; then
	echo "lint_secrets: FAIL: the check did not catch its own sample"
	exit 1
fi

# Every source file, wherever lib/ keeps it; none missing is an error.
shopt -s nullglob globstar
files=(lib/**/*.c lib/**/*.cc cgi/*.c spooler/*.c)
if ((${#files[@]} < 20)); then
	echo "lint_secrets: FAIL: only ${#files[@]} source files found"
	exit 1
fi
if lint "${files[@]}"; then
	echo "lint_secrets: ok: no log call takes a secret-bearing argument"
else
	echo "lint_secrets: FAIL"
	exit 1
fi
