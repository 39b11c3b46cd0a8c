"""Services and groups: the organizational hierarchy every import refers to."""

from __future__ import annotations

from dataclasses import dataclass

import psycopg


class UnknownServiceError(LookupError):
    """A service or group code that does not exist."""


@dataclass(frozen=True)
class Service:
    service_id: int
    code: str
    name: str
    time_zone: str


@dataclass(frozen=True)
class Group:
    group_id: int
    service_id: int
    code: str
    name: str


def add_service(conn: psycopg.Connection, code: str, name: str, time_zone: str) -> Service:
    row = conn.execute(
        """INSERT INTO wfm.services (code, name, time_zone) VALUES (%s, %s, %s)
           RETURNING service_id, code, name, time_zone""",
        (code, name, time_zone),
    ).fetchone()
    return Service(*row)


def add_group(conn: psycopg.Connection, service_code: str, code: str, name: str) -> Group:
    service = get_service(conn, service_code)
    row = conn.execute(
        """INSERT INTO wfm.groups (service_id, code, name) VALUES (%s, %s, %s)
           RETURNING group_id, service_id, code, name""",
        (service.service_id, code, name),
    ).fetchone()
    return Group(*row)


def get_service(conn: psycopg.Connection, code: str) -> Service:
    row = conn.execute(
        "SELECT service_id, code, name, time_zone FROM wfm.services WHERE code = %s", (code,)
    ).fetchone()
    if row is None:
        known = [c for (c,) in conn.execute("SELECT code FROM wfm.services ORDER BY code")]
        hint = f" (known: {', '.join(known)})" if known else " (no services yet: add one with `wfm services add`)"
        raise UnknownServiceError(f"unknown service {code!r}{hint}")
    return Service(*row)


def get_group(conn: psycopg.Connection, service: Service, code: str) -> Group:
    row = conn.execute(
        "SELECT group_id, service_id, code, name FROM wfm.groups WHERE service_id = %s AND code = %s",
        (service.service_id, code),
    ).fetchone()
    if row is None:
        raise UnknownServiceError(f"unknown group {code!r} in service {service.code!r}")
    return Group(*row)


def list_services(conn: psycopg.Connection) -> list[tuple[Service, list[Group]]]:
    services = [Service(*r) for r in conn.execute(
        "SELECT service_id, code, name, time_zone FROM wfm.services ORDER BY code")]
    groups: dict[int, list[Group]] = {}
    for r in conn.execute("SELECT group_id, service_id, code, name FROM wfm.groups ORDER BY code"):
        groups.setdefault(r[1], []).append(Group(*r))
    return [(s, groups.get(s.service_id, [])) for s in services]
