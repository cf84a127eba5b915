#!/usr/bin/env bash
# The README's driver x kernel matrix, made from what the tests proved (the
# kmod suite writes .cache/kmod/matrix.tsv: "version series what" lines).
#   matrix.sh render TSV     the table
#   matrix.sh readme README  the table as the README has it now
#   matrix.sh update         write the last run's table into README.md
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TOP=$(cd "$HERE/.." && pwd)
BEGIN='<!-- matrix: written by make matrix from the kmod suite'"'"'s results; do not edit -->'
END='<!-- matrix end -->'

die() { echo "[matrix] error: $*" >&2; exit 1; }

render() {
	local tsv=$1
	[[ -s $tsv ]] || die "$tsv is empty or missing: run make test-kmod first"
	# Every supported release has a row, proven or not.
	awk '
		{ v = $1; s = $2; $1 = ""; $2 = ""; w = substr($0, 3)
		  if (!(v in seenv)) { seenv[v] = 1; vs[nv++] = v }
		  if (s == "-") next
		  if (!(s in seens)) { seens[s] = 1; ss[ns++] = s }
		  cell[v, s] = (cell[v, s] == "" ? w : cell[v, s] ", " w) }
		END {
			line = "| driver \\ kernel |"; sep = "| --- |"
			for (j = 0; j < ns; j++) { line = line " " ss[j] " |"; sep = sep " --- |" }
			print line; print sep
			for (i = 0; i < nv; i++) {
				line = "| " vs[i] " |"
				for (j = 0; j < ns; j++) line = line " " (cell[vs[i], ss[j]] == "" ? "not proven" : cell[vs[i], ss[j]]) " |"
				print line
			}
		}' <({ cat "$tsv"; awk '!/^#/ && NF == 3 { print $1, "-", "-" }' "$TOP/kmod/versions"; } | sort -t' ' -k1,1V -k2,2V)
}

readme() {
	awk -v b="$BEGIN" -v e="$END" '$0 == b { on = 1; next } $0 == e { on = 0 } on' "$1"
}

update() {
	local readme=$TOP/README.md table
	table=$(render "$TOP/.cache/kmod/matrix.tsv")
	grep -qxF "$BEGIN" "$readme" || die "README.md has no matrix markers"
	awk -v b="$BEGIN" -v e="$END" -v t="$table" '$0 == b { print; print t; skip = 1; next } $0 == e { skip = 0 } !skip' \
		"$readme" >"$readme.tmp"
	mv "$readme.tmp" "$readme"
	echo "[matrix] README.md updated" >&2
}

case ${1:-} in
render) render "$2" ;;
readme) readme "$2" ;;
update) update ;;
*) die "usage: matrix.sh render TSV | readme README | update" ;;
esac
