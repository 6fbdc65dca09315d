"""A partnership's local procedure as a TOML policy: validated by a pydantic model of the file with
unknown keys forbidden, and refused at load with the file, the key, the line and the reason.

Presets ship in `workflows/`; a partnership may point `--policy` at its own file. The engine reads the
flat, frozen `Policy` built from a valid file.
"""

from __future__ import annotations

import base64
import functools
import io
import os
import re
import stat
import tomllib
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, model_validator

from trigger import checks
from trigger.checks import is_email
from trigger.codes import AGENCY_KINDS, STRICTER_CAVEATS, TIMESCALES
from trigger.errors import InvalidInput, PolicyError
from trigger.rules.calendar import Span, WorkingCalendar, parse_span
from workflows import PRESETS_DIR

# -- the file, as pydantic models ----------------------------------------------------------------------


class _Section(BaseModel):
    # strict: `true` is not a number and "3" is not a count; unknown (misspelt) keys are refused
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


POLICY_SPAN_MAX = {"d": 366, "wd": 261}  # a year: no time limit of the procedure is longer


def _timescale(text: str) -> str:
    span = parse_span(text)  # ValueError names the unit rule and refuses a zero span
    if span.count > POLICY_SPAN_MAX[span.unit]:
        raise ValueError(
            f"{text!r} is longer than a year; a time limit of the procedure is at most "
            f"{POLICY_SPAN_MAX['d']}d or {POLICY_SPAN_MAX['wd']}wd"
        )
    return text


Timescale = Annotated[str, AfterValidator(_timescale)]


def _qualifying(n: int) -> int:
    if n > 3:
        # s.104(4) and Explanatory Notes para 231: the threshold may be set no higher than three complaints
        raise ValueError(f"{n} is above 3, which the Act caps (s.104(4))")
    if n < 1:
        raise ValueError("must be at least 1")
    return n


def _caveat(name: str) -> str:
    if name not in STRICTER_CAVEATS:
        raise ValueError(f"{name!r} is not one of {', '.join(STRICTER_CAVEATS)}")
    return name


def _email(value: str | None) -> str | None:
    if value and not is_email(value.strip()):
        raise ValueError(f"{value!r} is not an e-mail address (name@example.gov.uk)")
    return value


Email = Annotated[str, AfterValidator(_email)]


def _day(value: date) -> date:
    if not checks.YEAR_MIN <= value.year <= checks.YEAR_MAX:
        raise ValueError(
            f"{value.isoformat()}: a year outside {checks.YEAR_MIN}-{checks.YEAR_MAX} is refused"
        )
    return value


Day = Annotated[date, AfterValidator(_day)]


def _agency_code(value: str) -> str:
    try:
        return checks.code(value, "the code")
    except InvalidInput as exc:
        raise ValueError(str(exc)) from None


class ManagerFile(_Section):
    name: str = "Community Safety Manager"
    email: Email = ""


LOGO_SUFFIXES = (".png", ".jpg", ".jpeg", ".gif")


def _logo(name: str) -> str:
    if name and Path(name).suffix.lower() not in LOGO_SUFFIXES:
        raise ValueError(f"{name!r} is not a PNG, JPEG or GIF image (the formats a PDF and Word both take)")
    return name


class SignatoryFile(_Section):
    name: str = Field(min_length=1)
    role: str = ""


class LetterheadFile(_Section):
    # the top of every letter and who signs it (docs/architecture.md#letters)
    logo: Annotated[str, AfterValidator(_logo)] = ""  # an image file, relative to the policy file
    address: list[str] = []  # the partnership's address block, one line each
    telephone: str = ""
    web: str = ""
    signatory: SignatoryFile | None = None  # who signs when the case has no named SPoC


def _template_id(text: str) -> str:
    if text and not re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", text):
        raise ValueError(f"{text!r} is not a GOV.UK Notify template id (the UUID on the template's page)")
    return text


TemplateId = Annotated[str, AfterValidator(_template_id)]


class NotifyFile(_Section):
    # GOV.UK Notify's templates, by id, when TRIGGER_NOTIFY_API_KEY sends (docs/operations.md#govuk-notify)
    email_template: TemplateId = ""  # a letter by e-mail: ((subject)), ((body)), ((link_to_file))
    sms_template: TemplateId = ""  # a text that a letter was sent: ((reference)), ((title))
    reminder_template: TemplateId = ""  # reminders and reports to staff: ((subject)), ((body))
    notice_template: TemplateId = ""  # a text to the applicant that their case changed: ((body))


def _base_url(text: str) -> str:
    if not text:
        return text
    if not re.fullmatch(r"https?://[A-Za-z0-9.\-]+(:[0-9]{1,5})?(/[A-Za-z0-9._~\-/]*)?", text):
        raise ValueError(
            f"{text!r} is not the door's public address: give it as https://host or https://host/path, "
            "with no query or fragment"
        )
    return text.rstrip("/")


class WebFile(_Section):
    # the applicant's door (docs/operations.md#the-applicants-door): its public address, which letters
    # and e-mails carry the applicant's private link to, and how long after a case ends the link works
    base_url: Annotated[str, AfterValidator(_base_url)] = ""
    link_expires_after: Timescale = "90d"


class ThresholdFile(_Section):
    qualifying_complaints: Annotated[int, AfterValidator(_qualifying)]
    hate_route: bool
    community_route: bool
    community_individuals: int = Field(3, ge=2, le=100)
    stricter_caveats: list[Annotated[str, AfterValidator(_caveat)]] = []


class TimescalesFile(_Section):
    acknowledge: Timescale
    threshold_decision: Timescale
    review: Timescale
    outcome_letter: Timescale
    appeal_window: Timescale
    appeal_bundle: Timescale
    appeal_decision: Timescale
    roll_forward: bool = True


class AppealFile(_Section):
    body: str
    # who decided, as an appeal outcome names them after their name: a role and the body they act for
    # ("Alex Chair, the independent chair of another ... Partnership, decided your appeal"); the body if unset
    decider: str | None = None
    final: bool = True
    grounds: dict[str, str] = Field(min_length=1)
    # a ground that applies to one kind of decision only: code -> "threshold" or "outcome"
    only: dict[str, Literal["threshold", "outcome"]] = {}

    @model_validator(mode="after")
    def _only_names_grounds(self) -> AppealFile:
        unknown = sorted(set(self.only) - set(self.grounds))
        if unknown:
            raise ValueError(f"appeal.only names {', '.join(unknown)}, which is not in [appeal.grounds]")
        return self


class RemindersFile(_Section):
    warn_before: Timescale
    escalate_after: Timescale


class AgencyFile(_Section):
    code: Annotated[str, AfterValidator(_agency_code)]
    name: str = Field(min_length=1)
    kind: Literal[AGENCY_KINDS]  # type: ignore[valid-type]
    email: Email | None = None


def _unique_codes(agencies: list[AgencyFile]) -> list[AgencyFile]:
    seen: set[str] = set()
    for agency in agencies:
        key = checks.code_key(agency.code)
        if key in seen:
            raise ValueError(f"the agency code {agency.code!r} is given twice (codes ignore case)")
        seen.add(key)
    return agencies


class PolicyFile(_Section):
    name: str = Field(min_length=1)
    title: str
    area: str
    nation: Literal["england", "wales"]
    version: str = Field(min_length=1)
    effective: Day
    source: str = ""
    welsh: bool | None = None  # bilingual letters for applicants who ask for Welsh (default: a Welsh nation)
    partnership: str = ""  # the letterhead; default "<area> Community Safety Partnership"
    templates: str = ""  # a folder of the partnership's own letter templates (rendered in the sandbox)
    # where anchors of the audit chain are kept (docs/operations.md#audit-anchors); relative to the policy
    anchor_folder: str = Field("", max_length=4096)
    retention_years: int = Field(ge=1, le=100)
    hourly_rate: float = Field(ge=0, le=10_000, allow_inf_nan=False)  # pounds an hour
    closures: list[Day] = Field([], max_length=1_000)
    manager: ManagerFile = ManagerFile()
    threshold: ThresholdFile
    timescales: TimescalesFile
    appeal: AppealFile
    reminders: RemindersFile
    agencies: Annotated[list[AgencyFile], AfterValidator(_unique_codes)] = []
    letterhead: LetterheadFile = LetterheadFile()
    notify: NotifyFile = NotifyFile()
    web: WebFile = WebFile()
    # English -> Welsh for this partnership's own names and phrases (appeal body, grounds, roles),
    # read on top of letters/templates/glossary.toml by bilingual letters
    glossary: dict[str, str] = {}


# -- what the engine reads ----------------------------------------------------------------------------


@dataclass(frozen=True)
class AgencySpec:
    """One relevant body of the policy's `[[agencies]]`."""

    code: str
    name: str
    kind: str
    email: str | None = None


@dataclass(frozen=True)
class Letterhead:
    """The top of every letter and who signs it, as the policy's `[letterhead]` gives them."""

    logo: str = ""  # as written in the policy: a file in the policy's folder
    logo_base: str = ""  # the policy file's folder, which the logo is read from ("" when unknown)
    address: tuple[str, ...] = ()
    telephone: str = ""
    web: str = ""
    signatory_name: str = ""
    signatory_role: str = ""
    logo_image: tuple[str, bytes] | None = field(default=None, repr=False)  # (MIME type, bytes), read at load

    def logo_uri(self, fallback_base: str | None = None) -> str | None:
        """The logo as a `data:` URI (so HTML, PDF and Word carry it alike): as read when the policy
        was loaded, else (a policy from a stored snapshot, whose folder is not known) read now from
        `fallback_base`, the folder of the partnership's policy file."""
        if not self.logo:
            return None
        image = self.logo_image
        if image is None:
            base = self.logo_base or fallback_base
            if not base:
                raise PolicyError(
                    f"letterhead.logo: the folder of the policy holding {self.logo!r} is not known"
                )
            image = read_logo(base, self.logo, "letterhead.logo")
        mime, data = image
        return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


LOGO_MAX_BYTES = 2_000_000  # a letterhead's logo is tens of kilobytes
LOGO_MAX_SIDE = 4_000  # pixels, either way
_LOGO_FORMATS = {"PNG": "image/png", "JPEG": "image/jpeg", "GIF": "image/gif"}
# a link is refused, not followed; a FIFO does not block the open (it is refused as not a plain file)
_NO_FOLLOW = getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)


def read_logo(folder: str | Path, name: str, what: str) -> tuple[str, bytes]:
    """A letterhead logo: a PNG, JPEG or GIF file inside the policy's folder, opened without following
    a link (a logo that is a link to another file, or a folder outside, is refused), no larger than
    LOGO_MAX_BYTES, and decoded to prove it is an image. Returns (its MIME type, its bytes)."""
    base = Path(os.path.realpath(folder))
    path = Path(name).expanduser()
    target = path if path.is_absolute() else base / path
    inside = Path(os.path.realpath(target.parent))
    if inside != base and base not in inside.parents:
        raise PolicyError(
            f"{what}: {name} is outside the policy's folder {base}; put the logo beside the policy"
        )
    try:
        fd = os.open(inside / target.name, os.O_RDONLY | _NO_FOLLOW)
    except FileNotFoundError:
        raise PolicyError(
            f"{what}: no such file {target} (a logo is read from the policy file's folder)"
        ) from None
    except OSError as exc:
        if os.path.islink(inside / target.name):
            raise PolicyError(f"{what}: {target} is a link; the logo must be the image file itself") from None
        raise PolicyError(f"{what}: {target} cannot be read ({exc.strerror or exc})") from None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise PolicyError(f"{what}: {target} is not a plain file; the logo must be the image file itself")
        with os.fdopen(os.dup(fd), "rb") as fh:
            data = fh.read(LOGO_MAX_BYTES + 1)
    finally:
        os.close(fd)
    if len(data) > LOGO_MAX_BYTES:
        raise PolicyError(f"{what}: {target} is larger than {LOGO_MAX_BYTES:,} bytes; a logo is far smaller")
    return _logo_type(data, target, what), data


def _logo_type(data: bytes, target: Path, what: str) -> str:
    """The MIME type of a logo decoded in full (Pillow, imported only when a policy has a logo)."""
    from PIL import Image

    try:
        with Image.open(io.BytesIO(data), formats=list(_LOGO_FORMATS)) as image:
            if max(image.size) > LOGO_MAX_SIDE:
                raise PolicyError(
                    f"{what}: {target} is {image.width} x {image.height} pixels; a logo is at most "
                    f"{LOGO_MAX_SIDE} either way"
                )
            image.load()
            return _LOGO_FORMATS[image.format or ""]
    except PolicyError:
        raise
    except Exception:  # noqa: BLE001 - Pillow's many ways of saying "not this image"
        raise PolicyError(f"{what}: {target} is not a PNG, JPEG or GIF image") from None


@dataclass(frozen=True)
class NotifyTemplates:
    """The policy's GOV.UK Notify templates, by id (`[notify]`)."""

    email_template: str = ""
    sms_template: str = ""
    reminder_template: str = ""
    notice_template: str = ""


@dataclass(frozen=True)
class Policy:
    """The flat, frozen policy the engine reads, built from a valid file."""

    name: str
    title: str
    area: str
    nation: str
    version: str
    effective: date
    source: str
    qualifying_complaints: int
    hate_route: bool
    community_route: bool
    community_individuals: int
    stricter_caveats: tuple[str, ...]
    timescales: dict[str, Span]
    roll_forward: bool
    appeal_body: str
    appeal_decider: str
    appeal_final: bool
    appeal_grounds: dict[str, str]
    warn_before: Span
    escalate_after: Span
    hourly_rate: float
    retention_years: int
    closures: tuple[date, ...]
    manager_name: str
    manager_email: str
    agencies: tuple[AgencySpec, ...]
    welsh: bool = False
    partnership: str = ""
    templates: str = ""
    anchor_folder: str = ""  # as written in the policy (relative to its folder)
    letterhead: Letterhead = Letterhead()
    notify: NotifyTemplates = NotifyTemplates()
    glossary: dict[str, str] = field(default_factory=dict)
    web_base_url: str = ""  # the applicant's door's public address ("" when it has none)
    # how long after the case ends the applicant's link still works
    link_expires_after: Span = field(default_factory=lambda: Span(90, "d"))
    appeal_only: dict[str, str] = field(default_factory=dict)  # ground -> "threshold" or "outcome"
    path: str = ""
    text: str = field(default="", repr=False)

    def calendar(self) -> WorkingCalendar:
        return WorkingCalendar(self.nation, self.closures)

    def due(self, start: date, span: Span) -> date:
        """When a timescale from `start` ends under this policy: its nation's bank holidays, its closure
        days and its roll-forward rule. Every deadline, reminder and `calendar due` counts with this one
        (docs/procedure.md#counting-days)."""
        return self.calendar().due(start, span, self.roll_forward)

    def grounds_against(self, against: str | None) -> dict[str, str]:
        """The grounds of appeal open against a threshold decision or an outcome (all when None)."""
        return {
            code: text
            for code, text in self.appeal_grounds.items()
            if against is None or self.appeal_only.get(code, against) == against
        }


def _policy(f: PolicyFile, where: str, text: str) -> Policy:
    return Policy(
        name=f.name,
        title=f.title,
        area=f.area,
        nation=f.nation,
        version=f.version,
        effective=f.effective,
        source=f.source,
        qualifying_complaints=f.threshold.qualifying_complaints,
        hate_route=f.threshold.hate_route,
        community_route=f.threshold.community_route,
        community_individuals=f.threshold.community_individuals,
        stricter_caveats=tuple(f.threshold.stricter_caveats),
        timescales={name: parse_span(getattr(f.timescales, name)) for name in TIMESCALES},
        roll_forward=f.timescales.roll_forward,
        appeal_body=f.appeal.body,
        appeal_decider=f.appeal.decider or f.appeal.body,
        appeal_final=f.appeal.final,
        appeal_grounds=dict(f.appeal.grounds),
        warn_before=parse_span(f.reminders.warn_before),
        escalate_after=parse_span(f.reminders.escalate_after),
        hourly_rate=f.hourly_rate,
        retention_years=f.retention_years,
        closures=tuple(f.closures),
        manager_name=f.manager.name,
        manager_email=f.manager.email,
        agencies=tuple(AgencySpec(a.code, a.name, a.kind, a.email) for a in f.agencies),
        welsh=f.nation == "wales" if f.welsh is None else f.welsh,
        partnership=f.partnership or f"{f.area} Community Safety Partnership",
        templates=f.templates,
        anchor_folder=f.anchor_folder,
        letterhead=_letterhead(f.letterhead, where),
        notify=NotifyTemplates(**f.notify.model_dump()),
        web_base_url=f.web.base_url,
        link_expires_after=parse_span(f.web.link_expires_after),
        appeal_only=dict(f.appeal.only),
        glossary=dict(f.glossary),
        path=where,
        text=text,
    )


def _letterhead(f: LetterheadFile, where: str) -> Letterhead:
    source = Path(where)
    base = str(source.resolve().parent) if source.is_file() else ""
    return Letterhead(
        logo=f.logo,
        logo_base=base,
        address=tuple(f.address),
        telephone=f.telephone,
        web=f.web,
        signatory_name=f.signatory.name if f.signatory else "",
        signatory_role=f.signatory.role if f.signatory else "",
        # read, checked and kept once at load: what the letters carry is what was checked
        logo_image=read_logo(base, f.logo, f"{where}: letterhead.logo") if base and f.logo else None,
    )


# -- loading ----------------------------------------------------------------------------------------


def preset_names() -> list[str]:
    return sorted(p.stem for p in PRESETS_DIR.glob("*.toml"))


def resolve(name_or_path: str) -> Path:
    """A preset name (`llr`) or a path to a TOML file."""
    candidate = Path(name_or_path)
    if candidate.suffix == ".toml" or candidate.exists():
        if not candidate.is_file():
            raise PolicyError(f"{name_or_path}: no such policy file")
        return candidate
    preset = PRESETS_DIR / f"{name_or_path}.toml"
    if not preset.is_file():
        raise PolicyError(
            f"no policy called {name_or_path!r}; presets are {', '.join(preset_names())}, "
            "or give a .toml file"
        )
    return preset


POLICY_MAX_BYTES = 1_000_000  # a policy is a few kilobytes of TOML


def load(name_or_path: str) -> Policy:
    path = resolve(name_or_path)
    try:
        with open(path, "rb") as fh:
            raw = fh.read(POLICY_MAX_BYTES + 1)
        text = raw.decode("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise PolicyError(f"{path}: cannot be read as UTF-8 text: {exc}") from None
    if len(raw) > POLICY_MAX_BYTES:
        raise PolicyError(f"{path}: larger than {POLICY_MAX_BYTES:,} bytes; a policy is a few kilobytes")
    return parse(text, str(path))


def parse(text: str, where: str = "<policy>") -> Policy:
    """Validate a policy's TOML text; any problem raises PolicyError naming the file, key and reason.
    The same text is parsed once per process: a long-running process (the door, `reminders serve`)
    reads a case's policy on every request, and a Policy is never changed once made."""
    return _parse(text, where)


@functools.lru_cache(maxsize=64)
def _parse(text: str, where: str) -> Policy:
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise PolicyError(f"{where}: not valid TOML: {exc}") from None
    except RecursionError:
        raise PolicyError(f"{where}: arrays or tables nested too deeply; no policy key is") from None
    _plain_text(raw, "", where)
    try:
        return _policy(PolicyFile.model_validate(raw), where, text)
    except ValidationError as exc:
        raise PolicyError(_first_problem(exc, text, where)) from None


def _plain_text(value: object, key: str, where: str) -> None:
    """Every text in a policy reaches letters and messages: no control or invisible characters (line
    breaks and tabs aside), as for what people type (`trigger.checks.text`)."""
    if isinstance(value, dict):
        for name, item in value.items():
            _plain_text(name, key, where)
            _plain_text(item, f"{key}.{name}" if key else name, where)
    elif isinstance(value, list):
        for number, item in enumerate(value):
            _plain_text(item, f"{key}[{number}]", where)
    elif isinstance(value, str):
        try:
            checks.text(value, key or "a key", limit=checks.TEXT_MAX)
        except InvalidInput as exc:
            raise PolicyError(f"{where}: {exc}") from None


_TABLE = re.compile(r"^\s*(\[\[?)\s*([\w.\-]+)\s*\]\]?")
_KEY = re.compile(r"^\s*([\w\-]+)\s*=")


def _lines(text: str) -> dict[str, int]:
    """Where each key of the file is: "timescales.review" -> its line number (1-based)."""
    found: dict[str, int] = {}
    table = ""
    arrays: dict[str, int] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        header = _TABLE.match(line)
        if header:
            name = header.group(2)
            if header.group(1) == "[[":
                arrays[name] = arrays.get(name, -1) + 1
                name = f"{name}[{arrays[name]}]"
            table = name
            found.setdefault(table, number)
            continue
        key = _KEY.match(line)
        if key:
            found.setdefault(f"{table}.{key.group(1)}" if table else key.group(1), number)
    return found


def _first_problem(exc: ValidationError, text: str, where: str) -> str:
    # a misspelt key shows as an unknown key and a missing one: name the misspelling first
    error = min(exc.errors(), key=lambda e: e["type"] != "extra_forbidden")
    key = ""
    for part in error["loc"]:
        key += f"[{part}]" if isinstance(part, int) else (f".{part}" if key else str(part))
    kind, value = error["type"], error.get("input")
    if kind == "extra_forbidden":
        reason = "not a policy key (misspelt?); `trigger policy show llr` shows every key"
    elif kind == "missing":
        reason = "missing"
    elif kind == "value_error":
        reason = str(error["ctx"]["error"])
    elif kind in ("int_type", "float_type", "int_parsing", "float_parsing"):
        reason = f"expected a number, got {value!r}"
    elif kind == "bool_type":
        reason = f"expected true or false, got {value!r}"
    elif kind in ("string_type", "date_type"):
        reason = f"expected {'a date such as 2026-12-24' if kind == 'date_type' else 'text'}, got {value!r}"
    elif kind in ("greater_than_equal", "greater_than"):
        limit = error["ctx"].get("ge", error["ctx"].get("gt"))
        reason = (
            f"must be at least {limit}, not {value!r}"
            if kind == "greater_than_equal"
            else (f"must be above {limit}, not {value!r}")
        )
    elif kind in ("less_than_equal", "less_than"):
        limit = error["ctx"].get("le", error["ctx"].get("lt"))
        reason = f"must be at most {limit}, not {value!r}"
    elif kind == "finite_number":
        reason = f"must be a finite number, not {value!r}"
    elif kind == "too_short":
        reason = "must not be empty"
    elif kind == "too_long":
        reason = f"has more than {error['ctx'].get('max_length')} entries"
    elif kind == "literal_error":
        reason = f"{value!r} is not one of {error['ctx']['expected']}"
    else:
        reason = error["msg"][0].lower() + error["msg"][1:]
    line = _lines(text).get(key) or _lines(text).get(key.rsplit(".", 1)[0])
    return f"{where}: {key}: {reason}" + (f" (line {line})" if line else "")
