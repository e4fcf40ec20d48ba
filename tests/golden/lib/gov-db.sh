# Sourced by the gov-* golden cases: a small database in the current directory (dh.db) with
# three landlords sharing Quimper (29232) and two sharing Rennes (35238), stock at 2024-01-01.
# Not a case itself (no cmd file): tests/golden/run skips this folder.
export DATAHABITAT_DB=dh.db
$DH init >/dev/null &&
$DH org add --siren 443061841 --name "Office A" --kind OPH >/dev/null &&
$DH org add --siren 552100554 --name "ESH B" --kind esh >/dev/null &&
$DH org add --siren 542107651 --name "SEM C" --kind sem >/dev/null &&
$DH import "$SRC/tests/data/store/stock-2024.csv" --org 443061841 --date 2024-01-01 >/dev/null &&
$DH import "$SRC/tests/data/indicators/stock-2024.csv" --org 552100554 --date 2024-01-01 >/dev/null &&
$DH import "$SRC/tests/data/indicators/stock-2025.csv" --org 542107651 --date 2024-01-01 >/dev/null
