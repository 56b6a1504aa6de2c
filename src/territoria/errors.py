"""All exceptions raised by Territoria.

Each exception subclasses the nearest built-in and carries an HTTP status for the web app.
Messages say what went wrong, where, and how to fix it.
"""

from __future__ import annotations


class TerritoriaError(Exception):
    """Base class of every Territoria error."""

    http_status = 500
    exit_code = 1


class ConfigurationError(TerritoriaError, ValueError):
    """A setting or configuration file is invalid."""

    http_status = 500
    exit_code = 2


class DatabaseError(TerritoriaError, RuntimeError):
    """The knowledge base cannot be opened or written."""

    http_status = 503
    exit_code = 3


class DatabaseLocked(DatabaseError):
    """Another process holds the knowledge base's write lock."""


class ReadOnlyDatabase(DatabaseError):
    """The knowledge base file or its folder is not writable."""


class SchemaTooNew(DatabaseError):
    """The knowledge base was written by a newer Territoria."""


class EmptyKnowledgeBase(DatabaseError, LookupError):
    """The knowledge base holds no territories yet."""

    http_status = 503


class SourceError(TerritoriaError, ValueError):
    """A source file is missing, truncated, corrupt or has the wrong layout."""

    http_status = 400
    exit_code = 2


class ValidationError(SourceError):
    """Imported rows fail validation; nothing was imported."""

    http_status = 422

    def __init__(self, message: str, problems: list[str] | None = None, count: int = 0) -> None:
        super().__init__(message)
        self.problems = problems or []
        self.count = count or len(self.problems)


class UnknownTerritory(TerritoriaError, LookupError):
    """No territory has this code (at this level)."""

    http_status = 404
    exit_code = 2


class UnknownLevel(TerritoriaError, ValueError):
    """The territorial level is not one Territoria knows."""

    http_status = 422
    exit_code = 2


class UnknownIndicator(TerritoriaError, LookupError):
    """No indicator has this code."""

    http_status = 404
    exit_code = 2


class EdgeListError(SourceError):
    """An edge-list file is empty or has a malformed line."""

    http_status = 400
    exit_code = 2


class InvalidProbability(TerritoriaError, ValueError):
    """An edge probability or linear-threshold weight is outside its allowed range."""

    http_status = 422
    exit_code = 2


class UnknownNode(TerritoriaError, LookupError):
    """No node of the influence graph has this identifier or index."""

    http_status = 404
    exit_code = 2


class InvalidPlanRequest(TerritoriaError, ValueError):
    """The options of an influence plan are missing or inconsistent."""

    http_status = 422
    exit_code = 2


class BudgetTooSmall(InvalidPlanRequest):
    """The plan's budget cannot pay for even the cheapest candidate."""


class UnreachableTargets(InvalidPlanRequest):
    """No candidate has a path of positive probability to any target."""


class TooManyWorlds(TerritoriaError, ValueError):
    """The graph has too many live-edge worlds to compute the spread exactly."""

    http_status = 422
    exit_code = 2


class UnknownPeriod(TerritoriaError, LookupError):
    """An indicator has no value for this period at this level."""

    http_status = 404
    exit_code = 2


class ExportError(TerritoriaError, ValueError):
    """An export cannot be written: unknown format, missing folder or unwritable file."""

    http_status = 400
    exit_code = 2


class InvalidQuery(TerritoriaError, ValueError):
    """The options of a search or lookup are out of range."""

    http_status = 422
    exit_code = 2


class AuthenticationFailed(TerritoriaError, PermissionError):
    """The user name, password, session or API token is missing, wrong or expired."""

    http_status = 401
    exit_code = 2


class PermissionDenied(TerritoriaError, PermissionError):
    """The signed-in user's role does not allow this operation."""

    http_status = 403
    exit_code = 2


class UnknownUser(TerritoriaError, LookupError):
    """No account has this user name."""

    http_status = 404
    exit_code = 2


class UserExists(TerritoriaError, ValueError):
    """An account with this user name already exists."""

    http_status = 409
    exit_code = 2


class InvalidAccount(TerritoriaError, ValueError):
    """A user name, role or password does not meet the rules."""

    http_status = 422
    exit_code = 2


class LastAdmin(TerritoriaError, ValueError):
    """The change would leave no administrator account."""

    http_status = 409
    exit_code = 2


class TooManyAttempts(TerritoriaError, RuntimeError):
    """Too many failed sign-ins from this address or for this user; wait and retry."""

    http_status = 429
    exit_code = 2


class UnknownJob(TerritoriaError, LookupError):
    """No background job (influence plan) has this identifier."""

    http_status = 404
    exit_code = 2


class JobCancelled(TerritoriaError, RuntimeError):
    """A job was cancelled while it ran."""

    http_status = 409
    exit_code = 1


class TooManyJobs(TerritoriaError, RuntimeError):
    """The user already has as many unfinished jobs as allowed."""

    http_status = 429
    exit_code = 2


class UnknownTheme(TerritoriaError, LookupError):
    """No decision-map theme has this id."""

    http_status = 404
    exit_code = 2


class UnknownActor(TerritoriaError, LookupError):
    """No person or organisation has this id."""

    http_status = 404
    exit_code = 2


class UnknownAction(TerritoriaError, LookupError):
    """No logged action has this id (or it is not in the state the operation needs)."""

    http_status = 404
    exit_code = 2


class UnknownDossier(TerritoriaError, LookupError):
    """No dossier (or no item of a dossier) has this id, or it is not in the state needed."""

    http_status = 404
    exit_code = 2


class InvalidDossier(TerritoriaError, ValueError):
    """A dossier's field or item is missing or malformed (a date, a position, a salience)."""

    http_status = 422
    exit_code = 2


class ReportUnavailable(TerritoriaError, RuntimeError):
    """PDF reports need WeasyPrint and pango, which are not installed."""

    http_status = 503
    exit_code = 1


class InvalidExercise(TerritoriaError, ValueError):
    """The figures of a register exercise (dates, spend, staff, clients) are not valid."""

    http_status = 422
    exit_code = 2


class NoEstablishments(TerritoriaError, LookupError):
    """The knowledge base holds no SIRENE establishments for this scope."""

    http_status = 404
    exit_code = 2


class UnknownPole(TerritoriaError, LookupError):
    """No detected pole has this id."""

    http_status = 404
    exit_code = 2


class InvalidAnalysisRequest(TerritoriaError, ValueError):
    """The options of an economic analysis are missing or inconsistent."""

    http_status = 422
    exit_code = 2


class UnknownPerson(UnknownActor):
    """No person has this id, or no person's name is close to the one given."""


class AmbiguousPerson(TerritoriaError, LookupError):
    """A name given for one person matches several persons: the id is needed."""

    http_status = 409
    exit_code = 2

    def __init__(self, message: str, candidates: list[str] | None = None) -> None:
        super().__init__(message)
        self.candidates = candidates or []


class UnknownWatchSource(TerritoriaError, LookupError):
    """No watch source (live) has this id."""

    http_status = 404
    exit_code = 2


class InvalidWatchSource(TerritoriaError, ValueError):
    """A watch source's address, kind, folder, selector, interval or OPML file is not valid."""

    http_status = 422
    exit_code = 2


class UnknownWatchItem(TerritoriaError, LookupError):
    """No watch item (live) has this id."""

    http_status = 404
    exit_code = 2


class ExtractionError(TerritoriaError, ValueError):
    """A fetched document has no text to keep (empty HTML, undecodable bytes, broken PDF)."""

    http_status = 422
    exit_code = 2


class UnknownSubscription(TerritoriaError, LookupError):
    """No alert subscription of yours has this id (or it was removed)."""

    http_status = 404
    exit_code = 2


class InvalidSubscription(TerritoriaError, ValueError):
    """An alert subscription's channel, target, frequency, filters or language is not valid."""

    http_status = 422
    exit_code = 2


class DeliveryFailed(TerritoriaError, RuntimeError):
    """A message could not be sent; ``permanent`` says whether trying again is pointless."""

    http_status = 502
    exit_code = 1

    def __init__(self, message: str, *, permanent: bool, status: int | None = None) -> None:
        super().__init__(message)
        self.permanent = permanent
        self.status = status


class InvalidWatchQuery(InvalidQuery):
    """A watch topic's or a search's Boolean query does not parse; ``position`` is 1-based."""

    def __init__(self, message: str, *, position: int) -> None:
        super().__init__(message)
        self.position = position


class UnknownWatchTopic(TerritoriaError, LookupError):
    """No watch topic (live) has this id."""

    http_status = 404
    exit_code = 2


class InvalidWatchTopic(TerritoriaError, ValueError):
    """A watch topic's name, filters or tags are not valid."""

    http_status = 422
    exit_code = 2


class InvalidCatalogue(ValidationError):
    """A practices or assets catalogue has malformed rows (each problem names its line)."""


class UnknownPractice(TerritoriaError, LookupError):
    """No good practice (live) has this id."""

    http_status = 404
    exit_code = 2


class UnknownAsset(TerritoriaError, LookupError):
    """No asset of the registry (live, editable) has this id."""

    http_status = 404
    exit_code = 2


class InvalidMarketingEntry(TerritoriaError, ValueError):
    """A practice or asset given by hand has a missing or invalid field."""

    http_status = 422
    exit_code = 2


class UnknownNetwork(TerritoriaError, LookupError):
    """No network of that id or name in the knowledge base."""

    http_status = 404
    exit_code = 2


class InvalidNetworkRequest(TerritoriaError, ValueError):
    """A network query names edges, kinds or geometries that do not exist or are invalid."""

    http_status = 422
    exit_code = 2


class CompositeInputError(TerritoriaError, ValueError):
    """A composite index's indicators, weights or options cannot give a sound index."""

    http_status = 422
    exit_code = 2


class UnknownIndex(TerritoriaError, LookupError):
    """No saved (live) composite index has this name."""

    http_status = 404
    exit_code = 2


class IndicatorCoverageTooLow(TerritoriaError, ValueError):
    """An indicator has values for too few territories of the level to compare them on it."""

    http_status = 422
    exit_code = 2


class ConstantIndicator(TerritoriaError, ValueError):
    """An indicator takes one value across the level, so it cannot tell territories apart."""

    http_status = 422
    exit_code = 2


class InvalidComparison(TerritoriaError, ValueError):
    """A peers or comparison request is malformed (too many territories, bad option)."""

    http_status = 422
    exit_code = 2


class InvalidIncidentReport(TerritoriaError, ValueError):
    """A situation report or crisis alert request is malformed (unknown file format)."""

    http_status = 422
    exit_code = 2


class InvalidIncident(TerritoriaError, ValueError):
    """An incident is malformed: bad type, severity or dates, geometry invalid or outside France."""

    http_status = 422
    exit_code = 2


class UnknownIncident(TerritoriaError, LookupError):
    """No incident has this id (or it was deleted)."""

    http_status = 404
    exit_code = 2


class InvalidCapFile(TerritoriaError, ValueError):
    """A CAP file is not CAP 1.2 XML valid against the OASIS schema, or cannot be an incident."""

    http_status = 422
    exit_code = 2
