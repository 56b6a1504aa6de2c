"""Edges into the State's services and into the councils the source gives no official.

A SQL fragment of ``UNION ALL SELECT src, dst, type`` rows, included in
:data:`territoria.influence.network._EDGES_SQL` (it uses that query's ``cur``, ``execs`` and
``mayors`` tables). Each channel is a relation type with its probability in ``defaults.toml``:

``parliamentarian_to_state``
    the deputies and senators of a département → its préfecture, the préfecture de région,
    the rectorat, the ARS, the DREAL and the agence de l'eau of its main basin (six edges at
    most per département a parliamentarian is elected in);
``executive_to_state``
    the executive of a council holding the departmental competences of a département → its
    préfecture and rectorat; of a council holding the regional ones → the préfecture de région,
    ARS, DREAL, ADEME and Bpifrance regional directions, the rectorats and the main agences de
    l'eau of its départements, SNCF Réseau (the régions are the TER's authority); the
    executives of the région and départements of Île-de-France → Île-de-France Mobilités (its
    board);
``mayor_to_prefecture``
    the mayors of communes of 10,000 inhabitants or more → their préfecture;
``mep_to_commission``
    the members of the European Parliament → the European Commission;
``prefect_hierarchy``
    the préfet de région ↔ the préfets de département of the région (décret n° 2004-374, art.
    2); not for the département of the région's chef-lieu, whose préfet is the préfet de région;
``prefect_to_services``
    the préfet de région → the DREAL (placed under its authority, décret n° 2009-235); the
    préfet de département → the ANCT (its délégué territorial, loi n° 2019-753);
``mayor_to_body``, ``parliamentarian_to_body``
    for a council of a département, région or EPCI whose officials the source does not list
    (``officials_note`` 'aucun élu …': the Métropole de Lyon, the Collectivité de Corse, the
    CTM, the CTG): the mayors of its communes (for the Métropole de Lyon, its conférence
    métropolitaine des maires, CGCT L3633-1) and the deputies and senators elected there → the
    council itself, so that the body can be a plan's target.
"""

from __future__ import annotations

from typing import Final

from territoria.kb.state_bodies import BASIS_SECONDARY

__all__ = ["LARGE_COMMUNE", "STATE_EDGES_SQL", "STATE_RELATIONS"]

#: The population from which a mayor has their préfet's ear (``mayor_to_prefecture``).
LARGE_COMMUNE: Final = 10_000

#: The relation types this fragment creates.
STATE_RELATIONS: Final = (
    "parliamentarian_to_state",
    "executive_to_state",
    "mayor_to_prefecture",
    "mep_to_commission",
    "prefect_hierarchy",
    "prefect_to_services",
    "mayor_to_body",
    "parliamentarian_to_body",
)

# The State's services by département: those scoped by département, and the regional ones
# through the département's région. A basin covering only part of a département is not its
# main basin: parliamentarians and executives reach the main one only.
_STATE_DEP = f"""
    (SELECT b.organisation_id, b.competence, b.code AS dep FROM body_territory b
     WHERE b.level = 'departement' AND b.competence IN ('prefecture', 'rectorat', 'agence_eau',
           'idfm') AND coalesce(b.basis, '') NOT LIKE '%{BASIS_SECONDARY}%'
     UNION ALL
     SELECT b.organisation_id, b.competence, m.code FROM body_territory b
     JOIN membership m ON m.level = 'departement' AND m.parent_level = 'region'
          AND m.parent_code = b.code
     WHERE b.level = 'region' AND b.competence IN ('prefecture_region', 'ars', 'dreal', 'ademe',
           'bpifrance'))
"""

# The départements a parliamentarian is elected in.
_PARLIAMENTARIANS = """
    (SELECT person_id, code AS dep FROM cur WHERE role = 'sénateur'
     UNION
     SELECT c.person_id, ms.parent_code FROM cur c
     JOIN membership ms ON ms.level = 'circonscription' AND ms.code = c.code
          AND ms.parent_level = 'departement'
     WHERE c.role = 'député')
"""

# Councils holding departmental or regional competences (or an EPCI's), by the territory they
# cover, as département codes and commune codes.
_COUNCIL_DEPS = """
    (SELECT DISTINCT b.organisation_id, b.competence, b.code AS dep FROM body_territory b
     WHERE b.level = 'departement' AND b.competence = 'departement'
     UNION
     SELECT DISTINCT b.organisation_id, b.competence, m.code FROM body_territory b
     JOIN membership m ON m.level = 'departement' AND m.parent_level = 'region'
          AND m.parent_code = b.code
     WHERE b.level = 'region' AND b.competence = 'region')
"""

# Councils the source lists no official for, and their communes.
_SILENT_COMMUNES = """
    (SELECT DISTINCT b.organisation_id, m.code AS commune FROM body_territory b
     JOIN organisation o ON o.id = b.organisation_id
     JOIN membership m ON m.level = 'commune' AND m.parent_level = b.level
          AND m.parent_code = b.code
     WHERE o.officials_note LIKE 'aucun élu%'
       AND o.kind IN ('conseil_departemental', 'conseil_regional', 'conseil_communautaire')
       AND NOT EXISTS (SELECT 1 FROM cur WHERE cur.organisation_id = o.id))
"""

# Préfectures de région and de département of the région, but for the chef-lieu's département
# (one préfet for both: both préfectures have their seat in the same commune).
_PREFECT_PAIRS = f"""
    (SELECT r.organisation_id AS reg, d.organisation_id AS dep
     FROM {_STATE_DEP} r JOIN {_STATE_DEP} d ON d.dep = r.dep
     WHERE r.competence = 'prefecture_region' AND d.competence = 'prefecture'
       AND NOT EXISTS (SELECT 1 FROM contact cr JOIN contact cd ON cd.code = cr.code
                       WHERE cr.organisation_id = r.organisation_id
                         AND cd.organisation_id = d.organisation_id))
"""

STATE_EDGES_SQL: Final = f"""
-- parliamentarians -> the State's services of their département (parliamentarian_to_state)
UNION ALL
SELECT DISTINCT p.person_id, s.organisation_id, 'parliamentarian_to_state'
FROM {_PARLIAMENTARIANS} p JOIN {_STATE_DEP} s ON s.dep = p.dep
WHERE s.competence IN ('prefecture', 'prefecture_region', 'rectorat', 'ars', 'dreal',
                       'agence_eau')
-- executives of départements and régions -> their préfecture and services (executive_to_state)
UNION ALL
SELECT DISTINCT e.person_id, s.organisation_id, 'executive_to_state'
FROM execs e JOIN {_COUNCIL_DEPS} c ON c.organisation_id = e.organisation_id
JOIN {_STATE_DEP} s ON s.dep = c.dep
WHERE (c.competence = 'departement' AND s.competence IN ('prefecture', 'rectorat', 'idfm'))
   OR (c.competence = 'region' AND s.competence IN ('prefecture_region', 'ars', 'dreal',
       'ademe', 'bpifrance', 'rectorat', 'agence_eau', 'idfm'))
UNION ALL
SELECT DISTINCT e.person_id, 'etat-sncf-reseau', 'executive_to_state'
FROM execs e JOIN {_COUNCIL_DEPS} c ON c.organisation_id = e.organisation_id
WHERE c.competence = 'region' AND EXISTS (SELECT 1 FROM organisation
                                          WHERE id = 'etat-sncf-reseau')
-- mayors of large communes -> their préfecture (mayor_to_prefecture)
UNION ALL
SELECT DISTINCT m.person_id, s.organisation_id, 'mayor_to_prefecture'
FROM mayors m
JOIN territory t ON t.level = 'commune' AND t.code = m.commune
     AND t.population >= {LARGE_COMMUNE}
JOIN membership md ON md.level = 'commune' AND md.code = m.commune
     AND md.parent_level = 'departement'
JOIN {_STATE_DEP} s ON s.dep = md.parent_code AND s.competence = 'prefecture'
-- MEPs -> the European Commission (mep_to_commission)
UNION ALL
SELECT DISTINCT c.person_id, 'ue-commission', 'mep_to_commission'
FROM cur c WHERE c.role = 'député européen'
-- préfet de région <-> préfets de département (prefect_hierarchy)
UNION ALL
SELECT reg, dep, 'prefect_hierarchy' FROM {_PREFECT_PAIRS} pairs
UNION ALL
SELECT dep, reg, 'prefect_hierarchy' FROM {_PREFECT_PAIRS} pairs
-- the préfets -> the services they direct or represent (prefect_to_services)
UNION ALL
SELECT DISTINCT r.organisation_id, s.organisation_id, 'prefect_to_services'
FROM {_STATE_DEP} r JOIN {_STATE_DEP} s ON s.dep = r.dep
WHERE r.competence = 'prefecture_region' AND s.competence = 'dreal'
UNION ALL
SELECT d.organisation_id, 'etat-anct', 'prefect_to_services'
FROM {_STATE_DEP} d WHERE d.competence = 'prefecture'
  AND EXISTS (SELECT 1 FROM organisation WHERE id = 'etat-anct')
-- councils without officials in the source: their mayors and parliamentarians -> the council
UNION ALL
SELECT DISTINCT m.person_id, s.organisation_id, 'mayor_to_body'
FROM {_SILENT_COMMUNES} s JOIN mayors m ON m.commune = s.commune
UNION ALL
SELECT DISTINCT p.person_id, s.organisation_id, 'parliamentarian_to_body'
FROM {_SILENT_COMMUNES} s
JOIN membership md ON md.level = 'commune' AND md.code = s.commune
     AND md.parent_level = 'departement'
JOIN (SELECT person_id, code AS dep FROM cur WHERE role = 'sénateur') p ON p.dep = md.parent_code
UNION ALL
SELECT DISTINCT c.person_id, s.organisation_id, 'parliamentarian_to_body'
FROM {_SILENT_COMMUNES} s
JOIN membership mc ON mc.level = 'commune' AND mc.code = s.commune
     AND mc.parent_level = 'circonscription'
JOIN cur c ON c.role = 'député' AND c.code = mc.parent_code
"""
