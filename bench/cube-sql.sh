# SPDX-License-Identifier: EUPL-1.2
# cube-sql.sh - the SQL both reference engines run in bench/cube and bench/snapshot (sourced,
# not run): typed_sql turns the raw text table r into the typed table t with the cube's
# normalisations; group_sql is the commune GROUP BY of the registry indicators in $cols.
# Raw table r (text) -> typed table t with the cube's normalisations (portable SQL).
typed_sql() {
  cat <<'SQL'
CREATE TABLE t AS SELECT
  CASE WHEN DEPCOM LIKE '751%' THEN '75056' WHEN DEPCOM LIKE '6938%' THEN '69123'
       WHEN DEPCOM LIKE '132%' THEN '13055' ELSE DEPCOM END AS commune,
  coalesce(MODE, '') AS mode,
  coalesce(TYPECONST, '') AS typeconst,
  CAST(NULLIF(coalesce(NBPIECE, ''), '') AS INTEGER) AS nbpiece,
  coalesce(FINAN, '') AS finan,
  CASE WHEN length(coalesce(DPEDATE, '')) < 7 THEN ''
       WHEN CAST(substr(DPEDATE, length(DPEDATE) - 3, 4) AS INTEGER) > 1900 THEN coalesce(DPEENERGIE, '')
       ELSE '' END AS dpe_e,
  CASE WHEN coalesce(QPV_CODE, '') <> '' THEN '1' ELSE coalesce(QPV, '') END AS qpv,
  CASE WHEN coalesce(LOYERPRINC, '') = '' THEN NULL
       WHEN CAST(replace(LOYERPRINC, ',', '.') AS DOUBLE) = 9999 THEN NULL
       ELSE CAST(replace(LOYERPRINC, ',', '.') AS DOUBLE) END AS loyer,
  CASE WHEN coalesce(SURFHAB, '') = '' THEN NULL
       WHEN CAST(replace(SURFHAB, ',', '.') AS DOUBLE) <= 0 THEN NULL
       ELSE CAST(replace(SURFHAB, ',', '.') AS DOUBLE) END AS surf,
  CAST(NULLIF(coalesce(CONSTRUCT, ''), '') AS INTEGER) AS construct,
  CASE WHEN length(coalesce(REMLOCDATE, '')) < 7 THEN NULL
       ELSE CAST(substr(REMLOCDATE, length(REMLOCDATE) - 3, 4) AS INTEGER) * 12
            + CAST(substr(REMLOCDATE, length(REMLOCDATE) - 6, 2) AS INTEGER) END AS remloc_m
FROM r
SQL
}
# The indicators of the registry (indicators.c) at 1/1/2025, by commune.
cols="nb_ls loues vacants vides asso autres tx_vac tx_vac3 loyer_m2 part_qpv part_collectif
part_individuel nb_p1 nb_p2 nb_p3 nb_p4 nb_p5p fin_plai fin_plus fin_plus_av77 fin_pls fin_pli
age_moyen dpe_e_a dpe_e_b dpe_e_c dpe_e_d dpe_e_e dpe_e_f dpe_e_g dpe_absent part_fg"
group_sql() {
  local S="mode IN ('1','2','3','4','5')"
  cat <<SQL
CREATE TABLE g AS SELECT commune,
  count(*) FILTER (WHERE $S) AS nb_ls,
  count(*) FILTER (WHERE mode = '1') AS loues,
  count(*) FILTER (WHERE mode = '2') AS vacants,
  count(*) FILTER (WHERE mode = '3') AS vides,
  count(*) FILTER (WHERE mode = '4') AS asso,
  count(*) FILTER (WHERE mode = '5') AS autres,
  100.0 * count(*) FILTER (WHERE mode = '2') / nullif(count(*) FILTER (WHERE mode IN ('1','2')), 0) AS tx_vac,
  100.0 * count(*) FILTER (WHERE mode = '2' AND 2025 * 12 + 1 - remloc_m >= 4)
    / nullif(count(*) FILTER (WHERE mode IN ('1','2')), 0) AS tx_vac3,
  sum(loyer) FILTER (WHERE mode = '1' AND loyer IS NOT NULL AND surf IS NOT NULL)
    / nullif(sum(surf) FILTER (WHERE mode = '1' AND loyer IS NOT NULL AND surf IS NOT NULL), 0) AS loyer_m2,
  100.0 * count(*) FILTER (WHERE $S AND qpv = '1') / nullif(count(*) FILTER (WHERE $S), 0) AS part_qpv,
  100.0 * count(*) FILTER (WHERE $S AND typeconst = 'C') / nullif(count(*) FILTER (WHERE $S), 0) AS part_collectif,
  100.0 * count(*) FILTER (WHERE $S AND typeconst = 'I') / nullif(count(*) FILTER (WHERE $S), 0) AS part_individuel,
  count(*) FILTER (WHERE $S AND nbpiece = 1) AS nb_p1,
  count(*) FILTER (WHERE $S AND nbpiece = 2) AS nb_p2,
  count(*) FILTER (WHERE $S AND nbpiece = 3) AS nb_p3,
  count(*) FILTER (WHERE $S AND nbpiece = 4) AS nb_p4,
  count(*) FILTER (WHERE $S AND nbpiece BETWEEN 5 AND 99) AS nb_p5p,
  count(*) FILTER (WHERE $S AND finan IN ('10','11')) AS fin_plai,
  count(*) FILTER (WHERE $S AND finan IN ('12','13')) AS fin_plus,
  count(*) FILTER (WHERE $S AND finan IN ('50','51','52','53','54','55','99')) AS fin_plus_av77,
  count(*) FILTER (WHERE $S AND finan = '14') AS fin_pls,
  count(*) FILTER (WHERE $S AND finan = '16') AS fin_pli,
  1.0 * sum(2025 - construct) FILTER (WHERE $S AND construct BETWEEN 1 AND 2025)
    / nullif(count(*) FILTER (WHERE $S AND construct BETWEEN 1 AND 2025), 0) AS age_moyen,
  count(*) FILTER (WHERE $S AND dpe_e = 'A') AS dpe_e_a,
  count(*) FILTER (WHERE $S AND dpe_e = 'B') AS dpe_e_b,
  count(*) FILTER (WHERE $S AND dpe_e = 'C') AS dpe_e_c,
  count(*) FILTER (WHERE $S AND dpe_e = 'D') AS dpe_e_d,
  count(*) FILTER (WHERE $S AND dpe_e = 'E') AS dpe_e_e,
  count(*) FILTER (WHERE $S AND dpe_e = 'F') AS dpe_e_f,
  count(*) FILTER (WHERE $S AND dpe_e = 'G') AS dpe_e_g,
  count(*) FILTER (WHERE $S AND dpe_e = '') AS dpe_absent,
  100.0 * count(*) FILTER (WHERE $S AND dpe_e IN ('F','G')) / nullif(count(*) FILTER (WHERE $S AND dpe_e <> ''), 0) AS part_fg
FROM t GROUP BY commune
SQL
}
