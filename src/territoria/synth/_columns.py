"""The official columns of the SIRENE files, in INSEE's order, filled from synthetic rows.

Each ``*_select`` function returns a SELECT over the ``synth_etab`` view (one row per synthetic
establishment) that yields exactly the columns of the published file.
"""

from __future__ import annotations

from territoria.synth._model import LEGAL_FORMS

ESTABLISHMENT_FILE = "StockEtablissement_utf8.csv"
LEGAL_UNIT_FILE = "StockUniteLegale_utf8.csv"
GEOLOCATION_FILE = "GeolocalisationEtablissement_Sirene_pour_etudes_statistiques_utf8.csv"
HISTORY_FILE = "StockEtablissementHistorique_utf8.csv"

NULL = "CAST(NULL AS VARCHAR)"
SIRET = "CAST(siret AS VARCHAR)"
NIC = "lpad(CAST(siret % 100000 AS VARCHAR), 5, '0')"
NAME = "'SYNTHÉTIQUE ' || lpad(CAST(row AS VARCHAR), 8, '0')"
EMPLOYER = "CASE WHEN band_code IN ('NN', '00') THEN 'N' ELSE 'O' END"

#: StockEtablissement, as published since 2023 (with Lambert coordinates).
ESTABLISHMENT_COLUMNS: tuple[str, ...] = (
    "siren",
    "nic",
    "siret",
    "statutDiffusionEtablissement",
    "dateCreationEtablissement",
    "trancheEffectifsEtablissement",
    "anneeEffectifsEtablissement",
    "activitePrincipaleRegistreMetiersEtablissement",
    "dateDernierTraitementEtablissement",
    "etablissementSiege",
    "nombrePeriodesEtablissement",
    "complementAdresseEtablissement",
    "numeroVoieEtablissement",
    "indiceRepetitionEtablissement",
    "dernierNumeroVoieEtablissement",
    "indiceRepetitionDernierNumeroVoieEtablissement",
    "typeVoieEtablissement",
    "libelleVoieEtablissement",
    "codePostalEtablissement",
    "libelleCommuneEtablissement",
    "libelleCommuneEtrangerEtablissement",
    "distributionSpecialeEtablissement",
    "codeCommuneEtablissement",
    "codeCedexEtablissement",
    "libelleCedexEtablissement",
    "codePaysEtrangerEtablissement",
    "libellePaysEtrangerEtablissement",
    "identifiantAdresseEtablissement",
    "coordonneeLambertAbscisseEtablissement",
    "coordonneeLambertOrdonneeEtablissement",
    "complementAdresse2Etablissement",
    "numeroVoie2Etablissement",
    "indiceRepetition2Etablissement",
    "typeVoie2Etablissement",
    "libelleVoie2Etablissement",
    "codePostal2Etablissement",
    "libelleCommune2Etablissement",
    "libelleCommuneEtranger2Etablissement",
    "distributionSpeciale2Etablissement",
    "codeCommune2Etablissement",
    "codeCedex2Etablissement",
    "libelleCedex2Etablissement",
    "codePaysEtranger2Etablissement",
    "libellePaysEtranger2Etablissement",
    "dateDebut",
    "etatAdministratifEtablissement",
    "enseigne1Etablissement",
    "enseigne2Etablissement",
    "enseigne3Etablissement",
    "denominationUsuelleEtablissement",
    "activitePrincipaleEtablissement",
    "nomenclatureActivitePrincipaleEtablissement",
    "activitePrincipaleNAF25Etablissement",
    "caractereEmployeurEtablissement",
)

LEGAL_UNIT_COLUMNS: tuple[str, ...] = (
    "siren",
    "statutDiffusionUniteLegale",
    "unitePurgeeUniteLegale",
    "dateCreationUniteLegale",
    "sigleUniteLegale",
    "sexeUniteLegale",
    "prenom1UniteLegale",
    "prenom2UniteLegale",
    "prenom3UniteLegale",
    "prenom4UniteLegale",
    "prenomUsuelUniteLegale",
    "pseudonymeUniteLegale",
    "identifiantAssociationUniteLegale",
    "trancheEffectifsUniteLegale",
    "anneeEffectifsUniteLegale",
    "dateDernierTraitementUniteLegale",
    "nombrePeriodesUniteLegale",
    "categorieEntreprise",
    "anneeCategorieEntreprise",
    "dateDebut",
    "etatAdministratifUniteLegale",
    "nomUniteLegale",
    "nomUsageUniteLegale",
    "denominationUniteLegale",
    "denominationUsuelle1UniteLegale",
    "denominationUsuelle2UniteLegale",
    "denominationUsuelle3UniteLegale",
    "categorieJuridiqueUniteLegale",
    "activitePrincipaleUniteLegale",
    "nomenclatureActivitePrincipaleUniteLegale",
    "activitePrincipaleNAF25UniteLegale",
    "nicSiegeUniteLegale",
    "economieSocialeSolidaireUniteLegale",
    "societeMissionUniteLegale",
    "caractereEmployeurUniteLegale",
)

GEOLOCATION_COLUMNS: tuple[str, ...] = (
    "siret",
    "x",
    "y",
    "qualite_xy",
    "epsg",
    "plg_qp24",
    "plg_iris",
    "plg_zus",
    "plg_qp15",
    "plg_qva",
    "plg_code_commune",
    "distance_precision",
    "qualite_qp24",
    "qualite_iris",
    "qualite_zus",
    "qualite_qp15",
    "qualite_qva",
    "y_latitude",
    "x_longitude",
)

HISTORY_COLUMNS: tuple[str, ...] = (
    "siren",
    "nic",
    "siret",
    "dateFin",
    "dateDebut",
    "etatAdministratifEtablissement",
    "changementEtatAdministratifEtablissement",
    "enseigne1Etablissement",
    "enseigne2Etablissement",
    "enseigne3Etablissement",
    "changementEnseigneEtablissement",
    "denominationUsuelleEtablissement",
    "changementDenominationUsuelleEtablissement",
    "activitePrincipaleEtablissement",
    "nomenclatureActivitePrincipaleEtablissement",
    "changementActivitePrincipaleEtablissement",
    "caractereEmployeurEtablissement",
    "changementCaractereEmployeurEtablissement",
)


def _select(columns: tuple[str, ...], values: dict[str, str], source: str) -> str:
    parts = [f'{values.get(c, NULL)} AS "{c}"' for c in columns]
    return "SELECT " + ", ".join(parts) + " FROM " + source


def establishment_select(*, ref_year: int) -> str:
    """SELECT writing StockEtablissement from ``synth_etab``."""
    values = {
        "siren": "CAST(siren AS VARCHAR)",
        "nic": NIC,
        "siret": SIRET,
        "statutDiffusionEtablissement": "'O'",
        "dateCreationEtablissement": "CAST(created_date AS VARCHAR)",
        "trancheEffectifsEtablissement": "band_code",
        "anneeEffectifsEtablissement": (
            f"CASE WHEN band_code NOT IN ('NN', '00') THEN '{ref_year - 2}' END"
        ),
        "dateDernierTraitementEtablissement": "processed",
        "etablissementSiege": "CASE WHEN rank = 0 THEN 'true' ELSE 'false' END",
        "nombrePeriodesEtablissement": "CASE WHEN closed >= 0 THEN '2' ELSE '1' END",
        "numeroVoieEtablissement": "CAST(row % 120 + 1 AS VARCHAR)",
        "typeVoieEtablissement": "'RUE'",
        "libelleVoieEtablissement": "'DE LA DONNEE SYNTHETIQUE'",
        "libelleCommuneEtablissement": "commune_name",
        "codeCommuneEtablissement": "commune_code",
        "coordonneeLambertAbscisseEtablissement": "CAST(x AS VARCHAR)",
        "coordonneeLambertOrdonneeEtablissement": "CAST(y AS VARCHAR)",
        "dateDebut": "CAST(coalesce(closed_date, created_date) AS VARCHAR)",
        "etatAdministratifEtablissement": "CASE WHEN active THEN 'A' ELSE 'F' END",
        "denominationUsuelleEtablissement": NAME,
        "activitePrincipaleEtablissement": "naf",
        "nomenclatureActivitePrincipaleEtablissement": "'NAFRev2'",
        "activitePrincipaleNAF25Etablissement": "naf25",
        "caractereEmployeurEtablissement": EMPLOYER,
    }
    return _select(ESTABLISHMENT_COLUMNS, values, "synth_etab")


def _legal_form() -> str:
    whens, edge = [], 0.0
    for code, share in LEGAL_FORMS:
        edge += share * 100
        whens.append(f"WHEN siren % 100 < {round(edge)} THEN '{code}'")
    return "CASE " + " ".join(whens) + f" ELSE '{LEGAL_FORMS[-1][0]}' END"


def legal_unit_select() -> str:
    """SELECT writing StockUniteLegale (one legal unit per head office) from ``synth_etab``."""
    form = _legal_form()
    person = f"({form}) = '1000'"
    big = "band_code IN ('32', '41', '42', '51', '52', '53')"
    values = {
        "siren": "CAST(siren AS VARCHAR)",
        "statutDiffusionUniteLegale": "'O'",
        "dateCreationUniteLegale": "CAST(created_date AS VARCHAR)",
        "sexeUniteLegale": f"CASE WHEN {person} THEN CASE WHEN siren % 2 = 0 THEN 'F' "
        "ELSE 'M' END END",
        "prenom1UniteLegale": f"CASE WHEN {person} THEN 'CAMILLE' END",
        "prenomUsuelUniteLegale": f"CASE WHEN {person} THEN 'CAMILLE' END",
        "trancheEffectifsUniteLegale": "band_code",
        "dateDernierTraitementUniteLegale": "processed",
        "nombrePeriodesUniteLegale": "'1'",
        "categorieEntreprise": f"CASE WHEN {big} THEN 'ETI' ELSE 'PME' END",
        "dateDebut": "CAST(created_date AS VARCHAR)",
        "etatAdministratifUniteLegale": "CASE WHEN active THEN 'A' ELSE 'C' END",
        "nomUniteLegale": f"CASE WHEN {person} THEN 'SYNTHETIQUE' END",
        "denominationUniteLegale": (
            f"CASE WHEN NOT {person} THEN 'SOCIÉTÉ SYNTHÉTIQUE ' || CAST(siren AS VARCHAR) END"
        ),
        "categorieJuridiqueUniteLegale": form,
        "activitePrincipaleUniteLegale": "naf",
        "nomenclatureActivitePrincipaleUniteLegale": "'NAFRev2'",
        "activitePrincipaleNAF25UniteLegale": "naf25",
        "nicSiegeUniteLegale": NIC,
        "economieSocialeSolidaireUniteLegale": f"CASE WHEN ({form}) = '9220' THEN 'O' ELSE 'N' END",
        "societeMissionUniteLegale": "'N'",
        "caractereEmployeurUniteLegale": EMPLOYER,
    }
    return _select(LEGAL_UNIT_COLUMNS, values, "synth_etab WHERE rank = 0")


def geolocation_select() -> str:
    """SELECT writing the geolocation file (active establishments) from ``synth_etab``."""
    values = {
        "siret": SIRET,
        "x": "CAST(x AS VARCHAR)",
        "y": "CAST(y AS VARCHAR)",
        "qualite_xy": "'11'",
        "epsg": "CAST(epsg AS VARCHAR)",
        "plg_code_commune": "commune_code",
        "y_latitude": "CAST(lat AS VARCHAR)",
        "x_longitude": "CAST(lon AS VARCHAR)",
    }
    return _select(GEOLOCATION_COLUMNS, values, "synth_etab WHERE active")


def history_select() -> str:
    """SELECT writing StockEtablissementHistorique: one open period, and a closed one if any."""
    common = {
        "siren": "CAST(siren AS VARCHAR)",
        "nic": NIC,
        "siret": SIRET,
        "changementEnseigneEtablissement": "'false'",
        "denominationUsuelleEtablissement": NAME,
        "changementDenominationUsuelleEtablissement": "'false'",
        "activitePrincipaleEtablissement": "naf",
        "nomenclatureActivitePrincipaleEtablissement": "'NAFRev2'",
        "changementActivitePrincipaleEtablissement": "'false'",
        "caractereEmployeurEtablissement": EMPLOYER,
        "changementCaractereEmployeurEtablissement": "'false'",
    }
    opened = {
        **common,
        "dateFin": "CAST(closed_date - 1 AS VARCHAR)",
        "dateDebut": "CAST(created_date AS VARCHAR)",
        "etatAdministratifEtablissement": "'A'",
        "changementEtatAdministratifEtablissement": "'false'",
    }
    closed = {
        **common,
        "dateDebut": "CAST(closed_date AS VARCHAR)",
        "etatAdministratifEtablissement": "'F'",
        "changementEtatAdministratifEtablissement": "'true'",
    }
    return (
        _select(HISTORY_COLUMNS, opened, "synth_etab")
        + " UNION ALL "
        + _select(HISTORY_COLUMNS, closed, "synth_etab WHERE closed >= 0")
    )
