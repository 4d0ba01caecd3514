# Copyright: sparkops.llm maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Which accounts a role may run a service as.

``ansible.builtin.user`` given the name of an existing account changes it in place: its shell
becomes nologin and its home moves, which locks out a person who logs in with it (the SSH user
this very run came in through). So a service account is either one the collection creates (it
carries the collection's comment), the documented account of the same purpose that another
installer made (Ollama's install.sh makes ``ollama``), or an account that does not exist yet.
"""

from __future__ import annotations

# The comment (GECOS) the roles give the accounts they create.
OWN_COMMENT = "sparkops.llm service account"
NON_LOGIN_SHELLS = {"/usr/sbin/nologin", "/sbin/nologin", "/bin/false", "/usr/bin/false"}
# Debian's and Ubuntu's SYS_UID_MAX (/etc/login.defs): uids above it are people.
SYS_UID_MAX = 999


def account_problem(
    variable: str,
    name: str,
    entry: list | None,
    default: str,
    adoptable: list[str] | None = None,
    purpose: str = "",
    group_exists: bool = False,
) -> str:
    """Why ``name`` (from ``variable``) must not be a service account, or '' when it may be.

    ``default`` is the role's own account name, suggested instead. ``entry`` is the passwd
    entry without its name (``getent``'s list: password, uid, gid, comment, home, shell), or
    None when no such account exists. ``adoptable`` names accounts of the same purpose that
    another installer (or an earlier release of this collection) made and that may be taken
    over as they are. ``purpose`` is the role's tag in the comment: an account the collection
    made for another purpose is not this role's. ``group_exists``: a group of that name exists,
    which would become the account's primary group.
    """
    if not name or not str(name).strip() or ":" in str(name) or "/" in str(name):
        return f"{variable} must be an account name (got {name!r})"
    if entry is None:
        if group_exists and name not in (adoptable or []):
            return (
                f"{variable} names {name}, an existing group that is not the collection's: the "
                f"account would get that group's rights. Set {variable} to an account the "
                f"collection owns, such as {default}"
            )
        return ""
    uid = int(entry[1])
    comment = entry[3] if len(entry) > 3 else ""
    shell = entry[5] if len(entry) > 5 else ""
    login = uid == 0 or uid > SYS_UID_MAX or shell not in NON_LOGIN_SHELLS
    if login:
        return (
            f"{variable} names {name}, an existing login account (uid {uid}, shell "
            f"{shell or 'none'}): a service account's shell and home would be changed, locking it "
            f"out. Set {variable} to an account the collection owns, such as {default}"
        )
    own = f"{OWN_COMMENT} ({purpose})" if purpose else OWN_COMMENT
    if comment == own or (name in (adoptable or []) and not comment.startswith(OWN_COMMENT)):
        return ""
    whose = (
        "another of the collection's services"
        if comment.startswith(OWN_COMMENT)
        else ("another program")
    )
    return (
        f"{variable} names {name}, an existing system account that {whose} made "
        f"(uid {uid}, comment {comment!r}): sharing it would mix their files and rights. Set "
        f"{variable} to an account of its own, such as {default}"
    )
