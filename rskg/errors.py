"""One error hierarchy for the whole product.

Every error carries a ``hint`` that tells the user how to fix the problem; the CLI prints both
and exits non-zero, the API maps them to ``Error`` results.
"""

from __future__ import annotations


class RskgError(Exception):
    """Base of every error rskg raises on purpose."""

    default_hint = ""

    def __init__(self, message: str, hint: str | None = None) -> None:
        self.message = message
        self.hint = hint if hint is not None else self.default_hint
        super().__init__(f"{message}\n  -> {self.hint}" if self.hint else message)


class ConfigError(RskgError):
    default_hint = "Check the RSKG_* environment variables or the .env file (see README, 'Settings')."


class ServerError(RskgError):
    default_hint = "Run `rskg servers logs` to see the server log, then `rskg servers up` again."


class PortInUseError(ServerError):
    default_hint = (
        "Stop the program holding the port (`ss -ltnp | grep PORT` shows it) or choose another port "
        "with RSKG_NEO4J_BOLT_PORT / RSKG_NEO4J_HTTP_PORT / RSKG_PG_PORT."
    )


class JavaMissingError(ServerError):
    default_hint = (
        "Install a Java 17+ runtime (`apt-get install openjdk-17-jre-headless`) or point RSKG_JAVA "
        "at a java binary."
    )


class ToolMissingError(ServerError):
    default_hint = "Run `make setup` (installs PostgreSQL 15, PostGIS and Maven from Debian packages)."


class ServerUnreachableError(ServerError):
    default_hint = "Start the local servers with `rskg servers up` (or `make servers-up`) and retry."


class AuthError(ServerError):
    default_hint = (
        "The server refused the credentials: check RSKG_NEO4J_PASSWORD / RSKG_PG_PASSWORD; they must "
        "match the ones the servers were created with."
    )


class MigrationError(RskgError):
    default_hint = "Fix the migration SQL; nothing was applied from the failing file (it runs in a transaction)."


class NotFoundError(RskgError):
    default_hint = "Check the id or name; list what exists with the matching `rskg ... list` command."


class ValidationError(RskgError):
    default_hint = "Correct the input; nothing was changed."


class DataError(RskgError):
    default_hint = "Check the input files (format, encoding, band count); see the quarantine report."
