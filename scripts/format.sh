#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# The tree's one formatting convention, applied or checked:
#   C       clang-format with the repository's .clang-format (kernel style:
#           tabs, Linux braces, 100 columns, comments left as written)
#   shell   shfmt with its defaults (tabs, no extra case indent, binary
#           operators at line ends), on every *.sh and on extensionless
#           scripts whose first line names bash or sh
#
#   scripts/format.sh           rewrite every file that differs
#   scripts/format.sh --check   list the files that differ, exit 1 if any
# Files come from `git ls-files` (tracked files only; generated code under
# build/ is never formatted).
set -u
cd "$(dirname "$0")/.." || exit 1
check=0
case ${1:-} in
--check) check=1 ;;
"") ;;
*)
	echo "format.sh: unknown argument '$1' (--check or nothing)" >&2
	exit 2
	;;
esac
for tool in clang-format shfmt; do
	if ! command -v "$tool" >/dev/null; then
		echo "format.sh: $tool not found (make deps installs it)" >&2
		exit 2
	fi
done

mapfile -t cfiles < <(git ls-files '*.c' '*.h')
mapfile -t shfiles < <(
	git ls-files '*.sh'
	git ls-files | while read -r f; do
		case $f in *.*) continue ;; esac
		[ -f "$f" ] && head -n 1 "$f" | grep -Eq '^#!.*\b(ba)?sh\b' && echo "$f"
	done
)

bad=0
for f in "${cfiles[@]}"; do
	if [ $check = 1 ]; then
		clang-format --style=file "$f" | cmp -s - "$f" && continue
		echo "format: $f differs from clang-format (scripts/format.sh fixes it)"
		bad=1
	else
		clang-format --style=file -i "$f"
	fi
done
if [ $check = 1 ]; then
	for f in $(shfmt -l "${shfiles[@]}"); do
		echo "format: $f differs from shfmt (scripts/format.sh fixes it)"
		bad=1
	done
else
	shfmt -w "${shfiles[@]}"
fi
exit $bad
