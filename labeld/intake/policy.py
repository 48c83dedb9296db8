"""Which printer commands a raw job may carry, by role: the engine.

Printers obey commands wherever they appear in the data. A point-of-sale client must be able to
print anything, but not reconfigure, wipe, power off or lock up the printer. Only a printer
language knows its commands, so each `Language` brings its own `RawPolicy` (see
labeld.contracts): a table of (command, why, minimum role) and a scanner that finds those
commands in bytes. The built-in ones live with their drivers (`labeld.drivers.<language>.policy`);
a language plugin brings its own the same way. This module applies them: `check_raw` refuses a
job that holds a command the caller's role does not reach (403 `forbidden-command`, naming
it), `policy_table` lists the rules for `GET /v1/policy/{language}`. `min_role=None` means
nobody: labeld never forwards it.

Roles: `pos` < `staff` < `tech` < `admin`. Operational commands (cancel all, pause, reset,
calibrate, configuration/test printouts) need `tech`; anything that changes stored settings,
writes the printer's flash or touches the network needs `admin`. A language without a policy
is admin-only for raw jobs: it cannot be checked, so it is not trusted.

What is judged is the byte stream the printer reads, not one copy of one job:

* Copies: `check_raw` reads two copies joined as the language joins them (`raw_job`), so a
  command split across copies (ZPL `var "device.reset" ""\\r\\n! U1 set` sent twice is
  `! U1 setvar "device.reset"`) is seen whole. Two suffice: the boundary between any two copies
  is the same bytes, and (next point) no copy can leave the printer mid-command for the
  following one.
* Jobs: a job must end on a command boundary, for every role (403 `incomplete-command`): each
  language's scanner reports where a job ends inside a command (`Finding.cut`). Then the
  printer starts every job where the scanner starts it, whatever came before, and each job can
  be judged alone.

  Rejected alternative: judging each job together with the previous job's tail. The previous
  job at submit time is not the previous job on the wire: jobs are held, canceled, retried and
  reordered, labeld's own status queries and rendered jobs go in between, another host may
  print to the same network printer, and a restart forgets the tail. The boundary rule needs no
  state and holds whatever the order.
"""

from __future__ import annotations

from typing import Any

from labeld.contracts import Finding, Language, Role
from labeld.security.roles import Forbidden

__all__ = ["check_raw", "find_commands", "policy_table"]

# -- the engine ----------------------------------------------------------------------------

def find_commands(language: Language, data: bytes) -> list[Finding]:
    """Every policy-relevant command in a raw job, whatever the role, in no particular order;
    also where the job ends inside a command (`incomplete`).

    Raises ValueError for a language without a policy."""
    if language.policy is None:
        raise ValueError(f"language {language.name!r} has no command policy")
    return list(language.policy.scan(data))


def check_raw(language: Language, data: bytes, role: Role, *, copies: int = 1) -> None:
    """Refuse (Forbidden, 403) a raw job holding a command that `role` may not send
    (`forbidden-command`), or ending inside a command (`incomplete-command`).

    The check reads what the printer will read: `copies` copies joined by the language's
    `raw_job`, so a command split across copies is seen whole. Two copies are enough: every
    boundary between copies is the same bytes, and a job must end on a command boundary, so
    each copy starts where the first did.

    A language without a policy cannot be checked, so only an admin may send it raw."""
    role = Role(role)
    policy = language.policy
    if policy is None:
        if role.covers(Role.ADMIN):
            return
        raise Forbidden("raw-language-unchecked",
                        f"labeld has no command policy for {language.name!r}, so raw "
                        f"{language.name} jobs need the admin role.",
                        "Ask an administrator, or send a label document instead of raw data.")
    read = min(max(copies, 1), 2)
    stream = language.raw_job(data, read)
    # The role is only a hint to the scanner (it may skip what the role may send); whatever it
    # yields is judged here again, so a plugin's scanner cannot let more through by ignoring it.
    f = next((f for f in policy.scan(stream, role) if not f.allows(role)), None)
    if f is None:
        return
    where = f"at byte {f.offset}"
    if read > 1:
        where += (f" of {'the' if copies == 2 else 'the first'} two copies as the printer "
                  f"receives them, one after the other (one copy is {len(data)} bytes)")
    if f.incomplete:
        raise Forbidden("incomplete-command",
                        f"The job ends inside {f.command} ({f.written}) {where}: {f.why}. The "
                        "printer would take the first bytes of whatever it receives next, "
                        "another copy or another client's job, as the rest of it, so what it "
                        "does cannot be checked. Refused whatever the token's role.",
                        policy.boundary_hint)
    who = ("labeld never forwards it" if f.min_role is None
           else f"it needs the {f.min_role.value} role; this token has {role.value}")
    raise Forbidden("forbidden-command",
                    f"The job contains {f.command} ({f.written}) {where}: {f.why}; {who}.",
                    "Remove the command from the job. Printer settings are changed by an "
                    "administrator, not by print jobs.")


def policy_table(language: Language) -> list[dict[str, Any]]:
    """The language's rules as JSON-ready rows (for docs and `GET /v1/policy/{language}`).

    A language without a policy gets one row saying that every raw job needs an admin."""
    if language.policy is None:
        return [{"command": "*", "why": "labeld has no command policy for this language, so "
                 "it cannot check raw jobs", "min_role": Role.ADMIN.value}]
    return [rule.row() for rule in language.policy.rules]
