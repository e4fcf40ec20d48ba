#!/usr/bin/env node
// SPDX-License-Identifier: EUPL-1.2
// convert.js - turns the JSON files of @etalab/decoupage-administratif into the compact,
// sorted, deterministic CSV files of data/ref/ that src/geo/geo.c loads.
//
//   node convert.js PACKAGE_DIR OUTPUT_DIR
//
// Output: UTF-8, LF, ';' delimiter, a header line, fields quoted only when needed, rows
// sorted by code. The same input always gives byte-identical files. Any inconsistency in
// the source (unknown département, commune in two EPCI...) stops the conversion.
"use strict";

const fs = require("fs");
const path = require("path");

const MAX_FILE_BYTES = 1.5 * 1024 * 1024;

function fail(message) {
	process.stderr.write(`convert: ${message}\n`);
	process.exit(1);
}

function readJson(dir, name) {
	return JSON.parse(fs.readFileSync(path.join(dir, "data", name), "utf8"));
}

function csvField(value) {
	const text = value === undefined || value === null ? "" : String(value);
	if (/[;"\r\n]/.test(text) || text !== text.trim())
		return '"' + text.replace(/"/g, '""') + '"';
	return text;
}

function byCode(a, b) {
	return a.code < b.code ? -1 : a.code > b.code ? 1 : 0;
}

function writeCsv(outDir, name, header, rows) {
	const lines = [header.join(";")];
	for (const row of rows)
		lines.push(row.map(csvField).join(";"));
	const text = lines.join("\n") + "\n";
	const bytes = Buffer.byteLength(text, "utf8");
	if (bytes > MAX_FILE_BYTES)
		fail(`${name}: ${bytes} octets, au-delà de la limite de ${MAX_FILE_BYTES}`);
	fs.writeFileSync(path.join(outDir, name), text);
	return { name, rows: rows.length, bytes };
}

function main() {
	const [pkgDir, outDir] = process.argv.slice(2);
	if (!pkgDir || !outDir)
		fail("usage : convert.js PACKAGE_DIR OUTPUT_DIR");

	const communes = readJson(pkgDir, "communes.json");
	const epcis = readJson(pkgDir, "epci.json");
	const departements = readJson(pkgDir, "departements.json");
	const regions = readJson(pkgDir, "regions.json");

	const regionCodes = new Set(regions.map((r) => r.code));
	const departementCodes = new Set(departements.map((d) => d.code));
	const departementRegion = new Map(departements.map((d) => [d.code, d.region]));
	for (const d of departements)
		if (!regionCodes.has(d.region))
			fail(`département ${d.code} : région inconnue ${d.region}`);

	const epciOf = new Map();
	for (const e of epcis)
		for (const m of e.membres) {
			if (epciOf.has(m.code))
				fail(`commune ${m.code} membre de deux EPCI (${epciOf.get(m.code)}, ${e.code})`);
			epciOf.set(m.code, e.code);
		}

	const current = communes.filter((c) => c.type === "commune-actuelle").sort(byCode);
	const currentCodes = new Set(current.map((c) => c.code));
	for (const [code] of epciOf)
		if (!currentCodes.has(code))
			fail(`membre d'EPCI ${code} : pas une commune actuelle`);

	const communeRows = current.map((c) => {
		if (!departementCodes.has(c.departement))
			fail(`commune ${c.code} : département inconnu ${c.departement}`);
		// The région is not repeated in communes.csv (the file would pass 1.5 MB): it is
		// the région of the département, which is checked here.
		if (departementRegion.get(c.departement) !== c.region)
			fail(`commune ${c.code} : région ${c.region} différente de celle du département ${c.departement}`);
		const postcodes = [...new Set(c.codesPostaux || [])].sort();
		return [c.code, c.nom, c.departement, epciOf.get(c.code) || "",
			c.population === undefined ? "" : c.population, postcodes.join(" ")];
	});

	// Former codes: delegated and associated communes (with their chef-lieu), municipal
	// arrondissements of Paris, Lyon, Marseille (with their commune), and the older codes the
	// package lists under `anciensCodes` of a current commune (merged without keeping a
	// delegated commune, or renumbered), which have no name of their own in the source.
	const kindOf = {
		"commune-deleguee": "commune-deleguee",
		"commune-associee": "commune-associee",
		"arrondissement-municipal": "arrondissement-municipal",
	};
	const former = new Map();
	for (const c of communes) {
		const kind = kindOf[c.type];
		if (!kind)
			continue;
		const parent = c.type === "arrondissement-municipal" ? c.commune : c.chefLieu;
		if (!currentCodes.has(parent))
			fail(`${c.type} ${c.code} : commune de rattachement inconnue ${parent}`);
		if (former.has(c.code))
			fail(`ancienne commune ${c.code} en double`);
		former.set(c.code, { code: c.code, nom: c.nom, kind, parent });
	}
	const conflicts = [];
	for (const c of current)
		for (const old of c.anciensCodes || []) {
			if (currentCodes.has(old))
				continue; /* still a current code: commune_find wins anyway */
			const known = former.get(old);
			if (known) {
				// v6.0.0 lists two codes (55273, 60455) under one commune's anciensCodes
				// while their own entry names another chef-lieu: the entry wins.
				if (known.parent !== c.code)
					conflicts.push(`${old} (${known.parent}, pas ${c.code})`);
				continue;
			}
			former.set(old, { code: old, nom: "", kind: "ancien-code", parent: c.code });
		}
	if (conflicts.length)
		process.stderr.write(`convert: anciensCodes contredits par la fiche de la commune, fiche retenue : ${conflicts.join(", ")}\n`);
	const formerRows = [...former.values()].sort(byCode)
		.map((f) => [f.code, f.nom, f.kind, f.parent]);

	const epciRows = [...epcis].sort(byCode).map((e) => [e.code, e.nom, e.type]);
	const departementRows = [...departements].sort(byCode).map((d) => [d.code, d.nom, d.region]);
	const regionRows = [...regions].sort(byCode).map((r) => [r.code, r.nom]);

	fs.mkdirSync(outDir, { recursive: true });
	const written = [
		writeCsv(outDir, "communes.csv",
			["code", "nom", "departement", "epci", "population", "codes_postaux"], communeRows),
		writeCsv(outDir, "communes-anciennes.csv",
			["code", "nom", "type", "commune_actuelle"], formerRows),
		writeCsv(outDir, "epci.csv", ["code", "nom", "type"], epciRows),
		writeCsv(outDir, "departements.csv", ["code", "nom", "region"], departementRows),
		writeCsv(outDir, "regions.csv", ["code", "nom"], regionRows),
	];
	for (const w of written)
		process.stdout.write(`${w.name}\t${w.rows} lignes\t${w.bytes} octets\n`);
}

main();
