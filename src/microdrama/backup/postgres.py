"""PostgreSQL: the schema dumped with pg_dump (custom format) and restored in one transaction.

pg_dump reads one consistent snapshot, so a running install can be backed up. The restore
turns the archive into SQL with pg_restore and runs it through psql in a single transaction,
after dropping what the target schema held: if anything fails, nothing has changed. The
connection comes from the SQLAlchemy URL through libpq's environment variables, so the
password never appears on a command line.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from sqlalchemy import Connection, Engine, text
from sqlalchemy.engine import URL

from microdrama.backup.manifest import BackupError, Extension

# URL query parameters libpq also reads from the environment (psycopg passes them through).
QUERY_ENVIRONMENT = {
    "host": "PGHOST",
    "hostaddr": "PGHOSTADDR",
    "port": "PGPORT",
    "options": "PGOPTIONS",
    "sslmode": "PGSSLMODE",
    "sslrootcert": "PGSSLROOTCERT",
    "sslcert": "PGSSLCERT",
    "sslkey": "PGSSLKEY",
    "sslcrl": "PGSSLCRL",
    "sslnegotiation": "PGSSLNEGOTIATION",
    "gssencmode": "PGGSSENCMODE",
    "channel_binding": "PGCHANNELBINDING",
    "connect_timeout": "PGCONNECT_TIMEOUT",
    "application_name": "PGAPPNAME",
    "target_session_attrs": "PGTARGETSESSIONATTRS",
    "passfile": "PGPASSFILE",
    "service": "PGSERVICE",
}
# Inherited variables that would point the programs somewhere else than the URL does.
OVERRIDDEN = {"PGDATABASE", "PGUSER", "PGPASSWORD", *QUERY_ENVIRONMENT.values()} - {
    "PGPASSFILE",
    "PGSERVICE",
}
SHOWN_ERROR_LINES = 12


def libpq_environment(url: URL) -> dict[str, str]:
    """The process environment that makes pg_dump, pg_restore and psql connect where url does."""
    env = {k: v for k, v in os.environ.items() if k not in OVERRIDDEN}
    for name, value in {
        "PGHOST": url.host,
        "PGPORT": str(url.port) if url.port else None,
        "PGUSER": url.username,
        "PGPASSWORD": url.password if isinstance(url.password, str) else None,
        "PGDATABASE": url.database,
    }.items():
        if value:
            env[name] = value
    for key, given in url.query.items():
        variable = QUERY_ENVIRONMENT.get(key)
        if variable is None or not isinstance(given, str):
            raise BackupError(
                f"the database URL's parameter {key!r} cannot be passed to PostgreSQL's "
                "client programs: use a libpq service file or environment variables instead"
            )
        env[variable] = given
    return env


def client_program(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise BackupError(
            f"{name} was not found: install PostgreSQL's client programs, in the server's "
            "major version or newer (Debian and Ubuntu: apt-get install postgresql-client)"
        )
    return found


@dataclass(frozen=True)
class SchemaFacts:
    schema: str
    extensions: list[Extension]


def current_schema(connection: Connection) -> str:
    """The schema microdrama's tables are in: the first existing schema of the search path."""
    schema = connection.execute(text("SELECT current_schema()")).scalar()
    if not schema:
        raise BackupError(
            "no schema of the database's search path exists: create it (CREATE SCHEMA ...) first"
        )
    return str(schema)


def describe(engine: Engine) -> SchemaFacts:
    """The schema to back up and the extensions its tables and indexes use (pg_trgm's
    operator classes for search, say): extensions are not part of a schema's dump."""
    with engine.connect() as connection:
        schema = current_schema(connection)
        rows = connection.execute(
            text(
                "SELECT DISTINCT e.extname, n.nspname"
                " FROM pg_depend d"
                " JOIN pg_class c ON d.classid = 'pg_class'::regclass AND c.oid = d.objid"
                " JOIN pg_depend member ON member.classid = d.refclassid"
                "  AND member.objid = d.refobjid AND member.deptype = 'e'"
                " JOIN pg_extension e ON e.oid = member.refobjid"
                " JOIN pg_namespace n ON n.oid = e.extnamespace"
                " WHERE c.relnamespace = (SELECT oid FROM pg_namespace WHERE nspname = :schema)"
                " ORDER BY 1"
            ),
            {"schema": schema},
        ).all()
    return SchemaFacts(schema, [Extension(name=name, schema_name=nsp) for name, nsp in rows])


def dump(url: URL, schema: str, target: Path) -> None:
    """pg_dump the schema into target, custom format (compressed, restorable selectively)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    _run(
        [client_program("pg_dump"), "--format=custom", f"--schema={_pattern(schema)}",
         f"--file={target}"],
        env=libpq_environment(url),
        what="pg_dump",
    )  # fmt: skip


@dataclass(frozen=True)
class RestorePlan:
    """What a restore into this database will run, checked before anything is changed."""

    environment: dict[str, str]
    pg_restore: str
    psql: str
    # What the target schema holds now, to be dropped in the restore's transaction.
    drops: list[str]


def plan_restore(*, engine: Engine, url: URL, schema: str) -> RestorePlan:
    """Check that the programs are there and the database's schema is the backup's."""
    environment = libpq_environment(url)
    pg_restore, psql = client_program("pg_restore"), client_program("psql")
    with engine.connect() as connection:
        target_schema = current_schema(connection)
        if target_schema != schema:
            raise BackupError(
                f"the backup holds the schema {schema!r} but this database's tables go in "
                f"{target_schema!r}: restore into a database whose search path starts with "
                f"{schema!r}"
            )
        drops = _drop_statements(connection, schema)
    return RestorePlan(environment, pg_restore, psql, drops)


def restore(plan: RestorePlan, *, archive: Path, extensions: list[Extension]) -> None:
    """Replace the schema's contents with the archive's, in one transaction."""
    listing = _run(
        [plan.pg_restore, "--list", str(archive)], env=plan.environment, what="pg_restore --list"
    )
    with tempfile.TemporaryDirectory(prefix="microdrama-restore-") as work:
        contents = Path(work) / "contents.list"
        # The schema itself is the target's: only what is in it is restored.
        contents.write_text(
            "\n".join(
                f";{line}" if re.match(r"^\d+; \d+ \d+ (SCHEMA|COMMENT - SCHEMA) ", line) else line
                for line in listing.splitlines()
            )
            + "\n"
        )
        prelude = Path(work) / "prelude.sql"
        prelude.write_text(
            "SET client_min_messages = warning;\n"
            + "".join(
                f"CREATE EXTENSION IF NOT EXISTS {_ident(e.name)} "
                f"WITH SCHEMA {_ident(e.schema_name)};\n"
                for e in extensions
            )
            + "".join(f"{statement};\n" for statement in plan.drops)
        )
        _pipe_restore(
            [plan.pg_restore, "--no-owner", "--no-acl", f"--use-list={contents}", "--file=-",
             str(archive)],
            [plan.psql, "--no-psqlrc", "--quiet", "--set=ON_ERROR_STOP=1", "--single-transaction",
             f"--file={prelude}", "--file=-"],
            env=plan.environment,
            work=Path(work),
        )  # fmt: skip


def _pipe_restore(
    producer: list[str], consumer: list[str], *, env: dict[str, str], work: Path
) -> None:
    """pg_restore's SQL into psql. psql commits only when its input ends; if pg_restore fails
    first, psql is killed before that, so its transaction is rolled back with the connection."""
    producer_errors = (work / "pg_restore.err").open("w+b")
    consumer_errors = (work / "psql.err").open("w+b")
    with producer_errors, consumer_errors:
        source = subprocess.Popen(producer, stdout=subprocess.PIPE, stderr=producer_errors, env=env)
        sink = subprocess.Popen(
            consumer,
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=consumer_errors,
            env=env,
        )
        assert source.stdout is not None and sink.stdin is not None
        try:
            sink_gone = False
            while chunk := source.stdout.read(1024 * 1024):
                try:
                    sink.stdin.write(chunk)
                except BrokenPipeError:  # psql stopped at an error
                    sink_gone = True
                    break
            if sink_gone:
                source.kill()
            source.wait()
            if source.returncode != 0 and not sink_gone:
                sink.kill()
                sink.wait()
                raise BackupError(
                    "pg_restore failed, nothing was restored:\n" + _tail(producer_errors)
                )
            if not sink_gone:
                with contextlib.suppress(BrokenPipeError):
                    sink.stdin.close()  # the end of the input: psql commits
            sink.wait()
        finally:
            for process in (source, sink):
                if process.poll() is None:
                    process.kill()
                    process.wait()
        if sink.returncode != 0:
            raise BackupError("psql failed, nothing was restored:\n" + _tail(consumer_errors))


def _drop_statements(connection: Connection, schema: str) -> list[str]:
    """DROP statements for everything the schema holds that no extension owns (the tables of
    a migrated or older install): the archive then recreates them."""
    namespace = "(SELECT oid FROM pg_namespace WHERE nspname = :schema)"

    def not_in_extension(catalog: str, alias: str) -> str:
        return (
            f"NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = '{catalog}'::regclass"
            f" AND d.objid = {alias}.oid AND d.deptype = 'e')"
        )

    relations = connection.execute(
        text(
            "SELECT c.relname, c.relkind FROM pg_class c"
            f" WHERE c.relnamespace = {namespace} AND c.relkind IN ('v','m','r','p','f','S')"
            f" AND {not_in_extension('pg_class', 'c')}"
            " ORDER BY position(c.relkind::text IN 'vmrpfS'), c.relname"
        ),
        {"schema": schema},
    ).all()
    routines = connection.execute(
        text(
            "SELECT p.proname, pg_get_function_identity_arguments(p.oid), p.prokind"
            f" FROM pg_proc p WHERE p.pronamespace = {namespace}"
            f" AND {not_in_extension('pg_proc', 'p')} ORDER BY 1, 2"
        ),
        {"schema": schema},
    ).all()
    types = connection.execute(
        text(
            "SELECT t.typname, t.typtype FROM pg_type t LEFT JOIN pg_class c ON c.oid = t.typrelid"
            f" WHERE t.typnamespace = {namespace}"
            " AND (t.typtype IN ('e','d','r','m') OR (t.typtype = 'c' AND c.relkind = 'c'))"
            f" AND {not_in_extension('pg_type', 't')} ORDER BY 1"
        ),
        {"schema": schema},
    ).all()
    relation_kinds = {
        "v": "VIEW",
        "m": "MATERIALIZED VIEW",
        "r": "TABLE",
        "p": "TABLE",
        "f": "FOREIGN TABLE",
        "S": "SEQUENCE",
    }
    routine_kinds = {"f": "FUNCTION", "w": "FUNCTION", "p": "PROCEDURE", "a": "AGGREGATE"}
    where = _ident(schema)
    statements = [
        f"DROP {relation_kinds[kind]} IF EXISTS {where}.{_ident(name)} CASCADE"
        for name, kind in relations
    ]
    statements += [
        f"DROP {routine_kinds[kind]} IF EXISTS {where}.{_ident(name)}({arguments}) CASCADE"
        for name, arguments, kind in routines
    ]
    statements += [
        f"DROP {'DOMAIN' if kind == 'd' else 'TYPE'} IF EXISTS {where}.{_ident(name)} CASCADE"
        for name, kind in types
    ]
    return statements


def _run(command: list[str], *, env: dict[str, str], what: str) -> str:
    result = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        lines = result.stderr.strip().splitlines()[-SHOWN_ERROR_LINES:]
        raise BackupError(f"{what} failed:\n" + "\n".join(lines))
    return result.stdout


def _tail(file: IO[bytes]) -> str:
    file.seek(0)
    lines = file.read().decode(errors="replace").strip().splitlines()
    return "\n".join(lines[-SHOWN_ERROR_LINES:])


def _ident(name: str) -> str:
    """A quoted SQL identifier."""
    return '"' + name.replace('"', '""') + '"'


def _pattern(schema: str) -> str:
    """pg_dump's pattern matching exactly this schema name."""
    return '"' + schema.replace('"', '""') + '"'
